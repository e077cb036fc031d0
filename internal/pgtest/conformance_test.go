package pgtest_test

import (
	"testing"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/storetest"
)

func TestSQLStoreConformance(t *testing.T) {
	db := openDB(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) callback.Store {
		return newSQLStore(t, db, callback.SQLConfig{Now: clock.Now})
	})
}
