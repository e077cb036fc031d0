package ixopay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ResultCode is a callback's "result". The set is IXOPAY's; a value not
// listed here is kept as sent.
type ResultCode string

// The documented results.
const (
	ResultOK             ResultCode = "OK"
	ResultPending        ResultCode = "PENDING"
	ResultError          ResultCode = "ERROR"
	ResultInvalidRequest ResultCode = "INVALID_REQUEST"
)

// TransactionType is a callback's "transactionType". The set is open: a
// type not listed here is kept as sent and its callback acknowledged.
type TransactionType string

// The documented transaction types.
const (
	Debit              TransactionType = "DEBIT"
	Capture            TransactionType = "CAPTURE"
	Deregister         TransactionType = "DEREGISTER"
	Preauthorize       TransactionType = "PREAUTHORIZE"
	Refund             TransactionType = "REFUND"
	Register           TransactionType = "REGISTER"
	Void               TransactionType = "VOID"
	Chargeback         TransactionType = "CHARGEBACK"
	ChargebackReversal TransactionType = "CHARGEBACK-REVERSAL"
	Payout             TransactionType = "PAYOUT"
)

// Result is the body of an IXOPAY (Transaction API v3) callback: the
// result of one transaction. Unknown fields are ignored; the raw body stays
// available in Event.Body. Several callbacks can arrive for one
// transaction (a PENDING then an OK, a failure then a success, a
// chargeback), each with its own dedup key ([Result.Key]).
type Result struct {
	Result                ResultCode      `json:"result"`
	UUID                  string          `json:"uuid"`
	MerchantTransactionID string          `json:"merchantTransactionId"`
	PurchaseID            string          `json:"purchaseId"`
	TransactionType       TransactionType `json:"transactionType"`
	TransactionSubType    string          `json:"transactionSubType"`
	PaymentMethod         string          `json:"paymentMethod"`
	Amount                Amount          `json:"amount"`
	Currency              string          `json:"currency"`
	MerchantMetaData      string          `json:"merchantMetaData"`

	// Message, Code, AdapterMessage and AdapterCode describe a failure
	// (result ERROR or INVALID_REQUEST); Errors lists every error.
	Message        string        `json:"message"`
	Code           Text          `json:"code"`
	AdapterMessage string        `json:"adapterMessage"`
	AdapterCode    Text          `json:"adapterCode"`
	Errors         []ErrorDetail `json:"errors"`

	ExtraData              ExtraData               `json:"extraData"`
	ReturnData             *ReturnData             `json:"returnData"`
	Customer               *Customer               `json:"customer"`
	CustomerProfileData    *CustomerProfileData    `json:"customerProfileData"`
	ScheduleData           *ScheduleData           `json:"scheduleData"`
	ChargebackData         *ChargebackData         `json:"chargebackData"`
	ChargebackReversalData *ChargebackReversalData `json:"chargebackReversalData"`
}

// Key returns the callback's natural identity, uuid + transactionType +
// result, for example "a1b2c3:DEBIT:OK": the dedup key.
func (r *Result) Key() string {
	return r.UUID + ":" + string(r.TransactionType) + ":" + string(r.Result)
}

// Name returns the event's name, transactionType "." result, for example
// "DEBIT.OK".
func (r *Result) Name() string { return string(r.TransactionType) + "." + string(r.Result) }

// Amount is a decimal amount exactly as IXOPAY sent it, for example "9.99":
// never a float. It decodes from a JSON string or number whose text is a
// plain decimal (digits, an optional leading '-', an optional fraction), and
// from null or "" as the empty Amount.
type Amount string

// ErrAmount matches the errors of Amount's decoding and of [Amount.Minor].
var ErrAmount = errors.New("ixopay: invalid amount")

// UnmarshalJSON implements json.Unmarshaler.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*a = ""
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if s != "" && !isDecimal(s) {
		return fmt.Errorf("%w: %q is not a plain decimal", ErrAmount, s)
	}
	*a = Amount(s)
	return nil
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") {
		return false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// String returns the amount as sent.
