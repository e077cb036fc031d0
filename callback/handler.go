// Package callback turns a provider's verifier, payload type and dedup key
// into an http.Handler that answers exactly as the provider expects.
//
// A Handler runs every delivery through the same pipeline: method check,
// body read bounded by http.MaxBytesReader, verification of the raw bytes,
// lenient decoding into the payload type, a dedup claim, the optional
// confirmation with the provider's API, the merchant's function under a
// deadline, then commit (success) or release (failure), and the reply from
// one table ([WriteReply]):
//
//	| what happened                                  | reply                 |
//	|------------------------------------------------|-----------------------|
//	| processed now                                  | the provider's ack    |
//	| duplicate of one already processed             | the same ack          |
//	| duplicate while the first is still in flight   | 409                   |
//	| wrong method                                   | 405 with Allow        |
//	| body over the limit (default 1 MiB)            | 413                   |
//	| missing or wrong credentials or signature      | 401                   |
//	| authenticated but not decodable                | 400                   |
//	| not confirmed by the provider's API            | 503                   |
//	| merchant's function failed or panicked         | 500, claim released   |
//	| merchant's function ran past the deadline      | 503, claim released   |
//	| dedup store (or key source) unavailable        | 503                   |
//
// Most merchants use a provider package (callback/avarda, callback/chip,
// callback/ixopay, callback/secpaid) that fills the Config in; this package
// is the machinery they share, usable directly for another provider:
//
//	h, err := callback.New(callback.Config[Order]{
//		Provider: "acme",
//		Verifier: v,
//		Identify: func(o *Order) (name, key string, err error) { return "paid", o.ID, nil },
//		TTL:      48 * time.Hour,
//	}, func(ctx context.Context, ev *callback.Event[Order]) error {
//		return markPaid(ctx, ev.Payload.ID)
//	})
//	mux.Handle("POST /callbacks/acme", h)
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/paycallback/paycallback/verify"
)

// Defaults for a Config's zero fields.
const (
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTimeout is the processing deadline: below IXOPAY's 10 s wait
	// for a first delivery, so the 503 reaches the provider before it
	// gives up on the connection.
	DefaultTimeout = 8 * time.Second
)

// ErrUnconfirmed is what a Config.Confirm returns (possibly wrapped) when
// the provider's API does not confirm the callback, or not yet. The
// delivery is answered 503 so that the provider tries again, and the
// merchant's function is not called.
var ErrUnconfirmed = errors.New("callback: not confirmed by the provider")

// ErrPanic is matched by the error reported when the merchant's function
// panicked; the panic value and stack are in the error's text.
var ErrPanic = errors.New("callback: merchant function panicked")

// An Event is one authenticated, decoded delivery, as the merchant's
// function receives it.
type Event[T any] struct {
	// Provider names the provider, for example "chip".
	Provider string
	// Name is the event's name, for example "purchase.paid".
	Name string
	// Key is the dedup key in readable form, made of the provider's own
	// ids, for example "3f4c...:purchase.paid:1719826800".
	Key string
	// Payload is the decoded body.
	Payload T
	// Body is the raw body exactly as received and verified. It must not
	// be modified.
	Body []byte
	// Request is a shallow copy of the incoming request whose Body reads
	// Body again.
	Request *http.Request
}

// Func is the merchant's function. It runs once per distinct event
// (exactly once per successful processing): returning nil means the work is
// done (or durably recorded), and only then is the provider acknowledged;
// returning an error releases the event so that the provider's retry runs
// it again. ctx derives from the request's context and carries the
// processing deadline: honour it.
type Func[T any] func(ctx context.Context, ev *Event[T]) error

