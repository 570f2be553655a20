package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
)

// TestCheckConfigOnlineRotations: check-config --online runs the pre-shift
// check for everyone now through the configured Slack (here fakeslack, by
// slack.api_url) and exits 1 with one line per person on call in the next
// 24 h who cannot be paged; 0 when everyone can.
func TestCheckConfigOnlineRotations(t *testing.T) {
	cases := []struct {
		name   string
		users  []fakeslack.User
		code   int
		stdout []string
		stderr string
	}{
		{
			name:  "everyone reachable",
			users: []fakeslack.User{{ID: "U012ABCDEF", Name: "alice"}, {Name: "bob", Email: "bob@example.com"}, {Name: "carol", Email: "carol@example.com"}},
			code:  0, stdout: []string{"rotations: everyone on call in the next 24 h can be paged"},
		},
		{
			name:   "carol has no Slack account",
			users:  []fakeslack.User{{ID: "U012ABCDEF", Name: "alice"}, {Name: "bob", Email: "bob@example.com"}},
			code:   1,
			stdout: []string{"error: rotation payments: carol, on call", "no slack user with email carol@example.com", "a gap in the rotation"},
			stderr: "pre-shift",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			configSet(t, rs, "appendonly", "yes")
			fake := fakeslack.StartTest(t)
			for _, u := range tc.users {
				fake.AddUser(u)
			}
			env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_SLACK_BOT_TOKEN=" + fake.BotToken(),
				"BATON_SLACK_APP_TOKEN=xapp-test", "BATON_SLACK_API_URL=" + fake.APIURL()}
			var stdout, stderr bytes.Buffer
			code := run(redistest.Ctx(t), []string{"check-config", "--config", "config.yaml", "--online"}, &stdout, &stderr, env, time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout does not say %q:\n%s", want, &stdout)
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, &stderr)
			}
		})
	}
}

// TestHandoffSettingsConfig: a rotation's preshift_check and handoff_accept
// reach the domain, and check-config refuses them out of bounds with one
// "path: problem" line each.
func TestHandoffSettingsConfig(t *testing.T) {
	const anchor = "    participants: [alice, bob, carol]\n"
	tests := []struct {
		name     string
		yaml     string
		problems []string
		want     map[string]rotations.HandoffPolicy
	}{
		{"none", "", nil, map[string]rotations.HandoffPolicy{}},
		{"both", "    preshift_check: 2h\n    handoff_accept: 15m\n", nil,
			map[string]rotations.HandoffPolicy{"db-primary": {PreshiftCheck: 2 * time.Hour, HandoffAccept: 15 * time.Minute}}},
		{"out of bounds", "    preshift_check: -1h\n    handoff_accept: 25h\n", []string{
			"rotations[0].preshift_check: must be between 0 (off) and 168h0m0s (got -1h0m0s)",
			"rotations[0].handoff_accept: must be between 0 (off) and 24h0m0s (got 25h0m0s)"}, nil},
	}
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte(anchor)) {
		t.Fatal("config.yaml changed: db-primary's participants line is the anchor of this test")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, strings.Replace(string(example), anchor, anchor+tc.yaml, 1))
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"check-config", "--config", path}, &out, &errb, nil, time.Now)
			if len(tc.problems) > 0 {
				if code != 2 {
					t.Fatalf("exit %d, want 2; stderr:\n%s", code, &errb)
				}
				for _, p := range tc.problems {
					if !strings.Contains(errb.String(), p) {
						t.Errorf("stderr does not say %q:\n%s", p, &errb)
					}
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, &errb)
			}
			cfg, err := LoadConfig(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.handoffs, tc.want) {
				t.Fatalf("handoffs %v, want %v", d.handoffs, tc.want)
			}
		})
	}
}

