// Package storetest is the conformance suite for implementations of
// callback.Store: every store this module ships runs it, and so can a
// merchant's own.
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) callback.Store {
//			return mystore.New(mystore.Config{Now: clock.Now})
//		})
//	}
//
// The suite checks what the dedup protocol promises: exactly one of many
// concurrent claims wins; a committed key is Done until its TTL passes; a
// released key is won by the next claim; a claim whose holder died expires
// after its lease, and the dead holder's token can then neither commit nor
// release; a canceled context changes nothing; keys are independent, however
// long or odd. Time is the injected Clock's, so nothing sleeps.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/retry"
)

// A Clock is a settable time source for stores under test: the same
// clock retry.Simulate drives. Pass clock.Now as the store's clock, and
// move it with Advance or Set. It is safe for concurrent use.
type Clock = retry.Clock

// NewClock returns a Clock that reads t until moved.
func NewClock(t time.Time) *Clock { return retry.NewClock(t) }

// NewStore returns a new, empty store whose leases and TTLs are measured
// with clock.Now. It is called once per subtest; it registers any cleanup
// with t.
type NewStore func(t *testing.T, clock *Clock) callback.Store

// Concurrency is how many goroutines race for one key in the concurrent
// tests.
const Concurrency = 16

const (
	lease = time.Minute
	ttl   = time.Hour
)

// Run runs the conformance suite against the stores newStore returns, each
// check in a subtest of its own.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s callback.Store, clock *Clock)
	}{
		{"FirstClaimWins", testFirstClaimWins},
		{"ConcurrentClaimsOneWins", testConcurrentClaimsOneWins},
		{"CommitThenDone", testCommitThenDone},
		{"ReleaseThenNextClaimWins", testReleaseThenNextClaimWins},
		{"InFlightUntilLeaseExpires", testInFlightUntilLeaseExpires},
		{"ConcurrentTakeoverOneWins", testConcurrentTakeoverOneWins},
		{"DoneUntilTTLExpires", testDoneUntilTTLExpires},
		{"TTLCountsFromCommit", testTTLCountsFromCommit},
		{"WrongTokenChangesNothing", testWrongTokenChangesNothing},
		{"ReleaseAfterCommitKeepsDone", testReleaseAfterCommitKeepsDone},
		{"ReleaseUnknownKey", testReleaseUnknownKey},
		{"CanceledContextChangesNothing", testCanceledContextChangesNothing},
		{"DistinctKeysIndependent", testDistinctKeysIndependent},
		{"AwkwardKeys", testAwkwardKeys},
		{"ContentionExactlyOnce", testContentionExactlyOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			s := newStore(t, clock)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.fn(t, s, clock)
		})
	}
}

// claim claims key and fails the test unless it gets want.
func claim(t *testing.T, s callback.Store, key string, want callback.State) callback.Token {
	t.Helper()
	state, token, err := s.Claim(context.Background(), key, lease)
	if err != nil {
		t.Fatalf("Claim(%q): %v", key, err)
	}
	if state != want {
		t.Fatalf("Claim(%q) = %v, want %v", key, state, want)
	}
	return token
}

func mustCommit(t *testing.T, s callback.Store, key string, token callback.Token, ttl time.Duration) {
	t.Helper()
	if err := s.Commit(context.Background(), key, token, ttl); err != nil {
		t.Fatalf("Commit(%q, %d): %v", key, token, err)
	}
}

func mustRelease(t *testing.T, s callback.Store, key string, token callback.Token) {
	t.Helper()
	if err := s.Release(context.Background(), key, token); err != nil {
		t.Fatalf("Release(%q, %d): %v", key, token, err)
	}
}

func wantLeaseLost(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, callback.ErrLeaseLost) {
		t.Fatalf("%s: got error %v, want ErrLeaseLost", what, err)
	}
}

func testFirstClaimWins(t *testing.T, s callback.Store, _ *Clock) {
	claim(t, s, "k", callback.Won)
	claim(t, s, "k", callback.InFlight)
}

