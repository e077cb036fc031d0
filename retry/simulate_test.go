package retry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/retry"
)

var simStart = time.Date(2026, 4, 28, 15, 0, 0, 0, time.UTC)

// post is a Request factory posting body to d.URL.
func post(body string) func(context.Context, retry.Delivery) (*http.Request, error) {
	return func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(body))
	}
}

// failing answers 503 to its first n requests, then 200 "OK".
func failing(n int) http.Handler {
	var calls atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= int64(n) {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "OK")
	})
}

func offsets(res *retry.Result) []time.Duration {
	var out []time.Duration
	for _, a := range res.Attempts {
		out = append(out, a.Offset)
	}
	return out
}

func TestSimulateFollowsTheScheduleOnAFakeClock(t *testing.T) {
	clock := retry.NewClock(simStart)
	var seen []time.Time // what the handler read from the clock
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, clock.Now())
		if len(seen) < 5 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	wall := time.Now()
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.CHIP, Handler: h, Request: post(`{}`), Clock: clock,
	})
	require.NoError(t, err)
	require.Less(t, time.Since(wall), 10*time.Second, "a simulated schedule must not wait")

	wantOff := []time.Duration{0, 2 * time.Minute, 8 * time.Minute, 26 * time.Minute, 80 * time.Minute}
	if diff := cmp.Diff(wantOff, offsets(res)); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	var wantAt []time.Time
	for _, o := range wantOff {
		wantAt = append(wantAt, simStart.Add(o))
	}
	if diff := cmp.Diff(wantAt, seen); diff != "" {
		t.Errorf("clock as the handler saw it (-want +got):\n%s", diff)
	}
	for i, a := range res.Attempts {
		require.Equal(t, wantAt[i], a.At)
		require.Equal(t, i+1, a.Attempt)
		require.Equal(t, 1, a.Copy)
	}
	if diff := cmp.Diff([]int{500, 500, 500, 500, 204}, res.Statuses()); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	require.True(t, res.Acknowledged)
	require.Equal(t, 5, res.AckedAttempt)
	require.Equal(t, "chip", res.Policy)
	require.Equal(t, simStart, res.Start)
	require.Equal(t, "down\n", res.Attempts[0].Body)
	require.False(t, res.Attempts[0].Acked)
}

func TestSimulateScheduleRunsOut(t *testing.T) {
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.Avarda, Handler: failing(1000), Request: post(`{}`), Start: simStart,
	})
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.False(t, res.Acknowledged)
	require.Zero(t, res.AckedAttempt)
	require.Len(t, res.Attempts, retry.Avarda.Attempts())
	require.Equal(t, retry.Avarda.Horizon(), res.Attempts[len(res.Attempts)-1].Offset)
}

func TestSimulateLosesEveryAck(t *testing.T) {
	var processed atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		processed.Add(1)
		_, _ = io.WriteString(w, "OK")
	})
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.IXOPAY, Handler: h, Request: post(`{}`), LoseAcks: 1,
	})
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, res.Attempts, retry.IXOPAY.Attempts())
	require.Equal(t, retry.IXOPAY.Attempts(), res.Lost())
	require.EqualValues(t, retry.IXOPAY.Attempts(), processed.Load(), "the merchant processed every one the provider saw fail")
	for _, a := range res.Attempts {
		require.True(t, a.Acked)
		require.True(t, a.Lost)
		require.False(t, a.Delivered())
	}
}

func TestSimulateLostAcksAreReproducible(t *testing.T) {
	run := func(seed uint64) *retry.Result {
		res, err := retry.Simulate(t.Context(), retry.Simulation{
			Policy: retry.IXOPAY, Handler: failing(0), Request: post(`{}`),
			LoseAcks: 0.5, Duplicates: 1, Seed: seed, Start: simStart,
		})
		require.NoError(t, err)
		return res
	}
	lost := func(res *retry.Result) []bool {
		var out []bool
		for _, a := range res.Attempts {
			out = append(out, a.Lost)
		}
		return out
	}
	differs := false
	for seed := range uint64(8) {
		a, b := run(seed), run(seed)
		if diff := cmp.Diff(lost(a), lost(b)); diff != "" {
			t.Fatalf("seed %d: two runs differ (-first +second):\n%s", seed, diff)
		}
		require.Equal(t, a.AckedAttempt, b.AckedAttempt)
		// The attempt that ended the run had a copy whose ack got through;
		// every earlier attempt had all its acks lost.
		for _, c := range a.Attempts {
			if c.Attempt < a.AckedAttempt {
				require.True(t, c.Lost, "%v", c)
			}
		}
		if a.AckedAttempt > 1 {
			differs = true
		}
	}
	require.True(t, differs, "with half the acks lost, some seed must need more than one attempt")
}

func TestSimulateDuplicatesAreConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const copies = 3
		// Each copy waits for all the attempt's copies to arrive: if they
		// were sent one after another, the bubble would deadlock.
		var mu sync.Mutex
		arrived := 0
		all := make(chan struct{})
		var calls atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			mu.Lock()
			arrived++
			if arrived == copies {
				close(all)
			}
			mu.Unlock()
			if n <= copies {
				<-all
				http.Error(w, "conflict", http.StatusConflict)
				return
			}
			_, _ = io.WriteString(w, "OK")
		})
		var reported [][]retry.Attempt
		res, err := retry.Simulate(t.Context(), retry.Simulation{
			Policy: retry.CHIP, Handler: h, Request: post(`{}`), Duplicates: copies - 1,
			OnAttempt: func(c []retry.Attempt) { reported = append(reported, c) },
		})
		require.NoError(t, err)
		require.Equal(t, 2, res.AckedAttempt)
		require.Len(t, res.Attempts, 2*copies)
		var got []int
		for _, a := range res.Attempts {
			got = append(got, a.Attempt*10+a.Copy)
		}
		if diff := cmp.Diff([]int{11, 12, 13, 21, 22, 23}, got); diff != "" {
			t.Errorf("attempt*10+copy (-want +got):\n%s", diff)
		}
		require.Len(t, reported, 2)
		if diff := cmp.Diff(res.Attempts[:copies], reported[0], cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
			t.Errorf("OnAttempt's first report (-want +got):\n%s", diff)
		}
	})
}

func TestSimulateSpeedPlaysOnTheRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var sent []time.Duration
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sent = append(sent, time.Since(start))
			http.Error(w, "down", http.StatusServiceUnavailable)
		})
		res, err := retry.Simulate(t.Context(), retry.Simulation{
			Policy: retry.CHIP, Handler: h, Request: post(`{}`), Speed: 60, // a minute a second
		})
		require.ErrorIs(t, err, retry.ErrNotAcknowledged)
		want := []time.Duration{0, 2, 8, 26, 80, 242, 728, 2186}
		for i := range want {
			want[i] *= time.Second
		}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("real send times (-want +got):\n%s", diff)
		}
		for i, a := range res.Attempts {
			require.Equal(t, start.Add(want[i]), a.At, "stamped with the wall clock")
			require.Equal(t, retry.CHIP.At(i+1), a.Offset)
		}
	})
}

func TestSimulateHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		res, err := retry.Simulate(ctx, retry.Simulation{
			Policy: retry.CHIP, Handler: failing(1000), Request: post(`{}`), Speed: 60,
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Len(t, res.Attempts, 3, "attempts at 0 s, 2 s and 8 s; the one at 26 s is past the deadline")
	})
}

func TestSimulateOverHTTP(t *testing.T) {
	type seen struct{ method, uri, body string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, string(b)})
		n := len(got)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "OK\n") // IXOPAY reads this as a failure
			return
		}
		_, _ = io.WriteString(w, "OK")
	}))
	defer srv.Close()

	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.IXOPAY, URL: srv.URL + "/callbacks/ixopay?shop=1", Client: srv.Client(),
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			// A server-side request, as httptest.NewRequest makes: Simulate
			// must clear its RequestURI to send it.
			req := httptest.NewRequest(http.MethodPost, d.URL, strings.NewReader(`{"n":1}`))
			return req, nil
		},
		Ack: retry.AckExact(200, "OK"),
	})
	require.NoError(t, err)
	want := []seen{
		{"POST", "/callbacks/ixopay?shop=1", `{"n":1}`},
		{"POST", "/callbacks/ixopay?shop=1", `{"n":1}`},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	require.Equal(t, []int{200, 200}, res.Statuses())
	require.False(t, res.Attempts[0].Acked)
	require.True(t, res.Attempts[1].Acked)
}

func TestSimulateNoReplyIsAFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: every delivery is refused
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.Policy{Name: "short", Offsets: []time.Duration{0, time.Minute}},
		URL:    url, Request: post(`{}`),
	})
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, res.Attempts, 2)
	for _, a := range res.Attempts {
		require.Error(t, a.Err)
		require.Zero(t, a.Status)
		require.False(t, a.Acked)
		require.Contains(t, a.String(), "no reply")
	}
}

