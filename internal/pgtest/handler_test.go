package pgtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/storetest"
)

type payment struct {
	ID string `json:"id"`
}

// tally is the merchant's side: what its function did, per event.
type tally struct {
	mu        sync.Mutex
	calls     map[string]int
	successes map[string]int
	running   map[string]bool
	overlaps  []string
}

func newTally() *tally {
	return &tally{calls: map[string]int{}, successes: map[string]int{}, running: map[string]bool{}}
}

// fn returns the merchant's function; it fails when fail says so.
func (ta *tally) fn(fail func() bool) callback.Func[payment] {
	return func(ctx context.Context, ev *callback.Event[payment]) error {
		id := ev.Payload.ID
		ta.mu.Lock()
		ta.calls[id]++
		if ta.running[id] {
			ta.overlaps = append(ta.overlaps, id)
		}
		ta.running[id] = true
		ta.mu.Unlock()
		failed := fail()
		ta.mu.Lock()
		ta.running[id] = false
		if !failed {
			ta.successes[id]++
		}
		ta.mu.Unlock()
		if failed {
			return errors.New("merchant: simulated failure")
		}
		return nil
	}
}

// newInstance is one instance of the merchant's service: its handler over
// store, on a server of its own.
func newInstance(t *testing.T, store callback.Store, fn callback.Func[payment], mod func(*callback.Config[payment])) *httptest.Server {
	t.Helper()
	cfg := callback.Config[payment]{
		Provider:             "acme",
		AllowUnauthenticated: true, // authentication is not what is under test
		Identify: func(p *payment) (string, string, error) {
			if p.ID == "" {
				return "", "", errors.New("no id")
			}
			return "payment.paid", p.ID, nil
		},
		Store: store,
		TTL:   time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := callback.New(cfg, fn)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func deliver(ctx context.Context, client *http.Client, url, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(`{"id":"`+id+`"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func newClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
}

// TestTwoInstancesOneDatabase: 1,000 events, each delivered three times at
// once, to either of two instances sharing one PostgreSQL table; the
// merchant's function fails 20% of the time, and every delivery is retried,
// on either instance, until it is acknowledged. Every event must be
// processed successfully exactly once, never by two instances at the same
// time, and every delivery acknowledged.
func TestTwoInstancesOneDatabase(t *testing.T) {
	requireDSN(t)
	const (
		events      = 1000
		copies      = 3
		senders     = 48
		maxAttempts = 500
	)
	table := tableName()
	ta := newTally()
	var (
		rngMu sync.Mutex
		rng   = rand.New(rand.NewPCG(1, 2))
	)
	fail := func() bool {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(5) == 0
	}
	var servers [2]*httptest.Server
	for i := range servers {
		db := openDB(t) // each instance its own pool
		var s *callback.SQLStore
		if i == 0 {
			s = newSQLStore(t, db, callback.SQLConfig{Table: table})
		} else {
			var err error
			s, err = callback.NewSQLStore(db, callback.SQLConfig{Table: table})
			require.NoError(t, err)
			require.NoError(t, s.Migrate(context.Background()))
		}
		servers[i] = newInstance(t, s, ta.fn(fail), nil)
	}

	type delivery struct {
		id   string
		copy int
	}
	// Events in random order, the copies of each side by side: senders
	// pick them up together, so they race for the claim.
	order := rand.New(rand.NewPCG(3, 4)).Perm(events)
	var all []delivery
	for _, e := range order {
		for c := range copies {
			all = append(all, delivery{fmt.Sprintf("evt-%04d", e), c})
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := newClient()
	var (
		next     atomic.Int64
		attempts atomic.Int64
		statuses sync.Map // status -> *atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		errs     []error
	)
	count := func(status int) {
		v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	for w := range senders {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 5))
			for {
				i := next.Add(1) - 1
				if i >= int64(len(all)) {
					return
				}
				d := all[i]
				acked := false
				for a := 0; a < maxAttempts && !acked; a++ {
					// The provider's retry may land on either instance.
					status, err := deliver(ctx, client, servers[r.IntN(len(servers))].URL, d.id)
					attempts.Add(1)
					if err != nil {
						errMu.Lock()
						errs = append(errs, fmt.Errorf("%s copy %d: %w", d.id, d.copy, err))
						errMu.Unlock()
						return
					}
					count(status)
					switch status {
					case http.StatusOK:
						acked = true
					case http.StatusConflict, http.StatusInternalServerError:
						// In flight elsewhere, or failed: retry after a
						// short pause, as a provider does (much shorter).
						time.Sleep(time.Duration(1+r.IntN(3)) * time.Millisecond)
					default:
						errMu.Lock()
						errs = append(errs, fmt.Errorf("%s copy %d: unexpected status %d", d.id, d.copy, status))
						errMu.Unlock()
						return
					}
				}
				if !acked {
					errMu.Lock()
					errs = append(errs, fmt.Errorf("%s copy %d: not acknowledged after %d attempts", d.id, d.copy, maxAttempts))
					errMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	ta.mu.Lock()
	defer ta.mu.Unlock()
	require.Empty(t, ta.overlaps, "events run by two instances at the same time")
	require.Len(t, ta.successes, events)
	failures := 0
	for e := range events {
		id := fmt.Sprintf("evt-%04d", e)
		require.Equal(t, 1, ta.successes[id], "successful runs of %s", id)
		failures += ta.calls[id] - 1
	}
	var done int
	db := openDB(t)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM "`+table+`" WHERE done`).Scan(&done))
	require.Equal(t, events, done, "rows committed as done")

	summary := fmt.Sprintf("%d events x %d copies over 2 instances: %d HTTP deliveries, %d function calls (%d failed and retried), every event succeeded exactly once;",
		events, copies, attempts.Load(), events+failures, failures)
	statuses.Range(func(k, v any) bool {
		summary += fmt.Sprintf(" %d:%d", k, v.(*atomic.Int64).Load())
		return true
	})
	t.Log(summary)
	require.Greater(t, failures, events/10, "the 20%% failures must have happened")
}

// TestDatabaseOutage: while the database is unreachable every delivery gets
// 503 and the merchant's function is not called; when it is back, the
// provider's retries are processed, each event exactly once. An outage
// between the function's success and the commit gets 503 too (never an ack
// for what was not recorded); the retry after the lease runs the event
// again.
func TestDatabaseOutage(t *testing.T) {
	requireDSN(t)
	p := startProxy(t)
	db := p.openDB(t)
	clock := storetest.NewClock(time.Now())
	store := newSQLStore(t, db, callback.SQLConfig{Now: clock.Now})
	ta := newTally()
	var cutAfterSuccess atomic.Bool
	fn := ta.fn(func() bool {
		if cutAfterSuccess.Swap(false) {
			p.Stop() // the database goes away while the function runs
		}
		return false
	})
	srv := newInstance(t, store, fn, func(c *callback.Config[payment]) {
		c.Timeout = 5 * time.Second
		c.Lease = time.Minute
	})
	client := newClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const events = 20
	ids := make([]string, events)
	for i := range ids {
		ids[i] = fmt.Sprintf("out-%02d", i)
	}

	p.Stop()
	for _, id := range ids {
		status, err := deliver(ctx, client, srv.URL, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, status, id)
	}
	ta.mu.Lock()
	require.Empty(t, ta.calls, "the function ran while the store was unreachable")
	ta.mu.Unlock()

	p.Start(t)
	retry := func(id string) (attempts int) {
		t.Helper()
		for attempts = 1; ; attempts++ {
			status, err := deliver(ctx, client, srv.URL, id)
			require.NoError(t, err)
			if status == http.StatusOK {
				return attempts
			}
			// The first attempt may meet a pooled connection the outage
			// cut: that is a 503 and the provider retries.
			require.Equal(t, http.StatusServiceUnavailable, status, id)
			require.Less(t, attempts, 5, "%s still failing after the database came back", id)
		}
	}
	for _, id := range ids {
		retry(id)
	}
	for _, id := range ids {
		status, err := deliver(ctx, client, srv.URL, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "duplicate of %s", id)
	}
	ta.mu.Lock()
	for _, id := range ids {
		require.Equal(t, 1, ta.calls[id], id)
	}
	ta.mu.Unlock()

	// The outage hits between the function's success and the commit.
	cutAfterSuccess.Store(true)
	status, err := deliver(ctx, client, srv.URL, "cut")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "work done but not recorded: no ack")
	p.Start(t)
	// The claim is still held until its lease passes: the retry is told
	// to come back later, and is not run concurrently.
	deadline := 5
	for ; deadline > 0; deadline-- {
		status, err = deliver(ctx, client, srv.URL, "cut")
		require.NoError(t, err)
		if status != http.StatusServiceUnavailable { // a cut pooled connection
			break
		}
	}
	require.Equal(t, http.StatusConflict, status)
	clock.Advance(time.Minute + time.Second)
	retry("cut")
	ta.mu.Lock()
	require.Equal(t, 2, ta.calls["cut"], "at-least-once: the unrecorded success runs again after the lease")
	ta.mu.Unlock()
	status, err = deliver(ctx, client, srv.URL, "cut")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	ta.mu.Lock()
	require.Equal(t, 2, ta.calls["cut"])
	ta.mu.Unlock()
}
