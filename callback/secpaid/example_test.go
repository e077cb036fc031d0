package secpaid_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
)

// A payment reported by both the customer's browser and the Payment
// Endpoint is processed once, after SecPaid's API confirmed it; a spoofed
// return for a payment SecPaid does not know goes to the pending page.
func Example() {
	api := callbacktest.NewSecPaidAPI("api-token") // stands in for SecPaid
	defer api.Close()
	api.Pay("4711", "49.99", "my-user-id")

	h, err := secpaid.New(secpaid.Config{
		UserIDs:    []string{"my-user-id"},
		Token:      "api-token",
		BaseURL:    api.URL,
		SuccessURL: "/order/thanks",
		CancelURL:  "/cart",
		PendingURL: "/order/processing",
	}, func(ctx context.Context, ev *secpaid.Event) error {
		fmt.Printf("paid: pay_id %s, %s EUR, confirmed %v, via %s\n",
			ev.Payload.PayID, ev.Payload.Amount, ev.Payload.Confirmed, ev.Payload.Source)
		return nil
	})
	if err != nil {
		panic(err)
	}

	browser := func(payID, status string) {
		rec := httptest.NewRecorder()
		h.Return.ServeHTTP(rec, callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", payID, "my-user-id", status))
		fmt.Println("browser:", rec.Code, rec.Header().Get("Location"))
	}
	browser("4711", "Success")
	rec := httptest.NewRecorder()
	h.Endpoint.ServeHTTP(rec, callbacktest.SecPaidRequest("/callbacks/secpaid",
		callbacktest.SecPaidNotification{PayID: "4711", Amount: "49.99", UserID: "my-user-id", Status: "Success"},
		callbacktest.SecPaidNested, ""))
	fmt.Println("endpoint:", rec.Code, rec.Body)
	browser("4711", "success")
	browser("9999", "success")
	browser("9999", "cancel")
	// Output:
	// paid: pay_id 4711, 49.99 EUR, confirmed true, via return
	// browser: 303 /order/thanks
	// endpoint: 200 OK
	// browser: 303 /order/thanks
	// browser: 303 /order/processing
	// browser: 303 /cart
}

// The pure form, for routers that are not net/http: decrypt and parse a
// Payment Endpoint body.
func ExampleParseNotification() {
	body := callbacktest.SecPaidFixture("success.encrypted.json")
	p, err := secpaid.ParseNotification("application/json", body, callbacktest.SecPaidTestKey)
	if err != nil {
		panic(err)
	}
	cents, _ := p.Amount.MinorUnits(2)
	fmt.Println(p.PayID, p.Status, p.Amount, cents)
	// Output: 12345 success 49.99 4999
}
