// Package ixopay receives IXOPAY (Transaction API v3) callbacks: signed
// transaction results, acknowledged with HTTP 200 and the body "OK".
//
// IXOPAY posts a JSON [Result] (result, uuid, transactionType, amount, ...)
// signed with an HMAC-SHA512 over the request's method, body hash,
// Content-Type, date and request target, in X-Signature
// ([verify.HMAC]). It reads a delivery as successful only when the reply
// is status 200 with the body exactly "OK"; anything else is retried after
// 1 min, 5 min, 15 min, 1 h, 2 h, 3 h, 12 h, then daily for 7 days
// ([retry.IXOPAY]).
//
//	h, err := ixopay.New(ixopay.Config{
//		Secrets: []string{os.Getenv("IXOPAY_SHARED_SECRET")},
//	}, func(ctx context.Context, ev *ixopay.Event) error {
//		if ev.Payload.Result == ixopay.ResultOK && ev.Payload.TransactionType == ixopay.Debit {
//			return orders.MarkPaid(ctx, ev.Payload.MerchantTransactionID, ev.Payload.Amount)
//		}
//		return nil
//	})
//	...
//	mux.Handle("POST /callbacks/ixopay", h) // any query string: it is signed
//
// # Freshness and replays
//
// The signed date must be at most MaxAge old and at most MaxSkew in the
// future. IXOPAY does not document whether a retry days later is signed
// afresh, so the default MaxAge ([verify.DefaultHMACMaxAge]) outlasts its
// whole retry horizon: a genuine retry is never refused as stale. Within
// that age a captured request could be replayed, so the dedup TTL is at
// least MaxAge + MaxSkew (New enforces it): any replay is either recognised
// as a duplicate (and not run again) or refused as stale.
//
// The dedup key is uuid + transactionType + result: a PENDING then an OK
// for one transaction, or a chargeback after a debit, are distinct events.
package ixopay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/verify"
)

// Provider is the provider's name in events, reports and dedup keys.
const Provider = "ixopay"

// MaxTimeout is IXOPAY's wait for a first delivery. Config.Timeout must be
// below it, so that a slow merchant function is answered 503 before
// IXOPAY gives up on the connection.
const MaxTimeout = 10 * time.Second

// Ack is IXOPAY's acknowledgement: 200, text/plain, the body exactly "OK"
// with no newline.
var Ack = callback.Ack{Status: 200, ContentType: "text/plain", Body: "OK"}

// Event is a verified, decoded IXOPAY callback.
type Event = callback.Event[Result]

// Func is the merchant's function; see callback.Func.
type Func = callback.Func[Result]

// Handler is the http.Handler New returns.
type Handler = callback.Handler[Result]

// maxUUID bounds the uuid's length; IXOPAY's are 20 hex digits.
const maxUUID = 128

// ErrIdentity is matched by the decoding error for a callback without a
// usable uuid, transactionType or result; the handler answers it with 400.
var ErrIdentity = errors.New("ixopay: missing or invalid uuid, transactionType or result")

// Config configures an IXOPAY handler. Its zero fields mean the defaults;
// Secrets is required.
type Config struct {
	// Secrets are the shared secrets; a callback signed with any of them
	// is accepted (list old and new during a rotation). Required, each
	// non-empty.
	Secrets []string

	// MaxAge is how old the signed date may be; default
	// verify.DefaultHMACMaxAge() (IXOPAY's retry horizon plus two days).
	// Shorten it only if IXOPAY re-signs your retries.
	MaxAge time.Duration
	// MaxSkew is how far in the future the signed date may be; default
	// verify.DefaultHMACMaxSkew (5 minutes).
	MaxSkew time.Duration

	// Store remembers processed callbacks. Default: a new in-memory store
	// on the clock Now.
	Store callback.Store
	// TTL is how long a processed callback is remembered. It must exceed
	// MaxAge + MaxSkew, so that a replay is a duplicate until it is stale;
	// default MaxAge + MaxSkew + 1 hour.
	TTL time.Duration
	// Timeout is the processing deadline; default callback.DefaultTimeout
	// (8 s). It must be below MaxTimeout.
	Timeout time.Duration

	// MaxBodyBytes, Logger and Observe are as in callback.Config.
	MaxBodyBytes int64
	Logger       *slog.Logger
	Observe      func(ctx context.Context, rep callback.Report)

	// Now is the clock of the freshness check and of the default Store;
	// nil means time.Now. Tests inject a fake one.
	Now func() time.Time
}

// New returns the http.Handler for IXOPAY's callbacks: POST only; the
// signature and date checked on the raw body before it is decoded (401
// otherwise, and fn is not called); a body without uuid, transactionType
// or result answered 400; then fn once per distinct callback and the reply
// 200 "OK" once it has returned nil, or for a callback already processed.
// Every other reply is another status with another body, which IXOPAY
// retries.
//
// New returns an error matching verify.ErrConfig for missing or empty
// Secrets or a negative MaxAge or MaxSkew, and an error for a TTL not above
// MaxAge + MaxSkew, a Timeout not below MaxTimeout, or a nil fn.
func New(cfg Config, fn Func) (*Handler, error) {
	v, err := verify.NewHMAC(verify.HMACConfig{
		Secrets: cfg.Secrets,
		MaxAge:  cfg.MaxAge,
		MaxSkew: cfg.MaxSkew,
		Now:     cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("ixopay: %w", err)
	}
	window := v.MaxAge() + v.MaxSkew()
	switch {
	case cfg.TTL == 0:
		cfg.TTL = window + time.Hour
	case cfg.TTL <= window:
		return nil, fmt.Errorf("ixopay: TTL %v must exceed MaxAge + MaxSkew (%v), or a replay after the TTL would be processed again", cfg.TTL, window)
	}
	if cfg.Timeout >= MaxTimeout {
		return nil, fmt.Errorf("ixopay: Timeout %v must be below IXOPAY's %v wait", cfg.Timeout, MaxTimeout)
	}
	if cfg.Store == nil {
		cfg.Store = callback.NewMemoryStore(callback.MemoryConfig{Now: cfg.Now})
	}
	return callback.New(callback.Config[Result]{
		Provider:     Provider,
		Verifier:     v,
		Identify:     identify,
		Store:        cfg.Store,
		TTL:          cfg.TTL,
		Timeout:      cfg.Timeout,
		Ack:          Ack,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       cfg.Logger,
		Observe:      cfg.Observe,
	}, fn)
}

func identify(r *Result) (name, key string, err error) {
	switch {
	case r.UUID == "" || r.TransactionType == "" || r.Result == "":
		return "", "", ErrIdentity
	case len(r.UUID) > maxUUID || len(r.TransactionType) > maxUUID || len(r.Result) > maxUUID:
		return "", "", fmt.Errorf("%w: too long", ErrIdentity)
	}
	for _, s := range []string{r.UUID, string(r.TransactionType), string(r.Result)} {
		for _, c := range []byte(s) {
			if c < 0x21 || c > 0x7e || c == ':' {
				return "", "", fmt.Errorf("%w: %q contains a space, ':' or a non-printable byte", ErrIdentity, s)
			}
		}
	}
	return r.Name(), r.Key(), nil
}
