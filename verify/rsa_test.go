package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/verify"
)

// The known-answer vector from CHIP's official SDK test suites, copied from
// ../shared/vectors/chip.
func chipVector(t testing.TB) (body []byte, sig, pub string) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/chip/" + name)
		require.NoError(t, err)
		return b
	}
	return read("body.json"), string(read("sig.b64")), string(read("pub.pem"))
}

var (
	key2048A = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
	key2048B = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
	key3072  = sync.OnceValue(func() *rsa.PrivateKey { return genKey(3072) })
)

func genKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func pkixPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t testing.TB, k *rsa.PrivateKey, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func request(body []byte, sigs ...string) *verify.Request {
	h := http.Header{}
	for _, s := range sigs {
		h.Add("X-Signature", s)
	}
	return &verify.Request{Method: http.MethodPost, RequestURI: "/callbacks/chip", Header: h, Body: body}
}

func newRSA(t testing.TB, cfg verify.RSAConfig) *verify.RSA {
	t.Helper()
	v, err := verify.NewRSA(cfg)
	require.NoError(t, err)
	return v
}

func TestRSAKnownAnswer(t *testing.T) {
	body, sig, pub := chipVector(t)
	v := newRSA(t, verify.RSAConfig{Keys: []string{pub}})
	require.NoError(t, v.Verify(t.Context(), request(body, sig)))

	// Any single byte of the body changed must fail: every position.
	tampered := bytes.Clone(body)
	for i := range tampered {
		tampered[i] ^= 0x01
		err := v.Verify(t.Context(), request(tampered, sig))
		if !errors.Is(err, verify.ErrSignature) {
			t.Fatalf("byte %d changed: got %v, want ErrSignature", i, err)
		}
		tampered[i] = body[i]
	}
	// Nothing added, nothing removed.
	require.ErrorIs(t, v.Verify(t.Context(), request(append(bytes.Clone(body), '\n'), sig)), verify.ErrSignature)
	require.ErrorIs(t, v.Verify(t.Context(), request(body[:len(body)-1], sig)), verify.ErrSignature)
	require.ErrorIs(t, v.Verify(t.Context(), request(nil, sig)), verify.ErrSignature)
}

