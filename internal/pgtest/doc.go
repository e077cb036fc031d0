// Package pgtest holds the tests that need a real PostgreSQL: the Store
// conformance suite on callback.SQLStore, the benchmarks of claim + commit
// beside the memory store's, two handler instances sharing one database,
// and a database outage.
//
// It is a module of its own so that the driver it tests with
// (github.com/jackc/pgx/v5) never appears in the library's go.mod. Run it
// from this directory against a throwaway server:
//
//	dsn=$(../../.ci/start-postgres)
//	PAYCALLBACK_TEST_DSN=$dsn go test -race ./...
//	PAYCALLBACK_TEST_DSN=$dsn go test -run '^$' -bench . ./...
//	../../.ci/stop-postgres
//
// Without PAYCALLBACK_TEST_DSN every test is skipped and says so loudly;
// with CI set in the environment, a missing DSN fails the run instead.
// Each test works in tables of its own, dropped when it ends, so runs
// sharing a database do not collide.
package pgtest
