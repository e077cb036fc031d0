package callback_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
)

func claim(t *testing.T, s callback.Store, key string, lease time.Duration) (callback.State, callback.Token) {
	t.Helper()
	st, tok, err := s.Claim(context.Background(), key, lease)
	require.NoError(t, err)
	return st, tok
}

func TestMemoryStoreExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := callback.NewMemoryStore(callback.MemoryConfig{})
		ctx := context.Background()

		st, tok := claim(t, s, "k", time.Minute)
		require.Equal(t, callback.Won, st)
		st, _ = claim(t, s, "k", time.Minute)
		require.Equal(t, callback.InFlight, st)

		// The holder dies: after its lease the key is won again, and the
		// dead holder can no longer commit or release it.
		time.Sleep(time.Minute)
		st, tok2 := claim(t, s, "k", time.Minute)
		require.Equal(t, callback.Won, st)
		require.ErrorIs(t, s.Commit(ctx, "k", tok, time.Hour), callback.ErrLeaseLost)
		require.ErrorIs(t, s.Release(ctx, "k", tok), callback.ErrLeaseLost)

		require.NoError(t, s.Commit(ctx, "k", tok2, time.Hour))
		time.Sleep(time.Hour - time.Nanosecond)
		st, _ = claim(t, s, "k", time.Minute)
		require.Equal(t, callback.Done, st, "remembered until the TTL")
		time.Sleep(time.Nanosecond)
		st, _ = claim(t, s, "k", time.Minute)
		require.Equal(t, callback.Won, st, "forgotten after the TTL")
	})
}

func TestMemoryStoreBoundedEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := callback.NewMemoryStore(callback.MemoryConfig{Shards: 1, MaxEntries: 3})

		// Three committed keys with different expiries fill the store.
		for i, ttl := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
			_, tok := claim(t, s, "done"+strconv.Itoa(i), time.Minute)
			require.NoError(t, s.Commit(ctx, "done"+strconv.Itoa(i), tok, ttl))
		}
		// A new key evicts the committed entry closest to its expiry.
		st, _ := claim(t, s, "new", time.Minute)
		require.Equal(t, callback.Won, st)
		require.Equal(t, 3, s.Len())
		st, _ = claim(t, s, "done0", time.Minute)
		require.Equal(t, callback.Done, st)
		st, _ = claim(t, s, "done2", time.Minute)
		require.Equal(t, callback.Done, st)

		// Expired entries go first, before anything live is evicted.
		time.Sleep(2*time.Hour + time.Second) // done2 expired; "new"'s lease too
		st, _ = claim(t, s, "after", time.Minute)
		require.Equal(t, callback.Won, st)
		st, _ = claim(t, s, "done0", time.Minute)
		require.Equal(t, callback.Done, st)

		// An in-flight claim is never evicted: with nothing else to drop,
		// Claim refuses.
		full := callback.NewMemoryStore(callback.MemoryConfig{Shards: 1, MaxEntries: 2})
		claim(t, full, "a", time.Minute)
		claim(t, full, "b", time.Minute)
		_, _, err := full.Claim(ctx, "c", time.Minute)
		require.ErrorIs(t, err, callback.ErrStoreFull)
		st, _ = claim(t, full, "a", time.Minute)
		require.Equal(t, callback.InFlight, st)
	})
}

func TestMemoryStoreCanceledContext(t *testing.T) {
	s := callback.NewMemoryStore(callback.MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Claim(ctx, "k", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	st, _ := claim(t, s, "k", time.Minute)
	require.Equal(t, callback.Won, st, "a canceled claim changes nothing")
}

// BenchmarkMemoryStore measures the happy path of one callback, claim then
// commit, from all cores at once on distinct keys, beside the baseline of
// a single mutex-guarded map doing the same work in the same run.
func BenchmarkMemoryStore(b *testing.B) {
	ctx := context.Background()
	b.Run("store=memory", func(b *testing.B) {
		s := callback.NewMemoryStore(callback.MemoryConfig{})
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "chip:" + strconv.FormatInt(n.Add(1), 10)
				_, tok, err := s.Claim(ctx, key, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(ctx, key, tok, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("store=single-shard", func(b *testing.B) {
		s := callback.NewMemoryStore(callback.MemoryConfig{Shards: 1})
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "chip:" + strconv.FormatInt(n.Add(1), 10)
				_, tok, _ := s.Claim(ctx, key, time.Minute)
				_ = s.Commit(ctx, key, tok, time.Hour)
			}
		})
	})
	b.Run("store=full", func(b *testing.B) {
		// At capacity every new key evicts the committed entry closest to
		// expiry: this must stay as cheap as the happy path, not scan.
		s := callback.NewMemoryStore(callback.MemoryConfig{MaxEntries: 1 << 16})
		for i := range 1 << 16 {
			_, tok, _ := s.Claim(ctx, "old:"+strconv.Itoa(i), time.Minute)
			_ = s.Commit(ctx, "old:"+strconv.Itoa(i), tok, time.Hour)
		}
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "new:" + strconv.FormatInt(n.Add(1), 10)
				_, tok, err := s.Claim(ctx, key, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Commit(ctx, key, tok, time.Hour)
			}
		})
	})
	b.Run("duplicates", func(b *testing.B) {
		s := callback.NewMemoryStore(callback.MemoryConfig{})
		for i := range 1024 {
			_, tok, _ := s.Claim(ctx, fmt.Sprint(i), time.Minute)
			_ = s.Commit(ctx, fmt.Sprint(i), tok, time.Hour)
		}
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprint(i)
		}
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if st, _, _ := s.Claim(ctx, keys[n.Add(1)&1023], time.Minute); st != callback.Done {
					b.Fatal("want Done")
				}
			}
		})
	})
}
