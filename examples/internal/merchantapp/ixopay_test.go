package merchantapp_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
)

func serveIXOPAY(app http.Handler, req *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestIXOPAYGeneratedSecretIsProcessedOnce(t *testing.T) {
	app, events, notes := newApp(t)
	m := regexp.MustCompile(`ixopay: .*generated secret "([^"]+)"`).FindStringSubmatch(notes.String())
	require.NotNil(t, m, "no generated secret in notes:\n%s", notes.String())
	secret := m[1]

	body := callbacktest.IXOPAYFixture("debit.ok")
	for i := range 3 {
		code, reply := serveIXOPAY(app.Handler, callbacktest.IXOPAYRequest(secret, "/callbacks/ixopay?shop=42", body, time.Now()))
		require.Equal(t, http.StatusOK, code, "delivery %d", i+1)
		require.Equal(t, "OK", reply, "delivery %d", i+1)
	}
	want := []map[string]any{{
		"provider": "ixopay", "key": "a1b2c3d4e5f6a7b8c9d0:DEBIT:OK", "event": "DEBIT.OK",
		"merchantTransactionId": "order-1001", "amount": "9.99", "currency": "EUR",
	}}
	if diff := cmp.Diff(want, eventLines(t, events.String())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// The printed shell commands sign a callback the app accepts: run them
// (all but curl) and post what they computed.
func TestIXOPAYPrintedCommandsSign(t *testing.T) {
	app, events, notes := newApp(t)
	v := runPrintedCommands(t, notes.String(), "ixopay: try it", "uri", "date", "sig", "body")
	uri, date, sig, body := v[0], v[1], v[2], v[3]

	req := httptest.NewRequest(http.MethodPost, uri, strings.NewReader(body))
	req.Header.Set("Content-Type", callbacktest.IXOPAYContentType)
	req.Header.Set("Date", date)
	req.Header.Set("X-Signature", sig)
	code, reply := serveIXOPAY(app.Handler, req)
	require.Equal(t, http.StatusOK, code, reply)
	require.Equal(t, "OK", reply)
	require.Len(t, eventLines(t, events.String()), 1)
}

func TestIXOPAYSecretsAndForgeries(t *testing.T) {
	app, events, notes := newApp(t, "-ixopay-secret", "old-secret", "-ixopay-secret", "new-secret")
	require.NotContains(t, notes.String(), "ixopay: no -ixopay-secret")
	now := time.Now()
	tests := []struct {
		name, secret, target, fixture string
		method                        string
		want                          int
	}{
		{"old secret", "old-secret", "/callbacks/ixopay", "debit.pending", http.MethodPost, http.StatusOK},
		{"new secret, any query", "new-secret", "/callbacks/ixopay?shop=42&x=%2F", "debit.ok", http.MethodPost, http.StatusOK},
		{"forged", "guessed", "/callbacks/ixopay", "refund.ok", http.MethodPost, http.StatusUnauthorized},
		{"wrong method", "new-secret", "/callbacks/ixopay", "refund.ok", http.MethodPut, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := callbacktest.IXOPAYRequest(tt.secret, tt.target, callbacktest.IXOPAYFixture(tt.fixture), now)
			req.Method = tt.method
			code, reply := serveIXOPAY(app.Handler, req)
			require.Equal(t, tt.want, code, reply)
			if tt.want != http.StatusOK {
				require.NotEqual(t, "OK", strings.TrimSpace(reply))
			}
		})
	}
	require.Len(t, eventLines(t, events.String()), 2)
}
