package callbacktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// Redelivery simulations: each XxxSimulation returns a retry.Simulation
// with the provider's Policy, Request and Ack filled in; set Handler (or
// URL), LoseAcks or LoseFirst, Duplicates and Clock, and run it with
// retry.Simulate. Wrap the merchant's function with Record to see what it
// did:
//
//	runs := callbacktest.Record(markPaid)
//	h, _ := chip.New(chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()}}, runs.Func)
//	runs.FailNext(1) // the first run fails: database down
//	sim := callbacktest.ChipSimulation(callbacktest.ChipEvent("purchase.paid"), nil)
//	sim.Handler, sim.LoseAcks, sim.Duplicates = h, 0.5, 2
//	_, err := retry.Simulate(ctx, sim) // nil: CHIP got an ack in the end
//	err = runs.ExactlyOnce()           // nil: one successful run per event

// ChipEvent returns ChipFixture(eventType) with a fresh, random id in
// place of the fixture's, everywhere it appears (the checkout URL
// included): a new event, with a dedup key no other call returns. It
// panics like ChipFixture for an unknown event type.
func ChipEvent(eventType string) []byte {
	return freshID(ChipFixture(eventType), "id", newUUID())
}

// IXOPAYEvent returns IXOPAYFixture(name) with a fresh, random uuid in
// place of the fixture's: a new transaction result, with a dedup key no
// other call returns. It panics like IXOPAYFixture for an unknown name.
func IXOPAYEvent(name string) []byte {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return freshID(IXOPAYFixture(name), "uuid", hex.EncodeToString(b[:]))
}

// NewSecPaidPayID returns a random pay_id in SecPaid's format: digits, 9
// of them, never starting with 0.
func NewSecPaidPayID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(900_000_000))
	return n.Add(n, big.NewInt(100_000_000)).String()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// freshID replaces the top-level string field's value by id, everywhere
// the old value appears in body, keeping every other byte as it was.
func freshID(body []byte, field, id string) []byte {
	var top map[string]json.RawMessage
	var old string
	if err := json.Unmarshal(body, &top); err != nil || json.Unmarshal(top[field], &old) != nil || old == "" {
		panic(fmt.Sprintf("callbacktest: fixture has no string %q", field))
	}
	return bytes.ReplaceAll(body, []byte(old), []byte(id))
}

// post builds a client-style POST of body to d.URL: Simulate sends it
// through a Client, or serves it to a Handler with RequestURI set.
func post(ctx context.Context, d retry.Delivery, body []byte, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return req, nil
}

// AvardaSimulation returns Avarda Checkout 3.0 delivering its
// purchase-completed callback for purchaseID (a fresh NewPurchaseID when
// empty) with the Authorization header value authorization (none when
// empty), every 10 minutes, 20 retries (retry.Avarda), acknowledged by
// any 2xx.
func AvardaSimulation(purchaseID, authorization string) retry.Simulation {
	if purchaseID == "" {
		purchaseID = NewPurchaseID()
	}
	body := AvardaBody(purchaseID)
	return retry.Simulation{
		Policy: retry.Avarda,
		Ack:    retry.Ack2xx,
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			req, err := post(ctx, d, body, "application/json")
			if err == nil && authorization != "" {
				req.Header.Set("Authorization", authorization)
			}
			return req, err
		},
	}
}

// ChipSimulation returns CHIP delivering body (ChipEvent's, typically)
// signed with key (nil means ChipTestKey) on its schedule: 8 attempts
// over 36 h 26 min (retry.CHIP), acknowledged by any 2xx. Every delivery
// carries the same body and signature, as CHIP's do.
func ChipSimulation(body []byte, key *rsa.PrivateKey) retry.Simulation {
	body = bytes.Clone(body)
	sig := SignChip(body, key)
	return retry.Simulation{
		Policy: retry.CHIP,
		Ack:    retry.Ack2xx,
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			req, err := post(ctx, d, body, "application/json")
			if err == nil {
				req.Header.Set("X-Signature", sig)
			}
			return req, err
		},
	}
}

// IXOPAYSimulation returns IXOPAY delivering body (IXOPAYEvent's,
// typically) signed with secret on its schedule: retries after 1 min,
// 5 min, 15 min, 1 h, 2 h, 3 h, 12 h, then daily for 7 days
// (retry.IXOPAY), acknowledged only by 200 with the body exactly "OK".
// Each attempt is signed afresh with its own Date, the attempt's time on
// the simulation's clock (retry.Delivery.At): configure the handler's Now
// with the simulation's Clock, or its freshness check sees dates days
// ahead of the real clock.
func IXOPAYSimulation(body []byte, secret string) retry.Simulation {
	body = bytes.Clone(body)
	return retry.Simulation{
		Policy: retry.IXOPAY,
		Ack:    retry.AckExact(http.StatusOK, "OK"),
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			req, err := post(ctx, d, body, IXOPAYContentType)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Date", d.At.UTC().Format(http.TimeFormat))
			SignIXOPAY(req, body, secret, verify.HMACSHA512)
			return req, nil
		},
	}
}

