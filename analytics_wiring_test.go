package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// The wiring: an alert shows in /metrics and in /v1/analytics; an ack through the API is counted.
func TestAnalyticsWiring(t *testing.T) {
	a := startApp(t)
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full","severity":"critical"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/alerts/generic", "wrong-token-000000000", `{}`); code != 401 {
		t.Fatalf("refused alert: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`); code != 200 {
		t.Fatalf("ack: %d %v", code, out)
	}
	code, out := a.call(t, "GET", "/v1/analytics?from=1d", apiToken, "")
	if code != 200 || out["totals"].(map[string]any)["opened"] != 1.0 || out["totals"].(map[string]any)["mtta"].(map[string]any)["count"] != 1.0 {
		t.Fatalf("analytics: %d %v", code, out)
	}
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`baton_alerts_received_total{outcome="created",source="generic"} 1`,
		`baton_alerts_received_total{outcome="refused",source="generic"} 1`,
		`baton_incidents_opened_total{service="database"} 1`,
		`baton_acknowledgements_total{via="api"} 1`,
		`baton_intake_duration_seconds_count{source="generic"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}

// With Slack configured, the bot is the digest's poster and answers
// /incident stats; both post a summary and a chart.
func TestSlackAnalyticsWiring(t *testing.T) {
	rs := redistest.Start(t)
	fake := fakeslack.StartTest(t)
	alice := fake.AddUser(fakeslack.User{ID: "U012ABCDEF", Name: "alice", Email: "alice@example.com"})
	digestCh := fake.AddChannel(fakeslack.Channel{Name: "incident-digest"})
	ops := fake.AddChannel(fakeslack.Channel{Name: "ops", Members: []string{alice.ID}})
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
		"BATON_SLACK_BOT_TOKEN=" + fake.BotToken(), "BATON_SLACK_APP_TOKEN=" + fake.AppToken(),
		"BATON_SLACK_API_URL=" + fake.APIURL(), "BATON_ANALYTICS_DIGEST_CHANNEL=#incident-digest"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if app.digest == nil || app.Chat == nil || app.digest.Poster != app.Chat.bot {
		t.Fatalf("the digest is not posted by the Slack bot: %+v", app.digest)
	}
	ctx := redistest.Ctx(t)
	if err := app.digest.Run(ctx); err != nil {
		t.Fatalf("digest: %v", err)
	}
	msgs := fake.Messages(digestCh.ID)
	if len(msgs) != 2 || !strings.Contains(msgs[0].Text, "Weekly incident digest") || len(msgs[1].Files) != 1 {
		t.Fatalf("digest channel holds %+v, want the summary and the chart", msgs)
	}

	// Served (and so closed when the test ends) only now: the digest's own
	// schedule must not post while the digest is checked.
	serveApp(t, app)
	if err := fake.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.SendSlashCommand(alice.ID, ops.ID, "/incident", "stats 30d"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		msgs := fake.Messages(ops.ID)
		if len(msgs) == 2 && strings.Contains(msgs[0].Text, "Incident stats: last 30 days, all services") && len(msgs[1].Files) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stats in #ops: %+v", msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