func TestRSASignatureHeader(t *testing.T) {
	body, sig, pub := chipVector(t)
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	flipped := bytes.Clone(raw)
	flipped[100] ^= 0x80

	tests := []struct {
		name    string
		header  http.Header
		wantErr error // nil: accepted
	}{
		{"padded", http.Header{"X-Signature": {sig}}, nil},
		{"unpadded", http.Header{"X-Signature": {strings.TrimRight(sig, "=")}}, nil},
		{"surrounding spaces", http.Header{"X-Signature": {"  " + sig + " "}}, nil},
		{"missing", http.Header{}, verify.ErrMissing},
		{"other header only", http.Header{"X-Signature-Sha512": {sig}}, verify.ErrMissing},
		{"empty", http.Header{"X-Signature": {""}}, verify.ErrMissing},
		{"blank", http.Header{"X-Signature": {"   "}}, verify.ErrMissing},
		{"duplicated, same value", http.Header{"X-Signature": {sig, sig}}, verify.ErrMalformed},
		{"duplicated, one empty", http.Header{"X-Signature": {"", sig}}, verify.ErrMalformed},
		{"not base64", http.Header{"X-Signature": {"!!!not-base64!!!"}}, verify.ErrMalformed},
		{"url alphabet", http.Header{"X-Signature": {strings.NewReplacer("+", "-", "/", "_").Replace(sig)}}, verify.ErrMalformed},
		{"bad padding", http.Header{"X-Signature": {sig + "=="}}, verify.ErrMalformed},
		{"too short", http.Header{"X-Signature": {base64.StdEncoding.EncodeToString(raw[:255])}}, verify.ErrMalformed},
		{"too long for any key", http.Header{"X-Signature": {base64.StdEncoding.EncodeToString(append(raw, raw...))}}, verify.ErrMalformed},
		{"longer than 4096 bits", http.Header{"X-Signature": {strings.Repeat("A", 1000)}}, verify.ErrMalformed},
		{"right length, wrong bytes", http.Header{"X-Signature": {base64.StdEncoding.EncodeToString(flipped)}}, verify.ErrSignature},
		{"zeros", http.Header{"X-Signature": {base64.StdEncoding.EncodeToString(make([]byte, 256))}}, verify.ErrSignature},
	}
	v := newRSA(t, verify.RSAConfig{Keys: []string{pub}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(t.Context(), &verify.Request{Method: http.MethodPost, Header: tt.header, Body: body})
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestRSAHeaderName(t *testing.T) {
	body, sig, pub := chipVector(t)
	v := newRSA(t, verify.RSAConfig{Header: "x-chip-signature", Keys: []string{pub}})
	require.NoError(t, v.Verify(t.Context(), &verify.Request{Header: http.Header{"X-Chip-Signature": {sig}}, Body: body}))
	require.ErrorIs(t, v.Verify(t.Context(), request(body, sig)), verify.ErrMissing)
}

func TestRSASeveralKeys(t *testing.T) {
	body := []byte(`{"id":"d6a1","event_type":"purchase.paid"}`)
	a, b, big := key2048A(), key2048B(), key3072()
	foreign := genKey(2048)
	v := newRSA(t, verify.RSAConfig{
		Keys:       []string{pkixPEM(t, &a.PublicKey)},
		PublicKeys: []*rsa.PublicKey{&b.PublicKey, &big.PublicKey},
	})
	only2048 := newRSA(t, verify.RSAConfig{PublicKeys: []*rsa.PublicKey{&a.PublicKey}})

	tests := []struct {
		name    string
		v       *verify.RSA
		sig     string
		wantErr error
	}{
		{"first key", v, sign(t, a, body), nil},
		{"second key", v, sign(t, b, body), nil},
		{"3072-bit key", v, sign(t, big, body), nil},
		{"foreign key", v, sign(t, foreign, body), verify.ErrSignature},
		{"3072-bit signature, only a 2048-bit key", only2048, sign(t, big, body), verify.ErrMalformed},
		{"other body's signature", v, sign(t, a, []byte(`{}`)), verify.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Verify(t.Context(), request(body, tt.sig))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

// fakeModulus returns an RSA public key with an n-bit odd modulus: enough
// to test size limits without generating a large key.
func fakeModulus(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.SetBit(n, 0, 1)
	return &rsa.PublicKey{N: n, E: 65537}
}

func TestParseRSAPublicKey(t *testing.T) {
	_, _, vectorPEM := chipVector(t)
	a := key2048A()
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&a.PublicKey)}))
	jsonString, err := json.Marshal(vectorPEM)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ed, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a)}))

	vectorKey, err := verify.ParseRSAPublicKey([]byte(vectorPEM))
	require.NoError(t, err)

	tests := []struct {
		name    string
		in      string
		want    *rsa.PublicKey // nil: expect ErrConfig
		wantErr string         // part of the error's text
	}{
		{"PKIX PEM", vectorPEM, vectorKey, ""},
		{"PKCS#1 PEM", pkcs1, &a.PublicKey, ""},
		{"literal \\n", strings.ReplaceAll(vectorPEM, "\n", `\n`), vectorKey, ""},
		{"literal \\r\\n", strings.ReplaceAll(vectorPEM, "\n", `\r\n`), vectorKey, ""},
		{"JSON string from /public_key/", string(jsonString), vectorKey, ""},
		{"JSON string with spaces around", " \n" + string(jsonString) + "\n", vectorKey, ""},
		{"text around the block", "CHIP company key:\n" + vectorPEM + "\n(end)\n", vectorKey, ""},
		{"4096 bits", pkixPEM(t, fakeModulus(4096)), fakeModulus(4096), ""},
		{"empty", "", nil, "no PEM block"},
		{"garbage", "hello", nil, "no PEM block"},
		{"malformed JSON string", `"-----BEGIN PUBLIC KEY-----\q"`, nil, "JSON"},
		{"truncated PEM", vectorPEM[:200], nil, "no PEM block"},
		{"not DER", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER")})), nil, "parsing PUBLIC KEY"},
		{"private key", priv, nil, "not a public key"},
		{"ECDSA", pkixPEM(t, &ec.PublicKey), nil, "not RSA"},
		{"Ed25519", pkixPEM(t, ed), nil, "not RSA"},
		{"1024 bits", pkixPEM(t, &small.PublicKey), nil, "1024 bits"},
		{"2047 bits", pkixPEM(t, fakeModulus(2047)), nil, "2047 bits"},
		{"8192 bits", pkixPEM(t, fakeModulus(8192)), nil, "8192 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.ParseRSAPublicKey([]byte(tt.in))
			if tt.want == nil {
				require.ErrorIs(t, err, verify.ErrConfig)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if !tt.want.Equal(got) {
				t.Errorf("key mismatch: want %d-bit %x..., got %d-bit %x...", tt.want.N.BitLen(), tt.want.N.Bytes()[:8], got.N.BitLen(), got.N.Bytes()[:8])
			}
		})
	}
}

