package secpaid_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
	"github.com/paycallback/paycallback/retry"
)

const simToken = "sim-token"

var simStart = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

// simHandlers are SecPaid's handlers confirming with a fake API, over a
// dedup store on clock.
func simHandlers(t *testing.T, clock *retry.Clock, runs *callbacktest.Recorder[secpaid.Payment]) (*secpaid.Handlers, *callbacktest.SecPaidAPI) {
	t.Helper()
	api := callbacktest.NewSecPaidAPI(simToken)
	t.Cleanup(api.Close)
	h, err := secpaid.New(secpaid.Config{
		UserIDs:       []string{callbacktest.SecPaidTestUserID},
		Token:         simToken,
		BaseURL:       api.URL,
		HTTPClient:    api.Client(),
		Backoff:       retry.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxAttempts: 2},
		EncryptionKey: callbacktest.SecPaidTestKey,
		SuccessURL:    "https://shop.example/thanks",
		CancelURL:     "https://shop.example/cart",
		PendingURL:    "https://shop.example/processing",
		Store:         callback.NewMemoryStore(callback.MemoryConfig{Now: clock.Now}),
	}, runs.Func)
	require.NoError(t, err)
	return h, api
}

func simNotification() callbacktest.SecPaidNotification {
	return callbacktest.SecPaidNotification{
		PayID: callbacktest.NewSecPaidPayID(), Amount: "49.99",
		UserID: callbacktest.SecPaidTestUserID, Status: "Success",
	}
}

// The Payment Endpoint redelivered (on the assumed schedule: SecPaid
// documents none), with lost acknowledgements, two concurrent duplicates
// of every attempt and a failing first run, in every body encoding: the
// merchant's function succeeds exactly once per payment.
func TestSimulatedRedeliveryRunsOnce(t *testing.T) {
	for _, e := range callbacktest.SecPaidEncodings {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%v seed %d", e, seed), func(t *testing.T) {
				clock := retry.NewClock(simStart)
				runs := callbacktest.Record[secpaid.Payment](nil)
				runs.FailNext(1)
				h, api := simHandlers(t, clock, runs)
				n := simNotification()
				api.Pay(n.PayID, n.Amount, n.UserID)

				sim := callbacktest.SecPaidSimulation(n, e, callbacktest.SecPaidTestKey)
				sim.Handler, sim.Clock, sim.Seed = h.Endpoint, clock, seed+uint64(e)*10
				sim.LoseFirst, sim.LoseAcks, sim.Duplicates = 1, 0.5, 2

				res, err := retry.Simulate(t.Context(), sim)
				require.NoError(t, err)
				require.True(t, res.Acknowledged)
				require.NoError(t, runs.ExactlyOnce())
				require.Equal(t, map[string]int{n.PayID + ":success": 2}, runs.Calls(), "the failed run, then the one that succeeded")
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

// SecPaid's API lists the payment as pending until after the second
// attempt, and the customer's browser returns in between: nothing runs
// before the API confirms, then exactly once, whichever path comes first.
func TestSimulatedPendingThenPaidWithBrowserReturn(t *testing.T) {
	clock := retry.NewClock(simStart)
	runs := callbacktest.Record[secpaid.Payment](nil)
	h, api := simHandlers(t, clock, runs)
	n := simNotification()
	api.Pend(n.PayID, n.Amount, n.UserID)

	var returns []string
	sim := callbacktest.SecPaidSimulation(n, callbacktest.SecPaidNested, "")
	sim.Handler, sim.Clock, sim.Duplicates, sim.LoseFirst = h.Endpoint, clock, 1, 1
	sim.OnAttempt = func(copies []retry.Attempt) {
		if copies[0].Attempt == 2 {
			api.Pay(n.PayID, n.Amount, n.UserID)
		}
		rec := httptest.NewRecorder()
		h.Return.ServeHTTP(rec, callbacktest.SecPaidReturnRequest("/callbacks/secpaid/return", n.PayID, n.UserID, "success"))
		returns = append(returns, rec.Header().Get("Location"))
	}
	res, err := retry.Simulate(t.Context(), sim)
	require.NoError(t, err)
	// The browser return after attempt 2 ran the function; attempt 3's
	// two copies are duplicates: the first's ack is lost, the second's
	// gets through.
	require.Equal(t, 3, res.AckedAttempt)
	require.Equal(t, 1, res.Lost())
	require.NoError(t, runs.ExactlyOnce())
	require.Equal(t, map[string]int{n.PayID + ":success": 1}, runs.Calls(), "never called before the API confirmed")
	for _, s := range res.Statuses()[:4] {
		require.Contains(t, []int{503, 409}, s, "pending: %v", res.Statuses())
	}
	require.Equal(t, []string{
		"https://shop.example/processing", "https://shop.example/thanks", "https://shop.example/thanks",
	}, returns)
	require.Equal(t, http.StatusOK, res.Attempts[len(res.Attempts)-1].Status)
}
