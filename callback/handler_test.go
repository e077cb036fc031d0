package callback_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/verify"
)

type order struct {
	ID    string `json:"id"`
	Event string `json:"event"`
}

// headerVerifier accepts requests with "X-Test: ok"; "X-Test: down"
// simulates a key source that cannot be reached.
var headerVerifier = verify.Func(func(_ context.Context, r *verify.Request) error {
	switch r.Header.Get("X-Test") {
	case "ok":
		return nil
	case "down":
		return fmt.Errorf("fetching keys: %w", verify.ErrUnavailable)
	case "":
		return verify.ErrMissing
	}
	return verify.ErrSignature
})

func identifyOrder(o *order) (string, string, error) {
	if o.ID == "" {
		return "", "", errors.New("no id")
	}
	return o.Event, o.ID, nil
}

func deliver(h http.Handler, method, body, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/cb?x=1", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("X-Test", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// failingStore is a Store whose every call fails, as a database that is down.
type failingStore struct{}

func (failingStore) Claim(context.Context, string, time.Duration) (callback.State, callback.Token, error) {
	return 0, 0, errors.New("connection refused")
}
func (failingStore) Commit(context.Context, string, callback.Token, time.Duration) error {
	return errors.New("connection refused")
}
func (failingStore) Release(context.Context, string, callback.Token) error {
	return errors.New("connection refused")
}

func TestReplyTable(t *testing.T) {
	type step struct {
		method, body, auth string
		wantStatus         int
		wantBody           string // exact, when set
	}
	const paid = `{"id":"o-1","event":"paid","unknown":{"fields":[1,2]}}`
	tests := []struct {
		name     string
		fn       func(ctx context.Context, ev *callback.Event[order]) error
		confirm  func(ctx context.Context, ev *callback.Event[order]) error
		store    callback.Store
		maxBody  int64
		steps    []step
		wantRuns int // calls of fn
	}{
		{name: "processed now, then a duplicate gets the same ack",
			steps: []step{
				{"POST", paid, "ok", 200, "OK"},
				{"POST", paid, "ok", 200, "OK"},
			}, wantRuns: 1},
		{name: "wrong method",
			steps: []step{{"GET", "", "ok", 405, ""}}},
		{name: "body over the limit", maxBody: 16,
			steps: []step{{"POST", paid, "ok", 413, ""}}},
		{name: "missing credentials",
			steps: []step{{"POST", paid, "", 401, "unauthorized\n"}}},
		{name: "wrong credentials",
			steps: []step{{"POST", paid, "forged", 401, "unauthorized\n"}}},
		{name: "key source unavailable",
			steps: []step{{"POST", paid, "down", 503, ""}}},
		{name: "authenticated but not decodable",
			steps: []step{{"POST", `{"id":`, "ok", 400, ""}}},
		{name: "authenticated but without its id",
			steps: []step{{"POST", `{"event":"paid"}`, "ok", 400, ""}}},
		{name: "function error: 500, released, retry runs it again",
			fn: failFirst(1),
			steps: []step{
				{"POST", paid, "ok", 500, ""},
				{"POST", paid, "ok", 200, "OK"},
				{"POST", paid, "ok", 200, "OK"},
			}, wantRuns: 2},
		{name: "function panic: 500, released, the handler keeps serving",
			fn: panicFirst(),
			steps: []step{
				{"POST", paid, "ok", 500, ""},
				{"POST", paid, "ok", 200, "OK"},
			}, wantRuns: 2},
		{name: "not confirmed: 503, function not called",
			confirm: func(context.Context, *callback.Event[order]) error {
				return fmt.Errorf("step is Initialized: %w", callback.ErrUnconfirmed)
			},
			steps: []step{{"POST", paid, "ok", 503, ""}, {"POST", paid, "ok", 503, ""}}},
		{name: "confirming API down: 503, function not called",
			confirm: func(context.Context, *callback.Event[order]) error { return errors.New("dial tcp: refused") },
			steps:   []step{{"POST", paid, "ok", 503, ""}}},
		{name: "dedup store unavailable: 503, function not called", store: failingStore{},
			steps: []step{{"POST", paid, "ok", 503, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			fn := tt.fn
			if fn == nil {
				fn = func(context.Context, *callback.Event[order]) error { return nil }
			}
			h, err := callback.New(callback.Config[order]{
				Provider: "test", Verifier: headerVerifier, Identify: identifyOrder,
				TTL: time.Hour, Store: tt.store, MaxBodyBytes: tt.maxBody, Confirm: tt.confirm,
			}, func(ctx context.Context, ev *callback.Event[order]) error {
				runs.Add(1)
				return fn(ctx, ev)
			})
			require.NoError(t, err)
			for i, s := range tt.steps {
				rec := deliver(h, s.method, s.body, s.auth)
				require.Equal(t, s.wantStatus, rec.Code, "step %d: %s", i+1, rec.Body)
				if s.wantBody != "" {
					require.Equal(t, s.wantBody, rec.Body.String(), "step %d", i+1)
				}
				if rec.Code != 200 {
					require.NotEqual(t, "OK", strings.TrimSpace(rec.Body.String()), "a failure must never read as an ack")
					require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
				}
				if rec.Code == 405 {
					require.Equal(t, "POST", rec.Header().Get("Allow"))
				}
			}
			require.EqualValues(t, tt.wantRuns, runs.Load())
		})
	}
}

func failFirst(n int32) func(context.Context, *callback.Event[order]) error {
	var calls atomic.Int32
	return func(context.Context, *callback.Event[order]) error {
		if calls.Add(1) <= n {
			return errors.New("database is locked")
		}
		return nil
	}
}

func panicFirst() func(context.Context, *callback.Event[order]) error {
	var calls atomic.Int32
	return func(context.Context, *callback.Event[order]) error {
		if calls.Add(1) == 1 {
			panic("nil map")
		}
		return nil
	}
}

func TestEventCarriesRawBodyAndRequest(t *testing.T) {
	const body = `{"id":"o-2","event":"paid"}`
	var got *callback.Event[order]
	h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder, TTL: time.Hour},
		func(_ context.Context, ev *callback.Event[order]) error { got = ev; return nil })
	require.NoError(t, err)
	rec := deliver(h, "POST", body, "ok")
	require.Equal(t, 200, rec.Code)
	require.Equal(t, body, string(got.Body))
	require.Equal(t, order{ID: "o-2", Event: "paid"}, got.Payload)
	require.Equal(t, "o-2", got.Key)
	require.Equal(t, "paid", got.Name)
	require.Equal(t, "test", got.Provider)
	require.Equal(t, "1", got.Request.URL.Query().Get("x"))
}

