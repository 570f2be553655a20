package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestJudgeDurability(t *testing.T) {
	cases := []struct {
		name     string
		ps       []persistence
		allow    bool
		refuse   bool
		maxLevel slog.Level
		says     string
	}{
		{name: "aof everysec", ps: []persistence{{Node: "a", AOF: "yes", Fsync: "everysec"}}, maxLevel: slog.LevelInfo, says: "appendfsync everysec"},
		{name: "aof always", ps: []persistence{{Node: "a", AOF: "yes", Fsync: "always"}}, maxLevel: slog.LevelInfo, says: "appendfsync always"},
		{name: "aof with fsync no warns", ps: []persistence{{Node: "a", AOF: "yes", Fsync: "no"}}, maxLevel: slog.LevelWarn, says: "appendfsync no"},
		{name: "aof, fsync unknown (INFO only)", ps: []persistence{{Node: "a", AOF: "yes"}}, maxLevel: slog.LevelInfo, says: "could not be read"},
		{name: "no aof refuses", ps: []persistence{{Node: "a", AOF: "no", Fsync: "everysec"}}, refuse: true, maxLevel: slog.LevelError, says: "does not persist writes"},
		{name: "no aof allowed", ps: []persistence{{Node: "a", AOF: "no"}}, allow: true, maxLevel: slog.LevelError, says: "serving anyway because redis.allow_volatile is true"},
		{name: "unreadable says so, serves", ps: []persistence{{Node: "a", Err: errors.New("NOPERM")}}, maxLevel: slog.LevelError, says: "cannot read its persistence settings"},
		{name: "unreadable, volatility allowed: said quietly", ps: []persistence{{Node: "a", Err: errors.New("unknown command")}}, allow: true, maxLevel: slog.LevelInfo, says: "cannot read its persistence settings"},
		{name: "one volatile master of three refuses", ps: []persistence{
			{Node: "a", AOF: "yes", Fsync: "everysec"}, {Node: "b", AOF: "no"}, {Node: "c", AOF: "yes", Fsync: "everysec"},
		}, refuse: true, maxLevel: slog.LevelError, says: "redis b does not persist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := judgeDurability(tc.ps, tc.allow)
			if (err != nil) != tc.refuse {
				t.Fatalf("refusal = %v, want refused %v", err, tc.refuse)
			}
			if err != nil {
				for _, want := range []string{"appendonly yes", "redis.allow_volatile: true"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("refusal %q does not name the fix %q", err, want)
					}
				}
			}
			max, all := slog.LevelDebug, ""
			for _, f := range fs {
				max = maxLevel(max, f.Level)
				all += f.Msg + "\n"
			}
			if max != tc.maxLevel {
				t.Errorf("loudest finding = %v, want %v:\n%s", max, tc.maxLevel, all)
			}
			if !strings.Contains(all, tc.says) {
				t.Errorf("findings do not say %q:\n%s", tc.says, all)
			}
		})
	}
}

func maxLevel(a, b slog.Level) slog.Level {
	if a > b {
		return a
	}
	return b
}

// output is a goroutine-safe writer that signals every write, so a test can
// wait for a line instead of sleeping.
type output struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newOutput() *output { return &output{wrote: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor waits until o contains s or done is closed, for at most 10 s.
func (o *output) waitFor(t *testing.T, s string, done <-chan struct{}) bool {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.wrote:
		case <-done:
			return strings.Contains(o.String(), s)
		case <-deadline.C:
			return false
		}
	}
	return true
}

// levelLines returns the log lines of o at level (slog's text format).
func levelLines(o *output, level string) []string {
	var out []string
	for _, l := range strings.Split(o.String(), "\n") {
		if strings.Contains(l, "level="+level) {
			out = append(out, l)
		}
	}
	return out
}

// serveRun is one `baton serve` run in-process.
type serveRun struct {
	stdout, stderr *output
	code           int
	done           chan struct{}
	stop           context.CancelFunc
}

