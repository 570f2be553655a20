package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/demo"
	"github.com/batonhq/baton/internal/redistest"
)

// recordLog keeps every log line of an App at INFO and above, safe for the
// App's goroutines.
type recordLog struct {
	mu    sync.Mutex
	lines []string
}

func (r *recordLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		r.lines = append(r.lines, l)
	}
	return len(p), nil
}

// since returns the lines written after the first n.
func (r *recordLog) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines[n:]...)
}

func (r *recordLog) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

// outageApp runs the example config against a private redis-server, with
// its log recorded and a test SNS signer trusted for the CloudWatch route.
type outageApp struct {
	*testApp
	log    *recordLog
	signer *demo.SNSSigner
}

func startOutageApp(t *testing.T) *outageApp {
	t.Helper()
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := demo.NewSNSSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordLog{}
	app, err := NewAppWith(cfg, slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelInfo})), AppOptions{
		SNSFetchCert: signer.FetchCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &outageApp{testApp: &testApp{url: serveApp(t, app), redis: rs}, log: rec, signer: signer}
	// Serving (its start-up lines written) before any test breaks Redis.
	if code, _ := a.call(t, "GET", "/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("readyz before the outage = %d", code)
	}
	return a
}

// route is one request a client may send while Redis is down.
type route struct {
	name, method, path, token, body string
	want                            int
}

func outageRoutes(t *testing.T, a *outageApp) []route {
	t.Helper()
	sumo, err := os.ReadFile("intake/testdata/sumologic-monitor-critical.json")
	if err != nil {
		t.Fatal(err)
	}
	sns, err := a.signer.Notification("arn:aws:sns:us-east-1:123456789012:baton-alarms", "ALARM",
		`{"AlarmName":"db-primary cpu","NewStateValue":"ALARM","NewStateReason":"x","StateChangeTime":"2026-01-05T09:00:00.000+0000"}`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return []route{
		{"readyz", "GET", "/readyz", "", "", 503},
		{"sumologic webhook", "POST", "/v1/alerts/sumologic?service=database", "change-me-sumologic-token", string(sumo), 503},
		{"cloudwatch webhook", "POST", "/v1/alerts/cloudwatch", "change-me-cloudwatch-token", string(sns), 503},
		{"generic webhook", "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"x"}`, 503},
		{"list incidents", "GET", "/v1/incidents", apiToken, "", 503},
		{"get incident", "GET", "/v1/incidents/1", apiToken, "", 503},
		{"ack", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`, 503},
		{"resolve", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice"}`, 503},
		{"escalate", "POST", "/v1/incidents/1/escalate", apiToken, `{"by":"alice"}`, 503},
		{"on call", "GET", "/v1/oncall", apiToken, "", 503},
		{"create override", "POST", "/v1/rotations/db-primary/overrides", apiToken, `{"person":"bob","from":"2027-01-04T09:00:00Z","until":"2027-01-04T17:00:00Z"}`, 503},
		{"list overrides", "GET", "/v1/rotations/db-primary/overrides", apiToken, "", 503},
		{"delete override", "DELETE", "/v1/rotations/db-primary/overrides/x", apiToken, "", 503},
		{"rotation feed", "GET", "/v1/rotations/db-primary.ics", apiToken, "", 503},
		{"analytics", "GET", "/v1/analytics", apiToken, "", 503},
	}
}

// rawCall sends one request and returns its status and body as text.
func (a *outageApp) rawCall(t *testing.T, r route) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(r.method, a.url+r.path, strings.NewReader(r.body))
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// While Redis is down every route that needs it answers 503 with a fixed
// sentence; nothing of the failure's detail (address, port, dial error)
// reaches an unauthenticated or authenticated client.
func TestRedisOutageAnswersWithoutDetail(t *testing.T) {
	a := startOutageApp(t)
	a.redis.Stop()
	_, port, _ := strings.Cut(a.redis.Addr, ":")
	for _, r := range outageRoutes(t, a) {
		t.Run(r.name, func(t *testing.T) {
			code, body := a.rawCall(t, r)
			if code != r.want {
				t.Fatalf("%s %s = %d %s, want %d", r.method, r.path, code, body, r.want)
			}
			if lb := strings.ToLower(body); !strings.Contains(lb, "the incident store is unavailable") || !strings.Contains(lb, "retry") {
				t.Errorf("body %s lacks the fixed sentence", body)
			}
			for _, leak := range []string{"dial", "127.0.0.1", port, "refused", "tcp", "redis:", "EOF"} {
				if strings.Contains(body, leak) {
					t.Errorf("body %s shows %q", body, leak)
				}
			}
		})
	}
}

// An outage of many requests is a handful of log lines: the first failure
// with its detail, go-redis's own lines (in slog, rate-limited), and one
// line when Redis is back — not one ERROR line per request.
func TestRedisOutageLogsOnce(t *testing.T) {
	const rounds = 5 // × 15 routes
	a := startOutageApp(t)
	routes := outageRoutes(t, a)
	before := a.log.len()
	a.redis.Stop()
	for range rounds {
		for _, r := range routes {
			if code, body := a.rawCall(t, r); code != r.want {
				t.Fatalf("%s = %d %s, want %d", r.name, code, body, r.want)
			}
		}
	}
	during := a.log.since(before)
	t.Logf("%d log lines during the outage:\n%s", len(during), strings.Join(during, "\n"))
	// The runner's own health lines (escalation/health.go) may add one or two.
	const bound = 8
	if len(during) > bound {
		t.Errorf("%d log lines for %d failed requests, want at most %d:\n%s", len(during), rounds*len(routes), bound, strings.Join(during, "\n"))
	}
	text := strings.Join(during, "\n")
	if !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "127.0.0.1:") {
		t.Errorf("the first failure is not logged at ERROR with its detail:\n%s", text)
	}
	if !strings.Contains(text, "component=go-redis") {
		t.Errorf("go-redis's own lines did not arrive in slog:\n%s", text)
	}

	// The mark comes before the restart: a watcher may see Redis answer
	// (and log it) before Restart returns.
	mark := a.log.len()
	a.redis.Restart()
	generic := routes[3]
	generic.want = http.StatusAccepted
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := a.rawCall(t, generic)
		if code == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert after Redis came back = %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond) // a sender's retry interval, not synchronisation
	}
	back := 0
	for _, l := range a.log.since(mark) {
		// The outage log's line, not the runner's "escalation: redis
		// answers again; resuming".
		if strings.Contains(l, `msg="redis answers again"`) {
			back++
		}
	}
	if back != 1 {
		t.Errorf("%d \"answers again\" lines after the outage, want 1:\n%s", back, strings.Join(a.log.since(mark), "\n"))
	}
}

