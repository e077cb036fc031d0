package callback

import (
	"context"
	"errors"
	"time"
)

// State is the outcome of a Claim.
type State int

const (
	// Won means the caller holds the claim: it must run the work and then
	// Commit (work done) or Release (work failed) with the returned Token.
	Won State = iota + 1
	// InFlight means another caller holds a live claim on the key: its work
	// is under way. The delivery should be answered with a retryable
	// non-2xx (409) so the provider tries again later.
	InFlight
	// Done means the work for the key was committed and is remembered until
	// its TTL passes: the delivery is a duplicate and gets the ack.
	Done
)

func (s State) String() string {
	switch s {
	case Won:
		return "won"
	case InFlight:
		return "in-flight"
	case Done:
		return "done"
	}
	return "unknown"
}

// Token identifies one winning claim. Commit and Release take it so that a
// holder whose lease expired, and whose key was taken over by another
// caller, cannot commit or release the new holder's claim.
type Token int64

// ErrLeaseLost is returned by Commit and Release when the key is no longer
// held under the given token: the lease expired and another caller took the
// key over, or it was released.
var ErrLeaseLost = errors.New("callback: claim no longer held")

// ErrStoreFull is returned by a bounded store's Claim when it cannot make
// room without evicting an in-flight claim.
var ErrStoreFull = errors.New("callback: dedup store full")

// A Store remembers which deliveries were processed, so that a provider's
// duplicates and retries run the merchant's function at most once per
// successful processing.
//
// The protocol is claim, process, then commit or release:
//
//   - Claim(key, lease) atomically decides among concurrent callers, across
//     goroutines and, for a shared store, across processes: exactly one gets
//     Won. A Won claim that is neither committed nor released within lease
//     (its holder crashed) expires, and the next Claim wins it.
//   - Commit(key, token, ttl) records the work as done; Claim then answers
//     Done until ttl has passed.
//   - Release(key, token) forgets the claim so the provider's retry is
//     processed.
//
// A key is never remembered as done before Commit. Implementations are safe
// for concurrent use. Errors other than ErrLeaseLost and ErrStoreFull mean
// the store is unavailable; the Handler answers them with 503 and does not
// run the merchant's function.
type Store interface {
	Claim(ctx context.Context, key string, lease time.Duration) (State, Token, error)
	Commit(ctx context.Context, key string, token Token, ttl time.Duration) error
	Release(ctx context.Context, key string, token Token) error
}
