package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/fakesmtp"
	"github.com/batonhq/baton/internal/redistest"
)

// check-config --online also checks the SMTP server (connect, EHLO and
// STARTTLS when smtp.starttls is true; here internal/fakesmtp, which
// offers no STARTTLS) and the people escalation levels name directly
// (user:erin, who has no Slack account here): each problem is an "error:"
// line and exit 1.
func TestCheckConfigOnlineSMTPAndTargets(t *testing.T) {
	mail := fakesmtp.Start(t)
	base, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const target, people = "      - targets: [user:alice]\n", "people:\n"
	if !strings.Contains(string(base), target) || !strings.Contains(string(base), people) {
		t.Fatal("config.yaml changed: payments-policy's user:alice level and people: are this test's anchors")
	}
	everyone := []fakeslack.User{{ID: "U012ABCDEF", Name: "alice"}, {Name: "bob", Email: "bob@example.com"}, {Name: "carol", Email: "carol@example.com"}}
	cases := []struct {
		name     string
		starttls bool
		erin     bool // erin has a Slack account
		code     int
		stdout   []string
	}{
		{"all fine", false, true, 0, []string{"smtp: " + mail.Addr + " answers EHLO", "targets: the 2 people named in escalation levels can be paged in slack"}},
		{"STARTTLS asked, not offered", true, true, 1, []string{"error: smtp: " + mail.Addr + ": smtp.starttls is true but the server does not offer STARTTLS"}},
		{"a user: target without a Slack account", false, false, 1, []string{"error: policy payments-policy level 2: user:erin cannot be reached in slack (no account found for them)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(string(base), target, "      - targets: [user:erin]\n", 1)
			cfg = strings.Replace(cfg, people, people+"  - id: erin\n    name: Erin\n    email: erin@example.com\n", 1)
			cfg += "\nsmtp:\n  addr: " + mail.Addr + "\n  from: baton@example.org\n"
			if tc.starttls {
				cfg += "  starttls: true\n"
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			rs := redistest.Start(t)
			configSet(t, rs, "appendonly", "yes")
			fake := fakeslack.StartTest(t)
			for _, u := range everyone {
				fake.AddUser(u)
			}
			if tc.erin {
				fake.AddUser(fakeslack.User{Name: "erin", Email: "erin@example.com"})
			}
			env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_SLACK_BOT_TOKEN=" + fake.BotToken(),
				"BATON_SLACK_APP_TOKEN=xapp-test", "BATON_SLACK_API_URL=" + fake.APIURL()}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(redistest.Ctx(t), 30*time.Second)
			defer cancel()
			code := run(ctx, []string{"check-config", "--config", path, "--online"}, &stdout, &stderr, env, time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout does not say %q:\n%s", want, &stdout)
				}
			}
		})
	}
}