func startServe(t *testing.T, env []string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{stdout: newOutput(), stderr: newOutput(), done: make(chan struct{}), stop: cancel}
	env = append([]string{"BATON_HTTP_LISTEN=127.0.0.1:0"}, env...)
	go func() {
		r.code = run(ctx, []string{"serve", "--config", "config.yaml"}, r.stdout, r.stderr, env, time.Now)
		close(r.done)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// persistenceUser creates an ACL user on rs that may run everything except
// the named commands, as managed Redis services restrict CONFIG.
func persistenceUser(t *testing.T, rs *redistest.Server, name string, denied ...string) []string {
	t.Helper()
	args := []any{"ACL", "SETUSER", name, "on", ">secret-" + name, "~*", "&*", "+@all"}
	for _, d := range denied {
		args = append(args, "-"+d)
	}
	if err := rs.Client().Do(redistest.Ctx(t), args...).Err(); err != nil {
		t.Fatal(err)
	}
	return []string{"BATON_REDIS_USERNAME=" + name, "BATON_REDIS_PASSWORD=secret-" + name}
}

// TestServeChecksRedisDurability runs `baton serve` against real
// redis-servers set up each way and reads its exit code and log.
func TestServeChecksRedisDurability(t *testing.T) {
	cases := []struct {
		name    string
		durable bool                                              // a redis-server started with appendonly yes
		setup   func(t *testing.T, rs *redistest.Server) []string // extra environment
		refuse  bool
		errors  []string // substrings of the ERROR lines, in any order; none: no ERROR line
		warns   []string // substrings of the WARN lines; none: no WARN line
		also    string   // a further substring of the ERROR lines
	}{
		{
			name:   "appendonly no refuses",
			setup:  func(*testing.T, *redistest.Server) []string { return nil },
			refuse: true,
			errors: []string{"does not persist writes (appendonly no)"},
		},
		{
			name:   "appendonly no with allow_volatile serves with an ERROR line",
			setup:  func(*testing.T, *redistest.Server) []string { return []string{"BATON_REDIS_ALLOW_VOLATILE=true"} },
			errors: []string{"does not persist writes (appendonly no)"},
			also:   "serving anyway because redis.allow_volatile is true",
		},
		{
			name:    "started with appendonly yes: serves quietly",
			durable: true,
			setup:   func(*testing.T, *redistest.Server) []string { return nil },
		},
		{
			name:  "turned to appendonly yes at run time: serves quietly",
			setup: func(t *testing.T, rs *redistest.Server) []string { configSet(t, rs, "appendonly", "yes"); return nil },
		},
		{
			name: "appendfsync no warns",
			setup: func(t *testing.T, rs *redistest.Server) []string {
				configSet(t, rs, "appendonly", "yes")
				configSet(t, rs, "appendfsync", "no")
				return nil
			},
			warns: []string{"appendfsync no"},
		},
		{
			name: "CONFIG denied: INFO persistence tells appendonly yes",
			setup: func(t *testing.T, rs *redistest.Server) []string {
				configSet(t, rs, "appendonly", "yes")
				return persistenceUser(t, rs, "noconfig", "config")
			},
		},
		{
			name:   "CONFIG denied: INFO persistence tells appendonly no",
			setup:  func(t *testing.T, rs *redistest.Server) []string { return persistenceUser(t, rs, "noconfig", "config") },
			refuse: true,
			errors: []string{"does not persist writes (appendonly no)"},
		},
		{
			name: "neither CONFIG nor INFO: says so and serves",
			setup: func(t *testing.T, rs *redistest.Server) []string {
				return persistenceUser(t, rs, "blind", "config", "info")
			},
			errors: []string{"cannot read its persistence settings"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := redistest.Start
			if tc.durable {
				start = redistest.StartDurable
			}
			rs := start(t)
			env := append([]string{"BATON_REDIS_ADDR=" + rs.Addr}, tc.setup(t, rs)...)
			r := startServe(t, env)
			if tc.refuse {
				select {
				case <-r.done:
				case <-time.After(10 * time.Second):
					t.Fatalf("serve did not refuse; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				}
				if r.code != 1 {
					t.Fatalf("exit code %d, want 1; stderr:\n%s", r.code, r.stderr)
				}
				for _, want := range []string{"baton: refusing to start: redis " + rs.Addr + " has appendonly no", "appendonly yes", "redis.allow_volatile: true"} {
					if !strings.Contains(r.stderr.String(), want) {
						t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
					}
				}
				if strings.Contains(r.stdout.String(), "listening") {
					t.Errorf("a refused serve said it was listening: %s", r.stdout)
				}
			} else {
				if !r.stdout.waitFor(t, "baton listening on", r.done) {
					t.Fatalf("serve did not start (exit %d); stderr:\n%s", r.code, r.stderr)
				}
				r.stop()
				<-r.done
				if r.code != 0 {
					t.Fatalf("exit code %d after stop; stderr:\n%s", r.code, r.stderr)
				}
			}
			checkLines(t, "ERROR", levelLines(r.stderr, "ERROR"), tc.errors)
			if tc.also != "" && !strings.Contains(strings.Join(levelLines(r.stderr, "ERROR"), "\n"), tc.also) {
				t.Errorf("no ERROR line says %q:\n%s", tc.also, r.stderr)
			}
			checkLines(t, "WARN", levelLines(r.stderr, "WARN"), tc.warns)
		})
	}
}

// checkLines asserts that lines are exactly one line per substring in want.
func checkLines(t *testing.T, level string, lines, want []string) {
	t.Helper()
	if len(lines) != len(want) {
		t.Errorf("%d %s lines, want %d (%q):\n%s", len(lines), level, len(want), want, strings.Join(lines, "\n"))
		return
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, w)
		}
		if !found {
			t.Errorf("no %s line says %q:\n%s", level, w, strings.Join(lines, "\n"))
		}
	}
}

func configSet(t *testing.T, rs *redistest.Server, key, value string) {
	t.Helper()
	if err := rs.Client().ConfigSet(redistest.Ctx(t), key, value).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestServeChecksRedisThatComesUpLater: a Redis that does not answer at
// start is checked once it answers, and a volatile one stops serve.
func TestServeChecksRedisThatComesUpLater(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	r := startServe(t, []string{"BATON_REDIS_ADDR=" + rs.Addr})
	if !r.stderr.waitFor(t, "its persistence is checked then", r.done) {
		t.Fatalf("no warning that Redis is not there yet (exit %d):\n%s", r.code, r.stderr)
	}
	rs.Restart()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still runs on a volatile Redis that came up; stderr:\n%s", r.stderr)
	}
	if r.code != 1 || !strings.Contains(r.stderr.String(), "refusing to start: redis "+rs.Addr+" has appendonly no") {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
}

func TestCheckConfigOnline(t *testing.T) {
	cases := []struct {
		name   string
		aof    string // "" leaves Redis's default (no)
		env    []string
		down   bool
		code   int
		stdout string
		stderr string
	}{
		{name: "without --online nothing is dialled", down: true, code: 0, stdout: "is valid"},
		{name: "redis down", down: true, env: []string{"--online"}, code: 1, stderr: "redis does not answer at"},
		{name: "appendonly no", env: []string{"--online"}, code: 1, stdout: "error: redis", stderr: "serve would refuse to start"},
		{name: "appendonly no, allowed", env: []string{"--online", "BATON_REDIS_ALLOW_VOLATILE=true"}, code: 0, stdout: "allow_volatile is true"},
		{name: "appendonly yes", aof: "yes", env: []string{"--online"}, code: 0, stdout: "persists writes (appendonly yes, appendfsync everysec)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			if tc.aof != "" {
				configSet(t, rs, "appendonly", tc.aof)
			}
			if tc.down {
				rs.Stop()
			}
			args := []string{"check-config", "--config", "config.yaml"}
			env := []string{"BATON_REDIS_ADDR=" + rs.Addr}
			for _, e := range tc.env {
				if strings.HasPrefix(e, "--") {
					args = append(args, e)
				} else {
					env = append(env, e)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(redistest.Ctx(t), args, &stdout, &stderr, env, time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout does not say %q:\n%s", tc.stdout, &stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, &stderr)
			}
		})
	}
}

// TestServeRefusesClusterWithOneVolatileMaster: on a cluster every master
// takes writes, so one without AOF is enough to refuse, and it is named.
func TestServeRefusesClusterWithOneVolatileMaster(t *testing.T) {
	c := redistest.StartCluster(t)
	volatile := c.Addrs[1]
	node := redis.NewClient(&redis.Options{Addr: volatile})
	defer node.Close()
	if err := node.ConfigSet(redistest.Ctx(t), "appendonly", "no").Err(); err != nil {
		t.Fatal(err)
	}
	r := startServe(t, []string{"BATON_REDIS_ADDRS=" + strings.Join(c.Addrs, ",")})
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not refuse; stderr:\n%s", r.stderr)
	}
	want := "refusing to start: redis " + volatile + " has appendonly no"
	if r.code != 1 || !strings.Contains(r.stderr.String(), want) {
		t.Fatalf("exit %d, want 1 and %q; stderr:\n%s", r.code, want, r.stderr)
	}
	if n := len(levelLines(r.stderr, "ERROR")); n != 1 {
		t.Errorf("%d ERROR lines, want 1 (only %s is volatile):\n%s", n, volatile, r.stderr)
	}
}

// TestAcceptedAlertsSurviveRedisKill is the 202 promise across a Redis
// crash (the kill -9 row): with AOF, as the compose file runs Redis,
// alerts answered 202 are still there after kill -9 and restart and the
// next alert gets the next number; without it (what serve now refuses
// unless allow_volatile) they are gone and numbers are issued again.
func TestAcceptedAlertsSurviveRedisKill(t *testing.T) {
	cases := []struct {
		name  string
		start func(testing.TB) *redistest.Server
		env   []string
		kept  bool
	}{
		{name: "appendonly yes keeps them", start: redistest.StartDurable, kept: true},
		{name: "appendonly no (allow_volatile) loses them", start: redistest.Start, env: []string{"BATON_REDIS_ALLOW_VOLATILE=true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.start(t)
			a := startTopologyApp(t, append([]string{"BATON_REDIS_ADDR=" + rs.Addr}, tc.env...))
			for i := 1; i <= 20; i++ {
				code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, fmt.Sprintf(`{"service":"database","summary":"alert %d"}`, i))
				if code != 202 || out["incident"] != float64(i) {
					t.Fatalf("alert %d = %d %v", i, code, out)
				}
			}
			rs.Stop() // SIGKILL
			rs.Restart()
			deadline := time.Now().Add(10 * time.Second)
			var next any
			for {
				code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"after the crash"}`)
				if code == 202 {
					next = out["incident"]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("alerts refused 10 s after Redis came back: %d %v", code, out)
				}
				time.Sleep(50 * time.Millisecond) // a sender retrying a 503
			}
			_, out := a.call(t, "GET", "/v1/incidents?status=open&limit=100", apiToken, "")
			open := len(out["incidents"].([]any))
			if kept := next == 21.0 && open == 21; kept != tc.kept {
				t.Fatalf("after kill -9: the next alert opened INC-%v, %d incidents open; kept = %v, want %v", next, open, kept, tc.kept)
			}
		})
	}
}

// TestAllowVolatileKey: redis.allow_volatile is read from the file and from
// BATON_REDIS_ALLOW_VOLATILE, and is off by default.
func TestAllowVolatileKey(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "allow_volatile: false") {
		t.Fatal("config.yaml does not document redis.allow_volatile")
	}
	on := writeConfig(t, strings.Replace(string(example), "allow_volatile: false", "allow_volatile: true", 1))
	cases := []struct {
		name string
		path string
		env  []string
		want bool
	}{
		{"default", "config.yaml", nil, false},
		{"file", on, nil, true},
		{"environment", "config.yaml", []string{"BATON_REDIS_ALLOW_VOLATILE=true"}, true},
		{"environment over file", on, []string{"BATON_REDIS_ALLOW_VOLATILE=false"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(tc.path, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Redis.AllowVolatile != tc.want {
				t.Fatalf("allow_volatile = %v, want %v", cfg.Redis.AllowVolatile, tc.want)
			}
		})
	}
}
