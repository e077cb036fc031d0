// Package simulateapp is the program behind examples/simulate: it sends a
// payment provider's callback to a merchant's URL the way the provider
// would, on the provider's redelivery schedule, and prints every attempt
// with its reply.
package simulateapp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/retry"
)

// Exit codes.
const (
	ExitAcknowledged = 0 // an acknowledgement reached the provider
	ExitExhausted    = 1 // the schedule ran out (or the run was interrupted)
	ExitUsage        = 2 // bad flags or files
)

// chipTestPublicKeyFile is where the bundled test key's public half lives,
// relative to the module's root, for the printed hint.
const chipTestPublicKeyFile = "callback/callbacktest/testdata/chip/test_key.pub.pem"

var providers = []string{"avarda", "chip", "ixopay", "secpaid"}

type options struct {
	provider, url, event, id string
	keyFile, secret, auth    string
	secpaidUser, secpaidKey  string
	amount                   string
	loseAcks, speed          float64
	loseFirst, duplicates    int
	seed                     uint64
	seedSet                  bool
	timeout                  time.Duration
}

// Run runs the program with args (without the program's name), printing
// attempts to stdout and problems to stderr, and returns its exit code.
// ctx ends the run early (SIGINT).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitAcknowledged
	}
	if err != nil {
		fmt.Fprintln(stderr, "simulate:", err)
		return ExitUsage
	}
	sim, what, err := o.simulation(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "simulate:", err)
		return ExitUsage
	}
	total := sim.Policy.Attempts()
	fmt.Fprintf(stdout, "%s: %s to %s, %d attempts over %v (speed %s), seed %d\n",
		sim.Policy.Name, what, o.url, total, sim.Policy.Horizon(), speedText(o.speed), o.seed)
	sim.OnAttempt = func(copies []retry.Attempt) {
		for _, a := range copies {
			fmt.Fprintf(stdout, "attempt %d/%d %s\n", a.Attempt, total, strings.TrimPrefix(a.String(), fmt.Sprintf("attempt %d ", a.Attempt)))
		}
	}
	res, err := retry.Simulate(ctx, sim)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "acknowledged at attempt %d (+%v); %d acknowledgements lost on the way\n",
			res.AckedAttempt, sim.Policy.At(res.AckedAttempt), res.Lost())
		return ExitAcknowledged
	case errors.Is(err, retry.ErrNotAcknowledged):
		fmt.Fprintf(stdout, "not acknowledged: %v; %s gives up (%d acknowledgements lost on the way)\n", err, o.provider, res.Lost())
		return ExitExhausted
	case res != nil:
		fmt.Fprintf(stdout, "stopped after %d attempts: %v\n", len(res.Attempts), err)
		return ExitExhausted
	default:
		fmt.Fprintln(stderr, "simulate:", err)
		return ExitUsage
	}
}

func speedText(s float64) string {
	if s == 0 {
		return "0: no waiting"
	}
	return fmt.Sprintf("%gx", s)
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: simulate -provider %s [flags]\n\n", strings.Join(providers, "|"))
		fmt.Fprintf(stderr, "Sends a provider's callback to -url as the provider would, redelivering it on the\n")
		fmt.Fprintf(stderr, "provider's schedule until a reply acknowledges it. Exit status: 0 acknowledged,\n")
		fmt.Fprintf(stderr, "1 the schedule ran out, 2 bad usage.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.provider, "provider", "", "the `provider`: "+strings.Join(providers, ", "))
	fs.StringVar(&o.url, "url", "", "the merchant's callback `URL` (default http://127.0.0.1:8080/callbacks/PROVIDER, the example merchant's)")
	fs.StringVar(&o.event, "event", "", "the fixture's event: a CHIP event type (default purchase.paid), an IXOPAY transactionType.result (default debit.ok), Avarda's purchase.completed, SecPaid's success or cancel")
	fs.StringVar(&o.id, "id", "", "the event's `id`: CHIP purchase id, IXOPAY uuid, Avarda purchaseId, SecPaid pay_id (default: a fresh unique one)")
	fs.StringVar(&o.keyFile, "key", "", "CHIP: the PEM `FILE` of the private key to sign with (default: callbacktest's TEST key)")
	fs.StringVar(&o.secret, "secret", "", "IXOPAY: the shared `secret` to sign with (required)")
	fs.StringVar(&o.auth, "auth", "", "Avarda: the Authorization header `value`, e.g. \"Bearer ...\"")
	fs.StringVar(&o.secpaidUser, "secpaid-user-id", callbacktest.SecPaidTestUserID, "SecPaid: the creator's user `id`")
	fs.StringVar(&o.secpaidKey, "secpaid-key", "", "SecPaid: the account's 32-character encryption `key`; when set, the body is encrypted")
	fs.StringVar(&o.amount, "amount", "49.99", "SecPaid: the `amount` the notification reports")
	fs.Float64Var(&o.loseAcks, "lose-acks", 0, "the share `P` (0 to 1) of acknowledgements lost on the way back: the provider redelivers")
	fs.IntVar(&o.loseFirst, "lose-first", 0, "lose the first `N` acknowledgements, before -lose-acks applies")
	fs.IntVar(&o.duplicates, "duplicates", 0, "`N` extra concurrent copies of every attempt")
	fs.Float64Var(&o.speed, "speed", 0, "time compression `X`: attempt n is sent at its offset / X (100000 plays CHIP's 36 hours in about 1.3 s); 0 sends every attempt at once")
	fs.Func("seed", "the `seed` choosing lost acknowledgements (default: random, printed)", func(s string) error {
		_, err := fmt.Sscan(s, &o.seed)
		o.seedSet = true
		return err
	})
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long each delivery waits for a reply")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(providers, o.provider) {
		return nil, fmt.Errorf("-provider must be one of %s", strings.Join(providers, ", "))
	}
	if o.url == "" {
		o.url = "http://127.0.0.1:8080/callbacks/" + o.provider
	}
	if !o.seedSet {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.seed = binary.LittleEndian.Uint64(b[:])
	}
	return o, nil
}

