// Package secpaid receives SecPaid's payment notifications: the customer's
// browser returning to the merchant's callback_url, and the server-to-server
// Payment Endpoint. Neither is signed, so nothing either says is trusted:
// the merchant's function runs only for a payment that SecPaid's own API
// (POST /api/v2/getPayInTransactions) confirms as paid, and the amount it
// sees is the one the API confirmed.
//
//	h, err := secpaid.New(secpaid.Config{
//		UserIDs:    []string{os.Getenv("SECPAID_USER_ID")},
//		Token:      os.Getenv("SECPAID_TOKEN"), // confirmation with SecPaid's API
//		SuccessURL: "https://shop.example/order/thanks",
//		CancelURL:  "https://shop.example/cart",
//		PendingURL: "https://shop.example/order/processing",
//	}, func(ctx context.Context, ev *secpaid.Event) error {
//		return orders.MarkPaid(ctx, ev.Payload.PayID, ev.Payload.Amount)
//	})
//	...
//	mux.Handle("GET /callbacks/secpaid/return", h.Return)
//	mux.Handle("POST /callbacks/secpaid", h.Endpoint)
//
// Both handlers share one dedup Store and one key per payment and status
// (pay_id + ":success"), so the merchant's function runs once per paid
// payment, whichever message arrives first, however often either is
// repeated, and concurrently.
//
// Without a Token New refuses to build: there would be nothing to trust.
// A merchant who confirms payments some other way sets
// InsecureSkipConfirm; the Payment Endpoint then hands reported payments
// to the function unconfirmed (Payment.Confirmed false) and the browser
// return never leads to the success page.
package secpaid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
)

// Provider is the provider's name in events, reports and dedup keys.
const Provider = "secpaid"

// DefaultTTL is how long a processed payment is remembered. SecPaid does
// not document redeliveries of the Payment Endpoint, and a browser return
// URL can be reloaded or replayed at any time, after which SecPaid's API
// still confirms the payment: remember payments long, and make the
// merchant's function idempotent on PayID beyond the TTL.
const DefaultTTL = 90 * 24 * time.Hour

// Event is a decoded SecPaid notification, as the merchant's function
// receives it. Its Name is the payment's status ("success") and its Key
// "<pay_id>:<status>".
type Event = callback.Event[Payment]

// Func is the merchant's function; see callback.Func.
type Func = callback.Func[Payment]

// Config configures New. Zero fields mean the defaults.
type Config struct {
	// UserIDs are the merchant's SecPaid user ids (the creators of the
	// payment links). A notification for any other user_id is refused
	// with 400. Required.
	UserIDs []string

	// Token is the account's API token: with it, every payment is
	// confirmed with SecPaid's API before the merchant's function runs.
	// Required unless InsecureSkipConfirm is set.
	Token string
	// BaseURL, HTTPClient, Backoff and AttemptTimeout configure the
	// confirmation client; see ClientConfig.
	BaseURL        string
	HTTPClient     *http.Client
	Backoff        retry.Backoff
	AttemptTimeout time.Duration

	// InsecureSkipConfirm turns confirmation off even when a Token is
	// set. Then the Payment Endpoint passes whatever anyone posts to the
	// function unconfirmed, and browser returns go to PendingURL instead
	// of SuccessURL. Only for merchants who confirm payments themselves.
	InsecureSkipConfirm bool

	// EncryptionKey is the account's 32-character key, if the account
	// encrypts the Payment Endpoint's body; plain bodies are accepted
	// too. Empty: encrypted bodies are refused with 400.
	EncryptionKey string

	// SuccessURL, CancelURL and PendingURL are where the browser return
	// redirects (303): to SuccessURL once the payment is confirmed and
	// processed, to CancelURL when the customer cancelled, to PendingURL
	// when SecPaid does not (yet) confirm the payment or something failed
	// (try again later). Each is an absolute http(s) URL or a path
	// beginning with "/". Nothing from the request is ever added to them.
	// Required.
	SuccessURL, CancelURL, PendingURL string

	// Other, if set, receives the Payment Endpoint's notifications whose
	// status is not success (SecPaid sends cancel; it may add others).
	// They are unconfirmed: SecPaid's API cannot confirm a cancel. When
	// nil, they are acknowledged and only logged.
	Other Func

	// Store is shared by both handlers; default a new callback.MemoryStore.
	// TTL defaults to DefaultTTL. Timeout (confirmation plus the
	// function), MaxBodyBytes, Logger and Observe are as in
	// callback.Config.
	Store        callback.Store
	TTL          time.Duration
	Timeout      time.Duration
	MaxBodyBytes int64
	Logger       *slog.Logger
	Observe      func(ctx context.Context, rep callback.Report)
}

