package callbacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

func topString(t *testing.T, body []byte, field string) string {
	t.Helper()
	var top map[string]any
	require.NoError(t, json.Unmarshal(body, &top))
	s, ok := top[field].(string)
	require.True(t, ok, "%s is not a string", field)
	return s
}

func TestChipEventHasAFreshID(t *testing.T) {
	for _, event := range callbacktest.ChipEvents() {
		t.Run(event, func(t *testing.T) {
			fixture := callbacktest.ChipFixture(event)
			a, b := callbacktest.ChipEvent(event), callbacktest.ChipEvent(event)
			oldID, idA, idB := topString(t, fixture, "id"), topString(t, a, "id"), topString(t, b, "id")
			require.NotEqual(t, idA, idB)
			require.NotEqual(t, oldID, idA)
			require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, idA)
			// Nothing but the id changed.
			require.Equal(t, string(fixture), strings.ReplaceAll(string(a), idA, oldID))
			require.NotContains(t, string(a), oldID)
			c, err := chip.Decode(a)
			require.NoError(t, err)
			require.Equal(t, idA, c.ID)
			require.Equal(t, chip.EventType(event), c.EventType)
		})
	}
}

func TestIXOPAYEventHasAFreshUUID(t *testing.T) {
	for _, name := range callbacktest.IXOPAYEvents() {
		t.Run(name, func(t *testing.T) {
			fixture := callbacktest.IXOPAYFixture(name)
			a, b := callbacktest.IXOPAYEvent(name), callbacktest.IXOPAYEvent(name)
			oldID, idA, idB := topString(t, fixture, "uuid"), topString(t, a, "uuid"), topString(t, b, "uuid")
			require.NotEqual(t, idA, idB)
			require.Regexp(t, `^[0-9a-f]{20}$`, idA)
			require.Equal(t, string(fixture), strings.ReplaceAll(string(a), idA, oldID))
		})
	}
}

func TestNewSecPaidPayID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := callbacktest.NewSecPaidPayID()
		require.Regexp(t, `^[1-9][0-9]{8}$`, id)
		seen[id] = true
	}
	require.Greater(t, len(seen), 95)
}

// capture is a handler that keeps every request it is served.
type capture struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs, c.bodies = append(c.reqs, r), append(c.bodies, b)
	c.mu.Unlock()
	http.Error(w, "not yet", http.StatusServiceUnavailable)
}

// playAll plays every attempt of sim against a handler that never
// acknowledges, and returns what it was served.
func playAll(t *testing.T, sim retry.Simulation, clock *retry.Clock) *capture {
	t.Helper()
	c := &capture{}
	sim.Handler, sim.URL, sim.Clock = c, "/callbacks/x?shop=1", clock
	res, err := retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, c.reqs, sim.Policy.Attempts())
	require.Len(t, res.Attempts, sim.Policy.Attempts())
	for _, r := range c.reqs {
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "/callbacks/x?shop=1", r.RequestURI)
	}
	return c
}

func TestAvardaSimulationRequests(t *testing.T) {
	sim := callbacktest.AvardaSimulation("", "Bearer t0k3n")
	require.Equal(t, retry.Avarda.Offsets, sim.Policy.Offsets)
	c := playAll(t, sim, nil)
	id := topString(t, c.bodies[0], "purchaseId")
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	for i, r := range c.reqs {
		require.Equal(t, "Bearer t0k3n", r.Header.Get("Authorization"))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, callbacktest.AvardaBody(id), c.bodies[i], "every attempt posts the same purchase")
	}

	c = playAll(t, callbacktest.AvardaSimulation("489ea341e23941089e6d0378c708512a", ""), nil)
	require.Equal(t, callbacktest.AvardaBody("489ea341e23941089e6d0378c708512a"), c.bodies[0])
	_, ok := c.reqs[0].Header["Authorization"]
	require.False(t, ok)
}

func TestChipSimulationRequestsVerify(t *testing.T) {
	v, err := verify.NewRSA(verify.RSAConfig{Keys: []string{callbacktest.ChipTestPublicKeyPEM()}})
	require.NoError(t, err)
	body := callbacktest.ChipEvent("purchase.paid")
	sim := callbacktest.ChipSimulation(body, nil)
	require.Equal(t, retry.CHIP.Offsets, sim.Policy.Offsets)
	body[0] = 'X' // the simulation keeps its own copy
	c := playAll(t, sim, nil)
	for i, r := range c.reqs {
		require.NoError(t, v.Verify(t.Context(), verify.FromHTTP(r, c.bodies[i])), "attempt %d", i+1)
		require.Equal(t, byte('{'), c.bodies[i][0])
	}
}

func TestIXOPAYSimulationSignsEachAttemptAtItsTime(t *testing.T) {
	start := time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)
	clock := retry.NewClock(start)
	v, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{"s3cret"}, Now: clock.Now, MaxSkew: time.Second})
	require.NoError(t, err)
	sim := callbacktest.IXOPAYSimulation(callbacktest.IXOPAYEvent("debit.ok"), "s3cret")
	require.Equal(t, retry.IXOPAY.Offsets, sim.Policy.Offsets)
	require.True(t, sim.Ack(200, []byte("OK")))
	require.False(t, sim.Ack(200, []byte("OK\n")))

	// The verifier runs on the simulation's clock: every attempt must
	// verify at the time it is sent, with a Date of that time.
	var dates []string
	var verr []error
	sim.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		dates = append(dates, r.Header.Get("Date"))
		verr = append(verr, v.Verify(r.Context(), verify.FromHTTP(r, b)))
		http.Error(w, "no", http.StatusServiceUnavailable)
	})
	sim.URL, sim.Clock, sim.Start = "/callbacks/ixopay?shop=1", clock, start
	_, err = retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, dates, retry.IXOPAY.Attempts())
	for i := range dates {
		require.Equal(t, start.Add(retry.IXOPAY.At(i+1)).Format(http.TimeFormat), dates[i])
		require.NoError(t, verr[i], "attempt %d", i+1)
	}
}