// race runs Concurrency claims of key at once and returns their states.
func race(t *testing.T, s callback.Store, key string) map[callback.State]int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		got   = map[callback.State]int{}
		errs  []error
	)
	for range Concurrency {
		wg.Go(func() {
			<-start
			state, _, err := s.Claim(context.Background(), key, lease)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got[state]++
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Claim(%q): %v", key, err)
	}
	return got
}

func testConcurrentClaimsOneWins(t *testing.T, s callback.Store, _ *Clock) {
	for i := range 5 {
		key := fmt.Sprintf("race-%d", i)
		got := race(t, s, key)
		if got[callback.Won] != 1 || got[callback.InFlight] != Concurrency-1 {
			t.Fatalf("%d concurrent claims of %q: %v, want 1 won and %d in-flight", Concurrency, key, got, Concurrency-1)
		}
	}
}

func testCommitThenDone(t *testing.T, s callback.Store, _ *Clock) {
	tok := claim(t, s, "k", callback.Won)
	mustCommit(t, s, "k", tok, ttl)
	claim(t, s, "k", callback.Done)
	if got := race(t, s, "k"); got[callback.Done] != Concurrency {
		t.Fatalf("concurrent claims of a done key: %v, want all done", got)
	}
}

func testReleaseThenNextClaimWins(t *testing.T, s callback.Store, _ *Clock) {
	old := claim(t, s, "k", callback.Won)
	mustRelease(t, s, "k", old)
	tok := claim(t, s, "k", callback.Won)
	if tok == old {
		t.Fatalf("the claim after a release got the released token %d again", tok)
	}
	wantLeaseLost(t, "Commit with the released token", s.Commit(context.Background(), "k", old, ttl))
	wantLeaseLost(t, "Release with the released token", s.Release(context.Background(), "k", old))
	claim(t, s, "k", callback.InFlight)
	mustCommit(t, s, "k", tok, ttl)
	claim(t, s, "k", callback.Done)
}

// testInFlightUntilLeaseExpires is the holder that died: its claim blocks
// the key for the lease, then the next claim takes it over, and the dead
// holder, should it come back, can neither commit nor release.
func testInFlightUntilLeaseExpires(t *testing.T, s callback.Store, clock *Clock) {
	dead := claim(t, s, "k", callback.Won)
	clock.Advance(lease - time.Second)
	claim(t, s, "k", callback.InFlight)
	clock.Advance(2 * time.Second)
	tok := claim(t, s, "k", callback.Won)
	if tok == dead {
		t.Fatalf("the takeover got the dead holder's token %d", tok)
	}
	wantLeaseLost(t, "Commit by the holder whose lease expired", s.Commit(context.Background(), "k", dead, ttl))
	wantLeaseLost(t, "Release by the holder whose lease expired", s.Release(context.Background(), "k", dead))
	claim(t, s, "k", callback.InFlight)
	mustCommit(t, s, "k", tok, ttl)
	claim(t, s, "k", callback.Done)
}

func testConcurrentTakeoverOneWins(t *testing.T, s callback.Store, clock *Clock) {
	for i := range 3 {
		key := fmt.Sprintf("takeover-%d", i)
		claim(t, s, key, callback.Won)
		clock.Advance(lease + time.Second)
		got := race(t, s, key)
		if got[callback.Won] != 1 || got[callback.InFlight] != Concurrency-1 {
			t.Fatalf("%d concurrent claims of %q after its lease expired: %v, want 1 won and %d in-flight",
				Concurrency, key, got, Concurrency-1)
		}
	}
}

func testDoneUntilTTLExpires(t *testing.T, s callback.Store, clock *Clock) {
	tok := claim(t, s, "k", callback.Won)
	mustCommit(t, s, "k", tok, ttl)
	clock.Advance(ttl - time.Minute)
	claim(t, s, "k", callback.Done)
	clock.Advance(2 * time.Minute)
	next := claim(t, s, "k", callback.Won)
	claim(t, s, "k", callback.InFlight)
	mustCommit(t, s, "k", next, ttl)
	claim(t, s, "k", callback.Done)
}

func testTTLCountsFromCommit(t *testing.T, s callback.Store, clock *Clock) {
	tok := claim(t, s, "k", callback.Won)
	clock.Advance(lease / 2)
	mustCommit(t, s, "k", tok, lease)
	clock.Advance(lease*3/4 - time.Second) // past claim+lease, before commit+ttl
	claim(t, s, "k", callback.Done)
	clock.Advance(lease/4 + 2*time.Second) // past commit+ttl
	claim(t, s, "k", callback.Won)
}

func testWrongTokenChangesNothing(t *testing.T, s callback.Store, _ *Clock) {
	tok := claim(t, s, "k", callback.Won)
	wrong := tok ^ 0x5a5a
	wantLeaseLost(t, "Commit with a wrong token", s.Commit(context.Background(), "k", wrong, ttl))
	claim(t, s, "k", callback.InFlight)
	wantLeaseLost(t, "Release with a wrong token", s.Release(context.Background(), "k", wrong))
	claim(t, s, "k", callback.InFlight)
	mustCommit(t, s, "k", tok, ttl)
	claim(t, s, "k", callback.Done)
}

func testReleaseAfterCommitKeepsDone(t *testing.T, s callback.Store, _ *Clock) {
	tok := claim(t, s, "k", callback.Won)
	mustCommit(t, s, "k", tok, ttl)
	if err := s.Release(context.Background(), "k", tok); err != nil && !errors.Is(err, callback.ErrLeaseLost) {
		t.Fatalf("Release after Commit: %v, want nil or ErrLeaseLost", err)
	}
	claim(t, s, "k", callback.Done)
}

func testReleaseUnknownKey(t *testing.T, s callback.Store, _ *Clock) {
	wantLeaseLost(t, "Release of a key never claimed", s.Release(context.Background(), "never", 1))
	wantLeaseLost(t, "Commit of a key never claimed", s.Commit(context.Background(), "never", 1, ttl))
	claim(t, s, "never", callback.Won)
}

func testCanceledContextChangesNothing(t *testing.T, s callback.Store, _ *Clock) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	if _, _, err := s.Claim(canceled, "a", lease); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with a canceled context: %v, want an error that is context.Canceled", err)
	}
	tok := claim(t, s, "a", callback.Won) // the canceled claim took nothing

	if err := s.Commit(canceled, "a", tok, ttl); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with a canceled context: %v, want an error that is context.Canceled", err)
	}
	claim(t, s, "a", callback.InFlight) // not done

	if err := s.Release(canceled, "a", tok); !errors.Is(err, context.Canceled) {
		t.Fatalf("Release with a canceled context: %v, want an error that is context.Canceled", err)
	}
	claim(t, s, "a", callback.InFlight) // not released

	mustCommit(t, s, "a", tok, ttl) // the token still holds the key
	claim(t, s, "a", callback.Done)
}

