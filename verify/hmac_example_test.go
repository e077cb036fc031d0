package verify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/paycallback/paycallback/verify"
)

// IXOPAY's published vector: empty secret, empty body. SignHMAC accepts
// the empty secret so that the vector can be checked; NewHMAC refuses it.
func ExampleSignHMAC() {
	msg := verify.HMACMessage(verify.HMACSHA512, "POST", nil,
		"application/json; charset=utf-8",
		"Tue, 28 Apr 2026 15:23:40 GMT",
		"/api/v3/transaction/YOUR-API-KEY-HERE/debit")
	fmt.Println(verify.SignHMAC("", msg))

	_, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{""}})
	fmt.Println(errors.Is(err, verify.ErrConfig))
	// Output:
	// 4ICq+hfHFA81dAJHcXoP2/Pb+nkp9GljLe2S+REN0vMBhbQYNQUHIw/YxUTEIWS5Uu5WgdDEc7keMtqS0mpnAA==
	// true
}

func ExampleNewHMAC() {
	const date = "Tue, 28 Apr 2026 15:23:40 GMT"
	signedAt, _ := http.ParseTime(date)
	now := signedAt.Add(3 * 24 * time.Hour) // a retry three days later, not re-signed

	v, err := verify.NewHMAC(verify.HMACConfig{
		Secrets: []string{"old-secret", "new-secret"}, // during a rotation
		Now:     func() time.Time { return now },      // omit in production
	})
	if err != nil {
		panic(err)
	}

	body := []byte(`{"result":"OK","uuid":"a1b2c3d4e5f6a7b8c9d0","transactionType":"DEBIT"}`)
	uri := "/callbacks/ixopay?shop=42"
	req := &verify.Request{Method: "POST", RequestURI: uri, Body: body, Header: http.Header{}}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Date", date)
	req.Header.Set("X-Signature", verify.SignHMAC("new-secret",
		verify.HMACMessage(verify.HMACSHA512, "POST", body, "application/json; charset=utf-8", date, uri)))
	fmt.Println(v.Verify(context.Background(), req))

	now = signedAt.Add(30 * 24 * time.Hour) // a replay a month later
	fmt.Println(errors.Is(v.Verify(context.Background(), req), verify.ErrStale))

	req.Body = []byte(`{"result":"OK","uuid":"a1b2c3d4e5f6a7b8c9d0","transactionType":"REFUND"}`)
	fmt.Println(errors.Is(v.Verify(context.Background(), req), verify.ErrSignature))
	// Output:
	// <nil>
	// true
	// true
}
