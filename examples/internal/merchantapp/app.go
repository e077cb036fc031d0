// Package merchantapp is the example merchant server behind
// examples/merchant (in-memory dedup) and examples/postgres (dedup shared
// through PostgreSQL). It shows how a merchant's service mounts one
// paycallback handler per provider on an http.ServeMux, records what its
// function processed, and shuts down without acknowledging half-done work.
//
// Each provider lives in its own file, registering its flags and its
// routes with register in an init function.
package merchantapp

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/paycallback/paycallback/callback"
)

// Env is what a provider's routes are built with.
type Env struct {
	// Store is the dedup store all providers share.
	Store callback.Store
	// Events records what the merchant's functions processed.
	Events *EventLog
	// Logger receives one record per delivery.
	Logger *slog.Logger
	// Notes receives human-readable instructions (generated tokens, curl
	// commands): standard error.
	Notes io.Writer
	// BaseURL is where the server listens, for printed commands.
	BaseURL string
}

// mountFunc adds a provider's routes to mux. It runs after flag parsing.
type mountFunc func(mux *http.ServeMux, env *Env) error

type provider struct {
	name  string
	flags func(fs *flag.FlagSet) mountFunc
}

var providers []provider

// register adds a provider: flags declares its flags on fs and returns
// the function that mounts its routes once the flags are parsed.
func register(name string, flags func(fs *flag.FlagSet) mountFunc) {
	providers = append(providers, provider{name: name, flags: flags})
	slices.SortFunc(providers, func(a, b provider) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
}

// StoreFlags declares the flags of a dedup store and returns the function
// that opens it once they are parsed. The returned close function runs at
// shutdown, after the last callback finished.
type StoreFlags func(fs *flag.FlagSet) func(ctx context.Context) (callback.Store, func() error, error)

// Options vary the program.
type Options struct {
	// Name is the program's name in usage messages.
	Name string
	// Store opens the dedup store; nil means a callback.MemoryStore.
	Store StoreFlags
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return fmt.Sprint([]string(*m)) }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// App is the configured server, before it listens.
type App struct {
	Addr    string
	Handler http.Handler
	Env     *Env
	close   []func() error
}

// New parses args and builds the App. Notes (tokens, curl commands) are
// written to notes, events to stdout unless -events names a file.
func New(ctx context.Context, args []string, stdout, notes io.Writer, opts Options) (*App, error) {
	if opts.Name == "" {
		opts.Name = "merchant"
	}
	fs := flag.NewFlagSet(opts.Name, flag.ContinueOnError)
	fs.SetOutput(notes)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	eventsPath := fs.String("events", "", "append one JSON line per processed callback to `FILE` (default standard output)")
	openStore := func(context.Context) (callback.Store, func() error, error) {
		return callback.NewMemoryStore(callback.MemoryConfig{}), nil, nil
	}
	if opts.Store != nil {
		openStore = opts.Store(fs)
	}
	mounts := make([]mountFunc, 0, len(providers))
	for _, p := range providers {
		mounts = append(mounts, p.flags(fs))
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	app := &App{Addr: *addr}
	events := stdout
	if *eventsPath != "" {
		f, err := os.OpenFile(*eventsPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		events = f
		app.close = append(app.close, f.Close)
	}
	store, closeStore, err := openStore(ctx)
	if err != nil {
		app.Close()
		return nil, fmt.Errorf("opening the dedup store: %w", err)
	}
	if closeStore != nil {
		app.close = append(app.close, closeStore)
	}
	app.Env = &Env{
		Store:   store,
		Events:  &EventLog{w: events},
		Logger:  slog.New(slog.NewTextHandler(notes, nil)),
		Notes:   notes,
		BaseURL: "http://" + *addr,
	}
	mux := http.NewServeMux()
	for _, mount := range mounts {
		if err := mount(mux, app.Env); err != nil {
			app.Close()
			return nil, err
		}
	}
	app.Handler = mux
	return app, nil
}

// Close releases the event file and the store.
func (a *App) Close() error {
	var errs []error
	for i := len(a.close) - 1; i >= 0; i-- {
		errs = append(errs, a.close[i]())
	}
	a.close = nil
	return errors.Join(errs...)
}

// Serve listens on ln until ctx is done, then shuts down gracefully:
// callbacks in flight finish (and are committed or released) before Serve
// returns, and new connections are refused.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(a.Env.Notes, "shutting down: waiting for callbacks in flight")
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Main runs the program with os.Args until SIGINT or SIGTERM, and returns
// its exit code.
func Main(opts Options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := New(ctx, os.Args[1:], os.Stdout, os.Stderr, opts)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer app.Close()
	ln, err := net.Listen("tcp", app.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	if err := app.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// EventLog appends one JSON line per processed callback. It is safe for
// concurrent use.
type EventLog struct {
	mu sync.Mutex
	w  io.Writer
}

// Record appends {"provider":…, "key":…, "event":…} plus fields, as one
// line. An error from Record makes the merchant's function fail, so the
// callback is released and retried rather than acknowledged unrecorded.
func (l *EventLog) Record(provider, key, event string, fields map[string]any) error {
	line := make(map[string]any, len(fields)+4)
	for k, v := range fields {
		line[k] = v
	}
	line["provider"], line["key"], line["event"] = provider, key, event
	line["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b); err != nil {
		return err
	}
	if f, ok := l.w.(*os.File); ok && f != os.Stdout {
		return f.Sync()
	}
	return nil
}
