package callback

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultSQLTable is the table a SQLStore uses when SQLConfig.Table is empty.
const DefaultSQLTable = "paycallback_dedup"

// SQLConfig configures a SQLStore. The zero value uses the table
// DefaultSQLTable and the database's clock.
type SQLConfig struct {
	// Table names the dedup table: a lowercase SQL identifier of letters,
	// digits and underscores, at most 48 characters, optionally qualified
	// by a schema ("billing.paycallback_dedup"). Empty means
	// DefaultSQLTable. Anything else is refused by NewSQLStore, so the name
	// can never inject SQL.
	Table string

	// Now, if non-nil, is the clock that leases and TTLs are measured
	// against: its time is sent with every statement. Nil means the
	// database's own clock (now()), which every instance sharing the
	// database sees alike, so application servers with skewed clocks
	// cannot expire each other's leases early. Set it only in tests.
	Now func() time.Time
}

// SQLStore is a Store over a *sql.DB that several instances of a service
// share: a claim won by one instance is seen by all of them. It is safe for
// concurrent use.
//
// The library imports no database driver: the caller opens db with the
// driver of its choice (for example github.com/jackc/pgx/v5/stdlib) and
// keeps it open while the store is used. The SQL is PostgreSQL's (9.5 or
// newer for INSERT ... ON CONFLICT; tested with PostgreSQL 15 through
// pgx's database/sql driver). No other database is supported.
//
// Each method is one SQL statement and one round trip; Claim and Commit, the
// happy path of a callback, are two. No transaction stays open while the
// merchant's function runs: a claim is a row whose lease expires, so a
// crashed instance blocks its key for at most the lease.
//
// The table (see MigrationSQL) holds one row per key: the key as text (keys
// longer than 512 bytes, or not valid UTF-8, or containing NUL, are stored
// as "sha256:" followed by the hex SHA-256 of the key and a readable
// prefix), the token of the claim that holds it, whether its work is done,
// and when the lease or the TTL expires. Expired rows stop mattering at
// once (the next Claim takes them over) and are deleted by Purge, which a
// merchant schedules to keep the table small.
type SQLStore struct {
	db  *sql.DB
	now func() time.Time

	table      string // validated, quoted, possibly schema-qualified
	index      string // quoted, unqualified
	claimSQL   string
	commitSQL  string
	releaseSQL string
	purgeSQL   string
}

var _ Store = (*SQLStore)(nil)

// ErrSQLTable is returned by NewSQLStore for a table name it refuses.
var ErrSQLTable = errors.New("callback: invalid SQL table name")

// NewSQLStore returns a Store over db using the table cfg names. It does not
// contact the database: call Migrate once to create the table, or create it
// yourself from MigrationSQL. It returns an error wrapping ErrSQLTable for a
// table name that is not a plain lowercase identifier, and an error for a nil
// db.
func NewSQLStore(db *sql.DB, cfg SQLConfig) (*SQLStore, error) {
	if db == nil {
		return nil, errors.New("callback: NewSQLStore: nil *sql.DB")
	}
	name := cfg.Table
	if name == "" {
		name = DefaultSQLTable
	}
	schema, table, err := splitTable(name)
	if err != nil {
		return nil, err
	}
	s := &SQLStore{db: db, now: cfg.Now}
	s.table = `"` + table + `"`
	if schema != "" {
		s.table = `"` + schema + `".` + s.table
	}
	s.index = `"` + table + `_expires_at_idx"`

	// Every statement takes the clock as a nullable parameter: NULL means
	// the database's now().
	const now = `COALESCE($3::timestamptz, now())`
	s.claimSQL = `INSERT INTO ` + s.table + ` AS d (key, token, done, expires_at)
VALUES ($1, $2, false, ` + now + ` + $4::bigint * interval '1 microsecond')
ON CONFLICT (key) DO UPDATE SET
	token = CASE WHEN d.expires_at <= ` + now + ` THEN excluded.token ELSE d.token END,
	done = CASE WHEN d.expires_at <= ` + now + ` THEN false ELSE d.done END,
	expires_at = CASE WHEN d.expires_at <= ` + now + ` THEN excluded.expires_at ELSE d.expires_at END
RETURNING token, done`
	s.commitSQL = `UPDATE ` + s.table + `
SET done = true, expires_at = ` + now + ` + $4::bigint * interval '1 microsecond'
WHERE key = $1 AND token = $2 AND NOT done`
	s.releaseSQL = `DELETE FROM ` + s.table + ` WHERE key = $1 AND token = $2 AND NOT done`
	s.purgeSQL = `DELETE FROM ` + s.table + `
WHERE key IN (
	SELECT key FROM ` + s.table + `
	WHERE expires_at <= COALESCE($1::timestamptz, now())
	ORDER BY expires_at
	LIMIT $2
	FOR UPDATE SKIP LOCKED
) AND expires_at <= COALESCE($1::timestamptz, now())`
	return s, nil
}