func (a Amount) String() string { return string(a) }

// Minor returns the amount in minor units with the given number of
// decimals (2 for EUR: "9.99" is 999, "10" is 1000). It returns an error
// matching ErrAmount for the empty Amount, an amount with more non-zero
// decimals than asked for, or one that overflows an int64.
func (a Amount) Minor(decimals int) (int64, error) {
	s := string(a)
	if s == "" || !isDecimal(s) || decimals < 0 || decimals > 18 {
		return 0, fmt.Errorf("%w: %q with %d decimals", ErrAmount, s, decimals)
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(frac) > decimals {
		if strings.Trim(frac[decimals:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimals", ErrAmount, s, decimals)
		}
		frac = frac[:decimals]
	}
	frac += strings.Repeat("0", decimals-len(frac))
	n, err := strconv.ParseUint(whole+frac, 10, 64)
	if err != nil || n > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %q overflows", ErrAmount, s)
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// Text is a value IXOPAY documents as a string but may send as a number or
// a boolean (error codes, card expiry): it decodes from any JSON scalar and
// keeps its text ("05", 2003 as "2003", true as "true"); null is "".
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("ixopay: empty JSON value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case string(b) == "null":
		*t = ""
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("ixopay: expected a string, number or boolean, got %.20s", b)
	default:
		*t = Text(b)
	}
	return nil
}

// Flag is a boolean that IXOPAY may send as a JSON boolean or as a string
// ("false", "true", "0", "1"); null and "" are false.
type Flag bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *Flag) UnmarshalJSON(b []byte) error {
	var t Text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if t == "" {
		*f = false
		return nil
	}
	v, err := strconv.ParseBool(string(t))
	if err != nil {
		return fmt.Errorf("ixopay: %q is not a boolean", string(t))
	}
	*f = Flag(v)
	return nil
}

// ExtraData holds free-form key-value data. String values are kept as
// sent; other values as their JSON text. It decodes from an object, and
// from null or an empty array (how PHP encodes an empty map) as nil.
type ExtraData map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (e *ExtraData) UnmarshalJSON(b []byte) error {
	if emptyJSON(b) {
		*e = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m := make(ExtraData, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			m[k] = s
		} else {
			m[k] = string(v)
		}
	}
	*e = m
	return nil
}

// emptyJSON reports whether b is null or an empty array: what PHP's
// encoder writes for an absent or empty object.
func emptyJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return true
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return false
	}
	return len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}

