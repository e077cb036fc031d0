package secpaid

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// Errors for what cannot be decoded. The handlers answer all of them with
// 400 and a generic body; the error, for the merchant's logs, is precise.
var (
	// ErrMalformed: the query or body is not in any documented shape, or
	// names a field twice with different values.
	ErrMalformed = errors.New("secpaid: malformed callback")
	// ErrUserID: user_id is missing, malformed, or not one of the
	// merchant's configured SecPaid user ids.
	ErrUserID = errors.New("secpaid: missing, invalid or foreign user_id")
	// ErrStatus: status is missing or malformed (or, for a browser
	// return, neither success nor cancel).
	ErrStatus = errors.New("secpaid: missing or invalid status")
	// ErrEncrypted: the body is encrypted but no key is configured.
	ErrEncrypted = errors.New("secpaid: encrypted body but no encryption key configured")
	// ErrDecrypt: the encrypted body is not valid base64, not whole AES
	// blocks, or its PKCS#7 padding is wrong (a wrong key, usually).
	ErrDecrypt = errors.New("secpaid: cannot decrypt body")
)

// Statuses SecPaid reports, lower-cased as Payment.Status holds them.
const (
	StatusSuccess = "success"
	StatusCancel  = "cancel"
)

// Source says which of SecPaid's two messages reported a payment.
type Source string

const (
	// SourceReturn: the customer's browser, redirected to callback_url.
	SourceReturn Source = "return"
	// SourceEndpoint: SecPaid's server, posting to the Payment Endpoint.
	SourceEndpoint Source = "endpoint"
)

// Payment is what SecPaid reported about one payment, typed, and, once
// confirmed, what its API said.
type Payment struct {
	// PayID is the payment link's pay id, decimal digits without leading
	// zeros.
	PayID string `json:"pay_id"`
	// UserID is the SecPaid user id of the link's creator: one of the
	// merchant's configured ids.
	UserID string `json:"user_id"`
	// Status is the reported status, lower-cased: StatusSuccess,
	// StatusCancel, or another status SecPaid may add.
	Status string `json:"status"`
	// Amount is the amount SecPaid's API confirmed when Confirmed is
	// true; otherwise the amount the Payment Endpoint's body claimed
	// (unverified), or the zero Amount (browser returns carry none).
	Amount Amount `json:"amount"`
	// Note is the Payment Endpoint's note (the link's recipient_note), as
	// sent: unverified.
	Note string `json:"note,omitempty"`
	// Source says which message reported the payment.
	Source Source `json:"source"`
	// Confirmed reports whether SecPaid's API confirmed the payment as
	// paid before the merchant's function was called.
	Confirmed bool `json:"confirmed"`
	// Transaction is the API's item that confirmed the payment; nil when
	// not Confirmed.
	Transaction *Transaction `json:"transaction,omitempty"`
}

// ParseReturn parses the query string of a browser return,
// pay_id=…&user_id=…&status=success|cancel. status is compared
// case-insensitively; other parameters (the merchant's own) are ignored;
// a missing, repeated or malformed pay_id, user_id or status is an error
// matching ErrPayID, ErrUserID, ErrStatus or ErrMalformed. It does not
// check user_id against a configuration: the handler does.
func ParseReturn(rawQuery string) (Payment, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Payment{}, fmt.Errorf("%w: query: %w", ErrMalformed, err)
	}
	f := fields{}
	for _, name := range []string{"pay_id", "user_id", "status"} {
		vs := q[name]
		if len(vs) > 1 {
			return Payment{}, fmt.Errorf("%w: %s given %d times", ErrMalformed, name, len(vs))
		}
		if len(vs) == 1 {
			f[name] = vs[0]
		}
	}
	p, err := f.payment(SourceReturn)
	if err != nil {
		return Payment{}, err
	}
	if p.Status != StatusSuccess && p.Status != StatusCancel {
		return Payment{}, fmt.Errorf("%w: %q is neither success nor cancel", ErrStatus, p.Status)
	}
	return p, nil
}

// ParseNotification parses a Payment Endpoint body in any documented
// shape: nested JSON {"ResponseCode":1,"data":{"pay_id":…,"status":…}},
// flat JSON {"data[pay_id]":…,"data[status]":…} (or "data[Status]"), the
// same keys form-encoded, and the encrypted {"data":"<base64>"} (JSON or
// form), decrypted with key (see Decrypt) and then read as any of the
// other shapes. Field names inside data are matched case-insensitively;
// numbers are kept as written (amount 49.99 stays exactly "49.99"). An
// empty key refuses encrypted bodies with ErrEncrypted. contentType
// chooses form decoding for application/x-www-form-urlencoded; otherwise a
// body starting with "{" is JSON and anything else is tried as a form.
func ParseNotification(contentType string, body []byte, key string) (Payment, error) {
	f, err := notificationFields(contentType, body, key, true)
	if err != nil {
		return Payment{}, err
	}
	return f.payment(SourceEndpoint)
}

// fields holds a body's values by lower-cased field name.
type fields map[string]string

func (f fields) set(name, value string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	if old, ok := f[name]; ok && old != value {
		return fmt.Errorf("%w: field %q given twice with different values", ErrMalformed, name)
	}
	f[name] = value
	return nil
}

func notificationFields(contentType string, body []byte, key string, outer bool) (fields, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if mt == "application/x-www-form-urlencoded" || trimmed[0] != '{' {
		return formFields(trimmed, key, outer)
	}
	return jsonFields(trimmed, key, outer)
}

