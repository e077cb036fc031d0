package secpaid_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
	"github.com/paycallback/paycallback/retry"
)

const (
	token   = "test-token"
	userID  = callbacktest.SecPaidTestUserID
	key     = callbacktest.SecPaidTestKey
	success = "https://shop.example/thanks"
	cancel  = "https://shop.example/cart"
	pending = "https://shop.example/processing"
)

// fastBackoff keeps retries to a millisecond, so that tests against the
// loopback fake never wait; retry.Do's timing is tested on a fake clock.
var fastBackoff = retry.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxAttempts: 3}

// recorder records the merchant's function's calls.
type recorder struct {
	mu    sync.Mutex
	calls []secpaid.Payment
	keys  []string
	err   atomic.Pointer[error]
}

func (r *recorder) fn(_ context.Context, ev *secpaid.Event) error {
	if p := r.err.Load(); p != nil {
		return *p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := ev.Payload
	p.Transaction = nil // compared separately
	r.calls = append(r.calls, p)
	r.keys = append(r.keys, ev.Key)
	return nil
}

func (r *recorder) payments() []secpaid.Payment {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]secpaid.Payment(nil), r.calls...)
}

type fixture struct {
	api *callbacktest.SecPaidAPI
	h   *secpaid.Handlers
	rec *recorder
}

func newFixture(t *testing.T, edit func(*secpaid.Config)) *fixture {
	t.Helper()
	api := callbacktest.NewSecPaidAPI(token)
	t.Cleanup(api.Close)
	cfg := secpaid.Config{
		UserIDs:       []string{"someone-else", userID},
		Token:         token,
		BaseURL:       api.URL,
		HTTPClient:    api.Client(),
		Backoff:       fastBackoff,
		EncryptionKey: key,
		SuccessURL:    success,
		CancelURL:     cancel,
		PendingURL:    pending,
	}
	if edit != nil {
		edit(&cfg)
	}
	rec := &recorder{}
	h, err := secpaid.New(cfg, rec.fn)
	require.NoError(t, err)
	return &fixture{api: api, h: h, rec: rec}
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) ret(payID, user, status string) *httptest.ResponseRecorder {
	return serve(f.h.Return, callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", payID, user, status))
}

func (f *fixture) post(n callbacktest.SecPaidNotification, e callbacktest.SecPaidEncoding) *httptest.ResponseRecorder {
	return serve(f.h.Endpoint, callbacktest.SecPaidRequest("/callbacks/secpaid", n, e, key))
}

func requireRedirect(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, want, rec.Header().Get("Location"))
	require.Empty(t, rec.Body.String())
}

func TestReturnSpoofedNeverReachesSuccess(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pend("200", "10.00", userID)
	tests := []struct {
		name, payID, status string
	}{
		{"unknown payment", "100", "success"},
		{"unknown payment, capital status", "101", "Success"},
		{"pending payment", "200", "SUCCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 {
				requireRedirect(t, f.ret(tt.payID, userID, tt.status), pending)
			}
		})
	}
	require.Empty(t, f.rec.payments())
}

func TestReturnConfirmedGoesToSuccessOnce(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("4711", "49.99", userID)
	for _, status := range []string{"success", "Success", "SUCCESS"} {
		requireRedirect(t, f.ret("4711", userID, status), success)
	}
	want := []secpaid.Payment{{
		PayID: "4711", UserID: userID, Status: "success", Amount: mustAmount(t, "49.99"),
		Source: secpaid.SourceReturn, Confirmed: true,
	}}
	if diff := cmp.Diff(want, f.rec.payments(), cmp.Comparer(amountEqual)); diff != "" {
		t.Errorf("payments (-want +got):\n%s", diff)
	}
}

