package callbacktest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
)

//go:embed testdata/chip/*.json
var chipFixtures embed.FS

//go:embed testdata/chip/test_key.pem
var chipTestKeyPEM []byte

//go:embed testdata/chip/test_key.pub.pem
var chipTestPublicKeyPEM string

var chipTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	block, _ := pem.Decode(chipTestKeyPEM)
	if block == nil {
		panic("callbacktest: bundled CHIP test key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		panic("callbacktest: bundled CHIP test key: " + err.Error())
	}
	return k.(*rsa.PrivateKey)
})

// ChipTestKey returns the bundled RSA-2048 test private key, the one
// ChipRequest signs with. It is published with this package: TEST ONLY,
// never configure it (or its public key) in production. The same key is
// returned on every call; do not modify it.
func ChipTestKey() *rsa.PrivateKey { return chipTestKey() }

// ChipTestPublicKeyPEM returns the public half of ChipTestKey as a PEM
// "PUBLIC KEY" block (with a leading TEST ONLY note, which PEM parsers
// skip), ready for chip.Config.PublicKeys in tests.
func ChipTestPublicKeyPEM() string { return chipTestPublicKeyPEM }

// ChipEvents returns the event types that have a bundled fixture, sorted:
// every event type CHIP Collect is known to send.
func ChipEvents() []string { return fixtureNames(chipFixtures, "testdata/chip") }

// ChipFixture returns the bundled body of a CHIP callback for eventType,
// for example "purchase.paid": a realistic object (a Purchase, a Payment
// for payment.refunded) in CHIP's format, with no trailing newline. The
// fixtures are synthesized, not captured: purchase fixtures follow the
// field layout of CHIP's own SDK test purchase, with example.com contact
// data and documentation IP addresses; the payout and
// billing_template_client objects are a best reading of CHIP's API
// reference, so code handling them should rely on Event.Body
// defensively. Each call returns a fresh copy, which the caller may edit
// (and then sign). It panics if there is no fixture for eventType; see
// ChipEvents.
func ChipFixture(eventType string) []byte {
	return fixture(chipFixtures, "testdata/chip", "CHIP", eventType)
}

// SignChip returns the X-Signature header value CHIP would send for body
// signed with key: base64 (standard, padded) of an RSA PKCS#1 v1.5
// signature over SHA-256 of body. A nil key means ChipTestKey. It panics
// if signing fails, which only an invalid key makes happen.
func SignChip(body []byte, key *rsa.PrivateKey) string {
	if key == nil {
		key = ChipTestKey()
	}
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("callbacktest: SignChip: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// ChipRequest returns a POST of body to target, as CHIP sends it, ready
// for a handler's ServeHTTP: Content-Type application/json and an
// X-Signature made with ChipTestKey. Configure the handler with
// ChipTestPublicKeyPEM. To sign with another key, or to tamper with the
// request, build it with httptest.NewRequest and SignChip.
//
//	req := callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture("purchase.paid"))
func ChipRequest(target string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", SignChip(body, nil))
	return req
}