// TestCheckConfigOnlineAsksSlack: check-config --online asks Slack every
// time, never the DM channels cached in Redis by an earlier run: with a
// revoked token, or Slack not answering, it says so in one line first and
// exits 1, without blaming Redis or each person.
func TestCheckConfigOnlineAsksSlack(t *testing.T) {
	rs := redistest.Start(t)
	configSet(t, rs, "appendonly", "yes")
	fake := fakeslack.StartTest(t)
	for _, u := range []fakeslack.User{{ID: "U012ABCDEF", Name: "alice"}, {Name: "bob", Email: "bob@example.com"}, {Name: "carol", Email: "carol@example.com"}} {
		fake.AddUser(u)
	}
	check := func(token, apiURL string) (int, string, string) {
		env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_SLACK_BOT_TOKEN=" + token,
			"BATON_SLACK_APP_TOKEN=xapp-test", "BATON_SLACK_API_URL=" + apiURL}
		var stdout, stderr bytes.Buffer
		code := run(redistest.Ctx(t), []string{"check-config", "--config", "config.yaml", "--online"}, &stdout, &stderr, env, time.Now)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errs := check(fake.BotToken(), fake.APIURL()); code != 0 {
		t.Fatalf("first run (caches the DMs): exit %d\n%s\n%s", code, out, errs)
	}
	closed := func() string { // an address nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/api/"
	}()
	tests := []struct {
		name, token, url string
	}{
		{"a revoked token", "xoxb-revoked", fake.APIURL()},
		{"slack not answering", fake.BotToken(), closed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := check(tc.token, tc.url)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var errLines []string
			for _, l := range lines {
				if strings.HasPrefix(l, "error:") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], "auth.test") || strings.Contains(out+errs, "overrides") {
				t.Fatalf("want one error line naming slack's auth.test, none blaming redis:\nstdout:\n%s\nstderr:\n%s", out, errs)
			}
		})
	}
}

// TestShiftLinks: a rotation's handoff news reaches every service whose
// policy names it at any level (not only at the first), and its secondary
// is the level after the one that pages it, never a person of the handoff
// itself: rotation:R/next naming the outgoing holder is followed on to the
// next distinct person.
func TestShiftLinks(t *testing.T) {
	const yaml = `
api: {token: test-token-0123456789}
people:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol}
  - {id: dave, name: Dave}
services:
  - {name: database, escalation_policy: db-policy, alerts_channel: "#db-alerts"}
  - {name: payments, escalation_policy: payments-policy, alerts_channel: "#payments-alerts"}
rotations:
  - {name: db-primary, timezone: UTC, shift: daily, handoff: "09:00", start: 2026-01-05, participants: [alice, bob, alice, carol]}
  - {name: payments, timezone: UTC, shift: daily, handoff: "09:00", start: 2026-01-05, participants: [carol, dave]}
escalation_policies:
  - name: db-policy
    repage_every: 5m
    levels:
      - {targets: [rotation:db-primary], escalate_after: 15m}
      - {targets: [rotation:db-primary/next], escalate_after: 15m}
  - name: payments-policy
    repage_every: 5m
    levels:
      - {targets: [user:carol], escalate_after: 10m}
      - {targets: [rotation:payments], escalate_after: 10m}
      - {targets: [user:alice], escalate_after: 10m}
`
	cfg, err := LoadConfig(writeConfig(t, yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cfg.domain()
	if err != nil {
		t.Fatal(err)
	}
	if got := rotationServices(d.policies, cfg)["payments"]; !reflect.DeepEqual(got, []string{"payments"}) {
		t.Fatalf("services of rotation payments (paged at level 2): %v", got)
	}
	board := cfg.board(d.rotations, nil)
	sec := secondaries(d.policies, cfg, board, d.rotations)
	// 2026-01-05 09:00 alice, 01-06 bob, 01-07 alice, 01-08 carol. At the
	// handoff of 01-06 bob is incoming and alice outgoing; /next names
	// alice (01-07): the next distinct person is carol.
	at := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name, rotation string
		want           []string
	}{
		{"next is the holder", "db-primary", []string{"carol"}},
		{"paged at level 2", "payments", []string{"alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sec(context.Background(), tc.rotation, at); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("secondary of %s: %v, want %v", tc.rotation, got, tc.want)
			}
		})
	}
}

// TestHandoffSettingsLongerThanAShift: handoff_accept as long as a shift is
// refused (the grace would end after the next handoff); preshift_check as
// long as a shift is allowed with a warning.
func TestHandoffSettingsLongerThanAShift(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const payments = "    participants: [carol, bob]\n" // the daily rotation
	if !bytes.Contains(example, []byte(payments)) {
		t.Fatal("config.yaml changed: payments' participants line is the anchor of this test")
	}
	checkConfigOne(t, strings.Replace(string(example), payments, payments+"    handoff_accept: 24h\n", 1),
		"rotations[1].handoff_accept: must be shorter than a shift (24h0m0s)")
	cfg := checkConfigOne(t, strings.Replace(string(example), payments, payments+"    preshift_check: 30h\n", 1), "")
	found := false
	for _, w := range cfg.Warnings() {
		found = found || strings.Contains(w, "rotation payments: preshift_check 30h0m0s is not shorter than a shift (24h0m0s)")
	}
	if !found {
		t.Fatalf("no warning about preshift_check: %q", cfg.Warnings())
	}
}
