package chip_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/chip"
	"github.com/paycallback/paycallback/retry"
)

var simStart = time.Date(2026, 4, 28, 12, 0, 0, 0, time.UTC)

// simHandler is a CHIP handler whose dedup store runs on clock, so that
// its TTL is measured against the simulated schedule.
func simHandler(t *testing.T, clock *retry.Clock, runs *callbacktest.Recorder[chip.Callback]) http.Handler {
	t.Helper()
	h, err := chip.New(chip.Config{
		PublicKeys: []string{callbacktest.ChipTestPublicKeyPEM()},
		Store:      callback.NewMemoryStore(callback.MemoryConfig{Now: clock.Now}),
	}, runs.Func)
	require.NoError(t, err)
	return h
}

// CHIP's schedule, with lost acknowledgements, two concurrent duplicates
// of every attempt and a failing first run, for events of every kind:
// the merchant's function succeeds exactly once per event, and CHIP is
// acknowledged in the end.
func TestSimulatedRedeliveryRunsOnce(t *testing.T) {
	events := []chip.EventType{chip.PurchasePaid, chip.PurchaseCreated, chip.PaymentRefunded, chip.PayoutSuccess}
	for i, e := range events {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s seed %d", e, seed), func(t *testing.T) {
				clock := retry.NewClock(simStart)
				runs := callbacktest.Record[chip.Callback](nil)
				runs.FailNext(1)
				sim := callbacktest.ChipSimulation(callbacktest.ChipEvent(string(e)), nil)
				sim.Handler, sim.Clock, sim.Seed = simHandler(t, clock, runs), clock, seed+uint64(i)*10
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
}

// Every acknowledgement is lost, so CHIP delivers all 8 attempts over
// 36 h 26 min, three copies each: the default TTL, on the simulated
// clock, still remembers the event at the last one.
func TestSimulatedFullScheduleEveryAckLost(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[chip.Callback](nil)
	sim := callbacktest.ChipSimulation(callbacktest.ChipEvent("purchase.paid"), nil)
	sim.Handler, sim.Clock, sim.LoseAcks, sim.Duplicates = simHandler(t, clock, runs), clock, 1, 2

	res, err := retry.Simulate(t.Context(), sim)
	require.ErrorIs(t, err, retry.ErrNotAcknowledged)
	require.Len(t, res.Attempts, 3*retry.CHIP.Attempts())
	require.Equal(t, simStart.Add(retry.CHIP.Horizon()), clock.Now())
	require.NoError(t, runs.ExactlyOnce())
	for _, a := range res.Attempts[3:] {
		require.Equal(t, 200, a.Status, "later attempts are duplicates, answered with the ack: %v", a)
	}
}

// Two events of one purchase (its creation, then its payment) are two
// events: each runs once.
func TestSimulatedEventsOfOnePurchase(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[chip.Callback](nil)
	h := simHandler(t, clock, runs)
	paid := callbacktest.ChipEvent("purchase.paid")
	cb, err := chip.Decode(paid)
	require.NoError(t, err)
	created := callbacktest.ChipFixture("purchase.created")
	old, err := chip.Decode(created)
	require.NoError(t, err)
	created = []byte(strings.ReplaceAll(string(created), old.ID, cb.ID))

	for _, body := range [][]byte{created, paid} {
		sim := callbacktest.ChipSimulation(body, nil)
		sim.Handler, sim.Clock, sim.LoseFirst, sim.Duplicates = h, clock, 2, 1
		_, err := retry.Simulate(t.Context(), sim)
		require.NoError(t, err)
	}
	require.NoError(t, runs.ExactlyOnce())
	require.Len(t, runs.Runs(), 2)
}
