package callbacktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
)

func TestSecPaidEncryptMatchesOpenSSL(t *testing.T) {
	plain := bytes.TrimSuffix(callbacktest.SecPaidFixture("success.json"), []byte("\n"))
	want := callbacktest.SecPaidFixture("success.encrypted.json")
	got := `{"data":"` + callbacktest.SecPaidEncrypt(callbacktest.SecPaidTestKey, plain) + `"}` + "\n"
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("SecPaidEncrypt vs the OpenSSL fixture (-want +got):\n%s", diff)
	}
}

func TestSecPaidBodiesParse(t *testing.T) {
	n := callbacktest.SecPaidNotification{PayID: "1466", Amount: "100.50", UserID: "u-1", Status: "Success", Note: `say "hi"`}
	for _, enc := range callbacktest.SecPaidEncodings {
		t.Run(enc.String(), func(t *testing.T) {
			req := callbacktest.SecPaidRequest("/cb", n, enc, callbacktest.SecPaidTestKey)
			body, err := io.ReadAll(req.Body)
			require.NoError(t, err)
			p, err := secpaid.ParseNotification(req.Header.Get("Content-Type"), body, callbacktest.SecPaidTestKey)
			require.NoError(t, err)
			got := []string{p.PayID, p.Amount.String(), p.UserID, p.Status}
			if diff := cmp.Diff([]string{"1466", "100.50", "u-1", "success"}, got); diff != "" {
				t.Errorf("parsed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecPaidReturnURL(t *testing.T) {
	require.Equal(t, "https://shop.example/r?order=1&pay_id=5&status=success&user_id=u%26x",
		callbacktest.SecPaidReturnURL("https://shop.example/r?order=1", "5", "u&x", "success"))
	req := callbacktest.SecPaidReturnRequest("/r", "5", "u", "cancel")
	require.Equal(t, http.MethodGet, req.Method)
	require.Equal(t, "pay_id=5&status=cancel&user_id=u", req.URL.RawQuery)
}

func TestSecPaidAPI(t *testing.T) {
	api := callbacktest.NewSecPaidAPI("tok")
	defer api.Close()
	api.Pay("7", "1.00", "u")

	post := func(token, ct string, body []byte) (int, string, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, api.URL+"/api/v2/getPayInTransactions", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("token", token)
		req.Header.Set("Content-Type", ct)
		resp, err := api.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, resp.Header.Get("Retry-After"), m
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("pay_id", "7"))
	require.NoError(t, mw.Close())

	tests := []struct {
		name, token, ct string
		body            []byte
		wantStatus      int
		wantItems       int
	}{
		{"JSON number", "tok", "application/json", []byte(`{"pay_id":7}`), 200, 1},
		{"JSON string", "tok", "application/json; charset=utf-8", []byte(`{"pay_id":"7"}`), 200, 1},
		{"form", "tok", "application/x-www-form-urlencoded", []byte(`pay_id=7&limit=10`), 200, 1},
		{"multipart", "tok", mw.FormDataContentType(), mp.Bytes(), 200, 1},
		{"unknown pay_id", "tok", "application/json", []byte(`{"pay_id":8}`), 200, 0},
		{"wrong token", "nope", "application/json", []byte(`{"pay_id":7}`), 401, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, m := post(tt.token, tt.ct, tt.body)
			require.Equal(t, tt.wantStatus, status)
			if tt.wantItems < 0 {
				require.EqualValues(t, 0, m["ResponseCode"])
				return
			}
			require.EqualValues(t, 1, m["ResponseCode"])
			require.Len(t, m["data"], tt.wantItems)
		})
	}

	api.Fail("2", 503, 429)
	for _, want := range []int{503, 429, 200} {
		status, retryAfter, _ := post("tok", "application/json", []byte(`{"pay_id":7}`))
		require.Equal(t, want, status)
		if want != 200 {
			require.Equal(t, "2", retryAfter)
		}
	}
	reqs := api.Requests()
	require.Len(t, reqs, len(tests)+3)
	require.Equal(t, callbacktest.SecPaidAPIRequest{PayID: "7", ContentType: "multipart/form-data", Status: 200}, reqs[3])
	require.True(t, strings.HasPrefix(api.URL, "http://127.0.0.1:"), api.URL)
}
