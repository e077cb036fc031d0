package chip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// EventType is a callback's top-level event_type. The set is open: CHIP may
// add events, and an unknown one is acknowledged, never an error.
type EventType string

// The event types CHIP Collect is known to send.
const (
	PurchaseCreated                     EventType = "purchase.created"
	PurchasePaid                        EventType = "purchase.paid"
	PurchasePaymentFailure              EventType = "purchase.payment_failure"
	PurchasePendingExecute              EventType = "purchase.pending_execute"
	PurchasePendingCharge               EventType = "purchase.pending_charge"
	PurchaseCancelled                   EventType = "purchase.cancelled"
	PurchaseHold                        EventType = "purchase.hold"
	PurchaseCaptured                    EventType = "purchase.captured"
	PurchasePendingCapture              EventType = "purchase.pending_capture"
	PurchaseReleased                    EventType = "purchase.released"
	PurchasePendingRelease              EventType = "purchase.pending_release"
	PurchasePreauthorized               EventType = "purchase.preauthorized"
	PurchasePendingRecurringTokenDelete EventType = "purchase.pending_recurring_token_delete"
	PurchaseRecurringTokenDeleted       EventType = "purchase.recurring_token_deleted"
	PurchaseSubscriptionChargeFailure   EventType = "purchase.subscription_charge_failure"
	PurchasePendingRefund               EventType = "purchase.pending_refund"
	PurchaseViewed                      EventType = "purchase.viewed"
	PurchaseSettled                     EventType = "purchase.settled"
	PaymentRefunded                     EventType = "payment.refunded"
	SubscriptionBillingCancelled        EventType = "billing_template_client.subscription_billing_cancelled"
	PayoutFailed                        EventType = "payout.failed"
	PayoutSuccess                       EventType = "payout.success"
)

var eventTypes = []EventType{
	PurchaseCreated, PurchasePaid, PurchasePaymentFailure, PurchasePendingExecute,
	PurchasePendingCharge, PurchaseCancelled, PurchaseHold, PurchaseCaptured,
	PurchasePendingCapture, PurchaseReleased, PurchasePendingRelease,
	PurchasePreauthorized, PurchasePendingRecurringTokenDelete,
	PurchaseRecurringTokenDeleted, PurchaseSubscriptionChargeFailure,
	PurchasePendingRefund, PurchaseViewed, PurchaseSettled, PaymentRefunded,
	SubscriptionBillingCancelled, PayoutFailed, PayoutSuccess,
}

// EventTypes returns every event type this package knows, in the order
// of CHIP's documentation. The caller may modify the returned slice.
func EventTypes() []EventType { return append([]EventType(nil), eventTypes...) }

// Known reports whether e is one of the event types this package knows.
func (e EventType) Known() bool {
	for _, k := range eventTypes {
		if k == e {
			return true
		}
	}
	return false
}

// Status is a Purchase's status. The set is open, like EventType.
type Status string

// The purchase statuses CHIP documents.
const (
	StatusCreated        Status = "created"
	StatusSent           Status = "sent"
	StatusViewed         Status = "viewed"
	StatusError          Status = "error"
	StatusCancelled      Status = "cancelled"
	StatusOverdue        Status = "overdue"
	StatusExpired        Status = "expired"
	StatusBlocked        Status = "blocked"
	StatusHold           Status = "hold"
	StatusReleased       Status = "released"
	StatusPendingRelease Status = "pending_release"
	StatusPendingCapture Status = "pending_capture"
	StatusPreauthorized  Status = "preauthorized"
	StatusPaid           Status = "paid"
	StatusPendingExecute Status = "pending_execute"
	StatusPendingCharge  Status = "pending_charge"
	StatusCleared        Status = "cleared"
	StatusSettled        Status = "settled"
	StatusChargeback     Status = "chargeback"
	StatusPendingRefund  Status = "pending_refund"
	StatusRefunded       Status = "refunded"
)

// Timestamp is a Unix time in seconds, as CHIP sends created_on,
// updated_on, paid_on and the like. Zero means absent (JSON null).
type Timestamp int64

// Time returns t as a time.Time in UTC, or the zero time.Time when t is
// zero (absent).
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t), 0).UTC()
}

// IsZero reports whether t is absent.
func (t Timestamp) IsZero() bool { return t == 0 }

// String formats t as RFC 3339 in UTC, or "" when absent.
func (t Timestamp) String() string {
	if t == 0 {
		return ""
	}
	return t.Time().Format(time.RFC3339)
}

// Decimal is an exact decimal number kept as the text CHIP sent, such as a
// product's quantity "1.0000" or tax_percent "0.00": never a float64. It
// decodes from a JSON string or a JSON number; null decodes to "".
type Decimal string

