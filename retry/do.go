package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff configures [Do]: how a merchant's own outbound call (for example
// confirming a payment with the provider's API) is retried. It is the
// opposite direction from [Policy], which is the schedule on which a
// provider redelivers its callbacks to the merchant: a Policy is data about
// someone else's retries, a Backoff drives ours.
//
// The zero Backoff means the defaults, which suit a confirmation made while
// a provider waits for the reply: at most 4 attempts within 6 seconds, waits
// starting at 200 ms and doubling, each at most 2 s. Backoff values are safe
// for concurrent use.
type Backoff struct {
	// Initial is the wait after the first failed attempt; default 200 ms.
	Initial time.Duration
	// Max caps each wait computed from Initial and Multiplier; default 2 s.
	// A longer Retry-After from the server is still honoured, within
	// MaxElapsed and the context's deadline.
	Max time.Duration
	// Multiplier grows the wait after each failed attempt; default 2.
	// Values below 1 mean the default.
	Multiplier float64
	// Jitter is the share of each wait that is randomised, in (0, 1]:
	// a wait d becomes a uniformly random duration in [d*(1-Jitter), d],
	// so that many clients failing together do not retry together. Zero
	// or less means the default, 0.5; values above 1 mean 1.
	Jitter float64
	// MaxAttempts bounds the calls to fn, the first included; default 4.
	MaxAttempts int
	// MaxElapsed bounds the time from the first call until a retry would
	// start; default 6 s. Do never starts a wait that would end past it.
	MaxElapsed time.Duration
}

// Defaults for a Backoff's zero fields.
const (
	DefaultInitial     = 200 * time.Millisecond
	DefaultMax         = 2 * time.Second
	DefaultMultiplier  = 2.0
	DefaultJitter      = 0.5
	DefaultMaxAttempts = 4
	DefaultMaxElapsed  = 6 * time.Second
)

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultMax
	}
	if b.Multiplier < 1 {
		b.Multiplier = DefaultMultiplier
	}
	if b.Jitter <= 0 {
		b.Jitter = DefaultJitter
	}
	b.Jitter = min(b.Jitter, 1)
	if b.MaxAttempts <= 0 {
		b.MaxAttempts = DefaultMaxAttempts
	}
	if b.MaxElapsed <= 0 {
		b.MaxElapsed = DefaultMaxElapsed
	}
	return b
}

// Wait returns the wait, before jitter, after failed attempt n (1-based):
// Initial * Multiplier^(n-1), at most Max. Zero fields mean the defaults.
func (b Backoff) Wait(n int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 1; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	return time.Duration(min(d, float64(b.Max)))
}

// ErrExhausted is matched by the error Do returns when it gave up on a
// retryable error because MaxAttempts or MaxElapsed ran out.
var ErrExhausted = errors.New("retry: attempts or time exhausted")

// Error is the error Do returns when fn never succeeded. It wraps both the
// last error fn returned (Last) and why Do stopped (Stop), so that
// errors.Is and errors.As see through to either: an *HTTPError from the
// server, context.DeadlineExceeded when the context's deadline left no
// room for another attempt, ErrExhausted.
type Error struct {
	// Attempts is the number of calls made to fn.
	Attempts int
	// Last is the last error fn returned.
	Last error
	// Stop is why Do stopped retrying: nil when Last is not retryable,
	// ErrExhausted, the context's error, or context.DeadlineExceeded
	// when the next wait would have ended past the context's deadline.
	Stop error
}

func (e *Error) Error() string {
	if e.Stop == nil {
		return fmt.Sprintf("retry: attempt %d failed, not retryable: %v", e.Attempts, e.Last)
	}
	return fmt.Sprintf("retry: gave up after %d attempts (%v): %v", e.Attempts, e.Stop, e.Last)
}

// Unwrap returns Last and Stop.
func (e *Error) Unwrap() []error {
	if e.Stop == nil {
		return []error{e.Last}
	}
	return []error{e.Last, e.Stop}
}

// Do calls fn until it returns nil, its error is not retryable (see
// [Retryable]), or b's attempts or time run out, waiting between attempts
// with exponential backoff and jitter. A server's Retry-After (carried by
// an *HTTPError) lengthens a wait, never shortens it.
//
// Do honours ctx: it passes ctx to fn, returns as soon as ctx is done, and
// never starts a wait that would end past ctx's deadline or b.MaxElapsed;
// it returns at once instead, so that the caller still has time to answer.
//
// Do returns nil or an *Error wrapping fn's last error. Do is safe for
// concurrent use; it sleeps on the real clock (or testing/synctest's
// fake one).
func Do(ctx context.Context, b Backoff, fn func(ctx context.Context) error) error {
	b = b.withDefaults()
	start := time.Now()
	var last error
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			if last == nil {
				last = err
			}
			return &Error{Attempts: n - 1, Last: last, Stop: context.Cause(ctx)}
		}
		last = fn(ctx)
		if last == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return &Error{Attempts: n, Last: last, Stop: context.Cause(ctx)}
		}
		if !Retryable(last) {
			return &Error{Attempts: n, Last: last}
		}
		if n >= b.MaxAttempts {
			return &Error{Attempts: n, Last: last, Stop: ErrExhausted}
		}
		wait := jitter(b.Wait(n), b.Jitter)
		var he *HTTPError
		if errors.As(last, &he) && he.RetryAfter > wait {
			wait = he.RetryAfter
		}
		now := time.Now()
		if now.Add(wait).Sub(start) > b.MaxElapsed {
			return &Error{Attempts: n, Last: last, Stop: ErrExhausted}
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return &Error{Attempts: n, Last: last, Stop: context.DeadlineExceeded}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Attempts: n, Last: last, Stop: context.Cause(ctx)}
		case <-t.C:
		}
	}
}

// DoValue is Do for a function that returns a value with its error: the
// value of the call that succeeded, or T's zero value and Do's error.
func DoValue[T any](ctx context.Context, b Backoff, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := Do(ctx, b, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func jitter(d time.Duration, share float64) time.Duration {
	if d <= 0 {
		return d
	}
	return d - time.Duration(share*rand.Float64()*float64(d))
}

// HTTPError is a reply with a status that is not 2xx. Retryable reports
// whether Do retries it: 5xx and 429 are retried, other statuses are not.
type HTTPError struct {
	// Status is the reply's status code.
	Status int
	// RetryAfter is the reply's Retry-After, zero when absent or invalid.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	s := "retry: HTTP " + strconv.Itoa(e.Status)
	if t := http.StatusText(e.Status); t != "" {
		s += " " + t
	}
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	return s
}

// Retryable reports whether the status is worth retrying: 429 or 5xx.
func (e *HTTPError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 && e.Status <= 599
}

// CheckResponse returns nil for a 2xx reply and an *HTTPError otherwise,
// with RetryAfter read from the Retry-After header (seconds or an HTTP
// date). It neither reads nor closes the body.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return &HTTPError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
}

func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > 1<<31 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Retryable reports whether Do retries err: an *HTTPError whose Retryable
// says so, a network error (refused or reset connection, timeout, DNS
// failure the resolver calls temporary), or a connection closed before the
// reply was complete (io.EOF, io.ErrUnexpectedEOF). Everything else,
// context errors included, is final.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