// SecPaidPolicy is the redelivery schedule SecPaidSimulation assumes for
// the Payment Endpoint: SecPaid documents none, so this one (the first
// delivery, then retries after 1 min, 10 min, 1 h, 6 h and 24 h) is an
// assumption for tests, not a fact about SecPaid. Replace the
// Simulation's Policy to test another.
var SecPaidPolicy = retry.Policy{Name: "secpaid (assumed)", Offsets: []time.Duration{
	0, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}}

// SecPaidSimulation returns SecPaid's Payment Endpoint posting n, encoded
// as e (key is the account's encryption key, for the encrypted
// encodings), on SecPaidPolicy, acknowledged by any 2xx. The merchant's
// handler confirms payments with SecPaid's API: point it at a
// NewSecPaidAPI fake that lists n.PayID as paid.
func SecPaidSimulation(n SecPaidNotification, e SecPaidEncoding, key string) retry.Simulation {
	body, ct := SecPaidBody(n, e, key)
	return retry.Simulation{
		Policy: SecPaidPolicy,
		Ack:    retry.Ack2xx,
		Request: func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
			req, err := post(ctx, d, body, ct)
			if err == nil {
				req.Header.Set("Accept", "application/json")
			}
			return req, err
		},
	}
}

// ErrInjected is what a Recorder's function returns for a failure
// FailNext asked for.
var ErrInjected = errors.New("callbacktest: injected failure")

// A Recorder wraps a merchant's function and records what it saw: how
// often it ran for each event (dedup key), how often it failed, and
// whether two runs of one event ever overlapped. It can make the next
// runs fail, as a database outage would. Make one with Record; it is safe
// for concurrent use.
type Recorder[T any] struct {
	fn callback.Func[T]

	mu       sync.Mutex
	failNext int
	running  map[string]int
	calls    map[string]int
	runs     map[string]int
	overlaps []string
}

// Record returns a Recorder around fn (nil: a function that does
// nothing). Pass its Func method to the provider's New:
//
//	runs := callbacktest.Record(markPaid)
//	h, err := avarda.New(cfg, runs.Func)
func Record[T any](fn callback.Func[T]) *Recorder[T] {
	return &Recorder[T]{fn: fn, running: map[string]int{}, calls: map[string]int{}, runs: map[string]int{}}
}

// Func is the wrapped function: it counts the call, fails with
// ErrInjected if FailNext asked for it (without calling the merchant's
// function), else calls it and counts a success when it returns nil.
func (r *Recorder[T]) Func(ctx context.Context, ev *callback.Event[T]) error {
	r.mu.Lock()
	r.calls[ev.Key]++
	if r.running[ev.Key] > 0 {
		r.overlaps = append(r.overlaps, ev.Key)
	}
	r.running[ev.Key]++
	fail := r.failNext > 0
	if fail {
		r.failNext--
	}
	r.mu.Unlock()

	var err error
	if fail {
		err = fmt.Errorf("%w (run %q)", ErrInjected, ev.Key)
	} else if r.fn != nil {
		err = r.fn(ctx, ev)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.running[ev.Key]--
	if err == nil {
		r.runs[ev.Key]++
	}
	return err
}

// FailNext makes the next n calls fail with ErrInjected, as if the
// merchant's database were down: the handler must release the event so
// that the provider's retry runs it again.
func (r *Recorder[T]) FailNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext = n
}

// Runs returns, per dedup key, how many calls succeeded.
func (r *Recorder[T]) Runs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.runs)
}

// Calls returns, per dedup key, how many calls were made, failed ones
// included.
func (r *Recorder[T]) Calls() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

// ExactlyOnce returns nil when at least one event was seen, every event
// seen succeeded exactly once, and no two calls for one event ever ran at
// the same time; otherwise an error saying what went wrong for which key.
func (r *Recorder[T]) ExactlyOnce() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return errors.New("callbacktest: the merchant's function never ran")
	}
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(r.calls)) {
		if n := r.runs[key]; n != 1 {
			problems = append(problems, fmt.Sprintf("%q succeeded %d times in %d calls", key, n, r.calls[key]))
		}
	}
	for _, key := range r.overlaps {
		problems = append(problems, fmt.Sprintf("%q ran concurrently with itself", key))
	}
	if len(problems) > 0 {
		return errors.New("callbacktest: not exactly once: " + strings.Join(problems, "; "))
	}
	return nil
}
