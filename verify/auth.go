package verify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Defaults for the zero fields of [AuthorizationConfig].
const (
	// DefaultAuthorizationHeader is the header read when
	// AuthorizationConfig.Header is empty.
	DefaultAuthorizationHeader = "Authorization"
	// DefaultBcryptLimit is how many bcrypt comparisons one Authorization
	// runs at once when AuthorizationConfig.BcryptLimit is zero.
	DefaultBcryptLimit = 2
	// DefaultRejectCacheSize is how many wrong user:password pairs one
	// Authorization remembers when AuthorizationConfig.RejectCacheSize is
	// zero.
	DefaultRejectCacheSize = 64
)

// AuthorizationConfig lists the static credentials an [Authorization]
// accepts. Its zero value lists none, which [NewAuthorization] refuses;
// every other zero field means the documented default.
//
// Any mix of kinds may be given, and several of each: during a rotation both
// the old and the new value are listed, and a request carrying either one is
// accepted.
type AuthorizationConfig struct {
	// Basic lists accepted HTTP Basic credentials (RFC 7617).
	Basic []BasicCredential
	// Bearer lists accepted bearer tokens (RFC 6750), for example a
	// long-lived JWT, without the "Bearer " prefix. Each must be a
	// non-empty token68: letters, digits, "-._~+/", then optional "=".
	Bearer []string
	// Exact lists accepted header values, compared with the whole value
	// as received, scheme included, byte for byte. Each must be non-empty,
	// without control characters or surrounding spaces, since HTTP strips
	// those.
	Exact []string
	// Header names the header that carries the credential. Empty means
	// DefaultAuthorizationHeader ("Authorization").
	Header string
	// BcryptLimit bounds how many bcrypt comparisons run at once. When
	// that many are running, a request that would need another one is
	// refused at once with an error matching ErrUnavailable, so that a
	// flood of guesses cannot queue unbounded CPU work. Zero means
	// DefaultBcryptLimit; it matters only when a BasicCredential has a
	// PasswordHash.
	BcryptLimit int
	// RejectCacheSize bounds how many wrong user:password pairs, checked
	// against a bcrypt hash, are remembered so that repeating one does not
	// pay for bcrypt again. When full, the oldest entry is evicted (first
	// in, first out). Zero means DefaultRejectCacheSize.
	RejectCacheSize int
}

// BasicCredential is one accepted HTTP Basic user and password. Exactly one
// of Password and PasswordHash is set.
type BasicCredential struct {
	// Username is the user-id. It is not empty and has no ':'.
	Username string
	// Password is the plaintext password.
	Password string
	// PasswordHash is a bcrypt hash of the password ("$2a$", "$2b$" or
	// "$2y$"), used instead of Password. Two hashes for the same Username
	// are refused, so that one request costs at most one bcrypt
	// comparison: during a rotation, give the old password in plaintext or
	// change the Username too.
	PasswordHash string
}

// Authorization is a [Verifier] that accepts a request whose Authorization
// header (or the configured header) carries one of a fixed set of
// credentials: HTTP Basic, Bearer, or an exact value.
//
// Secrets are compared in constant time: the presented value and the
// configured ones are reduced to HMAC-SHA256 digests under a random key made
// for each Authorization, and every configured value of a kind is compared,
// so that neither a secret nor its length shows in the timing. Usernames of
// bcrypt credentials are not treated as secret: whether a bcrypt comparison
// ran can be seen in the timing.
//
// Bcrypt hashes are compared at most once per request, never more than
// BcryptLimit at a time. Each bcrypt credential remembers (as a keyed
// digest, never in plaintext) the one password that last matched it, so a
// provider's retries cost an HMAC, not a bcrypt; and up to RejectCacheSize
// wrong passwords are remembered the same way.
//
// The zero Authorization accepts nothing: its methods return an error
// matching [ErrConfig]. An Authorization made by [NewAuthorization] is safe
// for concurrent use.
type Authorization struct {
	header string
	key    []byte
	macs   sync.Pool // of *mac

	exact  []digest // digests of accepted header values
	bearer []digest // digests of accepted tokens
	basic  []digest // digests of accepted "user:password" pairs
	hashed []*hashedCredential

	sem    chan struct{} // one slot per bcrypt comparison allowed at once
	reject rejectCache

	bcryptCalls   atomic.Int64 // bcrypt comparisons run, for tests
	bcryptRunning atomic.Int64 // bcrypt comparisons running now
	bcryptPeak    atomic.Int64 // most bcrypt comparisons seen running at once, for tests
}