// UnmarshalJSON keeps the digits of a JSON string or number exactly.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = ""
		return nil
	case len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0:
		// The decoder has validated the string: without escapes its
		// contents are the bytes between the quotes.
		*d = Decimal(b[1 : len(b)-1])
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
		return nil
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*d = Decimal(b)
		return nil
	}
	return fmt.Errorf("chip: decimal must be a JSON string or number, got %.20q", b)
}

// MarshalJSON encodes d as a JSON string, as CHIP does.
func (d Decimal) MarshalJSON() ([]byte, error) { return json.Marshal(string(d)) }

// String returns the decimal's text.
func (d Decimal) String() string { return string(d) }

// Rat returns d as an exact rational number. It fails if d is empty or
// not a decimal number.
func (d Decimal) Rat() (*big.Rat, error) {
	if d == "" {
		return nil, errors.New("chip: empty decimal")
	}
	r, ok := new(big.Rat).SetString(string(d))
	if !ok {
		return nil, fmt.Errorf("chip: %q is not a decimal number", string(d))
	}
	return r, nil
}

// Purchase is CHIP Collect's Purchase object, the body of every purchase.*
// callback. Amounts are integers in minor units (100 = 1.00 in Currency).
// Fields CHIP adds later are ignored; the raw body stays in Event.Body.
type Purchase struct {
	ID                 string          `json:"id"`   // a UUID
	Type               string          `json:"type"` // "purchase"
	Status             Status          `json:"status"`
	StatusHistory      []StatusChange  `json:"status_history"`
	EventType          EventType       `json:"event_type"`
	IsTest             bool            `json:"is_test"`
	BrandID            string          `json:"brand_id"`
	CompanyID          string          `json:"company_id"`
	UserID             string          `json:"user_id"`   // null: ""
	ClientID           string          `json:"client_id"` // null: ""
	BillingTemplateID  string          `json:"billing_template_id"`
	OrderID            string          `json:"order_id"`
	Reference          string          `json:"reference"` // the merchant's own reference
	ReferenceGenerated string          `json:"reference_generated"`
	CreatedOn          Timestamp       `json:"created_on"`
	UpdatedOn          Timestamp       `json:"updated_on"`
	ViewedOn           Timestamp       `json:"viewed_on"`
	Due                Timestamp       `json:"due"`
	Issued             string          `json:"issued"` // a date, "2026-04-28", or ""
	Client             Client          `json:"client"`
	Purchase           PurchaseDetails `json:"purchase"`
	// Payment is nil until the purchase is paid.
	Payment                *PaymentDetails `json:"payment"`
	IssuerDetails          IssuerDetails   `json:"issuer_details"`
	TransactionData        TransactionData `json:"transaction_data"`
	SuccessRedirect        string          `json:"success_redirect"`
	FailureRedirect        string          `json:"failure_redirect"`
	CancelRedirect         string          `json:"cancel_redirect"`
	SuccessCallback        string          `json:"success_callback"`
	CheckoutURL            string          `json:"checkout_url"`
	InvoiceURL             string          `json:"invoice_url"`
	DirectPostURL          string          `json:"direct_post_url"`
	RecurringToken         string          `json:"recurring_token"` // null: ""
	IsRecurringToken       bool            `json:"is_recurring_token"`
	ForceRecurring         bool            `json:"force_recurring"`
	SkipCapture            bool            `json:"skip_capture"`
	SendReceipt            bool            `json:"send_receipt"`
	MarkedAsPaid           bool            `json:"marked_as_paid"`
	RefundableAmount       int64           `json:"refundable_amount"`
	RefundAvailability     string          `json:"refund_availability"` // "all", "full_only", "partial_only", "none"
	PaymentMethodWhitelist []string        `json:"payment_method_whitelist"`
	Platform               string          `json:"platform"` // "api", "web", ...
	Product                string          `json:"product"`  // "purchases"
	CreatorAgent           string          `json:"creator_agent"`
	CreatedFromIP          string          `json:"created_from_ip"`
}

// StatusChange is one entry of a Purchase's status_history.
type StatusChange struct {
	Status        Status         `json:"status"`
	Timestamp     Timestamp      `json:"timestamp"`
	RelatedObject *RelatedObject `json:"related_object"`
}

// RelatedObject points at another CHIP object, for example the purchase a
// refund belongs to.
type RelatedObject struct {
	Type string `json:"type"` // "purchase", "payment", ...
	ID   string `json:"id"`
}

