package callback_test

// These tests run SQLStore against a scripted database/sql driver: they pin
// what the store sends (one statement per call, the parameters, the key
// encoding, the table name) and how it reads the replies. What the SQL does
// in a real PostgreSQL is tested by the conformance suite in the
// internal/pgtest module.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
)

func TestNewSQLStoreTable(t *testing.T) {
	db := sql.OpenDB(&fakeConnector{})
	t.Cleanup(func() { db.Close() })

	valid := map[string]string{
		"":                      `"paycallback_dedup"`,
		"paycallback_dedup":     `"paycallback_dedup"`,
		"dedup2":                `"dedup2"`,
		"_x":                    `"_x"`,
		"billing.dedup":         `"billing"."dedup"`,
		strings.Repeat("a", 48): `"` + strings.Repeat("a", 48) + `"`,
	}
	for name, quoted := range valid {
		t.Run("valid/"+name, func(t *testing.T) {
			s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: name})
			require.NoError(t, err)
			stmts := s.MigrationSQL()
			require.Len(t, stmts, 2)
			require.Contains(t, stmts[0], "CREATE TABLE IF NOT EXISTS "+quoted+" (")
			require.Contains(t, stmts[1], "ON "+quoted+" (expires_at)")
		})
	}
	invalid := []string{
		"Dedup", "dedup;drop table users", "1dedup", `de"dup`, "a.b.c", ".dedup",
		"dedup.", "de dup", "dédup", "dedup--", strings.Repeat("a", 49),
	}
	for _, name := range invalid {
		t.Run("invalid/"+name, func(t *testing.T) {
			s, err := callback.NewSQLStore(db, callback.SQLConfig{Table: name})
			require.ErrorIs(t, err, callback.ErrSQLTable)
			require.Nil(t, s)
		})
	}
}

func TestNewSQLStoreNilDB(t *testing.T) {
	s, err := callback.NewSQLStore(nil, callback.SQLConfig{})
	require.Error(t, err)
	require.Nil(t, s)
}

func TestSQLStoreClaimStates(t *testing.T) {
	cases := []struct {
		name  string
		reply func(ourToken int64) []driver.Value
		want  callback.State
	}{
		{"inserted or taken over", func(tok int64) []driver.Value { return []driver.Value{tok, false} }, callback.Won},
		{"held by another", func(tok int64) []driver.Value { return []driver.Value{tok + 1, false} }, callback.InFlight},
		{"done", func(tok int64) []driver.Value { return []driver.Value{int64(7), true} }, callback.Done},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConnector{respond: func(c call) reply {
				return reply{rows: [][]driver.Value{tc.reply(c.args[1].(int64))}}
			}}
			s := newFakeStore(t, fc, callback.SQLConfig{})
			state, token, err := s.Claim(context.Background(), "k", time.Minute)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, state); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			calls := fc.calls()
			require.Len(t, calls, 1, "Claim must be one statement")
			require.True(t, strings.HasPrefix(calls[0].query, `INSERT INTO "paycallback_dedup"`), calls[0].query)
			if tc.want == callback.Won {
				require.Equal(t, calls[0].args[1], int64(token))
				require.Positive(t, int64(token))
			}
		})
	}
}

func TestSQLStoreParameters(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	fc := &fakeConnector{respond: func(c call) reply {
		if strings.HasPrefix(c.query, "INSERT") {
			return reply{rows: [][]driver.Value{{c.args[1], false}}}
		}
		return reply{affected: 1}
	}}
	s := newFakeStore(t, fc, callback.SQLConfig{Now: func() time.Time { return at }})
	ctx := context.Background()

	_, tok, err := s.Claim(ctx, "purchase.paid/42", time.Nanosecond)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx, "purchase.paid/42", tok, 36*time.Hour+30*time.Minute))
	require.NoError(t, s.Release(ctx, "purchase.paid/42", tok))

	want := [][]any{
		{"purchase.paid/42", int64(tok), at.UTC(), int64(1)}, // lease rounded up to 1µs
		{"purchase.paid/42", int64(tok), at.UTC(), int64((36*time.Hour + 30*time.Minute) / time.Microsecond)},
		{"purchase.paid/42", int64(tok)},
	}
	var got [][]any
	for _, c := range fc.calls() {
		got = append(got, c.args)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement parameters (-want +got):\n%s", diff)
	}
}

func TestSQLStoreDatabaseClockByDefault(t *testing.T) {
	fc := &fakeConnector{respond: func(c call) reply {
		return reply{rows: [][]driver.Value{{c.args[1], false}}}
	}}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	_, _, err := s.Claim(context.Background(), "k", time.Minute)
	require.NoError(t, err)
	calls := fc.calls()
	require.Len(t, calls, 1)
	require.Nil(t, calls[0].args[2], "no Now: the clock parameter must be NULL so the database uses now()")
	require.Contains(t, calls[0].query, "COALESCE($3::timestamptz, now())")
}

func TestSQLStoreLeaseLost(t *testing.T) {
	fc := &fakeConnector{respond: func(call) reply { return reply{affected: 0} }}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	ctx := context.Background()
	require.ErrorIs(t, s.Commit(ctx, "k", 1, time.Hour), callback.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, "k", 1), callback.ErrLeaseLost)
}