func TestReturnRejectsAndNeverReflects(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("1", "5.00", userID)
	tests := []struct {
		name     string
		query    string
		wantCode int
		wantLoc  string
	}{
		{"no query", "", 400, ""},
		{"no pay_id", "user_id=" + userID + "&status=success", 400, ""},
		{"no user_id", "pay_id=1&status=success", 400, ""},
		{"no status", "pay_id=1&user_id=" + userID, 400, ""},
		{"foreign user_id", "pay_id=1&user_id=intruder&status=success", 400, ""},
		{"pay_id not a number", "pay_id=1%3Bdrop&user_id=" + userID + "&status=success", 400, ""},
		{"pay_id a URL", "pay_id=https%3A%2F%2Fevil.example&user_id=" + userID + "&status=success", 400, ""},
		{"pay_id repeated", "pay_id=1&pay_id=2&user_id=" + userID + "&status=success", 400, ""},
		{"status unknown", "pay_id=1&user_id=" + userID + "&status=paid", 400, ""},
		{"status with markup", "pay_id=1&user_id=" + userID + "&status=%3Cscript%3E", 400, ""},
		{"bad escape", "pay_id=1&user_id=" + userID + "&status=success%zz", 400, ""},
		{"cancel", "pay_id=1&user_id=" + userID + "&status=Cancel", 303, cancel},
		{"merchant's own parameters and a next URL are ignored", "order=77&next=https%3A%2F%2Fevil.example&pay_id=1&user_id=" + userID + "&status=success", 303, success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(f.h.Return, httptest.NewRequest(http.MethodGet, "/callbacks/secpaid/return?"+tt.query, nil))
			require.Equal(t, tt.wantCode, rec.Code, rec.Body.String())
			require.Equal(t, tt.wantLoc, rec.Header().Get("Location"))
			require.NotContains(t, rec.Body.String(), "evil")
			require.NotContains(t, rec.Body.String(), "<")
		})
	}
	rec := serve(f.h.Return, httptest.NewRequest(http.MethodPost, "/callbacks/secpaid/return?pay_id=1&user_id="+userID+"&status=success", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "GET", rec.Header().Get("Allow"))
}

func TestReturnCancelLeavesStoreAlone(t *testing.T) {
	store := callback.NewMemoryStore(callback.MemoryConfig{})
	f := newFixture(t, func(c *secpaid.Config) { c.Store = store })
	for i := range 5 {
		requireRedirect(t, f.ret("9"+string(rune('0'+i)), userID, "cancel"), cancel)
	}
	require.Zero(t, store.Len())
	require.Empty(t, f.api.Requests(), "a cancel is never confirmed")
	require.Empty(t, f.rec.payments())
}

func TestEndpointEveryEncoding(t *testing.T) {
	for _, enc := range callbacktest.SecPaidEncodings {
		t.Run(enc.String(), func(t *testing.T) {
			f := newFixture(t, nil)
			f.api.Pay("1466", "100.00", userID)
			n := callbacktest.SecPaidNotification{PayID: "1466", Amount: "100", UserID: userID, Status: "success"}
			for range 3 {
				rec := f.post(n, enc)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "OK", rec.Body.String())
			}
			want := []secpaid.Payment{{
				PayID: "1466", UserID: userID, Status: "success", Amount: mustAmount(t, "100.00"),
				Source: secpaid.SourceEndpoint, Confirmed: true,
			}}
			if diff := cmp.Diff(want, f.rec.payments(), cmp.Comparer(amountEqual)); diff != "" {
				t.Errorf("payments (-want +got):\n%s", diff)
			}
			require.Equal(t, []string{"1466:success"}, f.rec.keys)
		})
	}
}

func TestEndpointForgedIsNotProcessed(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pend("20", "10.00", userID)
	f.api.Set("30", callbacktest.SecPaidTransaction{PayID: "30", Amount: "-10.00", Status: "Success", TransactionType: "Refund"})
	tests := []struct {
		name  string
		payID string
	}{
		{"unknown to SecPaid", "10"},
		{"pending at SecPaid", "20"},
		{"only a refund at SecPaid", "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := callbacktest.SecPaidNotification{PayID: tt.payID, Amount: "10.00", UserID: userID, Status: "Success"}
			for _, enc := range callbacktest.SecPaidEncodings {
				rec := f.post(n, enc)
				require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%v: %s", enc, rec.Body)
			}
		})
	}
	require.Empty(t, f.rec.payments())
}

