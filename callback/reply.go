package callback

import (
	"net/http"
	"strconv"
	"strings"
)

// Outcome is what happened to one delivery. Each Outcome maps to exactly
// one reply, in [WriteReply]; that mapping is the only place in the library
// where statuses are chosen.
type Outcome int

const (
	// Processed: the merchant's function ran and succeeded now.
	Processed Outcome = iota + 1
	// Duplicate: the delivery's key was already processed; the function
	// was not called and the provider gets the same acknowledgement.
	Duplicate
	// InProgress: another delivery of the same key is being processed.
	InProgress
	// MethodNotAllowed: the request used a method the handler does not serve.
	MethodNotAllowed
	// TooLarge: the body exceeded the configured limit.
	TooLarge
	// Unauthorized: credentials or signature missing or wrong.
	Unauthorized
	// BadRequest: authenticated, but the payload could not be decoded or
	// lacks what identifies it.
	BadRequest
	// Unconfirmed: the provider's API did not (yet) confirm what the
	// callback claims; the function was not called.
	Unconfirmed
	// Failed: the merchant's function returned an error or panicked.
	Failed
	// Timeout: the merchant's function ran past the processing deadline.
	Timeout
	// Unavailable: the dedup store, or something the verifier or confirmer
	// depends on, could not be reached.
	Unavailable
)

var outcomeNames = [...]string{
	Processed:        "processed",
	Duplicate:        "duplicate",
	InProgress:       "in-progress",
	MethodNotAllowed: "method-not-allowed",
	TooLarge:         "too-large",
	Unauthorized:     "unauthorized",
	BadRequest:       "bad-request",
	Unconfirmed:      "unconfirmed",
	Failed:           "failed",
	Timeout:          "timeout",
	Unavailable:      "unavailable",
}

func (o Outcome) String() string {
	if o > 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Acked reports whether the outcome is answered with the provider's
// acknowledgement, which tells the provider to stop redelivering.
func (o Outcome) Acked() bool { return o == Processed || o == Duplicate }

// Ack is a provider's acknowledgement: the reply that makes it stop
// redelivering. The zero Ack is 200 with Content-Type
// "text/plain; charset=utf-8" and the body "OK".
type Ack struct {
	Status      int    // default 200
	ContentType string // default "text/plain; charset=utf-8"
	Body        string // default "OK"
}

func (a Ack) withDefaults() Ack {
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	if a.ContentType == "" {
		a.ContentType = "text/plain; charset=utf-8"
	}
	if a.Body == "" {
		a.Body = "OK"
	}
	return a
}

// The reply table. Error bodies are generic on purpose: what the sender sees
// never says which check failed (the Report and the log say that), and no
// error body is ever "OK", which IXOPAY would read as an acknowledgement.
var replyTable = [...]struct {
	status int
	body   string
}{
	InProgress:       {http.StatusConflict, "already in progress, retry later"},
	MethodNotAllowed: {http.StatusMethodNotAllowed, "method not allowed"},
	TooLarge:         {http.StatusRequestEntityTooLarge, "request body too large"},
	Unauthorized:     {http.StatusUnauthorized, "unauthorized"},
	BadRequest:       {http.StatusBadRequest, "bad request"},
	Unconfirmed:      {http.StatusServiceUnavailable, "not confirmed yet, retry later"},
	Failed:           {http.StatusInternalServerError, "internal error, retry later"},
	Timeout:          {http.StatusServiceUnavailable, "timed out, retry later"},
	Unavailable:      {http.StatusServiceUnavailable, "temporarily unavailable, retry later"},
}

// Status returns the HTTP status that [WriteReply] writes for o, with ack
// the provider's acknowledgement (its zero value meaning the default).
func Status(o Outcome, ack Ack) int {
	if o.Acked() {
		return ack.withDefaults().Status
	}
	if o > 0 && int(o) < len(replyTable) && replyTable[o].status != 0 {
		return replyTable[o].status
	}
	return http.StatusInternalServerError
}

// WriteReply writes the reply for o, as DESIGN.md's table says:
//
//	Processed, Duplicate  ack (default 200 "OK")
//	InProgress            409
//	MethodNotAllowed      405 with Allow: allow (comma-separated)
//	TooLarge              413
//	Unauthorized          401
//	BadRequest            400
//	Unconfirmed           503
//	Failed                500
//	Timeout, Unavailable  503
//
// Every non-ack reply is text/plain with a short generic body, never "OK",
// and carries Cache-Control: no-store. A Respond hook (see Config) may call
// it for the outcomes it does not answer itself.
func WriteReply(w http.ResponseWriter, o Outcome, ack Ack, allow ...string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if o.Acked() {
		a := ack.withDefaults()
		h.Set("Content-Type", a.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(a.Body)))
		w.WriteHeader(a.Status)
		_, _ = w.Write([]byte(a.Body))
		return
	}
	status := Status(o, ack)
	body := http.StatusText(status)
	if o > 0 && int(o) < len(replyTable) && replyTable[o].body != "" {
		body = replyTable[o].body
	}
	if o == MethodNotAllowed && len(allow) > 0 {
		h.Set("Allow", strings.Join(allow, ", "))
	}
	if o == Unavailable || o == Timeout || o == InProgress || o == Unconfirmed {
		h.Set("Retry-After", "60")
	}
	body += "\n"
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
