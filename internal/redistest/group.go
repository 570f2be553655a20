package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// durableArgs are what every data node of a Sentinel group or a Cluster runs
// with: the append-only file, flushed every second, as production should.
var durableArgs = []string{"--appendonly", "yes", "--appendfsync", "everysec"}

// node is one process of a group (a master, a replica, a Sentinel, a
// cluster node), in its own directory.
type node struct {
	addr string
	dir  string
	bin  string
	cfg  redisproc.Config // what it was started with

	mu   sync.Mutex
	proc *redisproc.Process // nil once killed
}

// startNode launches a process in a fresh directory of tb on a free port,
// retrying on another port when one was taken in between. cfgFor builds
// the process's config from its directory and address.
func startNode(tb testing.TB, bin string, cfgFor func(dir, addr string) (redisproc.Config, error)) *node {
	tb.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := redisproc.FreeAddr()
		if err != nil {
			tb.Fatalf("redistest: find a free port: %v", err)
		}
		dir := tb.TempDir()
		cfg, err := cfgFor(dir, addr)
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		p, err := redisproc.LaunchWith(context.Background(), bin, dir, addr, cfg)
		if err == nil {
			n := &node{addr: addr, dir: dir, bin: bin, cfg: cfg, proc: p}
			tb.Cleanup(n.kill)
			return n
		}
		lastErr = err
	}
	tb.Fatalf("redistest: start %s: %v", bin, lastErr)
	return nil
}

// kill ends the process at once (SIGKILL); killing a killed node does nothing.
func (n *node) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		n.proc.Kill()
		n.proc = nil
	}
}

// running reports whether the node's process is up (not killed).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc != nil
}

// client is a short-lived connection to the node for the helpers' own
// questions; the caller closes it.
func (n *node) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
}

// restartWithin is how long a restart may take: the killed process's port
// to be free again, its append-only file to load.
const restartWithin = 15 * time.Second

// restart launches a killed node again on its address and directory with
// cfg (its data: the append-only file; a cluster node's nodes.conf) and
// waits until it answers PING with PONG, not LOADING. A launch that fails,
// as one does while the old process's port is still closing, is retried
// until restartWithin has passed or ctx ends. Restarting a running node
// does nothing. It returns an error rather than failing a test, so that a
// fault goroutine may call it.
func (n *node) restart(ctx context.Context, cfg redisproc.Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		return nil
	}
	return poll(ctx, restartWithin, "restart on "+n.addr, func(ctx context.Context) error {
		if n.proc == nil {
			p, err := redisproc.LaunchWith(ctx, n.bin, n.dir, n.addr, cfg)
			if err != nil {
				return err
			}
			n.proc = p
		}
		return redisproc.Ping(ctx, n.addr, redisproc.Login{})
	})
}

// waitFor polls cond every 20 ms until it returns nil, for at most within,
// and fails tb with what it waited for and cond's last error.
func waitFor(tb testing.TB, within time.Duration, what string, cond func(ctx context.Context) error) {
	tb.Helper()
	if err := poll(context.Background(), within, what, cond); err != nil {
		tb.Fatal(err)
	}
}

// poll is waitFor for any goroutine: it returns, rather than fails the
// test with, "redistest: <what> not within <within>: <cond's last error>"
// (or ctx's error when ctx ends first).
func poll(ctx context.Context, within time.Duration, what string, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error // the condition's last answer before the deadline
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				if last == nil {
					last = err
				}
				return fmt.Errorf("redistest: %s not within %s: %w", what, within, last)
			}
			return fmt.Errorf("redistest: %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// serverBinary is the redis-server on PATH, or a fatal, clear failure.
func serverBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := redisproc.Binary("")
	if err != nil {
		tb.Fatalf("redistest: redis-server not found on PATH (apt-get install redis-server): %v", err)
	}
	return bin
}

// writeFile writes body to name in dir and returns its path.
func writeFile(dir, name, body string) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// infoField returns the value of "name:value" in an INFO reply, or "".
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