type digest = [sha256.Size]byte

// hashedCredential is a BasicCredential with a PasswordHash.
type hashedCredential struct {
	user digest // digest of the username
	hash []byte

	mu       sync.Mutex
	verified digest // digest of the last "user:password" that matched
	ok       bool   // whether verified is set
}

// NewAuthorization returns an Authorization accepting the credentials in
// cfg. It returns an error matching [ErrConfig] when cfg lists no
// credential, or any empty one: an empty token or exact value, a Basic
// credential with an empty Username, a ':' in the Username, neither or both
// of Password and PasswordHash, an invalid bcrypt hash, two hashes for the
// same Username; also for a Bearer token that is not a token68, an Exact
// value HTTP cannot carry, an invalid Header name or a negative limit.
func NewAuthorization(cfg AuthorizationConfig) (*Authorization, error) {
	if len(cfg.Basic)+len(cfg.Bearer)+len(cfg.Exact) == 0 {
		return nil, fmt.Errorf("%w: authorization: no credential configured", ErrConfig)
	}
	header := cfg.Header
	if header == "" {
		header = DefaultAuthorizationHeader
	}
	if !isToken(header) {
		return nil, fmt.Errorf("%w: authorization: invalid header name %q", ErrConfig, header)
	}
	limit, size := cfg.BcryptLimit, cfg.RejectCacheSize
	if limit < 0 || size < 0 {
		return nil, fmt.Errorf("%w: authorization: negative BcryptLimit or RejectCacheSize", ErrConfig)
	}
	if limit == 0 {
		limit = DefaultBcryptLimit
	}
	if size == 0 {
		size = DefaultRejectCacheSize
	}

	a := &Authorization{
		header: http.CanonicalHeaderKey(header),
		key:    make([]byte, sha256.Size),
	}
	rand.Read(a.key) // never returns an error (crypto/rand, Go 1.24+)
	a.macs.New = func() any { return &mac{h: hmac.New(sha256.New, a.key)} }

	for i, v := range cfg.Exact {
		if !isHeaderValue(v) {
			return nil, fmt.Errorf("%w: authorization: Exact[%d] is empty, has control characters or surrounding spaces", ErrConfig, i)
		}
		a.exact = append(a.exact, a.sum(v))
	}
	for i, t := range cfg.Bearer {
		if !isToken68(t) {
			return nil, fmt.Errorf("%w: authorization: Bearer[%d] is empty or not a token68", ErrConfig, i)
		}
		a.bearer = append(a.bearer, a.sum(t))
	}
	users := make(map[string]bool)
	for i, c := range cfg.Basic {
		switch {
		case c.Username == "":
			return nil, fmt.Errorf("%w: authorization: Basic[%d] has an empty Username", ErrConfig, i)
		case strings.Contains(c.Username, ":"):
			return nil, fmt.Errorf("%w: authorization: Basic[%d] Username contains ':'", ErrConfig, i)
		case c.Password == "" && c.PasswordHash == "":
			return nil, fmt.Errorf("%w: authorization: Basic[%d] has neither Password nor PasswordHash", ErrConfig, i)
		case c.Password != "" && c.PasswordHash != "":
			return nil, fmt.Errorf("%w: authorization: Basic[%d] has both Password and PasswordHash", ErrConfig, i)
		case c.Password != "":
			a.basic = append(a.basic, a.sum(c.Username+":"+c.Password))
			continue
		}
		if err := checkBcryptHash(c.PasswordHash); err != nil {
			return nil, fmt.Errorf("%w: authorization: Basic[%d] PasswordHash: %w", ErrConfig, i, err)
		}
		if users[c.Username] {
			return nil, fmt.Errorf("%w: authorization: Basic[%d]: a second PasswordHash for user %q", ErrConfig, i, c.Username)
		}
		users[c.Username] = true
		a.hashed = append(a.hashed, &hashedCredential{user: a.sum(c.Username), hash: []byte(c.PasswordHash)})
	}
	if len(a.hashed) > 0 {
		a.sem = make(chan struct{}, limit)
		a.reject.init(size)
	}
	return a, nil
}

