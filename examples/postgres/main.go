// Command postgres is examples/merchant with its dedup store in PostgreSQL:
// several instances of it, behind one load balancer and sharing one
// database, process every provider event exactly once, whichever instance
// each delivery and retry lands on.
//
//	go run . -dsn 'postgres://user:pass@db.internal:5432/shop' -addr 127.0.0.1:8081
//
// It takes every flag of examples/merchant (-addr, -events, -avarda-auth,
// ...) plus -dsn, -table, -migrate and -purge-every; -h lists them. The
// database driver (pgx) is imported here, in a module of its own, so the
// paycallback library itself depends on no driver. See README.md for two
// instances on one database.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

func main() {
	os.Exit(merchantapp.Main(merchantapp.Options{Name: "postgres", Store: sqlStoreFlags}))
}

// sqlStoreFlags declares the store's flags and returns the function that
// opens it: a pool on -dsn, the table migrated, and a purge of expired
// rows every -purge-every until the server shuts down.
func sqlStoreFlags(fs *flag.FlagSet) func(ctx context.Context) (callback.Store, func() error, error) {
	dsn := fs.String("dsn", "", "PostgreSQL connection `string` (URL or key=value), shared by every instance; required")
	table := fs.String("table", callback.DefaultSQLTable, "dedup `table`, optionally schema.table")
	migrate := fs.Bool("migrate", true, "create the dedup table if it does not exist (idempotent; turn off if you manage the schema yourself)")
	purgeEvery := fs.Duration("purge-every", time.Hour, "delete expired dedup rows this often (0: never)")
	return func(ctx context.Context) (callback.Store, func() error, error) {
		if *dsn == "" {
			return nil, nil, errors.New("-dsn is required")
		}
		db, err := sql.Open("pgx", *dsn)
		if err != nil {
			return nil, nil, err
		}
		// Each callback holds a connection for one statement at a time:
		// a small pool serves many concurrent callbacks.
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("-dsn: %w", err)
		}
		s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: *table})
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("-table: %w", err)
		}
		if *migrate {
			if err := s.Migrate(pctx); err != nil {
				db.Close()
				return nil, nil, err
			}
		}
		stop, wait := purge(s, *purgeEvery)
		return s, func() error {
			stop()
			wait()
			return db.Close()
		}, nil
	}
}

// purge runs s.Purge every interval until stop is called; wait returns
// once it has stopped.
func purge(s *callback.SQLStore, every time.Duration) (stop func(), wait func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if every > 0 {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if n, err := s.Purge(ctx, 1000); err != nil && ctx.Err() == nil {
					slog.Warn("paycallback: purging expired dedup rows", "deleted", n, "error", err)
				}
			}
		})
	}
	return cancel, wg.Wait
}