// Handlers are SecPaid's two handlers over one Store. They are safe for
// concurrent use.
type Handlers struct {
	// Return serves GET {callback_url}?pay_id=…&user_id=…&status=…, the
	// customer's browser coming back, and answers with a 303 redirect
	// (400 for a malformed query, 405 for another method).
	Return http.Handler
	// Endpoint serves the Payment Endpoint's POST and answers 200 "OK"
	// once the merchant's function succeeded (or for a repeat), 400 for
	// a body it cannot read, 503 when SecPaid's API does not confirm the
	// payment or cannot be asked; see callback.WriteReply.
	Endpoint http.Handler
	// Client is the confirmation client; nil with InsecureSkipConfirm.
	Client *Client
	// Store is the dedup store both handlers share.
	Store callback.Store
}

// errNotConfirmable is why a browser return is not processed when
// confirmation is off.
var errNotConfirmable = fmt.Errorf("%w: confirmation is turned off (InsecureSkipConfirm): a browser return proves nothing", callback.ErrUnconfirmed)

// New returns the handlers running fn once per payment SecPaid's API
// confirms as paid. It returns an error matching ErrConfig for no UserIDs,
// no Token without InsecureSkipConfirm, an EncryptionKey that is not 32
// bytes, a missing or unusable redirect URL, or a nil fn.
func New(cfg Config, fn Func) (*Handlers, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: the merchant's function is nil", ErrConfig)
	}
	if len(cfg.UserIDs) == 0 {
		return nil, fmt.Errorf("%w: Config.UserIDs is empty: name the SecPaid user ids whose payments this merchant receives", ErrConfig)
	}
	for _, id := range cfg.UserIDs {
		if !validUserID(id) {
			return nil, fmt.Errorf("%w: user id %q is empty or has spaces or control bytes", ErrConfig, id)
		}
	}
	if cfg.EncryptionKey != "" && len(cfg.EncryptionKey) != 32 {
		return nil, fmt.Errorf("%w: EncryptionKey is %d bytes, want 32", ErrConfig, len(cfg.EncryptionKey))
	}
	for _, u := range []struct{ name, v string }{
		{"SuccessURL", cfg.SuccessURL}, {"CancelURL", cfg.CancelURL}, {"PendingURL", cfg.PendingURL},
	} {
		if err := checkRedirect(u.v); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, u.name, err)
		}
	}
	h := &Handlers{Store: cfg.Store}
	if !cfg.InsecureSkipConfirm {
		if cfg.Token == "" {
			return nil, fmt.Errorf("%w: no Token: SecPaid signs nothing, so without confirmation through its API anyone could mark an order paid (set InsecureSkipConfirm only if you confirm payments yourself)", ErrConfig)
		}
		c, err := NewClient(ClientConfig{
			Token: cfg.Token, BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient,
			Backoff: cfg.Backoff, AttemptTimeout: cfg.AttemptTimeout,
		})
		if err != nil {
			return nil, err
		}
		h.Client = c
	}
	if h.Store == nil {
		h.Store = callback.NewMemoryStore(callback.MemoryConfig{})
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	s := &setup{cfg: cfg, client: h.Client, fn: fn, users: slices.Clone(cfg.UserIDs)}
	base := callback.Config[Payment]{
		Provider:             Provider,
		AllowUnauthenticated: true, // nothing is signed: Confirm below is the check
		Identify:             identify,
		Store:                h.Store,
		TTL:                  cfg.TTL,
		Timeout:              cfg.Timeout,
		MaxBodyBytes:         cfg.MaxBodyBytes,
		Logger:               cfg.Logger,
		Observe:              cfg.Observe,
	}

	ret := base
	ret.Methods = []string{http.MethodGet}
	ret.Decode = s.decodeReturn
	ret.Confirm = s.confirmReturn
	ret.Respond = s.respondReturn
	rh, err := callback.New(ret, s.process)
	if err != nil {
		return nil, err
	}
	h.Return = &returnHandler{setup: s, pipeline: rh}

	ep := base
	ep.Decode = s.decodeEndpoint
	ep.Confirm = s.confirmEndpoint
	eh, err := callback.New(ep, s.process)
	if err != nil {
		return nil, err
	}
	h.Endpoint = eh
	return h, nil
}