// Verify checks req.Header with [Authorization.Check]. The context is not
// used: Verify never blocks. A nil req is treated as one without headers.
func (a *Authorization) Verify(_ context.Context, req *Request) error {
	if req == nil {
		return a.Check(nil)
	}
	return a.Check(req.Header)
}

// Check reports whether h carries an accepted credential in the configured
// header; it is the pure form of [Authorization.Verify], for any router.
//
// It returns nil when the value matches, otherwise an error matching
// exactly one sentinel: [ErrMissing] when the header is absent or empty;
// [ErrMalformed] when it is repeated, or is a Basic credential that is not
// base64 of "user:password", or a Bearer credential that is not a token68,
// or has another scheme while no Exact value is configured;
// [ErrCredentials] when it parses but matches nothing; [ErrUnavailable]
// when a bcrypt comparison is needed but BcryptLimit of them are already
// running (answer it with a 503, so that the provider retries); [ErrConfig] for
// the zero Authorization. Scheme names are case-insensitive (RFC 7235). The
// error text never contains the presented or configured secrets.
func (a *Authorization) Check(h http.Header) error {
	if a == nil || a.key == nil {
		return fmt.Errorf("%w: authorization: verifier not made by NewAuthorization", ErrConfig)
	}
	values := h[a.header]
	switch {
	case len(values) == 0:
		return fmt.Errorf("%w: authorization: no %s header", ErrMissing, a.header)
	case len(values) > 1:
		return fmt.Errorf("%w: authorization: %d %s headers", ErrMalformed, len(values), a.header)
	case values[0] == "":
		return fmt.Errorf("%w: authorization: empty %s header", ErrMissing, a.header)
	}
	value := values[0]

	if len(a.exact) > 0 && anyEqual(a.exact, a.sum(value)) {
		return nil
	}
	scheme, rest, _ := strings.Cut(value, " ")
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		return a.checkBasic(rest)
	case strings.EqualFold(scheme, "Bearer"):
		if !isToken68(rest) {
			return fmt.Errorf("%w: authorization: Bearer credential is not a token68", ErrMalformed)
		}
		if len(a.bearer) > 0 && anyEqual(a.bearer, a.sum(rest)) {
			return nil
		}
		return fmt.Errorf("%w: authorization: Bearer token matches no configured token", ErrCredentials)
	case len(a.exact) > 0:
		return fmt.Errorf("%w: authorization: %s header matches no configured exact value", ErrCredentials, a.header)
	default:
		return fmt.Errorf("%w: authorization: %s header has neither the Basic nor the Bearer scheme", ErrMalformed, a.header)
	}
}

// checkBasic checks the token68 after "Basic ".
func (a *Authorization) checkBasic(encoded string) error {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil && len(encoded)%4 != 0 {
		// Some clients leave out the padding.
		raw, err = base64.RawStdEncoding.DecodeString(encoded)
	}
	if err != nil || strings.ContainsAny(encoded, "\r\n") {
		// Not wrapped: base64's error quotes a byte of the secret.
		return fmt.Errorf("%w: authorization: Basic credential is not base64", ErrMalformed)
	}
	pair := string(raw)
	user, _, ok := strings.Cut(pair, ":")
	if !ok {
		return fmt.Errorf("%w: authorization: Basic credential has no ':'", ErrMalformed)
	}
	sum := a.sum(pair)
	if len(a.basic) > 0 && anyEqual(a.basic, sum) {
		return nil
	}
	if len(a.hashed) == 0 {
		return fmt.Errorf("%w: authorization: Basic credential matches no configured user and password", ErrCredentials)
	}
	return a.checkHashed(user, pair, sum)
}

