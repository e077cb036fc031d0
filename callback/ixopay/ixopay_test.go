package ixopay_test

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/ixopay"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

const (
	secret = "test-secret-0123456789"
	target = "/callbacks/ixopay?shop=42&order=A-1001"
)

// t0 is when the tests' callbacks are signed.
var t0 = time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)

// clock is a settable fake clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// recorder counts the merchant function's runs and keeps their events.
type recorder struct {
	mu     sync.Mutex
	events []*ixopay.Event
	err    error // returned by the function when set
}

func (r *recorder) fn(_ context.Context, ev *ixopay.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) runs() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.events) }

func newHandler(t *testing.T, c *clock, rec *recorder, mod ...func(*ixopay.Config)) *ixopay.Handler {
	t.Helper()
	cfg := ixopay.Config{Secrets: []string{"previous-secret", secret}, Now: c.Now}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := ixopay.New(cfg, rec.fn)
	require.NoError(t, err)
	return h
}

// reply is what the sender sees.
type reply struct {
	Status      int
	ContentType string
	Body        string
}

func serve(h http.Handler, req *http.Request) reply {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()}
}

var ack = reply{200, "text/plain", "OK"}

// variants are the documented ways IXOPAY signs a callback.
var variants = []struct {
	name string
	make func(body []byte, date time.Time) *http.Request
}{
	{"sha512", func(body []byte, date time.Time) *http.Request {
		return callbacktest.IXOPAYRequest(secret, target, body, date)
	}},
	{"md5", func(body []byte, date time.Time) *http.Request {
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
		req.Header.Set("Date", date.Format(http.TimeFormat))
		callbacktest.SignIXOPAY(req, body, secret, verify.HMACMD5)
		return req
	}},
	{"x-date", func(body []byte, date time.Time) *http.Request {
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
		req.Header.Set("X-Date", date.Format(http.TimeFormat))
		req.Header.Set("Date", date.Add(-time.Hour).Format(http.TimeFormat)) // unsigned
		callbacktest.SignIXOPAY(req, body, secret, verify.HMACSHA512)
		return req
	}},
}

func TestGenuineCallbackIsAcknowledgedOncePerCallback(t *testing.T) {
	for _, name := range callbacktest.IXOPAYEvents() {
		for _, v := range variants {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				c := &clock{now: t0}
				var rec recorder
				h := newHandler(t, c, &rec)
				body := callbacktest.IXOPAYFixture(name)

				// The first delivery, then redeliveries over IXOPAY's whole
				// schedule: the same bytes (not re-signed) and re-signed
				// ones with the retry's own date.
				for n := 1; n <= retry.IXOPAY.Attempts(); n++ {
					at := t0.Add(retry.IXOPAY.At(n))
					c.Set(at)
					for _, date := range []time.Time{t0, at} {
						got := serve(h, v.make(body, date))
						if diff := cmp.Diff(ack, got); diff != "" {
							t.Fatalf("attempt %d signed at %v (-want +got):\n%s", n, date, diff)
						}
					}
				}
				require.Equal(t, 1, rec.runs())
				ev := rec.events[0]
				require.Equal(t, "ixopay", ev.Provider)
				require.Equal(t, ev.Payload.Key(), ev.Key)
				require.Equal(t, body, ev.Body)
				require.Equal(t, strings.ToUpper(name), ev.Name)
			})
		}
	}
}

func TestAcknowledgementBytes(t *testing.T) {
	c := &clock{now: t0}
	var rec recorder
	h := newHandler(t, c, &rec)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbacktest.IXOPAYRequest(secret, target, callbacktest.IXOPAYFixture("debit.ok"), t0))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, []byte("OK"), w.Body.Bytes(), "exactly OK, no newline")
	require.Equal(t, "text/plain", w.Header().Get("Content-Type"))
	require.Equal(t, "2", w.Header().Get("Content-Length"))
}

func TestDistinctCallbacksOfOneTransaction(t *testing.T) {
	c := &clock{now: t0}
	var rec recorder
	h := newHandler(t, c, &rec)
	for _, name := range []string{"debit.pending", "debit.ok", "debit.pending", "chargeback.ok", "chargeback-reversal.ok", "debit.ok"} {
		require.Equal(t, ack, serve(h, callbacktest.IXOPAYRequest(secret, target, callbacktest.IXOPAYFixture(name), t0)), name)
	}
	var keys []string
	for _, ev := range rec.events {
		keys = append(keys, ev.Key)
	}
	want := []string{
		"a1b2c3d4e5f6a7b8c9d0:DEBIT:PENDING",
		"a1b2c3d4e5f6a7b8c9d0:DEBIT:OK",
		"d4e5f6a7b8c9d0e1f2a3:CHARGEBACK:OK",
		"e5f6a7b8c9d0e1f2a3b4:CHARGEBACK-REVERSAL:OK",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("processed keys (-want +got):\n%s", diff)
	}
}