func TestNewRSAConfig(t *testing.T) {
	_, _, pub := chipVector(t)
	tests := []struct {
		name string
		cfg  verify.RSAConfig
	}{
		{"no key", verify.RSAConfig{}},
		{"empty key list", verify.RSAConfig{Keys: []string{}}},
		{"empty key", verify.RSAConfig{Keys: []string{""}}},
		{"one bad key among good ones", verify.RSAConfig{Keys: []string{pub, "nope"}}},
		{"nil parsed key", verify.RSAConfig{PublicKeys: []*rsa.PublicKey{nil}}},
		{"small parsed key", verify.RSAConfig{PublicKeys: []*rsa.PublicKey{fakeModulus(1024)}}},
		{"even exponent", verify.RSAConfig{PublicKeys: []*rsa.PublicKey{{N: fakeModulus(2048).N, E: 4}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := verify.NewRSA(tt.cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
			require.Nil(t, v)
		})
	}
}

// clock is a settable clock for RemoteKeys.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fetcher is a fake key owner whose current key and availability tests set.
type fetcher struct {
	mu    sync.Mutex
	key   *rsa.PublicKey
	err   error
	calls atomic.Int64
}

func (f *fetcher) set(k *rsa.PublicKey, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key, f.err = k, err
}

func (f *fetcher) Fetch(context.Context) ([]*rsa.PublicKey, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return []*rsa.PublicKey{f.key}, nil
}

func TestRemoteKeysRotation(t *testing.T) {
	body := []byte(`{"id":"x","event_type":"purchase.paid"}`)
	oldKey, newKey, forger := key2048A(), key2048B(), genKey(2048)
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	f := &fetcher{key: &oldKey.PublicKey}
	src, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: f.Fetch, RefreshInterval: 10 * time.Minute, Now: clk.Now})
	require.NoError(t, err)
	v := newRSA(t, verify.RSAConfig{Source: src})
	ctx := t.Context()

	// First use fetches; later uses are served from the cache.
	require.NoError(t, v.Verify(ctx, request(body, sign(t, oldKey, body))))
	require.NoError(t, v.Verify(ctx, request(body, sign(t, oldKey, body))))
	require.Equal(t, int64(1), f.calls.Load())

	// CHIP rotates its key. The interval since the first fetch has not
	// passed: no refetch, the new signature fails like a forgery.
	f.set(&newKey.PublicKey, nil)
	clk.Advance(5 * time.Minute)
	require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, newKey, body))), verify.ErrSignature)
	require.Equal(t, int64(1), f.calls.Load())

	// Once it has, one failure refetches and the genuine request passes.
	clk.Advance(5 * time.Minute)
	require.NoError(t, v.Verify(ctx, request(body, sign(t, newKey, body))))
	require.Equal(t, int64(2), f.calls.Load())
	require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, oldKey, body))), verify.ErrSignature, "the old key is gone")

	// A flood of forgeries fetches at most once per interval.
	for range 50 {
		require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, forger, body))), verify.ErrSignature)
	}
	require.Equal(t, int64(2), f.calls.Load())
	clk.Advance(10 * time.Minute)
	for range 50 {
		require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, forger, body))), verify.ErrSignature)
	}
	require.Equal(t, int64(3), f.calls.Load())
}

