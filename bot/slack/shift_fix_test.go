package slack_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/rotations"
)

// buttonValue is the value of the first button of q whose action is action.
func buttonValue(t testing.TB, q fakeslack.Message, action string) string {
	t.Helper()
	b := blocksText(q)
	i := strings.Index(b, `"action_id":"`+action+`"`)
	if i < 0 {
		t.Fatalf("no %s button: %s", action, b)
	}
	j := strings.Index(b[i:], `"value":"`)
	rest := b[i+j+len(`"value":"`):]
	return rest[:strings.Index(rest, `"`)]
}

// pressTake presses Take it on the question q of user and returns the reply.
func (e *env) pressTake(user fakeslack.User, q fakeslack.Message) string {
	e.t.Helper()
	id, err := e.fake.SendBlockAction(user.ID, q.Channel, q.TS, "baton_takepager", buttonValue(e.t, q, "baton_takepager"))
	if err != nil {
		e.t.Fatal(err)
	}
	// The reply, not only the redraw of the question (posted before it).
	e.waitFor("the reply to Take it", func() bool {
		for _, p := range e.fake.ResponsePosts(id) {
			if !p.ReplaceOriginal {
				return true
			}
		}
		return false
	})
	var texts []string
	for _, p := range e.fake.ResponsePosts(id) {
		texts = append(texts, unescapeHTML(p.Text))
	}
	return strings.Join(texts, "\n")
}

// holds lists the handoff holds of rotation.
func (e *env) holds(rotation string) []rotations.Override {
	e.t.Helper()
	list, err := e.overrides.List(e.ctx, rotation)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []rotations.Override
	for _, o := range list {
		if o.By == rotations.OverrideByHandoff {
			out = append(out, o)
		}
	}
	return out
}

// twoRotationEnv: rotations db (alice, carol) and web (bob, carol), both
// with handoff_accept pol, and the clock 3 s before a handoff where carol
// is incoming on both.
func twoRotationEnv(t *testing.T, pol rotations.HandoffPolicy) (*env, *shiftClock, time.Time) {
	t.Helper()
	s1 := rotations.Spec{Name: "db", Timezone: "UTC", Shift: "10m", Start: "2020-01-01", Participants: []string{"alice", "carol"}}
	s2 := rotations.Spec{Name: "web", Timezone: "UTC", Shift: "10m", Start: "2020-01-01", Participants: []string{"bob", "carol"}}
	r, err := rotations.Compile(s1)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	var in rotations.Shift
	for {
		at, _, in = rotations.NextHandoff(r, at)
		if in.Person == "carol" {
			break
		}
	}
	clk := &shiftClock{}
	clk.set(at.Add(-3 * time.Second))
	cfg := defaults()
	cfg.now = clk.now
	cfg.rotations = []rotations.Spec{s1, s2}
	cfg.handoffs = map[string]rotations.HandoffPolicy{"db": pol, "web": pol}
	cfg.secondary = func(context.Context, string, time.Time) []string { return nil }
	cfg.levels = func(ls []escalation.Level) { ls[0] = level(time.Hour, "rotation:db") }
	e := newEnv(t, cfg)
	if err := e.shifts.Schedule(e.ctx, clk.now()); err != nil {
		t.Fatal(err)
	}
	return e, clk, at
}

// One person incoming on two rotations at the same instant: each question's
// Take it takes the pager of its own rotation, not the first by name.
func TestTakeItTakesThePressedRotation(t *testing.T) {
	e, clk, at := twoRotationEnv(t, rotations.HandoffPolicy{HandoffAccept: time.Minute})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked twice", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 2 })
	var web fakeslack.Message
	for _, q := range e.dmsWith(e.carol, "take the pager") {
		if strings.Contains(q.Text, "on call for web") {
			web = q
		}
	}
	if web.TS == "" {
		t.Fatal("no question for web")
	}
	clk.set(at.Add(2 * time.Second))
	if r := e.pressTake(e.carol, web); !strings.Contains(r, "pager of web") {
		t.Fatalf("reply: %q", r)
	}
	e.waitFor("web's hold cut", func() bool {
		h := e.holds("web")
		return len(h) == 0 || h[0].Until.Before(clk.now())
	})
	if h := e.holds("db"); len(h) != 1 || h[0].Person != "alice" || !h[0].Until.After(clk.now()) {
		t.Fatalf("db's hold: %+v; want alice's, untouched", h)
	}
}

