package ixopay_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/ixopay"
)

func decode(t *testing.T, body []byte) ixopay.Result {
	t.Helper()
	var r ixopay.Result
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

var ignoreRaw = cmpopts.IgnoreFields(ixopay.ReturnData{}, "Raw")

func TestFixturesDecode(t *testing.T) {
	want := map[string]ixopay.Result{
		"debit.ok": {
			Result: ixopay.ResultOK, UUID: "a1b2c3d4e5f6a7b8c9d0", MerchantTransactionID: "order-1001",
			PurchaseID: "20260428-a1b2c3d4e5f6a7b8c9d0", TransactionType: ixopay.Debit, PaymentMethod: "Creditcard",
			Amount: "9.99", Currency: "EUR", MerchantMetaData: "cart=77",
			ExtraData: ixopay.ExtraData{"shopId": "42", "channel": "web"},
			ReturnData: &ixopay.ReturnData{Type: ixopay.CardDataType, Card: &ixopay.CardData{
				Type: "visa", CardHolder: "Jane Doe", ExpiryMonth: "12", ExpiryYear: "2030",
				FirstSixDigits: "411111", LastFourDigits: "1111", Fingerprint: "s7bYVqOzbzGDPSFU3rz0zVeeq5Vjd4TC",
				BinBrand: "VISA", BinBank: "EXAMPLE BANK", BinCountry: "AT", ThreeDSecure: "MANDATORY", ECI: "05",
			}},
			Customer: &ixopay.Customer{
				Identification: "cust-7", FirstName: "Jane", LastName: "Doe", BillingCountry: "AT",
				Email: "jane@example.com", EmailVerified: false, IPAddress: "192.0.2.10",
			},
		},
		"debit.pending": {
			Result: ixopay.ResultPending, UUID: "a1b2c3d4e5f6a7b8c9d0", MerchantTransactionID: "order-1001",
			PurchaseID: "20260428-a1b2c3d4e5f6a7b8c9d0", TransactionType: ixopay.Debit, PaymentMethod: "Creditcard",
			Amount: "9.99", Currency: "EUR",
		},
		"debit.error": {
			Result: ixopay.ResultError, UUID: "b2c3d4e5f6a7b8c9d0e1", MerchantTransactionID: "order-1002",
			PurchaseID: "20260428-b2c3d4e5f6a7b8c9d0e1", TransactionType: ixopay.Debit, PaymentMethod: "Creditcard",
			Amount: "25.00", Currency: "EUR",
			Message: "Payment was declined", Code: "2003", AdapterMessage: "Do not honor", AdapterCode: "05",
			Errors: []ixopay.ErrorDetail{{Message: "Payment was declined", Code: "2003", AdapterMessage: "Do not honor", AdapterCode: "05"}},
		},
		"refund.ok": {
			Result: ixopay.ResultOK, UUID: "c3d4e5f6a7b8c9d0e1f2", MerchantTransactionID: "refund-1001-1",
			PurchaseID: "20260428-a1b2c3d4e5f6a7b8c9d0", TransactionType: ixopay.Refund, PaymentMethod: "Creditcard",
			Amount: "4.50", Currency: "EUR",
		},
		"chargeback.ok": {
			Result: ixopay.ResultOK, UUID: "d4e5f6a7b8c9d0e1f2a3", MerchantTransactionID: "auto-d4e5f6a7b8c9d0e1f2a3",
			PurchaseID: "20260428-a1b2c3d4e5f6a7b8c9d0", TransactionType: ixopay.Chargeback, PaymentMethod: "Creditcard",
			Amount: "9.99", Currency: "EUR",
			ChargebackData: &ixopay.ChargebackData{
				OriginalUUID: "a1b2c3d4e5f6a7b8c9d0", OriginalMerchantTransactionID: "order-1001", Amount: "9.99",
				Currency: "EUR", Reason: "Fraud - card absent environment", ChargebackDateTime: "2026-05-12T09:30:00Z",
			},
		},
		"chargeback-reversal.ok": {
			Result: ixopay.ResultOK, UUID: "e5f6a7b8c9d0e1f2a3b4", MerchantTransactionID: "auto-e5f6a7b8c9d0e1f2a3b4",
			PurchaseID: "20260428-a1b2c3d4e5f6a7b8c9d0", TransactionType: ixopay.ChargebackReversal, PaymentMethod: "Creditcard",
			Amount: "9.99", Currency: "EUR",
			ChargebackReversalData: &ixopay.ChargebackReversalData{
				OriginalUUID: "a1b2c3d4e5f6a7b8c9d0", OriginalMerchantTransactionID: "order-1001",
				ChargebackUUID: "d4e5f6a7b8c9d0e1f2a3", Amount: "9.99", Currency: "EUR",
				Reason: "Dispute won by merchant", ReversalDateTime: "2026-06-02T14:00:00Z",
			},
		},
		"register.ok": {
			Result: ixopay.ResultOK, UUID: "f6a7b8c9d0e1f2a3b4c5", MerchantTransactionID: "register-cust-7",
			PurchaseID: "20260428-f6a7b8c9d0e1f2a3b4c5", TransactionType: ixopay.Register, PaymentMethod: "Creditcard",
			ReturnData: &ixopay.ReturnData{Type: ixopay.CardDataType, Card: &ixopay.CardData{
				Type: "mastercard", CardHolder: "Jane Doe", ExpiryMonth: "1", ExpiryYear: "2031",
				FirstSixDigits: "555555", LastFourDigits: "4444", Fingerprint: "Qm9vZ3lCb29neUJvb2d5Qm9vZ3k", BinBrand: "MASTERCARD",
			}},
			CustomerProfileData: &ixopay.CustomerProfileData{ProfileGUID: "CP-0a1b2c3d-4e5f", CustomerIdentification: "cust-7", MarkAsPreferred: true},
			ScheduleData:        &ixopay.ScheduleData{ScheduleID: "SC-1a2b-3c4d-5e6f", ScheduleStatus: "ACTIVE", ScheduledAt: "2026-05-28T00:00:00+00:00"},
			Customer:            &ixopay.Customer{Identification: "cust-7", Email: "jane@example.com", EmailVerified: true},
		},
		"payout.ok": {
			Result: ixopay.ResultOK, UUID: "a7b8c9d0e1f2a3b4c5d6", MerchantTransactionID: "payout-88",
			PurchaseID: "20260428-a7b8c9d0e1f2a3b4c5d6", TransactionType: ixopay.Payout, TransactionSubType: "WITHDRAWAL",
			PaymentMethod: "DirectDebit", Amount: "120.00", Currency: "EUR",
			ReturnData: &ixopay.ReturnData{Type: ixopay.IBANDataType, IBAN: &ixopay.IBANData{
				AccountOwner: "Jane Doe", IBAN: "AT611904300234573201", BIC: "BKAUATWW",
			}},
		},
	}
	var names []string
	for _, name := range callbacktest.IXOPAYEvents() {
		names = append(names, name)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			require.True(t, ok, "no expectation for fixture %s", name)
			got := decode(t, callbacktest.IXOPAYFixture(name))
			if diff := cmp.Diff(w, got, ignoreRaw); diff != "" {
				t.Fatalf("decoded (-want +got):\n%s", diff)
			}
		})
	}
	require.Len(t, names, len(want), "a fixture per expectation")
}