func TestRemoteKeysUnavailable(t *testing.T) {
	body := []byte(`{}`)
	key := key2048A()
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	down := errors.New("connection refused")
	f := &fetcher{err: down}
	src, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: f.Fetch, Now: clk.Now})
	require.NoError(t, err)
	v := newRSA(t, verify.RSAConfig{Source: src})
	ctx := t.Context()

	// No key yet and the API is down: 503-class, never 401 or accepted.
	err = v.Verify(ctx, request(body, sign(t, key, body)))
	require.ErrorIs(t, err, verify.ErrUnavailable)
	require.ErrorIs(t, err, down)
	// Not retried before the (default 5 min) interval.
	require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, key, body))), verify.ErrUnavailable)
	require.Equal(t, int64(1), f.calls.Load())

	clk.Advance(verify.DefaultRefreshInterval)
	f.set(&key.PublicKey, nil)
	require.NoError(t, v.Verify(ctx, request(body, sign(t, key, body))))
	require.Equal(t, int64(2), f.calls.Load())

	// The API goes down again: known keys keep working; an unknown
	// signature, once the interval allows a refetch, is unavailable.
	f.set(nil, down)
	clk.Advance(verify.DefaultRefreshInterval)
	require.NoError(t, v.Verify(ctx, request(body, sign(t, key, body))))
	require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, key2048B(), body))), verify.ErrUnavailable)
	require.ErrorIs(t, v.Verify(ctx, request(body, sign(t, key2048B(), body))), verify.ErrSignature, "within the interval: no refetch")
	require.Equal(t, int64(3), f.calls.Load())

	// Static keys are tried first and need no fetch.
	both := newRSA(t, verify.RSAConfig{PublicKeys: []*rsa.PublicKey{&key2048B().PublicKey}, Source: src})
	require.NoError(t, both.Verify(ctx, request(body, sign(t, key2048B(), body))))
	require.Equal(t, int64(3), f.calls.Load())
}

func TestRemoteKeysConcurrentRefresh(t *testing.T) {
	body := []byte(`{}`)
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	f := &fetcher{key: &key2048A().PublicKey}
	src, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: f.Fetch, Now: clk.Now})
	require.NoError(t, err)
	v := newRSA(t, verify.RSAConfig{Source: src})
	forged := sign(t, key2048B(), body)
	genuine := sign(t, key2048A(), body)

	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() {
			sig := forged
			if i%2 == 0 {
				sig = genuine
			}
			errs[i] = v.Verify(t.Context(), request(body, sig))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 {
			require.NoError(t, err, "request %d", i)
		} else {
			require.ErrorIs(t, err, verify.ErrSignature, "request %d", i)
		}
	}
	require.Equal(t, int64(1), f.calls.Load(), "one fetch for 32 concurrent requests")
}

func TestRemoteKeysRejectsBadFetch(t *testing.T) {
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		fetch func(context.Context) ([]*rsa.PublicKey, error)
	}{
		{"no key", func(context.Context) ([]*rsa.PublicKey, error) { return nil, nil }},
		{"small key", func(context.Context) ([]*rsa.PublicKey, error) { return []*rsa.PublicKey{fakeModulus(1024)}, nil }},
		{"nil key", func(context.Context) ([]*rsa.PublicKey, error) { return []*rsa.PublicKey{nil}, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: tt.fetch, Now: clk.Now})
			require.NoError(t, err)
			keys, err := src.PublicKeys(t.Context())
			require.ErrorIs(t, err, verify.ErrUnavailable)
			require.Empty(t, keys)
		})
	}
	_, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{})
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: tests[0].fetch, RefreshInterval: -time.Second})
	require.ErrorIs(t, err, verify.ErrConfig)
}

func TestRemoteKeysContextCanceled(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	src, err := verify.NewRemoteKeys(verify.RemoteKeysConfig{Fetch: func(ctx context.Context) ([]*rsa.PublicKey, error) {
		close(started)
		<-release
		return []*rsa.PublicKey{&key2048A().PublicKey}, nil
	}})
	require.NoError(t, err)
	done := make(chan error)
	go func() { _, err := src.PublicKeys(context.Background()); done <- err }()
	<-started
	// A second caller waiting for the fetch gives up with its context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = src.PublicKeys(ctx)
	require.ErrorIs(t, err, verify.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, <-done)
}

