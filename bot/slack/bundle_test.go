package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// dmPost is one page message the fake accepted in a person's DM: when, and
// the incidents it names.
type dmPost struct {
	at    time.Time
	ts    string
	named []int64
}

// dmPosts are the chat.postMessage calls the fake accepted in user's DM.
func (e *env) dmPosts(user fakeslack.User) []dmPost {
	im, ok := e.fake.IM(user.ID)
	if !ok {
		return nil
	}
	var out []dmPost
	for _, c := range e.calls("chat.postMessage", inChannel(im.ID)) {
		p := dmPost{at: c.At}
		seen := map[int64]bool{}
		for _, m := range incRE.FindAllStringSubmatch(c.Param("text"), -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			if !seen[n] {
				seen[n] = true
				p.named = append(p.named, n)
			}
		}
		var ans struct {
			TS string `json:"ts"`
		}
		_ = json.Unmarshal(c.Response, &ans)
		p.ts = ans.TS
		out = append(out, p)
	}
	return out
}

// The storm of issue 14: re-page every 1 s, escalate after 3 s, two levels
// (alice, then bob); 20 alerts for one service within a second, distinct
// dedup keys; the fake answers every third chat.postMessage with 429
// Retry-After: 1 and otherwise enforces Slack's published limits. Every
// incident is named in a DM to alice within 5 s of the first alert (one
// message a second into her DM: only bundles make that possible), none
// twice before its re-page time, every incident has its channel and one
// card, and "Acknowledge all" acknowledges all 20 and stops every page.
func TestBundledStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm: about a minute (channels are Tier 2)")
	}
	const incidents = 20
	const repage = time.Second
	cfg := defaults()
	cfg.repage, cfg.escalate = repage, 3*time.Second
	cfg.limits = slackbot.SlackLimits()
	var mu sync.Mutex
	posts := 0
	cfg.before = func(e *env) {
		e.fake.UseSlackRateLimits()
		e.fake.InjectFaults(func(method string, _ url.Values) (fakeslack.Fault, bool) {
			if method != "chat.postMessage" {
				return fakeslack.Fault{}, false
			}
			mu.Lock()
			defer mu.Unlock()
			posts++
			return fakeslack.TooManyRequests(time.Second), posts%3 == 0
		})
	}
	e := newEnv(t, cfg)

	start := time.Now()
	for i := range incidents {
		e.open("payments", fmt.Sprintf("storm-%d", i), fmt.Sprintf("Storm alert %d on host-%d", i, i))
	}
	t.Logf("%d alerts stored in %v", incidents, time.Since(start).Round(time.Millisecond))

	// 1. Every incident named in a DM to alice within 5 s.
	named := func() map[int64]time.Time {
		first := map[int64]time.Time{}
		for _, p := range e.dmPosts(e.alice) {
			for _, n := range p.named {
				if _, ok := first[n]; !ok {
					first[n] = p.at
				}
			}
		}
		return first
	}
	ctx, cancel := context.WithDeadline(e.ctx, start.Add(5*time.Second))
	err := e.fake.WaitFor(ctx, func() bool { return len(named()) == incidents })
	cancel()
	got := named()
	im, _ := e.fake.IM(e.alice.ID)
	for _, c := range e.fake.Calls("chat.postMessage") {
		if c.Param("channel") == im.ID && c.At.Before(start.Add(5*time.Second)) {
			t.Logf("alice's DM at %v: %d %s, %d named", c.At.Sub(start).Round(time.Millisecond), c.Status, c.Error, len(incRE.FindAllString(c.Param("text"), -1)))
		}
	}
	if err != nil {
		t.Fatalf("after 5 s only %d of %d incidents named in a DM to alice", len(got), incidents)
	}
	var latest time.Duration
	for _, at := range got {
		latest = max(latest, at.Sub(start))
	}
	dms := e.dmPosts(e.alice)
	t.Logf("every incident named to alice %v after the first alert, in %d DMs", latest.Round(time.Millisecond), len(dms))

	// 3. Every incident's channel and exactly one card within 90 s.
	ctx, cancel = context.WithDeadline(e.ctx, start.Add(90*time.Second))
	err = e.fake.WaitFor(ctx, func() bool {
		for i := int64(1); i <= incidents; i++ {
			if r := e.refs(i); r["ch"] == "" || r["card"] == "" {
				return false
			}
		}
		return true
	})
	cancel()
	if err != nil {
		t.Fatal("not every incident has its channel and card after 90 s")
	}
	announced := time.Since(start)

	// 4. "Acknowledge all", pressed by alice on her DMs' bundles, newest
	// first, until nothing is triggered.
	triggered := func() []int64 {
		var out []int64
		for i := int64(1); i <= incidents; i++ {
			if e.incident(i).Status == incident.StatusTriggered {
				out = append(out, i)
			}
		}
		return out
	}
	pressed := 0
	var pressedTS []string
	for _, p := range slices.Backward(e.dmPosts(e.alice)) {
		if len(triggered()) == 0 {
			break
		}
		if len(p.named) < 2 {
			continue
		}
		id, err := e.fake.SendBlockAction(e.alice.ID, im.ID, p.ts, "baton_ackall", "")
		if err != nil {
			continue // already redrawn without the button: all of it taken
		}
		pressed++
		pressedTS = append(pressedTS, p.ts)
		t.Logf("Acknowledge all on a bundle of %d: %s", len(p.named), e.answer(id))
	}
	if left := triggered(); len(left) > 0 {
		t.Fatalf("still triggered after Acknowledge all (%d presses): %v", pressed, left)
	}
	acked := time.Now()
	for i := int64(1); i <= incidents; i++ {
		if inc := e.incident(i); inc.Owner != "alice" {
			t.Errorf("INC-%d owned by %q, want alice (who pressed)", i, inc.Owner)
		}
	}
	// The pages stop: no page job due or running. From then on nothing can
	// page (a page is sent only by a running job, and an acknowledged
	// incident queues none); the chat jobs redraw the cards, notices and
	// bundles meanwhile, and any DM posted after this is a page too many.
	slot := strings.TrimSuffix(e.svc.JobsKey(), "jobs")
	e.waitFor("no page job due or running", func() bool {
		due, err1 := e.rdb.ZCard(e.ctx, e.svc.JobsKey()).Result()
		running, err2 := e.rdb.ZCard(e.ctx, slot+"inflight").Result()
		return err1 == nil && err2 == nil && due+running == 0
	})
	settled := time.Now()
	// The bundles pressed are redrawn at once (through the interaction): no
	// button left, who acknowledged shown. (Older messages to alice, not the
	// latest page of any incident, keep their buttons, as single pages do;
	// pressing them says the incidents are taken.)
	for _, ts := range pressedTS {
		m, _ := e.fake.Message(im.ID, ts)
		if b := blocksText(m); strings.Contains(b, "baton_ack") || !strings.Contains(b, "*Acknowledged* by <@"+e.alice.ID+">") {
			t.Errorf("bundle %s not redrawn as acknowledged: %.400s", ts, b)
		}
	}
	t.Logf("pages stopped %v after the last Acknowledge all", settled.Sub(acked).Round(time.Millisecond))

	// 2. No page doubled: no incident named twice in a DM to one person
	// sooner than its re-page interval.
	for _, u := range []fakeslack.User{e.alice, e.bob} {
		last := map[int64]time.Time{}
		for _, p := range e.dmPosts(u) {
			for _, n := range p.named {
				if prev, ok := last[n]; ok && p.at.Sub(prev) < repage-100*time.Millisecond {
					t.Errorf("INC-%d named to %s twice within %v", n, u.Name, p.at.Sub(prev))
				}
				last[n] = p.at
			}
		}
	}
	// … and nothing named after the acknowledgements settled.
	for _, u := range []fakeslack.User{e.alice, e.bob} {
		for _, p := range e.dmPosts(u) {
			if p.at.After(settled) {
				t.Errorf("a DM to %s naming %v posted after every incident was acknowledged", u.Name, p.named)
			}
		}
	}
	// Exactly one card each.
	for i := int64(1); i <= incidents; i++ {
		r := e.refs(i)
		cards := 0
		for _, m := range e.fake.Messages(r["ch"]) {
			if m.Metadata != nil && m.Metadata.EventType == "baton_card" {
				cards++
			}
		}
		if cards != 1 {
			t.Errorf("INC-%d has %d cards", i, cards)
		}
	}
	// Each incident's paged events: a bundled page names its bundle, and
	// every incident of one bundle has its event at the same time.
	at := map[string]time.Time{}
	bundled := 0
	for i := int64(1); i <= incidents; i++ {
		_, tl, err := e.svc.Get(e.ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range tl {
			if ev.Type != incident.EventPaged || ev.Bundle == "" {
				continue
			}
			bundled++
			if prev, ok := at[ev.Bundle]; ok && !prev.Equal(ev.At) {
				t.Errorf("bundle %s: INC-%d's paged event at %v, another's at %v", ev.Bundle, i, ev.At, prev)
			}
			at[ev.Bundle] = ev.At
		}
	}
	if bundled == 0 {
		t.Error("no paged event names a bundle")
	}
	refused := 0
	for _, c := range e.fake.Calls("") {
		if c.Status == http.StatusTooManyRequests {
			refused++
		}
	}
	t.Logf("channels and cards after %v; %d bundles in the timelines; %d DMs to alice, %d to bob; %d presses of Acknowledge all; %d Slack calls, %d refused with 429",
		announced.Round(time.Millisecond), len(at), len(e.dmPosts(e.alice)), len(e.dmPosts(e.bob)), pressed, len(e.fake.Calls("")), refused)
}

