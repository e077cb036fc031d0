package verify

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"time"

	"github.com/paycallback/paycallback/retry"
)

// Headers read by an [HMAC] verifier.
const (
	// HMACSignatureHeader carries base64(HMAC-SHA512(secret, message)).
	HMACSignatureHeader = "X-Signature"
	// HMACDateHeader, when present, is the signed date and takes
	// precedence over the Date header.
	HMACDateHeader = "X-Date"
)

// DefaultHMACMaxSkew is how far in the future a signed date may be when
// HMACConfig.MaxSkew is zero: room for the sender's and the receiver's
// clocks to disagree a little.
const DefaultHMACMaxSkew = 5 * time.Minute

// DefaultHMACMaxAge returns how old a signed date may be when
// HMACConfig.MaxAge is zero: IXOPAY's retry horizon ([retry.IXOPAY], 7 days
// 18 h 21 min) plus two days, 9 days 18 h 21 min in all.
//
// Why so long: IXOPAY signs the Date, but does not document a maximum clock
// skew nor whether a retry days later is signed afresh. If it is not, its
// last retry carries a date as old as the horizon, and a shorter maximum
// age would refuse a genuine retry, which loses a payment notification. The
// two extra days cover a late retry run and clock error on either side; the
// result stays well below 30 days. A replay of a captured request within
// that age is refused by deduplication instead, which is why a dedup TTL
// for these callbacks must be at least MaxAge plus MaxSkew (callback/ixopay
// enforces that).
func DefaultHMACMaxAge() time.Duration { return retry.IXOPAY.Horizon() + 48*time.Hour }

// HMACDigest selects the body hash in the canonical message of an [HMAC]
// signature. The zero value is HMACSHA512, the current scheme.
type HMACDigest int

const (
	// HMACSHA512 hashes the body with SHA-512: the current scheme.
	HMACSHA512 HMACDigest = iota
	// HMACMD5 hashes the body with MD5: the legacy scheme, still sent for
	// transactions whose original request was signed that way.
	HMACMD5
)

func (d HMACDigest) String() string {
	switch d {
	case HMACSHA512:
		return "sha512"
	case HMACMD5:
		return "md5"
	}
	return fmt.Sprintf("HMACDigest(%d)", int(d))
}

// HMACMessage returns the canonical message that IXOPAY signs: five lines
// joined by "\n", without a trailing newline,
//
//	method
//	lower-case hex of the body's hash (SHA-512, or MD5 for HMACMD5)
//	contentType, the Content-Type header as sent
//	date, the X-Date header if sent, else the Date header, as sent
//	requestURI, the raw request target with its query string
//
// It panics if d is neither HMACSHA512 nor HMACMD5.
func HMACMessage(d HMACDigest, method string, body []byte, contentType, date, requestURI string) string {
	var sum [2 * sha512.Size]byte
	return string(appendHMACMessage(nil, sum[:], d, method, body, contentType, date, requestURI))
}