func TestReturnDataShapes(t *testing.T) {
	card := &ixopay.CardData{Type: "visa", LastFourDigits: "1111", ExpiryMonth: "7"}
	tests := []struct {
		name string
		json string
		want *ixopay.ReturnData
	}{
		{"flat", `{"_TYPE":"cardData","type":"visa","lastFourDigits":"1111","expiryMonth":7}`,
			&ixopay.ReturnData{Type: ixopay.CardDataType, Card: card}},
		{"nested", `{"cardData":{"type":"visa","lastFourDigits":"1111","expiryMonth":"7"}}`,
			&ixopay.ReturnData{Type: ixopay.CardDataType, Card: card}},
		{"phone flat", `{"_TYPE":"phoneData","phoneNumber":"+43123","operator":"A1"}`,
			&ixopay.ReturnData{Type: ixopay.PhoneDataType, Phone: &ixopay.PhoneData{PhoneNumber: "+43123", Operator: "A1"}}},
		{"wallet nested", `{"walletData":{"walletReferenceId":"w1","walletType":"paypal"}}`,
			&ixopay.ReturnData{Type: ixopay.WalletDataType, Wallet: &ixopay.WalletData{WalletReferenceID: "w1", WalletType: "paypal"}}},
		{"iban nested", `{"ibanData":{"iban":"AT611904300234573201"}}`,
			&ixopay.ReturnData{Type: ixopay.IBANDataType, IBAN: &ixopay.IBANData{IBAN: "AT611904300234573201"}}},
		{"unknown kind kept raw", `{"_TYPE":"voucherData","code":"X"}`, &ixopay.ReturnData{Type: "voucherData"}},
		{"php empty array", `[]`, &ixopay.ReturnData{}},
		{"null", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, []byte(`{"returnData":`+tt.json+`}`))
			if diff := cmp.Diff(tt.want, got.ReturnData, ignoreRaw); diff != "" {
				t.Fatalf("returnData (-want +got):\n%s", diff)
			}
			if tt.want != nil && tt.want.Type != "" {
				require.JSONEq(t, tt.json, string(got.ReturnData.Raw))
			}
		})
	}
	var r ixopay.Result
	require.Error(t, json.Unmarshal([]byte(`{"returnData":{"_TYPE":"cardData","expiryMonth":{}}}`), &r))
	require.Error(t, json.Unmarshal([]byte(`{"returnData":"card"}`), &r))
}

