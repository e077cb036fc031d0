package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/storetest"
)

// TestSQLStoreDatabaseClock runs without an injected clock: leases expire by
// the database's now(). The only test here that waits, because the real
// clock must pass.
func TestSQLStoreDatabaseClock(t *testing.T) {
	db := openDB(t)
	s := newSQLStore(t, db, callback.SQLConfig{})
	ctx := context.Background()

	const lease = 300 * time.Millisecond
	state, dead, err := s.Claim(ctx, "k", lease)
	require.NoError(t, err)
	require.Equal(t, callback.Won, state)
	claimed := time.Now()
	state, _, err = s.Claim(ctx, "k", lease)
	require.NoError(t, err)
	require.Equal(t, callback.InFlight, state)

	var tok callback.Token
	deadline := time.Now().Add(10 * time.Second)
	for {
		state, tok, err = s.Claim(ctx, "k", time.Minute)
		require.NoError(t, err)
		if state == callback.Won {
			break
		}
		require.Equal(t, callback.InFlight, state)
		require.True(t, time.Now().Before(deadline), "lease of %v never expired", lease)
		time.Sleep(50 * time.Millisecond)
	}
	require.GreaterOrEqual(t, time.Since(claimed), lease-50*time.Millisecond, "lease expired early")
	require.ErrorIs(t, s.Commit(ctx, "k", dead, time.Hour), callback.ErrLeaseLost)
	require.NoError(t, s.Commit(ctx, "k", tok, time.Hour))
	state, _, err = s.Claim(ctx, "k", time.Minute)
	require.NoError(t, err)
	require.Equal(t, callback.Done, state)
}

func TestSQLStoreMigrateConcurrentAndIdempotent(t *testing.T) {
	db := openDB(t)
	table := tableName()
	dropTable(t, db, table)
	const instances = 8
	var wg sync.WaitGroup
	errs := make([]error, instances)
	for i := range instances {
		wg.Go(func() {
			s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: table})
			if err == nil {
				err = s.Migrate(context.Background())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: table})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()), "second migration")
	state, _, err := s.Claim(context.Background(), "k", time.Minute)
	require.NoError(t, err)
	require.Equal(t, callback.Won, state)
}

// TestSQLStoreMigrationSQL is the merchant who manages the schema: the
// documented statements, run by hand, make a table the store works on.
func TestSQLStoreMigrationSQL(t *testing.T) {
	db := openDB(t)
	table := tableName()
	dropTable(t, db, table)
	s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: table})
	require.NoError(t, err)
	for _, stmt := range s.MigrationSQL() {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	var cols []string
	rows, err := db.Query(`SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, table)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"key text", "token bigint", "done boolean", "expires_at timestamp with time zone"}, cols)
	require.NoError(t, s.Migrate(context.Background()), "Migrate after a manual migration")
}

func TestSQLStoreSchemaQualifiedTable(t *testing.T) {
	db := openDB(t)
	schema := tableName()
	_, err := db.Exec(`CREATE SCHEMA "` + schema + `"`)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) callback.Store {
		s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: schema + "." + tableName(), Now: clock.Now})
		require.NoError(t, err)
		require.NoError(t, s.Migrate(context.Background()))
		return s
	})
}

func TestSQLStorePurge(t *testing.T) {
	db := openDB(t)
	clock := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newSQLStore(t, db, callback.SQLConfig{Now: clock.Now})
	ctx := context.Background()

	claim := func(key string, lease time.Duration) callback.Token {
		t.Helper()
		state, tok, err := s.Claim(ctx, key, lease)
		require.NoError(t, err)
		require.Equal(t, callback.Won, state, key)
		return tok
	}
	const expiredDone, expiredLeases, live = 2500, 20, 30
	for i := range expiredDone {
		require.NoError(t, s.Commit(ctx, fmt.Sprintf("old-%d", i), claim(fmt.Sprintf("old-%d", i), time.Minute), time.Hour))
	}
	for i := range expiredLeases {
		claim(fmt.Sprintf("dead-%d", i), time.Minute)
	}
	for i := range live {
		require.NoError(t, s.Commit(ctx, fmt.Sprintf("live-%d", i), claim(fmt.Sprintf("live-%d", i), time.Minute), 48*time.Hour))
	}
	clock.Advance(2 * time.Hour)

	// Another session holds one expired row locked: Purge skips it rather
	// than wait.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	var locked string
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT key FROM "`+tableOf(t, s)+`" WHERE key = 'old-0' FOR UPDATE`).Scan(&locked))

	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	n, err := s.Purge(pctx, 100)
	require.NoError(t, err)
	require.Equal(t, int64(expiredDone+expiredLeases-1), n)
	require.NoError(t, tx.Rollback())

	n, err = s.Purge(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the row that was locked")

	var left int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM "`+tableOf(t, s)+`"`).Scan(&left))
	require.Equal(t, live, left)
	for i := range live {
		state, _, err := s.Claim(ctx, fmt.Sprintf("live-%d", i), time.Minute)
		require.NoError(t, err)
		require.Equal(t, callback.Done, state)
	}
	claim("old-7", time.Minute)
	claim("dead-3", time.Minute)
}

// tableOf digs the unquoted table name out of the store's migration.
func tableOf(t *testing.T, s *callback.SQLStore) string {
	t.Helper()
	var name string
	_, err := fmt.Sscanf(s.MigrationSQL()[0], "CREATE TABLE IF NOT EXISTS %q", &name)
	require.NoError(t, err)
	return name
}

// TestSQLStoreRoundTrips counts protocol round trips on the wire: a
// callback processed now costs two (claim, commit), a duplicate one.
func TestSQLStoreRoundTrips(t *testing.T) {
	requireDSN(t)
	p := startProxy(t)
	db := p.openDB(t)
	db.SetMaxOpenConns(1)
	s := newSQLStore(t, db, callback.SQLConfig{})
	ctx := context.Background()

	callbackOnce := func(key string) {
		state, tok, err := s.Claim(ctx, key, time.Minute)
		require.NoError(t, err)
		require.Equal(t, callback.Won, state)
		require.NoError(t, s.Commit(ctx, key, tok, time.Hour))
	}
	callbackOnce("warm-up") // the driver prepares and caches each statement once per connection

	before := p.roundTrips.Load()
	const n = 50
	for i := range n {
		callbackOnce(fmt.Sprintf("k-%d", i))
	}
	require.Equal(t, int64(2*n), p.roundTrips.Load()-before, "round trips for %d processed callbacks", n)

	before = p.roundTrips.Load()
	for i := range n {
		state, _, err := s.Claim(ctx, fmt.Sprintf("k-%d", i), time.Minute)
		require.NoError(t, err)
		require.Equal(t, callback.Done, state)
	}
	require.Equal(t, int64(n), p.roundTrips.Load()-before, "round trips for %d duplicates", n)
}