func TestNewRefusesUnsafeConfig(t *testing.T) {
	ok := func(context.Context, *callback.Event[order]) error { return nil }
	base := callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder, TTL: time.Hour}
	tests := []struct {
		name   string
		mutate func(*callback.Config[order])
	}{
		{"no provider", func(c *callback.Config[order]) { c.Provider = "" }},
		{"no verifier", func(c *callback.Config[order]) { c.Verifier = nil }},
		{"no identify", func(c *callback.Config[order]) { c.Identify = nil }},
		{"no ttl", func(c *callback.Config[order]) { c.TTL = 0 }},
		{"lease not above timeout", func(c *callback.Config[order]) { c.Timeout, c.Lease = time.Minute, time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mutate(&cfg)
			_, err := callback.New(cfg, ok)
			require.Error(t, err)
		})
	}
	_, err := callback.New(base, nil)
	require.Error(t, err)
	cfg := base
	cfg.Verifier, cfg.AllowUnauthenticated = nil, true
	_, err = callback.New(cfg, ok)
	require.NoError(t, err, "AllowUnauthenticated is an explicit opt-out")
}

func TestConcurrentIdenticalDeliveriesRunOnce(t *testing.T) {
	const n = 100
	release := make(chan struct{})
	var runs atomic.Int32
	h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder, TTL: time.Hour},
		func(context.Context, *callback.Event[order]) error {
			runs.Add(1)
			<-release
			return nil
		})
	require.NoError(t, err)

	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- deliver(h, "POST", `{"id":"same"}`, "ok").Code })
	}
	// All but the winner are answered while the winner is in flight.
	counts := map[int]int{}
	for range n - 1 {
		counts[<-codes]++
	}
	close(release)
	wg.Wait()
	counts[<-codes]++
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: n - 1}, counts)
	require.EqualValues(t, 1, runs.Load())
	// Once done, every duplicate gets the ack without running again.
	require.Equal(t, 200, deliver(h, "POST", `{"id":"same"}`, "ok").Code)
	require.EqualValues(t, 1, runs.Load())
}

