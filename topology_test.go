package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// topologyApp is the real App served against a Sentinel group or a Redis
// Cluster, configured as an operator would (redis.addrs, redis.master_name),
// with the durability check on: the data nodes run with AOF.
type topologyApp struct {
	app *App
	url string
	log *output
}

func startTopologyApp(t *testing.T, env []string) *topologyApp {
	t.Helper()
	cfg, err := LoadConfig("config.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	log := newOutput()
	app, err := NewAppWith(cfg, newLogger(log, "info"), AppOptions{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &topologyApp{app: app, url: serveApp(t, app), log: log}
}

// call makes one API or webhook call; out is nil for an empty reply.
func (a *topologyApp) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: reply is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// waitTimeline waits until incident n's timeline has an event of type typ.
func (a *topologyApp) waitTimeline(t *testing.T, n int, typ string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := a.call(t, "GET", fmt.Sprintf("/v1/incidents/%d", n), apiToken, "")
		if code == 200 {
			for _, e := range out["timeline"].([]any) {
				if e.(map[string]any)["type"] == typ {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("INC-%d has no %q event within 10 s: %d %v", n, typ, code, out)
		}
		time.Sleep(20 * time.Millisecond) // polling the asserted state, not a synchronisation
	}
}

// TestStoreLifeOnRedisTopologies runs the store's whole life (open through
// the webhook, dedup, the runner's claim, page and commit, the job
// primitives, ack and resolve, overrides, analytics) on a Redis Cluster of
// three masters and on a Sentinel group. On a cluster every script's keys
// must be in one slot (the {inc} hash tag); a script that reached a key of
// another slot would fail with CROSSSLOT or a MOVED inside the script.
func TestStoreLifeOnRedisTopologies(t *testing.T) {
	// start starts the topology and returns baton's environment for it, the
	// number of nodes that take writes, and a failover (nil: none).
	cases := []struct {
		name  string
		start func(t *testing.T) (env []string, masters int, failover func() string)
	}{
		{name: "cluster of three masters", start: func(t *testing.T) ([]string, int, func() string) {
			c := redistest.StartCluster(t)
			return []string{"BATON_REDIS_ADDRS=" + strings.Join(c.Addrs, ",")}, 3, nil
		}},
		{name: "sentinel group, SENTINEL FAILOVER", start: func(t *testing.T) ([]string, int, func() string) {
			s := redistest.StartSentinel(t)
			return []string{"BATON_REDIS_ADDRS=" + strings.Join(s.SentinelAddrs, ","), "BATON_REDIS_MASTER_NAME=" + s.MasterName}, 1, s.Failover
		}},
		{name: "sentinel group, master killed", start: func(t *testing.T) ([]string, int, func() string) {
			s := redistest.StartSentinel(t)
			return []string{"BATON_REDIS_ADDRS=" + strings.Join(s.SentinelAddrs, ","), "BATON_REDIS_MASTER_NAME=" + s.MasterName}, 1, s.KillMaster
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, masters, failover := tc.start(t)
			a := startTopologyApp(t, env)
			alert := `{"service":"database","summary":"disk full on db-1","severity":"critical"}`
			steps := []struct {
				name         string
				method, path string
				token, body  string
				status       int
				check        func(t *testing.T, out map[string]any)
			}{
				{"alert opens INC-1", "POST", "/v1/alerts/generic", genToken, alert, 202, func(t *testing.T, out map[string]any) {
					if out["incident"] != 1.0 || out["created"] != true {
						t.Fatalf("reply %v", out)
					}
				}},
				{"same alert is deduplicated", "POST", "/v1/alerts/generic", genToken, alert, 202, func(t *testing.T, out map[string]any) {
					if out["incident"] != 1.0 || out["created"] != false || out["alert_count"] != 2.0 {
						t.Fatalf("reply %v", out)
					}
				}},
				{"the runner pages INC-1", "", "", "", "", 0, func(t *testing.T, _ map[string]any) { a.waitTimeline(t, 1, "paged") }},
				{"ack", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`, 200, nil},
				{"resolve", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice"}`, 200, nil},
				{"resolved list", "GET", "/v1/incidents?status=resolved", apiToken, "", 200, func(t *testing.T, out map[string]any) {
					if len(out["incidents"].([]any)) != 1 {
						t.Fatalf("resolved %v", out)
					}
				}},
				{"override created", "POST", "/v1/rotations/db-primary/overrides", apiToken, `{"person":"alice","from":"2026-11-24T10:00:00Z","until":"2026-11-24T14:00:00Z"}`, 201, nil},
				{"override listed", "GET", "/v1/rotations/db-primary/overrides", apiToken, "", 200, func(t *testing.T, out map[string]any) {
					if len(out["overrides"].([]any)) != 1 {
						t.Fatalf("overrides %v", out)
					}
				}},
				{"override deleted", "DELETE", "/v1/rotations/db-primary/overrides/1", apiToken, "", 204, nil},
				{"analytics read", "GET", "/v1/analytics?from=28d", apiToken, "", 200, nil},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					var out map[string]any
					if s.method != "" {
						var code int
						code, out = a.call(t, s.method, s.path, s.token, s.body)
						if code != s.status {
							t.Fatalf("%s %s = %d %v, want %d", s.method, s.path, code, out, s.status)
						}
					}
					if s.check != nil {
						s.check(t, out)
					}
				})
			}
			t.Run("job primitives", func(t *testing.T) { jobPrimitives(t, a.app) })
			// Serve checked durability before it answered the first call.
			if n := strings.Count(a.log.String(), "persists writes (appendonly yes, appendfsync everysec)"); n != masters {
				t.Errorf("durability checked on %d nodes, want the %d that take writes; log:\n%s", n, masters, a.log)
			}
			if failover == nil {
				return
			}
			failover()
			// Writes succeed against the new master within a few seconds.
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"after the failover"}`)
				if code == 202 {
					if out["incident"] != 2.0 {
						t.Fatalf("after the failover the alert opened %v; numbers must go on from INC-1", out)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("alerts still refused 10 s after the failover: %d %v", code, out)
				}
				time.Sleep(50 * time.Millisecond) // a sender retrying a 503, as Sumo Logic and SNS do
			}
			a.waitTimeline(t, 2, "paged")
			if code, out := a.call(t, "GET", "/v1/incidents/1", apiToken, ""); code != 200 || out["status"] != "resolved" {
				t.Fatalf("INC-1 after the failover = %d %v; what was acknowledged before must survive", code, out)
			}
		})
	}
}

// jobPrimitives drives claim, renew, release and commit by hand on a store
// under its own prefix (no runner competes for its jobs).
func jobPrimitives(t *testing.T, app *App) {
	ctx := redistest.Ctx(t)
	st := incident.NewStore(app.stores.rdb, "primitives:")
	defer st.Close()
	res, err := st.Open(ctx, incident.Alert{Service: "database", Summary: "x", DedupKey: "x", Severity: incident.SevCritical, Source: "generic", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	now := time.Now()
	claim := func() incident.Job {
		t.Helper()
		jobs, _, err := st.ClaimJobs(ctx, now.Add(time.Second), 10*time.Second, 10, fmt.Sprint("tok-", time.Now().UnixNano()))
		if err != nil || len(jobs) != 1 || jobs[0].Number != res.Number {
			t.Fatalf("claim = %v, %v; want the page job of INC-%d", jobs, err, res.Number)
		}
		return jobs[0]
	}
	j := claim()
	if ok, err := st.RenewJob(ctx, j, now, 10*time.Second); !ok || err != nil {
		t.Fatalf("renew = %v, %v", ok, err)
	}
	if ok, err := st.ReleaseJob(ctx, j, now); !ok || err != nil {
		t.Fatalf("release = %v, %v", ok, err)
	}
	j = claim()
	_, rev, err := st.Revision(ctx, res.Number)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := st.Commit(ctx, j, incident.Commit{Rev: rev, Facts: []incident.Event{{Type: incident.EventPaged, At: now, Person: "alice", By: "baton"}}})
	if !ok || err != nil {
		t.Fatalf("commit = %v, %v", ok, err)
	}
	if due, inFlight, err := st.JobCounts(ctx); err != nil || inFlight != 0 {
		t.Fatalf("after commit: due %d, in flight %d, %v", due, inFlight, err)
	}
	// The page record (page.lua): begun, sent, found sent.
	key := fmt.Sprintf("INC-%d/%d/first/alice", res.Number, rev)
	if m, err := st.BeginPage(ctx, res.Number, rev, key, time.Now()); m != incident.PageUnsent || err != nil {
		t.Fatalf("begin page = %q, %v", m, err)
	}
	if err := st.EndPage(ctx, res.Number, rev, key, incident.PageSent); err != nil {
		t.Fatalf("end page: %v", err)
	}
	if m, err := st.BeginPage(ctx, res.Number, rev, key, time.Now()); m != incident.PageSent || err != nil {
		t.Fatalf("begin page again = %q, %v", m, err)
	}
	// A heartbeat (heartbeat.lua, open.lua inside): beat, missed → opened, beat → resolved.
	hb := incident.Heartbeat{Name: "cron", Service: "database", Interval: time.Second, Grace: time.Second}
	if _, err := st.Beat(ctx, hb, now.Add(-time.Minute)); err != nil {
		t.Fatalf("beat: %v", err)
	}
	jobs, _, err := st.ClaimJobs(ctx, now, 10*time.Second, 10, "tok-hb")
	if err != nil || len(jobs) != 1 || jobs[0].Kind != incident.JobHeartbeat {
		t.Fatalf("claim = %v, %v; want the heartbeat's deadline", jobs, err)
	}
	c, err := st.CheckHeartbeat(ctx, jobs[0], hb, now)
	if err != nil || c.Outcome != incident.CheckOpened || !c.Opened.Created {
		t.Fatalf("deadline = %+v, %v", c, err)
	}
	if b, err := st.Beat(ctx, hb, now); err != nil || b.Recovered == nil || b.Recovered.Outcome != incident.OutcomeResolved {
		t.Fatalf("beat after the miss = %+v, %v", b, err)
	}
}
