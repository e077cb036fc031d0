package merchantapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"

	"github.com/paycallback/paycallback/callback/ixopay"
)

func init() {
	register("ixopay", func(fs *flag.FlagSet) mountFunc {
		var secrets multiFlag
		fs.Var(&secrets, "ixopay-secret", "an IXOPAY shared secret `VALUE` (repeatable, for rotation; default: a random secret, printed)")
		return func(mux *http.ServeMux, env *Env) error {
			if len(secrets) == 0 {
				// Never accept unsigned callbacks: make a secret up and
				// say how to sign with it.
				var b [24]byte
				_, _ = rand.Read(b[:])
				s := base64.RawURLEncoding.EncodeToString(b[:])
				secrets = append(secrets, s)
				fmt.Fprintf(env.Notes, "ixopay: no -ixopay-secret given; accepting callbacks signed with the generated secret %q\n", s)
				fmt.Fprintf(env.Notes, "ixopay: try it (processed once, however often it is sent; needs openssl):\n%s", ixopayCurl(env.BaseURL, s))
			}
			h, err := ixopay.New(ixopay.Config{Secrets: secrets, Store: env.Store, Logger: env.Logger},
				func(ctx context.Context, ev *ixopay.Event) error {
					// A real merchant updates the order here: mark it paid
					// for a DEBIT OK, failed for an ERROR, and so on.
					p := ev.Payload
					return env.Events.Record(ixopay.Provider, ev.Key, ev.Name, map[string]any{
						"merchantTransactionId": p.MerchantTransactionID,
						"amount":                p.Amount.String(),
						"currency":              p.Currency,
					})
				})
			if err != nil {
				return fmt.Errorf("-ixopay-secret: %w", err)
			}
			mux.Handle("POST /callbacks/ixopay", h) // any query string: it is signed
			return nil
		}
	})
}

// ixopayCurl returns shell commands that sign a callback as IXOPAY does,
// with openssl, and post it with curl.
func ixopayCurl(baseURL, secret string) string {
	return `  body='{"result":"OK","uuid":"a1b2c3d4e5f6a7b8c9d0","merchantTransactionId":"order-1001","transactionType":"DEBIT","amount":"9.99","currency":"EUR"}'
  uri='/callbacks/ixopay?shop=42'; ct='application/json; charset=utf-8'; date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
  sig=$(printf 'POST\n%s\n%s\n%s\n%s' "$(printf %s "$body" | openssl dgst -sha512 -r | cut -d' ' -f1)" "$ct" "$date" "$uri" | openssl dgst -sha512 -mac HMAC -macopt 'key:` + secret + `' -binary | openssl base64 -A)
  curl -i -X POST "` + baseURL + `$uri" -H "Content-Type: $ct" -H "Date: $date" -H "X-Signature: $sig" --data-binary "$body"
`
}