func TestEndpointAmountIsTheConfirmedOne(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("55", "1.00", userID)
	rec := f.post(callbacktest.SecPaidNotification{PayID: "55", Amount: "1000.00", UserID: userID, Status: "success"}, callbacktest.SecPaidNested)
	require.Equal(t, http.StatusOK, rec.Code)
	got := f.rec.payments()
	require.Len(t, got, 1)
	require.Equal(t, "1.00", got[0].Amount.String())
}

func TestEndpointRejectsUnreadable(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("1", "5.00", userID)
	good := callbacktest.SecPaidNotification{PayID: "1", Amount: "5.00", UserID: userID, Status: "success"}
	wrongKey := "vutsrqponmlkjihgfedcba9876543210"
	tests := []struct {
		name, ct, body string
	}{
		{"empty", "application/json", ""},
		{"not JSON", "application/json", "{nope"},
		{"JSON list", "application/json", "[1,2]"},
		{"bad base64", "application/json", `{"data":"!!!not base64!!!"}`},
		{"not whole blocks", "application/json", `{"data":"AAAA"}`},
		{"wrong key: bad padding", "application/json", `{"data":"` + callbacktest.SecPaidEncrypt(wrongKey, []byte(`{"data":{"pay_id":1}}`)) + `"}`},
		{"padding zero", "application/json", `{"data":"` + encryptRaw(t, make([]byte, 16)) + `"}`},
		{"encrypted inside encrypted", "application/json", `{"data":"` + callbacktest.SecPaidEncrypt(key, []byte(`{"data":"`+callbacktest.SecPaidEncrypt(key, []byte(`{}`))+`"}`)) + `"}`},
		{"foreign user", "application/json", `{"data":{"pay_id":1,"user_id":"intruder","status":"success"}}`},
		{"status twice, different", "application/json", `{"data[pay_id]":1,"data[user_id]":"` + userID + `","data[status]":"success","data[Status]":"cancel"}`},
		{"pay_id an object", "application/json", `{"data":{"pay_id":{"$gt":0},"user_id":"` + userID + `","status":"success"}}`},
		{"pay_id negative", "application/json", `{"data":{"pay_id":-1,"user_id":"` + userID + `","status":"success"}}`},
		{"amount with exponent", "application/json", `{"data":{"pay_id":1,"amount":1e2,"user_id":"` + userID + `","status":"success"}}`},
		{"form without data", "application/x-www-form-urlencoded", "ResponseCode=1"},
		{"form bad escape", "application/x-www-form-urlencoded", "data%5Bpay_id%5D=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/callbacks/secpaid", stringsReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			rec := serve(f.h.Endpoint, req)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		})
	}
	// Without a configured key, encrypted bodies are refused.
	nokey := newFixture(t, func(c *secpaid.Config) { c.EncryptionKey = "" })
	nokey.api.Pay("1", "5.00", userID)
	require.Equal(t, http.StatusBadRequest, nokey.post(good, callbacktest.SecPaidEncrypted).Code)
	require.Equal(t, http.StatusOK, nokey.post(good, callbacktest.SecPaidNested).Code)
	require.Empty(t, f.rec.payments())
}