// Client is the purchase's customer.
type Client struct {
	Email                 string   `json:"email"`
	Phone                 string   `json:"phone"`
	FullName              string   `json:"full_name"`
	PersonalCode          string   `json:"personal_code"`
	StreetAddress         string   `json:"street_address"`
	Country               string   `json:"country"` // ISO 3166-1 alpha-2
	City                  string   `json:"city"`
	ZipCode               string   `json:"zip_code"`
	State                 string   `json:"state"`
	ShippingStreetAddress string   `json:"shipping_street_address"`
	ShippingCountry       string   `json:"shipping_country"`
	ShippingCity          string   `json:"shipping_city"`
	ShippingZipCode       string   `json:"shipping_zip_code"`
	ShippingState         string   `json:"shipping_state"`
	CC                    []string `json:"cc"`
	BCC                   []string `json:"bcc"`
	LegalName             string   `json:"legal_name"`
	BrandName             string   `json:"brand_name"`
	RegistrationNumber    string   `json:"registration_number"`
	TaxNumber             string   `json:"tax_number"`
	BankAccount           string   `json:"bank_account"`
	BankCode              string   `json:"bank_code"`
	ClientType            string   `json:"client_type"` // "personal", "business" or ""
}

// PurchaseDetails is a Purchase's "purchase" object: what is bought.
type PurchaseDetails struct {
	Currency              string    `json:"currency"` // ISO 4217, e.g. "MYR"
	Products              []Product `json:"products"`
	Total                 int64     `json:"total"` // minor units
	Language              string    `json:"language"`
	Notes                 string    `json:"notes"`
	Debt                  int64     `json:"debt"`
	SubtotalOverride      *int64    `json:"subtotal_override"`
	TotalTaxOverride      *int64    `json:"total_tax_override"`
	TotalDiscountOverride *int64    `json:"total_discount_override"`
	TotalOverride         *int64    `json:"total_override"`
	RequestClientDetails  []string  `json:"request_client_details"`
	Timezone              string    `json:"timezone"`
	DueStrict             bool      `json:"due_strict"`
	EmailMessage          string    `json:"email_message"`
}

// Product is one line of a purchase.
type Product struct {
	Name       string  `json:"name"`
	Quantity   Decimal `json:"quantity"` // e.g. "1.0000"
	Price      int64   `json:"price"`    // minor units, per unit
	Discount   int64   `json:"discount"` // minor units
	TaxPercent Decimal `json:"tax_percent"`
	Category   string  `json:"category"`
}

// PaymentDetails is the "payment" object: what was paid (or, in a
// payment.refunded callback, refunded). Amounts are minor units.
type PaymentDetails struct {
	IsOutgoing        bool      `json:"is_outgoing"`
	PaymentType       string    `json:"payment_type"` // "purchase", "refund", ...
	Amount            int64     `json:"amount"`
	Currency          string    `json:"currency"`
	NetAmount         int64     `json:"net_amount"`
	FeeAmount         int64     `json:"fee_amount"`
	PendingAmount     int64     `json:"pending_amount"`
	PendingUnfreezeOn Timestamp `json:"pending_unfreeze_on"`
	Description       string    `json:"description"`
	PaidOn            Timestamp `json:"paid_on"`
	RemotePaidOn      Timestamp `json:"remote_paid_on"`
}

// IssuerDetails is the merchant as shown on the purchase.
type IssuerDetails struct {
	Website            string        `json:"website"`
	LegalStreetAddress string        `json:"legal_street_address"`
	LegalCountry       string        `json:"legal_country"`
	LegalCity          string        `json:"legal_city"`
	LegalZipCode       string        `json:"legal_zip_code"`
	BankAccounts       []BankAccount `json:"bank_accounts"`
	LegalName          string        `json:"legal_name"`
	BrandName          string        `json:"brand_name"`
	RegistrationNumber string        `json:"registration_number"`
	TaxNumber          string        `json:"tax_number"`
}

// BankAccount is one of the issuer's bank accounts.
type BankAccount struct {
	BankAccount string `json:"bank_account"`
	BankCode    string `json:"bank_code"`
}

// TransactionData describes how the customer paid, or tried to.
type TransactionData struct {
	PaymentMethod string    `json:"payment_method"` // e.g. "visa", "fpx"
	Flow          string    `json:"flow"`           // e.g. "payform", "direct_post"
	Country       string    `json:"country"`
	Attempts      []Attempt `json:"attempts"`
}

