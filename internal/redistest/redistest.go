// Package redistest starts a private redis-server for a test: a random free
// loopback port, a temporary directory, nothing persisted, stopped when the
// test ends. Tests never touch the machine's shared Redis on 6379, and a test
// can stop and restart its server to see how code behaves when Redis goes away.
// The process itself is internal/redisproc's, the same as `baton demo` starts.
package redistest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// Server is one private redis-server process.
type Server struct {
	// Addr is host:port of the server; it stays the same across Restart.
	Addr string

	tb  testing.TB
	bin string
	dir string
	cfg redisproc.Config // beyond redisproc's defaults: StartDurable's AOF

	mu   sync.Mutex
	proc *redisproc.Process // nil while stopped
}

// Start launches a fresh redis-server for tb and registers its shutdown with
// tb.Cleanup. It fails the test (never skips it) when redis-server is missing:
// .ci/run installs it, and a silently skipped store test would prove nothing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := redisproc.Binary("")
	if err != nil {
		tb.Fatalf("redistest: redis-server not found on PATH (apt-get install redis-server): %v", err)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	p, err := redisproc.Start(context.Background(), bin, s.dir)
	if err != nil {
		tb.Fatalf("redistest: start redis-server: %v", err)
	}
	s.Addr, s.proc = p.Addr, p
	tb.Cleanup(s.Stop)
	return s
}

// StartDurable is Start with the append-only file on (appendonly yes,
// appendfsync everysec), as production runs Redis: a Stop (kill -9) and
// Restart keeps every write Redis acknowledged, because Redis writes each
// to the file before it replies (everysec only bounds what a crash of the
// whole machine loses).
func StartDurable(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: serverBinary(tb), cfg: redisproc.Config{Args: durableArgs}}
	n := startNode(tb, s.bin, func(string, string) (redisproc.Config, error) { return s.cfg, nil })
	// The node's own cleanup would kill a process Restart has replaced;
	// the Server owns it from here.
	n.mu.Lock()
	s.Addr, s.dir, s.proc = n.addr, n.dir, n.proc
	n.proc = nil
	n.mu.Unlock()
	tb.Cleanup(s.Stop)
	return s
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server at once (SIGKILL, as a crash would) and waits for it.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	s.proc.Kill()
	s.proc = nil
}

// Restart starts the server again on the same address: with empty data,
// as a Redis without persistence comes back after a crash; for
// StartDurable's, with the data its append-only file kept.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := redisproc.LaunchWith(context.Background(), s.bin, s.dir, s.Addr, s.cfg)
		if err == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond) // the port may still be closing
	}
}

// Ctx is a context for test calls to Redis that ends with the test.
func Ctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return ctx
}
