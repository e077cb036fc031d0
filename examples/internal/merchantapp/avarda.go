package merchantapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"

	"github.com/paycallback/paycallback/callback/avarda"
	"github.com/paycallback/paycallback/verify"
)

func init() {
	register("avarda", func(fs *flag.FlagSet) mountFunc {
		var auth multiFlag
		api := fs.String("avarda-api", "", "Avarda's API base `URL` (e.g. "+avarda.StageBaseURL+"); with the client credentials, callbacks are confirmed with it before they are processed")
		clientID := fs.String("avarda-client-id", "", "Avarda partner client `ID`, for -avarda-api")
		clientSecret := fs.String("avarda-client-secret", "", "Avarda partner client `SECRET`, for -avarda-api")
		fs.Var(&auth, "avarda-auth", "an accepted Authorization header `VALUE` for Avarda callbacks, e.g. \"Bearer …\" (repeatable, for rotation; default: a random token, printed)")
		return func(mux *http.ServeMux, env *Env) error {
			if len(auth) == 0 {
				// Never accept unauthenticated callbacks: make a token up
				// and say how to use it.
				var b [24]byte
				_, _ = rand.Read(b[:])
				value := "Bearer " + base64.RawURLEncoding.EncodeToString(b[:])
				auth = append(auth, value)
				fmt.Fprintf(env.Notes, "avarda: no -avarda-auth given; accepting the generated header %q\n", value)
				fmt.Fprintf(env.Notes, "avarda: try it (processed once, however often it is sent):\n  curl -i -X POST %s/callbacks/avarda -H 'Authorization: %s' -H 'Content-Type: application/json' -d '{\"purchaseId\":\"489ea341e23941089e6d0378c708512a\"}'\n", env.BaseURL, value)
			}
			v, err := verify.NewAuthorization(verify.AuthorizationConfig{Exact: auth})
			if err != nil {
				return fmt.Errorf("-avarda-auth: %w", err)
			}
			cfg := avarda.Config{Verifier: v, Store: env.Store, Logger: env.Logger}
			if *api != "" || *clientID != "" || *clientSecret != "" {
				c, err := avarda.NewConfirmer(avarda.ConfirmerConfig{BaseURL: *api, ClientID: *clientID, ClientSecret: *clientSecret})
				if err != nil {
					return fmt.Errorf("-avarda-api: %w", err)
				}
				cfg.Confirm = c.Confirm
			} else {
				fmt.Fprintln(env.Notes, "avarda: callbacks are NOT confirmed with Avarda's API (no -avarda-api): fine for a demo, not for shipping goods")
			}
			h, err := avarda.New(cfg,
				func(ctx context.Context, ev *avarda.Event) error {
					// Confirmed with Avarda's API when -avarda-api is set; a
					// real merchant marks the order paid here.
					return env.Events.Record(avarda.Provider, ev.Key, ev.Name, nil)
				})
			if err != nil {
				return err
			}
			mux.Handle("POST /callbacks/avarda", h)
			return nil
		}
	})
}
