package verify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Key sizes accepted by [ParseRSAPublicKey] and [NewRSA], in bits.
const (
	MinRSABits = 2048
	MaxRSABits = 4096
)

// RSASignatureHeader is the header an [RSA] verifier reads when
// RSAConfig.Header is empty: CHIP Collect's.
const RSASignatureHeader = "X-Signature"

// maxSigBytes is the longest signature any accepted key can produce.
const maxSigBytes = MaxRSABits / 8

// RSAConfig configures an [RSA] verifier. At least one of Keys, PublicKeys
// or Source must be set.
type RSAConfig struct {
	// Header names the header that carries the base64 signature; default
	// RSASignatureHeader ("X-Signature").
	Header string

	// Keys are public keys in any form [ParseRSAPublicKey] accepts: PEM
	// "PUBLIC KEY" or "RSA PUBLIC KEY", a PEM whose line breaks were
	// stored as literal `\n` sequences, or the JSON string CHIP's
	// GET /public_key/ returns. They are parsed once, by NewRSA.
	Keys []string

	// PublicKeys are keys already parsed. Each must be 2048 to 4096 bits.
	PublicKeys []*rsa.PublicKey

	// Source, if set, supplies keys that can change (a key fetched from
	// the provider's API, see [RemoteKeys]). They are tried after Keys
	// and PublicKeys; when no key matches, the verifier asks the source
	// to refresh once and tries the refreshed keys.
	Source KeySource
}

// RSA verifies an RSA PKCS#1 v1.5 signature over SHA-256 of the raw body,
// carried base64-encoded (standard alphabet, padded or not) in one header.
// This is how CHIP Collect signs its callbacks.
//
// A request verifies if the signature matches under any configured key.
// Verify returns an error matching ErrMissing for an absent or empty
// header, ErrMalformed for a repeated header, undecodable base64 or a
// signature whose length fits no key, ErrSignature when no key matches,
// and ErrUnavailable when the key source cannot be reached. RSA is safe for
// concurrent use.
type RSA struct {
	header string // canonical form
	keys   []*rsa.PublicKey
	source KeySource
}

// A KeySource supplies public keys that may change over time, for example
// a key fetched from a provider's API and cached. Implementations must be
// safe for concurrent use; [RemoteKeys] is one.
type KeySource interface {
	// PublicKeys returns the current keys. It runs on every request, so it
	// must be cheap: cache. An error should match ErrUnavailable.
	PublicKeys(ctx context.Context) ([]*rsa.PublicKey, error)
	// Refresh is called when a signature matched none of the keys
	// PublicKeys returned: the provider may have rotated its key. It
	// returns the keys to try again, which may be the same ones when the
	// source decides not to refetch (rate limiting). An error should match
	// ErrUnavailable.
	Refresh(ctx context.Context) ([]*rsa.PublicKey, error)
}

