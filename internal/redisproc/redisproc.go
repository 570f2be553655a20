// Package redisproc starts a private redis-server: on a loopback port, in a
// directory its caller owns, persisting nothing and logging to redis.log in
// that directory. `baton demo` (internal/demo) and the tests
// (internal/redistest) both start theirs here; the caller decides where the
// directory lives, when it is removed, and whether the server is stopped
// gently (Stop) or as a crash would (Kill).
package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotInstalled is returned when no redis-server was named and none is on PATH.
var ErrNotInstalled = errors.New("redis-server is not installed")

// startWithin is how long a new redis-server has to answer PING.
const startWithin = 5 * time.Second

// stopWithin is how long Stop lets a redis-server quit before killing it.
const stopWithin = 2 * time.Second

// Binary returns bin, or the redis-server on PATH when bin is empty
// (ErrNotInstalled when there is none).
func Binary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", ErrNotInstalled
	}
	return p, nil
}

// Process is one running redis-server.
type Process struct {
	// Addr is the server's host:port on 127.0.0.1.
	Addr string

	proc   *os.Process
	exited chan struct{}
}

// Start starts redis-server bin (empty: the one on PATH) in dir on a free
// loopback port and waits until it answers. A port that another process took
// in between is retried on another, a few times.
func Start(ctx context.Context, bin, dir string) (*Process, error) {
	bin, err := Binary(bin)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		p, err := Launch(ctx, bin, dir, addr)
		var noExec *execError
		switch {
		case err == nil:
			return p, nil
		case errors.As(err, &noExec), ctx.Err() != nil:
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// execError is a redis-server that could not be executed at all: another
// port would not help.
type execError struct{ err error }

func (e *execError) Error() string { return e.err.Error() }
func (e *execError) Unwrap() error { return e.err }

// Launch starts redis-server bin in dir listening on addr (127.0.0.1:port)
// and waits, for up to five seconds or until ctx ends, until it answers
// PING. When it does not, the process is stopped and the error says why
// (the last lines of its log when it exited).
func Launch(ctx context.Context, bin, dir, addr string) (*Process, error) {
	return LaunchWith(ctx, bin, dir, addr, Config{})
}

// Config is what a redis-server gets beyond Launch's defaults (loopback,
// no RDB snapshots, appendonly no, logging to dir/redis.log).
type Config struct {
	// File is a config file, given first on the command line; Redis
	// Sentinel needs one it can rewrite (with Args "--sentinel").
	File string
	// Args are further "--name value" arguments, after the defaults, so
	// they override them ("--appendonly", "yes"; "--replicaof", host, port;
	// "--cluster-enabled", "yes").
	Args []string
	// Password, when set, is required of every client (--requirepass);
	// the start-up check logs in with it.
	Password string
	// TLS, when set, also listens with TLS on TLS.Addr (--tls-port). The
	// plain port stays open on loopback for the start-up check.
	TLS *TLS
}

// TLS is a TLS listener of a redis-server: its address (127.0.0.1:port)
// and PEM files. Clients are not asked for certificates.
type TLS struct {
	Addr     string
	CertFile string
	KeyFile  string
	CAFile   string
}

// LaunchWith is Launch with a config file and extra arguments: the real
// processes of replicas, Sentinels and Cluster nodes (internal/redistest).
func LaunchWith(ctx context.Context, bin, dir, addr string, c Config) (*Process, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("redis-server address %q: %w", addr, err)
	}
	logFile := filepath.Join(dir, "redis.log")
	var args []string
	if c.File != "" {
		args = append(args, c.File)
	}
	args = append(args,
		"--bind", "127.0.0.1",
		"--port", port,
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", logFile,
	)
	if c.Password != "" {
		args = append(args, "--requirepass", c.Password)
	}
	if t := c.TLS; t != nil {
		_, tlsPort, err := net.SplitHostPort(t.Addr)
		if err != nil {
			return nil, fmt.Errorf("redis-server TLS address %q: %w", t.Addr, err)
		}
		args = append(args, "--tls-port", tlsPort, "--tls-cert-file", t.CertFile, "--tls-key-file", t.KeyFile,
			"--tls-ca-cert-file", t.CAFile, "--tls-auth-clients", "no")
	}
	cmd := exec.Command(bin, append(args, c.Args...)...)
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, &execError{fmt.Errorf("exec %s: %w", bin, err)}
	}
	p := &Process{Addr: addr, proc: cmd.Process, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()

	deadline := time.NewTimer(startWithin)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("redis-server exited at start: %s", LastLines(logFile, 2))
		case <-ctx.Done():
			p.Kill()
			return nil, ctx.Err()
		case <-deadline.C:
			p.Kill()
			return nil, fmt.Errorf("redis-server on %s did not answer within %s", addr, startWithin)
		case <-tick.C:
			if isProcess(ctx, addr, c.Password, p.proc.Pid) == nil {
				return p, nil
			}
		}
	}
}

// Kill ends the server at once (SIGKILL, as a crash would) and waits for
// it. It is safe to call more than once, and after Stop.
func (p *Process) Kill() {
	_ = p.proc.Kill()
	<-p.exited
}

// Stop asks the server to quit (SIGTERM), kills it if it has not within
// two seconds, and waits for it. It is safe to call more than once.
func (p *Process) Stop() {
	_ = p.proc.Signal(terminateSignal)
	select {
	case <-p.exited:
	case <-time.After(stopWithin):
		p.Kill()
	}
}

// FreeAddr returns a 127.0.0.1 host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LastLines returns the last n lines of the file at path (a redis-server's
// redis.log, or any other process's log) on one line, joined by " / ", for
// an error message; "" when the file is missing or empty.
func LastLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
