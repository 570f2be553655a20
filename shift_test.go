package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
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
