package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/batonhq/baton/internal/redistest"
)

// startWatchedApp serves the example config against rs with the watch's
// periods given (0: the defaults), logging into the returned output.
func startWatchedApp(t *testing.T, rs *redistest.Server, env []string, o AppOptions) *topologyApp {
	t.Helper()
	cfg, err := LoadConfig("config.yaml", append([]string{"BATON_REDIS_ADDR=" + rs.Addr}, env...))
	if err != nil {
		t.Fatal(err)
	}
	log := newOutput()
	o.PollInterval = 20 * time.Millisecond
	app, err := NewAppWith(cfg, newLogger(log, "info"), o)
	if err != nil {
		t.Fatal(err)
	}
	a := &topologyApp{app: app, log: log}
	// Serve checks Redis (and learns the epoch) before it answers.
	if answered, err := app.CheckRedis(redistest.Ctx(t)); !answered || err != nil {
		t.Fatalf("CheckRedis = %v, %v", answered, err)
	}
	a.url = serveApp(t, app)
	return a
}

// readyz returns /readyz's status and body.
func (a *topologyApp) readyz(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.Get(a.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReadyz polls /readyz (as a load balancer does) until it answers
// code with a body containing says, for at most 10 s.
func (a *topologyApp) waitReadyz(t *testing.T, code int, says string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := a.readyz(t)
		if got == code && strings.Contains(body, says) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %s, want %d with %q", got, body, code, says)
		}
		time.Sleep(20 * time.Millisecond) // a probe's period
	}
}

// postAlert posts one generic alert, retrying a 503 as a sender does, and
// returns the incident number it was given.
func (a *topologyApp) postAlert(t *testing.T, summary string) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, fmt.Sprintf(`{"service":"database","summary":%q}`, summary))
		if code == 202 {
			return out["incident"].(float64)
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("alert %q = %d %v", summary, code, out)
		}
		time.Sleep(20 * time.Millisecond) // a sender retrying a 503
	}
}

// metric returns the line of /metrics that starts with name.
func (a *topologyApp) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return ""
}

