package retry_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/paycallback/paycallback/retry"
)

// CHIP's schedule played against a handler whose database is down for the
// first two deliveries, with the first acknowledgement lost on its way
// back to CHIP: CHIP redelivers, the handler must answer the duplicate
// with the same acknowledgement (a real handler does so without running
// the merchant's function again; see package callbacktest). Nothing
// sleeps: attempt n is stamped at Start + retry.CHIP.At(n).
func ExampleSimulate() {
	deliveries := 0
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deliveries++
		if deliveries <= 2 {
			http.Error(w, "database down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "OK")
	})
	res, err := retry.Simulate(context.Background(), retry.Simulation{
		Policy:  retry.CHIP,
		Handler: handler,
		URL:     "/callbacks/chip",
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(`{"id":"p1"}`))
		},
		OnAttempt: func(copies []retry.Attempt) {
			for _, a := range copies {
				fmt.Println(a)
			}
		},
		// Lose exactly the first acknowledgement; or a share of them,
		// LoseAcks: 0.5, reproducibly for a given Seed.
		LoseFirst: 1,
	})
	fmt.Println(res.Acknowledged, err)
	// Output:
	// attempt 1 copy 1 at +0s: 503 "database down\n" not acked
	// attempt 2 copy 1 at +2m0s: 503 "database down\n" not acked
	// attempt 3 copy 1 at +8m0s: 200 "OK" acked, ack lost
	// attempt 4 copy 1 at +26m0s: 200 "OK" acked
	// true <nil>
}