func TestConcurrentRedeliveriesRunOnce(t *testing.T) {
	c := &clock{now: t0}
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var runs atomic.Int32
	h, err := ixopay.New(ixopay.Config{Secrets: []string{secret}, Now: c.Now}, func(ctx context.Context, _ *ixopay.Event) error {
		runs.Add(1)
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	require.NoError(t, err)
	body := callbacktest.IXOPAYFixture("debit.ok")

	first := make(chan reply)
	go func() { first <- serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0)) }()
	<-started // the first delivery holds the claim and is running
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got := serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0))
			if got.Status != http.StatusConflict || got.Body == "OK" {
				t.Errorf("redelivery while in flight: %+v", got)
			}
		})
	}
	wg.Wait()
	close(release)
	require.Equal(t, ack, <-first)
	require.Equal(t, ack, serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0)))
	require.Equal(t, int32(1), runs.Load())
}

func TestForgedOrAlteredNeverReachesTheMerchant(t *testing.T) {
	body := callbacktest.IXOPAYFixture("debit.ok")
	genuine := func() *http.Request { return callbacktest.IXOPAYRequest(secret, target, body, t0) }
	withBody := func(r *http.Request, b []byte) *http.Request {
		r2 := httptest.NewRequest(r.Method, r.RequestURI, bytes.NewReader(b))
		r2.Header = r.Header.Clone()
		return r2
	}
	tests := []struct {
		name string
		req  func() *http.Request
		now  time.Time
	}{
		{"wrong secret", func() *http.Request { return callbacktest.IXOPAYRequest("guessed", target, body, t0) }, t0},
		{"body amount altered", func() *http.Request {
			return withBody(genuine(), bytes.Replace(body, []byte(`"9.99"`), []byte(`"0.01"`), 1))
		}, t0},
		{"body result altered", func() *http.Request {
			return withBody(callbacktest.IXOPAYRequest(secret, target, callbacktest.IXOPAYFixture("debit.error"), t0),
				bytes.Replace(callbacktest.IXOPAYFixture("debit.error"), []byte(`"ERROR"`), []byte(`"OK"`), 1))
		}, t0},
		{"uri query altered", func() *http.Request {
			r := genuine()
			r2 := httptest.NewRequest(http.MethodPost, "/callbacks/ixopay?shop=43&order=A-1001", bytes.NewReader(body))
			r2.Header = r.Header.Clone()
			return r2
		}, t0},
		{"uri query dropped", func() *http.Request {
			r := genuine()
			r2 := httptest.NewRequest(http.MethodPost, "/callbacks/ixopay", bytes.NewReader(body))
			r2.Header = r.Header.Clone()
			return r2
		}, t0},
		{"content type altered", func() *http.Request {
			r := genuine()
			r.Header.Set("Content-Type", "application/json")
			return r
		}, t0},
		{"date altered", func() *http.Request {
			r := genuine()
			r.Header.Set("Date", t0.Add(time.Second).Format(http.TimeFormat))
			return r
		}, t0},
		{"x-date added", func() *http.Request {
			r := genuine()
			r.Header.Set("X-Date", t0.Add(time.Second).Format(http.TimeFormat))
			return r
		}, t0},
		{"no signature", func() *http.Request {
			r := genuine()
			r.Header.Del("X-Signature")
			return r
		}, t0},
		{"two signatures", func() *http.Request {
			r := genuine()
			r.Header.Add("X-Signature", r.Header.Get("X-Signature"))
			return r
		}, t0},
		{"no date", func() *http.Request {
			r := genuine()
			r.Header.Del("Date")
			return r
		}, t0},
		{"malformed date", func() *http.Request {
			r := genuine()
			r.Header.Set("Date", "yesterday")
			return r
		}, t0},
		{"stale", genuine, t0.Add(verify.DefaultHMACMaxAge() + time.Second)},
		{"a month old", genuine, t0.Add(30 * 24 * time.Hour)},
		{"from the future", genuine, t0.Add(-verify.DefaultHMACMaxSkew - time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: tt.now}
			var rec recorder
			var reports []callback.Report
			h := newHandler(t, c, &rec, func(cfg *ixopay.Config) {
				cfg.Observe = func(_ context.Context, r callback.Report) { reports = append(reports, r) }
			})
			got := serve(h, tt.req())
			require.Equal(t, http.StatusUnauthorized, got.Status)
			require.NotEqual(t, "OK", strings.TrimSpace(got.Body))
			require.Equal(t, 0, rec.runs(), "the merchant's function ran")
			require.Len(t, reports, 1)
			require.Equal(t, callback.Unauthorized, reports[0].Outcome)
			require.Error(t, reports[0].Err)
		})
	}
}

