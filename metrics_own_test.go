package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
)

// scrape returns GET /metrics's text.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(raw)
}

// sample returns the value of an unlabelled series in a scrape, or "" when
// the series is absent.
func sample(text, name string) string {
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// The gauges the alerting rules need (deploy/prometheus/baton-rules.yaml):
// baton_redis_up follows Redis, and baton_dead_letters counts the pages
// given up, read from Redis at each scrape.
func TestRedisAndDeadLetterGauges(t *testing.T) {
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Pager: unreachable{}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}

	text := scrape(t, a.url)
	// The counters the alerting rules read on failures exist at 0 before
	// the first failure, so increase() counts the first burst.
	for _, series := range []string{
		`baton_page_failures_total{reason="first"} 0`,
		`baton_page_failures_total{reason="escalated"} 0`,
		`baton_alerts_received_total{outcome="error",source="generic"} 0`,
		`baton_store_errors_total{component="escalation"} 0`,
		`baton_jobs_overdue 0`,
	} {
		if !strings.Contains(text, "\n"+series+"\n") {
			t.Errorf("a fresh baton does not export %s", series)
		}
	}
	if sample(text, "baton_redis_up") != "1" || sample(text, "baton_dead_letters") != "0" {
		t.Fatalf("before any page: baton_redis_up %q, baton_dead_letters %q", sample(text, "baton_redis_up"), sample(text, "baton_dead_letters"))
	}
	if code, body := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"replica lag"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, body)
	}
	// Nobody can be paged (unreachable): the page is given up and dead-lettered.
	deadline := time.Now().Add(10 * time.Second)
	for sample(scrape(t, a.url), "baton_dead_letters") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("baton_dead_letters never 1; last scrape:\n%s", sample(scrape(t, a.url), "baton_dead_letters"))
		}
		time.Sleep(20 * time.Millisecond) // polling the asserted value, not synchronising
	}

	rs.Stop()
	text = scrape(t, a.url)
	if got := sample(text, "baton_redis_up"); got != "0" {
		t.Fatalf("Redis stopped: baton_redis_up %q, want 0", got)
	}
	if got := sample(text, "baton_dead_letters"); got != "" {
		t.Fatalf("Redis stopped: baton_dead_letters %q, want it left out", got)
	}
}

// MTTA and MTTR as histograms: an acknowledgement through the API 90 s
// after the incident opened, its resolution 10 min after, and a second
// incident resolved by its source's recovery 5 min after it opened, on the
// App's one clock.
func TestTimeToAcknowledgeAndResolve(t *testing.T) {
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}
	steps := []struct {
		after        time.Duration
		method, path string
		token, body  string
	}{
		{0, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1"}`},
		{90 * time.Second, "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`},
		{0, "POST", "/v1/alerts/generic", genToken, `{"service":"database","dedup_key":"lag","summary":"replica lag"}`},
		{5 * time.Minute, "POST", "/v1/alerts/generic", genToken, `{"service":"database","dedup_key":"lag","summary":"replica lag","status":"resolved"}`},
		{3*time.Minute + 30*time.Second, "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice"}`},
	}
	for _, s := range steps {
		advance(s.after)
		if code, out := a.call(t, s.method, s.path, s.token, s.body); code >= 300 {
			t.Fatalf("%s %s: %d %v", s.method, s.path, code, out)
		}
	}
	text := scrape(t, a.url)
	for _, c := range []struct{ series, want string }{
		{`baton_time_to_acknowledge_seconds_count{service="database"}`, "1"},
		{`baton_time_to_acknowledge_seconds_sum{service="database"}`, "90"},
		{`baton_time_to_resolve_seconds_count{service="database"}`, "2"},
		{`baton_time_to_resolve_seconds_sum{service="database"}`, "900"}, // 300 + 600
	} {
		if got := sample(text, regexp.QuoteMeta(c.series)); got != c.want {
			t.Errorf("%s = %q, want %s", c.series, got, c.want)
		}
	}
}

// baton_redis_up says 0 while Redis answers PING but refuses writes (out
// of memory with noeviction, a read-only replica): intake answers 503
// then, and BatonRedisDown must fire (the scrape probes with /readyz's
// write, not a PING).
func TestRedisUpProvesAWrite(t *testing.T) {
	cases := []struct {
		name   string
		refuse func(t *testing.T, rs *redistest.Server)
	}{
		{name: "out of memory", refuse: func(t *testing.T, rs *redistest.Server) {
			configSet(t, rs, "maxmemory-policy", "noeviction")
			configSet(t, rs, "maxmemory", "1")
		}},
		{name: "read-only replica", refuse: func(t *testing.T, rs *redistest.Server) {
			if err := rs.Client().Do(redistest.Ctx(t), "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			a := startWatchedApp(t, rs, []string{"BATON_REDIS_ALLOW_VOLATILE=true"}, AppOptions{})
			if got := sample(scrape(t, a.url), "baton_redis_up"); got != "1" {
				t.Fatalf("healthy Redis: baton_redis_up %q, want 1", got)
			}
			tc.refuse(t, rs)
			if err := rs.Client().Ping(redistest.Ctx(t)).Err(); err != nil {
				t.Fatalf("Redis should still answer PING: %v", err)
			}
			if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"x"}`); code != 503 {
				t.Fatalf("alert while Redis refuses writes = %d %v, want 503", code, out)
			}
			if got := sample(scrape(t, a.url), "baton_redis_up"); got != "0" {
				t.Fatalf("Redis refusing writes: baton_redis_up %q, want 0", got)
			}
		})
	}
}

// baton_jobs_overdue counts the due jobs no runner started, past a grace:
// an App that serves HTTP but runs no runner takes an alert (its first
// page falls due at once); 0 within the grace, 1 a minute later on the
// App's clock (BatonRunnerStuck fires on it).
func TestJobsOverdueGauge(t *testing.T) {
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Int64
	at.Store(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, at.Load()) }
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv := httptest.NewServer(app.Handler) // no runner: nothing starts the jobs
	t.Cleanup(srv.Close)
	a := &testApp{url: srv.URL, redis: rs}
	if got := sample(scrape(t, a.url), "baton_jobs_overdue"); got != "0" {
		t.Fatalf("no jobs: baton_jobs_overdue %q, want 0", got)
	}
	if code, body := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"replica lag"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, body)
	}
	if got := sample(scrape(t, a.url), "baton_jobs_overdue"); got != "0" {
		t.Fatalf("a page just due (within the grace): baton_jobs_overdue %q, want 0", got)
	}
	at.Add(int64(time.Minute))
	if got := sample(scrape(t, a.url), "baton_jobs_overdue"); got != "1" {
		t.Fatalf("a page due a minute ago, no runner: baton_jobs_overdue %q, want 1", got)
	}
}