// Config configures a Handler. Its zero fields mean the documented
// defaults; New refuses what is unsafe.
type Config[T any] struct {
	// Provider names the provider in events, reports and dedup keys.
	// Required.
	Provider string

	// Methods are the accepted methods; default POST. Others get 405.
	Methods []string

	// MaxBodyBytes bounds the body; default 1 MiB. Larger bodies get 413.
	MaxBodyBytes int64

	// Verifier authenticates the raw request before anything is decoded.
	// Required unless AllowUnauthenticated is set: a nil Verifier is a
	// construction error, never "accept everything".
	Verifier verify.Verifier

	// AllowUnauthenticated must be set, on purpose, for providers that
	// sign nothing (SecPaid). Use Confirm with it.
	AllowUnauthenticated bool

	// Decode decodes the verified body into p. The default is lenient
	// JSON: unknown fields are ignored. Errors get 400.
	Decode func(r *http.Request, body []byte, p *T) error

	// Identify returns the event's name and its dedup key, made of the
	// provider's own ids. Required. An error (for example a missing id)
	// gets 400.
	Identify func(p *T) (name, key string, err error)

	// Confirm, if set, runs after the claim is won and before the
	// merchant's function, under the same deadline: it asks the provider's
	// API whether the callback is true. An error matching ErrUnconfirmed
	// means "no, or not yet" (503, function not called); any other error
	// means the API could not be asked (503). It may fill in the payload
	// with what the API said.
	Confirm func(ctx context.Context, ev *Event[T]) error

	// Store remembers processed events. Default: a new in-memory store,
	// for this handler alone. Share one Store (for example a SQLStore)
	// between handlers that must deduplicate together.
	Store Store

	// TTL is how long a processed event is remembered: at least the
	// provider's retry horizon (see package retry). Required.
	TTL time.Duration

	// Timeout is the processing deadline for Confirm plus the merchant's
	// function; default DefaultTimeout. When it passes the provider gets
	// 503 at once; the claim is released (or committed, should the
	// function still succeed) when the function returns.
	Timeout time.Duration

	// Lease bounds how long a claim holder that died (crashed process)
	// blocks its event; default Timeout + 1 minute. It must exceed Timeout.
	Lease time.Duration

	// Ack is the provider's acknowledgement; zero means 200 "OK".
	Ack Ack

	// Respond, if set, writes every reply instead of the table, for
	// redirect-style callbacks. ev is nil when the delivery failed before
	// it was decoded. It may call WriteReply for the outcomes it does not
	// answer itself.
	Respond func(w http.ResponseWriter, r *http.Request, o Outcome, ev *Event[T])

	// Logger, if set, receives one record per delivery: Info for
	// processed and duplicates, Warn for rejections, Error for failures.
	Logger *slog.Logger

	// Observe, if set, is called once per delivery with what happened and
	// why. It must be safe for concurrent use.
	Observe func(ctx context.Context, rep Report)
}

// Report says what happened to one delivery, for logs and metrics. What
// the sender sees stays generic; the Report is precise.
type Report struct {
	Provider string
	Outcome  Outcome
	Status   int
	Event    string // the event's name, once decoded
	Key      string // the dedup key, once decoded
	Err      error  // the cause, for anything but Processed and Duplicate
	Duration time.Duration
}

// Handler is the http.Handler for one provider's callbacks. It is safe for
// concurrent use.
type Handler[T any] struct {
	cfg Config[T]
	fn  Func[T]
}

// New returns a Handler running fn for each new, authenticated event. It
// returns an error for a missing Provider, Identify or TTL, a nil fn, a nil
// Verifier without AllowUnauthenticated, or a Lease not above Timeout.
func New[T any](cfg Config[T], fn Func[T]) (*Handler[T], error) {
	switch {
	case cfg.Provider == "":
		return nil, errors.New("callback: Config.Provider is required")
	case fn == nil:
		return nil, errors.New("callback: the merchant's function is nil")
	case cfg.Identify == nil:
		return nil, errors.New("callback: Config.Identify is required")
	case cfg.Verifier == nil && !cfg.AllowUnauthenticated:
		return nil, errors.New("callback: Config.Verifier is nil: refusing to accept unauthenticated callbacks (set AllowUnauthenticated only for providers that sign nothing)")
	case cfg.TTL <= 0:
		return nil, errors.New("callback: Config.TTL is required: at least the provider's retry horizon")
	case cfg.MaxBodyBytes < 0 || cfg.Timeout < 0 || cfg.Lease < 0:
		return nil, errors.New("callback: negative MaxBodyBytes, Timeout or Lease")
	}
	if len(cfg.Methods) == 0 {
		cfg.Methods = []string{http.MethodPost}
	}
	cfg.Methods = slices.Clone(cfg.Methods)
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Lease == 0 {
		cfg.Lease = cfg.Timeout + time.Minute
	}
	if cfg.Lease <= cfg.Timeout {
		return nil, fmt.Errorf("callback: Lease %v must exceed Timeout %v", cfg.Lease, cfg.Timeout)
	}
	if cfg.Decode == nil {
		cfg.Decode = decodeJSON[T]
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore(MemoryConfig{})
	}
	return &Handler[T]{cfg: cfg, fn: fn}, nil
}