func TestOncePerPaymentWhicheverPathFirst(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("777", "19.90", userID)
	n := callbacktest.SecPaidNotification{PayID: "777", Amount: "19.9", UserID: userID, Status: "Success"}

	const workers = 24
	var wg sync.WaitGroup
	codes := make(chan int, workers*3)
	for i := range workers {
		wg.Go(func() {
			for j := range 3 {
				var rec *httptest.ResponseRecorder
				if (i+j)%2 == 0 {
					rec = f.ret("777", userID, "success")
				} else {
					rec = f.post(n, callbacktest.SecPaidEncodings[(i+j)%len(callbacktest.SecPaidEncodings)])
				}
				codes <- rec.Code
			}
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		// 303 (success or pending page), 200 (ack), 409 (in flight: SecPaid retries).
		require.Contains(t, []int{http.StatusSeeOther, http.StatusOK, http.StatusConflict}, c)
	}
	require.Len(t, f.rec.payments(), 1, "the merchant's function must run exactly once")

	// Once processed, every repeat gets the success page or the ack.
	requireRedirect(t, f.ret("777", userID, "success"), success)
	for _, enc := range callbacktest.SecPaidEncodings {
		require.Equal(t, http.StatusOK, f.post(n, enc).Code)
	}
	require.Len(t, f.rec.payments(), 1)
}

func TestEndpointThenReturn(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("8", "3.00", userID)
	require.Equal(t, http.StatusOK, f.post(callbacktest.SecPaidNotification{PayID: "8", Amount: "3", UserID: userID, Status: "success"}, callbacktest.SecPaidFlat).Code)
	apiCalls := len(f.api.Requests())
	requireRedirect(t, f.ret("8", userID, "success"), success)
	require.Len(t, f.api.Requests(), apiCalls, "a processed payment needs no new confirmation")
	require.Len(t, f.rec.payments(), 1)
	require.Equal(t, secpaid.SourceEndpoint, f.rec.payments()[0].Source)
}

func TestTransientAPIFailures(t *testing.T) {
	n := callbacktest.SecPaidNotification{PayID: "42", Amount: "9.99", UserID: userID, Status: "success"}
	t.Run("retried until confirmed", func(t *testing.T) {
		f := newFixture(t, nil)
		f.api.Pay("42", "9.99", userID)
		f.api.Fail("", 503, 502)
		require.Equal(t, http.StatusOK, f.post(n, callbacktest.SecPaidNested).Code)
		require.Len(t, f.api.Requests(), 3)
		require.Len(t, f.rec.payments(), 1)
	})
	t.Run("final failure is 503, then a retry is processed", func(t *testing.T) {
		f := newFixture(t, nil)
		f.api.Pay("42", "9.99", userID)
		f.api.Fail("", 503, 503, 503, 500, 500, 500)
		rec := f.post(n, callbacktest.SecPaidNested)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, "60", rec.Header().Get("Retry-After"))
		requireRedirect(t, f.ret("42", userID, "success"), pending)
		require.Len(t, f.api.Requests(), 6, "three attempts per delivery")
		require.Empty(t, f.rec.payments())

		require.Equal(t, http.StatusOK, f.post(n, callbacktest.SecPaidNested).Code)
		require.Len(t, f.rec.payments(), 1)
	})
	t.Run("a 401 is not retried", func(t *testing.T) {
		f := newFixture(t, nil)
		f.api.Pay("42", "9.99", userID)
		f.api.Fail("", 401)
		require.Equal(t, http.StatusServiceUnavailable, f.post(n, callbacktest.SecPaidNested).Code)
		require.Len(t, f.api.Requests(), 1)
	})
	t.Run("a Retry-After past the deadline gives up at once", func(t *testing.T) {
		var reports []callback.Report
		f := newFixture(t, func(c *secpaid.Config) {
			c.Timeout = 2 * time.Second
			c.Observe = func(_ context.Context, r callback.Report) { reports = append(reports, r) }
		})
		f.api.Pay("42", "9.99", userID)
		f.api.Fail("3600", 429)
		requireRedirect(t, f.ret("42", userID, "success"), pending)
		require.Len(t, f.api.Requests(), 1)
		require.Len(t, reports, 1)
		require.Equal(t, callback.Unavailable, reports[0].Outcome)
		var he *retry.HTTPError
		require.ErrorAs(t, reports[0].Err, &he)
		require.Equal(t, 429, he.Status)
	})
}

func TestMerchantFailureIsRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Pay("5", "1.00", userID)
	boom := errors.New("database down")
	f.rec.err.Store(&boom)
	requireRedirect(t, f.ret("5", userID, "success"), pending)
	n := callbacktest.SecPaidNotification{PayID: "5", Amount: "1", UserID: userID, Status: "success"}
	require.Equal(t, http.StatusInternalServerError, f.post(n, callbacktest.SecPaidNested).Code)
	f.rec.err.Store(nil)
	require.Equal(t, http.StatusOK, f.post(n, callbacktest.SecPaidNested).Code)
	require.Len(t, f.rec.payments(), 1)
}

