package secpaid_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
)

func TestParseNotificationFixtures(t *testing.T) {
	tests := []struct {
		file, ct string
		want     secpaid.Payment
	}{
		{"success.json", "application/json", secpaid.Payment{PayID: "12345", Note: "Invoice #1234", UserID: userID, Status: "success"}},
		{"success.flat.json", "application/json", secpaid.Payment{PayID: "1466", UserID: userID, Status: "success"}},
		{"cancel.flat.json", "application/json; charset=utf-8", secpaid.Payment{PayID: "1466", UserID: userID, Status: "cancel"}},
		{"success.form", "application/x-www-form-urlencoded", secpaid.Payment{PayID: "1466", UserID: userID, Status: "success"}},
		{"success.form", "", secpaid.Payment{PayID: "1466", UserID: userID, Status: "success"}},
		{"success.encrypted.json", "application/json", secpaid.Payment{PayID: "12345", Note: "Invoice #1234", UserID: userID, Status: "success"}},
		{"success.encrypted.json", "", secpaid.Payment{PayID: "12345", Note: "Invoice #1234", UserID: userID, Status: "success"}},
	}
	amounts := map[string]string{"12345": "49.99", "1466": "100"}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.ct, func(t *testing.T) {
			got, err := secpaid.ParseNotification(tt.ct, callbacktest.SecPaidFixture(tt.file), key)
			require.NoError(t, err)
			tt.want.Source = secpaid.SourceEndpoint
			tt.want.Amount = mustAmount(t, amounts[tt.want.PayID])
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(amountEqual)); diff != "" {
				t.Errorf("ParseNotification (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecryptFixtureMadeWithOpenSSL(t *testing.T) {
	var env struct{ Data string }
	body := callbacktest.SecPaidFixture("success.encrypted.json")
	env.Data = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(body)), `{"data":"`), `"}`)
	got, err := secpaid.Decrypt(key, env.Data)
	require.NoError(t, err)
	want := bytes.TrimSpace(callbacktest.SecPaidFixture("success.json"))
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Decrypt (-want +got):\n%s", diff)
	}
	_, err = secpaid.Decrypt("short", env.Data)
	require.ErrorIs(t, err, secpaid.ErrConfig)
}

func TestParseReturn(t *testing.T) {
	got, err := secpaid.ParseReturn("pay_id=007&user_id=" + userID + "&status=Success&order=1")
	require.NoError(t, err)
	want := secpaid.Payment{PayID: "7", UserID: userID, Status: "success", Source: secpaid.SourceReturn}
	if diff := cmp.Diff(want, got, cmp.Comparer(amountEqual)); diff != "" {
		t.Errorf("ParseReturn (-want +got):\n%s", diff)
	}
	for _, q := range []string{"pay_id=0&user_id=u&status=success", "pay_id=1&user_id=u%20v&status=success"} {
		_, err := secpaid.ParseReturn(q)
		require.Error(t, err, q)
	}
}

func FuzzParseReturn(f *testing.F) {
	f.Add("pay_id=1&user_id=" + userID + "&status=success")
	f.Add("pay_id=12345&user_id=u&status=Cancel&x=%zz")
	f.Add(strings.TrimPrefix(callbacktest.SecPaidReturnURL("", "99", userID, "SUCCESS"), "?"))
	f.Fuzz(func(t *testing.T, q string) {
		p, err := secpaid.ParseReturn(q)
		if err != nil {
			return
		}
		if p.Status != secpaid.StatusSuccess && p.Status != secpaid.StatusCancel {
			t.Fatalf("status %q accepted", p.Status)
		}
		if p.PayID == "" || strings.TrimLeft(p.PayID, "0123456789") != "" || p.PayID[0] == '0' {
			t.Fatalf("pay_id %q accepted", p.PayID)
		}
		if p.UserID == "" || strings.IndexFunc(p.UserID, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			t.Fatalf("user_id %q accepted", p.UserID)
		}
		// What was accepted re-encodes to something accepted alike.
		again, err := secpaid.ParseReturn(url.Values{"pay_id": {p.PayID}, "user_id": {p.UserID}, "status": {p.Status}}.Encode())
		if err != nil || again != p {
			t.Fatalf("re-parse: %v, %+v != %+v", err, again, p)
		}
	})
}

func FuzzParseNotification(f *testing.F) {
	for _, name := range []string{"success.json", "success.flat.json", "cancel.flat.json", "success.form", "success.encrypted.json"} {
		f.Add("application/json", callbacktest.SecPaidFixture(name))
		f.Add("application/x-www-form-urlencoded", callbacktest.SecPaidFixture(name))
	}
	f.Add("", []byte(`{"data":"AAAAAAAAAAAAAAAAAAAAAA=="}`))
	f.Add("", []byte(`data=%2B%2F%3D`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		p, err := secpaid.ParseNotification(ct, body, key)
		if err != nil {
			return
		}
		if p.PayID == "" || p.UserID == "" || p.Status == "" || p.Status != strings.ToLower(p.Status) {
			t.Fatalf("incomplete payment accepted: %+v", p)
		}
		if !p.Amount.IsZero() {
			if _, err := secpaid.ParseAmount(p.Amount.String()); err != nil {
				t.Fatalf("invalid amount accepted: %q", p.Amount)
			}
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	f.Add([]byte(`{"data":{"pay_id":1}}`), "AAAA")
	f.Add([]byte{}, "")
	f.Add(bytes.Repeat([]byte{16}, 16), "////////////////////////")
	f.Fuzz(func(t *testing.T, plain []byte, garbage string) {
		// Encrypt (callbacktest, as an account would) then decrypt
		// round-trips.
		got, err := secpaid.Decrypt(key, callbacktest.SecPaidEncrypt(key, plain))
		require.NoError(t, err)
		if !bytes.Equal(plain, got) {
			t.Fatalf("round trip: %q != %q", got, plain)
		}
		// Anything else decrypts or fails with ErrDecrypt, never panics.
		if _, err := secpaid.Decrypt(key, garbage); err != nil {
			require.ErrorIs(t, err, secpaid.ErrDecrypt)
		}
	})
}
