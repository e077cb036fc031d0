package callback

import (
	"container/heap"
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig configures a MemoryStore. Its zero value is ready to use.
type MemoryConfig struct {
	// Shards is the number of independently locked shards; default 32.
	Shards int
	// MaxEntries bounds the number of keys held in all (each shard holds
	// at most MaxEntries/Shards); default 1,000,000, roughly 100 MB at
	// the most. See MemoryStore for what happens when a shard is full.
	MaxEntries int
	// Now is the clock; default time.Now. Tests inject a fake one.
	Now func() time.Time
}

// MemoryStore is the default Store: in memory, for one process. It is safe
// for concurrent use. A merchant running several instances needs a shared
// store instead (see SQLStore), or a retry landing on another instance is
// processed twice.
//
// Entries expire on their own: a committed key after its TTL, an in-flight
// claim after its lease (its holder is presumed dead, and the next Claim
// wins the key). Memory is bounded: when a shard is full, a Claim for a new
// key first drops the shard's expired entries; if the shard is still full
// it evicts the committed entry closest to its expiry (a later duplicate of
// that event would be processed again: size MaxEntries above the number of
// events a provider's retry horizon holds). An in-flight claim is never
// evicted: if a shard holds nothing else, Claim returns ErrStoreFull, which
// the Handler answers with 503 so the provider retries.
type MemoryStore struct {
	shards   []memShard
	perShard int
	now      func() time.Time
	seed     maphash.Seed
	tokens   atomic.Int64
}

type memShard struct {
	mu   sync.Mutex
	m    map[string]memEntry
	done expiryHeap // committed entries by expiry; items may be stale
	_    [40]byte   // keep shards' locks on separate cache lines
}

// expiryItem names the committed entry (key, token) that expires at
// expires. It is stale once the map no longer holds that entry.
type expiryItem struct {
	key     string
	token   Token
	expires time.Time
}

// expiryHeap is a min-heap of expiryItem by expires.
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// held reports whether key is in flight under token.
func (sh *memShard) held(key string, token Token) bool {
	e, ok := sh.m[key]
	return ok && !e.done && e.token == token
}

// live reports whether it still names a committed entry of sh.
func (sh *memShard) live(it expiryItem) bool {
	e, ok := sh.m[it.key]
	return ok && e.done && e.token == it.token
}

type memEntry struct {
	token   Token
	done    bool
	expires time.Time // lease end while in flight, TTL end once done
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	if cfg.Shards <= 0 {
		cfg.Shards = 32
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 1_000_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	per := max(cfg.MaxEntries/cfg.Shards, 1)
	s := &MemoryStore{shards: make([]memShard, cfg.Shards), perShard: per, now: cfg.Now, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string]memEntry)
	}
	return s
}

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)%uint64(len(s.shards))]
}

// Claim implements Store.
func (s *MemoryStore) Claim(ctx context.Context, key string, lease time.Duration) (State, Token, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && now.Before(e.expires) {
		if e.done {
			return Done, 0, nil
		}
		return InFlight, 0, nil
	}
	if !ok && len(sh.m) >= s.perShard && !sh.makeRoom(now, s.perShard) {
		return 0, 0, ErrStoreFull
	}
	tok := Token(s.tokens.Add(1))
	sh.m[key] = memEntry{token: tok, expires: now.Add(lease)}
	return Won, tok, nil
}

// makeRoom drops expired committed entries, then if need be the committed
// entry closest to expiry, in O(log n) per entry through the shard's
// expiry heap. Only a shard holding nothing but in-flight claims is
// scanned whole, for claims whose holder died. It reports whether there is
// room for one more entry.
func (sh *memShard) makeRoom(now time.Time, limit int) bool {
	for sh.done.Len() > 0 {
		it := sh.done[0]
		if sh.live(it) && now.Before(it.expires) {
			break
		}
		heap.Pop(&sh.done)
		if sh.live(it) {
			delete(sh.m, it.key) // expired
		}
	}
	if len(sh.m) < limit {
		return true
	}
	if sh.done.Len() > 0 { // the top is live: the entry closest to expiry
		it := heap.Pop(&sh.done).(expiryItem)
		delete(sh.m, it.key)
		return true
	}
	for k, e := range sh.m {
		if !now.Before(e.expires) {
			delete(sh.m, k)
		}
	}
	return len(sh.m) < limit
}

// Commit implements Store. A holder whose lease ran out may still commit,
// as long as no other caller has taken the key over.
func (s *MemoryStore) Commit(ctx context.Context, key string, token Token, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.held(key, token) {
		return ErrLeaseLost
	}
	e := memEntry{token: token, done: true, expires: now.Add(ttl)}
	sh.m[key] = e
	heap.Push(&sh.done, expiryItem{key: key, token: token, expires: e.expires})
	if sh.done.Len() > 2*len(sh.m)+64 {
		sh.compact()
	}
	return nil
}

// compact drops the heap's stale items (keys committed again, released
// or evicted), so that the heap stays within a small factor of the map.
func (sh *memShard) compact() {
	live := sh.done[:0]
	for _, it := range sh.done {
		if sh.live(it) {
			live = append(live, it)
		}
	}
	clear(sh.done[len(live):])
	sh.done = live
	heap.Init(&sh.done)
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, key string, token Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.held(key, token) {
		return ErrLeaseLost
	}
	delete(sh.m, key)
	return nil
}

// Len returns the number of keys held, expired ones not yet dropped
// included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