func TestEndpointCancelGoesToOther(t *testing.T) {
	var other []secpaid.Payment
	f := newFixture(t, func(c *secpaid.Config) {
		c.Other = func(_ context.Context, ev *secpaid.Event) error {
			other = append(other, ev.Payload)
			return nil
		}
	})
	n := callbacktest.SecPaidNotification{PayID: "1466", Amount: "100", UserID: userID, Status: "cancel"}
	for range 2 {
		require.Equal(t, http.StatusOK, f.post(n, callbacktest.SecPaidFlatCapital).Code)
	}
	want := []secpaid.Payment{{PayID: "1466", UserID: userID, Status: "cancel", Amount: mustAmount(t, "100"), Source: secpaid.SourceEndpoint}}
	if diff := cmp.Diff(want, other, cmp.Comparer(amountEqual)); diff != "" {
		t.Errorf("Other's payments (-want +got):\n%s", diff)
	}
	require.Empty(t, f.rec.payments())
	require.Empty(t, f.api.Requests())
}

func TestInsecureSkipConfirm(t *testing.T) {
	f := newFixture(t, func(c *secpaid.Config) { c.Token = ""; c.InsecureSkipConfirm = true })
	require.Nil(t, f.h.Client)
	n := callbacktest.SecPaidNotification{PayID: "3", Amount: "2.50", UserID: userID, Status: "success"}
	requireRedirect(t, f.ret("3", userID, "success"), pending)
	require.Equal(t, http.StatusOK, f.post(n, callbacktest.SecPaidNested).Code)
	requireRedirect(t, f.ret("3", userID, "success"), pending)
	got := f.rec.payments()
	require.Len(t, got, 1)
	require.False(t, got[0].Confirmed)
	require.Equal(t, "2.50", got[0].Amount.String())
}

func TestNewRefusesUnsafe(t *testing.T) {
	ok := func() secpaid.Config {
		return secpaid.Config{UserIDs: []string{userID}, Token: token, SuccessURL: success, CancelURL: cancel, PendingURL: "/processing"}
	}
	tests := []struct {
		name string
		edit func(*secpaid.Config)
	}{
		{"no token", func(c *secpaid.Config) { c.Token = "" }},
		{"no user ids", func(c *secpaid.Config) { c.UserIDs = nil }},
		{"empty user id", func(c *secpaid.Config) { c.UserIDs = []string{""} }},
		{"short key", func(c *secpaid.Config) { c.EncryptionKey = "too short" }},
		{"no success URL", func(c *secpaid.Config) { c.SuccessURL = "" }},
		{"scheme-relative URL", func(c *secpaid.Config) { c.CancelURL = "//evil.example/" }},
		{"javascript URL", func(c *secpaid.Config) { c.PendingURL = "javascript:alert(1)" }},
		{"relative path", func(c *secpaid.Config) { c.PendingURL = "processing" }},
		{"bad API URL", func(c *secpaid.Config) { c.BaseURL = "ftp://api" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok()
			tt.edit(&cfg)
			_, err := secpaid.New(cfg, func(context.Context, *secpaid.Event) error { return nil })
			require.ErrorIs(t, err, secpaid.ErrConfig)
		})
	}
	_, err := secpaid.New(ok(), nil)
	require.ErrorIs(t, err, secpaid.ErrConfig)
	_, err = secpaid.New(ok(), func(context.Context, *secpaid.Event) error { return nil })
	require.NoError(t, err)
}
