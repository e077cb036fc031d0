package secpaid_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
	"github.com/paycallback/paycallback/retry"
)

func newClient(t *testing.T, base string, hc *http.Client, form bool) *secpaid.Client {
	t.Helper()
	c, err := secpaid.NewClient(secpaid.ClientConfig{Token: token, BaseURL: base, HTTPClient: hc, Backoff: fastBackoff, FormEncoded: form})
	require.NoError(t, err)
	return c
}

func TestClientConfirm(t *testing.T) {
	api := callbacktest.NewSecPaidAPI(token)
	defer api.Close()
	api.Pay("1", "49.99", userID)
	api.Pend("2", "5.00", userID)
	api.Set("3", callbacktest.SecPaidTransaction{PayID: "3", Amount: "-5.00", Status: "Success", TransactionType: "Refund"})
	api.Set("4",
		callbacktest.SecPaidTransaction{PayID: "4", Amount: "-5.00", Status: "Success", TransactionType: "Dispute Refund"},
		callbacktest.SecPaidTransaction{PayID: "4", Amount: "5.00", Status: "success", TransactionType: "Split"})
	api.Set("5", callbacktest.SecPaidTransaction{PayID: "5", Amount: "5.00", Status: "Refunded", TransactionType: "Basic"})
	api.Set("6", callbacktest.SecPaidTransaction{PayID: "6", Amount: "0.00", Status: "Success", TransactionType: "Basic"})
	tests := []struct {
		payID      string
		wantState  secpaid.State
		wantAmount string
	}{
		{"1", secpaid.Paid, "49.99"},
		{"0001", secpaid.Paid, "49.99"},
		{"2", secpaid.Pending, ""},
		{"3", secpaid.Unknown, ""},
		{"4", secpaid.Paid, "5.00"},
		{"5", secpaid.Unknown, ""},
		{"6", secpaid.Unknown, ""},
		{"99", secpaid.Unknown, ""},
	}
	for _, form := range []bool{false, true} {
		c := newClient(t, api.URL, api.Client(), form)
		for _, tt := range tests {
			t.Run(tt.payID, func(t *testing.T) {
				got, err := c.Confirm(t.Context(), tt.payID)
				require.NoError(t, err)
				require.Equal(t, tt.wantState, got.State)
				require.Equal(t, tt.wantAmount, got.Amount.String())
			})
		}
	}
	reqs := api.Requests()
	got := append(reqs[:2:2], reqs[len(tests)])
	want := []callbacktest.SecPaidAPIRequest{
		{PayID: "1", ContentType: "application/json", Status: 200},
		{PayID: "1", ContentType: "application/json", Status: 200}, // leading zeros dropped
		{PayID: "1", ContentType: "application/x-www-form-urlencoded", Status: 200},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestClientReplies(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantState secpaid.State
		wantErr   error
		wantCalls int
	}{
		{"documented", 200, string(callbacktest.SecPaidFixture("api.success.json")), secpaid.Paid, nil, 1},
		{"numbers instead of strings", 200, `{"ResponseCode":1,"data":[{"pay_id":12345,"amount":49.99,"status":"Success"}]}`, secpaid.Paid, nil, 1},
		{"ResponseCode as a string", 200, `{"ResponseCode":"1","data":[{"pay_id":"12345","amount":"1.00","status":"Success"}]}`, secpaid.Paid, nil, 1},
		{"data an object", 200, `{"ResponseCode":1,"data":{"pay_id":"12345","amount":"1.00","status":"Pending"}}`, secpaid.Pending, nil, 1},
		{"data null", 200, `{"ResponseCode":1,"data":null}`, secpaid.Unknown, nil, 1},
		{"other pay ids only", 200, `{"ResponseCode":1,"data":[{"pay_id":"123456","amount":"1.00","status":"Success"}]}`, secpaid.Unknown, nil, 1},
		{"ResponseCode 0", 200, `{"ResponseCode":0,"ResponseMsg":"No record found","Result":"False"}`, 0, secpaid.ErrAPI, 1},
		{"no ResponseCode", 200, `{"data":[]}`, 0, secpaid.ErrAPI, 1},
		{"HTML", 200, `<html>maintenance</html>`, 0, secpaid.ErrAPI, 1},
		{"success without amount", 200, `{"ResponseCode":1,"data":[{"pay_id":"12345","status":"Success"}]}`, 0, secpaid.ErrAPI, 1},
		{"data a number", 200, `{"ResponseCode":1,"data":5}`, 0, secpaid.ErrAPI, 1},
		{"always 503", 503, `busy`, 0, retry.ErrExhausted, 3},
		{"403", 403, `{"ResponseCode":0}`, 0, &retry.HTTPError{Status: 403}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				require.Equal(t, token, r.Header.Get("token"))
				require.Equal(t, secpaid.TransactionsPath, r.URL.Path)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL+"/", srv.Client(), false)
			got, err := c.Confirm(t.Context(), "12345")
			require.Equal(t, tt.wantCalls, calls)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, tt.wantState, got.State)
				return
			}
			if he, ok := tt.wantErr.(*retry.HTTPError); ok {
				var got *retry.HTTPError
				require.ErrorAs(t, err, &got)
				require.Equal(t, he.Status, got.Status)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestClientRefusesBadInput(t *testing.T) {
	_, err := secpaid.NewClient(secpaid.ClientConfig{})
	require.ErrorIs(t, err, secpaid.ErrConfig)
	_, err = secpaid.NewClient(secpaid.ClientConfig{Token: "t", BaseURL: "app.secpaid.com"})
	require.ErrorIs(t, err, secpaid.ErrConfig)
	c, err := secpaid.NewClient(secpaid.ClientConfig{Token: "t", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	for _, id := range []string{"", "0", "-1", "1 OR 1=1", strings.Repeat("9", 21)} {
		_, err := c.Confirm(context.Background(), id)
		require.ErrorIs(t, err, secpaid.ErrPayID, id)
	}
}
