// Package verify authenticates payment providers' callbacks.
//
// Each mechanism is a [Verifier]: it looks at a [Request] (the method, the raw
// request target, the headers and the raw body bytes, exactly as received) and
// returns nil or an error matching one of this package's sentinels with
// [errors.Is]. Nothing here decodes JSON or writes HTTP replies, so every
// verifier can be used on its own from any router or framework:
//
//	v, err := verify.NewAuthorization(verify.AuthorizationConfig{
//		Bearer: []string{os.Getenv("AVARDA_CALLBACK_TOKEN")},
//	})
//	...
//	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	if err := v.Verify(r.Context(), verify.FromHTTP(r, body)); err != nil {
//		http.Error(w, "unauthorized", http.StatusUnauthorized)
//		return
//	}
//
// Verifiers fail closed: constructing one with no key, an empty secret or an
// empty credential list returns an error matching [ErrConfig], never a
// verifier that accepts everything. Secrets are compared in constant time,
// and several keys or secrets may be valid at once, for rotation.
package verify

import (
	"context"
	"errors"
	"net/http"
)

// Sentinel errors. Every error a Verifier returns matches exactly one of
// them with errors.Is; the wrapping error's text says precisely what failed,
// for the merchant's logs. What a sender is told stays generic.
var (
	// ErrMissing means the request carries no credentials or no signature.
	ErrMissing = errors.New("verify: credentials or signature missing")
	// ErrMalformed means a credential, signature or date header is present
	// but cannot be parsed (bad base64, wrong length, repeated header).
	ErrMalformed = errors.New("verify: malformed credentials or signature")
	// ErrCredentials means the credentials were parsed but none matches.
	ErrCredentials = errors.New("verify: credentials rejected")
	// ErrSignature means the signature was parsed but does not match the
	// request under any configured key.
	ErrSignature = errors.New("verify: signature mismatch")
	// ErrStale means a signed date is older than the accepted maximum age,
	// or further in the future than the accepted clock skew.
	ErrStale = errors.New("verify: request date outside tolerance")
	// ErrUnavailable means the verifier could not reach what it needs to
	// decide (for example a remote public key source). It is the only
	// sentinel that does not say the request is inauthentic: callers
	// should answer it with a retryable 503, not a 401.
	ErrUnavailable = errors.New("verify: key source unavailable")
	// ErrConfig is returned by constructors given an unsafe or invalid
	// configuration: no key, an empty secret, an empty credential.
	ErrConfig = errors.New("verify: invalid configuration")
)

// Request is what a Verifier inspects: the parts of an HTTP request that
// providers sign or authenticate, as received. Body is the raw body bytes,
// never a re-encoding of a decoded value.
type Request struct {
	// Method is the HTTP method, for example "POST".
	Method string
	// RequestURI is the raw request target, path plus query string, as it
	// appeared on the request line (http.Request.RequestURI), not
	// URL.Path.
	RequestURI string
	// Header holds the request headers. Verifiers only read it.
	Header http.Header
	// Body is the raw request body.
	Body []byte
}

// FromHTTP returns the Request for r with the given raw body, which the
// caller has already read (with a size limit) from r.Body. When r was built
// by a client or by httptest and has no RequestURI, the target is taken
// from r.URL.RequestURI().
func FromHTTP(r *http.Request, body []byte) *Request {
	uri := r.RequestURI
	if uri == "" && r.URL != nil {
		uri = r.URL.RequestURI()
	}
	return &Request{Method: r.Method, RequestURI: uri, Header: r.Header, Body: body}
}

// A Verifier authenticates one request. Implementations in this package are
// safe for concurrent use, never modify the Request, and return nil or an
// error that matches one of the package's sentinels.
type Verifier interface {
	Verify(ctx context.Context, req *Request) error
}

// Func adapts an ordinary function to the Verifier interface.
type Func func(ctx context.Context, req *Request) error

// Verify calls f(ctx, req).
func (f Func) Verify(ctx context.Context, req *Request) error { return f(ctx, req) }
