package slack_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// Slack's answers that mean the person cannot be DMed (issue 16's
// follow-up: user_not_found was left unmarked, so the page was retried to
// the attempt limit before the fallback came) give the page up at the first
// attempt: one conversations.open, a dead letter with one attempt, and the
// fallback at once.
func TestUnDMablePersonPagesTheFallbackAtOnce(t *testing.T) {
	for _, code := range []string{"user_not_found", "users_not_found", "user_disabled", "cannot_dm_bot", "channel_not_found", "not_allowed_token_type"} {
		t.Run(code, func(t *testing.T) {
			cfg := defaults()
			e := newEnv(t, cfg)
			e.fake.InjectFaults(func(method string, p url.Values) (fakeslack.Fault, bool) {
				if method == "conversations.open" && strings.Contains(p.Get("users"), e.alice.ID) {
					return fakeslack.SlackError(code), true
				}
				return fakeslack.Fault{}, false
			})
			n := e.open("payments", "k", "Disk full")
			e.waitFor("the fallback page", func() bool { return e.fallbackPaged(n) })
			seen := time.Now()
			opens := 0
			var first time.Time
			for _, c := range e.fake.Calls("conversations.open") {
				if strings.Contains(c.Param("users"), e.alice.ID) {
					if opens == 0 {
						first = c.At
					}
					opens++
				}
			}
			t.Logf("%s: %d attempts; the fallback seen %v after the first", code, opens, seen.Sub(first).Round(time.Millisecond))
			e.waitFor("alice's dead letter", func() bool {
				dead, err := e.svc.ListDead(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				return len(dead) > 0
			})
			dead, _ := e.svc.ListDead(e.ctx)
			if len(dead) != 1 || dead[0].Person != "alice" || dead[0].Attempts != 1 {
				t.Fatalf("dead letters %+v; want alice's page, given up at the first attempt", dead)
			}
			if opens != 1 {
				t.Errorf("%d conversations.open for alice; want 1 (no retry)", opens)
			}
		})
	}
}
