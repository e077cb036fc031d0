package callbacktest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
)

//go:embed testdata/secpaid
var secpaidFixtures embed.FS

// SecPaidTestKey is the 32-character encryption key the bundled encrypted
// fixture (testdata/secpaid/success.encrypted.json, made with OpenSSL)
// uses. For tests only.
const SecPaidTestKey = "0123456789abcdefghijklmnopqrstuv"

// SecPaidTestUserID is the user id in the bundled fixtures.
const SecPaidTestUserID = "b44c4429-4a7b-4e27-85af-c1c2f43f4ffe"

// SecPaidFixture returns a fresh copy of a bundled SecPaid body, by file
// name under testdata/secpaid: "success.json" (nested), "success.flat.json",
// "cancel.flat.json" (with data[Status]), "success.form" (form-encoded),
// "success.encrypted.json" (under SecPaidTestKey), or "api.success.json"
// (a getPayInTransactions reply). It panics for an unknown name, like a
// missing embedded file would at build time.
func SecPaidFixture(name string) []byte {
	b, err := secpaidFixtures.ReadFile("testdata/secpaid/" + name)
	if err != nil {
		panic(fmt.Sprintf("callbacktest: no SecPaid fixture %q", name))
	}
	return b
}

// SecPaidReturnURL returns base with the query SecPaid's redirect adds:
// pay_id, user_id and status, after any query base already has.
func SecPaidReturnURL(base, payID, userID, status string) string {
	q := url.Values{"pay_id": {payID}, "user_id": {userID}, "status": {status}}.Encode()
	if strings.Contains(base, "?") {
		return base + "&" + q
	}
	return base + "?" + q
}

// SecPaidReturnRequest returns the browser's GET of the return URL, ready
// for a handler's ServeHTTP.
func SecPaidReturnRequest(target, payID, userID, status string) *http.Request {
	return httptest.NewRequest(http.MethodGet, SecPaidReturnURL(target, payID, userID, status), nil)
}

// SecPaidNotification is what a Payment Endpoint body says. PayID and
// Amount are written as JSON numbers, as SecPaid does.
type SecPaidNotification struct {
	PayID  string // digits, e.g. "12345"
	Amount string // a decimal, e.g. "49.99"
	UserID string
	Status string // "Success", "success", "cancel"…
	Note   string
}

// SecPaidEncoding is one of the Payment Endpoint's body shapes.
type SecPaidEncoding int

const (
	// SecPaidNested: {"ResponseCode":1,"data":{"pay_id":…,"status":…}}.
	SecPaidNested SecPaidEncoding = iota
	// SecPaidFlat: {"ResponseCode":1,"data[pay_id]":…,"data[status]":…}.
	SecPaidFlat
	// SecPaidFlatCapital: as SecPaidFlat with "data[Status]".
	SecPaidFlatCapital
	// SecPaidForm: the flat keys, form-encoded.
	SecPaidForm
	// SecPaidEncrypted: {"data":"<base64>"}, the nested JSON encrypted.
	SecPaidEncrypted
	// SecPaidEncryptedForm: data=<base64>, form-encoded.
	SecPaidEncryptedForm
)

// SecPaidEncodings lists every encoding, for table tests.
var SecPaidEncodings = []SecPaidEncoding{SecPaidNested, SecPaidFlat, SecPaidFlatCapital, SecPaidForm, SecPaidEncrypted, SecPaidEncryptedForm}

