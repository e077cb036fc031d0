package callbacktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/verify"
)

func TestChipFixturesCoverEveryEvent(t *testing.T) {
	var want []string
	for _, e := range chip.EventTypes() {
		want = append(want, string(e))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, callbacktest.ChipEvents()); diff != "" {
		t.Errorf("fixtures vs chip.EventTypes (-want +got):\n%s", diff)
	}
}

func TestChipFixtures(t *testing.T) {
	for _, event := range callbacktest.ChipEvents() {
		t.Run(event, func(t *testing.T) {
			body := callbacktest.ChipFixture(event)
			require.False(t, bytes.HasSuffix(body, []byte("\n")), "CHIP sends no trailing newline")

			// Valid JSON whose event_type names the file.
			var top struct {
				EventType string `json:"event_type"`
				ID        string `json:"id"`
				UpdatedOn int64  `json:"updated_on"`
			}
			require.NoError(t, json.Unmarshal(body, &top))
			require.Equal(t, event, top.EventType)
			require.NotEmpty(t, top.ID)
			require.NotZero(t, top.UpdatedOn)

			// Scrubbed: no real-looking contact data.
			for _, m := range emailLike(string(body)) {
				require.True(t, strings.HasSuffix(m, "@example.com"), "email %q outside example.com", m)
			}

			c, err := chip.Decode(body)
			require.NoError(t, err)
			require.Equal(t, chip.EventType(event), c.EventType)
			switch {
			case strings.HasPrefix(event, "purchase."):
				require.NotNil(t, c.Purchase)
				require.Equal(t, "purchase", c.Purchase.Type)
				require.NotEmpty(t, c.Purchase.Status)
				require.NotEmpty(t, c.Purchase.Purchase.Products)
			case strings.HasPrefix(event, "payment."):
				require.NotNil(t, c.Payment)
				require.NotEmpty(t, c.Payment.RelatedTo.ID)
			default:
				require.Nil(t, c.Purchase)
				require.Nil(t, c.Payment)
			}
		})
	}
}

func emailLike(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '"' || r == ' ' }) {
		if strings.Contains(f, "@") {
			out = append(out, f)
		}
	}
	return out
}

func TestChipFixtureIsACopy(t *testing.T) {
	a := callbacktest.ChipFixture("purchase.paid")
	a[0] = 'X'
	require.Equal(t, byte('{'), callbacktest.ChipFixture("purchase.paid")[0])
}

func TestChipFixtureUnknown(t *testing.T) {
	require.Panics(t, func() { callbacktest.ChipFixture("purchase.nope") })
	require.Panics(t, func() { callbacktest.ChipFixture("../chip/purchase.paid") })
}

func TestChipRequestVerifies(t *testing.T) {
	v, err := verify.NewRSA(verify.RSAConfig{Keys: []string{callbacktest.ChipTestPublicKeyPEM()}})
	require.NoError(t, err)
	body := callbacktest.ChipFixture("purchase.paid")
	req := callbacktest.ChipRequest("/callbacks/chip?shop=1", body)

	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "/callbacks/chip?shop=1", req.RequestURI)
	require.Equal(t, "application/json", req.Header.Get("Content-Type"))
	got, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	require.Equal(t, body, got)
	require.NoError(t, v.Verify(t.Context(), verify.FromHTTP(req, got)))

	// The signer is CHIP's format: the known-answer verifier's rules.
	require.Equal(t, 2048, callbacktest.ChipTestKey().N.BitLen())
	sig := callbacktest.SignChip(body, callbacktest.ChipTestKey())
	require.Equal(t, req.Header.Get("X-Signature"), sig, "PKCS#1 v1.5 signatures are deterministic")
	require.NoError(t, v.Verify(t.Context(), &verify.Request{Header: http.Header{"X-Signature": {sig}}, Body: body}))
	require.ErrorIs(t, v.Verify(t.Context(), &verify.Request{Header: http.Header{"X-Signature": {sig}}, Body: append(body, ' ')}), verify.ErrSignature)
}
