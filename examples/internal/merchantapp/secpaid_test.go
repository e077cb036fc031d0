package merchantapp_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

func secpaidApp(t *testing.T, api *callbacktest.SecPaidAPI) (*merchantapp.App, *syncBuffer) {
	t.Helper()
	app, events, _ := newApp(t,
		"-secpaid-user-id", "other-account", "-secpaid-user-id", callbacktest.SecPaidTestUserID,
		"-secpaid-token", "tok", "-secpaid-api", api.URL,
		"-secpaid-success-url", "https://shop.example/thanks",
		"-secpaid-cancel-url", "https://shop.example/cart",
		"-secpaid-pending-url", "https://shop.example/processing",
		"-secpaid-key", callbacktest.SecPaidTestKey)
	return app, events
}

func TestSecPaidConfirmedOnceAcrossBothRoutes(t *testing.T) {
	api := callbacktest.NewSecPaidAPI("tok")
	defer api.Close()
	api.Pay("4711", "49.99", callbacktest.SecPaidTestUserID)
	app, events := secpaidApp(t, api)

	n := callbacktest.SecPaidNotification{PayID: "4711", Amount: "49.99", UserID: callbacktest.SecPaidTestUserID, Status: "Success"}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			var req *http.Request
			if i%2 == 0 {
				req = callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", "4711", callbacktest.SecPaidTestUserID, "success")
			} else {
				req = callbacktest.SecPaidRequest("/callbacks/secpaid", n, callbacktest.SecPaidEncodings[i%len(callbacktest.SecPaidEncodings)], callbacktest.SecPaidTestKey)
			}
			app.Handler.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", "4711", callbacktest.SecPaidTestUserID, "success"))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "https://shop.example/thanks", rec.Header().Get("Location"))

	lines := eventLines(t, events.String())
	require.Len(t, lines, 1)
	delete(lines[0], "source") // whichever route won
	want := []map[string]any{{"provider": "secpaid", "key": "4711:success", "event": "success", "pay_id": "4711", "amount": "49.99"}}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestSecPaidSpoofsAreNotProcessed(t *testing.T) {
	api := callbacktest.NewSecPaidAPI("tok")
	defer api.Close()
	app, events := secpaidApp(t, api)

	rec := httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", "1", callbacktest.SecPaidTestUserID, "success"))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "https://shop.example/processing", rec.Header().Get("Location"))

	rec = httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, callbacktest.SecPaidRequest("/callbacks/secpaid",
		callbacktest.SecPaidNotification{PayID: "1", Amount: "1000", UserID: callbacktest.SecPaidTestUserID, Status: "success"},
		callbacktest.SecPaidNested, ""))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Empty(t, events.String())
}

func TestSecPaidRefusesToRunUnconfirmed(t *testing.T) {
	_, err := merchantapp.New(t.Context(), []string{"-secpaid-user-id", "u"}, &syncBuffer{}, &syncBuffer{}, merchantapp.Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), "Token")
}