// TestReplayIsDuplicateUntilStale proves the TTL rule: a replay of a
// processed callback is a duplicate (acknowledged, not run) until the dedup
// entry expires, and by then the verifier refuses it as stale.
func TestReplayIsDuplicateUntilStale(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*ixopay.Config)
	}{
		{"defaults", func(*ixopay.Config) {}},
		{"short max age", func(cfg *ixopay.Config) { cfg.MaxAge = time.Hour; cfg.MaxSkew = time.Minute }},
		{"explicit minimal TTL", func(cfg *ixopay.Config) {
			cfg.MaxAge = time.Hour
			cfg.MaxSkew = time.Minute
			cfg.TTL = time.Hour + time.Minute + time.Second
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := t0
			c := &clock{}
			var rec recorder
			var observed []callback.Outcome
			var maxAge, skew time.Duration
			h := newHandler(t, c, &rec, tc.mod, func(cfg *ixopay.Config) {
				maxAge, skew = cfg.MaxAge, cfg.MaxSkew
				cfg.Observe = func(_ context.Context, r callback.Report) { observed = append(observed, r.Outcome) }
			})
			if maxAge == 0 {
				maxAge = verify.DefaultHMACMaxAge()
			}
			if skew == 0 {
				skew = verify.DefaultHMACMaxSkew
			}
			// First processed when the date is as far in the future as
			// allowed: the earliest commit, so the earliest dedup expiry.
			first := signed.Add(-skew)
			body := callbacktest.IXOPAYFixture("debit.ok")
			req := func() *http.Request { return callbacktest.IXOPAYRequest(secret, target, body, signed) }

			c.Set(first)
			require.Equal(t, ack, serve(h, req()))
			// Probe a spread of instants over the whole window, and its
			// edges.
			var probes []time.Time
			for i := 1; i <= 50; i++ {
				probes = append(probes, first.Add(time.Duration(i)*(maxAge+2*skew)/50))
			}
			probes = append(probes, signed.Add(maxAge), signed.Add(maxAge+time.Second))
			for _, p := range probes {
				c.Set(p)
				got := serve(h, req())
				if got == ack {
					continue
				}
				require.Equal(t, http.StatusUnauthorized, got.Status, "at %v", p.Sub(signed))
				require.True(t, p.Sub(signed) > maxAge, "refused within max age at %v", p.Sub(signed))
			}
			require.Equal(t, 1, rec.runs(), "a replay ran the merchant's function again")
			for _, o := range observed[1:] {
				require.Contains(t, []callback.Outcome{callback.Duplicate, callback.Unauthorized}, o)
			}
		})
	}
}

