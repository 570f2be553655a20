package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/internal/redistest"
)

const hbToken = "change-me-heartbeat-token"

// rawCall is testApp.call for any JSON answer (GET /v1/heartbeats is an array).
func (a *testApp) rawCall(t *testing.T, method, path, token, body string) (int, []byte) {
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
	if !json.Valid(raw) {
		t.Fatalf("%s %s: reply is not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, raw
}

type heartbeatView struct {
	Name     string     `json:"name"`
	Service  string     `json:"service"`
	State    string     `json:"state"`
	LastBeat *time.Time `json:"last_beat"`
	Due      *time.Time `json:"due"`
}

func (a *testApp) heartbeats(t *testing.T) heartbeatView {
	t.Helper()
	code, raw := a.rawCall(t, "GET", "/v1/heartbeats", apiToken, "")
	var out []heartbeatView
	if code != 200 || json.Unmarshal(raw, &out) != nil || len(out) != 1 {
		t.Fatalf("GET /v1/heartbeats: %d %s", code, raw)
	}
	return out[0]
}

// TestHeartbeatThroughTheApp: the serving App from config.yaml (its
// heartbeat's interval scaled down to tens of milliseconds): the routes'
// refusals, a beat, the heartbeat missed → an incident paged, the next beat
// resolves it; GET /v1/heartbeats and baton heartbeats list it.
func TestHeartbeatThroughTheApp(t *testing.T) {
	rs := redistest.Start(t)
	env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"}
	cfg, err := LoadConfig("config.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Heartbeats[0].Interval, cfg.Heartbeats[0].Grace = 150*time.Millisecond, 100*time.Millisecond
	rec := &escalationtest.Recorder{}
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Pager: rec, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}

	refusals := []struct {
		name, method, path, token, body string
		status                          int
		says                            string
	}{
		{"no token", "POST", "/v1/heartbeats/nightly-backup", "", "", 401, "missing credentials"},
		{"the API token is not the heartbeat token", "POST", "/v1/heartbeats/nightly-backup", apiToken, "", 401, "wrong credentials"},
		{"unknown token before unknown name", "POST", "/v1/heartbeats/nope", genToken, "", 401, "wrong credentials"},
		{"unknown name", "POST", "/v1/heartbeats/nope", hbToken, "", 404, `no heartbeat named \"nope\" is configured`},
		{"a body over the limit", "POST", "/v1/heartbeats/nightly-backup", hbToken, strings.Repeat("x", 1<<20+1), 413, "larger than the limit"},
		{"list without the API token", "GET", "/v1/heartbeats", hbToken, "", 401, "wrong credentials"},
	}
	for _, r := range refusals {
		code, raw := a.rawCall(t, r.method, r.path, r.token, r.body)
		if code != r.status || !strings.Contains(string(raw), r.says) {
			t.Errorf("%s: %d %s, want %d saying %q", r.name, code, raw, r.status, r.says)
		}
	}
	if h := a.heartbeats(t); h.State != "waiting" || h.LastBeat != nil || h.Due != nil || h.Service != "database" {
		t.Fatalf("refused requests changed the heartbeat: %+v", h)
	}

	code, raw := a.rawCall(t, "POST", "/v1/heartbeats/nightly-backup", hbToken, `{"job":"ok"}`)
	var beat struct {
		Name, State string
		LastBeat    time.Time `json:"last_beat"`
	}
	if code != 202 || json.Unmarshal(raw, &beat) != nil || beat.Name != "nightly-backup" || beat.State != "up" || beat.LastBeat.IsZero() {
		t.Fatalf("beat: %d %s", code, raw)
	}
	if h := a.heartbeats(t); h.State != "up" && h.State != "missed" || !h.LastBeat.Equal(beat.LastBeat) || !h.Due.Equal(beat.LastBeat.Add(250*time.Millisecond)) {
		t.Fatalf("after the beat: %+v", h)
	}

	// Missed: an incident opens and its owner is paged.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pages, err := rec.WaitMatch(ctx, 1, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFirst })
	if err != nil {
		t.Fatalf("no page for the missed heartbeat: %v", err)
	}
	n := pages[0].Incident
	_, inc := a.call(t, "GET", "/v1/incidents/"+itoa(n), apiToken, "")
	if inc["status"] != "triggered" || inc["dedup_key"] != "heartbeat:nightly-backup" || !strings.Contains(inc["title"].(string), "nightly-backup") {
		t.Fatalf("the heartbeat's incident: %v", inc)
	}
	if h := a.heartbeats(t); h.State != "missed" {
		t.Fatalf("after the miss: %+v", h)
	}
	var cli, errb bytes.Buffer
	if code := run(ctx, []string{"heartbeats", "--config", "config.yaml"}, &cli, &errb, env, time.Now); code != 0 ||
		!strings.Contains(cli.String(), "nightly-backup") || !strings.Contains(cli.String(), "missed (INC-"+itoa(n)+")") {
		t.Fatalf("baton heartbeats: exit %d\n%s%s", code, cli.String(), errb.String())
	}

	// The next beat resolves it.
	if code, raw := a.rawCall(t, "POST", "/v1/heartbeats/nightly-backup", hbToken, ""); code != 202 {
		t.Fatalf("beat: %d %s", code, raw)
	}
	if _, inc := a.call(t, "GET", "/v1/incidents/"+itoa(n), apiToken, ""); inc["status"] != "resolved" {
		t.Fatalf("after the beat: %v", inc)
	}
	cli.Reset()
	if code := run(ctx, []string{"heartbeats", "--config", "config.yaml", "--json"}, &cli, &errb, env, time.Now); code != 0 {
		t.Fatalf("baton heartbeats --json: exit %d %s", code, errb.String())
	}
	var list []map[string]any
	if err := json.Unmarshal(cli.Bytes(), &list); err != nil || len(list) != 1 || list[0]["state"] != "up" || len(list[0]) != 5 {
		t.Fatalf("baton heartbeats --json: %s (%v)", cli.String(), err)
	}

	// Redis down: 503 with the fixed sentence; the CLI says so and exits 1.
	rs.Stop()
	if code, raw := a.rawCall(t, "POST", "/v1/heartbeats/nightly-backup", hbToken, ""); code != 503 || !strings.Contains(string(raw), "NOT recorded") {
		t.Fatalf("beat with Redis down: %d %s", code, raw)
	}
	errb.Reset()
	if code := run(ctx, []string{"heartbeats", "--config", "config.yaml"}, &cli, &errb, env, time.Now); code != 1 || !strings.Contains(errb.String(), "cannot read the heartbeats from Redis") {
		t.Fatalf("baton heartbeats with Redis down: exit %d %q", code, errb.String())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestHeartbeatMissedAfterTheEpochChanged: the runner's heartbeat deadline
// opens through the epoch watch as intake does. The marker is replaced
// under the running app (another replica found a data loss first) and the
// periodic epoch check is an hour away: the deadline's open is refused,
// the watch re-reads the epoch, and the incident opens at once.
func TestHeartbeatMissedAfterTheEpochChanged(t *testing.T) {
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Heartbeats[0].Interval, cfg.Heartbeats[0].Grace = 150*time.Millisecond, 100*time.Millisecond
	rec := &escalationtest.Recorder{}
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Pager: rec, PollInterval: 20 * time.Millisecond,
		EpochCheckEvery: time.Hour, RedisCheckEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}
	if code, raw := a.rawCall(t, "POST", "/v1/heartbeats/nightly-backup", hbToken, ""); code != 202 {
		t.Fatalf("beat: %d %s", code, raw)
	}
	if err := rs.Client().Set(redistest.Ctx(t), app.Incidents.EpochKey(), "another-replica-found-a-loss", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := rec.WaitMatch(ctx, 1, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFirst }); err != nil {
		t.Fatalf("the missed heartbeat paged nobody after the epoch changed: %v", err)
	}
}