func TestSimulateRequestError(t *testing.T) {
	boom := errors.New("boom")
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.CHIP, Handler: failing(1),
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			if d.Attempt == 2 {
				return nil, boom
			}
			return post(`{}`)(ctx, d)
		},
	})
	require.ErrorIs(t, err, boom)
	require.Len(t, res.Attempts, 1)
}

func TestSimulateRefusesInvalid(t *testing.T) {
	ok := retry.Simulation{Policy: retry.CHIP, Handler: failing(0), Request: post(`{}`)}
	tests := []struct {
		name string
		edit func(*retry.Simulation)
	}{
		{"no policy", func(s *retry.Simulation) { s.Policy = retry.Policy{} }},
		{"no request", func(s *retry.Simulation) { s.Request = nil }},
		{"negative LoseAcks", func(s *retry.Simulation) { s.LoseAcks = -0.1 }},
		{"LoseAcks above 1", func(s *retry.Simulation) { s.LoseAcks = 1.5 }},
		{"negative Duplicates", func(s *retry.Simulation) { s.Duplicates = -1 }},
		{"negative LoseFirst", func(s *retry.Simulation) { s.LoseFirst = -1 }},
		{"negative Speed", func(s *retry.Simulation) { s.Speed = -1 }},
		{"no handler, relative URL", func(s *retry.Simulation) { s.Handler, s.URL = nil, "/callbacks" }},
		{"no handler, no URL", func(s *retry.Simulation) { s.Handler = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			res, err := retry.Simulate(t.Context(), s)
			require.Error(t, err)
			require.Nil(t, res)
		})
	}
	_, err := retry.Simulate(t.Context(), ok)
	require.NoError(t, err)
}

func TestAck(t *testing.T) {
	tests := []struct {
		status int
		body   string
		any2xx bool
		exact  bool
	}{
		{200, "OK", true, true},
		{200, "OK\n", true, false},
		{200, "ok", true, false},
		{204, "", true, false},
		{201, "OK", true, false},
		{299, "", true, false},
		{300, "", false, false},
		{409, "OK", false, false},
		{503, "OK", false, false},
	}
	exact := retry.AckExact(200, "OK")
	for _, tt := range tests {
		require.Equal(t, tt.any2xx, retry.Ack2xx(tt.status, []byte(tt.body)), "Ack2xx(%d, %q)", tt.status, tt.body)
		require.Equal(t, tt.exact, exact(tt.status, []byte(tt.body)), "AckExact(%d, %q)", tt.status, tt.body)
	}
}

func TestSimulateHandlerRequestIsServerSide(t *testing.T) {
	var got *http.Request
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.WriteHeader(http.StatusOK)
	})
	_, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.CHIP, Handler: h, URL: "/callbacks/chip?shop=1", Request: post(`{}`),
	})
	require.NoError(t, err)
	require.Equal(t, "/callbacks/chip?shop=1", got.RequestURI)
	require.Equal(t, "example.com", got.Host)
	require.NotEmpty(t, got.RemoteAddr)
}

func TestSimulateReplyExcerpt(t *testing.T) {
	long := strings.Repeat("x", 1000)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, long) // 200 with a body: acked by Ack2xx
	})
	res, err := retry.Simulate(t.Context(), retry.Simulation{Policy: retry.CHIP, Handler: h, Request: post(`{}`)})
	require.NoError(t, err)
	require.Equal(t, long[:256], res.Attempts[0].Body)
	require.Equal(t, `attempt 1 copy 1 at +0s: 200 "`+long[:256]+`" acked`, res.Attempts[0].String())
}

func TestClock(t *testing.T) {
	var zero retry.Clock
	require.True(t, zero.Now().IsZero())
	c := retry.NewClock(simStart)
	c.Add(time.Hour)
	require.Equal(t, simStart.Add(time.Hour), c.Now())
	c.Set(simStart)
	require.Equal(t, simStart, c.Now())
}

func TestSimulateLoseFirst(t *testing.T) {
	res, err := retry.Simulate(t.Context(), retry.Simulation{
		Policy: retry.Avarda, Handler: failing(0), Request: post(`{}`), LoseFirst: 3, Duplicates: 1,
	})
	require.NoError(t, err)
	var lost []bool
	for _, a := range res.Attempts {
		lost = append(lost, a.Lost)
	}
	if diff := cmp.Diff([]bool{true, true, true, false}, lost); diff != "" {
		t.Errorf("lost (-want +got):\n%s", diff)
	}
	require.Equal(t, 2, res.AckedAttempt)
	require.Equal(t, 3, res.Lost())
}
