package redisproc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redisServer is the redis-server on PATH; the tests fail without it, as
// redistest's do.
func redisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH (apt-get install redis-server): %v", err)
	}
	return bin
}

func TestStartKillStop(t *testing.T) {
	tests := []struct {
		name string
		end  func(p *Process)
	}{
		{"kill", (*Process).Kill},
		{"stop", (*Process).Stop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(t.Context(), redisServer(t), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := Ping(t.Context(), p.Addr, Login{}); err != nil {
				t.Fatalf("ping after Start: %v", err)
			}
			tc.end(p)
			if err := Ping(t.Context(), p.Addr, Login{}); err == nil {
				t.Fatalf("%s still answers after %s", p.Addr, tc.name)
			}
			p.Kill() // again, and after Stop: nothing happens
			p.Stop()
		})
	}
}

func TestStartFails(t *testing.T) {
	taken, err := Start(t.Context(), redisServer(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(taken.Kill)
	tests := []struct {
		name   string
		start  func() (*Process, error)
		errHas string
	}{
		{"no such binary", func() (*Process, error) { return Start(t.Context(), "/nonexistent/redis-server", t.TempDir()) },
			"exec /nonexistent/redis-server"},
		{"address in use: the log says why", func() (*Process, error) { return Launch(t.Context(), redisServer(t), t.TempDir(), taken.Addr) },
			"redis-server exited at start:"},
		{"bad address", func() (*Process, error) { return Launch(t.Context(), redisServer(t), t.TempDir(), "no-port") },
			"address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.start()
			if err == nil {
				p.Kill()
				t.Fatal("started")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err %v, want %q", err, tc.errHas)
			}
		})
	}
	if err := Ping(t.Context(), taken.Addr, Login{}); err != nil {
		t.Fatalf("the server on the taken address was disturbed: %v", err)
	}
}

func TestBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if got, err := Binary("/opt/redis-server"); got != "/opt/redis-server" || err != nil {
		t.Fatalf("a named binary: %q, %v", got, err)
	}
	if _, err := Binary(""); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("none on PATH: %v", err)
	}
}

func TestPing(t *testing.T) {
	p, err := Start(t.Context(), redisServer(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	c, err := dial(t.Context(), p.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.do("CONFIG", "SET", "requirepass", "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	dead, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		addr   string
		login  Login
		errHas string // "" for an answer
	}{
		{"no address", "", Login{}, "no address"},
		{"nothing listens", dead, Login{}, "refused"},
		{"a password is wanted", p.Addr, Login{}, "NOAUTH"},
		{"wrong password", p.Addr, Login{Password: "nope"}, "auth:"},
		{"password and database", p.Addr, Login{Password: "s3cret-pass", DB: 2}, ""},
		{"user, password and database", p.Addr, Login{Username: "default", Password: "s3cret-pass", DB: 3}, ""},
		{"no such database", p.Addr, Login{Password: "s3cret-pass", DB: 99}, "select 99:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Ping(t.Context(), tc.addr, tc.login)
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("Ping: %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("Ping: %v, want %q", err, tc.errHas)
			}
		})
	}
}

func TestLastLines(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		n    int
		want string
	}{
		{"missing file", filepath.Join(dir, "none.log"), 3, ""},
		{"empty file", write("empty.log", ""), 3, ""},
		{"fewer lines than asked", write("two.log", "a\nb\n"), 3, "a / b"},
		{"the last ones", write("five.log", "a\nb\nc\nd\ne\n"), 2, "d / e"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LastLines(tc.path, tc.n); got != tc.want {
				t.Fatalf("LastLines = %q, want %q", got, tc.want)
			}
		})
	}
}