// "Acknowledge all" on a bundle: a stranger's press changes nothing and is
// told why; alice's acknowledges every incident still triggered (one was
// resolved meanwhile), each in its own transition, and the bundle is
// redrawn with who acknowledged what.
func TestAcknowledgeAll(t *testing.T) {
	e := newEnv(t, defaults())
	for i := range 4 {
		e.open("payments", fmt.Sprintf("ackall-%d", i), fmt.Sprintf("Disk full on db-%d", i))
	}
	im := func() string { c, _ := e.fake.IM(e.alice.ID); return c.ID }
	var bundle dmPost
	e.waitFor("a bundle to alice", func() bool {
		for _, p := range e.dmPosts(e.alice) {
			if len(p.named) > 1 {
				bundle = p
				return true
			}
		}
		return false
	})
	resolved := bundle.named[0]
	if _, err := e.svc.Resolve(e.ctx, resolved, "bob", "fixed"); err != nil {
		t.Fatal(err)
	}

	id, err := e.fake.SendBlockAction(e.mallory.ID, im(), bundle.ts, "baton_ackall", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.answer(id); !strings.Contains(got, "not in baton's people") {
		t.Fatalf("stranger told %q", got)
	}
	for _, n := range bundle.named[1:] {
		if s := e.incident(n).Status; s != incident.StatusTriggered {
			t.Fatalf("INC-%d %s after a stranger's press", n, s)
		}
	}

	id, err = e.fake.SendBlockAction(e.alice.ID, im(), bundle.ts, "baton_ackall", "")
	if err != nil {
		t.Fatal(err)
	}
	reply := e.answer(id)
	for _, rp := range e.fake.ResponsePosts(id) {
		m, _ := e.fake.Message(im(), bundle.ts)
		t.Logf("response post replace=%v blocks=%d; message now %s", rp.ReplaceOriginal, len(rp.Blocks), blocksText(m)[:200])
	}
	for _, n := range bundle.named[1:] {
		inc := e.incident(n)
		if inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" {
			t.Errorf("INC-%d %s, owner %s after Acknowledge all", n, inc.Status, inc.Owner)
		}
		if !strings.Contains(reply, fmt.Sprintf("INC-%d", n)) {
			t.Errorf("the answer does not name INC-%d: %s", n, reply)
		}
	}
	if e.incident(resolved).Status != incident.StatusResolved {
		t.Errorf("INC-%d was resolved, now %s", resolved, e.incident(resolved).Status)
	}
	e.waitFor("the bundle redrawn", func() bool {
		m, _ := e.fake.Message(im(), bundle.ts)
		b := blocksText(m)
		return !strings.Contains(b, "baton_ack") && strings.Contains(b, "*Acknowledged* by <@"+e.alice.ID+">") && strings.Contains(b, "*Resolved*")
	})
}