// A hold in Redis can be taken after handoff_accept left the config (the
// process restarted with the new config): Take it reads the hold, not the
// current settings.
func TestTakeItAfterHandoffAcceptRemoved(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "carol"}, "carol", rotations.HandoffPolicy{HandoffAccept: time.Minute})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	// The config without handoff_accept: no policy for db any more.
	r, err := rotations.Compile(rotations.Spec{Name: "db", Timezone: "UTC", Shift: "10m", Start: "2020-01-01", Participants: []string{"alice", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	e.bot.Shifts(bot.ShiftOptions{Rotations: map[string]*rotations.Rotation{"db": r},
		Policies: map[string]rotations.HandoffPolicy{}, Store: e.overrides, Jobs: e.svc})
	clk.set(at.Add(2 * time.Second))
	if r := e.pressTake(e.carol, e.dmsWith(e.carol, "take the pager")[0]); !strings.Contains(r, "You hold the pager of db") {
		t.Fatalf("reply: %q", r)
	}
	e.holdCut(clk, at)
}

// After downtime the handoff steps missed are not replayed as if now: the
// handoff of a shift already over asks nobody, the current handoff is
// caught up once, and its grace (handoff_accept after the late question)
// says how long ago the handoff really was. The runner is down between
// setting the deadlines and reaching them.
func TestHandoffCatchUpAfterDowntime(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "bob", "carol"}, "bob", rotations.HandoffPolicy{HandoffAccept: time.Second})
	e.stop()
	// 25 minutes later: bob's shift (at, at+10m) and carol's are over; alice
	// has been on since at+20m.
	cur := at.Add(20 * time.Minute)
	clk.set(cur.Add(5 * time.Minute))
	e.start()
	e.waitFor("alice asked once, for the current shift", func() bool { return len(e.dmsWith(e.alice, "take the pager")) == 1 })
	clk.set(cur.Add(5*time.Minute + 1500*time.Millisecond))
	e.waitFor("the grace told", func() bool { return len(e.containing(e.alerts.ID, "has not taken the pager")) == 1 })
	if m := e.containing(e.alerts.ID, "has not taken the pager")[0]; !strings.Contains(m.Text, "Alice has not taken") ||
		!strings.Contains(m.Text, "5m1s ago") && !strings.Contains(m.Text, "5m2s ago") {
		t.Fatalf("grace: %q; want Alice, about 5m1s ago", m.Text)
	}
	e.idle()
	if n := len(e.dmsWith(e.bob, "take the pager")) + len(e.dmsWith(e.carol, "take the pager")); n != 0 {
		t.Fatalf("%d questions for shifts already over", n)
	}
	if n := len(e.containing(e.alerts.ID, "has not taken the pager")); n != 1 {
		t.Fatalf("%d grace messages; want 1", n)
	}
}

