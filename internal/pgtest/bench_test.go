package pgtest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paycallback/paycallback/callback"
)

// BenchmarkClaimCommit measures one processed callback's store work, Claim
// then Commit, on the memory store and on PostgreSQL side by side; and a
// duplicate's, one Claim answered Done. The PostgreSQL numbers are over
// loopback to the server .ci/start-postgres runs (fsync off): they measure
// round trips and the statements, not the disk. A processed callback is two
// round trips and a duplicate one: TestSQLStoreRoundTrips counts them on the
// wire.
func BenchmarkClaimCommit(b *testing.B) {
	stores := []struct {
		name string
		new  func(b *testing.B) callback.Store
	}{
		// Room for every key a run creates: this measures claim+commit,
		// not the eviction a full store does.
		{"memory", func(*testing.B) callback.Store {
			return callback.NewMemoryStore(callback.MemoryConfig{MaxEntries: 1 << 23})
		}},
		{"postgres", func(b *testing.B) callback.Store {
			db := openDB(b)
			db.SetMaxOpenConns(64)
			return newSQLStore(b, db, callback.SQLConfig{})
		}},
	}
	for _, st := range stores {
		b.Run(st.name+"/serial", func(b *testing.B) {
			s := st.new(b)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				claimCommit(b, ctx, s, fmt.Sprintf("bench-%d", i))
			}
		})
		b.Run(st.name+"/parallel", func(b *testing.B) {
			s := st.new(b)
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 8 x GOMAXPROCS concurrent callbacks
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					claimCommit(b, ctx, s, fmt.Sprintf("bench-%d", n.Add(1)))
				}
			})
		})
		b.Run(st.name+"/duplicate", func(b *testing.B) {
			s := st.new(b)
			ctx := context.Background()
			const keys = 1000
			for i := range keys {
				claimCommit(b, ctx, s, fmt.Sprintf("dup-%d", i))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				state, _, err := s.Claim(ctx, fmt.Sprintf("dup-%d", i%keys), time.Minute)
				if err != nil || state != callback.Done {
					b.Fatalf("Claim of a done key: %v, %v", state, err)
				}
			}
		})
	}
}

func claimCommit(b *testing.B, ctx context.Context, s callback.Store, key string) {
	state, tok, err := s.Claim(ctx, key, time.Minute)
	if err != nil || state != callback.Won {
		b.Fatalf("Claim(%q): %v, %v", key, state, err)
	}
	if err := s.Commit(ctx, key, tok, time.Hour); err != nil {
		b.Fatalf("Commit(%q): %v", key, err)
	}
}
