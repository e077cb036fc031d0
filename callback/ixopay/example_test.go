package ixopay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/ixopay"
)

// A handler for IXOPAY's callbacks: a genuine callback is processed once
// and answered exactly "OK", its redeliveries get the same "OK" without
// running the function again, and a forged one gets 401.
func Example() {
	now := time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)
	h, err := ixopay.New(ixopay.Config{
		Secrets: []string{"test-secret"},         // os.Getenv("IXOPAY_SHARED_SECRET")
		Now:     func() time.Time { return now }, // omit in production
	}, func(ctx context.Context, ev *ixopay.Event) error {
		p := ev.Payload
		cents, err := p.Amount.Minor(2)
		if err != nil {
			return err
		}
		fmt.Println("processing", ev.Name, p.MerchantTransactionID, cents, p.Currency)
		return nil
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /callbacks/ixopay", h)

	body := callbacktest.IXOPAYFixture("debit.ok")
	for _, secret := range []string{"test-secret", "test-secret", "forged"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, callbacktest.IXOPAYRequest(secret, "/callbacks/ixopay?shop=42", body, now))
		fmt.Printf("%d %q\n", rec.Code, rec.Body.String())
	}
	// Output:
	// processing DEBIT.OK order-1001 999 EUR
	// 200 "OK"
	// 200 "OK"
	// 401 "unauthorized\n"
}

func ExampleAmount_Minor() {
	for _, a := range []ixopay.Amount{"9.99", "10", "0.5", "1.999"} {
		cents, err := a.Minor(2)
		fmt.Println(a, cents, err)
	}
	// Output:
	// 9.99 999 <nil>
	// 10 1000 <nil>
	// 0.5 50 <nil>
	// 1.999 0 ixopay: invalid amount: "1.999" has more than 2 decimals
}
