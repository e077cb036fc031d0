package verify_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/paycallback/paycallback/verify"
)

// A merchant asked Avarda to send HTTP Basic credentials with its
// callbacks. During a rotation, both the old and the new password are
// listed.
func ExampleNewAuthorization() {
	v, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{
			{Username: "avarda", Password: "new-secret"},
			{Username: "avarda", Password: "old-secret"},
		},
	})
	if err != nil {
		panic(err)
	}

	body := []byte(`{"purchaseId":"489ea341e23941089e6d0378c708512a"}`)
	for _, password := range []string{"new-secret", "old-secret", "guess"} {
		r := httptest.NewRequest(http.MethodPost, "/callbacks/avarda", strings.NewReader(string(body)))
		r.SetBasicAuth("avarda", password)
		err := v.Verify(r.Context(), verify.FromHTTP(r, body))
		fmt.Printf("%s: %v\n", password, err)
	}
	// Output:
	// new-secret: <nil>
	// old-secret: <nil>
	// guess: verify: credentials rejected: authorization: Basic credential matches no configured user and password
}

// A long-lived JWT sent as a Bearer token. Check is the pure form, for
// routers that hand over only the headers.
func ExampleNewAuthorization_bearer() {
	v, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Bearer: []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdmFyZGEifQ.c2lnbmF0dXJl"},
	})
	if err != nil {
		panic(err)
	}

	for _, value := range []string{
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdmFyZGEifQ.c2lnbmF0dXJl",
		"bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdmFyZGEifQ.c2lnbmF0dXJl",
		"Bearer expired-token",
		"",
	} {
		h := http.Header{}
		if value != "" {
			h.Set("Authorization", value)
		}
		err := v.Check(h)
		switch {
		case err == nil:
			fmt.Println("accepted")
		case errors.Is(err, verify.ErrMissing):
			fmt.Println("401, no credentials")
		case errors.Is(err, verify.ErrCredentials):
			fmt.Println("401, wrong credentials")
		}
	}
	// Output:
	// accepted
	// accepted
	// 401, wrong credentials
	// 401, no credentials
}

// The password is kept only as a bcrypt hash, for example from
// `htpasswd -nbB avarda secret`. The first request pays for one bcrypt
// comparison; the provider's retries with the same header are answered
// from a keyed digest. ErrUnavailable means too many bcrypt comparisons
// were already running: answer it with a 503, and the provider retries.
func ExampleNewAuthorization_bcrypt() {
	// Cost 4 keeps this example fast; use bcrypt.DefaultCost or more.
	const hash = "$2a$04$7AiFdaMWTfeuTvEzS8NfZeqRqGDRgzcVyTFO1dy9ktGhIv9Bod7rC"
	v, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{{Username: "avarda", PasswordHash: hash}},
	})
	if err != nil {
		panic(err)
	}

	for _, password := range []string{"secret", "secret", "wrong"} {
		r := httptest.NewRequest(http.MethodPost, "/callbacks/avarda", nil)
		r.SetBasicAuth("avarda", password)
		err := v.Check(r.Header)
		switch {
		case err == nil:
			fmt.Println(password, "accepted")
		case errors.Is(err, verify.ErrUnavailable):
			fmt.Println(password, "503, retry later")
		default:
			fmt.Println(password, "401:", err)
		}
	}
	// Output:
	// secret accepted
	// secret accepted
	// wrong 401: verify: credentials rejected: authorization: Basic password does not match the hash
}

// Unsafe configurations are construction errors, never a verifier that
// accepts everything.
func ExampleNewAuthorization_config() {
	_, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Bearer: []string{""}, // for example an unset environment variable
	})
	fmt.Println(errors.Is(err, verify.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// verify: invalid configuration: authorization: Bearer[0] is empty or not a token68
}
