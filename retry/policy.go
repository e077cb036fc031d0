// Package retry holds the payment providers' redelivery schedules as data,
// backoff for a merchant's own outbound calls, and tools to replay a
// provider's redeliveries in tests.
//
// The schedules answer two questions the rest of the library needs: when
// does attempt n happen, and when does the provider give up (its horizon).
// Dedup stores remember a processed callback at least until the horizon, so
// that no redelivery is processed twice:
//
//	retry.CHIP.At(3)     // 8m0s: the third attempt, after the first
//	retry.CHIP.Horizon() // 36h26m0s: the last attempt
package retry

import (
	"fmt"
	"time"
)

// A Policy is a provider's redelivery schedule: the offset of each attempt
// from the first, the first being at zero. The zero Policy has no attempts.
// Policies are values; they are safe for concurrent use.
type Policy struct {
	// Name names the schedule in messages, for example "chip".
	Name string
	// Offsets[i] is when attempt i+1 happens, measured from attempt 1.
	// Offsets[0] is 0 and the offsets never decrease.
	Offsets []time.Duration
}

// Attempts returns how many attempts the provider makes in all.
func (p Policy) Attempts() int { return len(p.Offsets) }

// At returns when attempt n (1-based) happens, measured from attempt 1. It
// panics if n is out of range, like an index.
func (p Policy) At(n int) time.Duration {
	if n < 1 || n > len(p.Offsets) {
		panic(fmt.Sprintf("retry: %s has no attempt %d (1..%d)", p.Name, n, len(p.Offsets)))
	}
	return p.Offsets[n-1]
}

// Horizon returns when the last attempt happens, measured from the first:
// after it the provider never redelivers.
func (p Policy) Horizon() time.Duration {
	if len(p.Offsets) == 0 {
		return 0
	}
	return p.Offsets[len(p.Offsets)-1]
}

// CHIP is CHIP Collect's schedule: attempt n at 3^(n-1) - 1 minutes, 8
// attempts (0, 2, 8, 26, 80, 242, 728, 2186 minutes); the last is 36 h 26 min
// after the first.
var CHIP = Policy{Name: "chip", Offsets: chipOffsets()}

func chipOffsets() []time.Duration {
	offs := make([]time.Duration, 8)
	pow := 1
	for i := range offs {
		offs[i] = time.Duration(pow-1) * time.Minute
		pow *= 3
	}
	return offs
}

// IXOPAY is IXOPAY's schedule: the first delivery, retries after 1 min,
// 5 min, 15 min, 1 h, 2 h, 3 h and 12 h, then once a day for 7 days. The
// delays are read as counted from the previous attempt, which gives the
// longest horizon the documentation allows (7 days 18 h 21 min), the safe
// reading for a dedup TTL.
var IXOPAY = Policy{Name: "ixopay", Offsets: ixopayOffsets()}

func ixopayOffsets() []time.Duration {
	gaps := []time.Duration{
		time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
		2 * time.Hour, 3 * time.Hour, 12 * time.Hour,
	}
	for range 7 {
		gaps = append(gaps, 24*time.Hour)
	}
	offs := []time.Duration{0}
	var at time.Duration
	for _, g := range gaps {
		at += g
		offs = append(offs, at)
	}
	return offs
}

// Avarda is Avarda Checkout 3.0's schedule: the first delivery, then a
// retry every 10 minutes, up to 20 retries; the last is 3 h 20 min after
// the first, as Avarda documents. Checkout 2.0 does not document its
// retries.
var Avarda = Policy{Name: "avarda", Offsets: avardaOffsets()}

func avardaOffsets() []time.Duration {
	offs := make([]time.Duration, 21)
	for i := range offs {
		offs[i] = time.Duration(i) * 10 * time.Minute
	}
	return offs
}