func TestEmailVerified(t *testing.T) {
	for _, tt := range []struct {
		json string
		want ixopay.Flag
	}{
		{`"false"`, false}, {`"true"`, true}, {`false`, false}, {`true`, true},
		{`"0"`, false}, {`"1"`, true}, {`""`, false}, {`null`, false},
	} {
		t.Run(tt.json, func(t *testing.T) {
			got := decode(t, []byte(`{"customer":{"emailVerified":`+tt.json+`}}`))
			require.Equal(t, tt.want, got.Customer.EmailVerified)
		})
	}
	for _, bad := range []string{`"maybe"`, `{}`, `[]`} {
		t.Run("bad "+bad, func(t *testing.T) {
			var r ixopay.Result
			require.Error(t, json.Unmarshal([]byte(`{"customer":{"emailVerified":`+bad+`}}`), &r))
		})
	}
}

func TestAmount(t *testing.T) {
	for _, tt := range []struct {
		json string
		want ixopay.Amount
	}{
		{`"9.99"`, "9.99"}, {`9.99`, "9.99"}, {`"10"`, "10"}, {`"0.10"`, "0.10"}, {`"-4.50"`, "-4.50"},
		{`"123456789012345678901234567890.123"`, "123456789012345678901234567890.123"},
		{`null`, ""}, {`""`, ""},
	} {
		t.Run(tt.json, func(t *testing.T) {
			got := decode(t, []byte(`{"amount":`+tt.json+`}`))
			require.Equal(t, tt.want, got.Amount)
		})
	}
	for _, bad := range []string{`"1e3"`, `1e3`, `"abc"`, `"1."`, `".5"`, `"1,00"`, `" 1.00"`, `"+1"`, `"--1"`, `true`, `{}`} {
		t.Run("bad "+bad, func(t *testing.T) {
			var r ixopay.Result
			err := json.Unmarshal([]byte(`{"amount":`+bad+`}`), &r)
			require.Error(t, err)
		})
	}
	var r ixopay.Result
	require.ErrorIs(t, json.Unmarshal([]byte(`{"amount":"abc"}`), &r), ixopay.ErrAmount)
}