// innerName returns x for a key "data[x]".
func innerName(k string) (string, bool) {
	rest, ok := strings.CutPrefix(k, "data[")
	if !ok || !strings.HasSuffix(rest, "]") || len(rest) < 2 {
		return "", false
	}
	return rest[:len(rest)-1], true
}

func formFields(body []byte, key string, outer bool) (fields, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: form: %w", ErrMalformed, err)
	}
	if data, ok := q["data"]; ok {
		if len(data) != 1 {
			return nil, fmt.Errorf("%w: data given %d times", ErrMalformed, len(data))
		}
		return decrypted(data[0], key, outer)
	}
	f := fields{}
	for k, vs := range q {
		name, ok := innerName(k)
		if !ok {
			if outer {
				continue // ResponseCode and anything else outside data
			}
			name = k
		}
		for _, v := range vs {
			if err := f.set(name, v); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

func jsonFields(body []byte, key string, outer bool) (fields, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("%w: JSON: %w", ErrMalformed, err)
	}
	f := fields{}
	for k, raw := range top {
		switch name, flat := innerName(k); {
		case flat:
			if err := f.setJSON(name, raw); err != nil {
				return nil, err
			}
		case strings.EqualFold(k, "data"):
			raw = bytes.TrimSpace(raw)
			switch {
			case len(raw) > 0 && raw[0] == '"':
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, fmt.Errorf("%w: data: %w", ErrMalformed, err)
				}
				return decrypted(s, key, outer)
			case len(raw) > 0 && raw[0] == '{':
				var inner map[string]json.RawMessage
				if err := json.Unmarshal(raw, &inner); err != nil {
					return nil, fmt.Errorf("%w: data: %w", ErrMalformed, err)
				}
				for name, v := range inner {
					if err := f.setJSON(name, v); err != nil {
						return nil, err
					}
				}
			default:
				return nil, fmt.Errorf("%w: data is neither an object nor an encrypted string", ErrMalformed)
			}
		case !outer:
			// A decrypted body may hold data's fields at the top.
			if err := f.setJSON(k, raw); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

func (f fields) setJSON(name string, raw json.RawMessage) error {
	v, err := scalar(raw)
	if err != nil {
		// Only the fields this package reads must be values.
		switch strings.ToLower(name) {
		case "pay_id", "user_id", "status", "amount", "note":
			return fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
		}
		return nil
	}
	return f.set(name, v)
}

func decrypted(data, key string, outer bool) (fields, error) {
	if !outer {
		return nil, fmt.Errorf("%w: encrypted data inside encrypted data", ErrMalformed)
	}
	if key == "" {
		return nil, ErrEncrypted
	}
	plain, err := Decrypt(key, data)
	if err != nil {
		return nil, err
	}
	return notificationFields("", plain, key, false)
}

// Decrypt decrypts the data of an encrypted Payment Endpoint body: data is
// base64 (standard alphabet, padded or not; whitespace ignored) of
// AES-256-CBC ciphertext with PKCS#7 padding, under key, the account's
// 32-character encryption key taken as bytes, with its first 16 characters
// as the IV. It returns an error matching ErrDecrypt for bad base64, a
// length that is not whole blocks, or bad padding, and one matching
// ErrConfig for a key that is not 32 bytes; it never panics.
//
// Encryption gives secrecy, not authenticity: whoever knows the key can
// produce a valid body, and a fixed IV reveals equal bodies. A decrypted
// body is no more trustworthy than a plain one; confirm it.
func Decrypt(key, data string) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: encryption key is %d bytes, want 32", ErrConfig, len(key))
	}
	data = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, data)
	enc := base64.StdEncoding
	if !strings.HasSuffix(data, "=") && len(data)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	ct, err := enc.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %w", ErrDecrypt, err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of AES blocks", ErrDecrypt, len(ct))
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, []byte(key[:aes.BlockSize])).CryptBlocks(plain, ct)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
		}
	}
	return plain[:len(plain)-n], nil
}

// Limits on reported values; SecPaid's are far shorter.
const (
	maxUserID = 128
	maxStatus = 32
)

// payment validates f into a Payment.
func (f fields) payment(src Source) (Payment, error) {
	p := Payment{Source: src, Note: f["note"]}
	id := strings.TrimSpace(f["pay_id"])
	if !validPayID(id) {
		return Payment{}, fmt.Errorf("%w: %q", ErrPayID, truncate(id))
	}
	p.PayID = canonicalPayID(id)
	p.UserID = f["user_id"]
	if !validUserID(p.UserID) {
		return Payment{}, fmt.Errorf("%w: %q", ErrUserID, truncate(p.UserID))
	}
	st := strings.TrimSpace(f["status"])
	if !validStatus(st) {
		return Payment{}, fmt.Errorf("%w: %q", ErrStatus, truncate(st))
	}
	p.Status = strings.ToLower(st)
	if a := strings.TrimSpace(f["amount"]); a != "" {
		amount, err := ParseAmount(a)
		if err != nil {
			return Payment{}, err
		}
		p.Amount = amount
	}
	return p, nil
}

func validUserID(s string) bool {
	if s == "" || len(s) > maxUserID {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func validStatus(s string) bool {
	if s == "" || len(s) > maxStatus {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// truncate shortens an untrusted value quoted in an error.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
