// Package readme checks that the README's Go code compiles as printed.
package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuickStartCompiles builds every complete program (a block starting
// with "package main") in README.md, exactly as printed, against this
// module.
func TestQuickStartCompiles(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to build the README's programs: %v", err)
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```go\n(package main\n.*?)```").FindAllSubmatch(readme, -1)
	require.NotEmpty(t, blocks, "the README has no complete Go program")
	for i, b := range blocks {
		dir := t.TempDir()
		file := filepath.Join(dir, "main.go")
		require.NoError(t, os.WriteFile(file, b[1], 0o644))
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "quickstart"), file)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "README program %d does not compile:\n%s", i+1, out)
	}
}