// SignHMAC returns the X-Signature value for message under secret:
// base64 (standard alphabet, padded) of HMAC-SHA512(secret, message). It
// accepts any secret, the empty one included, so that the empty-secret
// vector IXOPAY publishes can be checked; [NewHMAC] refuses an empty
// secret.
func SignHMAC(secret, message string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// HMACConfig configures an [HMAC] verifier. Its zero value lists no secret,
// which [NewHMAC] refuses; every other zero field means the documented
// default.
type HMACConfig struct {
	// Secrets lists the shared secrets; a signature made with any of them
	// is accepted (list the old and the new one during a rotation). Each
	// must be non-empty.
	Secrets []string
	// MaxAge is how old the signed date may be. Zero means
	// DefaultHMACMaxAge(), which accepts IXOPAY's last retry even if it is
	// not re-signed; see there before shortening it. Negative is refused.
	MaxAge time.Duration
	// MaxSkew is how far in the future the signed date may be. Zero means
	// DefaultHMACMaxSkew. Negative is refused.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now. Tests inject a fixed one.
	Now func() time.Time
}

// HMAC verifies IXOPAY-style signatures: an HMAC-SHA512 over a canonical
// request ([HMACMessage]) in the X-Signature header, plus the freshness of
// the signed date. Both body hashes, SHA-512 and the legacy MD5, are
// accepted. An HMAC made by [NewHMAC] is safe for concurrent use; the zero
// HMAC refuses every request.
type HMAC struct {
	secrets []string
	maxAge  time.Duration
	maxSkew time.Duration
	now     func() time.Time
	pool    sync.Pool // *hmacState
}

// hmacState is the scratch space of one verification: one keyed HMAC per
// secret, reused through HMAC.pool so that a verification allocates
// nothing once warm.
type hmacState struct {
	macs []hash.Hash
	msg  []byte
	sig  []byte
	sum  [sha512.Size]byte
	want [sha512.Size + 2]byte // base64.StdEncoding.DecodedLen(88): Decode may write that much
	hex  [2 * sha512.Size]byte
}

// NewHMAC returns an HMAC verifier for cfg. It returns an error matching
// [ErrConfig] when cfg lists no secret or an empty one, or has a negative
// MaxAge or MaxSkew.
func NewHMAC(cfg HMACConfig) (*HMAC, error) {
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("%w: hmac: no secret configured", ErrConfig)
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("%w: hmac: Secrets[%d] is empty", ErrConfig, i)
		}
	}
	if cfg.MaxAge < 0 || cfg.MaxSkew < 0 {
		return nil, fmt.Errorf("%w: hmac: negative MaxAge or MaxSkew", ErrConfig)
	}
	v := &HMAC{
		secrets: append([]string(nil), cfg.Secrets...),
		maxAge:  cfg.MaxAge,
		maxSkew: cfg.MaxSkew,
		now:     cfg.Now,
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultHMACMaxAge()
	}
	if v.maxSkew == 0 {
		v.maxSkew = DefaultHMACMaxSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// MaxAge returns the effective maximum age of a signed date.
func (v *HMAC) MaxAge() time.Duration { return v.maxAge }

// MaxSkew returns the effective maximum future skew of a signed date.
func (v *HMAC) MaxSkew() time.Duration { return v.maxSkew }

func (v *HMAC) state() *hmacState {
	if st, ok := v.pool.Get().(*hmacState); ok {
		return st
	}
	st := &hmacState{macs: make([]hash.Hash, len(v.secrets))}
	for i, s := range v.secrets {
		st.macs[i] = hmac.New(sha512.New, []byte(s))
	}
	return st
}

// Verify implements [Verifier]. It returns nil when X-Signature is the
// signature of req's canonical message under one of the secrets, with
// either body hash, and the signed date is within MaxAge in the past and
// MaxSkew in the future. Otherwise the error matches:
//
//   - [ErrMissing]: no X-Signature, or neither X-Date nor Date;
//   - [ErrMalformed]: several X-Signature, X-Date, Date or Content-Type
//     headers, an empty one, a signature that is not 64 bytes of padded
//     standard base64, or a date that is not an HTTP date;
//   - [ErrSignature]: no secret and no body hash gives the signature;
//   - [ErrStale]: the signature matches but the date is too old or too far
//     in the future;
//   - [ErrConfig]: v was not made by NewHMAC.
//
// Header keys must be in canonical form (X-Signature, X-Date, Date,
// Content-Type), as net/http and http.Header.Set make them.
//
// The signature is checked before the date's age, so ErrStale always means
// a genuine request, only too old (a replay, or a retry past MaxAge).
func (v *HMAC) Verify(_ context.Context, req *Request) error {
	if v == nil || len(v.secrets) == 0 {
		return fmt.Errorf("%w: hmac: verifier not made by NewHMAC", ErrConfig)
	}
	// Header keys are canonical (net/http and Header.Set make them so):
	// index the map directly rather than canonicalize constants again.
	sigs := req.Header[HMACSignatureHeader]
	switch {
	case len(sigs) == 0:
		return fmt.Errorf("%w: hmac: no %s header", ErrMissing, HMACSignatureHeader)
	case len(sigs) > 1:
		return fmt.Errorf("%w: hmac: %d %s headers", ErrMalformed, len(sigs), HMACSignatureHeader)
	case sigs[0] == "":
		return fmt.Errorf("%w: hmac: empty %s header", ErrMalformed, HMACSignatureHeader)
	}
	date, err := hmacDate(req.Header)
	if err != nil {
		return err
	}
	signed, ok := hmacParseDate(date)
	if !ok {
		return fmt.Errorf("%w: hmac: date %q is not an HTTP date", ErrMalformed, date)
	}
	cts := req.Header["Content-Type"]
	if len(cts) > 1 {
		return fmt.Errorf("%w: hmac: %d Content-Type headers", ErrMalformed, len(cts))
	}
	var ct string
	if len(cts) == 1 {
		ct = cts[0]
	}

	st := v.state()
	defer v.pool.Put(st)
	if !hmacDecodeSignature(st, sigs[0]) {
		return fmt.Errorf("%w: hmac: %s is not 64 bytes of padded standard base64", ErrMalformed, HMACSignatureHeader)
	}
	matched := false
	for _, d := range [...]HMACDigest{HMACSHA512, HMACMD5} {
		st.msg = appendHMACMessage(st.msg[:0], st.hex[:], d, req.Method, req.Body, ct, date, req.RequestURI)
		for _, m := range st.macs {
			m.Reset()
			m.Write(st.msg)
			// hmac.Equal is constant-time; every secret is tried, so
			// the time taken does not say which one matched.
			if hmac.Equal(m.Sum(st.sum[:0]), st.want[:sha512.Size]) {
				matched = true
			}
		}
		if matched {
			break
		}
	}
	if !matched {
		return fmt.Errorf("%w: hmac: %s matches no configured secret (SHA-512 or MD5 body hash)", ErrSignature, HMACSignatureHeader)
	}
	now := v.now()
	if age := now.Sub(signed); age > v.maxAge {
		return fmt.Errorf("%w: hmac: signed date %s is %v old, more than the %v allowed", ErrStale, date, age, v.maxAge)
	} else if -age > v.maxSkew {
		return fmt.Errorf("%w: hmac: signed date %s is %v in the future, more than the %v allowed", ErrStale, date, -age, v.maxSkew)
	}
	return nil
}

// hmacDate returns the signed date header's value: X-Date if present,
// else Date.
func hmacDate(h http.Header) (string, error) {
	name := HMACDateHeader
	vals := h[name]
	if len(vals) == 0 {
		name = "Date"
		vals = h[name]
	}
	switch {
	case len(vals) == 0:
		return "", fmt.Errorf("%w: hmac: neither %s nor Date header", ErrMissing, HMACDateHeader)
	case len(vals) > 1:
		return "", fmt.Errorf("%w: hmac: %d %s headers", ErrMalformed, len(vals), name)
	case vals[0] == "":
		return "", fmt.Errorf("%w: hmac: empty %s header", ErrMalformed, name)
	}
	return vals[0], nil
}

// hmacDecodeSignature decodes sig into st.want, without allocating once
// st.sig has grown. It reports whether sig is exactly 64 bytes in padded
// standard base64.
func hmacDecodeSignature(st *hmacState, sig string) bool {
	// 64 bytes encode to 86 characters and "==".
	if len(sig) != base64.StdEncoding.EncodedLen(sha512.Size) || sig[len(sig)-2:] != "==" {
		return false
	}
	st.sig = append(st.sig[:0], sig...)
	n, err := base64.StdEncoding.Strict().Decode(st.want[:], st.sig)
	return err == nil && n == sha512.Size
}

// appendHMACMessage appends the canonical message to dst, using scratch
// (at least 128 bytes) for the hex digest.
func appendHMACMessage(dst, scratch []byte, d HMACDigest, method string, body []byte, contentType, date, requestURI string) []byte {
	var hexSum []byte
	switch d {
	case HMACSHA512:
		sum := sha512.Sum512(body)
		hexSum = scratch[:hex.EncodedLen(len(sum))]
		hex.Encode(hexSum, sum[:])
	case HMACMD5:
		sum := md5.Sum(body)
		hexSum = scratch[:hex.EncodedLen(len(sum))]
		hex.Encode(hexSum, sum[:])
	default:
		panic("verify: unknown " + d.String())
	}
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, hexSum...)
	dst = append(dst, '\n')
	dst = append(dst, contentType...)
	dst = append(dst, '\n')
	dst = append(dst, date...)
	dst = append(dst, '\n')
	return append(dst, requestURI...)
}

