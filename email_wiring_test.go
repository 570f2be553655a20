package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/internal/fakesmtp"
	"github.com/batonhq/baton/internal/redistest"
)

// TestEmailThroughTheApp: the serving App from config.yaml with smtp set
// from the environment and db-policy's first level on notify: [chat,
// email]: an alert through the webhook is emailed to whoever is on call,
// and the email carries the redacted title, never what the redactor took
// out; the timeline records it.
func TestEmailThroughTheApp(t *testing.T) {
	rs := redistest.Start(t)
	sink := fakesmtp.Start(t)
	env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
		"BATON_SMTP_ADDR=" + sink.Addr, "BATON_SMTP_FROM=baton@example.org"}
	cfg, err := LoadConfig("config.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EscalationPolicies[0].Name != "db-policy" {
		t.Fatal("config.yaml changed: db-policy is its first policy")
	}
	cfg.EscalationPolicies[0].Levels[0].Notify = []string{"chat", "email"}
	if ps := cfg.Validate(); len(ps) > 0 {
		t.Fatal(ps)
	}
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Pager: &escalationtest.Recorder{}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"replica lag, patient SSN 219-09-9999"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	who, _, _, err := onCallNow(t, "db-primary")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sink.WaitFor(ctx, func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
		t.Fatal(err)
	}
	m := sink.Messages()[0]
	if len(m.To) != 1 || m.To[0] != who+"@example.com" {
		t.Errorf("emailed %v, want %s's address", m.To, who)
	}
	if !strings.HasPrefix(m.Subject, "INC-1 [critical] replica lag") || !strings.Contains(m.Body, "Incident: INC-1") {
		t.Errorf("subject %q body:\n%s", m.Subject, m.Body)
	}
	if strings.Contains(string(m.Raw), "219-09-9999") {
		t.Errorf("the email carries what the redactor removed:\n%s", m.Raw)
	}
	waitTimeline(t, a, 1, func(e map[string]any) bool { return e["type"] == "emailed" && e["person"] == who })
	text := scrape(t, a.url)
	for series, want := range map[string]string{
		`baton_emails_total{outcome="sent",why="page"}`:           "1",
		`baton_emails_total{outcome="given_up",why="chatfailed"}`: "0",
	} {
		if !strings.Contains(text, series+" "+want+"\n") {
			t.Errorf("/metrics lacks %s %s", series, want)
		}
	}
}