// A hold lasts one shift: a pager bob never took is not carried on by
// alice at the next handoff (carol is on call at once and asked), and an
// outgoing person who cannot be paged (dave) keeps no hold at all: the
// incoming person is on call at once and the alerts channel is told.
func TestHoldNotCarriedNorUnreachable(t *testing.T) {
	t.Run("carried", func(t *testing.T) {
		e, clk, at := shiftEnv(t, []string{"alice", "bob", "carol"}, "bob", rotations.HandoffPolicy{HandoffAccept: time.Second})
		clk.set(at.Add(100 * time.Millisecond))
		e.waitFor("bob asked", func() bool { return len(e.dmsWith(e.bob, "take the pager")) == 1 })
		e.restartRunner() // the next handoff's job is in Redis
		next := at.Add(10 * time.Minute)
		clk.set(next.Add(100 * time.Millisecond))
		e.waitFor("carol asked", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
		if q := e.dmsWith(e.carol, "take the pager")[0]; !strings.Contains(q.Text, "You are paged from now") {
			t.Fatalf("carol's question: %q", q.Text)
		}
		for _, o := range e.holds("db") {
			if o.Until.After(next) {
				t.Fatalf("a hold past the handoff: %+v", o)
			}
		}
		n := e.open("payments", "carol", "after the handoff")
		e.waitFor("carol paged", func() bool { return e.dmsAbout(e.carol, n, "You are on call") == 1 })
		if e.dmsAbout(e.alice, n, "You are on call") != 0 {
			t.Fatal("alice paged after her hold's shift")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		e, clk, at := shiftEnv(t, []string{"dave", "carol"}, "carol", rotations.HandoffPolicy{HandoffAccept: time.Second})
		e.restartRunner()
		clk.set(at.Add(100 * time.Millisecond))
		e.waitFor("carol asked", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
		e.waitFor("the alerts channel told", func() bool { return len(e.containing(e.alerts.ID, "cannot keep the pager of db")) == 1 })
		if h := e.holds("db"); len(h) != 0 {
			t.Fatalf("holds: %+v", h)
		}
		n := e.open("payments", "carol", "after the handoff")
		e.waitFor("carol paged", func() bool { return e.dmsAbout(e.carol, n, "You are on call") == 1 })
	})
}

// A Take it pressed after its shift ended is refused and changes no hold
// (it used to stretch the old hold to the press); a Take it pressed in
// time redraws the question without its button, saying what happened.
func TestTakeItLateAndRedrawn(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "bob", "carol"}, "bob", rotations.HandoffPolicy{HandoffAccept: time.Second})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("bob asked", func() bool { return len(e.dmsWith(e.bob, "take the pager")) == 1 })
	bobQ := e.dmsWith(e.bob, "take the pager")[0]
	// The next handoff redraws bob's question without its button
	// (TestTakeItSettles); here that redraw fails, so the button stays and
	// bob presses it late.
	e.fake.InjectFaults(func(method string, v url.Values) (fakeslack.Fault, bool) {
		return fakeslack.SlackError("message_not_found"), method == "chat.update" && v.Get("ts") == bobQ.TS
	})
	next := at.Add(10 * time.Minute)
	clk.set(next.Add(100 * time.Millisecond))
	e.waitFor("carol asked", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	clk.set(next.Add(time.Minute))
	if r := e.pressTake(e.carol, e.dmsWith(e.carol, "take the pager")[0]); !strings.Contains(r, "You hold the pager of db") {
		t.Fatalf("carol's reply: %q", r)
	}
	e.waitFor("carol's question redrawn without its button", func() bool {
		for _, m := range e.dms(e.carol) {
			if strings.Contains(m.Text, "You took the pager of db") && !strings.Contains(blocksText(m), "baton_takepager") {
				return true
			}
		}
		return false
	})
	clk.set(next.Add(3 * time.Minute))
	if r := e.pressTake(e.bob, bobQ); !strings.Contains(r, "ended") {
		t.Fatalf("bob's late press: %q", r)
	}
	for _, o := range e.holds("db") {
		if o.Until.After(next) {
			t.Fatalf("a hold stretched past its shift by a late press: %+v", o)
		}
	}
}

// A hold deleted (by the API) before the grace ends: nobody is told that
// the outgoing person "still holds it".
func TestGraceAfterHoldDeleted(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "carol"}, "carol", rotations.HandoffPolicy{HandoffAccept: time.Second})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	h := e.holds("db")
	if len(h) != 1 {
		t.Fatalf("holds: %+v", h)
	}
	if err := e.overrides.Delete(e.ctx, "db", h[0].ID); err != nil {
		t.Fatal(err)
	}
	e.restartRunner()
	clk.set(at.Add(1500 * time.Millisecond))
	e.stepDone(incident.ShiftJob("grace:db:" + strconv.FormatInt(at.Unix(), 10)))
	if n := len(e.containing(e.alerts.ID, "still holds it")) + len(e.dmsWith(e.bob, "still holds it")); n != 0 {
		t.Fatalf("told %d times that alice still holds a deleted hold", n)
	}
}

// After downtime a pre-shift check whose handoff has passed is not run
// late (it would warn about a shift already begun): the next check is
// queued for the coming handoff instead.
func TestPreshiftSkippedAfterDowntime(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "dave"}, "dave", rotations.HandoffPolicy{PreshiftCheck: 2 * time.Second})
	e.stop()
	clk.set(at.Add(5 * time.Minute)) // dave's shift began 5 minutes ago
	e.start()
	e.stepDone(incident.ShiftJob("preshift:db:" + strconv.FormatInt(at.Unix(), 10)))
	e.idle()
	if n := len(e.containing(e.alerts.ID, "Pre-shift check of db")); n != 0 {
		t.Fatalf("%d pre-shift warnings for a handoff already passed", n)
	}
	next := at.Add(10 * time.Minute)
	if _, err := e.rdb.ZScore(e.ctx, e.svc.JobsKey(), incident.ShiftJob("preshift:db:"+strconv.FormatInt(next.Unix(), 10))).Result(); err != nil {
		t.Fatalf("the next check is not queued: %v", err)
	}
}

// A Take it drawn by an older baton (the handoff's unix second alone) is
// refused, naming the rotations, when the person is incoming on two at
// that instant; nothing is taken.
func TestTakeItOldValueAmbiguous(t *testing.T) {
	e, clk, at := twoRotationEnv(t, rotations.HandoffPolicy{HandoffAccept: time.Minute})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked twice", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 2 })
	q := e.dmsWith(e.carol, "take the pager")[0]
	id, err := e.fake.SendBlockAction(e.carol.ID, q.Channel, q.TS, "baton_takepager", strconv.FormatInt(at.Unix(), 10))
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the reply", func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
	if r := unescapeHTML(e.fake.ResponsePosts(id)[0].Text); !strings.Contains(r, "db and web") || !strings.Contains(r, "nothing was taken") {
		t.Fatalf("reply: %q", r)
	}
	for _, rot := range []string{"db", "web"} {
		if h := e.holds(rot); len(h) != 1 || !h[0].Until.After(clk.now()) {
			t.Fatalf("%s's hold: %+v; want it untouched", rot, h)
		}
	}
}
