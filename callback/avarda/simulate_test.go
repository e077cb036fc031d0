package avarda_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/avarda"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

var simStart = time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)

// simHandler is an Avarda handler whose dedup store runs on clock, so
// that its TTL is measured against the simulated schedule.
func simHandler(t *testing.T, clock *retry.Clock, runs *callbacktest.Recorder[avarda.Notification], confirm func(context.Context, *avarda.Event) error) http.Handler {
	t.Helper()
	auth, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{"t0k3n"}})
	require.NoError(t, err)
	h, err := avarda.New(avarda.Config{
		Verifier: auth,
		Store:    callback.NewMemoryStore(callback.MemoryConfig{Now: clock.Now}),
		Confirm:  confirm,
	}, runs.Func)
	require.NoError(t, err)
	return h
}

// Avarda's whole schedule, with lost acknowledgements, two concurrent
// duplicates of every attempt and a failing first run: the merchant's
// function succeeds exactly once, and Avarda is acknowledged in the end.
func TestSimulatedRedeliveryRunsOnce(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			clock := retry.NewClock(simStart)
			runs := callbacktest.Record[avarda.Notification](nil)
			runs.FailNext(1)
			sim := callbacktest.AvardaSimulation("", "Bearer t0k3n")
			sim.Handler, sim.Clock, sim.Seed = simHandler(t, clock, runs, nil), clock, seed
			sim.LoseFirst, sim.LoseAcks, sim.Duplicates = 1, 0.5, 2

			res, err := retry.Simulate(t.Context(), sim)
			require.NoError(t, err)
			require.True(t, res.Acknowledged)
			require.NoError(t, runs.ExactlyOnce())
			calls := runs.Calls()
			require.Len(t, calls, 1)
			for _, n := range calls {
				require.Equal(t, 2, n, "the failed run, then the one that succeeded")
			}
			require.GreaterOrEqual(t, res.Lost(), 1)
			statuses := res.Statuses()
			require.Contains(t, statuses, 500, "the failed first run")
			for _, s := range statuses {
				require.Contains(t, []int{200, 409, 500}, s, "statuses %v", statuses)
			}
		})
	}
}

// Every acknowledgement is lost, so Avarda delivers all 21 attempts over
// 3 h 20 min, three copies each: the dedup store (on the simulated clock)
// still remembers the purchase at the last one.
func TestSimulatedFullScheduleEveryAckLost(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[avarda.Notification](nil)
	sim := callbacktest.AvardaSimulation("", "Bearer t0k3n")
	sim.Handler, sim.Clock, sim.LoseAcks, sim.Duplicates = simHandler(t, clock, runs, nil), clock, 1, 2

	res, err := retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, res.Attempts, 3*retry.Avarda.Attempts())
	require.Equal(t, simStart.Add(retry.Avarda.Horizon()), clock.Now())
	require.NoError(t, runs.ExactlyOnce())
	last := res.Attempts[len(res.Attempts)-3:]
	for _, a := range last {
		require.Equal(t, 200, a.Status, "the last attempt is a duplicate, answered with the ack: %v", a)
	}
}

// Avarda's API does not say Completed until after the second attempt:
// those attempts get 503 without running the merchant's function, the
// third is confirmed and processed once.
func TestSimulatedUnconfirmedUntilCompleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake()
		c := newConfirmer(t, "http://avarda.test", &http.Client{Transport: handlerTransport{fake}}, nil)
		clock := retry.NewClock(simStart)
		runs := callbacktest.Record[avarda.Notification](nil)
		id := callbacktest.NewPurchaseID()
		fake.setStep(id, "EnterAddress")

		sim := callbacktest.AvardaSimulation(id, "Bearer t0k3n")
		sim.Handler, sim.Clock, sim.Duplicates = simHandler(t, clock, runs, c.Confirm), clock, 1
		sim.OnAttempt = func(copies []retry.Attempt) {
			if copies[0].Attempt == 2 {
				fake.setStep(id, avarda.StepCompleted)
			}
		}
		res, err := retry.Simulate(t.Context(), sim)
		require.NoError(t, err)
		require.Equal(t, 3, res.AckedAttempt)
		require.NoError(t, runs.ExactlyOnce())
		require.Equal(t, map[string]int{id: 1}, runs.Calls(), "never called before the API confirmed")
		for _, s := range res.Statuses()[:4] {
			require.Contains(t, []int{503, 409}, s, "unconfirmed, or its concurrent copy in flight: %v", res.Statuses())
		}
		require.Contains(t, res.Statuses()[:2], 503)
		require.Contains(t, res.Statuses()[2:4], 503)
		require.True(t, slices.Contains(res.Statuses()[4:], 200))
	})
}