func TestFailuresAreNeverOK(t *testing.T) {
	body := callbacktest.IXOPAYFixture("debit.ok")
	tests := []struct {
		name   string
		req    func() *http.Request
		fnErr  error
		mod    func(*ixopay.Config)
		status int
	}{
		{"wrong method", func() *http.Request {
			r := callbacktest.IXOPAYRequest(secret, target, body, t0)
			r.Method = http.MethodGet
			return r
		}, nil, nil, http.StatusMethodNotAllowed},
		{"too large", func() *http.Request {
			return callbacktest.IXOPAYRequest(secret, target, bytes.Repeat([]byte(" "), 2048), t0)
		}, nil, func(cfg *ixopay.Config) { cfg.MaxBodyBytes = 1024 }, http.StatusRequestEntityTooLarge},
		{"forged", func() *http.Request { return callbacktest.IXOPAYRequest("x", target, body, t0) }, nil, nil, http.StatusUnauthorized},
		{"not json", func() *http.Request { return callbacktest.IXOPAYRequest(secret, target, []byte("result=OK"), t0) }, nil, nil, http.StatusBadRequest},
		{"no uuid", func() *http.Request {
			return callbacktest.IXOPAYRequest(secret, target, []byte(`{"result":"OK","transactionType":"DEBIT"}`), t0)
		}, nil, nil, http.StatusBadRequest},
		{"no result", func() *http.Request {
			return callbacktest.IXOPAYRequest(secret, target, []byte(`{"uuid":"u1","transactionType":"DEBIT"}`), t0)
		}, nil, nil, http.StatusBadRequest},
		{"amount a float literal with exponent", func() *http.Request {
			return callbacktest.IXOPAYRequest(secret, target, []byte(`{"uuid":"u1","result":"OK","transactionType":"DEBIT","amount":1e3}`), t0)
		}, nil, nil, http.StatusBadRequest},
		{"merchant error", func() *http.Request { return callbacktest.IXOPAYRequest(secret, target, body, t0) },
			errors.New("database down"), nil, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: t0}
			rec := recorder{err: tt.fnErr}
			mods := []func(*ixopay.Config){}
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			h := newHandler(t, c, &rec, mods...)
			got := serve(h, tt.req())
			require.Equal(t, tt.status, got.Status)
			require.NotEqual(t, "OK", strings.TrimSpace(got.Body))
		})
	}
}

func TestMerchantErrorIsRetried(t *testing.T) {
	c := &clock{now: t0}
	rec := recorder{err: errors.New("database down")}
	h := newHandler(t, c, &rec)
	body := callbacktest.IXOPAYFixture("debit.ok")
	got := serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0))
	require.Equal(t, http.StatusInternalServerError, got.Status)

	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	c.Set(t0.Add(retry.IXOPAY.At(2)))
	require.Equal(t, ack, serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0)))
	require.Equal(t, ack, serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0)))
	require.Equal(t, 2, rec.runs(), "failed once, succeeded once, then a duplicate")
}

// TestSlowMerchantIsAnsweredBeforeIXOPAYGivesUp runs in a synctest bubble:
// its clock is fake, so the 8 s deadline passes without sleeping.
func TestSlowMerchantIsAnsweredBeforeIXOPAYGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		h, err := ixopay.New(ixopay.Config{Secrets: []string{secret}}, func(ctx context.Context, _ *ixopay.Event) error {
			runs.Add(1)
			<-ctx.Done()
			return ctx.Err()
		})
		require.NoError(t, err)
		start := time.Now()
		got := serve(h, callbacktest.IXOPAYRequest(secret, target, callbacktest.IXOPAYFixture("debit.ok"), start))
		require.Equal(t, http.StatusServiceUnavailable, got.Status)
		require.NotEqual(t, "OK", strings.TrimSpace(got.Body))
		require.Equal(t, callback.DefaultTimeout, time.Since(start))
		require.Less(t, time.Since(start), ixopay.MaxTimeout)
		require.Equal(t, int32(1), runs.Load())
	})
}

func TestNewRefusesUnsafeConfig(t *testing.T) {
	fn := func(context.Context, *ixopay.Event) error { return nil }
	tests := []struct {
		name     string
		cfg      ixopay.Config
		fn       ixopay.Func
		isConfig bool
	}{
		{"no secrets", ixopay.Config{}, fn, true},
		{"empty secret", ixopay.Config{Secrets: []string{""}}, fn, true},
		{"empty secret among others", ixopay.Config{Secrets: []string{"a", ""}}, fn, true},
		{"negative max age", ixopay.Config{Secrets: []string{"a"}, MaxAge: -1}, fn, true},
		{"TTL below default max age", ixopay.Config{Secrets: []string{"a"}, TTL: retry.IXOPAY.Horizon()}, fn, false},
		{"TTL equal to max age + skew", ixopay.Config{Secrets: []string{"a"}, MaxAge: time.Hour, MaxSkew: time.Minute, TTL: time.Hour + time.Minute}, fn, false},
		{"timeout at IXOPAY's wait", ixopay.Config{Secrets: []string{"a"}, Timeout: 10 * time.Second}, fn, false},
		{"nil function", ixopay.Config{Secrets: []string{"a"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ixopay.New(tt.cfg, tt.fn)
			require.Error(t, err)
			require.Nil(t, h)
			if tt.isConfig {
				require.ErrorIs(t, err, verify.ErrConfig)
			}
		})
	}
}
