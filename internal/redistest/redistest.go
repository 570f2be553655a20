// Package redistest starts a private redis-server for a test: a random free
// loopback port, a temporary directory, nothing persisted, stopped when the
// test ends. Tests never touch the machine's shared Redis on 6379, and a test
// can stop and restart its server to see how code behaves when Redis goes away.
// StartDurable, StartSentinel and StartCluster run their data nodes with the
// append-only file, so a killed node restarted on its port and directory
// comes back with its data. The helpers that return an error rather than
// fail the test (Relaunch, CrashMaster, AwaitFailover, CrashMasterOf,
// RestartKilled) may be called from any goroutine, as the chaos suite's
// fault schedule does. The process itself is internal/redisproc's, the same
// as `baton demo` starts.
package redistest

import (
	"context"
	"testing"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// Server is one private redis-server process.
type Server struct {
	// Addr is host:port of the server; it stays the same across Restart.
	Addr string
	// TLSAddr is its TLS listener and CAFile the PEM certificate that
	// verifies it (StartWith with TLS); "" otherwise.
	TLSAddr, CAFile string
	// Password is what it requires of clients (StartWith); "" for none.
	Password string

	tb  testing.TB
	cfg redisproc.Config // beyond redisproc's defaults: StartDurable's AOF
	n   *node            // its process, directory and address
}

// Start launches a fresh redis-server for tb and registers its shutdown with
// tb.Cleanup. It fails the test (never skips it) when redis-server is missing:
// .ci/run installs it, and a silently skipped store test would prove nothing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, redisproc.Config{})
}

// StartDurable is Start with the append-only file on (appendonly yes,
// appendfsync everysec), as production runs Redis: a Stop (kill -9) and
// Restart keeps the writes Redis acknowledged, because Redis writes each
// to the file before it replies — except while a background fsync is
// pending on a slow disk, when everysec postpones the write (up to 2 s,
// the replies already sent): a test that must keep every write waits for
// INFO persistence's aof_buffer_length to be 0 before a Stop.
func StartDurable(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, redisproc.Config{Args: durableArgs})
}

func startServer(tb testing.TB, cfg redisproc.Config) *Server {
	tb.Helper()
	n := startNode(tb, serverBinary(tb), func(string, string) (redisproc.Config, error) { return cfg, nil })
	return &Server{Addr: n.addr, tb: tb, cfg: cfg, n: n}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.Password})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server at once (SIGKILL, as a crash would) and waits for it.
// Stopping a stopped server does nothing. Any goroutine may call it.
func (s *Server) Stop() { s.n.kill() }

// Restart starts the server again on the same address: with empty data,
// as a Redis without persistence comes back after a crash; for
// StartDurable's, with the data its append-only file kept. It fails the
// test when the server does not come back (Relaunch says why instead).
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.Relaunch(context.Background()); err != nil {
		s.tb.Fatal(err)
	}
}

// Relaunch starts a stopped server again on the same address and
// directory, as Restart does, and returns once it answers PING with PONG
// (its append-only file loaded), or an error after 15 seconds or when ctx
// ends. Unlike Restart it neither stops a running server (it leaves it
// alone) nor fails the test, so a goroutine other than the test's (a
// chaos suite's fault schedule) may call it.
func (s *Server) Relaunch(ctx context.Context) error { return s.n.restart(ctx, s.cfg) }

// Ctx is a context for test calls to Redis that ends with the test.
func Ctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return ctx
}