// Attempt is one payment attempt.
type Attempt struct {
	Type           string        `json:"type"` // e.g. "execute"
	Flow           string        `json:"flow"`
	Successful     bool          `json:"successful"`
	PaymentMethod  string        `json:"payment_method"`
	Country        string        `json:"country"`
	ClientIP       string        `json:"client_ip"`
	FeeAmount      int64         `json:"fee_amount"`
	ProcessingTime Timestamp     `json:"processing_time"`
	Error          *AttemptError `json:"error"` // nil when successful
}

// AttemptError says why an attempt failed.
type AttemptError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Payment is CHIP Collect's Payment object, the body of payment.refunded:
// a refund (or another money movement) related to a purchase.
type Payment struct {
	ID                 string          `json:"id"`
	Type               string          `json:"type"` // "payment"
	EventType          EventType       `json:"event_type"`
	IsTest             bool            `json:"is_test"`
	BrandID            string          `json:"brand_id"`
	CompanyID          string          `json:"company_id"`
	UserID             string          `json:"user_id"`
	CreatedOn          Timestamp       `json:"created_on"`
	UpdatedOn          Timestamp       `json:"updated_on"`
	Client             Client          `json:"client"`
	Payment            PaymentDetails  `json:"payment"`
	IssuerDetails      IssuerDetails   `json:"issuer_details"`
	TransactionData    TransactionData `json:"transaction_data"`
	RelatedTo          RelatedObject   `json:"related_to"` // the refunded purchase
	Reference          string          `json:"reference"`
	ReferenceGenerated string          `json:"reference_generated"`
}

// Callback is one decoded CHIP callback: the top-level fields every object
// carries, and the typed object. For a purchase.* event Purchase is set;
// for a payment.* event Payment is set; otherwise (payouts, billing, an
// event CHIP adds later) neither is, and the merchant reads Event.Body.
// The choice looks at event_type's prefix first, then at the object's type.
type Callback struct {
	EventType EventType
	ID        string    // the object's id
	Type      string    // the object's type: "purchase", "payment", ...
	UpdatedOn Timestamp // the object's updated_on
	Purchase  *Purchase
	Payment   *Payment
}

// wire decodes any CHIP object in one pass: a Purchase's fields plus what
// a Payment has and a Purchase has not.
type wire struct {
	Purchase
	RelatedTo RelatedObject `json:"related_to"`
}

// Decode decodes a callback body into a Callback. Unknown fields are
// ignored; a body that is not a JSON object, or whose known fields have
// the wrong JSON types, is an error.
func Decode(body []byte) (*Callback, error) {
	c := new(Callback)
	if err := c.decode(body); err != nil {
		return nil, err
	}
	return c, nil
}

// UnmarshalJSON decodes like Decode.
func (c *Callback) UnmarshalJSON(b []byte) error { return c.decode(b) }

func (c *Callback) decode(body []byte) error {
	w := new(wire)
	if err := json.Unmarshal(body, w); err != nil {
		return fmt.Errorf("chip: decoding callback: %w", err)
	}
	*c = Callback{EventType: w.EventType, ID: w.ID, Type: w.Type, UpdatedOn: w.UpdatedOn}
	switch kind := c.kind(); kind {
	case "purchase":
		c.Purchase = &w.Purchase
	case "payment":
		p := &w.Purchase
		pd := PaymentDetails{}
		if p.Payment != nil {
			pd = *p.Payment
		}
		c.Payment = &Payment{
			ID: p.ID, Type: p.Type, EventType: p.EventType, IsTest: p.IsTest,
			BrandID: p.BrandID, CompanyID: p.CompanyID, UserID: p.UserID,
			CreatedOn: p.CreatedOn, UpdatedOn: p.UpdatedOn, Client: p.Client,
			Payment: pd, IssuerDetails: p.IssuerDetails, TransactionData: p.TransactionData,
			RelatedTo: w.RelatedTo, Reference: p.Reference, ReferenceGenerated: p.ReferenceGenerated,
		}
	}
	return nil
}

// kind is "purchase", "payment" or "": the event_type's prefix
// ("purchase." or "payment.") decides, else the object's type.
func (c *Callback) kind() string {
	e := string(c.EventType)
	for _, k := range [...]string{"purchase", "payment"} {
		if len(e) > len(k) && e[:len(k)] == k && e[len(k)] == '.' {
			return k
		}
	}
	switch c.Type {
	case "purchase", "payment":
		return c.Type
	}
	return ""
}

// Key returns the callback's dedup key: id, event_type and updated_on,
// readable, for example "4c5b...:purchase.paid:1745841600". CHIP's
// retries of one event carry the same three; a new state of the object
// changes updated_on.
func (c *Callback) Key() string {
	return c.ID + ":" + string(c.EventType) + ":" + strconv.FormatInt(int64(c.UpdatedOn), 10)
}