// hmacParseDate parses the signed date. It accepts what [http.ParseTime]
// accepts (IMF-fixdate such as "Tue, 28 Apr 2026 15:23:40 GMT", RFC 850,
// ANSI C asctime), IMF-fixdate with "UTC" instead of "GMT", and RFC 1123
// with a numeric zone ("+0000"); it never guesses the offset of a zone
// abbreviation. IMF-fixdate, the form IXOPAY sends, is parsed without
// allocating.
func hmacParseDate(s string) (time.Time, bool) {
	if t, ok := parseIMFFixdate(s); ok {
		return t, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

var imfMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

var imfDays = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// parseIMFFixdate parses exactly "Mon, 02 Jan 2006 15:04:05 GMT" (or
// "UTC") with the leniency of time.Parse with http.TimeFormat: any day
// name, not checked against the date.
func parseIMFFixdate(s string) (time.Time, bool) {
	const layout = "Mon, 02 Jan 2006 15:04:05 GMT"
	if len(s) != len(layout) || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[19] != ':' || s[22] != ':' || (s[25:] != " GMT" && s[25:] != " UTC") {
		return time.Time{}, false
	}
	dayOK := false
	for _, d := range imfDays {
		if s[:3] == d {
			dayOK = true
			break
		}
	}
	month := 0
	for i, m := range imfMonths {
		if s[8:11] == m {
			month = i + 1
			break
		}
	}
	day, ok1 := imfDigits(s[5:7])
	year, ok2 := imfDigits(s[12:16])
	hour, ok3 := imfDigits(s[17:19])
	minute, ok4 := imfDigits(s[20:22])
	sec, ok5 := imfDigits(s[23:25])
	if !dayOK || month == 0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 ||
		day < 1 || day > imfDaysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

func imfDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func imfDaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
