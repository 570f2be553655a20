//go:build chaos

package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// redisNode is one redis-server process that can be killed (SIGKILL, as a
// crash) and started again on the same port and directory, so that it comes
// back with what its AOF holds.
type redisNode struct {
	name string
	addr string
	dir  string
	args []string // extra arguments after the common ones

	cmd    *exec.Cmd
	exited chan struct{}
}

// newRedisNode reserves a loopback port and a directory for a node; start runs it.
func newRedisNode(t *testing.T, name string, args ...string) *redisNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &redisNode{name: name, addr: freeAddr(t), dir: dir, args: args}
}

// start launches the node (AOF on, fsync every second, no RDB snapshots)
// and waits until it answers PING with PONG (not LOADING).
func (n *redisNode) start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(n.addr)
	args := []string{
		"--bind", "127.0.0.1", "--port", port, "--dir", n.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--daemonize", "no", "--logfile", filepath.Join(n.dir, "redis.log"),
	}
	args = append(args, n.args...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		cmd := exec.Command("redis-server", args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("redis %s: %w", n.name, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		n.cmd, n.exited = cmd, exited
		err := waitPong(ctx, n.addr, exited, deadline)
		if err == nil {
			return nil
		}
		n.kill()
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("redis %s on %s: %w (log: %s)", n.name, n.addr, err, tail(filepath.Join(n.dir, "redis.log"), 3))
		}
		// The port may still be held by the process just killed.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// kill ends the node with SIGKILL and waits for it; a stopped node is left alone.
func (n *redisNode) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
	n.cmd = nil
}

// waitPong polls addr with PING until it answers +PONG, the process exits or
// the deadline passes.
func waitPong(ctx context.Context, addr string, exited <-chan struct{}, deadline time.Time) error {
	for {
		if err := pingOnce(addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		select {
		case <-exited:
			return fmt.Errorf("exited at start")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redisCmd sends one inline command to addr and returns the first reply line.
func redisCmd(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func pingOnce(addr string) error {
	line, err := redisCmd(addr, "PING")
	if err != nil {
		return err
	}
	if line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tail returns the last n lines of a file on one line.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// topology is the Redis baton runs on in one chaos run: its config section,
// and the fault "Redis goes away and comes back".
type topology interface {
	// name is how the table names the variant: single, sentinel, cluster.
	name() string
	// redisYAML is the redis: section of baton's config (without the prefix).
	redisYAML() string
	// crash kills the server that holds baton's keys with SIGKILL; recover
	// brings the topology back to a state where baton can write (for a
	// single node: the same node restarted on its port and directory).
	crash(ctx context.Context) error
	recover(ctx context.Context) error
	// stop kills every process.
	stop()
}

// single is one redis-server with AOF on.
type single struct{ n *redisNode }

func startSingle(ctx context.Context, t *testing.T) (*single, error) {
	s := &single{n: newRedisNode(t, "redis")}
	return s, s.n.start(ctx)
}

func (s *single) name() string { return "single" }
func (s *single) redisYAML() string {
	return fmt.Sprintf("  addr: %s\n", s.n.addr)
}
func (s *single) crash(context.Context) error       { s.n.kill(); return nil }
func (s *single) recover(ctx context.Context) error { return s.n.start(ctx) }
func (s *single) stop()                             { s.n.kill() }
