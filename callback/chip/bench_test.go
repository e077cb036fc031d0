package chip_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/verify"
)

// BenchmarkVerifyDecode measures, side by side in one run, the bare
// primitive (SHA-256 + rsa.VerifyPKCS1v15 with a pre-parsed key) and what
// the CHIP handler does with a delivery: verify the X-Signature header,
// then decode the Purchase. The body is CHIP's own 2,209-byte purchase
// (the SDK known-answer vector), signed with RSA-2048.
func BenchmarkVerifyDecode(b *testing.B) {
	body, sig, pub := vector(b)
	key, err := verify.ParseRSAPublicKey([]byte(pub))
	require.NoError(b, err)
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(b, err)
	v, err := verify.NewRSA(verify.RSAConfig{Header: chip.SignatureHeader, PublicKeys: []*rsa.PublicKey{key}})
	require.NoError(b, err)
	req := &verify.Request{Method: http.MethodPost, RequestURI: "/callbacks/chip", Header: http.Header{"X-Signature": {sig}}, Body: body}
	ctx := context.Background()

	b.Run("primitive", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			sum := sha256.Sum256(body)
			if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.Verify(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify+decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.Verify(ctx, req); err != nil {
				b.Fatal(err)
			}
			if _, err := chip.Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := chip.Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The whole handler, on the duplicate path after the first delivery
	// (verify, decode, dedup lookup, ack), including httptest's request and
	// recorder.
	b.Run("handler", func(b *testing.B) {
		withID := bytes.Replace(body, []byte(`"id": ""`), []byte(`"id": "x"`), 1)
		// The vector's signature covers the empty id; sign the variant
		// with the test key instead.
		h := newHandler(b, chip.Config{}, func(context.Context, *chip.Event) error { return nil })
		sigX := signTest(withID)
		b.ReportAllocs()
		b.SetBytes(int64(len(withID)))
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/callbacks/chip", bytes.NewReader(withID))
			r.Header.Set("X-Signature", sigX)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}

func signTest(body []byte) string { return callbacktest.SignChip(body, nil) }
