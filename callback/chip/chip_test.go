package chip_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// vector is CHIP's SDK known-answer vector (testdata/vector.*).
func vector(t testing.TB) (body []byte, sig, pub string) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/vector." + name)
		require.NoError(t, err)
		return b
	}
	return read("body.json"), string(read("sig.b64")), string(read("pub.pem"))
}

// recorder is a merchant function that remembers what it was given.
type recorder struct {
	mu     sync.Mutex
	events []*chip.Event
	err    error
}

func (r *recorder) Func(_ context.Context, ev *chip.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func newHandler(t testing.TB, cfg chip.Config, fn chip.Func) *chip.Handler {
	t.Helper()
	if cfg.PublicKeys == nil && cfg.KeySource == nil {
		cfg.PublicKeys = []string{callbacktest.ChipTestPublicKeyPEM()}
	}
	h, err := chip.New(cfg, fn)
	require.NoError(t, err)
	return h
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPurchasePaidReachesRoute(t *testing.T) {
	paid, other := &recorder{}, &recorder{}
	router := &chip.Router{Fallback: other.Func}
	router.On(chip.PurchasePaid, paid.Func)
	h := newHandler(t, chip.Config{}, router.Handle)

	body := callbacktest.ChipFixture("purchase.paid")
	for i := range 3 { // CHIP redelivers when our 200 is lost
		rec := serve(h, callbacktest.ChipRequest("/callbacks/chip", body))
		require.Equal(t, http.StatusOK, rec.Code, "delivery %d: %s", i+1, rec.Body)
	}
	require.Equal(t, 1, paid.Calls(), "processed once")
	require.Zero(t, other.Calls())

	ev := paid.events[0]
	require.Equal(t, chip.Provider, ev.Provider)
	require.Equal(t, "purchase.paid", ev.Name)
	require.Equal(t, "3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841780", ev.Key)
	require.Equal(t, body, ev.Body, "the raw body, as signed")
	require.Nil(t, ev.Payload.Payment)
	p := ev.Payload.Purchase
	require.NotNil(t, p)
	require.Equal(t, chip.StatusPaid, p.Status)
	require.Equal(t, int64(12990), p.Payment.Amount)
	require.Equal(t, "order-10042", p.Reference)
}

func TestEveryEventIsAcknowledged(t *testing.T) {
	for _, event := range callbacktest.ChipEvents() {
		t.Run(event, func(t *testing.T) {
			fallback := &recorder{}
			h := newHandler(t, chip.Config{}, (&chip.Router{Fallback: fallback.Func}).Handle)
			rec := serve(h, callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture(event)))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, 1, fallback.Calls())
			require.Equal(t, event, fallback.events[0].Name)
		})
	}
}

func TestUnknownEvent(t *testing.T) {
	body := bytes.Replace(callbacktest.ChipFixture("purchase.paid"), []byte(`"purchase.paid"`), []byte(`"purchase.teleported"`), 1)
	paid := &recorder{}
	router := &chip.Router{}
	router.On(chip.PurchasePaid, paid.Func)

	// No fallback: acknowledged, nothing runs.
	h := newHandler(t, chip.Config{}, router.Handle)
	require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Zero(t, paid.Calls())

	// With a fallback: it gets the event, decoded as a purchase.
	fallback := &recorder{}
	router.Fallback = fallback.Func
	h = newHandler(t, chip.Config{}, router.Handle)
	require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Equal(t, 1, fallback.Calls())
	require.Equal(t, "purchase.teleported", fallback.events[0].Name)
	require.NotNil(t, fallback.events[0].Payload.Purchase)
	require.Zero(t, paid.Calls())
}