func (e SecPaidEncoding) String() string {
	switch e {
	case SecPaidNested:
		return "nested"
	case SecPaidFlat:
		return "flat"
	case SecPaidFlatCapital:
		return "flat-capital-Status"
	case SecPaidForm:
		return "form"
	case SecPaidEncrypted:
		return "encrypted"
	case SecPaidEncryptedForm:
		return "encrypted-form"
	}
	return fmt.Sprintf("SecPaidEncoding(%d)", int(e))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// SecPaidBody returns n encoded as e and the Content-Type SecPaid sends
// with it. key is the account's encryption key, used by the encrypted
// encodings.
func SecPaidBody(n SecPaidNotification, e SecPaidEncoding, key string) (body []byte, contentType string) {
	nested := fmt.Sprintf(`{"ResponseCode":1,"data":{"pay_id":%s,"note":%s,"amount":%s,"user_id":%s,"status":%s}}`,
		orZero(n.PayID), jsonString(n.Note), orZero(n.Amount), jsonString(n.UserID), jsonString(n.Status))
	status := "status"
	switch e {
	case SecPaidNested:
		return []byte(nested), "application/json"
	case SecPaidFlatCapital:
		status = "Status"
		fallthrough
	case SecPaidFlat:
		return fmt.Appendf(nil, `{"ResponseCode":1,"data[pay_id]":%s,"data[amount]":%s,"data[user_id]":%s,"data[%s]":%s}`,
			orZero(n.PayID), orZero(n.Amount), jsonString(n.UserID), status, jsonString(n.Status)), "application/json"
	case SecPaidForm:
		v := url.Values{
			"ResponseCode": {"1"}, "data[pay_id]": {n.PayID}, "data[amount]": {n.Amount},
			"data[user_id]": {n.UserID}, "data[status]": {n.Status},
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded"
	case SecPaidEncrypted:
		return fmt.Appendf(nil, `{"data":%s}`, jsonString(SecPaidEncrypt(key, []byte(nested)))), "application/json"
	case SecPaidEncryptedForm:
		return []byte(url.Values{"data": {SecPaidEncrypt(key, []byte(nested))}}.Encode()), "application/x-www-form-urlencoded"
	}
	panic(fmt.Sprintf("callbacktest: unknown %v", e))
}

// SecPaidRequest returns SecPaid's POST of n to target, encoded as e.
func SecPaidRequest(target string, n SecPaidNotification, e SecPaidEncoding, key string) *http.Request {
	body, ct := SecPaidBody(n, e, key)
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	return req
}

// SecPaidEncrypt encrypts plaintext as an account with the 32-character
// key does: AES-256-CBC, PKCS#7 padding, the key's first 16 characters as
// the IV, base64 (standard, padded). It panics if key is not 32 bytes.
func SecPaidEncrypt(key string, plaintext []byte) string {
	if len(key) != 32 {
		panic(fmt.Sprintf("callbacktest: SecPaid encryption key is %d bytes, want 32", len(key)))
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		panic(err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, []byte(key[:aes.BlockSize])).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// SecPaidTransaction is one item the fake API lists.
type SecPaidTransaction struct {
	PayID           string `json:"pay_id"`
	UserID          string `json:"user_id"`
	TransactionID   string `json:"transaction_id"`
	Amount          string `json:"amount"`
	Status          string `json:"status"` // "Success", "Pending"
	TransactionType string `json:"transaction_type"`
	IsRefund        string `json:"is_refund"`
	IsDispute       string `json:"is_dispute"`
}

// SecPaidAPI is a fake of SecPaid's getPayInTransactions, listening on
// loopback: it checks the token header, reads pay_id from a JSON, a
// form-encoded or a multipart body (SecPaid's documentation shows all
// three), and answers with the documented envelope and the transactions
// set for that pay_id (an empty list for others). It is safe for
// concurrent use.
type SecPaidAPI struct {
	// URL is the base URL to configure as the client's BaseURL.
	URL string

	srv   *httptest.Server
	token string

	mu       sync.Mutex
	txs      map[string][]SecPaidTransaction
	failures []secpaidFailure
	requests []SecPaidAPIRequest
}

// SecPaidAPIRequest is one request the fake received.
type SecPaidAPIRequest struct {
	PayID       string
	ContentType string // the media type, e.g. "application/json"
	Status      int    // what the fake answered
}

type secpaidFailure struct {
	status     int
	retryAfter string
}

// NewSecPaidAPI starts a fake API accepting token. Close it when done.
func NewSecPaidAPI(token string) *SecPaidAPI {
	a := &SecPaidAPI{token: token, txs: map[string][]SecPaidTransaction{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	return a
}

// Close shuts the fake down.
func (a *SecPaidAPI) Close() { a.srv.Close() }

// Client returns an http.Client for the fake.
func (a *SecPaidAPI) Client() *http.Client { return a.srv.Client() }

// Pay records payID as paid (status "Success") with amount, for userID.
func (a *SecPaidAPI) Pay(payID, amount, userID string) {
	a.Set(payID, SecPaidTransaction{
		PayID: payID, UserID: userID, Amount: amount, Status: "Success",
		TransactionID: "20260520-pi-" + payID, TransactionType: "Basic", IsRefund: "false", IsDispute: "false",
	})
}

// Pend records payID as pending.
func (a *SecPaidAPI) Pend(payID, amount, userID string) {
	a.Set(payID, SecPaidTransaction{PayID: payID, UserID: userID, Amount: amount, Status: "Pending", TransactionType: "Basic"})
}

// Set replaces the transactions listed for payID.
func (a *SecPaidAPI) Set(payID string, txs ...SecPaidTransaction) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.txs[payID] = txs
}

// Fail makes the next calls fail, in order, with the given statuses (a
// transient 503 or 429, or a final 401), each with an optional Retry-After
// value ("" for none).
func (a *SecPaidAPI) Fail(retryAfter string, statuses ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range statuses {
		a.failures = append(a.failures, secpaidFailure{s, retryAfter})
	}
}

// Requests returns the requests received so far.
func (a *SecPaidAPI) Requests() []SecPaidAPIRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]SecPaidAPIRequest(nil), a.requests...)
}

func (a *SecPaidAPI) serve(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	rec := SecPaidAPIRequest{ContentType: mt}
	status, retryAfter, reply := a.answer(r, mt, &rec)
	a.mu.Lock()
	rec.Status = status
	a.requests = append(a.requests, rec)
	a.mu.Unlock()
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

func (a *SecPaidAPI) answer(r *http.Request, mt string, rec *SecPaidAPIRequest) (status int, retryAfter string, reply any) {
	fail := func(msg string) map[string]any {
		return map[string]any{"ResponseCode": 0, "ResponseMsg": msg, "Result": "False", "ServerTime": "CEST"}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/getPayInTransactions" {
		return http.StatusNotFound, "", fail("Not found")
	}
	a.mu.Lock()
	if len(a.failures) > 0 {
		f := a.failures[0]
		a.failures = a.failures[1:]
		a.mu.Unlock()
		return f.status, f.retryAfter, fail("Temporary failure")
	}
	a.mu.Unlock()
	if r.Header.Get("token") != a.token {
		return http.StatusUnauthorized, "", fail("Invalid token")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return http.StatusBadRequest, "", fail("Unreadable body")
	}
	switch mt {
	case "application/json":
		var req map[string]json.RawMessage
		if err := json.Unmarshal(body, &req); err != nil {
			return http.StatusBadRequest, "", fail("Invalid JSON")
		}
		var n json.Number
		if json.Unmarshal(req["pay_id"], &n) == nil {
			rec.PayID = n.String()
		} else {
			_ = json.Unmarshal(req["pay_id"], &rec.PayID)
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return http.StatusBadRequest, "", fail("Invalid form")
		}
		rec.PayID = q.Get("pay_id")
	case "multipart/form-data":
		rc := r.Clone(r.Context())
		rc.Body = io.NopCloser(bytes.NewReader(body))
		if err := rc.ParseMultipartForm(1 << 20); err != nil {
			return http.StatusBadRequest, "", fail("Invalid form")
		}
		rec.PayID = rc.FormValue("pay_id")
	default:
		return http.StatusUnsupportedMediaType, "", fail("Unsupported Content-Type")
	}
	a.mu.Lock()
	txs := append([]SecPaidTransaction{}, a.txs[rec.PayID]...)
	a.mu.Unlock()
	return http.StatusOK, "", map[string]any{
		"data": txs, "totalRecords": len(txs), "ResponseCode": 1,
		"ResponseMsg": "List retrieved successfully", "Result": "True", "ServerTime": "CEST",
	}
}