func decodeJSON[T any](_ *http.Request, body []byte, p *T) error {
	return json.Unmarshal(body, p)
}

// Store returns the handler's dedup store.
func (h *Handler[T]) Store() Store { return h.cfg.Store }

// ServeHTTP runs the pipeline for one delivery and writes its reply.
func (h *Handler[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o, ev, err := h.serve(w, r)
	h.reply(w, r, o, ev)
	h.report(r.Context(), o, ev, err, start)
}

// serve runs everything up to the reply. For the Timeout outcome it has
// already replied; see process.
func (h *Handler[T]) serve(w http.ResponseWriter, r *http.Request) (Outcome, *Event[T], error) {
	if !slices.Contains(h.cfg.Methods, r.Method) {
		return MethodNotAllowed, nil, fmt.Errorf("method %s not allowed", r.Method)
	}
	body, err := h.readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return TooLarge, nil, err
		}
		return BadRequest, nil, fmt.Errorf("reading body: %w", err)
	}
	ctx := r.Context()
	if h.cfg.Verifier != nil {
		if err := h.cfg.Verifier.Verify(ctx, verify.FromHTTP(r, body)); err != nil {
			if errors.Is(err, verify.ErrUnavailable) {
				return Unavailable, nil, err
			}
			return Unauthorized, nil, err
		}
	}
	ev := &Event[T]{Provider: h.cfg.Provider, Body: body}
	if err := h.cfg.Decode(r, body, &ev.Payload); err != nil {
		return BadRequest, nil, fmt.Errorf("decoding payload: %w", err)
	}
	ev.Name, ev.Key, err = h.cfg.Identify(&ev.Payload)
	if err != nil {
		return BadRequest, nil, fmt.Errorf("identifying payload: %w", err)
	}
	if ev.Key == "" {
		return BadRequest, nil, errors.New("identifying payload: empty dedup key")
	}
	rc := new(http.Request)
	*rc = *r
	rc.Body = io.NopCloser(bytes.NewReader(body))
	ev.Request = rc
	return h.process(w, r, ev)
}

func (h *Handler[T]) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	max := h.cfg.MaxBodyBytes
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	return buf.Bytes(), err
}

// storeKey namespaces the dedup key by provider, so that one shared store
// can serve every provider.
func (h *Handler[T]) storeKey(key string) string { return h.cfg.Provider + ":" + key }

type result struct {
	err       error
	confirmed bool // false when Confirm refused or failed: fn never ran
}

