package avarda_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/paycallback/paycallback/callback/avarda"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/verify"
)

// The quick start: mount an Avarda handler on a ServeMux, then deliver the
// same callback twice, as Avarda does when an acknowledgement is lost.
func ExampleNew() {
	auth, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Bearer: []string{"token-agreed-with-avarda"},
	})
	if err != nil {
		panic(err)
	}
	h, err := avarda.New(avarda.Config{Verifier: auth}, func(ctx context.Context, ev *avarda.Event) error {
		fmt.Println("completed:", ev.Payload.PurchaseID)
		return nil // the work is done: only now does Avarda get 200
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /callbacks/avarda", h)

	for range 2 {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, callbacktest.AvardaRequest("/callbacks/avarda",
			"489ea341e23941089e6d0378c708512a", "Bearer token-agreed-with-avarda"))
		fmt.Println(rec.Code, rec.Body)
	}
	// Output:
	// completed: 489ea341e23941089e6d0378c708512a
	// 200 OK
	// 200 OK
}
