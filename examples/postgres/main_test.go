package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

const dsnEnv = "PAYCALLBACK_TEST_DSN"

func requireDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(dsnEnv + " unset with CI set: refusing to skip (start one with .ci/start-postgres)")
		}
		t.Skip(dsnEnv + " unset: SKIPPING the PostgreSQL example test")
	}
	return dsn
}

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

func TestDSNRequired(t *testing.T) {
	_, err := merchantapp.New(t.Context(), []string{"-avarda-auth", "Bearer x"}, &syncBuffer{}, &syncBuffer{},
		merchantapp.Options{Name: "postgres", Store: sqlStoreFlags})
	require.ErrorContains(t, err, "-dsn is required")
}

// TestTwoInstancesShareDedup runs two instances of the program on one
// database and delivers each of a few Avarda callbacks three times to each
// instance, concurrently: every purchase is recorded exactly once in all.
func TestTwoInstancesShareDedup(t *testing.T) {
	dsn := requireDSN(t)
	table := fmt.Sprintf("example_%016x", rand.Uint64())
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(`DROP TABLE IF EXISTS "` + table + `"`)
		require.NoError(t, err)
	})
	const auth = "Bearer two-instances"
	events := &syncBuffer{}
	var apps []*merchantapp.App
	for range 2 {
		app, err := merchantapp.New(t.Context(),
			[]string{"-dsn", dsn, "-table", table, "-avarda-auth", auth},
			events, &syncBuffer{}, merchantapp.Options{Name: "postgres", Store: sqlStoreFlags})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, app.Close()) })
		apps = append(apps, app)
	}

	const purchases = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for p := range purchases {
		for _, app := range apps {
			for range 3 {
				wg.Go(func() {
					body := fmt.Sprintf(`{"purchaseId":"%032x"}`, p+1)
					for attempt := 0; ; attempt++ {
						req := httptest.NewRequest(http.MethodPost, "/callbacks/avarda", strings.NewReader(body))
						req.Header.Set("Authorization", auth)
						req.Header.Set("Content-Type", "application/json")
						rec := httptest.NewRecorder()
						app.Handler.ServeHTTP(rec, req)
						if rec.Code == http.StatusOK {
							return
						}
						if rec.Code != http.StatusConflict || attempt == 1000 {
							mu.Lock()
							errs = append(errs, fmt.Errorf("purchase %d: status %d: %s", p, rec.Code, rec.Body))
							mu.Unlock()
							return
						}
					}
				})
			}
		}
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	count := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var ev struct{ Provider, Key string }
		require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
		require.Equal(t, "avarda", ev.Provider)
		count[ev.Key]++
	}
	want := map[string]int{}
	for p := range purchases {
		want[fmt.Sprintf("%032x", p+1)] = 1
	}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("times each purchase was recorded (-want +got):\n%s", diff)
	}
}
