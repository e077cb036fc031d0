// Package chip receives CHIP Collect callbacks: signed snapshots of a
// Purchase (or, for payment.refunded, a Payment) with a top-level
// event_type.
//
// CHIP posts the object itself as JSON, signed in the X-Signature header:
// base64 of an RSA PKCS#1 v1.5 signature over SHA-256 of the raw body.
// Purchase success callbacks (the purchase's success_callback URL) are
// signed with the company-wide key that GET /api/v1/public_key/ returns;
// each webhook created through the Webhook API has its own key
// (Webhook.public_key). Configure every key that may sign, or fetch the
// company key with [NewKeySource]:
//
//	router := &chip.Router{}
//	router.On(chip.PurchasePaid, func(ctx context.Context, ev *chip.Event) error {
//		p := ev.Payload.Purchase
//		return orders.MarkPaid(ctx, p.Reference, p.Payment.Amount, p.Payment.Currency)
//	})
//	h, err := chip.New(chip.Config{
//		PublicKeys: []string{os.Getenv("CHIP_PUBLIC_KEY")}, // PEM, literal \n or JSON string
//	}, router.Handle)
//	...
//	mux.Handle("POST /callbacks/chip", h)
//
// The handler verifies the signature before decoding anything, so a
// forged, tampered or foreign-key callback is answered 401 and never
// reaches the merchant's function. CHIP signs no timestamp, so a captured
// callback can be replayed: deliveries are deduplicated on id +
// event_type + updated_on, remembered for [DefaultTTL] (CHIP's 8 attempts
// span 36 h 26 min, retry.CHIP). The acknowledgement is 200; anything
// else makes CHIP retry. Unknown event types are acknowledged and handed
// to [Router.Fallback], if set.
//
// Merchants' tests build signed requests from bundled fixtures with
// package callbacktest (ChipRequest, ChipFixture, ChipTestPublicKeyPEM).
package chip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// Provider names CHIP in events, reports and dedup keys.
const Provider = "chip"

// SignatureHeader is the header CHIP signs callbacks in.
const SignatureHeader = "X-Signature"

// DefaultTTL is how long a processed callback is remembered by default:
// CHIP's retry horizon (36 h 26 min after the first attempt) plus 12 hours
// for a first attempt that was itself late, and for clock differences.
var DefaultTTL = retry.CHIP.Horizon() + 12*time.Hour

// Event is one verified, decoded CHIP callback as the merchant's function
// receives it. Event.Name is the event_type, Event.Key the dedup key,
// Event.Body the raw body.
type Event = callback.Event[Callback]

// Func is the merchant's function; see callback.Func. A Router's Handle
// method is one.
type Func = callback.Func[Callback]

// Handler is the http.Handler New returns.
type Handler = callback.Handler[Callback]

// ErrID is returned (wrapped; the delivery gets 400) for a callback with
// no id: without it there is no dedup key.
var ErrID = errors.New("chip: callback has no id")

// Config configures a CHIP handler. The zero value of every field but the
// keys means the default; at least one of PublicKeys or KeySource is
// required.
type Config struct {
	// PublicKeys are the keys that may sign: the company key (for purchase
	// success callbacks) and each webhook's key, plus the next ones during
	// a rotation. Each is a PEM "PUBLIC KEY" or "RSA PUBLIC KEY", a PEM
	// with literal `\n` sequences, or the JSON string GET /public_key/
	// returns; RSA, 2048 to 4096 bits. They are parsed once, by New.
	PublicKeys []string

	// KeySource, if set, supplies keys fetched at run time, typically
	// NewKeySource's company key. It is tried after PublicKeys.
	KeySource verify.KeySource

	// Store remembers processed callbacks; default a new in-memory store.
	// Share a SQL store between instances of the merchant's service.
	Store callback.Store

	// TTL is how long a processed callback is remembered; default
	// DefaultTTL. Shorter than retry.CHIP.Horizon() lets a late retry run
	// the merchant's function twice.
	TTL time.Duration

	// Timeout bounds Confirm plus the merchant's function; default
	// callback.DefaultTimeout.
	Timeout time.Duration

	// MaxBodyBytes bounds the body; default callback.DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Confirm, if set, asks CHIP's API before the merchant's function runs
	// (GET /api/v1/purchases/{id}/); see callback.Config.Confirm. The
	// signature already proves CHIP sent the callback, so most merchants
	// leave it nil.
	Confirm func(ctx context.Context, ev *Event) error

	// Logger, if set, gets one record per delivery.
	Logger *slog.Logger

	// Observe, if set, is called once per delivery; see callback.Report.
	Observe func(ctx context.Context, rep callback.Report)
}

// New returns the handler for CHIP's callbacks, running fn once per new,
// verified event. It answers 200 for processed and duplicate events, 401
// for a missing, malformed or wrong signature, 400 for a verified body
// that does not decode or has no id, and the rest as package callback's
// table says. It returns an error matching verify.ErrConfig when no key
// is configured or a key is invalid. The handler is safe for concurrent
// use.
func New(cfg Config, fn Func) (*Handler, error) {
	v, err := verify.NewRSA(verify.RSAConfig{Header: SignatureHeader, Keys: cfg.PublicKeys, Source: cfg.KeySource})
	if err != nil {
		return nil, fmt.Errorf("chip: %w", err)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	return callback.New(callback.Config[Callback]{
		Provider:     Provider,
		Verifier:     v,
		Decode:       decode,
		Identify:     identify,
		Confirm:      cfg.Confirm,
		Store:        cfg.Store,
		TTL:          cfg.TTL,
		Timeout:      cfg.Timeout,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Ack:          callback.Ack{Status: http.StatusOK},
		Logger:       cfg.Logger,
		Observe:      cfg.Observe,
	}, fn)
}

func decode(_ *http.Request, body []byte, c *Callback) error { return c.decode(body) }

func identify(c *Callback) (name, key string, err error) {
	if c.ID == "" {
		return "", "", ErrID
	}
	return string(c.EventType), c.Key(), nil
}

// Router dispatches events to functions by event type, so that merchants
// need no switch of their own. Register routes with On before the handler
// serves; after that a Router is safe for concurrent use. The zero Router
// routes nothing: every event goes to Fallback.
type Router struct {
	// Fallback, if set, handles every event with no route, including event
	// types CHIP adds later. Nil means such events are acknowledged
	// without further action.
	Fallback Func

	routes map[EventType]Func
}

// On routes events of type t to fn. Like http.ServeMux.Handle, it panics
// if fn is nil or t already has a route: both are programming errors.
func (rt *Router) On(t EventType, fn Func) {
	if fn == nil {
		panic("chip: Router.On(" + string(t) + ") with a nil function")
	}
	if _, dup := rt.routes[t]; dup {
		panic("chip: Router.On(" + string(t) + ") registered twice")
	}
	if rt.routes == nil {
		rt.routes = make(map[EventType]Func)
	}
	rt.routes[t] = fn
}

// Handle runs the function routed for ev's event type, else Fallback, else
// nothing (nil: the event is acknowledged). It is a Func: pass
// router.Handle to New.
func (rt *Router) Handle(ctx context.Context, ev *Event) error {
	if fn, ok := rt.routes[ev.Payload.EventType]; ok {
		return fn(ctx, ev)
	}
	if rt.Fallback != nil {
		return rt.Fallback(ctx, ev)
	}
	return nil
}