func testDistinctKeysIndependent(t *testing.T, s callback.Store, _ *Clock) {
	a := claim(t, s, "a", callback.Won)
	b := claim(t, s, "b", callback.Won)
	mustCommit(t, s, "a", a, ttl)
	claim(t, s, "b", callback.InFlight)
	mustRelease(t, s, "b", b)
	claim(t, s, "a", callback.Done)
	claim(t, s, "c", callback.Won)
	claim(t, s, "b", callback.Won)
	// A token is only good for its own key.
	c := claim(t, s, "d", callback.Won)
	wantLeaseLost(t, "Commit of key e with key d's token", s.Commit(context.Background(), "e", c, ttl))
	claim(t, s, "e", callback.Won)
}

func testAwkwardKeys(t *testing.T, s callback.Store, _ *Clock) {
	long := strings.Repeat("0123456789abcdef", 640) // 10 KiB
	keys := []string{
		"chip/purchase.paid/0f3b2c9e-1d4a-4b8e-9a61-6c1d0e2f3a4b",
		"ключ ✓ 鍵",
		long,
		long + "x", // same long prefix, different key
		long[:600],
		"nul\x00inside",
		"nul",
		"bad\xffutf8",
		"bad",
		"sha256:" + strings.Repeat("0", 64),
		" leading and trailing ",
		"leading and trailing",
	}
	tokens := make([]callback.Token, len(keys))
	for i, k := range keys {
		tokens[i] = claim(t, s, k, callback.Won)
	}
	for i, k := range keys {
		if i%2 == 0 {
			mustCommit(t, s, k, tokens[i], ttl)
		}
	}
	for i, k := range keys {
		if i%2 == 0 {
			claim(t, s, k, callback.Done)
		} else {
			claim(t, s, k, callback.InFlight)
			mustRelease(t, s, k, tokens[i])
			claim(t, s, k, callback.Won)
		}
	}
}

// testContentionExactlyOnce has workers loop over a few keys, claiming each
// and then committing or releasing at random, until every key is done. At
// no moment may two workers hold one key, and every key is committed
// exactly once.
func testContentionExactlyOnce(t *testing.T, s callback.Store, _ *Clock) {
	const (
		keys    = 8
		workers = 8
		maxOps  = 20000 // per worker: a store that never lets go fails, not hangs
	)
	var (
		holders [keys]atomic.Int32
		commits [keys]atomic.Int32
		wg      sync.WaitGroup
		errc    = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			done := 0
			seen := [keys]bool{}
			for op := 0; done < keys; op++ {
				if op == maxOps {
					errc <- fmt.Errorf("worker %d: %d of %d keys seen done after %d claims", w, done, keys, op)
					return
				}
				i := rng.IntN(keys)
				key := fmt.Sprintf("contended-%d", i)
				state, tok, err := s.Claim(context.Background(), key, lease)
				if err != nil {
					errc <- fmt.Errorf("Claim(%q): %w", key, err)
					return
				}
				switch state {
				case callback.Done:
					if !seen[i] {
						seen[i] = true
						done++
					}
				case callback.InFlight:
					runtime.Gosched()
				case callback.Won:
					if n := holders[i].Add(1); n != 1 {
						errc <- fmt.Errorf("%q held by %d claims at once", key, n)
						return
					}
					commit := rng.IntN(3) == 0
					if commit {
						commits[i].Add(1)
					}
					holders[i].Add(-1) // before letting go: the next holder may win at once
					if commit {
						err = s.Commit(context.Background(), key, tok, ttl)
					} else {
						err = s.Release(context.Background(), key, tok)
					}
					if err != nil {
						errc <- fmt.Errorf("letting go of %q: %w", key, err)
						return
					}
				default:
					errc <- fmt.Errorf("Claim(%q) = %v", key, state)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for i := range keys {
		if n := commits[i].Load(); n != 1 {
			t.Errorf("contended-%d committed %d times, want exactly 1", i, n)
		}
	}
}