func TestDecodeSignature(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr error
	}{
		{"AQID", []byte{1, 2, 3}, nil},
		{"AQIDBA==", []byte{1, 2, 3, 4}, nil},
		{"AQIDBA", []byte{1, 2, 3, 4}, nil},
		{" AQIDBA== ", []byte{1, 2, 3, 4}, nil},
		{"", nil, verify.ErrMissing},
		{"AQIDBA=", nil, verify.ErrMalformed},
		{"AQ-_", nil, verify.ErrMalformed},
		{"A", nil, verify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := verify.DecodeSignature(tt.in, nil)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeSignature(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzDecodeSignature(f *testing.F) {
	_, sig, _ := chipVector(f)
	for _, s := range []string{sig, strings.TrimRight(sig, "="), "", "=", "AQIDBA=", " AQ== "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := verify.DecodeSignature(s, nil)
		if err != nil {
			if !errors.Is(err, verify.ErrMissing) && !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("DecodeSignature(%q): error %v matches no sentinel", s, err)
			}
			return
		}
		if len(got) > verify.MaxRSABits/8 {
			t.Fatalf("DecodeSignature(%q): %d bytes, more than a 4096-bit signature", s, len(got))
		}
		// Round trip: both encodings of what was decoded decode to it.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			if e := enc.EncodeToString(got); e != "" {
				again, err := verify.DecodeSignature(e, nil)
				require.NoError(t, err)
				require.Equal(t, got, again)
			}
		}
	})
}

func FuzzParseRSAPublicKey(f *testing.F) {
	_, _, pub := chipVector(f)
	js, _ := json.Marshal(pub)
	for _, s := range []string{pub, strings.ReplaceAll(pub, "\n", `\n`), string(js), "", `"`, "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := verify.ParseRSAPublicKey(data)
		if err != nil {
			if !errors.Is(err, verify.ErrConfig) {
				t.Fatalf("error %v does not match ErrConfig", err)
			}
			return
		}
		if bits := k.N.BitLen(); bits < verify.MinRSABits || bits > verify.MaxRSABits {
			t.Fatalf("accepted a %d-bit key", bits)
		}
	})
}

// FuzzRSAVerify checks that no header value or body makes Verify panic or
// return an error outside the sentinels, and that the vector's signature
// never verifies another body.
func FuzzRSAVerify(f *testing.F) {
	body, sig, pub := chipVector(f)
	f.Add(body, sig)
	f.Add(body[:100], sig)
	f.Add([]byte{}, "")
	f.Add(body, strings.TrimRight(sig, "="))
	v, err := verify.NewRSA(verify.RSAConfig{Keys: []string{pub}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, b []byte, header string) {
		err := v.Verify(context.Background(), request(b, header))
		if err == nil {
			// Only the vector's body, under the vector's signature bytes
			// (padded or not), may verify: anything else is a forgery.
			require.Equal(t, body, b, "the vector's signature verified another body")
			got, _ := verify.DecodeSignature(header, nil)
			want, _ := base64.StdEncoding.DecodeString(sig)
			require.Equal(t, want, got, "a different signature verified")
			return
		}
		for _, s := range []error{verify.ErrMissing, verify.ErrMalformed, verify.ErrSignature} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v matches no verification sentinel", err)
	})
}

// BenchmarkRSA compares Verify with the bare primitive on the known-answer
// vector (a 2,209-byte purchase, RSA-2048): the difference is the cost of
// the header lookup, base64 decoding and key selection.
func BenchmarkRSA(b *testing.B) {
	body, sig, pub := chipVector(b)
	key, err := verify.ParseRSAPublicKey([]byte(pub))
	require.NoError(b, err)
	b.Run("primitive", func(b *testing.B) {
		raw, err := base64.StdEncoding.DecodeString(sig)
		require.NoError(b, err)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			sum := sha256.Sum256(body)
			if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		v := newRSA(b, verify.RSAConfig{PublicKeys: []*rsa.PublicKey{key}})
		req := request(body, sig)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.Verify(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
