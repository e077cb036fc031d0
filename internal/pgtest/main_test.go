package pgtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/paycallback/paycallback/callback"
)

const dsnEnv = "PAYCALLBACK_TEST_DSN"

var dsn = os.Getenv(dsnEnv)

func TestMain(m *testing.M) {
	if dsn == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, dsnEnv+" unset with CI set: refusing to skip the PostgreSQL tests (start one with .ci/start-postgres)")
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "")
		fmt.Fprintln(os.Stderr, "################################################################")
		fmt.Fprintln(os.Stderr, "# "+dsnEnv+" unset: SKIPPING all PostgreSQL tests")
		fmt.Fprintln(os.Stderr, "# run: PAYCALLBACK_TEST_DSN=$(.ci/start-postgres) go test ./...")
		fmt.Fprintln(os.Stderr, "################################################################")
		fmt.Fprintln(os.Stderr, "")
	}
	os.Exit(m.Run())
}

// requireDSN skips the test, loudly, when no database is configured.
func requireDSN(tb testing.TB) {
	tb.Helper()
	if dsn == "" {
		tb.Skip(dsnEnv + " unset: SKIPPING (needs a real PostgreSQL)")
	}
}

// openDB opens a pool on the test database, closed when tb ends.
func openDB(tb testing.TB) *sql.DB {
	tb.Helper()
	requireDSN(tb)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("open %s: %v", dsnEnv, err)
	}
	db.SetMaxIdleConns(32)
	tb.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		tb.Fatalf("ping %s: %v", dsnEnv, err)
	}
	return db
}

// tableName returns a table name no other test or run uses.
func tableName() string {
	return fmt.Sprintf("pgtest_%016x", rand.Uint64())
}

// newSQLStore creates a migrated SQLStore on a fresh table of db, dropped
// when tb ends.
func newSQLStore(tb testing.TB, db *sql.DB, cfg callback.SQLConfig) *callback.SQLStore {
	tb.Helper()
	if cfg.Table == "" {
		cfg.Table = tableName()
	}
	s, err := callback.NewSQLStore(db, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	dropTable(tb, db, cfg.Table)
	return s
}

// dropTable drops table when tb ends.
func dropTable(tb testing.TB, db *sql.DB, table string) {
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`); err != nil {
			tb.Errorf("drop %s: %v", table, err)
		}
	})
}