func checkRedirect(v string) error {
	if v == "" {
		return errors.New("required")
	}
	u, err := url.Parse(v)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme == "https" || u.Scheme == "http":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", v)
		}
	case u.Scheme == "" && u.Host == "" && len(v) > 0 && v[0] == '/' && (len(v) == 1 || v[1] != '/' && v[1] != '\\'):
	default:
		return fmt.Errorf("%q is neither an absolute http(s) URL nor a path beginning with /", v)
	}
	return nil
}

type setup struct {
	cfg    Config
	client *Client
	fn     Func
	users  []string
}

func (s *setup) checkUser(p *Payment) error {
	if !slices.Contains(s.users, p.UserID) {
		return fmt.Errorf("%w: %q is not a configured user id", ErrUserID, truncate(p.UserID))
	}
	return nil
}

func (s *setup) decodeReturn(r *http.Request, _ []byte, p *Payment) error {
	v, err := ParseReturn(r.URL.RawQuery)
	if err != nil {
		return err
	}
	if err := s.checkUser(&v); err != nil {
		return err
	}
	*p = v
	return nil
}

func (s *setup) decodeEndpoint(r *http.Request, body []byte, p *Payment) error {
	v, err := ParseNotification(r.Header.Get("Content-Type"), body, s.cfg.EncryptionKey)
	if err != nil {
		return err
	}
	if err := s.checkUser(&v); err != nil {
		return err
	}
	*p = v
	return nil
}

func identify(p *Payment) (name, key string, err error) {
	return p.Status, p.PayID + ":" + p.Status, nil
}

// confirm asks SecPaid's API about the payment and fills in what it said.
func (s *setup) confirm(ctx context.Context, ev *Event) error {
	c, err := s.client.Confirm(ctx, ev.Payload.PayID)
	if err != nil {
		return err
	}
	if c.State != Paid {
		return fmt.Errorf("%w: SecPaid's API says pay_id %s is %v", callback.ErrUnconfirmed, ev.Payload.PayID, c.State)
	}
	ev.Payload.Amount = c.Amount
	ev.Payload.Confirmed = true
	ev.Payload.Transaction = c.Transaction
	return nil
}

func (s *setup) confirmReturn(ctx context.Context, ev *Event) error {
	if s.client == nil {
		return errNotConfirmable
	}
	return s.confirm(ctx, ev)
}

func (s *setup) confirmEndpoint(ctx context.Context, ev *Event) error {
	if s.client == nil || ev.Payload.Status != StatusSuccess {
		return nil // unconfirmed by configuration, or not a payment (see process)
	}
	return s.confirm(ctx, ev)
}

// process runs the merchant's function for successes, Other for the rest.
func (s *setup) process(ctx context.Context, ev *Event) error {
	if ev.Payload.Status == StatusSuccess {
		return s.fn(ctx, ev)
	}
	if s.cfg.Other != nil {
		return s.cfg.Other(ctx, ev)
	}
	return nil
}

// returnHandler answers a cancel at once, without touching the store (a
// cancel cannot be confirmed, and spoofed ones must not fill the store),
// and passes everything else to the pipeline.
type returnHandler struct {
	*setup
	pipeline http.Handler
}

func (h *returnHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if p, err := ParseReturn(r.URL.RawQuery); err == nil && p.Status == StatusCancel && h.checkUser(&p) == nil {
			if h.cfg.Logger != nil {
				h.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "paycallback: secpaid browser return cancelled",
					slog.String("provider", Provider), slog.String("pay_id", p.PayID))
			}
			redirect(w, h.cfg.CancelURL)
			return
		}
	}
	h.pipeline.ServeHTTP(w, r)
}

// respondReturn maps the pipeline's outcome to the browser's redirect.
func (s *setup) respondReturn(w http.ResponseWriter, _ *http.Request, o callback.Outcome, ev *Event) {
	switch o {
	case callback.Processed, callback.Duplicate:
		if s.client == nil {
			redirect(w, s.cfg.PendingURL)
			return
		}
		redirect(w, s.cfg.SuccessURL)
	case callback.MethodNotAllowed, callback.TooLarge, callback.BadRequest, callback.Unauthorized:
		callback.WriteReply(w, o, callback.Ack{}, http.MethodGet)
	default:
		// Unconfirmed, in progress elsewhere, API or store unavailable,
		// the function failed or timed out: nothing final yet.
		redirect(w, s.cfg.PendingURL)
	}
}

// redirect answers 303 to a configured target, with no body that could
// echo anything.
func redirect(w http.ResponseWriter, target string) {
	h := w.Header()
	h.Set("Location", target)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Length", strconv.Itoa(0))
	w.WriteHeader(http.StatusSeeOther)
}