// The hook on the Redis client marks the outage over at Redis's first
// answer, whoever asked (an error reply and redis.Nil are answers too); a
// command that could not reach Redis is not.
func TestAnsweredHookEndsTheOutage(t *testing.T) {
	tests := []struct {
		name string
		stop bool
		call func(ctx context.Context, rdb *redis.Client) error
		back bool
	}{
		{"a reply", false, func(ctx context.Context, rdb *redis.Client) error { return rdb.Ping(ctx).Err() }, true},
		{"redis.Nil", false, func(ctx context.Context, rdb *redis.Client) error { return rdb.Get(ctx, "nothing").Err() }, true},
		{"an error reply", false, func(ctx context.Context, rdb *redis.Client) error { return rdb.Do(ctx, "NOSUCHCOMMAND").Err() }, true},
		{"a pipeline", false, func(ctx context.Context, rdb *redis.Client) error {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Ping(ctx); return nil })
			return err
		}, true},
		{"Redis unreachable", true, func(ctx context.Context, rdb *redis.Client) error { return rdb.Ping(ctx).Err() }, false},
		{"an OOM reply (out of memory: writes refused)", false, func(ctx context.Context, rdb *redis.Client) error {
			admin := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr}) // without the hook
			defer admin.Close()
			admin.ConfigSet(ctx, "maxmemory-policy", "noeviction")
			admin.ConfigSet(ctx, "maxmemory", "1")
			defer admin.ConfigSet(ctx, "maxmemory", "0")
			return rdb.Set(ctx, "k", "v", 0).Err()
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			rdb := rs.Client()
			ol := newOutageLog(rdb, slog.New(slog.DiscardHandler), time.Now)
			_ = rdb.Ping(redistest.Ctx(t)) // a connection in the pool: its handshake is an answer too
			ol.Failed(errors.New("dial tcp: refused"))
			if tc.stop {
				rs.Stop()
			}
			_ = tc.call(redistest.Ctx(t), rdb)
			if back := !ol.Down(); back != tc.back {
				t.Fatalf("back = %v after %s, want %v", back, tc.name, tc.back)
			}
		})
	}
}

// redisReply is an error reply as go-redis returns it (redis.Error).
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

// Error replies of a Redis that answers but cannot serve do not end an
// outage; other error replies (a script's, an unknown command) do.
func TestAnsweredErrorReplies(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{"ERR unknown command 'NOSUCHCOMMAND'", true},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", true},
		{"OOM command not allowed when used memory > 'maxmemory'. script: 92dc, on @user_script:1.", false},
		{"READONLY You can't write against a read only replica.", false},
		{"NOAUTH Authentication required.", false},
		{"WRONGPASS invalid username-password pair or user is disabled.", false},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", false},
		{"LOADING Redis is loading the dataset in memory", false},
		{"CLUSTERDOWN The cluster is down", false},
		{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", false},
	}
	for _, tc := range tests {
		t.Run(strings.Fields(tc.reply)[0], func(t *testing.T) {
			var _ redis.Error = redisReply("")
			if got := answered(fmt.Errorf("commit: %w", redisReply(tc.reply))); got != tc.want {
				t.Fatalf("answered(%q) = %v, want %v", tc.reply, got, tc.want)
			}
		})
	}
}
