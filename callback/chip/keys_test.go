package chip_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/verify"
)

// fakeKeyAPI is an httptest fake of CHIP's GET /api/v1/public_key/.
type fakeKeyAPI struct {
	apiKey string
	calls  atomic.Int32

	mu     sync.Mutex
	pem    string // the current company key
	status int    // 0: 200
}

func (f *fakeKeyAPI) set(pemKey string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pem, f.status = pemKey, status
}

func (f *fakeKeyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/public_key/" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.apiKey {
		http.Error(w, `{"__all__":[{"message":"Invalid token.","code":"authentication_failed"}]}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		http.Error(w, "unavailable", f.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.pem) // CHIP answers the PEM as a JSON string
}

func newKeyAPI(t *testing.T, pemKey string) (*fakeKeyAPI, *httptest.Server) {
	f := &fakeKeyAPI{apiKey: "test-api-key", pem: pemKey}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

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

func publicPEM(t testing.TB, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestKeySourceRotation(t *testing.T) {
	rotated, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	fake, srv := newKeyAPI(t, callbacktest.ChipTestPublicKeyPEM())
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	src, err := chip.NewKeySource(chip.KeySourceConfig{
		APIKey: "test-api-key", BaseURL: srv.URL + "/", Client: srv.Client(),
		RefreshInterval: time.Minute, Now: clk.Now,
	})
	require.NoError(t, err)
	fn := &recorder{}
	h := newHandler(t, chip.Config{KeySource: src}, fn.Func)

	deliver := func(event string, key *rsa.PrivateKey) int {
		body := callbacktest.ChipFixture(event)
		req := httptest.NewRequest(http.MethodPost, "/callbacks/chip", strings.NewReader(string(body)))
		req.Header.Set("X-Signature", callbacktest.SignChip(body, key))
		return serve(h, req).Code
	}

	require.Equal(t, http.StatusOK, deliver("purchase.paid", nil))
	require.Equal(t, http.StatusOK, deliver("purchase.created", nil))
	require.Equal(t, int32(1), fake.calls.Load(), "fetched once, then cached")

	// CHIP rotates its key. Within the interval the new signature is
	// refused (CHIP retries it), without asking CHIP again.
	fake.set(publicPEM(t, rotated), 0)
	clk.Advance(30 * time.Second)
	require.Equal(t, http.StatusUnauthorized, deliver("purchase.settled", rotated))
	require.Equal(t, int32(1), fake.calls.Load())

	// After the interval one failure refetches, and the retry passes.
	clk.Advance(30 * time.Second)
	require.Equal(t, http.StatusOK, deliver("purchase.settled", rotated))
	require.Equal(t, int32(2), fake.calls.Load())

	// Forgeries do not hammer CHIP: at most one fetch per interval.
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for range 20 {
		require.Equal(t, http.StatusUnauthorized, deliver("purchase.paid", forger))
	}
	require.Equal(t, int32(2), fake.calls.Load())
	require.Equal(t, 3, fn.Calls(), "only the genuine deliveries ran")
}

func TestKeySourceUnavailable(t *testing.T) {
	fake, srv := newKeyAPI(t, callbacktest.ChipTestPublicKeyPEM())
	fake.set("", http.StatusBadGateway)
	clk := &clock{now: time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)}
	src, err := chip.NewKeySource(chip.KeySourceConfig{APIKey: "test-api-key", BaseURL: srv.URL, Client: srv.Client(), Now: clk.Now})
	require.NoError(t, err)
	fn := &recorder{}
	h := newHandler(t, chip.Config{KeySource: src}, fn.Func)
	body := callbacktest.ChipFixture("purchase.paid")

	// No key can be had: 503, so CHIP retries; the function never runs.
	require.Equal(t, http.StatusServiceUnavailable, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Zero(t, fn.Calls())

	clk.Advance(verify.DefaultRefreshInterval)
	fake.set(callbacktest.ChipTestPublicKeyPEM(), 0)
	require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Equal(t, 1, fn.Calls())
}

func TestKeySourceFetchErrors(t *testing.T) {
	tests := []struct {
		name   string
		apiKey string
		answer string
		status int
	}{
		{"wrong API key", "other", callbacktest.ChipTestPublicKeyPEM(), 0},
		{"server error", "test-api-key", "", http.StatusInternalServerError},
		{"not a key", "test-api-key", "hello", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, srv := newKeyAPI(t, tt.answer)
			fake.set(tt.answer, tt.status)
			src, err := chip.NewKeySource(chip.KeySourceConfig{APIKey: tt.apiKey, BaseURL: srv.URL, Client: srv.Client()})
			require.NoError(t, err)
			keys, err := src.PublicKeys(t.Context())
			require.ErrorIs(t, err, verify.ErrUnavailable)
			require.Empty(t, keys)
			require.NotContains(t, err.Error(), tt.apiKey, "the API key never appears in errors")
		})
	}
}

func TestKeySourceFetchesJSONString(t *testing.T) {
	fake, srv := newKeyAPI(t, callbacktest.ChipTestPublicKeyPEM())
	src, err := chip.NewKeySource(chip.KeySourceConfig{APIKey: "test-api-key", BaseURL: srv.URL, Client: srv.Client()})
	require.NoError(t, err)
	keys, err := src.PublicKeys(t.Context())
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.True(t, callbacktest.ChipTestKey().PublicKey.Equal(keys[0]))
	require.Equal(t, int32(1), fake.calls.Load())
}

func TestNewKeySourceConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  chip.KeySourceConfig
	}{
		{"no API key", chip.KeySourceConfig{}},
		{"relative base URL", chip.KeySourceConfig{APIKey: "k", BaseURL: "gate.chip-in.asia"}},
		{"other scheme", chip.KeySourceConfig{APIKey: "k", BaseURL: "ftp://gate.chip-in.asia"}},
		{"negative interval", chip.KeySourceConfig{APIKey: "k", RefreshInterval: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := chip.NewKeySource(tt.cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
			require.Nil(t, src)
		})
	}
}
