package callbacktest

import (
	"bytes"
	"embed"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/paycallback/paycallback/verify"
)

//go:embed testdata/ixopay/*.json
var ixopayFixtures embed.FS

// IXOPAYContentType is the Content-Type IXOPAY sends, and IXOPAYRequest
// signs.
const IXOPAYContentType = "application/json; charset=utf-8"

// IXOPAYEvents returns the names of the bundled IXOPAY fixtures, sorted.
// A name is the lower-case transactionType and result joined by a dot:
// chargeback.ok, chargeback-reversal.ok, debit.error, debit.ok,
// debit.pending, payout.ok, refund.ok, register.ok.
func IXOPAYEvents() []string { return fixtureNames(ixopayFixtures, "testdata/ixopay") }

// IXOPAYFixture returns the bundled body of an IXOPAY callback, for
// example IXOPAYFixture("debit.ok"): a realistic, scrubbed transaction
// result in IXOPAY's format, with no trailing newline. Each call returns a
// fresh copy, which the caller may edit (and then sign). It panics if
// there is no such fixture; see IXOPAYEvents.
func IXOPAYFixture(name string) []byte {
	return fixture(ixopayFixtures, "testdata/ixopay", "IXOPAY", name)
}

// IXOPAYRequest returns a POST of body to target (path and query string),
// signed as IXOPAY signs it with secret, ready for a handler's ServeHTTP:
// Content-Type IXOPAYContentType, Date set to date in HTTP format (a zero
// date means now), and X-Signature over the SHA-512 of body. Configure the
// handler with the same secret and, in tests, a clock near date.
//
//	req := callbacktest.IXOPAYRequest("test-secret", "/callbacks/ixopay?shop=1",
//		callbacktest.IXOPAYFixture("debit.ok"), now)
//
// For the legacy MD5 variant, X-Date, or a request to tamper with, build it
// with httptest.NewRequest, set its headers and call SignIXOPAY.
func IXOPAYRequest(secret, target string, body []byte, date time.Time) *http.Request {
	if date.IsZero() {
		date = time.Now()
	}
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", IXOPAYContentType)
	req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	SignIXOPAY(req, body, secret, verify.HMACSHA512)
	return req
}

// SignIXOPAY sets r's X-Signature header to IXOPAY's signature of r with
// body under secret, using digest d for the body hash: over r's method,
// request target (r.RequestURI, else r.URL.RequestURI()), Content-Type,
// and X-Date header if set, else Date, exactly as they are on r. Set
// every header before signing. It accepts any secret, the empty one
// included. It does not read r.Body.
func SignIXOPAY(r *http.Request, body []byte, secret string, d verify.HMACDigest) {
	req := verify.FromHTTP(r, body)
	date := r.Header.Get(verify.HMACDateHeader)
	if _, ok := r.Header[verify.HMACDateHeader]; !ok {
		date = r.Header.Get("Date")
	}
	msg := verify.HMACMessage(d, req.Method, body, r.Header.Get("Content-Type"), date, req.RequestURI)
	r.Header.Set(verify.HMACSignatureHeader, verify.SignHMAC(secret, msg))
}
