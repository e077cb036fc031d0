package secpaid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paycallback/paycallback/retry"
)

// DefaultBaseURL is SecPaid's production API.
const DefaultBaseURL = "https://app.secpaid.com"

// TransactionsPath is the confirmation call's path under the base URL.
const TransactionsPath = "/api/v2/getPayInTransactions"

// DefaultAttemptTimeout bounds one HTTP attempt of the Client, so that a
// hung connection leaves time for a retry within the request's deadline.
const DefaultAttemptTimeout = 3 * time.Second

// maxAPIBody bounds what the Client reads of an API reply.
const maxAPIBody = 4 << 20

// ErrConfig is matched by the errors New and NewClient return for an unsafe
// or incomplete configuration.
var ErrConfig = errors.New("secpaid: invalid configuration")

// ErrPayID is matched by the error for a pay_id that is missing or not a
// positive decimal integer of at most 20 digits.
var ErrPayID = errors.New("secpaid: missing or invalid pay_id")

// ErrAPI is matched by the error for an API reply the Client cannot use: a
// ResponseCode other than 1, a body that is not the documented JSON, a
// successful transaction without a valid amount. It is never retried and
// never read as "not paid": the caller gets an error.
var ErrAPI = errors.New("secpaid: unusable API reply")

// ClientConfig configures a Client. Zero fields mean the defaults.
type ClientConfig struct {
	// Token is the account's API token, sent in the "token" header.
	// Required.
	Token string
	// BaseURL is the API's base, default DefaultBaseURL; point it at a
	// fake (callbacktest.NewSecPaidAPI) in tests.
	BaseURL string
	// HTTPClient makes the calls; default http.DefaultClient. The
	// request's context bounds each call; AttemptTimeout bounds each
	// attempt.
	HTTPClient *http.Client
	// Backoff retries transient failures (network errors, 5xx, 429);
	// zero fields mean retry.Backoff's defaults. Retries never outlast
	// the context's deadline.
	Backoff retry.Backoff
	// AttemptTimeout bounds one attempt; default DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// FormEncoded sends pay_id form-encoded instead of as JSON; SecPaid's
	// documentation shows both.
	FormEncoded bool
}

// Client asks SecPaid's API about pay-in transactions. It is safe for
// concurrent use.
type Client struct {
	cfg      ClientConfig
	endpoint string
}

// NewClient returns a Client. It returns an error matching ErrConfig for an
// empty Token or a BaseURL that is not an absolute http or https URL.
func NewClient(cfg ClientConfig) (*Client, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, fmt.Errorf("%w: ClientConfig.Token is empty", ErrConfig)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: BaseURL %q is not an absolute http(s) URL without query", ErrConfig, cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	return &Client{cfg: cfg, endpoint: strings.TrimRight(cfg.BaseURL, "/") + TransactionsPath}, nil
}

// State is what SecPaid's API says about a payment.
type State int

const (
	// Unknown: SecPaid lists no successful or pending pay-in for the
	// pay_id (it does not exist, belongs to another account, or has a
	// status such as Refunded).
	Unknown State = iota
	// Pending: SecPaid lists the pay-in as pending.
	Pending
	// Paid: SecPaid lists the pay-in as successful, with a positive
	// amount.
	Paid
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Paid:
		return "paid"
	}
	return "unknown"
}

// Confirmation is the Client's answer about one pay_id.
type Confirmation struct {
	State State
	// Amount is the gross amount paid, when State is Paid.
	Amount Amount
	// Transaction is the API's item the answer was read from; nil when
	// State is Unknown and no item matched.
	Transaction *Transaction
}

// Transaction is one item of getPayInTransactions, as SecPaid documents it
// (every field a string). Unknown fields are ignored.
type Transaction struct {
	PayID           string `json:"pay_id"`
	UserID          string `json:"user_id"`
	CreatorID       string `json:"creator_id"`
	TransactionID   string `json:"transaction_id"`
	Amount          string `json:"amount"`
	NetAmount       string `json:"net_amount"`
	Status          string `json:"status"`
	RecipientNote   string `json:"recipient_note"`
	PayoutStatus    string `json:"payout_status"`
	CreatedAt       string `json:"created_at"`
	IsSplitLink     string `json:"is_split_link"`
	IsDispute       string `json:"is_dispute"`
	IsRefund        string `json:"is_refund"`
	PaymentMethod   string `json:"payment_method"`
	TransactionType string `json:"transaction_type"`
}

// transactionJSON decodes a Transaction whose fields may also arrive as
// numbers, booleans or null.
type transactionJSON map[string]json.RawMessage

// APIError is an API reply whose ResponseCode is not 1. It matches ErrAPI.
type APIError struct {
	ResponseCode string
	ResponseMsg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("secpaid: API answered ResponseCode %s: %q", e.ResponseCode, e.ResponseMsg)
}

// Is makes an *APIError match ErrAPI.
func (e *APIError) Is(target error) bool { return target == ErrAPI }

// Transactions returns the pay-in items SecPaid lists for payID (refunds
// and disputes of the payment included, as separate items). Transient
// failures are retried with the configured Backoff within ctx's deadline;
// the error after the last attempt wraps the last failure (an
// *retry.HTTPError for a status, ErrAPI for an unusable reply).
func (c *Client) Transactions(ctx context.Context, payID string) ([]Transaction, error) {
	if !validPayID(payID) {
		return nil, fmt.Errorf("%w: %q", ErrPayID, payID)
	}
	payID = canonicalPayID(payID)
	items, err := retry.DoValue(ctx, c.cfg.Backoff, func(ctx context.Context) ([]Transaction, error) {
		return c.fetch(ctx, payID)
	})
	if err != nil {
		return nil, fmt.Errorf("secpaid: asking about pay_id %s: %w", payID, err)
	}
	return items, nil
}