// ErrorDetail is one entry of Result.Errors. The keys "message"/"code" and
// "errorMessage"/"errorCode" are both accepted.
type ErrorDetail struct {
	Message        string
	Code           Text
	AdapterMessage string
	AdapterCode    Text
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *ErrorDetail) UnmarshalJSON(b []byte) error {
	var w struct {
		Message        string `json:"message"`
		ErrorMessage   string `json:"errorMessage"`
		Code           Text   `json:"code"`
		ErrorCode      Text   `json:"errorCode"`
		AdapterMessage string `json:"adapterMessage"`
		AdapterCode    Text   `json:"adapterCode"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = ErrorDetail{Message: w.Message, Code: w.Code, AdapterMessage: w.AdapterMessage, AdapterCode: w.AdapterCode}
	if e.Message == "" {
		e.Message = w.ErrorMessage
	}
	if e.Code == "" {
		e.Code = w.ErrorCode
	}
	return nil
}

// The kinds of ReturnData, as named by its "_TYPE" field or its single
// key.
const (
	CardDataType   = "cardData"
	PhoneDataType  = "phoneData"
	IBANDataType   = "ibanData"
	WalletDataType = "walletData"
)

// ReturnData is what the payment instrument returned: card, phone, IBAN
// or wallet data. IXOPAY documents two shapes and both are accepted: flat,
// with a "_TYPE" field such as "cardData" beside the data's fields, and
// nested, {"cardData": {...}}. Type says which; the matching pointer is
// set. Raw keeps the object as sent, for a type this package does not know.
type ReturnData struct {
	Type   string
	Card   *CardData
	Phone  *PhoneData
	IBAN   *IBANData
	Wallet *WalletData
	Raw    json.RawMessage
}

// UnmarshalJSON implements json.Unmarshaler. null and [] leave the
// ReturnData empty.
func (d *ReturnData) UnmarshalJSON(b []byte) error {
	*d = ReturnData{}
	if emptyJSON(b) {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	d.Raw = append(json.RawMessage(nil), b...)
	data := b
	if t, ok := keys["_TYPE"]; ok {
		if err := json.Unmarshal(t, &d.Type); err != nil {
			return fmt.Errorf("ixopay: returnData._TYPE: %w", err)
		}
	} else if len(keys) == 1 {
		for k, v := range keys {
			d.Type, data = k, v
		}
	}
	var target any
	switch d.Type {
	case CardDataType:
		d.Card = new(CardData)
		target = d.Card
	case PhoneDataType:
		d.Phone = new(PhoneData)
		target = d.Phone
	case IBANDataType:
		d.IBAN = new(IBANData)
		target = d.IBAN
	case WalletDataType:
		d.Wallet = new(WalletData)
		target = d.Wallet
	default:
		return nil // unknown kind: Raw has it
	}
	if err := json.Unmarshal(data, target); err != nil {
		return fmt.Errorf("ixopay: returnData %s: %w", d.Type, err)
	}
	return nil
}

// CardData is the returned card data. Expiry fields decode from strings
// or numbers.
type CardData struct {
	Type                string `json:"type"`
	FirstName           string `json:"firstName"`
	LastName            string `json:"lastName"`
	Country             string `json:"country"`
	CardHolder          string `json:"cardHolder"`
	ExpiryMonth         Text   `json:"expiryMonth"`
	ExpiryYear          Text   `json:"expiryYear"`
	FirstSixDigits      Text   `json:"firstSixDigits"`
	LastFourDigits      Text   `json:"lastFourDigits"`
	Fingerprint         string `json:"fingerprint"`
	MerchantFingerprint string `json:"merchantFingerprint"`
	BinBrand            string `json:"binBrand"`
	BinBank             string `json:"binBank"`
	BinType             string `json:"binType"`
	BinLevel            string `json:"binLevel"`
	BinCountry          string `json:"binCountry"`
	ThreeDSecure        string `json:"threeDSecure"`
	ECI                 Text   `json:"eci"`
}

// PhoneData is the returned phone (carrier billing) data.
type PhoneData struct {
	PhoneNumber string `json:"phoneNumber"`
	Country     string `json:"country"`
	Operator    string `json:"operator"`
}

// IBANData is the returned bank account data.
type IBANData struct {
	AccountOwner     string `json:"accountOwner"`
	IBAN             string `json:"iban"`
	BIC              string `json:"bic"`
	MandateReference string `json:"mandateReference"`
	MandateDate      string `json:"mandateDate"`
}

// WalletData is the returned wallet data.
type WalletData struct {
	WalletReferenceID      string `json:"walletReferenceId"`
	WalletOwner            string `json:"walletOwner"`
	WalletOwnerFirstName   string `json:"walletOwnerFirstName"`
	WalletOwnerLastName    string `json:"walletOwnerLastName"`
	WalletOwnerCountryCode string `json:"walletOwnerCountryCode"`
	WalletType             string `json:"walletType"`
}

// Customer is the customer as the transaction carried it. EmailVerified
// arrives as the string "false" in IXOPAY's examples, or as a boolean.
type Customer struct {
	Identification    string    `json:"identification"`
	FirstName         string    `json:"firstName"`
	LastName          string    `json:"lastName"`
	BirthDate         string    `json:"birthDate"`
	Gender            string    `json:"gender"`
	BillingAddress1   string    `json:"billingAddress1"`
	BillingAddress2   string    `json:"billingAddress2"`
	BillingCity       string    `json:"billingCity"`
	BillingPostcode   string    `json:"billingPostcode"`
	BillingState      string    `json:"billingState"`
	BillingCountry    string    `json:"billingCountry"`
	BillingPhone      string    `json:"billingPhone"`
	ShippingFirstName string    `json:"shippingFirstName"`
	ShippingLastName  string    `json:"shippingLastName"`
	ShippingCompany   string    `json:"shippingCompany"`
	ShippingAddress1  string    `json:"shippingAddress1"`
	ShippingAddress2  string    `json:"shippingAddress2"`
	ShippingCity      string    `json:"shippingCity"`
	ShippingPostcode  string    `json:"shippingPostcode"`
	ShippingState     string    `json:"shippingState"`
	ShippingCountry   string    `json:"shippingCountry"`
	ShippingPhone     string    `json:"shippingPhone"`
	Company           string    `json:"company"`
	Email             string    `json:"email"`
	EmailVerified     Flag      `json:"emailVerified"`
	IPAddress         string    `json:"ipAddress"`
	NationalID        string    `json:"nationalId"`
	ExtraData         ExtraData `json:"extraData"`
}

// CustomerProfileData links the transaction to a stored customer profile.
type CustomerProfileData struct {
	ProfileGUID            string `json:"profileGuid"`
	CustomerIdentification string `json:"customerIdentification"`
	MarkAsPreferred        Flag   `json:"markAsPreferred"`
}

// ScheduleData describes a recurring schedule the transaction belongs to
// or created. ScheduledAt is kept as sent.
type ScheduleData struct {
	ScheduleID     string `json:"scheduleId"`
	ScheduleStatus string `json:"scheduleStatus"`
	ScheduledAt    string `json:"scheduledAt"`
}

// ChargebackData describes a chargeback (transactionType CHARGEBACK).
// ChargebackDateTime is kept as sent.
type ChargebackData struct {
	OriginalUUID                  string `json:"originalUuid"`
	OriginalMerchantTransactionID string `json:"originalMerchantTransactionId"`
	Amount                        Amount `json:"amount"`
	Currency                      string `json:"currency"`
	Reason                        string `json:"reason"`
	ChargebackDateTime            string `json:"chargebackDateTime"`
}

// ChargebackReversalData describes a chargeback reversal (transactionType
// CHARGEBACK-REVERSAL). ReversalDateTime is kept as sent.
type ChargebackReversalData struct {
	OriginalUUID                  string `json:"originalUuid"`
	OriginalMerchantTransactionID string `json:"originalMerchantTransactionId"`
	ChargebackUUID                string `json:"chargebackUuid"`
	Amount                        Amount `json:"amount"`
	Currency                      string `json:"currency"`
	Reason                        string `json:"reason"`
	ReversalDateTime              string `json:"reversalDateTime"`
}

// The object types below decode null and [] (how PHP encodes an empty map)
// as their zero value.

// UnmarshalJSON implements json.Unmarshaler.
func (c *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	return decodeObject(b, (*plain)(c))
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *CustomerProfileData) UnmarshalJSON(b []byte) error {
	type plain CustomerProfileData
	return decodeObject(b, (*plain)(c))
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *ScheduleData) UnmarshalJSON(b []byte) error {
	type plain ScheduleData
	return decodeObject(b, (*plain)(s))
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *ChargebackData) UnmarshalJSON(b []byte) error {
	type plain ChargebackData
	return decodeObject(b, (*plain)(c))
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *ChargebackReversalData) UnmarshalJSON(b []byte) error {
	type plain ChargebackReversalData
	return decodeObject(b, (*plain)(c))
}

func decodeObject[T any](b []byte, p *T) error {
	if emptyJSON(b) {
		var zero T
		*p = zero
		return nil
	}
	return json.Unmarshal(b, p)
}
