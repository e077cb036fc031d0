package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/retry"
)

// calls records when each attempt happened, relative to the start, on
// synctest's fake clock.
type calls struct {
	start time.Time
	at    []time.Duration
}

func (c *calls) fn(errs ...error) func(context.Context) error {
	c.start = time.Now()
	return func(context.Context) error {
		c.at = append(c.at, time.Since(c.start))
		if i := len(c.at) - 1; i < len(errs) {
			return errs[i]
		}
		return nil
	}
}

var (
	err503     = &retry.HTTPError{Status: 503}
	errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
)

func TestDo(t *testing.T) {
	// Jitter 1e-12 makes waits deterministic to the nanosecond's rounding.
	exact := retry.Backoff{Initial: time.Second, Max: 4 * time.Second, Jitter: 1e-12, MaxAttempts: 5, MaxElapsed: time.Hour}
	tests := []struct {
		name     string
		b        retry.Backoff
		timeout  time.Duration // 0: no deadline
		errs     []error
		wantAt   []time.Duration
		wantErr  error // nil: success
		wantStop error
	}{
		{
			name:   "first attempt succeeds",
			b:      exact,
			wantAt: []time.Duration{0},
		},
		{
			name:   "5xx and network errors are retried with doubling waits",
			b:      exact,
			errs:   []error{err503, errRefused, io.ErrUnexpectedEOF},
			wantAt: []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second},
		},
		{
			name:   "waits are capped at Max",
			b:      exact,
			errs:   []error{err503, err503, err503, err503},
			wantAt: []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second},
		},
		{
			name:     "MaxAttempts bounds the calls",
			b:        exact,
			errs:     []error{err503, err503, err503, err503, err503},
			wantAt:   []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second},
			wantErr:  err503,
			wantStop: retry.ErrExhausted,
		},
		{
			name:     "a 4xx is not retried",
			b:        exact,
			errs:     []error{&retry.HTTPError{Status: 401}},
			wantAt:   []time.Duration{0},
			wantErr:  &retry.HTTPError{Status: 401},
			wantStop: nil,
		},
		{
			name:    "an ordinary error is not retried",
			b:       exact,
			errs:    []error{errors.New("bad JSON")},
			wantAt:  []time.Duration{0},
			wantErr: errors.New("bad JSON"),
		},
		{
			name:   "429 with Retry-After waits that long",
			b:      exact,
			errs:   []error{&retry.HTTPError{Status: 429, RetryAfter: 30 * time.Second}},
			wantAt: []time.Duration{0, 30 * time.Second},
		},
		{
			name:     "a Retry-After past MaxElapsed gives up at once",
			b:        retry.Backoff{Initial: time.Second, Jitter: 1e-12, MaxElapsed: 10 * time.Second},
			errs:     []error{&retry.HTTPError{Status: 429, RetryAfter: time.Minute}},
			wantAt:   []time.Duration{0},
			wantErr:  &retry.HTTPError{Status: 429, RetryAfter: time.Minute},
			wantStop: retry.ErrExhausted,
		},
		{
			name:     "never sleeps past the context's deadline",
			b:        exact,
			timeout:  2500 * time.Millisecond,
			errs:     []error{err503, err503, err503},
			wantAt:   []time.Duration{0, 1 * time.Second},
			wantErr:  err503,
			wantStop: context.DeadlineExceeded,
		},
		{
			name:     "MaxElapsed bounds the total time",
			b:        retry.Backoff{Initial: time.Second, Max: time.Minute, Jitter: 1e-12, MaxAttempts: 100, MaxElapsed: 10 * time.Second},
			errs:     []error{err503, err503, err503, err503, err503},
			wantAt:   []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second},
			wantErr:  err503,
			wantStop: retry.ErrExhausted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				var c calls
				err := retry.Do(ctx, tt.b, c.fn(tt.errs...))
				if diff := cmp.Diff(tt.wantAt, c.at); diff != "" {
					t.Errorf("attempt times (-want +got):\n%s", diff)
				}
				if tt.wantErr == nil {
					require.NoError(t, err)
					return
				}
				var re *retry.Error
				require.ErrorAs(t, err, &re)
				require.Equal(t, len(c.at), re.Attempts)
				require.Equal(t, tt.wantErr.Error(), re.Last.Error())
				if tt.wantStop == nil {
					require.NoError(t, re.Stop)
				} else {
					require.ErrorIs(t, err, tt.wantStop)
				}
				// The last error stays reachable for callers.
				var he *retry.HTTPError
				if errors.As(tt.wantErr, &he) {
					var got *retry.HTTPError
					require.ErrorAs(t, err, &got)
					require.Equal(t, he.Status, got.Status)
				}
				// Do returned without sleeping past the deadline.
				if dl, ok := ctx.Deadline(); ok {
					require.False(t, time.Now().After(dl), "Do returned after its deadline")
				}
			})
		})
	}
}

func TestDoJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.5, MaxAttempts: 6, MaxElapsed: time.Hour}
		for range 50 {
			var c calls
			_ = retry.Do(t.Context(), b, c.fn(err503, err503, err503, err503, err503, err503))
			require.Len(t, c.at, 6)
			for i := 1; i < len(c.at); i++ {
				gap := c.at[i] - c.at[i-1]
				full := b.Wait(i)
				require.GreaterOrEqual(t, gap, full/2, "wait %d", i)
				require.LessOrEqual(t, gap, full, "wait %d", i)
			}
		}
	})
}

func TestDoCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var c calls
		go func() {
			time.Sleep(500 * time.Millisecond)
			cancel()
		}()
		err := retry.Do(ctx, retry.Backoff{Initial: time.Second, Jitter: 1e-12}, c.fn(err503, err503))
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, err503)
		require.Equal(t, 500*time.Millisecond, time.Since(c.start))
		require.Len(t, c.at, 1)
	})
}

func TestDoContextAlreadyDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := retry.Do(ctx, retry.Backoff{}, func(context.Context) error { called = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, called)
}

func TestBackoffWait(t *testing.T) {
	got := make([]time.Duration, 0, 6)
	for n := 1; n <= 6; n++ {
		got = append(got, retry.Backoff{}.Wait(n))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default waits (-want +got):\n%s", diff)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", &retry.HTTPError{Status: 500}, true},
		{"502 wrapped", fmt.Errorf("confirming: %w", &retry.HTTPError{Status: 502}), true},
		{"429", &retry.HTTPError{Status: 429}, true},
		{"400", &retry.HTTPError{Status: 400}, false},
		{"404", &retry.HTTPError{Status: 404}, false},
		{"connection refused", &url.Error{Op: "Post", URL: "http://x", Err: errRefused}, true},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"client timeout", &url.Error{Op: "Post", URL: "http://x", Err: timeoutError{}}, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"DNS not found", &net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{"DNS timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{"unsupported scheme", &url.Error{Op: "Post", URL: "ftp://x", Err: errors.New("unsupported protocol scheme")}, false},
		{"canceled", context.Canceled, false},
		{"plain", errors.New("no"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, retry.Retryable(tt.err))
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestCheckResponse(t *testing.T) {
	date := func(d time.Duration) func() string {
		return func() string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	}
	fixed := func(v string) func() string { return func() string { return v } }
	tests := []struct {
		name   string
		status int
		header func() string // evaluated on the test's fake clock
		want   error
	}{
		{"200", 200, fixed(""), nil},
		{"204", 204, fixed(""), nil},
		{"503 in seconds", 503, fixed("120"), &retry.HTTPError{Status: 503, RetryAfter: 2 * time.Minute}},
		{"429 as a date", 429, date(90 * time.Second), &retry.HTTPError{Status: 429, RetryAfter: 90 * time.Second}},
		{"date in the past", 429, date(-time.Hour), &retry.HTTPError{Status: 429}},
		{"garbage", 503, fixed("soon"), &retry.HTTPError{Status: 503}},
		{"negative", 503, fixed("-5"), &retry.HTTPError{Status: 503}},
		{"404", 404, fixed(""), &retry.HTTPError{Status: 404}},
		{"302", 302, fixed(""), &retry.HTTPError{Status: 302}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
				if v := tt.header(); v != "" {
					resp.Header.Set("Retry-After", v)
				}
				got := retry.CheckResponse(resp)
				if tt.want == nil {
					require.NoError(t, got)
					return
				}
				var he *retry.HTTPError
				require.ErrorAs(t, got, &he)
				if diff := cmp.Diff(tt.want, he); diff != "" {
					t.Errorf("CheckResponse (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestDoValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		v, err := retry.DoValue(t.Context(), retry.Backoff{}, func(context.Context) (string, error) {
			n++
			if n < 3 {
				return "partial", err503
			}
			return "answer", nil
		})
		require.NoError(t, err)
		require.Equal(t, "answer", v)
		require.Equal(t, 3, n)

		v, err = retry.DoValue(t.Context(), retry.Backoff{MaxAttempts: 2}, func(context.Context) (string, error) {
			return "partial", err503
		})
		require.ErrorIs(t, err, retry.ErrExhausted)
		require.ErrorIs(t, err, err503)
		require.Empty(t, v, "a failure returns the zero value, not the last partial one")
	})
}