// simulation builds the provider's Simulation, and says what it sends.
func (o *options) simulation(stderr io.Writer) (retry.Simulation, string, error) {
	var sim retry.Simulation
	var what string
	switch o.provider {
	case "avarda":
		if o.event != "" && o.event != "purchase.completed" {
			return sim, "", fmt.Errorf("-event: Avarda sends only purchase.completed")
		}
		id := o.id
		if id == "" {
			id = callbacktest.NewPurchaseID()
		}
		if o.auth == "" {
			fmt.Fprintln(stderr, "simulate: no -auth: sending no Authorization header (the merchant should refuse it)")
		}
		sim = callbacktest.AvardaSimulation(id, o.auth)
		what = "purchase.completed for purchase " + id
	case "chip":
		event := cmpOr(o.event, "purchase.paid")
		if !slices.Contains(callbacktest.ChipEvents(), event) {
			return sim, "", fmt.Errorf("-event: no CHIP fixture %q; have %s", event, strings.Join(callbacktest.ChipEvents(), ", "))
		}
		var key *rsa.PrivateKey
		if o.keyFile != "" {
			k, err := readKey(o.keyFile)
			if err != nil {
				return sim, "", fmt.Errorf("-key: %w", err)
			}
			key = k
		} else {
			fmt.Fprintf(stderr, "simulate: no -key: signing with callbacktest's TEST key; start the merchant with -chip-public-key %s\n", chipTestPublicKeyFile)
		}
		body, id, err := withID(callbacktest.ChipEvent(event), "id", o.id)
		if err != nil {
			return sim, "", err
		}
		sim = callbacktest.ChipSimulation(body, key)
		what = event + " for " + id
	case "ixopay":
		event := cmpOr(o.event, "debit.ok")
		if !slices.Contains(callbacktest.IXOPAYEvents(), event) {
			return sim, "", fmt.Errorf("-event: no IXOPAY fixture %q; have %s", event, strings.Join(callbacktest.IXOPAYEvents(), ", "))
		}
		if o.secret == "" {
			return sim, "", errors.New("-secret is required for IXOPAY: the merchant's shared secret")
		}
		body, id, err := withID(callbacktest.IXOPAYEvent(event), "uuid", o.id)
		if err != nil {
			return sim, "", err
		}
		sim = callbacktest.IXOPAYSimulation(body, o.secret)
		what = event + " for transaction " + id
	case "secpaid":
		status := map[string]string{"": "Success", "success": "Success", "cancel": "cancel"}[o.event]
		if status == "" {
			return sim, "", fmt.Errorf("-event: SecPaid sends success or cancel, not %q", o.event)
		}
		n := callbacktest.SecPaidNotification{PayID: cmpOr(o.id, callbacktest.NewSecPaidPayID()), Amount: o.amount, UserID: o.secpaidUser, Status: status}
		enc := callbacktest.SecPaidNested
		if o.secpaidKey != "" {
			if len(o.secpaidKey) != 32 {
				return sim, "", fmt.Errorf("-secpaid-key is %d bytes, want 32", len(o.secpaidKey))
			}
			enc = callbacktest.SecPaidEncrypted
		}
		sim = callbacktest.SecPaidSimulation(n, enc, o.secpaidKey)
		what = "Payment Endpoint " + strings.ToLower(status) + " for pay_id " + n.PayID + " (schedule assumed: SecPaid documents none)"
	}
	if !(o.loseAcks >= 0 && o.loseAcks <= 1) || o.loseFirst < 0 || o.duplicates < 0 || !(o.speed >= 0) {
		return sim, "", errors.New("-lose-acks must be within 0..1; -lose-first, -duplicates and -speed must not be negative")
	}
	// The merchant's server knows only the real clock: stamp every
	// attempt (IXOPAY's signed Date) with the time it is sent.
	build := sim.Request
	sim.Request = func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
		d.At = time.Now()
		return build(ctx, d)
	}
	sim.URL, sim.Client = o.url, &http.Client{Timeout: o.timeout}
	sim.LoseAcks, sim.LoseFirst, sim.Duplicates, sim.Speed, sim.Seed = o.loseAcks, o.loseFirst, o.duplicates, o.speed, o.seed
	return sim, what, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// withID returns body with its top-level string field set to id (left
// as it is when id is empty), and the id.
func withID(body []byte, field, id string) ([]byte, string, error) {
	var top map[string]json.RawMessage
	var old string
	if err := json.Unmarshal(body, &top); err != nil || json.Unmarshal(top[field], &old) != nil {
		return nil, "", fmt.Errorf("fixture has no %q", field)
	}
	if id == "" {
		return body, old, nil
	}
	if strings.ContainsAny(id, "\"\\") {
		return nil, "", fmt.Errorf("-id %q has a quote or backslash", id)
	}
	return []byte(strings.ReplaceAll(string(body), old, id)), id, nil
}

// readKey reads an RSA private key from a PEM file: PKCS#8 ("PRIVATE
// KEY") or PKCS#1 ("RSA PRIVATE KEY").
func readKey(name string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s: no PRIVATE KEY or RSA PRIVATE KEY PEM block", name)
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, err
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: a %T, not an RSA key", name, k)
			}
			return rk, nil
		}
	}
}