// checkHashed checks pair ("user:password", whose digest is sum) against
// the bcrypt credential of user, if there is one: from the caches when it
// can, otherwise with one bcrypt comparison.
func (a *Authorization) checkHashed(user, pair string, sum digest) error {
	c := a.hashedFor(a.sum(user))
	if c == nil {
		return fmt.Errorf("%w: authorization: Basic credential matches no configured user and password", ErrCredentials)
	}
	c.mu.Lock()
	hit := c.ok && subtle.ConstantTimeCompare(c.verified[:], sum[:]) == 1
	c.mu.Unlock()
	if hit {
		return nil
	}
	if a.reject.contains(sum) {
		return fmt.Errorf("%w: authorization: Basic password does not match the hash (remembered)", ErrCredentials)
	}
	select {
	case a.sem <- struct{}{}:
	default:
		return fmt.Errorf("%w: authorization: %d bcrypt comparisons already running", ErrUnavailable, cap(a.sem))
	}
	a.bcryptCalls.Add(1)
	running := a.bcryptRunning.Add(1)
	for peak := a.bcryptPeak.Load(); running > peak && !a.bcryptPeak.CompareAndSwap(peak, running); {
		peak = a.bcryptPeak.Load()
	}
	err := bcrypt.CompareHashAndPassword(c.hash, []byte(pair[len(user)+1:]))
	a.bcryptRunning.Add(-1)
	<-a.sem
	if err != nil {
		a.reject.add(sum)
		return fmt.Errorf("%w: authorization: Basic password does not match the hash", ErrCredentials)
	}
	c.mu.Lock()
	c.verified, c.ok = sum, true
	c.mu.Unlock()
	return nil
}

// hashedFor returns the bcrypt credential whose username digest is user,
// or nil. It compares every one, without an early exit.
func (a *Authorization) hashedFor(user digest) *hashedCredential {
	found := -1
	for i := range a.hashed {
		eq := subtle.ConstantTimeCompare(a.hashed[i].user[:], user[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil
	}
	return a.hashed[found]
}

// mac is an HMAC-SHA256 under an Authorization's key, with buffers that
// spare the allocations of converting its input and output.
type mac struct {
	h   hash.Hash
	in  []byte
	out digest
}

// sum returns the HMAC-SHA256 of s under a's key.
func (a *Authorization) sum(s string) digest {
	m := a.macs.Get().(*mac)
	m.h.Reset()
	m.in = append(m.in[:0], s...)
	m.h.Write(m.in)
	m.h.Sum(m.out[:0])
	d := m.out
	clear(m.in) // it held a secret
	if cap(m.in) > 1<<10 {
		m.in = nil // do not keep a huge header's buffer in the pool
	}
	a.macs.Put(m)
	return d
}

// anyEqual reports whether d is in list, in time that depends only on
// len(list).
func anyEqual(list []digest, d digest) bool {
	eq := 0
	for i := range list {
		eq |= subtle.ConstantTimeCompare(list[i][:], d[:])
	}
	return eq == 1
}

// rejectCache is a bounded set of digests, evicting the oldest first.
type rejectCache struct {
	mu   sync.Mutex
	set  map[digest]struct{}
	ring []digest // insertion order; next is the slot to overwrite
	next int
}

func (r *rejectCache) init(size int) {
	r.set = make(map[digest]struct{}, size)
	r.ring = make([]digest, 0, size)
}

func (r *rejectCache) contains(d digest) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[d]
	return ok
}

func (r *rejectCache) add(d digest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[d]; ok {
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, d)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = d
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[d] = struct{}{}
}

// checkBcryptHash returns an error when h is not a bcrypt hash: a version
// and cost bcrypt accepts, then "$" and 53 characters of its alphabet (22
// of salt, 31 of hash). bcrypt.Cost alone accepts a hash of any length,
// which would make a credential that never matches. The error never
// contains h.
func checkBcryptHash(h string) error {
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return err // bcrypt's errors quote at most one byte of the hash
	}
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	n := len(h) - 53
	if (n != 6 && n != 7) || h[n-1] != '$' {
		return errors.New("not a bcrypt hash: wrong length")
	}
	for i := n; i < len(h); i++ {
		if strings.IndexByte(alphabet, h[i]) < 0 {
			return errors.New("not a bcrypt hash: character outside bcrypt's base64")
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token, as a header name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isToken68 reports whether s is an RFC 7235 token68.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !isAlnum(c) && !strings.ContainsRune("-._~+/", rune(c)) {
			return false
		}
	}
	return true
}

// isHeaderValue reports whether s is a non-empty field value that survives
// HTTP unchanged: no control characters but tab, nothing to trim.
func isHeaderValue(s string) bool {
	if s == "" || strings.Trim(s, " \t") != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

var _ Verifier = (*Authorization)(nil)
