package ixopay_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/ixopay"
	"github.com/paycallback/paycallback/retry"
)

const simSecret = "sim-secret-0123456789"

var simStart = time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)

// simHandler is an IXOPAY handler on clock: its freshness check and its
// default dedup store both read the simulated time, so that a retry days
// later is judged as IXOPAY's would be.
func simHandler(t *testing.T, clock *retry.Clock, runs *callbacktest.Recorder[ixopay.Result]) *ixopay.Handler {
	t.Helper()
	h, err := ixopay.New(ixopay.Config{Secrets: []string{simSecret}, Now: clock.Now}, runs.Func)
	require.NoError(t, err)
	return h
}

// IXOPAY's schedule, with lost acknowledgements, two concurrent
// duplicates of every attempt, each attempt signed afresh with its own
// Date, and a failing first run: the merchant's function succeeds exactly
// once per callback, and IXOPAY gets its exact "OK" in the end.
func TestSimulatedRedeliveryRunsOnce(t *testing.T) {
	for i, name := range []string{"debit.ok", "debit.pending", "chargeback.ok", "refund.ok"} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s seed %d", name, seed), func(t *testing.T) {
				clock := retry.NewClock(simStart)
				runs := callbacktest.Record[ixopay.Result](nil)
				runs.FailNext(1)
				sim := callbacktest.IXOPAYSimulation(callbacktest.IXOPAYEvent(name), simSecret)
				sim.Handler, sim.Clock, sim.Seed = simHandler(t, clock, runs), clock, seed+uint64(i)*10
				sim.URL = "/callbacks/ixopay?shop=1" // signed with the query string
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
				for _, a := range res.Attempts {
					require.Contains(t, []int{200, 409, 500}, a.Status, "statuses %v", statuses)
					require.Equal(t, a.Status == 200, a.Acked, "only 200 with exactly OK acknowledges: %v", a)
					if a.Acked {
						require.Equal(t, "OK", a.Body)
					}
				}
			})
		}
	}
}

// Every acknowledgement is lost, so IXOPAY delivers all 15 attempts over
// 7 days 18 h, three copies each, each with a Date of its own time: none
// is refused as stale, and the default TTL still remembers the callback
// at the last one.
func TestSimulatedFullScheduleEveryAckLost(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[ixopay.Result](nil)
	sim := callbacktest.IXOPAYSimulation(callbacktest.IXOPAYEvent("debit.ok"), simSecret)
	sim.Handler, sim.Clock, sim.LoseAcks, sim.Duplicates = simHandler(t, clock, runs), clock, 1, 2

	res, err := retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, res.Attempts, 3*retry.IXOPAY.Attempts())
	require.Equal(t, simStart.Add(retry.IXOPAY.Horizon()), clock.Now())
	require.NoError(t, runs.ExactlyOnce())
	for _, a := range res.Attempts[3:] {
		require.Equal(t, 200, a.Status, "later attempts are duplicates, answered with the ack: %v", a)
		require.Equal(t, "OK", a.Body)
	}
}

// The first signature IXOPAY made is replayed at each later attempt's
// time (a captured request, or a sender that does not re-sign): still
// one run, and refused once older than MaxAge.
func TestSimulatedStaleSignature(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[ixopay.Result](nil)
	h, err := ixopay.New(ixopay.Config{Secrets: []string{simSecret}, Now: clock.Now, MaxAge: 2 * time.Hour}, runs.Func)
	require.NoError(t, err)
	sim := callbacktest.IXOPAYSimulation(callbacktest.IXOPAYEvent("debit.ok"), simSecret)
	signed := sim.Request
	sim.Request = func(ctx context.Context, d retry.Delivery) (*http.Request, error) {
		d.At = simStart // always the first attempt's Date
		return signed(ctx, d)
	}
	sim.Handler, sim.Clock, sim.LoseAcks = h, clock, 1

	res, err := retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.NoError(t, runs.ExactlyOnce())
	for _, a := range res.Attempts {
		want := 200
		if a.Offset > 2*time.Hour {
			want = 401
		}
		require.Equal(t, want, a.Status, "%v", a)
	}
}
