package chip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// purchasesPath is where CHIP answers a purchase: {base}/api/v1/purchases/{id}/.
const purchasesPath = "/api/v1/purchases/"

// maxPurchaseResponse bounds the purchase answer.
const maxPurchaseResponse = 1 << 20

// ErrPurchaseNotFound is matched by the error for a purchase CHIP's API
// does not know (404).
var ErrPurchaseNotFound = errors.New("chip: no such purchase")

// ConfirmerConfig configures NewConfirmer. Zero fields mean the defaults.
type ConfirmerConfig struct {
	// APIKey is the CHIP API key (secret key), sent as a Bearer token.
	// Required.
	APIKey string

	// BaseURL is the API's base; default DefaultBaseURL.
	BaseURL string

	// Client makes the calls; default a client with a 10-second timeout.
	Client *http.Client

	// Backoff retries transient failures (network errors, 5xx, 429)
	// within the callback's deadline; the zero value is retry's default.
	Backoff retry.Backoff

	// Agrees, if set, replaces StatusAgrees: it reports whether the
	// purchase the API answered agrees with a callback of event type e.
	Agrees func(e EventType, p *Purchase) bool
}

// Confirmer asks CHIP's API about the purchase a callback is about, for
// merchants who double-check callbacks or reconcile missed ones (CHIP
// never redelivers after its 8th attempt). Plug it into a handler with
// Config{Confirm: c.Confirm}. The signature already proves CHIP sent a
// callback; the confirmation adds that the purchase is still in the state
// the callback reports, or a later one. It is safe for concurrent use.
type Confirmer struct {
	cfg      ConfirmerConfig
	endpoint string // base + purchasesPath
}