// TestRedisLostItsData: a Redis that comes back empty (killed and restarted
// without persistence, or flushed) is told at ERROR, counted, reported by
// /readyz, and never makes baton issue an incident number twice.
func TestRedisLostItsData(t *testing.T) {
	flush := func(t *testing.T, rs *redistest.Server) {
		if err := rs.Client().FlushAll(redistest.Ctx(t)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	hour := AppOptions{EpochCheckEvery: time.Hour, RedisCheckEvery: time.Hour}
	cases := []struct {
		name string
		// lose empties Redis under the running app.
		lose func(t *testing.T, rs *redistest.Server)
		// o: the periods of the watch. An hour keeps the periodic epoch
		// check out of the way: only the open script's own check of the
		// epoch can save the numbers.
		o AppOptions
		// found: the loss is told before any alert comes (by the
		// periodic check).
		found bool
	}{
		{name: "kill -9 and restart empty", lose: func(t *testing.T, rs *redistest.Server) { rs.Stop(); rs.Restart() }, o: hour},
		{name: "flushed while running", lose: flush, o: hour},
		{name: "flushed, found by the periodic check", lose: flush, found: true,
			o: AppOptions{EpochCheckEvery: 20 * time.Millisecond, RedisCheckEvery: time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t) // no AOF: what a lost volume or drifted config gives
			a := startWatchedApp(t, rs, []string{"BATON_REDIS_ALLOW_VOLATILE=true"}, tc.o)
			for i := 1; i <= 20; i++ {
				if n := a.postAlert(t, fmt.Sprintf("alert %d", i)); n != float64(i) {
					t.Fatalf("alert %d opened INC-%v", i, n)
				}
			}
			a.waitReadyz(t, 200, "ready")
			tc.lose(t, rs)
			if tc.found && !a.log.waitFor(t, "Redis lost its data", nil) {
				t.Fatalf("no data-loss line after the flush:\n%s", a.log)
			}
			if n := a.postAlert(t, "after the loss"); n != 21 {
				t.Fatalf("the first alert after the loss opened INC-%v, want INC-21 (INC-1..20 were issued before)", n)
			}
			lines := levelLines(a.log, "ERROR")
			lost := 0
			for _, l := range lines {
				if strings.Contains(l, "Redis lost its data") {
					lost++
				}
			}
			if lost != 1 {
				t.Errorf("%d ERROR lines say Redis lost its data, want 1:\n%s", lost, a.log)
			}
			if got := a.metric(t, "baton_redis_data_losses_total"); got != "baton_redis_data_losses_total 1" {
				t.Errorf("metric: %q, want 1", got)
			}
			code, body := a.readyz(t)
			if code != 503 || !strings.Contains(body, notReadyDataLost) {
				t.Errorf("/readyz after the loss = %d %s, want 503 %q", code, body, notReadyDataLost)
			}
			if strings.Contains(body, "127.0.0.1") {
				t.Errorf("/readyz tells the address: %s", body)
			}
		})
	}
}

// TestRedisStopsPersistingWhileServing: AOF switched off on a running
// Redis is found by the periodic check: an ERROR, /readyz 503 with a fixed
// sentence; switched on again, ready again.
func TestRedisStopsPersistingWhileServing(t *testing.T) {
	rs := redistest.StartDurable(t)
	a := startWatchedApp(t, rs, nil, AppOptions{RedisCheckEvery: 20 * time.Millisecond})
	a.waitReadyz(t, 200, "ready")
	if n := len(levelLines(a.log, "ERROR")); n != 0 {
		t.Fatalf("%d ERROR lines with AOF on:\n%s", n, a.log)
	}
	configSet(t, rs, "appendonly", "no")
	a.waitReadyz(t, 503, notReadyVolatile)
	if !a.log.waitFor(t, "redis stopped persisting writes", nil) {
		t.Fatalf("no ERROR line:\n%s", a.log)
	}
	if _, body := a.readyz(t); strings.Contains(body, rs.Addr) {
		t.Errorf("/readyz tells the address: %s", body)
	}
	configSet(t, rs, "appendonly", "yes")
	a.waitReadyz(t, 200, "ready")
	if !a.log.waitFor(t, "redis persists writes again", nil) {
		t.Fatalf("no line saying it persists again:\n%s", a.log)
	}
}

// TestReadyzProvesAWrite: a Redis that answers PING but refuses writes is
// not ready, as intake refuses every alert then.
func TestReadyzProvesAWrite(t *testing.T) {
	cases := []struct {
		name   string
		refuse func(t *testing.T, rs *redistest.Server)
	}{
		{name: "out of memory", refuse: func(t *testing.T, rs *redistest.Server) {
			configSet(t, rs, "maxmemory-policy", "noeviction")
			configSet(t, rs, "maxmemory", "1")
		}},
		{name: "read-only replica", refuse: func(t *testing.T, rs *redistest.Server) {
			// A master nobody listens on: the node stays a read-only replica.
			if err := rs.Client().Do(redistest.Ctx(t), "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			a := startWatchedApp(t, rs, []string{"BATON_REDIS_ALLOW_VOLATILE=true"}, AppOptions{})
			a.waitReadyz(t, 200, "ready")
			tc.refuse(t, rs)
			if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"x"}`); code != 503 {
				t.Fatalf("alert while Redis refuses writes = %d %v, want 503", code, out)
			}
			code, body := a.readyz(t)
			if code != 503 || !strings.Contains(body, "not ready: the incident store is unavailable") {
				t.Errorf("/readyz = %d %s, want 503 with the fixed sentence", code, body)
			}
			for _, leak := range []string{rs.Addr, "OOM", "READONLY"} {
				if strings.Contains(body, leak) {
					t.Errorf("/readyz tells %q: %s", leak, body)
				}
			}
		})
	}
}

// TestEpochScript: the epoch marker's verdicts, and the counter raised to
// the highest number seen only when the data was lost (or is new).
func TestEpochScript(t *testing.T) {
	cases := []struct {
		name      string
		epoch     string // stored marker, "" none
		seq       string // stored counter, "" none
		known     string // the replica's epoch
		highest   int64
		verdict   string
		wantEpoch string
		wantSeq   int64
	}{
		{name: "first replica on a fresh Redis", known: "", verdict: "created", wantEpoch: "NEW", wantSeq: 0},
		{name: "first check of a replica joining", epoch: "E1", seq: "7", verdict: "adopted", wantEpoch: "E1", wantSeq: 7},
		{name: "same epoch, counter at or above the highest: untouched", epoch: "E1", seq: "12", known: "E1", highest: 9, verdict: "same", wantEpoch: "E1", wantSeq: 12},
		{name: "same epoch, counter went back (latest writes lost): raised", epoch: "E1", seq: "3", known: "E1", highest: 9, verdict: "rewound", wantEpoch: "E1", wantSeq: 9},
		{name: "marker gone: counter raised, new marker", seq: "", known: "E1", highest: 20, verdict: "missing", wantEpoch: "NEW", wantSeq: 20},
		{name: "marker gone, counter already higher", seq: "25", known: "E1", highest: 20, verdict: "missing", wantEpoch: "NEW", wantSeq: 25},
		{name: "marker changed (another replica rewrote it): raised to ours", epoch: "E2", seq: "4", known: "E1", highest: 20, verdict: "changed", wantEpoch: "E2", wantSeq: 20},
	}
	rs := redistest.Start(t)
	rdb := rs.Client()
	ctx := redistest.Ctx(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if tc.epoch != "" {
				rdb.Set(ctx, "{inc}:epoch", tc.epoch, 0)
			}
			if tc.seq != "" {
				rdb.Set(ctx, "{inc}:seq", tc.seq, 0)
			}
			res, err := epochScript.Run(ctx, rdb, []string{"{inc}:epoch", "{inc}:seq"}, tc.known, tc.highest, "NEW").Slice()
			if err != nil {
				t.Fatal(err)
			}
			if res[0] != tc.wantEpoch || res[1] != tc.wantSeq || res[2] != tc.verdict {
				t.Errorf("script = %v, want [%s %d %s]", res, tc.wantEpoch, tc.wantSeq, tc.verdict)
			}
			if got, _ := rdb.Get(ctx, "{inc}:epoch").Result(); got != tc.wantEpoch {
				t.Errorf("stored epoch %q, want %q", got, tc.wantEpoch)
			}
			if got, _ := rdb.Get(ctx, "{inc}:seq").Int64(); got != tc.wantSeq {
				t.Errorf("stored counter %d, want %d", got, tc.wantSeq)
			}
		})
	}
}

// TestRedisReplacedByAnEmptyVolatileOne: the durable Redis is killed and
// another starts on its port in an empty directory without AOF (a lost
// volume, a drifted config). As soon as Redis answers again, the replica
// finds both: no persistence (/readyz 503, ERROR) and lost data (ERROR);
// the incident numbers go on. The periodic checks are an hour away, so
// only the check after the outage can find it.
func TestRedisReplacedByAnEmptyVolatileOne(t *testing.T) {
	rs := redistest.StartDurable(t)
	a := startWatchedApp(t, rs, nil, AppOptions{EpochCheckEvery: time.Hour, RedisCheckEvery: time.Hour})
	for i := 1; i <= 5; i++ {
		a.postAlert(t, fmt.Sprintf("alert %d", i))
	}
	a.waitReadyz(t, 200, "ready")
	rs.Stop()
	bin, err := redisproc.Binary("")
	if err != nil {
		t.Fatal(err)
	}
	var p *redisproc.Process
	for deadline := time.Now().Add(5 * time.Second); ; {
		p, err = redisproc.LaunchWith(redistest.Ctx(t), bin, t.TempDir(), rs.Addr, redisproc.Config{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("start the empty Redis on %s: %v", rs.Addr, err)
		}
		time.Sleep(50 * time.Millisecond) // the port may still be closing
	}
	t.Cleanup(p.Kill)
	a.waitReadyz(t, 503, notReadyVolatile)
	for _, want := range []string{"redis stopped persisting writes", "Redis lost its data"} {
		if !a.log.waitFor(t, want, nil) {
			t.Fatalf("no line %q:\n%s", want, a.log)
		}
	}
	if n := a.postAlert(t, "after the swap"); n != 6 {
		t.Fatalf("the first alert on the new Redis opened INC-%v, want INC-6", n)
	}
}

// TestVolatileRedisLoggedOncePerPeriod: checks run on every new
// connection too, so the refusal is an ERROR when found and then at most
// once per durability period, however many checks run.
func TestVolatileRedisLoggedOncePerPeriod(t *testing.T) {
	rs := redistest.StartDurable(t)
	a := startWatchedApp(t, rs, nil, AppOptions{RedisCheckEvery: time.Hour, EpochCheckEvery: time.Hour})
	configSet(t, rs, "appendonly", "no")
	for range 5 {
		a.app.watch.checkPersistence(redistest.Ctx(t))
	}
	if code, body := a.readyz(t); code != 503 || !strings.Contains(body, notReadyVolatile) {
		t.Fatalf("/readyz = %d %s, want 503 %q", code, body, notReadyVolatile)
	}
	var said int
	for _, l := range levelLines(a.log, "ERROR") {
		if strings.Contains(l, "redis stopped persisting writes") {
			said++
		}
	}
	if said != 1 {
		t.Fatalf("%d ERROR lines after 5 checks within the period, want 1:\n%s", said, a.log)
	}
}

// TestRedisLostItsDataTwoReplicas: two replicas on one Redis that comes
// back empty. Each raises the counter to the highest number it saw (its
// own opens and the counter at its checks), so neither issues a number
// that either had issued before the loss; each tells the loss once.
func TestRedisLostItsDataTwoReplicas(t *testing.T) {
	rs := redistest.Start(t)
	env := []string{"BATON_REDIS_ALLOW_VOLATILE=true"}
	o := AppOptions{EpochCheckEvery: 20 * time.Millisecond, RedisCheckEvery: time.Hour}
	a := startWatchedApp(t, rs, env, o)
	b := startWatchedApp(t, rs, env, o)
	for i := 1; i <= 10; i++ {
		a.postAlert(t, fmt.Sprintf("a %d", i))
		b.postAlert(t, fmt.Sprintf("b %d", i))
	}
	// A has read the counter B moved (its periodic check) before the loss.
	deadline := time.Now().Add(10 * time.Second)
	for a.app.watch.epoch.highest.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("replica A saw up to INC-%d, want 20", a.app.watch.epoch.highest.Load())
		}
		time.Sleep(10 * time.Millisecond) // the next check
	}
	rs.Stop()
	rs.Restart()
	seen := map[float64]string{}
	for i, r := range []*topologyApp{a, b, a, b} {
		n := r.postAlert(t, fmt.Sprintf("after the loss %d", i))
		if n <= 20 || seen[n] != "" {
			t.Fatalf("alert %d after the loss opened INC-%v (issued before the loss: 1–20; after: %v)", i, n, seen)
		}
		seen[n] = "x"
	}
	for name, r := range map[string]*topologyApp{"A": a, "B": b} {
		if got := r.metric(t, "baton_redis_data_losses_total"); got != "baton_redis_data_losses_total 1" {
			t.Errorf("replica %s: %q, want 1 loss", name, got)
		}
	}
}

// TestRedisCounterWentBack: Redis kept its data but lost its latest writes
// (an AOF fsynced a second late on kill -9, a failover to a lagging
// replica), so the counter is below numbers already issued. The next
// incident is numbered above the highest the replica saw, and a check
// tells it.
func TestRedisCounterWentBack(t *testing.T) {
	cases := []struct {
		name  string
		o     AppOptions
		found bool // the periodic check tells it before the next alert
	}{
		{name: "the open itself keeps above the highest", o: AppOptions{EpochCheckEvery: time.Hour, RedisCheckEvery: time.Hour}},
		{name: "found by the periodic check", o: AppOptions{EpochCheckEvery: 20 * time.Millisecond, RedisCheckEvery: time.Hour}, found: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.StartDurable(t)
			a := startWatchedApp(t, rs, nil, tc.o)
			for i := 1; i <= 20; i++ {
				a.postAlert(t, fmt.Sprintf("alert %d", i))
			}
			// What the AOF had when the last five INCRs were not yet on disk.
			if err := rs.Client().Set(redistest.Ctx(t), "baton:{inc}:seq", 15, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if tc.found && !a.log.waitFor(t, "Redis lost its latest writes", nil) {
				t.Fatalf("no line telling the counter went back:\n%s", a.log)
			}
			if n := a.postAlert(t, "after the rewind"); n != 21 {
				t.Fatalf("the next alert opened INC-%v, want INC-21 (16–20 were issued)", n)
			}
		})
	}
}
