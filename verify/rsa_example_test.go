package verify_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/paycallback/paycallback/verify"
)

// Verify a CHIP Collect callback with CHIP's published test vector: the
// body as received, its X-Signature header and the public key.
func ExampleNewRSA() {
	body, _ := os.ReadFile("testdata/chip/body.json")
	sig, _ := os.ReadFile("testdata/chip/sig.b64")
	pub, _ := os.ReadFile("testdata/chip/pub.pem")

	v, err := verify.NewRSA(verify.RSAConfig{
		// Header defaults to X-Signature. Keys take PEM, PEM with literal
		// \n sequences, or the JSON string from CHIP's /public_key/;
		// list several during a rotation or for several webhooks.
		Keys: []string{string(pub)},
	})
	if err != nil {
		log.Fatal(err)
	}
	req := &verify.Request{Method: http.MethodPost, Header: http.Header{"X-Signature": {string(sig)}}, Body: body}
	fmt.Println(v.Verify(context.Background(), req))

	body[len(body)-2] = 'X' // tampered
	fmt.Println(v.Verify(context.Background(), req))
	// Output:
	// <nil>
	// verify: signature mismatch: RSA signature matches no configured key
}

// Accept a key as some deployments store it: one line with literal \n.
func ExampleParseRSAPublicKey() {
	oneLine := `-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArzedRaG/aa191+f3/Syf\nye4lbwaVDngwBpsV/JidZ3T/27oEAPtwZ3oqhmhsBQcVB/f94ecFdj49NTG1DZZN\nfkWjSZEViL22oEGBryK2MjkUrW30kY1Yh0vCa/e0nIG/+9b1TLfzHIwjm54hw1R/\nRi/m/tf1nLMEm06ogDNV/AUyg6uyNLqp21NxKP7+xV6yfPkfX1s+qSjciyCPzO6r\n+TsG3GTqopG1FSaWx+R0+bmsOEmV5YQKMUlLKlf0wJUD7mjsNioFomEp5QBpASbE\nLfNDO13L5FiUgLtWcz+ZazCZmNUdhstLvrEVt8NhvPWBy96YWm4GfXx7xr8F11yH\npQIDAQAB\n-----END PUBLIC KEY-----\n`
	k, err := verify.ParseRSAPublicKey([]byte(oneLine))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.N.BitLen(), k.E)
	// Output: 2048 65537
}
