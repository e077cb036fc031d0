package callbacktest

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
)

//go:embed testdata/avarda/purchase.completed.json
var avardaCompleted []byte

// AvardaFixture returns the bundled body of Avarda's purchase-completed
// callback, exactly as Avarda sends it (with a trailing newline, which JSON
// decoding ignores). Each call returns a fresh copy.
func AvardaFixture() []byte { return bytes.Clone(avardaCompleted) }

// AvardaBody returns the body Avarda posts for purchaseID.
func AvardaBody(purchaseID string) []byte {
	b, _ := json.Marshal(struct {
		PurchaseID string `json:"purchaseId"`
	}{purchaseID})
	return b
}

// NewPurchaseID returns a random purchase id in Avarda's format: 32
// lower-case hex digits.
func NewPurchaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AvardaRequest returns a POST to target, ready for a handler's ServeHTTP,
// as Avarda sends it for purchaseID (a fresh NewPurchaseID when empty),
// with Content-Type application/json and, unless authorization is empty,
// that Authorization header value.
func AvardaRequest(target, purchaseID, authorization string) *http.Request {
	if purchaseID == "" {
		purchaseID = NewPurchaseID()
	}
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(AvardaBody(purchaseID)))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

// BasicAuthorization returns the Authorization header value for HTTP Basic
// with user and password.
func BasicAuthorization(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// BearerAuthorization returns the Authorization header value for token.
func BearerAuthorization(token string) string { return "Bearer " + token }