func TestSecPaidSimulationRequests(t *testing.T) {
	for _, e := range callbacktest.SecPaidEncodings {
		t.Run(e.String(), func(t *testing.T) {
			n := callbacktest.SecPaidNotification{PayID: callbacktest.NewSecPaidPayID(), Amount: "49.99", UserID: callbacktest.SecPaidTestUserID, Status: "Success"}
			sim := callbacktest.SecPaidSimulation(n, e, callbacktest.SecPaidTestKey)
			require.Equal(t, callbacktest.SecPaidPolicy.Offsets, sim.Policy.Offsets)
			c := playAll(t, sim, nil)
			want, ct := callbacktest.SecPaidBody(n, e, callbacktest.SecPaidTestKey)
			for i, r := range c.reqs {
				require.Equal(t, ct, r.Header.Get("Content-Type"))
				require.Equal(t, want, c.bodies[i])
			}
		})
	}
}

type order struct{ ID string }

func event(key string) *callback.Event[order] { return &callback.Event[order]{Key: key} }

func TestRecorder(t *testing.T) {
	var seen []string
	runs := callbacktest.Record(func(ctx context.Context, ev *callback.Event[order]) error {
		seen = append(seen, ev.Key)
		if ev.Key == "bad" {
			return errors.New("bad")
		}
		return nil
	})
	err := runs.ExactlyOnce()
	require.ErrorContains(t, err, "never ran")

	runs.FailNext(2)
	require.ErrorIs(t, runs.Func(t.Context(), event("a")), callbacktest.ErrInjected)
	require.ErrorIs(t, runs.Func(t.Context(), event("a")), callbacktest.ErrInjected)
	require.Empty(t, seen, "an injected failure does not call the merchant's function")
	require.ErrorContains(t, runs.ExactlyOnce(), `"a" succeeded 0 times in 2 calls`)
	require.NoError(t, runs.Func(t.Context(), event("a")))
	require.NoError(t, runs.Func(t.Context(), event("b")))
	require.NoError(t, runs.ExactlyOnce())
	require.Equal(t, map[string]int{"a": 1, "b": 1}, runs.Runs())
	require.Equal(t, map[string]int{"a": 3, "b": 1}, runs.Calls())

	require.Error(t, runs.Func(t.Context(), event("bad")))
	require.NoError(t, runs.Func(t.Context(), event("a")))
	err = runs.ExactlyOnce()
	require.ErrorContains(t, err, `"a" succeeded 2 times in 4 calls`)
	require.ErrorContains(t, err, `"bad" succeeded 0 times in 1 calls`)
	require.Equal(t, []string{"a", "b", "bad", "a"}, seen)

	// The maps returned are copies.
	runs.Runs()["a"] = 1
	require.Equal(t, 2, runs.Runs()["a"])
}

func TestRecorderSeesOverlaps(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	runs := callbacktest.Record(func(ctx context.Context, ev *callback.Event[order]) error {
		if ev.Payload.ID == "first" {
			close(inside)
			<-release
		}
		return nil
	})
	done := make(chan error)
	go func() {
		done <- runs.Func(t.Context(), &callback.Event[order]{Key: "k", Payload: order{ID: "first"}})
	}()
	<-inside
	require.NoError(t, runs.Func(t.Context(), &callback.Event[order]{Key: "k"}))
	close(release)
	require.NoError(t, <-done)
	require.ErrorContains(t, runs.ExactlyOnce(), `"k" ran concurrently with itself`)
}

func TestRecordNil(t *testing.T) {
	runs := callbacktest.Record[order](nil)
	require.NoError(t, runs.Func(t.Context(), event("a")))
	require.NoError(t, runs.ExactlyOnce())
}

// A merchant's test: CHIP's whole schedule against the merchant's
// handler, with half the acknowledgements lost, two concurrent duplicates
// of every attempt, and a database outage during the first run. The
// merchant's function still succeeds exactly once.
func ExampleChipSimulation() {
	markPaid := func(ctx context.Context, ev *chip.Event) error { return nil } // the merchant's
	runs := callbacktest.Record(markPaid)
	h, err := chip.New(chip.Config{PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()}}, runs.Func)
	if err != nil {
		panic(err)
	}
	runs.FailNext(1)

	sim := callbacktest.ChipSimulation(callbacktest.ChipEvent("purchase.paid"), nil)
	sim.Handler, sim.LoseAcks, sim.Duplicates = h, 0.5, 2
	res, err := retry.Simulate(context.Background(), sim)
	fmt.Println("acknowledged:", res.Acknowledged, err)
	fmt.Println("exactly once:", runs.ExactlyOnce())
	// Output:
	// acknowledged: true <nil>
	// exactly once: <nil>
}
