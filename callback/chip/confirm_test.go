package chip_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

const testAPIKey = "chip-api-key"

// fakeCHIP speaks GET /api/v1/purchases/{id}/ as PROTOCOLS.md documents
// it: the current Purchase, for a Bearer API key.
type fakeCHIP struct {
	mu        sync.Mutex
	purchases map[string]map[string]any // id -> purchase JSON object
	fail      []int                     // statuses to answer next, in order
	paths     []string                  // paths asked, in order
}

func newFakeCHIP() *fakeCHIP { return &fakeCHIP{purchases: map[string]map[string]any{}} }

func (f *fakeCHIP) set(id string, status chip.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purchases[id] = map[string]any{
		"id": id, "type": "purchase", "status": status, "event_type": "purchase.created",
		"purchase": map[string]any{"total": 1000, "currency": "MYR"},
		"payment":  nil, "created_on": 1745841600, "unknown_field": []int{1},
	}
}

func (f *fakeCHIP) failNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, statuses...)
}

func (f *fakeCHIP) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func (f *fakeCHIP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.URL.Path)
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer "+testAPIKey {
		http.Error(w, `{"__all__":[{"message":"Invalid token.","code":"authentication_failed"}]}`, http.StatusUnauthorized)
		return
	}
	if len(f.fail) > 0 {
		status := f.fail[0]
		f.fail = f.fail[1:]
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", status)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/api/v1/purchases/")
	id, ok2 := strings.CutSuffix(id, "/")
	p, found := f.purchases[id]
	if !ok || !ok2 || !found {
		http.Error(w, `{"detail":"Not found."}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// apiTransport serves requests in process, so that the fake runs inside
// a synctest bubble and retries wait on the fake clock.
type apiTransport struct{ h http.Handler }

func (t apiTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func newConfirmer(t *testing.T, cfg chip.ConfirmerConfig) *chip.Confirmer {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testAPIKey
	}
	c, err := chip.NewConfirmer(cfg)
	require.NoError(t, err)
	return c
}

// purchaseEvent is a decoded purchase.* callback for purchase id.
func purchaseEvent(t *testing.T, e chip.EventType, id string) *chip.Event {
	t.Helper()
	fixture := callbacktest.ChipFixture(string(e))
	old, err := chip.Decode(fixture)
	require.NoError(t, err)
	body := strings.ReplaceAll(string(fixture), old.ID, id)
	c, err := chip.Decode([]byte(body))
	require.NoError(t, err)
	require.NotNil(t, c.Purchase)
	return &chip.Event{Name: string(e), Payload: *c, Body: []byte(body)}
}

func TestConfirmerAgreement(t *testing.T) {
	api := newFakeCHIP()
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL + "/", Client: srv.Client()})

	tests := []struct {
		event  chip.EventType
		api    chip.Status
		agrees bool
	}{
		{chip.PurchasePaid, chip.StatusPaid, true},
		{chip.PurchasePaid, chip.StatusSettled, true},
		{chip.PurchasePaid, chip.StatusCleared, true},
		{chip.PurchasePaid, chip.StatusRefunded, true},
		{chip.PurchasePaid, chip.StatusPendingRefund, true},
		{chip.PurchasePaid, chip.StatusChargeback, true},
		{chip.PurchasePaid, chip.StatusCreated, false},
		{chip.PurchasePaid, chip.StatusViewed, false},
		{chip.PurchasePaid, chip.StatusError, false},
		{chip.PurchasePaid, chip.StatusCancelled, false},
		{chip.PurchasePaid, chip.StatusPendingCharge, false},
		{chip.PurchaseCaptured, chip.StatusPaid, true},
		{chip.PurchaseCaptured, chip.StatusHold, false},
		{chip.PurchaseSettled, chip.StatusSettled, true},
		{chip.PurchaseSettled, chip.StatusPaid, false},
		{chip.PurchaseCancelled, chip.StatusCancelled, true},
		{chip.PurchaseCancelled, chip.StatusPaid, false},
		{chip.PurchasePendingRefund, chip.StatusRefunded, true},
		{chip.PurchasePendingRefund, chip.StatusPaid, false},
		{chip.PurchaseHold, chip.StatusHold, true},
		{chip.PurchaseHold, chip.StatusPaid, true},
		{chip.PurchaseHold, chip.StatusCreated, false},
		{chip.PurchaseReleased, chip.StatusReleased, true},
		{chip.PurchaseReleased, chip.StatusHold, false},
		// Steps the purchase may move on from in either direction: the
		// API only confirms that the purchase exists.
		{chip.PurchaseCreated, chip.StatusPaid, true},
		{chip.PurchaseViewed, chip.StatusCreated, true},
		{chip.PurchasePaymentFailure, chip.StatusViewed, true},
		{chip.PurchasePendingCharge, chip.StatusError, true},
	}
	for i, tt := range tests {
		t.Run(string(tt.event)+" vs "+string(tt.api), func(t *testing.T) {
			id := "00000000-0000-4000-8000-0000000000" + string(rune('a'+i/10)) + string(rune('0'+i%10))
			api.set(id, tt.api)
			err := c.Confirm(t.Context(), purchaseEvent(t, tt.event, id))
			require.Equal(t, tt.agrees, chip.StatusAgrees(tt.event, tt.api))
			if tt.agrees {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, callback.ErrUnconfirmed)
			require.ErrorContains(t, err, string(tt.api))
		})
	}
	require.Equal(t, "/api/v1/purchases/00000000-0000-4000-8000-0000000000a0/", api.asked()[0])
}

func TestConfirmerUnknownPurchase(t *testing.T) {
	api := newFakeCHIP()
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL, Client: srv.Client()})

	err := c.Confirm(t.Context(), purchaseEvent(t, chip.PurchasePaid, "11111111-1111-4111-8111-111111111111"))
	require.ErrorIs(t, err, callback.ErrUnconfirmed)
	require.ErrorIs(t, err, chip.ErrPurchaseNotFound)
	require.Len(t, api.asked(), 1, "a 404 is not retried")

	_, err = c.Purchase(t.Context(), "11111111-1111-4111-8111-111111111111")
	require.ErrorIs(t, err, chip.ErrPurchaseNotFound)
	require.NotErrorIs(t, err, callback.ErrUnconfirmed, "Purchase is for reconciling too: a plain not-found")
}

func TestConfirmerWrongAPIKeyIsNotUnconfirmed(t *testing.T) {
	api := newFakeCHIP()
	api.set("p1", chip.StatusPaid)
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{APIKey: "wrong", BaseURL: srv.URL, Client: srv.Client()})

	err := c.Confirm(t.Context(), purchaseEvent(t, chip.PurchasePaid, "p1"))
	require.Error(t, err)
	require.NotErrorIs(t, err, callback.ErrUnconfirmed, "a configuration problem must not look like a disagreement")
	var he *retry.HTTPError
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusUnauthorized, he.Status)
	require.Len(t, api.asked(), 1, "a 401 is not retried")
}

func TestConfirmerRetriesTransientFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeCHIP()
		api.set("p1", chip.StatusPaid)
		api.failNext(503, 429)
		c := newConfirmer(t, chip.ConfirmerConfig{
			BaseURL: "https://gate.chip.test", Client: &http.Client{Transport: apiTransport{api}},
			Backoff: retry.Backoff{Initial: 100 * time.Millisecond, MaxAttempts: 4},
		})
		ctx, cancel := context.WithTimeout(t.Context(), chip.DefaultTTL) // a generous deadline
		defer cancel()
		start := time.Now()
		require.NoError(t, c.Confirm(ctx, purchaseEvent(t, chip.PurchasePaid, "p1")))
		require.Len(t, api.asked(), 3)
		require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "Retry-After: 1 honoured twice")

		// Within a deadline too short for the retries, the last error
		// comes back at once, not as a disagreement.
		api.failNext(503, 503, 503, 503)
		ctx, cancel = context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		err := c.Confirm(ctx, purchaseEvent(t, chip.PurchasePaid, "p1"))
		require.Error(t, err)
		require.NotErrorIs(t, err, callback.ErrUnconfirmed)
		var he *retry.HTTPError
		require.ErrorAs(t, err, &he)
		require.Equal(t, 503, he.Status)
	})
}

func TestConfirmerPaymentRefundedAsksForTheRefundedPurchase(t *testing.T) {
	api := newFakeCHIP()
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL, Client: srv.Client()})

	cb, err := chip.Decode(callbacktest.ChipFixture(string(chip.PaymentRefunded)))
	require.NoError(t, err)
	require.NotNil(t, cb.Payment)
	related := cb.Payment.RelatedTo.ID
	require.NotEmpty(t, related)
	ev := &chip.Event{Name: string(cb.EventType), Payload: *cb}

	require.ErrorIs(t, c.Confirm(t.Context(), ev), callback.ErrUnconfirmed, "the refunded purchase is unknown")
	api.set(related, chip.StatusRefunded)
	require.NoError(t, c.Confirm(t.Context(), ev))
	if diff := cmp.Diff([]string{"/api/v1/purchases/" + related + "/", "/api/v1/purchases/" + related + "/"}, api.asked()); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func TestConfirmerPassesEventsAboutNoPurchase(t *testing.T) {
	api := newFakeCHIP()
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL, Client: srv.Client()})
	for _, e := range []chip.EventType{chip.PayoutSuccess, chip.PayoutFailed, chip.SubscriptionBillingCancelled} {
		cb, err := chip.Decode(callbacktest.ChipFixture(string(e)))
		require.NoError(t, err)
		require.NoError(t, c.Confirm(t.Context(), &chip.Event{Name: string(e), Payload: *cb}), "%s", e)
	}
	require.Empty(t, api.asked())
}

func TestConfirmerCustomAgrees(t *testing.T) {
	api := newFakeCHIP()
	api.set("p1", chip.StatusPaid)
	srv := httptest.NewServer(api)
	defer srv.Close()
	var asked []chip.EventType
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL, Client: srv.Client(),
		Agrees: func(e chip.EventType, p *chip.Purchase) bool {
			asked = append(asked, e)
			return p.Purchase.Total == 999 // the API's purchase is decoded
		},
	})
	require.ErrorIs(t, c.Confirm(t.Context(), purchaseEvent(t, chip.PurchasePaid, "p1")), callback.ErrUnconfirmed)
	require.Equal(t, []chip.EventType{chip.PurchasePaid}, asked)
}

func TestNewConfirmerRefuses(t *testing.T) {
	for name, cfg := range map[string]chip.ConfirmerConfig{
		"no API key":       {BaseURL: "https://gate.chip-in.asia"},
		"relative base":    {APIKey: "k", BaseURL: "gate.chip-in.asia"},
		"ftp base":         {APIKey: "k", BaseURL: "ftp://gate.chip-in.asia"},
		"base with query":  {APIKey: "k", BaseURL: "https://gate.chip-in.asia?x=1"},
		"unparseable base": {APIKey: "k", BaseURL: "https://[::1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := chip.NewConfirmer(cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
	c, err := chip.NewConfirmer(chip.ConfirmerConfig{APIKey: "k"})
	require.NoError(t, err)
	require.NotNil(t, c)
	_, err = c.Purchase(t.Context(), "a/../b")
	require.Error(t, err)
}

// Through the handler: a signed purchase.paid is processed only once
// CHIP's API says the purchase is paid.
func TestHandlerConfirmsWithCHIP(t *testing.T) {
	api := newFakeCHIP()
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newConfirmer(t, chip.ConfirmerConfig{BaseURL: srv.URL, Client: srv.Client()})
	runs := callbacktest.Record[chip.Callback](nil)
	h, err := chip.New(chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()}, Confirm: c.Confirm}, runs.Func)
	require.NoError(t, err)

	body := callbacktest.ChipEvent("purchase.paid")
	cb, err := chip.Decode(body)
	require.NoError(t, err)
	deliver := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, callbacktest.ChipRequest("/callbacks/chip", body))
		return rec.Code
	}
	require.Equal(t, 503, deliver(), "unknown to the API")
	api.set(cb.ID, chip.StatusCreated)
	require.Equal(t, 503, deliver(), "not paid yet according to the API")
	require.Empty(t, runs.Calls())
	api.set(cb.ID, chip.StatusPaid)
	require.Equal(t, 200, deliver())
	require.Equal(t, 200, deliver())
	require.NoError(t, runs.ExactlyOnce())
}

// A CHIP handler that processes a purchase.paid only once CHIP's API says
// the purchase is paid (or later: settled, refunded...). The fake API
// here stands for https://gate.chip-in.asia.
func ExampleNewConfirmer() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// GET /api/v1/purchases/{id}/ with Authorization: Bearer <API key>
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/purchases/"), "/")
		fmt.Fprintf(w, `{"id":%q,"type":"purchase","status":"paid"}`, id)
	}))
	defer api.Close()

	c, err := chip.NewConfirmer(chip.ConfirmerConfig{APIKey: "your-api-key", BaseURL: api.URL})
	if err != nil {
		panic(err)
	}
	h, err := chip.New(chip.Config{
		PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()},
		Confirm:    c.Confirm,
	}, func(ctx context.Context, ev *chip.Event) error {
		fmt.Println("processing", ev.Name)
		return nil
	})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipEvent("purchase.paid")))
	fmt.Println(rec.Code)
	// Output:
	// processing purchase.paid
	// 200
}
