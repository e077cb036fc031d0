package chip_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
)

// Mount a CHIP handler on an http.ServeMux and route purchase.paid to the
// merchant's code. The last lines are a unit test: a bundled fixture,
// signed with the bundled test key, sent through the mux.
func Example() {
	router := &chip.Router{}
	router.On(chip.PurchasePaid, func(ctx context.Context, ev *chip.Event) error {
		p := ev.Payload.Purchase
		fmt.Printf("order %s paid: %d %s (minor units)\n", p.Reference, p.Payment.Amount, p.Payment.Currency)
		return nil // only now is CHIP acknowledged
	})
	h, err := chip.New(chip.Config{
		// In production: CHIP's company key and your webhooks' keys, e.g.
		// os.Getenv("CHIP_PUBLIC_KEY"). In tests: the bundled test key.
		PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()},
	}, router.Handle)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /callbacks/chip", h)

	for range 2 { // a redelivery is acknowledged without running again
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture("purchase.paid")))
		fmt.Println(rec.Code)
	}
	// Output:
	// order order-10042 paid: 12990 MYR (minor units)
	// 200
	// 200
}

// A Router sends each event type to its own function; events with no
// route, including types CHIP adds later, go to Fallback and are
// acknowledged.
func ExampleRouter() {
	router := &chip.Router{
		Fallback: func(ctx context.Context, ev *chip.Event) error {
			fmt.Println("not handled:", ev.Name)
			return nil
		},
	}
	router.On(chip.PurchasePaid, func(ctx context.Context, ev *chip.Event) error {
		fmt.Println("paid:", ev.Payload.Purchase.ID)
		return nil
	})
	router.On(chip.PaymentRefunded, func(ctx context.Context, ev *chip.Event) error {
		r := ev.Payload.Payment
		fmt.Printf("refund of %d %s for purchase %s\n", r.Payment.Amount, r.Payment.Currency, r.RelatedTo.ID)
		return nil
	})
	h, err := chip.New(chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()}}, router.Handle)
	if err != nil {
		log.Fatal(err)
	}
	for _, event := range []string{"purchase.paid", "payment.refunded", "purchase.viewed"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, callbacktest.ChipRequest("/callbacks/chip", callbacktest.ChipFixture(event)))
	}
	// Output:
	// paid: 3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02
	// refund of 4500 MYR for purchase 3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02
	// not handled: purchase.viewed
}

// Decode is the handler's decoder, for merchants with their own router
// who verify with verify.RSA themselves.
func ExampleDecode() {
	c, err := chip.Decode(callbacktest.ChipFixture("purchase.paid"))
	if err != nil {
		log.Fatal(err)
	}
	p := c.Purchase
	fmt.Println(c.EventType, p.Status, p.Purchase.Total, p.Purchase.Currency)
	fmt.Println(p.Purchase.Products[0].Name, p.Purchase.Products[0].Quantity, p.Purchase.Products[0].TaxPercent)
	fmt.Println(p.Payment.PaidOn.Time())
	fmt.Println(c.Key())
	// Output:
	// purchase.paid paid 12990 MYR
	// Canvas tote bag 2.0000 6.00
	// 2025-04-28 12:03:00 +0000 UTC
	// 3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02:purchase.paid:1745841780
}

// Fetch the company-wide key (the one that signs purchase success
// callbacks) from CHIP's API instead of configuring it, next to the keys
// of webhooks created through the Webhook API.
func ExampleNewKeySource() {
	src, err := chip.NewKeySource(chip.KeySourceConfig{APIKey: os.Getenv("CHIP_API_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	// Optional: fail at start-up rather than on the first callback.
	if _, err := src.PublicKeys(context.Background()); err != nil {
		log.Printf("CHIP public key not fetched yet: %v", err)
	}
	h, err := chip.New(chip.Config{
		KeySource:  src,
		PublicKeys: []string{os.Getenv("CHIP_WEBHOOK_PUBLIC_KEY")},
	}, func(ctx context.Context, ev *chip.Event) error { return nil })
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /callbacks/chip", h)
}
