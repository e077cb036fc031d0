package avarda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
)

// Avarda's API base URLs.
const (
	StageBaseURL      = "https://avdonl-s-checkout.avarda.org"
	ProductionBaseURL = "https://avdonl-p-checkout.avarda.org"
)

// StepCompleted is the step.current of a completed purchase.
const StepCompleted = "Completed"

// ConfirmerConfig configures a Confirmer. Zero fields mean the defaults.
type ConfirmerConfig struct {
	// BaseURL is Avarda's API; default ProductionBaseURL.
	BaseURL string
	// ClientID and ClientSecret are the partner credentials. Required.
	ClientID, ClientSecret string
	// HTTPClient makes the calls; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Backoff retries transient failures (network errors, 5xx, 429)
	// within the callback's deadline; the zero value is retry's default.
	Backoff retry.Backoff
	// TokenLifetime is assumed for a partner token whose answer states no
	// expiry (neither a tokenExpirationUtc field nor a JWT exp claim);
	// default 10 minutes. Avarda does not document the lifetime.
	TokenLifetime time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Confirmer asks Avarda's partner API whether a purchase is completed, so
// that a forged callback (the body is not signed) is never processed. Plug
// it into a handler with Config{Confirm: c.Confirm}. It is safe for
// concurrent use: the partner token is cached until shortly before it
// expires, and only one token fetch runs at a time.
type Confirmer struct {
	cfg ConfirmerConfig

	mu      sync.Mutex // held while fetching, so one fetch runs at a time
	token   string
	expires time.Time
}

// NewConfirmer returns a Confirmer, or an error if a credential is missing
// or BaseURL is not an absolute http(s) URL.
func NewConfirmer(cfg ConfirmerConfig) (*Confirmer, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("avarda: ConfirmerConfig.ClientID and ClientSecret are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = ProductionBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("avarda: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Confirmer{cfg: cfg}, nil
}

// Payment is what Avarda's API says of a purchase.
type Payment struct {
	// Mode is "B2C" or "B2B".
	Mode string
	// Step is the mode's step.current: "Completed" once the purchase is
	// done; "TimedOut", or a step before completion, otherwise.
	Step string
	// Raw is the API's answer, for fields this type does not name.
	Raw json.RawMessage
}

// Completed reports whether the purchase is completed.
func (p *Payment) Completed() bool { return p.Step == StepCompleted }

// Confirm returns nil when Avarda's API says the event's purchase is
// completed, an error wrapping callback.ErrUnconfirmed when it says
// otherwise (not completed yet, or no such purchase: 404), and another
// error when the API could not be asked (after retries within ctx). It
// has the signature of Config.Confirm.
func (c *Confirmer) Confirm(ctx context.Context, ev *Event) error {
	p, err := c.Payment(ctx, ev.Payload.PurchaseID)
	if err != nil {
		return err
	}
	if !p.Completed() {
		return fmt.Errorf("avarda: purchase %s is at step %q: %w", ev.Payload.PurchaseID, p.Step, callback.ErrUnconfirmed)
	}
	return nil
}

// Payment fetches the purchase from GET {base}/api/partner/payments/{id}.
// A 404 is an error wrapping callback.ErrUnconfirmed.
func (c *Confirmer) Payment(ctx context.Context, purchaseID string) (*Payment, error) {
	return retry.DoValue(ctx, c.cfg.Backoff, func(ctx context.Context) (*Payment, error) {
		return c.fetchPayment(ctx, purchaseID)
	})
}

// errNotFound is not retried by retry.Do (it is not an HTTPError).
var errNotFound = errors.New("avarda: no such purchase")

func (c *Confirmer) fetchPayment(ctx context.Context, purchaseID string) (*Payment, error) {
	for try := 0; ; try++ {
		token, err := c.partnerToken(ctx, try > 0)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			c.cfg.BaseURL+"/api/partner/payments/"+url.PathEscape(purchaseID), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		body, status, err := c.do(req)
		if err != nil {
			return nil, err
		}
		switch {
		case status == http.StatusUnauthorized && try == 0:
			continue // the token expired early: fetch a new one, once
		case status == http.StatusNotFound:
			return nil, fmt.Errorf("%w %s: %w", errNotFound, purchaseID, callback.ErrUnconfirmed)
		case status < 200 || status > 299:
			return nil, fmt.Errorf("avarda: payments API: %w", &retry.HTTPError{Status: status})
		}
		return parsePayment(body)
	}
}

func parsePayment(body []byte) (*Payment, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("avarda: decoding payment: %w", err)
	}
	var mode string
	if err := json.Unmarshal(top["mode"], &mode); err != nil || mode == "" {
		return nil, errors.New("avarda: payment has no mode")
	}
	// The object is under the mode's name with a lower-case first letter:
	// "B2C" -> "b2C".
	r, size := utf8.DecodeRuneInString(mode)
	var sub struct {
		Step struct {
			Current string `json:"current"`
		} `json:"step"`
	}
	raw, ok := top[string(unicode.ToLower(r))+mode[size:]]
	if !ok {
		return nil, fmt.Errorf("avarda: payment in mode %q has no %q object", mode, string(unicode.ToLower(r))+mode[size:])
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return nil, fmt.Errorf("avarda: decoding payment step: %w", err)
	}
	return &Payment{Mode: mode, Step: sub.Step.Current, Raw: body}, nil
}

// do sends req and returns the body of a reply of at most 1 MiB.
func (c *Confirmer) do(req *http.Request) ([]byte, int, error) {
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, err
	}
	if herr := retry.CheckResponse(resp); herr != nil && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
		return nil, 0, fmt.Errorf("avarda: %s %s: %w", req.Method, req.URL.Path, herr)
	}
	return body, resp.StatusCode, nil
}

// partnerToken returns a cached token, fetching a new one when it is
// missing, expires within a minute, or renew is set. The mutex makes
// concurrent callers wait for one fetch instead of each fetching.
func (c *Confirmer) partnerToken(ctx context.Context, renew bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if !renew && c.token != "" && now.Add(time.Minute).Before(c.expires) {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"ClientID": c.cfg.ClientID, "ClientSecret": c.cfg.ClientSecret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+"/api/partner/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, status, err := c.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return "", fmt.Errorf("avarda: partner token refused (HTTP %d): check ClientID and ClientSecret", status)
	}
	var tok struct {
		Token      string    `json:"token"`
		Expiration time.Time `json:"tokenExpirationUtc"`
	}
	if err := json.Unmarshal(resp, &tok); err != nil || tok.Token == "" {
		return "", fmt.Errorf("avarda: partner token answer has no token: %v", err)
	}
	expires := tok.Expiration
	if expires.IsZero() {
		expires = jwtExpiry(tok.Token)
	}
	if expires.IsZero() {
		expires = now.Add(c.cfg.TokenLifetime)
	}
	c.token, c.expires = tok.Token, expires
	return c.token, nil
}

// jwtExpiry returns the exp claim of a JWT, or the zero time. The token is
// not verified: it is only used to know when to renew it.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	secs, err := claims.Exp.Int64()
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0)
}
