package avarda_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/avarda"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/verify"
)

func newHandler(t *testing.T, runs *atomic.Int32, seen *[]string) http.Handler {
	t.Helper()
	auth, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Bearer: []string{"current-token", "previous-token"},
		Basic:  []verify.BasicCredential{{Username: "avarda", Password: "s3cret"}},
	})
	require.NoError(t, err)
	h, err := avarda.New(avarda.Config{Verifier: auth}, func(_ context.Context, ev *avarda.Event) error {
		runs.Add(1)
		if seen != nil {
			*seen = append(*seen, ev.Payload.PurchaseID+" "+ev.Name)
		}
		return nil
	})
	require.NoError(t, err)
	return h
}

func TestAvarda(t *testing.T) {
	const id = "489ea341e23941089e6d0378c708512a"
	tests := []struct {
		name        string
		body        string
		contentType string
		auth        string
		want        int
	}{
		{"json", `{"purchaseId":"` + id + `"}`, "application/json", "Bearer current-token", 200},
		{"json with charset", `{"purchaseId":"` + id + `"}`, "application/json; charset=utf-8", "Bearer current-token", 200},
		{"no content type", `{"purchaseId":"` + id + `"}`, "", "Bearer current-token", 200},
		{"previous token during rotation", `{"purchaseId":"` + id + `"}`, "application/json", "Bearer previous-token", 200},
		{"basic", `{"purchaseId":"` + id + `"}`, "application/json", callbacktest.BasicAuthorization("avarda", "s3cret"), 200},
		{"unknown fields ignored", `{"purchaseId":"` + id + `","extra":{"a":1}}`, "application/json", "Bearer current-token", 200},
		{"no authorization", `{"purchaseId":"` + id + `"}`, "application/json", "", 401},
		{"wrong token", `{"purchaseId":"` + id + `"}`, "application/json", "Bearer guessed", 401},
		{"wrong basic password", `{"purchaseId":"` + id + `"}`, "application/json", callbacktest.BasicAuthorization("avarda", "guess"), 401},
		{"missing purchaseId", `{}`, "application/json", "Bearer current-token", 400},
		{"empty purchaseId", `{"purchaseId":""}`, "application/json", "Bearer current-token", 400},
		{"purchaseId with a space", `{"purchaseId":"a b"}`, "application/json", "Bearer current-token", 400},
		{"purchaseId not a string", `{"purchaseId":42}`, "application/json", "Bearer current-token", 400},
		{"not json", `purchaseId=` + id, "application/x-www-form-urlencoded", "Bearer current-token", 400},
		{"null body", `null`, "application/json", "Bearer current-token", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			h := newHandler(t, &runs, nil)
			req := httptest.NewRequest(http.MethodPost, "/callbacks/avarda?order=42", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			wantRuns := int32(0)
			if tt.want == 200 {
				wantRuns = 1
			}
			require.Equal(t, wantRuns, runs.Load())
		})
	}
}

func TestAvardaRedeliveryProcessedOnce(t *testing.T) {
	var runs atomic.Int32
	var seen []string
	h := newHandler(t, &runs, &seen)
	id := callbacktest.NewPurchaseID()
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, callbacktest.AvardaRequest("/callbacks/avarda", id, "Bearer current-token"))
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "OK", rec.Body.String())
	}
	require.Equal(t, []string{id + " purchase.completed"}, seen)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callbacks/avarda", nil))
	require.Equal(t, 405, rec.Code)
	require.Equal(t, "POST", rec.Header().Get("Allow"))
}

func TestAvardaFixture(t *testing.T) {
	var runs atomic.Int32
	var seen []string
	h := newHandler(t, &runs, &seen)
	req := httptest.NewRequest(http.MethodPost, "/callbacks/avarda", strings.NewReader(string(callbacktest.AvardaFixture())))
	req.Header.Set("Authorization", callbacktest.BearerAuthorization("current-token"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.Equal(t, []string{"489ea341e23941089e6d0378c708512a purchase.completed"}, seen)
}

func TestNewRequiresVerifier(t *testing.T) {
	_, err := avarda.New(avarda.Config{}, func(context.Context, *avarda.Event) error { return nil })
	require.Error(t, err)
}

// FuzzAvarda feeds arbitrary authenticated bodies to the handler: nothing
// panics, every reply is 200 or 400, and a 200 means the function saw a
// non-empty printable purchase id.
func FuzzAvarda(f *testing.F) {
	f.Add(callbacktest.AvardaFixture())
	f.Add([]byte(`{"purchaseId":""}`))
	f.Add([]byte(`{"purchaseId":"x","purchaseId":"y"}`))
	f.Add([]byte(`{"PurchaseID":"abc"}`))
	f.Add([]byte(`[]`))
	auth, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{"t"}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body []byte) {
		var got string
		h, err := avarda.New(avarda.Config{Verifier: auth}, func(_ context.Context, ev *avarda.Event) error {
			got = ev.Payload.PurchaseID
			return nil
		})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			require.NotEmpty(t, got)
			require.Equal(t, got, strings.TrimSpace(got))
		case 400, 413:
			require.Empty(t, got)
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