// splitTable validates an optionally schema-qualified table name.
func splitTable(name string) (schema, table string, err error) {
	table = name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		schema, table = name[:i], name[i+1:]
		if !validIdent(schema) {
			return "", "", fmt.Errorf("%w: %q", ErrSQLTable, name)
		}
	}
	if !validIdent(table) {
		return "", "", fmt.Errorf("%w: %q", ErrSQLTable, name)
	}
	return schema, table, nil
}

// validIdent reports whether s is a lowercase identifier of at most 48
// bytes: short enough that the index name derived from it fits PostgreSQL's
// 63-byte limit.
func validIdent(s string) bool {
	if s == "" || len(s) > 48 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// MigrationSQL returns the statements that Migrate runs, for merchants who
// manage their schema with their own tools. For the default table they are:
//
//	CREATE TABLE IF NOT EXISTS "paycallback_dedup" (
//		key        text        PRIMARY KEY,
//		token      bigint      NOT NULL,
//		done       boolean     NOT NULL,
//		expires_at timestamptz NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS "paycallback_dedup_expires_at_idx"
//		ON "paycallback_dedup" (expires_at);
func (s *SQLStore) MigrationSQL() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
	key        text        PRIMARY KEY,
	token      bigint      NOT NULL,
	done       boolean     NOT NULL,
	expires_at timestamptz NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + s.index + `
	ON ` + s.table + ` (expires_at)`,
	}
}

// Migrate creates the store's table and its index if they do not exist. It
// is idempotent and safe to run from several instances at once (a
// transaction-scoped advisory lock serializes them). It does not create the
// schema of a schema-qualified table.
func (s *SQLStore) Migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("callback: sql store migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// Concurrent CREATE TABLE IF NOT EXISTS can still fail on a unique
	// violation in the catalog; the lock makes the instances take turns.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "paycallback:"+s.table); err != nil {
		return fmt.Errorf("callback: sql store migrate: %w", err)
	}
	for _, stmt := range s.MigrationSQL() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("callback: sql store migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("callback: sql store migrate: %w", err)
	}
	return nil
}

// clock returns the statement's clock parameter: nil (SQL NULL, meaning the
// database's now()) unless Now is configured.
func (s *SQLStore) clock() any {
	if s.now == nil {
		return nil
	}
	return s.now().UTC()
}

