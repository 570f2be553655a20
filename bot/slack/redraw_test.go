package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/internal/fakeslack"
)

// Issue 14: acknowledging (or resolving) a bundle's incidents together
// redraws every message in the DM that still offers an Acknowledge button,
// each once, and promptly, under Slack's limits (chat.update is Tier 3, some
// 50 a minute) while a storm keeps other incidents' cards changing. Before,
// these redraws yielded to every card redraw (and a resolved incident's to
// everything), so a storm's live cards took every chat.update slot and
// alice's DM kept its buttons as long as the storm lasted. The bound is in
// calls, not seconds: alice's messages are redrawn within the chat.update
// calls that they, the incidents' cards and the storm's contending syncs
// (one slot each at a time) need.
func TestTakenTogetherRedrawsEveryMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("Slack's limits: about a minute")
	}
	const incidents, storm = 10, 6
	tests := []struct {
		name string
		take func(e *env, im string, newest dmPost)
	}{
		{"Acknowledge all on the newest bundle", func(e *env, im string, newest dmPost) {
			id, err := e.fake.SendBlockAction(e.alice.ID, im, newest.ts, "baton_ackall", "")
			if err != nil {
				e.t.Fatal(err)
			}
			e.t.Logf("Acknowledge all: %s", e.answer(id))
		}},
		{"a ✅ on the newest bundle", func(e *env, im string, newest dmPost) {
			if _, err := e.fake.AddReaction(e.alice.ID, im, newest.ts, "white_check_mark"); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"every incident resolved", func(e *env, _ string, newest dmPost) {
			for _, n := range newest.named {
				if _, err := e.svc.Resolve(e.ctx, n, "carol", "fixed"); err != nil {
					e.t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			cfg.repage = time.Second
			cfg.repeatEvery = 500 * time.Millisecond
			cfg.services = 2 // svc2, carol's: the storm
			// Slack's limits, but channels (Tier 2) made at once: this is
			// about chat.update.
			cfg.limits = slackbot.SlackLimits()
			delete(cfg.limits, "conversations.create")
			delete(cfg.limits, "pins.add")
			cfg.before = func(e *env) {
				e.fake.UseSlackRateLimits()
				e.fake.RateLimit("conversations.create", fakeslack.Limit{})
				e.fake.RateLimit("pins.add", fakeslack.Limit{})
			}
			e := newEnv(t, cfg)
			for i := range incidents {
				e.open("payments", fmt.Sprintf("redraw-%d", i), fmt.Sprintf("Disk full on db-%d", i))
			}
			for i := range storm {
				e.open("svc2", fmt.Sprintf("storm-%d", i), fmt.Sprintf("Storm on host-%d", i))
			}
			e.waitFor("every incident's card", func() bool {
				for i := int64(1); i <= incidents+storm; i++ {
					if e.refs(i)["pin"] == "" {
						return false
					}
				}
				return true
			})
			// Three bundles to alice naming the incidents (re-pages).
			since := len(e.dmPosts(e.alice))
			var newest dmPost
			e.waitFor("three bundles to alice", func() bool {
				n := 0
				for _, p := range e.dmPosts(e.alice)[since:] {
					if len(p.named) == incidents {
						n++
						newest = p
					}
				}
				return n >= 3
			})
			c, _ := e.fake.IM(e.alice.ID)
			im := c.ID
			// The storm: svc2's alerts keep coming, each incident's card
			// redrawn with its count every repeatEvery, more than Tier 3
			// allows: its syncs always want a chat.update slot.
			stormCtx, stopStorm := context.WithCancel(e.ctx)
			defer stopStorm()
			stormDone := make(chan struct{})
			go func() {
				defer close(stormDone)
				for stormCtx.Err() == nil {
					for i := range storm {
						e.open("svc2", fmt.Sprintf("storm-%d", i), fmt.Sprintf("Storm on host-%d", i))
					}
					select {
					case <-stormCtx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}()
			defer func() { stopStorm(); <-stormDone }()

			live := func() []string {
				var out []string
				for _, m := range e.dms(e.alice) {
					if strings.Contains(blocksText(m), `"baton_ack`) {
						out = append(out, m.TS)
					}
				}
				return out
			}
			before := len(live())
			taken := time.Now()
			tt.take(e, im, newest)
			// Alice's DM messages with buttons and the incidents' cards are
			// the redraws needed; slots are taken in the order booked, and
			// each of the storm's syncs books one at a time, so at most one
			// of each is drawn before each of alice's messages (and once
			// more before the first).
			need := before + incidents
			bound := need + storm*(before+1)
			counted := func() (ok, refused int) {
				for _, c := range e.fake.Calls("chat.update") {
					if c.At.Before(taken) {
						continue
					}
					if c.Status == http.StatusTooManyRequests {
						refused++
					} else {
						ok++
					}
				}
				return ok, refused
			}
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			err := e.fake.WaitFor(ctx, func() bool {
				if len(live()) == 0 {
					return true
				}
				if ok, refused := counted(); ok > bound+refused {
					cancel()
				}
				return false
			})
			ok, refused := counted()
			perMsg := map[string]int{}
			for _, c := range e.calls("chat.update", inChannel(im)) {
				if !c.At.Before(taken) {
					perMsg[c.Param("ts")]++
				}
			}
			t.Logf("%d of alice's messages with buttons; settled after %v: %d chat.update calls (bound %d), %d refused 429; alice's redrawn %v",
				before, time.Since(taken).Round(time.Millisecond), ok, bound, refused, perMsg)
			if err != nil {
				t.Fatalf("after %d chat.update calls (bound %d) %d of alice's messages still show Acknowledge: %v", ok, bound, len(live()), live())
			}
			for ts, n := range perMsg {
				if n > 1 {
					t.Errorf("alice's message %s redrawn %d times", ts, n)
				}
			}
		})
	}
}