// TestInauthenticNeverReachesMerchant sends forged, tampered, foreign-key
// and malformed deliveries: each is 401 and the function never runs.
func TestInauthenticNeverReachesMerchant(t *testing.T) {
	body := callbacktest.ChipFixture("purchase.paid")
	good := callbacktest.SignChip(body, nil)
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	vbody, vsig, _ := vector(t)

	tampered := func(i int) []byte {
		b := bytes.Clone(body)
		b[i] ^= 0x01
		return b
	}
	moreMoney := bytes.Replace(body, []byte(`"amount": 12990`), []byte(`"amount": 99990`), 1)
	require.NotEqual(t, body, moreMoney)

	tests := []struct {
		name string
		body []byte
		sigs []string
	}{
		{"no signature", body, nil},
		{"empty signature", body, []string{""}},
		{"not base64", body, []string{"%%%"}},
		{"wrong length", body, []string{good[:100]}},
		{"duplicated header", body, []string{good, good}},
		{"forged: signed by another key", body, []string{callbacktest.SignChip(body, forger)}},
		{"foreign key: CHIP's SDK vector, a key not configured", vbody, []string{vsig}},
		{"tampered amount", moreMoney, []string{good}},
		{"tampered first byte", tampered(0), []string{good}},
		{"tampered id", tampered(10), []string{good}},
		{"tampered last byte", tampered(len(body) - 1), []string{good}},
		{"appended whitespace", append(bytes.Clone(body), ' '), []string{good}},
		{"another event's signature", body, []string{callbacktest.SignChip(callbacktest.ChipFixture("purchase.created"), nil)}},
	}
	fn := &recorder{}
	var reports []callback.Report
	var mu sync.Mutex
	h := newHandler(t, chip.Config{Observe: func(_ context.Context, r callback.Report) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, r)
	}}, fn.Func)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/callbacks/chip", bytes.NewReader(tt.body))
			for _, s := range tt.sigs {
				req.Header.Add("X-Signature", s)
			}
			rec := serve(h, req)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			require.Equal(t, "unauthorized\n", rec.Body.String(), "generic: never says which check failed")
		})
	}
	require.Zero(t, fn.Calls(), "an inauthentic callback reached the merchant")
	require.Len(t, reports, len(tests))
	for _, r := range reports {
		require.Equal(t, callback.Unauthorized, r.Outcome)
		require.True(t, errors.Is(r.Err, verify.ErrMissing) || errors.Is(r.Err, verify.ErrMalformed) || errors.Is(r.Err, verify.ErrSignature), "%v", r.Err)
	}

	// And the genuine one still gets through afterwards.
	require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Equal(t, 1, fn.Calls())
}

func TestKnownAnswerVectorThroughHandler(t *testing.T) {
	body, sig, pub := vector(t)
	fn := &recorder{}
	h := newHandler(t, chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM(), pub}}, fn.Func)
	req := httptest.NewRequest(http.MethodPost, "/callbacks/chip", bytes.NewReader(body))
	req.Header.Set("X-Signature", sig)
	rec := serve(h, req)
	// The vector verifies; its empty id cannot be deduplicated: 400, not 401.
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Zero(t, fn.Calls())

	withID := bytes.Replace(body, []byte(`"id": ""`), []byte(`"id": "x"`), 1)
	req = httptest.NewRequest(http.MethodPost, "/callbacks/chip", bytes.NewReader(withID))
	req.Header.Set("X-Signature", sig)
	require.Equal(t, http.StatusUnauthorized, serve(h, req).Code)
	require.Zero(t, fn.Calls())
}

func TestReplies(t *testing.T) {
	body := callbacktest.ChipFixture("purchase.paid")
	failing := &recorder{err: errors.New("database down")}
	h := newHandler(t, chip.Config{}, failing.Func)

	rec := serve(h, callbacktest.ChipRequest("/callbacks/chip", body))
	require.Equal(t, http.StatusInternalServerError, rec.Code, "CHIP retries")
	failing.err = nil
	rec = serve(h, callbacktest.ChipRequest("/callbacks/chip", body))
	require.Equal(t, http.StatusOK, rec.Code, "the retry runs again")
	require.Equal(t, 2, failing.Calls())

	req := callbacktest.ChipRequest("/callbacks/chip", body)
	req.Method = http.MethodGet
	require.Equal(t, http.StatusMethodNotAllowed, serve(h, req).Code)

	notJSON := []byte(`["not", "an", "object"]`)
	require.Equal(t, http.StatusBadRequest, serve(h, callbacktest.ChipRequest("/callbacks/chip", notJSON)).Code)
	noID := []byte(`{"event_type":"purchase.paid","updated_on":1}`)
	require.Equal(t, http.StatusBadRequest, serve(h, callbacktest.ChipRequest("/callbacks/chip", noID)).Code)
	require.Equal(t, 2, failing.Calls())
}