// micros converts d to whole microseconds, PostgreSQL's resolution,
// rounding up so that a positive duration never becomes zero.
func micros(d time.Duration) int64 {
	if d > math.MaxInt64-time.Microsecond {
		return math.MaxInt64 / int64(time.Microsecond)
	}
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// Claim implements Store in one INSERT ... ON CONFLICT DO UPDATE statement:
// it inserts the key, or takes over a row whose lease or TTL has expired,
// and otherwise leaves the row as it is and reports its state. The row lock
// the statement takes makes concurrent claims of one key, from any
// instance, take turns: exactly one wins. lease must be positive. An error
// means the database could not be reached or refused the statement
// (including ctx's error, wrapped, when ctx ends first); the key's state is
// then unchanged or, if the statement committed but its reply was lost, a
// lease that nobody holds and that expires on its own.
func (s *SQLStore) Claim(ctx context.Context, key string, lease time.Duration) (State, Token, error) {
	if lease <= 0 {
		return 0, 0, fmt.Errorf("callback: sql store claim: non-positive lease %v", lease)
	}
	// A random token: the row's token is replaced by ours only if we win,
	// so reading ours back means we won. Two claims of one key collide
	// with probability 2^-63.
	token := rand.Int64N(math.MaxInt64) + 1
	var (
		got  int64
		done bool
	)
	err := s.db.QueryRowContext(ctx, s.claimSQL, dbKey(key), token, s.clock(), micros(lease)).Scan(&got, &done)
	if err != nil {
		return 0, 0, fmt.Errorf("callback: sql store claim: %w", err)
	}
	switch {
	case done:
		return Done, 0, nil
	case got == token:
		return Won, Token(token), nil
	default:
		return InFlight, 0, nil
	}
}

// Commit implements Store in one UPDATE: it marks the key done until ttl
// has passed, if token still holds it. It returns ErrLeaseLost when no row
// matches: the claim was released, committed already, or expired and was
// taken over or purged. A holder whose lease expired but that nobody took
// over can still commit: its token is still the key's. ttl must be
// positive.
func (s *SQLStore) Commit(ctx context.Context, key string, token Token, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("callback: sql store commit: non-positive ttl %v", ttl)
	}
	res, err := s.db.ExecContext(ctx, s.commitSQL, dbKey(key), int64(token), s.clock(), micros(ttl))
	return s.one("commit", res, err)
}

// Release implements Store in one DELETE of the key's row, if token still
// holds it and its work is not done. It returns ErrLeaseLost when no row
// matches.
func (s *SQLStore) Release(ctx context.Context, key string, token Token) error {
	res, err := s.db.ExecContext(ctx, s.releaseSQL, dbKey(key), int64(token))
	return s.one("release", res, err)
}

func (s *SQLStore) one(op string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("callback: sql store %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("callback: sql store %s: %w", op, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Purge deletes rows whose lease or TTL has expired, in batches of at most
// batch rows (1000 if batch <= 0). Each batch is one short statement of its
// own that skips rows other statements hold locked, so Purge never blocks
// claims for long; it stops when a batch deletes fewer than batch rows, or
// when ctx ends. It returns how many rows it deleted. Merchants schedule it
// (say hourly) only to keep the table small: expired rows are already
// ignored by Claim.
func (s *SQLStore) Purge(ctx context.Context, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.purgeSQL, s.clock(), batch)
		if err != nil {
			return total, fmt.Errorf("callback: sql store purge: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("callback: sql store purge: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// maxKeyLen is the longest key stored as it is. Longer keys are hashed:
// PostgreSQL's btree refuses index entries over about 2.7 kB.
const maxKeyLen = 512

// hashedKeyPrefix starts every hashed key. Keys that start with it are
// hashed too, so a stored key is never ambiguous.
const hashedKeyPrefix = "sha256:"

// dbKey returns the text stored for key: key itself when PostgreSQL's text
// can hold it and the index can take it, otherwise "sha256:", the hex
// SHA-256 of key, a space and a readable prefix of key.
func dbKey(key string) string {
	if len(key) <= maxKeyLen && utf8.ValidString(key) &&
		!strings.ContainsRune(key, 0) && !strings.HasPrefix(key, hashedKeyPrefix) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	var b strings.Builder
	b.WriteString(hashedKeyPrefix)
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte(' ')
	for _, r := range key {
		if b.Len() >= len(hashedKeyPrefix)+64+1+64 {
			break
		}
		if r == utf8.RuneError || r == 0 {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