// answer waits for the answer to an interaction (what the person is told,
// not a redraw of the message they pressed) and returns it.
func (e *env) answer(envelope string) string {
	e.t.Helper()
	var text string
	e.waitFor("the answer to "+envelope, func() bool {
		for _, rp := range e.fake.ResponsePosts(envelope) {
			if !rp.ReplaceOriginal {
				text = rp.Text
				return true
			}
		}
		return false
	})
	return text
}

// A ✅ on a bundled page acknowledges every incident in it, and the message
// is then redrawn (no Acknowledge buttons left), as Acknowledge all redraws
// it: a reaction has no interaction to answer through, so the incidents'
// chat syncs must do it (break test of issue 14: it stayed as it was).
func TestReactionOnBundleRedraws(t *testing.T) {
	e := newEnv(t, defaults())
	for i := range 5 {
		e.open("payments", fmt.Sprintf("react-%d", i), fmt.Sprintf("Reaction storm %d", i))
	}
	var bundle dmPost
	e.waitFor("a bundled page", func() bool {
		for _, p := range e.dmPosts(e.alice) {
			if len(p.named) > 1 {
				bundle = p
				return true
			}
		}
		return false
	})
	im, _ := e.fake.IM(e.alice.ID)
	if _, err := e.fake.AddReaction(e.alice.ID, im.ID, bundle.ts, "white_check_mark"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("every incident of the bundle acknowledged", func() bool {
		for _, n := range bundle.named {
			if e.incident(n).Status != incident.StatusAcknowledged {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if err := e.fake.WaitFor(ctx, func() bool {
		m, ok := e.fake.Message(im.ID, bundle.ts)
		return ok && !strings.Contains(blocksText(m), "baton_ack")
	}); err != nil {
		m, _ := e.fake.Message(im.ID, bundle.ts)
		t.Fatalf("the bundle was not redrawn after the reaction (%d chat.update in the DM): %s", len(e.calls("chat.update", inChannel(im.ID))), blocksText(m))
	}
}

// Pages nobody could receive (the payments policy pages dave, who has no
// Slack account) go to the alerts channel, several as one fallback bundle.
// That channel is shared: a ✅ on the bundle takes none of its incidents,
// as on a bundle of notices (break test of issue 14: it took them all),
// also when the message's link to its bundle is not recorded (found by its
// key), while its buttons still work: "Acknowledge all" takes every one, an
// incident's own Acknowledge that one.
func TestFallbackBundleReactions(t *testing.T) {
	cases := []struct {
		name   string
		unlink bool // the message → bundle link is not recorded
		act    func(e *env, ts string, named []int64) error
		acked  func(named []int64) []int64 // the incidents acknowledged after it
	}{
		{
			name: "a ✅ reaction takes none",
			act: func(e *env, ts string, _ []int64) error {
				_, err := e.fake.AddReaction(e.alice.ID, e.alerts.ID, ts, "white_check_mark")
				return err
			},
			acked: func([]int64) []int64 { return nil },
		},
		{
			name:   "a ✅ reaction on it unlinked takes none",
			unlink: true,
			act: func(e *env, ts string, _ []int64) error {
				_, err := e.fake.AddReaction(e.alice.ID, e.alerts.ID, ts, "white_check_mark")
				return err
			},
			acked: func([]int64) []int64 { return nil },
		},
		{
			name: "Acknowledge all takes every one",
			act: func(e *env, ts string, _ []int64) error {
				_, err := e.fake.SendBlockAction(e.alice.ID, e.alerts.ID, ts, "baton_ackall", "")
				return err
			},
			acked: func(named []int64) []int64 { return named },
		},
		{
			name: "an incident's Acknowledge takes that one",
			act: func(e *env, ts string, named []int64) error {
				_, err := e.fake.SendBlockAction(e.alice.ID, e.alerts.ID, ts, "baton_ack", strconv.FormatInt(named[1], 10))
				return err
			},
			acked: func(named []int64) []int64 { return named[1:2] },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.levels = func(ls []escalation.Level) { ls[0] = level(time.Hour, "user:dave") }
			e := newEnv(t, cfg)
			for i := range 5 {
				e.open("payments", fmt.Sprintf("fallback-%d", i), fmt.Sprintf("Queue stuck on worker-%d", i))
			}
			var ts string
			var named []int64
			e.waitFor("a fallback bundle in the alerts channel", func() bool {
				for _, m := range e.fake.Messages(e.alerts.ID) {
					if !strings.HasPrefix(m.Text, "Nobody could be paged for ") {
						continue
					}
					seen := map[int64]bool{}
					for _, s := range incRE.FindAllStringSubmatch(m.Text, -1) {
						n, _ := strconv.ParseInt(s[1], 10, 64)
						seen[n] = true
					}
					if len(seen) > 1 {
						ts, named = m.TS, slices.Sorted(maps.Keys(seen))
						return true
					}
				}
				return false
			})
			// The bundle recorded (each incident's reference to it is
			// written after the message → bundle link).
			e.waitFor("the fallback bundle recorded", func() bool {
				for _, n := range named {
					if e.refs(n)["b:"+e.alerts.ID+"/"+ts] == "" {
						return false
					}
				}
				return true
			})
			if tc.unlink {
				keys, err := e.rdb.Keys(e.ctx, "test:chat:*:bmsg").Result()
				if err != nil || len(keys) != 1 {
					t.Fatalf("the message → bundle hash: %v %v", keys, err)
				}
				if n, err := e.rdb.HDel(e.ctx, keys[0], e.alerts.ID+"/"+ts).Result(); err != nil || n != 1 {
					t.Fatalf("unlink the bundle: %d %v", n, err)
				}
			}
			if err := tc.act(e, ts, named); err != nil {
				t.Fatal(err)
			}
			want := tc.acked(named)
			if len(want) == 0 {
				// Nothing to wait for but the reaction's handling: its
				// log line, or (before the fix) an acknowledgement.
				e.waitFor("the reaction handled", func() bool {
					if strings.Contains(e.log.String(), "reaction on a fallback bundle; ignored") {
						return true
					}
					for _, n := range named {
						if e.incident(n).Status != incident.StatusTriggered {
							return true
						}
					}
					return false
				})
			} else {
				e.waitFor("the incidents acknowledged", func() bool {
					for _, n := range want {
						if e.incident(n).Status != incident.StatusAcknowledged {
							return false
						}
					}
					return true
				})
			}
			for _, n := range named {
				wantStatus := incident.StatusTriggered
				if slices.Contains(want, n) {
					wantStatus = incident.StatusAcknowledged
				}
				if inc := e.incident(n); inc.Status != wantStatus {
					t.Errorf("INC-%d %s (owner %q), want %s", n, inc.Status, inc.Owner, wantStatus)
				}
			}
		})
	}
}