// NewConfirmer returns a Confirmer. It returns an error matching
// verify.ErrConfig for an empty APIKey or a BaseURL that is not an
// absolute http(s) URL.
func NewConfirmer(cfg ConfirmerConfig) (*Confirmer, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("chip: %w: ConfirmerConfig.APIKey is required", verify.ErrConfig)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("chip: %w: ConfirmerConfig.BaseURL %q is not an http(s) URL", verify.ErrConfig, cfg.BaseURL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Agrees == nil {
		cfg.Agrees = func(e EventType, p *Purchase) bool { return StatusAgrees(e, p.Status) }
	}
	return &Confirmer{cfg: cfg, endpoint: strings.TrimRight(cfg.BaseURL, "/") + purchasesPath}, nil
}

// paidOrLater are the statuses of a purchase that has been paid.
var paidOrLater = []Status{StatusPaid, StatusCleared, StatusSettled, StatusChargeback, StatusPendingRefund, StatusRefunded}

// agreeing lists, for the events that report a state of the money, the
// statuses that agree with them: the state itself and those that can
// follow it.
var agreeing = map[EventType][]Status{
	PurchasePaid:           paidOrLater,
	PurchaseCaptured:       paidOrLater,
	PurchaseSettled:        {StatusSettled, StatusChargeback, StatusPendingRefund, StatusRefunded},
	PurchasePendingRefund:  {StatusPendingRefund, StatusRefunded},
	PurchaseCancelled:      {StatusCancelled},
	PurchaseReleased:       {StatusReleased},
	PurchasePendingRelease: {StatusPendingRelease, StatusReleased},
	PurchaseHold:           append([]Status{StatusHold, StatusPendingCapture, StatusPendingRelease, StatusReleased}, paidOrLater...),
	PurchasePendingCapture: append([]Status{StatusPendingCapture, StatusHold}, paidOrLater...),
}

// StatusAgrees reports whether a purchase in status s agrees with a
// callback of event type e, the default rule of a Confirmer:
//
//	purchase.paid, purchase.captured  paid, cleared, settled, chargeback, pending_refund, refunded
//	purchase.settled                  settled, chargeback, pending_refund, refunded
//	purchase.pending_refund           pending_refund, refunded
//	purchase.cancelled                cancelled
//	purchase.released                 released
//	purchase.pending_release          pending_release, released
//	purchase.hold                     hold, pending_capture, pending_release, released, or paid and later
//	purchase.pending_capture          pending_capture, hold, or paid and later
//	any other event                   any status
//
// Other events (purchase.created, purchase.viewed, purchase.payment_failure,
// the pending_execute and pending_charge steps, events CHIP adds later)
// report steps after which the purchase may move in either direction: the
// API confirms that the purchase exists, not its status.
func StatusAgrees(e EventType, s Status) bool {
	want, ok := agreeing[e]
	return !ok || slices.Contains(want, s)
}

// Confirm returns nil when CHIP's API agrees with the callback: for a
// purchase.* event the purchase exists and its status agrees (see
// ConfirmerConfig.Agrees, StatusAgrees); for payment.refunded the
// refunded purchase (related_to) exists. It returns an error wrapping
// callback.ErrUnconfirmed when the API disagrees or does not know the
// purchase (the handler answers 503 and CHIP retries), and another error
// when the API could not be asked (after retries within ctx).
//
// Events about no purchase (payout.*, billing_template_client.*) cannot
// be confirmed through the purchases API: Confirm returns nil for them
// without a call, leaving the signature as their proof. Confirm has the
// signature of Config.Confirm.
func (c *Confirmer) Confirm(ctx context.Context, ev *Event) error {
	cb := &ev.Payload
	id := ""
	switch {
	case cb.Purchase != nil:
		id = cb.Purchase.ID
	case cb.Payment != nil:
		id = cb.Payment.RelatedTo.ID
		if id == "" {
			return fmt.Errorf("chip: %s %s names no related purchase: %w", cb.EventType, cb.ID, callback.ErrUnconfirmed)
		}
	default:
		return nil
	}
	p, err := c.Purchase(ctx, id)
	if errors.Is(err, ErrPurchaseNotFound) {
		return fmt.Errorf("%w: %w", err, callback.ErrUnconfirmed)
	}
	if err != nil {
		return err
	}
	if p.ID != id {
		return fmt.Errorf("chip: asked for purchase %s, the API answered %q: %w", id, p.ID, callback.ErrUnconfirmed)
	}
	if cb.Purchase != nil && !c.cfg.Agrees(cb.EventType, p) {
		return fmt.Errorf("chip: %s for purchase %s, but the API says it is %q: %w", cb.EventType, id, p.Status, callback.ErrUnconfirmed)
	}
	return nil
}

// Purchase returns the purchase as CHIP's API answers it now, from
// GET {BaseURL}/api/v1/purchases/{id}/, retrying transient failures with
// the Backoff within ctx. It returns an error matching
// ErrPurchaseNotFound for a 404, a *retry.HTTPError (through errors.As)
// for another failed reply (401: check the API key), or the error of the
// last attempt.
func (c *Confirmer) Purchase(ctx context.Context, id string) (*Purchase, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("chip: invalid purchase id %q", id)
	}
	return retry.DoValue(ctx, c.cfg.Backoff, func(ctx context.Context) (*Purchase, error) {
		return c.fetch(ctx, id)
	})
}

func (c *Confirmer) fetch(ctx context.Context, id string) (*Purchase, error) {
	endpoint := c.endpoint + url.PathEscape(id) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("chip: purchase request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chip: GET %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPurchaseResponse+1))
	if err != nil {
		return nil, fmt.Errorf("chip: GET %s: reading the answer: %w", endpoint, err)
	}
	if herr := retry.CheckResponse(resp); herr != nil {
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w %s: %w", ErrPurchaseNotFound, id, herr)
		}
		return nil, fmt.Errorf("chip: GET %s: %w", endpoint, herr)
	}
	if len(body) > maxPurchaseResponse {
		return nil, fmt.Errorf("chip: GET %s: answer over %d bytes", endpoint, maxPurchaseResponse)
	}
	p := new(Purchase)
	if err := json.Unmarshal(body, p); err != nil {
		return nil, fmt.Errorf("chip: GET %s: decoding the purchase: %w", endpoint, err)
	}
	return p, nil
}