func (c *Client) fetch(ctx context.Context, payID string) ([]Transaction, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var body []byte
	contentType := "application/json"
	if c.cfg.FormEncoded {
		body = []byte(url.Values{"pay_id": {payID}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	} else {
		// pay_id is documented as an integer; payID is validated digits.
		body = []byte(`{"pay_id":` + payID + `}`)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("token", c.cfg.Token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := retry.CheckResponse(resp); err != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxAPIBody {
		return nil, fmt.Errorf("%w: reply over %d bytes", ErrAPI, maxAPIBody)
	}
	return parseTransactions(raw, payID)
}

// parseTransactions reads a getPayInTransactions reply and returns the
// items for payID.
func parseTransactions(raw []byte, payID string) ([]Transaction, error) {
	var env struct {
		Data         json.RawMessage `json:"data"`
		ResponseCode json.RawMessage `json:"ResponseCode"`
		ResponseMsg  json.RawMessage `json:"ResponseMsg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	code, err := scalar(env.ResponseCode)
	if err != nil {
		return nil, fmt.Errorf("%w: ResponseCode: %w", ErrAPI, err)
	}
	if code != "1" {
		msg, _ := scalar(env.ResponseMsg)
		return nil, &APIError{ResponseCode: code, ResponseMsg: msg}
	}
	var rawItems []transactionJSON
	switch d := bytes.TrimSpace(env.Data); {
	case len(d) == 0 || string(d) == "null":
	case d[0] == '[':
		if err := json.Unmarshal(d, &rawItems); err != nil {
			return nil, fmt.Errorf("%w: data: %w", ErrAPI, err)
		}
	case d[0] == '{':
		var one transactionJSON
		if err := json.Unmarshal(d, &one); err != nil {
			return nil, fmt.Errorf("%w: data: %w", ErrAPI, err)
		}
		rawItems = append(rawItems, one)
	default:
		return nil, fmt.Errorf("%w: data is neither a list nor an object", ErrAPI)
	}
	var out []Transaction
	for i, m := range rawItems {
		t, err := m.transaction()
		if err != nil {
			return nil, fmt.Errorf("%w: data[%d]: %w", ErrAPI, i, err)
		}
		if samePayID(t.PayID, payID) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m transactionJSON) transaction() (Transaction, error) {
	var t Transaction
	fields := map[string]*string{
		"pay_id": &t.PayID, "user_id": &t.UserID, "creator_id": &t.CreatorID,
		"transaction_id": &t.TransactionID, "amount": &t.Amount, "net_amount": &t.NetAmount,
		"status": &t.Status, "recipient_note": &t.RecipientNote, "payout_status": &t.PayoutStatus,
		"created_at": &t.CreatedAt, "is_split_link": &t.IsSplitLink, "is_dispute": &t.IsDispute,
		"is_refund": &t.IsRefund, "payment_method": &t.PaymentMethod, "transaction_type": &t.TransactionType,
	}
	for name, p := range fields {
		v, err := scalar(m[name])
		if err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
		*p = v
	}
	return t, nil
}

// samePayID compares pay ids as numbers written in decimal.
func samePayID(a, b string) bool {
	a, b = strings.TrimLeft(strings.TrimSpace(a), "0"), strings.TrimLeft(b, "0")
	return a != "" && a == b
}

// Confirm asks SecPaid whether payID is paid. The answer is Paid (with the
// amount) when an item for payID has status Success (compared
// case-insensitively), a positive amount and a transaction type other than
// a refund or a dispute; Pending when an item is pending; Unknown
// otherwise. Any failure to get a usable answer is an error, never a
// guess; see Transactions.
func (c *Client) Confirm(ctx context.Context, payID string) (Confirmation, error) {
	items, err := c.Transactions(ctx, payID)
	if err != nil {
		return Confirmation{}, err
	}
	return confirmation(items)
}

func confirmation(items []Transaction) (Confirmation, error) {
	var pending *Transaction
	for i := range items {
		t := &items[i]
		typ := strings.ToLower(t.TransactionType)
		if strings.Contains(typ, "refund") || strings.Contains(typ, "dispute") {
			continue
		}
		switch {
		case strings.EqualFold(strings.TrimSpace(t.Status), "success"):
			a, err := ParseAmount(strings.TrimSpace(t.Amount))
			if err != nil {
				return Confirmation{}, fmt.Errorf("%w: successful pay_id %s: %w", ErrAPI, t.PayID, err)
			}
			if a.Sign() <= 0 {
				continue
			}
			return Confirmation{State: Paid, Amount: a, Transaction: t}, nil
		case strings.EqualFold(strings.TrimSpace(t.Status), "pending") && pending == nil:
			pending = t
		}
	}
	if pending != nil {
		return Confirmation{State: Pending, Transaction: pending}, nil
	}
	return Confirmation{State: Unknown}, nil
}

// scalar returns a JSON string's value, or a number's or boolean's text;
// "" for absent or null. Objects and arrays are an error.
func scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{', '[':
		return "", errors.New("an object or a list where a value was expected")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return string(n), nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", err
	}
	if b {
		return "true", nil
	}
	return "false", nil
}

// canonicalPayID drops a valid pay id's leading zeros.
func canonicalPayID(s string) string { return strings.TrimLeft(s, "0") }

// validPayID reports whether s is a positive decimal integer of at most 20
// digits, as SecPaid's pay ids are.
func validPayID(s string) bool {
	return len(s) <= 20 && digits(s) && strings.TrimLeft(s, "0") != ""
}
