package merchantapp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestChipPublicKeyFlags(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
	require.NoError(t, err)
	webhookKey := writeFile(t, "webhook.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	companyKey := writeFile(t, "company.pem", callbacktest.ChipTestPublicKeyPEM())
	app, events, notes := newApp(t, "-chip-public-key", companyKey, "-chip-public-key", webhookKey)
	require.NotContains(t, notes.String(), "chip: no -chip-public-key")

	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	signed := func(event string, key *rsa.PrivateKey) *http.Request {
		body := callbacktest.ChipFixture(event)
		req := httptest.NewRequest(http.MethodPost, "/callbacks/chip", strings.NewReader(string(body)))
		req.Header.Set("X-Signature", callbacktest.SignChip(body, key))
		return req
	}
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"purchase.paid, company key", callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture("purchase.paid")), http.StatusOK},
		{"purchase.paid again", callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture("purchase.paid")), http.StatusOK},
		{"payment.refunded, webhook key", signed("payment.refunded", other), http.StatusOK},
		{"forged", signed("purchase.settled", forger), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			app.Handler.ServeHTTP(rec, tt.req)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
		})
	}
	want := []map[string]any{
		{
			"provider": "chip", "event": "purchase.paid", "key": "3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841780",
			"reference": "order-10042", "status": "paid", "amount": float64(12990), "currency": "MYR",
		},
		{"provider": "chip", "event": "payment.refunded", "key": "3f2a1c5a-4f1c-4a7e-9b3d-5e6d7c8b9a5a:payment.refunded:1746014400"},
	}
	if diff := cmp.Diff(want, eventLines(t, events.String())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestChipPublicKeyFlagErrors(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.pem")},
		{"not a key", writeFile(t, "cert.pem", "hello")},
		{"private key", writeFile(t, "key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := merchantapp.New(t.Context(), []string{"-chip-public-key", tt.file}, &syncBuffer{}, &syncBuffer{}, merchantapp.Options{})
			require.ErrorContains(t, err, "-chip-public-key")
		})
	}
}

// With no key configured the app makes a key pair up and prints commands
// that sign a callback with it: run them (all but curl) and post what they
// computed.
func TestChipPrintedCommandsSign(t *testing.T) {
	app, events, notes := newApp(t)
	v := runPrintedCommands(t, notes.String(), "chip: try it", "sig", "body")
	sig, body := v[0], v[1]

	for i := range 2 {
		req := httptest.NewRequest(http.MethodPost, "/callbacks/chip", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature", sig)
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "delivery %d: %s", i+1, rec.Body)
	}
	want := []map[string]any{{
		"provider": "chip", "event": "purchase.paid", "key": "3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841780",
		"reference": "order-10042", "status": "paid", "amount": float64(12990), "currency": "MYR",
	}}
	if diff := cmp.Diff(want, eventLines(t, events.String())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// The bundled test key is not accepted by a generated configuration.
	rec := httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture("purchase.created")))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}