// NewRSA returns a verifier for cfg. It parses every key once and returns
// an error matching ErrConfig when there is no key at all, a key cannot be
// parsed, is not RSA, or is outside 2048..4096 bits.
func NewRSA(cfg RSAConfig) (*RSA, error) {
	v := &RSA{header: textproto.CanonicalMIMEHeaderKey(cfg.Header), source: cfg.Source}
	if cfg.Header == "" {
		v.header = RSASignatureHeader
	}
	for i, s := range cfg.Keys {
		k, err := ParseRSAPublicKey([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("verify: RSAConfig.Keys[%d]: %w", i, err)
		}
		v.keys = append(v.keys, k)
	}
	for i, k := range cfg.PublicKeys {
		if err := checkRSAKey(k); err != nil {
			return nil, fmt.Errorf("verify: RSAConfig.PublicKeys[%d]: %w", i, err)
		}
		v.keys = append(v.keys, k)
	}
	if len(v.keys) == 0 && v.source == nil {
		return nil, fmt.Errorf("%w: RSA verifier needs at least one key or a key source", ErrConfig)
	}
	return v, nil
}

// Verify checks req's signature header against SHA-256 of req.Body. See
// [RSA] for the errors.
func (v *RSA) Verify(ctx context.Context, req *Request) error {
	var buf [maxSigBytes]byte
	sig, err := v.decodeHeader(req, &buf)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(req.Body)
	sized := matchRSA(v.keys, digest[:], sig)
	if sized == matched {
		return nil
	}
	if v.source == nil {
		return rsaFailure(sized, len(sig))
	}
	tried, err := v.source.PublicKeys(ctx)
	if err != nil {
		return unavailable(err)
	}
	r := matchRSA(tried, digest[:], sig)
	if r == matched {
		return nil
	}
	sized = max(sized, r)
	fresh, err := v.source.Refresh(ctx)
	if err != nil {
		return unavailable(err)
	}
	for _, k := range fresh {
		if containsKey(tried, k) {
			continue // already tried
		}
		switch matchRSA([]*rsa.PublicKey{k}, digest[:], sig) {
		case matched:
			return nil
		case sizeMatched:
			sized = sizeMatched
		}
	}
	return rsaFailure(sized, len(sig))
}

// decodeHeader returns the decoded signature, in buf when it fits.
func (v *RSA) decodeHeader(req *Request, buf *[maxSigBytes]byte) ([]byte, error) {
	vals := req.Header[v.header]
	if len(vals) == 0 {
		return nil, fmt.Errorf("%w: no %s header", ErrMissing, v.header)
	}
	if len(vals) > 1 {
		return nil, fmt.Errorf("%w: %d %s headers", ErrMalformed, len(vals), v.header)
	}
	return DecodeSignature(vals[0], buf[:0])
}

// DecodeSignature decodes a base64 signature header value (standard
// alphabet, padded or unpadded, surrounding spaces ignored) and appends it
// to dst. It returns an error matching ErrMissing for an empty value and
// ErrMalformed for anything that is not base64 or decodes to more than
// 512 bytes (the size of a 4096-bit signature).
func DecodeSignature(s string, dst []byte) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty signature", ErrMissing)
	}
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	if enc.DecodedLen(len(s)) > maxSigBytes {
		return nil, fmt.Errorf("%w: signature of %d base64 characters is too long", ErrMalformed, len(s))
	}
	n := len(dst)
	dst = slices.Grow(dst, enc.DecodedLen(len(s)))
	dst = dst[:n+enc.DecodedLen(len(s))]
	m, err := enc.Decode(dst[n:], []byte(s))
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64: %w", ErrMalformed, err)
	}
	return dst[:n+m], nil
}

type matchResult int

const (
	noKeyOfSize matchResult = iota // no key has the signature's length
	sizeMatched                    // some key had the length, none verified
	matched
)

func matchRSA(keys []*rsa.PublicKey, digest, sig []byte) matchResult {
	r := noKeyOfSize
	for _, k := range keys {
		if k.Size() != len(sig) {
			continue
		}
		r = sizeMatched
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil {
			return matched
		}
	}
	return r
}

func rsaFailure(r matchResult, n int) error {
	if r == noKeyOfSize {
		return fmt.Errorf("%w: a %d-byte signature fits no configured key", ErrMalformed, n)
	}
	return fmt.Errorf("%w: RSA signature matches no configured key", ErrSignature)
}

func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func containsKey(keys []*rsa.PublicKey, k *rsa.PublicKey) bool {
	for _, t := range keys {
		if t == k || t.Equal(k) {
			return true
		}
	}
	return false
}

