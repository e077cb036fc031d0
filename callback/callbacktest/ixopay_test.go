package callbacktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/ixopay"
	"github.com/paycallback/paycallback/verify"
)

func TestIXOPAYFixtures(t *testing.T) {
	want := []string{
		"chargeback-reversal.ok", "chargeback.ok", "debit.error", "debit.ok",
		"debit.pending", "payout.ok", "refund.ok", "register.ok",
	}
	if diff := cmp.Diff(want, callbacktest.IXOPAYEvents()); diff != "" {
		t.Fatalf("IXOPAYEvents (-want +got):\n%s", diff)
	}
	email := regexp.MustCompile(`[^"\s]+@[^"\s]+`)
	for _, name := range callbacktest.IXOPAYEvents() {
		t.Run(name, func(t *testing.T) {
			body := callbacktest.IXOPAYFixture(name)
			require.False(t, bytes.HasSuffix(body, []byte("\n")), "no trailing newline")
			var r ixopay.Result
			require.NoError(t, json.Unmarshal(body, &r))
			require.Equal(t, name, strings.ToLower(r.Name()), "the file is named after transactionType.result")
			require.NotEmpty(t, r.UUID)
			for _, m := range email.FindAllString(string(body), -1) {
				require.True(t, strings.HasSuffix(m, "@example.com"), "email %q outside example.com", m)
			}
			if r.Result == ixopay.ResultError {
				require.NotEmpty(t, r.Errors, "an ERROR fixture carries error details")
				require.NotEmpty(t, r.AdapterCode)
			}
		})
	}
}

func TestIXOPAYFixtureIsACopy(t *testing.T) {
	a := callbacktest.IXOPAYFixture("debit.ok")
	a[0] = 'X'
	require.Equal(t, byte('{'), callbacktest.IXOPAYFixture("debit.ok")[0])
	require.Panics(t, func() { callbacktest.IXOPAYFixture("debit.unknown") })
	require.Panics(t, func() { callbacktest.IXOPAYFixture("../ixopay/debit.ok") })
}

func TestIXOPAYRequestIsAccepted(t *testing.T) {
	now := time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)
	v, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{"s3cret"}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	body := callbacktest.IXOPAYFixture("debit.ok")

	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"IXOPAYRequest", func() *http.Request {
			return callbacktest.IXOPAYRequest("s3cret", "/cb?shop=1&x=%20y", body, now)
		}},
		{"md5", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/cb?shop=1", bytes.NewReader(body))
			r.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
			r.Header.Set("Date", now.Format(http.TimeFormat))
			callbacktest.SignIXOPAY(r, body, "s3cret", verify.HMACMD5)
			return r
		}},
		{"x-date", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/cb", bytes.NewReader(body))
			r.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
			r.Header.Set("X-Date", now.Format(http.TimeFormat))
			r.Header.Set("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
			callbacktest.SignIXOPAY(r, body, "s3cret", verify.HMACSHA512)
			return r
		}},
		{"client request without RequestURI", func() *http.Request {
			r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/cb?a=b", bytes.NewReader(body))
			require.NoError(t, err)
			r.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
			r.Header.Set("Date", now.Format(http.TimeFormat))
			callbacktest.SignIXOPAY(r, body, "s3cret", verify.HMACSHA512)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			got, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			require.Equal(t, body, got, "the request carries the body")
			require.NoError(t, v.Verify(context.Background(), verify.FromHTTP(r, body)))

			r.Header.Set("Content-Type", "text/plain")
			require.ErrorIs(t, v.Verify(context.Background(), verify.FromHTTP(r, body)), verify.ErrSignature)
		})
	}
}

func TestIXOPAYRequestHeaders(t *testing.T) {
	date := time.Date(2026, 4, 28, 17, 23, 40, 0, time.FixedZone("CEST", 2*3600))
	r := callbacktest.IXOPAYRequest("s", "/cb", nil, date)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/cb", r.RequestURI)
	require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
	require.Equal(t, "Tue, 28 Apr 2026 15:23:40 GMT", r.Header.Get("Date"))
	require.Len(t, r.Header.Values("X-Signature"), 1)
}

// The signer reproduces IXOPAY's published vector (empty secret and body).
func TestSignIXOPAYPublishedVector(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/v3/transaction/YOUR-API-KEY-HERE/debit", nil)
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Date", "Tue, 28 Apr 2026 15:23:40 GMT")
	callbacktest.SignIXOPAY(r, nil, "", verify.HMACSHA512)
	require.Equal(t, "4ICq+hfHFA81dAJHcXoP2/Pb+nkp9GljLe2S+REN0vMBhbQYNQUHIw/YxUTEIWS5Uu5WgdDEc7keMtqS0mpnAA==", r.Header.Get("X-Signature"))
}
