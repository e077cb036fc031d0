package retry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/paycallback/paycallback/retry"
)

// A confirmation call retried through a provider's transient 503s, within
// the deadline the incoming callback leaves.
func ExampleDo() {
	failures := 2
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures > 0 {
			failures--
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"status":"Success"}`)
	}))
	defer api.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	attempts := 0
	err := retry.Do(ctx, retry.Backoff{Initial: time.Millisecond}, func(ctx context.Context) error {
		attempts++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, api.URL, nil)
		if err != nil {
			return err
		}
		resp, err := api.Client().Do(req)
		if err != nil {
			return err // network errors are retried
		}
		defer resp.Body.Close()
		return retry.CheckResponse(resp) // 5xx and 429 are retried
	})
	fmt.Println(attempts, err)
	// Output: 3 <nil>
}
