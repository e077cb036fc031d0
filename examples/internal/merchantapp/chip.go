package merchantapp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/paycallback/paycallback/callback/chip"
)

func init() {
	register("chip", func(fs *flag.FlagSet) mountFunc {
		var keyFiles multiFlag
		fs.Var(&keyFiles, "chip-public-key", "a PEM `FILE` with a CHIP public key: the company key from /public_key/ or a webhook's key (repeatable; default: a generated key pair, printed)")
		return func(mux *http.ServeMux, env *Env) error {
			var keys []string
			for _, name := range keyFiles {
				b, err := os.ReadFile(name)
				if err != nil {
					return fmt.Errorf("-chip-public-key: %w", err)
				}
				keys = append(keys, string(b))
			}
			if len(keys) == 0 {
				// Never accept unsigned callbacks: make a key pair up,
				// accept its public half and print how to sign with the
				// private half.
				pub, script, err := chipDemoKey(env.BaseURL)
				if err != nil {
					return err
				}
				keys = append(keys, pub)
				fmt.Fprintf(env.Notes, "chip: no -chip-public-key given; accepting callbacks signed with a generated key pair (for trying only)\n")
				fmt.Fprintf(env.Notes, "chip: try it (processed once, however often it is sent; needs openssl):\n%s", script)
			}
			router := &chip.Router{
				// Every other event: a real merchant would at least log
				// it; here it is recorded like the rest.
				Fallback: func(ctx context.Context, ev *chip.Event) error {
					return env.Events.Record(chip.Provider, ev.Key, ev.Name, nil)
				},
			}
			router.On(chip.PurchasePaid, func(ctx context.Context, ev *chip.Event) error {
				// A real merchant marks the order (p.Reference) paid here.
				p := ev.Payload.Purchase
				fields := map[string]any{"reference": p.Reference, "status": string(p.Status)}
				if p.Payment != nil {
					fields["amount"], fields["currency"] = p.Payment.Amount, p.Payment.Currency
				}
				return env.Events.Record(chip.Provider, ev.Key, ev.Name, fields)
			})
			h, err := chip.New(chip.Config{PublicKeys: keys, Store: env.Store, Logger: env.Logger}, router.Handle)
			if err != nil {
				return fmt.Errorf("-chip-public-key: %w", err)
			}
			mux.Handle("POST /callbacks/chip", h)
			return nil
		}
	})
}

// chipDemoBody is a short purchase.paid callback for the printed commands.
const chipDemoBody = `{"id":"3f2a1c02-4f1c-4a7e-9b3d-5e6d7c8b9a02","type":"purchase","event_type":"purchase.paid","status":"paid","updated_on":1745841780,"reference":"order-10042","purchase":{"total":12990,"currency":"MYR"},"payment":{"amount":12990,"currency":"MYR","paid_on":1745841780}}`

// chipDemoKey generates an RSA-2048 key pair and returns its public half
// as PEM, and shell commands that write the private half to a file, sign
// a callback with openssl as CHIP does and post it with curl.
func chipDemoKey(baseURL string) (pub, script string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", err
	}
	priv := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "\n", `\n`)
	pub = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	script = `  printf '%b' '` + priv + `' > chip-demo-key.pem
  body='` + chipDemoBody + `'
  sig=$(printf %s "$body" | openssl dgst -sha256 -sign chip-demo-key.pem -binary | openssl base64 -A)
  curl -i -X POST ` + baseURL + `/callbacks/chip -H 'Content-Type: application/json' -H "X-Signature: $sig" --data-binary "$body"
`
	return pub, script, nil
}
