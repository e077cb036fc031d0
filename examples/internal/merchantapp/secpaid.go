package merchantapp

import (
	"context"
	"flag"
	"fmt"
	"net/http"

	"github.com/paycallback/paycallback/callback/secpaid"
)

func init() {
	register("secpaid", func(fs *flag.FlagSet) mountFunc {
		var users multiFlag
		fs.Var(&users, "secpaid-user-id", "a SecPaid user `ID` whose payments this merchant receives (repeatable; SecPaid is off without one)")
		token := fs.String("secpaid-token", "", "SecPaid API `TOKEN`, used to confirm every payment before it is processed (required with -secpaid-user-id)")
		api := fs.String("secpaid-api", secpaid.DefaultBaseURL, "SecPaid API base `URL`")
		successURL := fs.String("secpaid-success-url", "/order/thanks", "where a confirmed browser return is redirected (`URL`)")
		cancelURL := fs.String("secpaid-cancel-url", "/cart", "where a cancelled browser return is redirected (`URL`)")
		pendingURL := fs.String("secpaid-pending-url", "/order/processing", "where a not (yet) confirmed browser return is redirected (`URL`)")
		key := fs.String("secpaid-key", "", "the account's 32-character Payment Endpoint encryption `KEY`, if it encrypts")
		return func(mux *http.ServeMux, env *Env) error {
			if len(users) == 0 {
				return nil
			}
			h, err := secpaid.New(secpaid.Config{
				UserIDs:       users,
				Token:         *token,
				BaseURL:       *api,
				EncryptionKey: *key,
				SuccessURL:    *successURL,
				CancelURL:     *cancelURL,
				PendingURL:    *pendingURL,
				Store:         env.Store,
				Logger:        env.Logger,
			}, func(ctx context.Context, ev *secpaid.Event) error {
				// Reached only once SecPaid's API confirmed the payment;
				// the amount is the confirmed one.
				return env.Events.Record(secpaid.Provider, ev.Key, ev.Name, map[string]any{
					"pay_id": ev.Payload.PayID, "amount": ev.Payload.Amount.String(), "source": string(ev.Payload.Source),
				})
			})
			if err != nil {
				return fmt.Errorf("secpaid: %w", err)
			}
			mux.Handle("GET /callbacks/secpaid/return", h.Return)
			mux.Handle("POST /callbacks/secpaid", h.Endpoint)
			fmt.Fprintf(env.Notes, "secpaid: set callback_url to %s/callbacks/secpaid/return and the Payment Endpoint to %s/callbacks/secpaid\n", env.BaseURL, env.BaseURL)
			return nil
		}
	})
}
