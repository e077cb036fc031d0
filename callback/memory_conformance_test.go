package callback_test

import (
	"testing"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) callback.Store {
		return callback.NewMemoryStore(callback.MemoryConfig{Now: clock.Now})
	})
}

// With one shard every key shares one lock and one bound (64 keys: more
// than the suite holds at once).
func TestMemoryStoreConformanceFewShards(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) callback.Store {
		return callback.NewMemoryStore(callback.MemoryConfig{Now: clock.Now, Shards: 1, MaxEntries: 64})
	})
}