func TestSQLStoreErrorsWrapped(t *testing.T) {
	errDown := errors.New("connection refused")
	fc := &fakeConnector{respond: func(call) reply { return reply{err: errDown} }}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	ctx := context.Background()

	_, _, err := s.Claim(ctx, "k", time.Minute)
	require.ErrorIs(t, err, errDown)
	require.NotErrorIs(t, err, callback.ErrLeaseLost)
	err = s.Commit(ctx, "k", 1, time.Hour)
	require.ErrorIs(t, err, errDown)
	require.NotErrorIs(t, err, callback.ErrLeaseLost)
	err = s.Release(ctx, "k", 1)
	require.ErrorIs(t, err, errDown)
	require.NotErrorIs(t, err, callback.ErrLeaseLost)
}

func TestSQLStoreRefusesNonPositiveDurations(t *testing.T) {
	fc := &fakeConnector{}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	ctx := context.Background()
	_, _, err := s.Claim(ctx, "k", 0)
	require.Error(t, err)
	require.Error(t, s.Commit(ctx, "k", 1, -time.Second))
	require.Empty(t, fc.calls(), "nothing may reach the database")
}

func TestSQLStoreCanceledContext(t *testing.T) {
	fc := &fakeConnector{}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Claim(ctx, "k", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Commit(ctx, "k", 1, time.Hour), context.Canceled)
	require.ErrorIs(t, s.Release(ctx, "k", 1), context.Canceled)
	require.Empty(t, fc.calls())
}

func TestSQLStoreKeyEncoding(t *testing.T) {
	long := strings.Repeat("x", 600)
	cases := []struct {
		name     string
		key      string
		verbatim bool
	}{
		{"plain", "chip/purchase.paid/9d1c", true},
		{"unicode", "ключ-✓", true},
		{"at the limit", strings.Repeat("y", 512), true},
		{"over the limit", long, false},
		{"over the limit, other tail", long + "z", false},
		{"NUL", "a\x00b", false},
		{"invalid UTF-8", "a\xffb", false},
		{"looks hashed", "sha256:abc", false},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConnector{respond: func(c call) reply {
				return reply{rows: [][]driver.Value{{c.args[1], false}}}
			}}
			s := newFakeStore(t, fc, callback.SQLConfig{})
			_, _, err := s.Claim(context.Background(), tc.key, time.Minute)
			require.NoError(t, err)
			stored := fc.calls()[0].args[0].(string)
			if tc.verbatim {
				require.Equal(t, tc.key, stored)
			} else {
				require.True(t, strings.HasPrefix(stored, "sha256:"), stored)
				require.LessOrEqual(t, len(stored), 7+64+1+64+4)
				require.True(t, utf8.ValidString(stored))
				require.NotContains(t, stored, "\x00")
			}
			if other, dup := seen[stored]; dup {
				t.Fatalf("keys %q and %q are stored alike", other, tc.key)
			}
			seen[stored] = tc.key

			// The same key always maps to the same row.
			_, _, err = s.Claim(context.Background(), tc.key, time.Minute)
			require.NoError(t, err)
			require.Equal(t, stored, fc.calls()[1].args[0])
		})
	}
}

func TestSQLStorePurgeBatches(t *testing.T) {
	left := 2500
	fc := &fakeConnector{respond: func(c call) reply {
		n := min(left, int(c.args[1].(int64)))
		left -= n
		return reply{affected: int64(n)}
	}}
	s := newFakeStore(t, fc, callback.SQLConfig{})
	n, err := s.Purge(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, int64(2500), n)
	calls := fc.calls()
	require.Len(t, calls, 3, "batches of the default 1000: 1000, 1000, 500")
	for _, c := range calls {
		require.Contains(t, c.query, "FOR UPDATE SKIP LOCKED")
		require.Equal(t, int64(1000), c.args[1])
	}
}

func newFakeStore(t *testing.T, fc *fakeConnector, cfg callback.SQLConfig) *callback.SQLStore {
	t.Helper()
	db := sql.OpenDB(fc)
	t.Cleanup(func() { db.Close() })
	s, err := callback.NewSQLStore(db, cfg)
	require.NoError(t, err)
	return s
}

// A scripted database/sql driver: every statement is recorded and answered
// by respond.

type call struct {
	query string
	args  []any
}

type reply struct {
	rows     [][]driver.Value
	affected int64
	err      error
}

type fakeConnector struct {
	respond func(call) reply

	mu  sync.Mutex
	log []call
}

func (fc *fakeConnector) calls() []call {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]call(nil), fc.log...)
}

func (fc *fakeConnector) do(query string, args []driver.NamedValue) reply {
	c := call{query: query}
	for _, a := range args {
		c.args = append(c.args, a.Value)
	}
	fc.mu.Lock()
	fc.log = append(fc.log, c)
	fc.mu.Unlock()
	if fc.respond == nil {
		return reply{err: errors.New("fake: no reply scripted")}
	}
	return fc.respond(c)
}

func (fc *fakeConnector) Connect(context.Context) (driver.Conn, error) { return fakeConn{fc}, nil }
func (fc *fakeConnector) Driver() driver.Driver                        { return nil }

type fakeConn struct{ fc *fakeConnector }

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("fake: no Prepare") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("fake: no transactions") }

func (c fakeConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r := c.fc.do(query, args)
	if r.err != nil {
		return nil, r.err
	}
	return &fakeRows{rows: r.rows}, nil
}

func (c fakeConn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r := c.fc.do(query, args)
	if r.err != nil {
		return nil, r.err
	}
	return driver.RowsAffected(r.affected), nil
}

type fakeRows struct{ rows [][]driver.Value }

func (r *fakeRows) Columns() []string { return []string{"token", "done"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}