func TestFailedFirstRunThenRetriesRunOnceSuccessfully(t *testing.T) {
	var ok, failed atomic.Int32
	var calls atomic.Int32
	h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder, TTL: time.Hour},
		func(context.Context, *callback.Event[order]) error {
			if calls.Add(1) == 1 {
				failed.Add(1)
				return errors.New("first run fails")
			}
			ok.Add(1)
			return nil
		})
	require.NoError(t, err)
	// The provider keeps redelivering, concurrently, until it sees 200.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for deliver(h, "POST", `{"id":"retry"}`, "ok").Code != 200 {
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, failed.Load())
	require.EqualValues(t, 1, ok.Load())
}

func TestDeadline(t *testing.T) {
	t.Run("function honouring ctx: 503 and released", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var runs atomic.Int32
			h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder,
				TTL: time.Hour, Timeout: 8 * time.Second},
				func(ctx context.Context, ev *callback.Event[order]) error {
					if runs.Add(1) == 1 {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				})
			require.NoError(t, err)
			start := time.Now()
			rec := deliver(h, "POST", `{"id":"slow"}`, "ok")
			require.Equal(t, 503, rec.Code)
			require.Equal(t, 8*time.Second, time.Since(start))
			require.Equal(t, 200, deliver(h, "POST", `{"id":"slow"}`, "ok").Code, "the retry runs again")
			require.EqualValues(t, 2, runs.Load())
		})
	})
	t.Run("function ignoring ctx: 503 sent on time, committed when it succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var runs atomic.Int32
			h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder,
				TTL: time.Hour, Timeout: 8 * time.Second},
				func(ctx context.Context, ev *callback.Event[order]) error {
					runs.Add(1)
					time.Sleep(20 * time.Second) // ignores ctx
					return nil
				})
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() {
				req := httptest.NewRequest("POST", "/", strings.NewReader(`{"id":"stuck"}`))
				req.Header.Set("X-Test", "ok")
				h.ServeHTTP(rec, req)
				close(done)
			}()
			time.Sleep(9 * time.Second)
			synctest.Wait()
			require.True(t, rec.Flushed, "the 503 must be flushed before the function returns")
			require.Equal(t, 503, rec.Code)
			// While it still runs, a retry is told to come back later.
			require.Equal(t, 409, deliver(h, "POST", `{"id":"stuck"}`, "ok").Code)
			<-done
			require.Equal(t, 200, deliver(h, "POST", `{"id":"stuck"}`, "ok").Code)
			require.EqualValues(t, 1, runs.Load())
		})
	})
}

func TestObserveReportsPreciseReasons(t *testing.T) {
	var mu sync.Mutex
	var reps []callback.Report
	h, err := callback.New(callback.Config[order]{Provider: "test", Verifier: headerVerifier, Identify: identifyOrder, TTL: time.Hour,
		Observe: func(_ context.Context, r callback.Report) { mu.Lock(); reps = append(reps, r); mu.Unlock() }},
		func(context.Context, *callback.Event[order]) error { return errors.New("ledger offline") })
	require.NoError(t, err)
	deliver(h, "POST", `{"id":"a"}`, "forged")
	rec := deliver(h, "POST", `{"id":"a"}`, "ok")
	require.NotContains(t, rec.Body.String(), "ledger")
	require.Len(t, reps, 2)
	require.Equal(t, callback.Unauthorized, reps[0].Outcome)
	require.ErrorIs(t, reps[0].Err, verify.ErrSignature)
	require.Equal(t, callback.Failed, reps[1].Outcome)
	require.Equal(t, 500, reps[1].Status)
	require.Equal(t, "a", reps[1].Key)
	require.ErrorContains(t, reps[1].Err, "ledger offline")
}
