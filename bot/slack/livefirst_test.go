package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// Live first (issue 14, the storm's finding): after a storm whose incidents
// were all resolved before chat caught up with them, a new incident's
// channel and pinned card come before the resolved incidents' catch-up
// (their channels and cards, for the record), which still happens after.
// Before, the chat queue ran by due time and every resolved incident's job
// held its Tier 2 slot, so the new incident's channel waited behind all of
// them (in production ~200 resolved incidents: 10+ minutes).
func TestLiveIncidentBeforeResolvedCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("about 10 s of Slack's Tier 2 pace, scaled")
	}
	cases := []struct {
		name    string
		backlog int     // incidents opened and resolved at once
		scale   float64 // Slack's rate limits, this many times faster
		// ahead is how many resolved incidents' channels may still be
		// made after the new incident opens and before its own: the
		// creations already under way when it opened.
		ahead int
	}{
		{name: "40 resolved without channels, Tier 2 at 20x", backlog: 40, scale: 20, ahead: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fakeLimits, botLimits := scaledLimits(tc.scale)
			cfg := defaults()
			cfg.limits = botLimits
			cfg.bundleWindow = time.Duration(float64(time.Second) / tc.scale)
			cfg.before = func(e *env) {
				for m, l := range fakeLimits {
					e.fake.RateLimit(m, l)
				}
			}
			e := newEnv(t, cfg)
			old := make([]int64, 0, tc.backlog)
			for i := range tc.backlog {
				old = append(old, e.open("payments", fmt.Sprintf("old-%d", i), fmt.Sprintf("Storm alert %d", i)))
			}
			for _, n := range old {
				if _, err := e.svc.Resolve(e.ctx, n, "alice", "fixed"); err != nil {
					t.Fatal(err)
				}
			}
			made := func(since time.Time) []fakeslack.Call {
				return e.calls("conversations.create", func(c fakeslack.Call) bool { return c.OK && !c.At.Before(since) })
			}
			if got := len(made(time.Time{})); got > tc.backlog/2 {
				t.Fatalf("setup: %d of %d resolved incidents' channels made before the new incident; want a backlog", got, tc.backlog)
			}

			opened := time.Now()
			n := e.open("payments", "new", "New alert after the storm")
			ch, _ := e.announced(n) // its channel, its card posted and pinned
			liveAt := time.Since(opened)
			newName := fmt.Sprintf("inc-%d-", n)
			ahead := 0
			for _, c := range made(opened) {
				if strings.HasPrefix(c.Params.Get("name"), newName) {
					break
				}
				ahead++
			}
			pinned := e.calls("pins.add", func(c fakeslack.Call) bool { return c.OK && c.Params.Get("channel") == ch })
			if len(pinned) != 1 {
				t.Fatalf("the new incident's card pinned %d times; want 1", len(pinned))
			}
			t.Logf("new incident announced %v after it opened; %d resolved incidents' channels made before its own", liveAt, ahead)
			if ahead > tc.ahead {
				t.Errorf("%d resolved incidents' channels were made after the new incident opened and before its own; want at most %d", ahead, tc.ahead)
			}

			// The catch-up still happens: every resolved incident gets its
			// channel and pinned card, for the record.
			e.waitFor("every resolved incident's channel and pinned card", func() bool {
				for _, o := range old {
					if r := e.refs(o); r["ch"] == "" || r["pin"] != "1" {
						return false
					}
				}
				return true
			})
		})
	}
}