// ParseRSAPublicKey parses one RSA public key of 2048 to 4096 bits from any
// of the forms providers hand out:
//
//   - PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1);
//   - the same PEM stored with literal `\n` (or `\r\n`) sequences instead
//     of line breaks, as in many environment variables and config files;
//   - a JSON string holding the PEM, as CHIP's GET /public_key/ answers.
//
// Text around the PEM block is ignored. Errors match ErrConfig: nothing
// PEM, a key that is not RSA, or one outside the accepted sizes.
func ParseRSAPublicKey(data []byte) (*rsa.PublicKey, error) {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, `"`) {
		var inner string
		if err := json.Unmarshal([]byte(s), &inner); err != nil {
			return nil, fmt.Errorf("%w: key is a malformed JSON string: %w", ErrConfig, err)
		}
		s = inner
	}
	if strings.Contains(s, `\n`) {
		s = strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\r`, "").Replace(s)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block in the key", ErrConfig)
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a public key (want PUBLIC KEY or RSA PUBLIC KEY)", ErrConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %w", ErrConfig, block.Type, err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, not RSA", ErrConfig, pub)
	}
	if err := checkRSAKey(k); err != nil {
		return nil, err
	}
	return k, nil
}

func checkRSAKey(k *rsa.PublicKey) error {
	if k == nil || k.N == nil {
		return fmt.Errorf("%w: nil RSA key", ErrConfig)
	}
	if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("%w: RSA key of %d bits (accepted: %d to %d)", ErrConfig, bits, MinRSABits, MaxRSABits)
	}
	if k.E < 3 || k.E%2 == 0 {
		return fmt.Errorf("%w: RSA public exponent %d is invalid", ErrConfig, k.E)
	}
	return nil
}

// RemoteKeysConfig configures [RemoteKeys].
type RemoteKeysConfig struct {
	// Fetch gets the current keys from their owner, for example with an
	// HTTP call to the provider's API. Required. It gets the context of
	// the request being verified.
	Fetch func(ctx context.Context) ([]*rsa.PublicKey, error)

	// RefreshInterval is the least time between two fetches: after a
	// fetch (successful or not), further refreshes within the interval
	// return the cached keys without fetching, so forged requests cannot
	// make the verifier hammer the provider's API. Default 5 minutes.
	RefreshInterval time.Duration

	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
}

// DefaultRefreshInterval is RemoteKeysConfig.RefreshInterval's default.
const DefaultRefreshInterval = 5 * time.Minute

// RemoteKeys is a [KeySource] that fetches keys on first use, caches them,
// and fetches again on Refresh at most once per RefreshInterval. It is safe
// for concurrent use: concurrent fetches are collapsed into one.
type RemoteKeys struct {
	fetch    func(ctx context.Context) ([]*rsa.PublicKey, error)
	interval time.Duration
	now      func() time.Time

	keys atomic.Pointer[[]*rsa.PublicKey] // nil until the first success

	lock      chan struct{} // held while fetching
	lastFetch time.Time     // guarded by lock; zero before the first try
	lastErr   error         // guarded by lock: the last fetch's error
}

// NewRemoteKeys returns a RemoteKeys for cfg. It does not fetch: the first
// PublicKeys call does (call it at start-up to fail fast). It returns an
// error matching ErrConfig when Fetch is nil or RefreshInterval negative.
func NewRemoteKeys(cfg RemoteKeysConfig) (*RemoteKeys, error) {
	if cfg.Fetch == nil {
		return nil, fmt.Errorf("%w: RemoteKeysConfig.Fetch is required", ErrConfig)
	}
	if cfg.RefreshInterval < 0 {
		return nil, fmt.Errorf("%w: negative RefreshInterval", ErrConfig)
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RemoteKeys{fetch: cfg.Fetch, interval: cfg.RefreshInterval, now: cfg.Now, lock: make(chan struct{}, 1)}, nil
}

// PublicKeys returns the cached keys, fetching them first if none was
// fetched yet. A failed first fetch is not retried before RefreshInterval
// has passed; meanwhile, and on any fetch error, the error matches
// ErrUnavailable.
func (s *RemoteKeys) PublicKeys(ctx context.Context) ([]*rsa.PublicKey, error) {
	if p := s.keys.Load(); p != nil {
		return *p, nil
	}
	return s.refresh(ctx, true)
}

// Refresh fetches the keys again unless the last fetch was less than
// RefreshInterval ago, and returns the current keys. When the fetch fails
// and keys were fetched before, those keys are returned with the error.
func (s *RemoteKeys) Refresh(ctx context.Context) ([]*rsa.PublicKey, error) {
	return s.refresh(ctx, false)
}

func (s *RemoteKeys) refresh(ctx context.Context, onlyIfEmpty bool) ([]*rsa.PublicKey, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return s.current(), unavailable(ctx.Err())
	}
	defer func() { <-s.lock }()
	if onlyIfEmpty && s.keys.Load() != nil {
		return s.current(), nil // fetched while we waited
	}
	now := s.now()
	if !s.lastFetch.IsZero() && now.Sub(s.lastFetch) < s.interval {
		if s.keys.Load() == nil {
			return nil, unavailable(fmt.Errorf("no key yet; last fetch failed: %w", s.lastErr))
		}
		return s.current(), nil
	}
	s.lastFetch = now
	keys, err := s.fetch(ctx)
	if err == nil {
		err = validKeys(keys)
	}
	s.lastErr = err
	if err != nil {
		return s.current(), unavailable(fmt.Errorf("fetching public keys: %w", err))
	}
	keys = append([]*rsa.PublicKey(nil), keys...)
	s.keys.Store(&keys)
	return keys, nil
}

func (s *RemoteKeys) current() []*rsa.PublicKey {
	if p := s.keys.Load(); p != nil {
		return *p
	}
	return nil
}

func validKeys(keys []*rsa.PublicKey) error {
	if len(keys) == 0 {
		return errors.New("no key fetched")
	}
	for _, k := range keys {
		if err := checkRSAKey(k); err != nil {
			return err
		}
	}
	return nil
}

var (
	_ Verifier  = (*RSA)(nil)
	_ KeySource = (*RemoteKeys)(nil)
)