func TestDedupKeyDistinguishesEvents(t *testing.T) {
	fn := &recorder{}
	h := newHandler(t, chip.Config{}, fn.Func)
	body := callbacktest.ChipFixture("purchase.paid")
	later := bytes.Replace(body, []byte(`"updated_on": 1745841780`), []byte(`"updated_on": 1745841999`), 1)
	other := bytes.Replace(body, []byte(`"event_type": "purchase.paid"`), []byte(`"event_type": "purchase.settled"`), 1)
	for _, b := range [][]byte{body, later, other, body, later, other} {
		require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", b)).Code)
	}
	var keys []string
	for _, ev := range fn.events {
		keys = append(keys, ev.Key)
	}
	want := []string{
		"3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841780",
		"3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841999",
		"3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.settled:1745841780",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("processed keys (-want +got):\n%s", diff)
	}
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	h := newHandler(t, chip.Config{}, func(ctx context.Context, ev *chip.Event) error {
		calls.Add(1)
		close(started)
		<-release
		return nil
	})
	body := callbacktest.ChipFixture("purchase.paid")
	first := make(chan int)
	go func() { first <- serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code }()
	<-started
	// The first delivery holds the claim: a concurrent duplicate is 409,
	// which CHIP retries later.
	require.Equal(t, http.StatusConflict, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	close(release)
	require.Equal(t, http.StatusOK, <-first)
	require.Equal(t, http.StatusOK, serve(h, callbacktest.ChipRequest("/callbacks/chip", body)).Code)
	require.Equal(t, int32(1), calls.Load())
}

func TestNewConfig(t *testing.T) {
	nop := func(context.Context, *chip.Event) error { return nil }
	tests := []struct {
		name string
		cfg  chip.Config
	}{
		{"no key", chip.Config{}},
		{"empty key", chip.Config{PublicKeys: []string{""}}},
		{"not a key", chip.Config{PublicKeys: []string{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}},
		{"private key by mistake", chip.Config{PublicKeys: []string{string(mustRead(t, "../callbacktest/testdata/chip/test_key.pem"))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := chip.New(tt.cfg, nop)
			require.ErrorIs(t, err, verify.ErrConfig)
			require.Nil(t, h)
		})
	}
	_, err := chip.New(chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()}}, nil)
	require.Error(t, err, "a nil function is refused")
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

func TestDefaultTTLCoversRetries(t *testing.T) {
	require.Greater(t, chip.DefaultTTL, retry.CHIP.Horizon())
	require.Equal(t, 36*time.Hour+26*time.Minute+12*time.Hour, chip.DefaultTTL)
}

func TestRouterOn(t *testing.T) {
	nop := func(context.Context, *chip.Event) error { return nil }
	var r chip.Router
	r.On(chip.PurchasePaid, nop)
	require.Panics(t, func() { r.On(chip.PurchasePaid, nop) }, "registered twice")
	require.Panics(t, func() { r.On(chip.PurchaseCreated, nil) }, "nil function")

	// The zero Router acknowledges everything without running anything.
	var zero chip.Router
	require.NoError(t, zero.Handle(t.Context(), &chip.Event{Payload: chip.Callback{EventType: chip.PurchasePaid}}))

	// Errors from routes come back to the pipeline (CHIP retries).
	boom := errors.New("boom")
	var r2 chip.Router
	r2.On(chip.PaymentRefunded, func(context.Context, *chip.Event) error { return boom })
	require.ErrorIs(t, r2.Handle(t.Context(), &chip.Event{Payload: chip.Callback{EventType: chip.PaymentRefunded}}), boom)
}

func TestDecodePurchasePaid(t *testing.T) {
	c, err := chip.Decode(callbacktest.ChipFixture("purchase.paid"))
	require.NoError(t, err)
	const id = "3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02"
	client := chip.Client{
		Email: "buyer@example.com", Phone: "+60 12-345 6789", FullName: "Test Buyer",
		StreetAddress: "1 Jalan Contoh", Country: "MY", City: "Kuala Lumpur", ZipCode: "50450",
		ShippingStreetAddress: "1 Jalan Contoh", ShippingCountry: "MY", ShippingCity: "Kuala Lumpur",
		ShippingZipCode: "50450", CC: []string{}, BCC: []string{},
	}
	issuer := chip.IssuerDetails{
		Website: "https://shop.example.com", LegalStreetAddress: "2 Jalan Contoh", LegalCountry: "MY",
		LegalCity: "Kuala Lumpur", LegalZipCode: "50450", BankAccounts: []chip.BankAccount{{}},
		LegalName: "Example Shop Sdn Bhd", BrandName: "Example Shop", RegistrationNumber: "202501000001",
	}
	want := &chip.Purchase{
		ID: id, Type: "purchase", Status: chip.StatusPaid,
		StatusHistory: []chip.StatusChange{
			{Status: chip.StatusCreated, Timestamp: 1745841600},
			{Status: chip.StatusViewed, Timestamp: 1745841660},
			{Status: chip.StatusPaid, Timestamp: 1745841780},
		},
		EventType: chip.PurchasePaid, IsTest: true,
		BrandID: "9d3a7c1e-5b2f-4e8a-b6c0-2f1d8e4a7b93", CompanyID: "1b6e0f4c-8a3d-4c27-9e51-7d2a6b8f0c14",
		ClientID: "c7f2a9d4-3e1b-4a6c-8d05-b9e2f1a7c3d6", Reference: "order-10042", ReferenceGenerated: "IN-3F2A1C",
		CreatedOn: 1745841600, UpdatedOn: 1745841780, ViewedOn: 1745841660, Due: 1745845200, Issued: "2025-04-28",
		Client: client,
		Purchase: chip.PurchaseDetails{
			Currency: "MYR", Total: 12990, Language: "en", Notes: "Order 10042", Timezone: "Asia/Kuala_Lumpur",
			Products: []chip.Product{
				{Name: "Canvas tote bag", Quantity: "2.0000", Price: 4500, TaxPercent: "6.00", Category: "bags"},
				{Name: "Shipping", Quantity: "1.0000", Price: 3990, TaxPercent: "0.00", Category: "shipping"},
			},
			RequestClientDetails: []string{},
		},
		Payment: &chip.PaymentDetails{
			PaymentType: "purchase", Amount: 12990, Currency: "MYR", NetAmount: 12870, FeeAmount: 120,
			PaidOn: 1745841780, RemotePaidOn: 1745841780,
		},
		IssuerDetails: issuer,
		TransactionData: chip.TransactionData{
			PaymentMethod: "visa", Flow: "payform", Country: "MY",
			Attempts: []chip.Attempt{{
				Type: "execute", Flow: "payform", Successful: true, PaymentMethod: "visa", Country: "MY",
				ClientIP: "192.0.2.10", FeeAmount: 120, ProcessingTime: 1745841780,
			}},
		},
		SuccessRedirect:    "https://shop.example.com/checkout/done?order=10042",
		FailureRedirect:    "https://shop.example.com/checkout/failed?order=10042",
		CancelRedirect:     "https://shop.example.com/checkout/cancel?order=10042",
		SuccessCallback:    "https://shop.example.com/callbacks/chip",
		CheckoutURL:        "https://gate.chip-in.asia/p/" + id + "/",
		RefundableAmount:   12990,
		RefundAvailability: "all",
		Platform:           "api",
		Product:            "purchases",
		CreatedFromIP:      "198.51.100.7",
	}
	if diff := cmp.Diff(&chip.Callback{EventType: chip.PurchasePaid, ID: id, Type: "purchase", UpdatedOn: 1745841780, Purchase: want}, c); diff != "" {
		t.Errorf("Decode(purchase.paid) (-want +got):\n%s", diff)
	}
	require.Equal(t, time.Date(2025, 4, 28, 12, 3, 0, 0, time.UTC), c.Purchase.Payment.PaidOn.Time())
}

func TestDecodePaymentRefunded(t *testing.T) {
	c, err := chip.Decode(callbacktest.ChipFixture("payment.refunded"))
	require.NoError(t, err)
	require.Nil(t, c.Purchase)
	require.NotNil(t, c.Payment)
	want := chip.PaymentDetails{
		IsOutgoing: true, PaymentType: "refund", Amount: 4500, Currency: "MYR", NetAmount: 4500,
		Description: "Returned tote bag", PaidOn: 1746014400, RemotePaidOn: 1746014400,
	}
	if diff := cmp.Diff(want, c.Payment.Payment); diff != "" {
		t.Errorf("refund (-want +got):\n%s", diff)
	}
	require.Equal(t, chip.RelatedObject{Type: "purchase", ID: "3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02"}, c.Payment.RelatedTo)
	require.Equal(t, chip.PaymentRefunded, c.Payment.EventType)
	require.Equal(t, c.ID+":payment.refunded:1746014400", c.Key())
}

func TestDecodeVectorNulls(t *testing.T) {
	body, _, _ := vector(t)
	c, err := chip.Decode(body)
	require.NoError(t, err)
	p := c.Purchase
	require.NotNil(t, p)
	require.Nil(t, p.Payment, "payment is null until paid")
	require.True(t, p.ViewedOn.IsZero())
	require.True(t, p.ViewedOn.Time().IsZero())
	require.Equal(t, "", p.ViewedOn.String())
	require.Equal(t, "2022-01-13T06:50:35Z", p.CreatedOn.String())
	require.Nil(t, p.Purchase.TotalOverride)
	require.Equal(t, chip.Decimal("1.0000"), p.Purchase.Products[0].Quantity)
}

func TestDecodeTolerance(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		check   func(t *testing.T, c *chip.Callback)
		wantErr bool
	}{
		{
			name: "unknown fields, top-level and nested",
			body: `{"id":"a","type":"purchase","event_type":"purchase.paid","brand_new":{"x":[1,2]},"purchase":{"total":5,"future":true,"products":[{"name":"n","quantity":"3","tax_percent":"7.25","new":null}]}}`,
			check: func(t *testing.T, c *chip.Callback) {
				require.Equal(t, int64(5), c.Purchase.Purchase.Total)
				require.Equal(t, chip.Decimal("7.25"), c.Purchase.Purchase.Products[0].TaxPercent)
			},
		},
		{
			name: "decimals as JSON numbers keep their digits",
			body: `{"id":"a","event_type":"purchase.paid","purchase":{"products":[{"quantity":1.10,"tax_percent":0.1}]}}`,
			check: func(t *testing.T, c *chip.Callback) {
				got := c.Purchase.Purchase.Products[0]
				require.Equal(t, chip.Decimal("1.10"), got.Quantity)
				require.Equal(t, chip.Decimal("0.1"), got.TaxPercent)
			},
		},
		{
			name: "nulls everywhere",
			body: `{"id":"a","event_type":null,"type":null,"updated_on":null,"payment":null,"client":null,"purchase":{"products":[{"quantity":null}]}}`,
			check: func(t *testing.T, c *chip.Callback) {
				require.Equal(t, chip.EventType(""), c.EventType)
				require.Nil(t, c.Purchase, "neither event type nor object type say purchase")
			},
		},
		{
			name: "type decides when the event type is unknown",
			body: `{"id":"a","type":"payment","event_type":"refund.later","related_to":{"type":"purchase","id":"p"}}`,
			check: func(t *testing.T, c *chip.Callback) {
				require.Equal(t, "p", c.Payment.RelatedTo.ID)
			},
		},
		{
			name: "payout: neither object",
			body: `{"id":"a","type":"payout","event_type":"payout.success","updated_on":7}`,
			check: func(t *testing.T, c *chip.Callback) {
				require.Nil(t, c.Purchase)
				require.Nil(t, c.Payment)
				require.Equal(t, "a:payout.success:7", c.Key())
			},
		},
		{name: "not JSON", body: `id=a`, wantErr: true},
		{name: "array", body: `[]`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "amount as a string", body: `{"id":"a","purchase":{"total":"5.00"}}`, wantErr: true},
		{name: "decimal as an object", body: `{"id":"a","purchase":{"products":[{"quantity":{}}]}}`, wantErr: true},
		{name: "truncated", body: `{"id":"a","purchase":{`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := chip.Decode([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				require.Nil(t, c)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestDecimalRat(t *testing.T) {
	tests := []struct {
		in      chip.Decimal
		want    *big.Rat
		wantErr bool
	}{
		{"1.0000", big.NewRat(1, 1), false},
		{"6.00", big.NewRat(6, 1), false},
		{"0.10", big.NewRat(1, 10), false},
		{"", nil, true},
		{"1,5", nil, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			got, err := tt.in.Rat()
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Zero(t, tt.want.Cmp(got), "got %v", got)
		})
	}
	b, err := json.Marshal(chip.Decimal("1.0000"))
	require.NoError(t, err)
	require.Equal(t, `"1.0000"`, string(b))
}

func TestEventTypes(t *testing.T) {
	all := chip.EventTypes()
	require.Len(t, all, 22)
	for _, e := range all {
		require.True(t, e.Known(), e)
	}
	require.False(t, chip.EventType("purchase.teleported").Known())
	all[0] = "changed"
	require.Equal(t, chip.PurchaseCreated, chip.EventTypes()[0], "a copy")
}

// FuzzDecode checks that no body makes decoding panic and that whatever
// decodes names its object consistently.
func FuzzDecode(f *testing.F) {
	for _, e := range callbacktest.ChipEvents() {
		f.Add(callbacktest.ChipFixture(e))
	}
	body, _, _ := vector(f)
	f.Add(body)
	f.Add([]byte(`{"purchase":{"products":[{"quantity":1e400}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := chip.Decode(b)
		if err != nil {
			return
		}
		if c.Purchase != nil && c.Payment != nil {
			t.Fatal("both a purchase and a payment")
		}
		if c.Purchase != nil && (c.Purchase.ID != c.ID || c.Purchase.EventType != c.EventType) {
			t.Fatal("purchase disagrees with the callback's top-level fields")
		}
		if !strings.HasPrefix(c.Key(), c.ID+":") {
			t.Fatalf("key %q does not start with the id", c.Key())
		}
	})
}
