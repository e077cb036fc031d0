// Package avarda receives Avarda Checkout (2.0 and 3.0) purchase-completed
// callbacks.
//
// Avarda posts only a purchase id, {"purchaseId":"489ea341e23941089e6d0378c708512a"},
// and only when a purchase completes successfully: there is no other event,
// no status and no amount. Checkout 2.0 subscribes in the browser
// (purchaseCompletedCallbackUrl), Checkout 3.0 in the backend initialize call
// (checkoutSetup.completedNotificationUrl). Nothing is signed: on request
// Avarda adds a static Authorization header whose value the merchant chooses
// (HTTP Basic, or a long-lived JWT as "Bearer <token>"), and this package
// requires one. Because anyone who learns the URL and that header can forge
// the body, confirm the purchase with Avarda's API before acting on it
// (GET /api/partner/payments/{purchaseId}; set Config.Confirm).
//
//	auth, err := verify.NewAuthorization(verify.AuthorizationConfig{
//		Bearer: []string{os.Getenv("AVARDA_CALLBACK_TOKEN")},
//	})
//	...
//	h, err := avarda.New(avarda.Config{Verifier: auth}, func(ctx context.Context, ev *avarda.Event) error {
//		return orders.MarkPaid(ctx, ev.Payload.PurchaseID)
//	})
//	...
//	mux.Handle("POST /callbacks/avarda", h)
//
// Avarda accepts any 2xx; otherwise Checkout 3.0 retries every 10 minutes,
// 20 times (retry.Avarda). The dedup key is the purchase id: one purchase
// completes once.
package avarda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// Provider is the provider's name in events, reports and dedup keys.
const Provider = "avarda"

// EventCompleted is the only event Avarda sends: a purchase completed.
const EventCompleted = "purchase.completed"

// Notification is the body Avarda posts.
type Notification struct {
	// PurchaseID is Avarda's purchase id. Required.
	PurchaseID string `json:"purchaseId"`
}

// Event is a verified, decoded Avarda callback.
type Event = callback.Event[Notification]

// Func is the merchant's function; see callback.Func.
type Func = callback.Func[Notification]

// DefaultTTL is how long a processed purchase is remembered: twice the
// horizon of Checkout 3.0's retries (retry.Avarda), leaving room for clock
// skew and for Checkout 2.0, whose retries are not documented.
var DefaultTTL = 2 * retry.Avarda.Horizon()

// maxPurchaseID bounds the id's length; Avarda's ids are 32 hex digits.
const maxPurchaseID = 256

// ErrPurchaseID is matched by the decoding error for a missing, empty or
// unusable purchaseId; the handler answers it with 400.
var ErrPurchaseID = errors.New("avarda: missing or invalid purchaseId")

// Config configures an Avarda handler. Zero fields mean the defaults.
type Config struct {
	// Verifier checks the static Authorization header Avarda sends
	// (verify.NewAuthorization). Required: a nil Verifier is an error.
	Verifier verify.Verifier

	// Confirm, if set, asks Avarda's API whether the purchase is
	// completed before the merchant's function runs; return an error
	// wrapping callback.ErrUnconfirmed when it is not (yet): the delivery
	// then gets 503 and Avarda retries.
	Confirm func(ctx context.Context, ev *Event) error

	// Store, TTL (default DefaultTTL), Timeout, MaxBodyBytes, Logger and
	// Observe are as in callback.Config.
	Store        callback.Store
	TTL          time.Duration
	Timeout      time.Duration
	MaxBodyBytes int64
	Logger       *slog.Logger
	Observe      func(ctx context.Context, rep callback.Report)
}

// New returns the http.Handler for Avarda's callbacks: POST only, the
// Authorization header checked before the body is decoded, a missing or
// empty purchaseId answered 400, and 200 "OK" once fn has returned nil
// (or for a purchase already processed). The body is decoded as JSON
// whatever its Content-Type, which Avarda does not document.
func New(cfg Config, fn Func) (*callback.Handler[Notification], error) {
	if cfg.Verifier == nil {
		return nil, errors.New("avarda: Config.Verifier is required: ask Avarda to send an Authorization header")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	return callback.New(callback.Config[Notification]{
		Provider:     Provider,
		Verifier:     cfg.Verifier,
		Identify:     identify,
		Confirm:      cfg.Confirm,
		Store:        cfg.Store,
		TTL:          cfg.TTL,
		Timeout:      cfg.Timeout,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       cfg.Logger,
		Observe:      cfg.Observe,
	}, fn)
}

func identify(n *Notification) (name, key string, err error) {
	id := n.PurchaseID
	switch {
	case id == "":
		return "", "", ErrPurchaseID
	case len(id) > maxPurchaseID:
		return "", "", fmt.Errorf("%w: %d bytes long", ErrPurchaseID, len(id))
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e {
			return "", "", fmt.Errorf("%w: contains a space or non-printable byte", ErrPurchaseID)
		}
	}
	return EventCompleted, id, nil
}