func TestAmountMinor(t *testing.T) {
	for _, tt := range []struct {
		amount   ixopay.Amount
		decimals int
		want     int64
	}{
		{"9.99", 2, 999}, {"10", 2, 1000}, {"0.1", 2, 10}, {"4.50", 2, 450}, {"-4.50", 2, -450},
		{"100", 0, 100}, {"1.000", 3, 1000}, {"1.230", 2, 123}, {"9223372036854775807", 0, 9223372036854775807},
	} {
		t.Run(string(tt.amount), func(t *testing.T) {
			got, err := tt.amount.Minor(tt.decimals)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	for _, tt := range []struct {
		amount   ixopay.Amount
		decimals int
	}{
		{"9.999", 2}, {"", 2}, {"9223372036854775808", 0}, {"99999999999999999999", 2}, {"1", -1}, {"abc", 2},
	} {
		t.Run("bad "+string(tt.amount), func(t *testing.T) {
			_, err := tt.amount.Minor(tt.decimals)
			require.ErrorIs(t, err, ixopay.ErrAmount)
		})
	}
}

func TestLenientFields(t *testing.T) {
	got := decode(t, []byte(`{
		"result":"OK","uuid":"u1","transactionType":"DEBIT","code":1002,"adapterCode":null,
		"errors":[{"errorMessage":"m1","errorCode":1002},{"message":"m2","code":"x","adapterCode":5}],
		"extraData":{"s":"v","n":1,"b":true,"o":{"k":"v"}},
		"customer":[],"chargebackData":null,"scheduleData":[],"customerProfileData":{"markAsPreferred":"true"},
		"unknownField":{"deep":[1,2,3]}
	}`))
	want := ixopay.Result{
		Result: ixopay.ResultOK, UUID: "u1", TransactionType: ixopay.Debit, Code: "1002",
		Errors:              []ixopay.ErrorDetail{{Message: "m1", Code: "1002"}, {Message: "m2", Code: "x", AdapterCode: "5"}},
		ExtraData:           ixopay.ExtraData{"s": "v", "n": "1", "b": "true", "o": `{"k":"v"}`},
		Customer:            &ixopay.Customer{},
		ScheduleData:        &ixopay.ScheduleData{},
		CustomerProfileData: &ixopay.CustomerProfileData{MarkAsPreferred: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	require.Nil(t, decode(t, []byte(`{"extraData":[]}`)).ExtraData)
	var r ixopay.Result
	require.Error(t, json.Unmarshal([]byte(`{"code":{"a":1}}`), &r))
	require.Error(t, json.Unmarshal([]byte(`{"extraData":[1]}`), &r))
	require.Error(t, json.Unmarshal([]byte(`{"customer":[1]}`), &r))
}

func TestKeyAndName(t *testing.T) {
	r := ixopay.Result{UUID: "abc", TransactionType: ixopay.ChargebackReversal, Result: ixopay.ResultOK}
	require.Equal(t, "abc:CHARGEBACK-REVERSAL:OK", r.Key())
	require.Equal(t, "CHARGEBACK-REVERSAL.OK", r.Name())
}

// FuzzDecode delivers arbitrary, correctly signed bodies through the real
// handler. Properties: nothing panics; the reply is 200 "OK" exactly when
// the body decodes and names its uuid, transactionType and result (and the
// function then saw that key), and otherwise 400 with another body.
func FuzzDecode(f *testing.F) {
	for _, name := range callbacktest.IXOPAYEvents() {
		f.Add(callbacktest.IXOPAYFixture(name))
	}
	f.Add([]byte(`{"result":"OK","uuid":"u","transactionType":"DEBIT","returnData":[],"customer":[]}`))
	f.Add([]byte(`{"result":"OK","uuid":"u","transactionType":"DEBIT","amount":1e400}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &clock{now: t0}
		var rec recorder
		h := newHandler(t, c, &rec)
		got := serve(h, callbacktest.IXOPAYRequest(secret, target, body, t0))

		var r ixopay.Result
		decErr := json.Unmarshal(body, &r)
		identified := decErr == nil && r.UUID != "" && r.TransactionType != "" && r.Result != ""
		switch got.Status {
		case http.StatusOK:
			require.Equal(t, ack, got)
			require.NoError(t, decErr)
			require.Equal(t, 1, rec.runs())
			require.Equal(t, r.Key(), rec.events[0].Key)
			if r.Amount != "" {
				_, err := r.Amount.Minor(18)
				if err != nil && !strings.Contains(err.Error(), "overflow") && !strings.Contains(err.Error(), "decimals") {
					t.Fatalf("accepted amount %q is not a decimal: %v", r.Amount, err)
				}
			}
		case http.StatusBadRequest:
			require.NotEqual(t, "OK", strings.TrimSpace(got.Body))
			require.Equal(t, 0, rec.runs())
			if identified && !strings.ContainsAny(string(r.UUID)+string(r.TransactionType)+string(r.Result), ": \t\r\n") {
				// Only length or unprintable bytes may refuse an
				// identified body.
				long := len(r.UUID) > 128 || len(r.TransactionType) > 128 || len(r.Result) > 128
				printable := true
				for _, s := range []string{r.UUID, string(r.TransactionType), string(r.Result)} {
					for _, c := range []byte(s) {
						if c < 0x21 || c > 0x7e {
							printable = false
						}
					}
				}
				require.True(t, long || !printable, "identified body %q refused", body)
			}
		default:
			t.Fatalf("status %d for a genuine body: %+v", got.Status, got)
		}
	})
}
