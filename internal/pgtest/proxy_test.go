package pgtest_test

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// A proxy is a TCP relay on loopback in front of the test database. Stop
// makes the database unreachable (the port refuses connections and open
// ones are cut); Start brings it back on the same address. It counts the
// server's ReadyForQuery messages: one per protocol round trip.
type proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup

	roundTrips atomic.Int64
}

// startProxy starts a proxy to the database PAYCALLBACK_TEST_DSN names,
// stopped when tb ends.
func startProxy(tb testing.TB) *proxy {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	tb.Cleanup(func() {
		p.Stop()
		p.wg.Wait()
	})
	return p
}

// openDB opens a pool on the database through the proxy, closed when tb
// ends.
func (p *proxy) openDB(tb testing.TB) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	cfg.Host, cfg.Port, cfg.Fallbacks = host, uint16(n), nil
	cfg.TLSConfig = nil // no SSLRequest: the counter reads plain messages only
	db := stdlib.OpenDB(*cfg)
	db.SetMaxIdleConns(32)
	tb.Cleanup(func() { db.Close() })
	return db
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.relay(c) })
		}
	})
}

// Stop closes the listener and every relayed connection.
func (p *proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Start listens again on the proxy's address.
func (p *proxy) Start(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		tb.Fatalf("proxy restart on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

func (p *proxy) relay(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(server, client)
		server.Close()
	})
	wg.Go(func() {
		io.Copy(&messageCounter{w: client, ready: &p.roundTrips}, server)
		client.Close()
	})
	wg.Wait()
}

// messageCounter passes the server's bytes through and counts its
// ReadyForQuery ('Z') messages. Every message from the server is a type
// byte and a big-endian length that includes itself.
type messageCounter struct {
	w     io.Writer
	ready *atomic.Int64

	hdr  [5]byte
	have int   // header bytes read so far
	skip int64 // body bytes still to pass over
}

func (m *messageCounter) Write(b []byte) (int, error) {
	for rest := b; len(rest) > 0; {
		if m.skip > 0 {
			n := min(int64(len(rest)), m.skip)
			m.skip -= n
			rest = rest[n:]
			continue
		}
		n := copy(m.hdr[m.have:], rest)
		m.have += n
		rest = rest[n:]
		if m.have < len(m.hdr) {
			break
		}
		m.have = 0
		length := int64(binary.BigEndian.Uint32(m.hdr[1:]))
		if length < 4 {
			return 0, errors.New("proxy: malformed server message")
		}
		m.skip = length - 4
		if m.hdr[0] == 'Z' {
			m.ready.Add(1)
		}
	}
	return m.w.Write(b)
}
