package callbacktest

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

// fixtureNames returns the names of the .json fixtures in dir of fsys,
// without the extension, sorted.
func fixtureNames(fsys embed.FS, dir string) []string {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		panic(err)
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// fixture returns a fresh copy of dir/name.json in fsys, or panics naming
// provider and the fixtures there are.
func fixture(fsys embed.FS, dir, provider, name string) []byte {
	b, err := fsys.ReadFile(path.Join(dir, name+".json"))
	if err != nil || strings.ContainsAny(name, "/\\") {
		panic(fmt.Sprintf("callbacktest: no %s fixture %q (have %q)", provider, name, fixtureNames(fsys, dir)))
	}
	return bytes.Clone(b)
}
