package merchantapp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newApp builds the example app with args; events and notes are returned
// as buffers.
func newApp(t *testing.T, args ...string) (*merchantapp.App, *syncBuffer, *syncBuffer) {
	t.Helper()
	events, notes := &syncBuffer{}, &syncBuffer{}
	app, err := merchantapp.New(t.Context(), args, events, notes, merchantapp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	return app, events, notes
}

// eventLines decodes the events log, dropping the time field.
func eventLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "events line %q", sc.Text())
		require.Contains(t, m, "time")
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

// runPrintedCommands runs the shell commands the app printed after the
// note line starting with prefix (the indented lines, all but curl's),
// then printfs vars (shell variables they set), and returns those values.
func runPrintedCommands(t *testing.T, notes, prefix string, vars ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: the printed commands need it")
	}
	var script []string
	in := false
	for line := range strings.Lines(notes) {
		switch {
		case strings.HasPrefix(line, prefix):
			in = true
		case !strings.HasPrefix(line, "  "):
			in = false
		case in && !strings.HasPrefix(line, "  curl "):
			script = append(script, line)
		}
	}
	require.Len(t, script, 3, "notes:\n%s", notes)
	format := strings.Repeat("%s\\n", len(vars)-1) + "%s"
	args := ""
	for _, v := range vars {
		args += ` "$` + v + `"`
	}
	cmd := exec.Command("sh", "-c", strings.Join(script, "")+"printf '"+format+"'"+args)
	cmd.Dir = t.TempDir() // where a printed command may write a key file
	out, err := cmd.Output()
	require.NoError(t, err)
	vals := strings.SplitN(string(out), "\n", len(vars))
	require.Len(t, vals, len(vars), "%q", out)
	return vals
}

func TestAvardaPrintedCurlIsProcessedOnce(t *testing.T) {
	app, events, notes := newApp(t)

	// The app must print a generated token and a curl command using it.
	m := regexp.MustCompile(`curl -i -X POST (\S+) -H 'Authorization: ([^']+)' -H 'Content-Type: application/json' -d '([^']+)'`).
		FindStringSubmatch(notes.String())
	require.NotNil(t, m, "no curl command in notes:\n%s", notes.String())
	url, auth, body := m[1], m[2], m[3]
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:8080/callbacks/avarda"), url)
	require.True(t, strings.HasPrefix(auth, "Bearer "), auth)

	for i := range 3 {
		req := httptest.NewRequest(http.MethodPost, "/callbacks/avarda", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "delivery %d: %s", i+1, rec.Body)
	}
	want := []map[string]any{{"provider": "avarda", "key": "489ea341e23941089e6d0378c708512a", "event": "purchase.completed"}}
	if diff := cmp.Diff(want, eventLines(t, events.String())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestAvardaRefusesUnauthenticated(t *testing.T) {
	app, events, _ := newApp(t, "-avarda-auth", "Bearer old", "-avarda-auth", "Bearer new")
	tests := []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer guess", http.StatusUnauthorized},
		{"old", "Bearer old", http.StatusOK},
		{"new", "Bearer new", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			app.Handler.ServeHTTP(rec, callbacktest.AvardaRequest("/callbacks/avarda", "", tt.auth))
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
		})
	}
	require.Len(t, eventLines(t, events.String()), 2)
}

func TestServeShutsDownGracefully(t *testing.T) {
	app, events, _ := newApp(t, "-avarda-auth", "Bearer t")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()

	req := callbacktest.AvardaRequest("http://"+ln.Addr().String()+"/callbacks/avarda", "", "Bearer t")
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	require.NoError(t, <-served)
	require.Len(t, eventLines(t, events.String()), 1)
}

func TestAvardaConfirmsWithAPI(t *testing.T) {
	completed := map[string]bool{"p-done": true}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/partner/tokens":
			_, _ = w.Write([]byte(`{"token":"tok"}`))
		case strings.HasPrefix(r.URL.Path, "/api/partner/payments/"):
			id := strings.TrimPrefix(r.URL.Path, "/api/partner/payments/")
			step := "EnterEmail"
			if completed[id] {
				step = "Completed"
			}
			_, _ = w.Write([]byte(`{"mode":"B2C","b2C":{"step":{"current":"` + step + `"}}}`))
		}
	}))
	defer api.Close()
	app, events, _ := newApp(t, "-avarda-auth", "Bearer t", "-avarda-api", api.URL,
		"-avarda-client-id", "id", "-avarda-client-secret", "secret")
	for id, want := range map[string]int{"p-done": 200, "p-open": 503} {
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, callbacktest.AvardaRequest("/callbacks/avarda", id, "Bearer t"))
		require.Equal(t, want, rec.Code, id)
	}
	lines := eventLines(t, events.String())
	require.Len(t, lines, 1)
	require.Equal(t, "p-done", lines[0]["key"])
}