// process claims the event, runs Confirm and the merchant's function under
// the deadline, and commits or releases.
func (h *Handler[T]) process(w http.ResponseWriter, r *http.Request, ev *Event[T]) (Outcome, *Event[T], error) {
	key := h.storeKey(ev.Key)
	state, token, err := h.cfg.Store.Claim(r.Context(), key, h.cfg.Lease)
	if err != nil {
		return Unavailable, ev, fmt.Errorf("dedup claim: %w", err)
	}
	switch state {
	case Done:
		return Duplicate, ev, nil
	case InFlight:
		return InProgress, ev, errors.New("another delivery of this event is in flight")
	case Won:
	default:
		return Unavailable, ev, fmt.Errorf("dedup claim: unexpected state %v", state)
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	done := make(chan result, 1)
	go h.run(ctx, ev, done)

	var res result
	timedOut := false
	select {
	case res = <-done:
	case <-ctx.Done():
		// Answer before the provider's own timeout, then wait for the
		// function to return before deciding commit or release: releasing
		// while it still runs would let a retry run it concurrently.
		timedOut = true
		h.reply(w, r, Timeout, ev)
		_ = http.NewResponseController(w).Flush()
		res = <-done
	}

	// The deadline may have passed: record the outcome regardless, within
	// a bounded time of its own.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer scancel()
	if res.err != nil {
		if rerr := h.cfg.Store.Release(sctx, key, token); rerr != nil {
			res.err = errors.Join(res.err, fmt.Errorf("dedup release: %w", rerr))
		}
		switch {
		case timedOut:
			return timeoutReplied, ev, fmt.Errorf("past the %v deadline: %w", h.cfg.Timeout, res.err)
		case !res.confirmed && errors.Is(res.err, ErrUnconfirmed):
			return Unconfirmed, ev, res.err
		case !res.confirmed:
			return Unavailable, ev, fmt.Errorf("confirming with the provider: %w", res.err)
		case errors.Is(res.err, context.DeadlineExceeded) && ctx.Err() != nil:
			return Timeout, ev, res.err
		}
		return Failed, ev, res.err
	}
	if err := h.cfg.Store.Commit(sctx, key, token, h.cfg.TTL); err != nil {
		// The work is done but could not be recorded: never acknowledge
		// what was not recorded. The provider retries; after the lease,
		// the retry runs the function again (at-least-once).
		err = fmt.Errorf("dedup commit after successful processing: %w", err)
		if timedOut {
			return timeoutReplied, ev, err
		}
		return Unavailable, ev, err
	}
	if timedOut {
		return timeoutReplied, ev, fmt.Errorf("function succeeded after the %v deadline; committed, a retry will get the ack", h.cfg.Timeout)
	}
	return Processed, ev, nil
}

// timeoutReplied is the Timeout outcome whose reply was already written.
const timeoutReplied Outcome = -1

func (h *Handler[T]) run(ctx context.Context, ev *Event[T], done chan<- result) {
	res := result{}
	defer func() {
		if p := recover(); p != nil {
			res.err = fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
		}
		done <- res
	}()
	if h.cfg.Confirm != nil {
		if err := h.cfg.Confirm(ctx, ev); err != nil {
			res.err = err
			return
		}
	}
	res.confirmed = true
	res.err = h.fn(ctx, ev)
}

func (h *Handler[T]) reply(w http.ResponseWriter, r *http.Request, o Outcome, ev *Event[T]) {
	if o == timeoutReplied {
		return
	}
	if h.cfg.Respond != nil {
		h.cfg.Respond(w, r, o, ev)
		return
	}
	WriteReply(w, o, h.cfg.Ack, h.cfg.Methods...)
}

func (h *Handler[T]) report(ctx context.Context, o Outcome, ev *Event[T], err error, start time.Time) {
	if h.cfg.Logger == nil && h.cfg.Observe == nil {
		return
	}
	if o == timeoutReplied {
		o = Timeout
	}
	rep := Report{Provider: h.cfg.Provider, Outcome: o, Status: Status(o, h.cfg.Ack), Err: err, Duration: time.Since(start)}
	if ev != nil {
		rep.Event, rep.Key = ev.Name, ev.Key
	}
	if h.cfg.Observe != nil {
		h.cfg.Observe(ctx, rep)
	}
	if h.cfg.Logger != nil {
		level := slog.LevelInfo
		switch o {
		case Processed, Duplicate, InProgress:
		case Failed, Timeout, Unavailable:
			level = slog.LevelError
		default:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("provider", rep.Provider), slog.String("outcome", o.String()),
			slog.Int("status", rep.Status), slog.Duration("duration", rep.Duration),
		}
		if rep.Event != "" {
			attrs = append(attrs, slog.String("event", rep.Event), slog.String("key", rep.Key))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		h.cfg.Logger.LogAttrs(ctx, level, "paycallback: callback "+o.String(), attrs...)
	}
}
