package slack_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/rotations"
)

// shiftClock is a clock the test moves forward: real time plus an offset,
// so the runner's polls still tick while whole minutes of a rotation pass
// at a jump.
type shiftClock struct{ off atomic.Int64 }

func (c *shiftClock) now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// set moves the clock so that it reads at now.
func (c *shiftClock) set(at time.Time) { c.off.Store(int64(time.Until(at))) }

// shiftEnv is an env whose payments policy pages rotation "db" (10 minute
// shifts of participants, from 2020-01-01 UTC) then bob, with handoff
// settings pol; the clock stands 3 s before a handoff to incoming.
func shiftEnv(t *testing.T, participants []string, incoming string, pol rotations.HandoffPolicy) (*env, *shiftClock, time.Time) {
	t.Helper()
	spec := rotations.Spec{Name: "db", Timezone: "UTC", Shift: "10m", Start: "2020-01-01", Participants: participants}
	r, err := rotations.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	var in rotations.Shift
	for {
		at, _, in = rotations.NextHandoff(r, at)
		if in.Person == incoming {
			break
		}
	}
	clk := &shiftClock{}
	clk.set(at.Add(-3 * time.Second))
	cfg := defaults()
	cfg.now = clk.now
	cfg.rotations = []rotations.Spec{spec}
	cfg.handoffs = map[string]rotations.HandoffPolicy{"db": pol}
	cfg.secondary = func(context.Context, string, time.Time) []string { return []string{"bob"} }
	cfg.levels = func(ls []escalation.Level) {
		ls[0] = level(time.Hour, "rotation:db")
	}
	e := newEnv(t, cfg)
	if err := e.shifts.Schedule(e.ctx, clk.now()); err != nil {
		t.Fatal(err)
	}
	return e, clk, at
}

// containing returns the messages of a channel whose text contains want.
func (e *env) containing(channel, want string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range e.fake.Messages(channel) {
		if strings.Contains(m.Text, want) {
			out = append(out, m)
		}
	}
	return out
}

func (e *env) dmsWith(user fakeslack.User, want string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range e.dms(user) {
		if strings.Contains(m.Text, want) {
			out = append(out, m)
		}
	}
	return out
}

// holdCut waits until the hold of the handoff at has been cut (the pager
// taken) and returns its new end: after at, not after the clock.
func (e *env) holdCut(clk *shiftClock, at time.Time) time.Time {
	e.t.Helper()
	var cut time.Time
	e.waitFor("the hold cut", func() bool {
		list, _ := e.overrides.List(e.ctx, "db")
		if len(list) != 1 || list[0].Until.After(clk.now()) {
			return false
		}
		cut = list[0].Until
		return true
	})
	if !cut.After(at) {
		e.t.Fatalf("the hold ends at %v, not after the handoff %v", cut, at)
	}
	return cut
}

// stepDone waits until the handoff step job member has run and is gone
// (neither due nor in flight). env.idle looks at real time, and the steps
// are due by the test's clock.
func (e *env) stepDone(member string) {
	e.t.Helper()
	slot := strings.TrimSuffix(e.svc.JobsKey(), "jobs")
	e.waitFor(member+" to run", func() bool {
		_, errDue := e.rdb.ZScore(e.ctx, e.svc.JobsKey(), member).Result()
		_, errRun := e.rdb.ZScore(e.ctx, slot+"inflight", member).Result()
		return errDue == redis.Nil && errRun == redis.Nil
	})
}

// takePager presses "Take it" on user's last handoff question.
func (e *env) takePager(user fakeslack.User) {
	e.t.Helper()
	qs := e.dmsWith(user, "take the pager")
	if len(qs) == 0 {
		e.t.Fatal("no handoff question to press")
	}
	q := qs[len(qs)-1]
	if !strings.Contains(blocksText(q), "baton_takepager") {
		e.t.Fatalf("the question has no Take it button: %s", blocksText(q))
	}
	var value string
	if i := strings.Index(blocksText(q), `"value":"`); i >= 0 {
		rest := blocksText(q)[i+len(`"value":"`):]
		value = rest[:strings.Index(rest, `"`)]
	}
	if _, err := strconv.ParseInt(value, 10, 64); err != nil {
		e.t.Fatalf("the button carries %q: %s", value, blocksText(q))
	}
	e.must(e.fake.SendBlockAction(user.ID, q.Channel, q.TS, "baton_takepager", value))
}

// An accepted handoff, end to end: at the handoff carol (incoming) is asked
// to take the pager; until she does, alice (outgoing) keeps it: an alert in
// the grace pages alice, and when the grace runs out bob (the secondary)
// and the alerts channel are told. Pressing later still takes it: the next
// alert pages carol. A restart between setting and reaching each deadline
// changes nothing.
func TestHandoffNotTakenThenTaken(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "carol"}, "carol", rotations.HandoffPolicy{HandoffAccept: 2 * time.Second})
	e.restart() // the handoff's job is in Redis: a restart before it changes nothing
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked to take the pager", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	if q := e.dmsWith(e.carol, "take the pager")[0]; !strings.Contains(q.Text, "You're on call for db (payments) until") ||
		!strings.Contains(q.Text, "Alice keeps it") {
		t.Fatalf("question: %q", q.Text)
	}
	n := e.open("payments", "grace", "during the grace")
	e.waitFor("alice paged: she keeps the pager", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	if e.dmsAbout(e.carol, n, "You are on call") != 0 {
		t.Fatal("carol was paged before she took the pager")
	}
	list, err := e.overrides.List(e.ctx, "db")
	if err != nil || len(list) != 1 || list[0].Person != "alice" || list[0].By != rotations.OverrideByHandoff {
		t.Fatalf("overrides: %+v, %v; want alice's hold", list, err)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/oncall", ""); !strings.Contains(r, "db: Alice (override by handoff)") {
		t.Fatalf("/oncall during the hold: %q", r)
	}

	e.restart() // the grace's job is in Redis
	clk.set(at.Add(2*time.Second + 100*time.Millisecond))
	e.waitFor("bob told", func() bool { return len(e.dmsWith(e.bob, "has not taken the pager of db")) == 1 })
	e.waitFor("the alerts channel told", func() bool {
		return len(e.containing(e.alerts.ID, "Carol has not taken the pager of db")) == 1
	})
	if m := e.dmsWith(e.bob, "has not taken")[0]; !strings.Contains(m.Text, "Alice still holds it") {
		t.Fatalf("bob told: %q", m.Text)
	}

	e.takePager(e.carol)
	cut := e.holdCut(clk, at)
	clk.set(cut.Add(time.Second))
	if r := e.slash(e.bob, e.alerts.ID, "/oncall", ""); !strings.Contains(r, "db: Carol until") {
		t.Fatalf("/oncall once carol took the pager: %q", r)
	}
	m := e.open("payments", "after", "after taking it")
	e.waitFor("carol paged once she took it", func() bool { return e.dmsAbout(e.carol, m, "You are on call") == 1 })
	e.idle()
	if e.dmsAbout(e.alice, m, "You are on call") != 0 {
		t.Fatal("alice paged after carol took the pager")
	}
	if len(e.dmsWith(e.bob, "has not taken")) != 1 {
		t.Fatal("bob told twice")
	}
}

// Taken within the grace: the next alert pages the incoming person, and
// nobody is told anything.
func TestHandoffTakenInTheGrace(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "carol"}, "carol", rotations.HandoffPolicy{HandoffAccept: 10 * time.Second})
	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked to take the pager", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	clk.set(at.Add(time.Second + 100*time.Millisecond))
	e.takePager(e.carol)
	if cut := e.holdCut(clk, at); cut.Before(at.Add(time.Second)) {
		t.Fatalf("the hold was cut at %v, before carol pressed", cut)
	}
	e.restart()
	clk.set(at.Add(10*time.Second + 100*time.Millisecond)) // past the grace: its job finds the pager taken
	n := e.open("payments", "taken", "after taking it")
	e.waitFor("carol paged", func() bool { return e.dmsAbout(e.carol, n, "You are on call") == 1 })
	e.stepDone(incident.ShiftJob("grace:db:" + strconv.FormatInt(at.Unix(), 10)))
	e.idle()
	if len(e.dmsWith(e.bob, "has not taken")) != 0 || len(e.containing(e.alerts.ID, "has not taken")) != 0 {
		t.Fatal("the secondary or the channel was told about a pager that was taken")
	}
	if e.dmsAbout(e.alice, n, "You are on call") != 0 {
		t.Fatal("alice paged after carol took the pager")
	}
}

// Pre-shift checks, preshift_check before the handoff, with a restart in
// between: an incoming person who cannot be paged (dave: no Slack account,
// no email), and a gap (an override puts dave on later in the next 24 h).
// The outgoing person and the alerts channel are told (and the incoming
// person, when they can be DMed).
func TestPreshiftWarnings(t *testing.T) {
	tests := []struct {
		name         string
		participants []string
		incoming     string
		override     bool
		want         string
		toldIncoming bool
	}{
		{"an unreachable incoming person", []string{"alice", "dave"}, "dave", false, "dave, on call", false},
		{"a gap later in the day", []string{"alice", "carol"}, "carol", true, "a gap in the rotation", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, clk, at := shiftEnv(t, tc.participants, tc.incoming, rotations.HandoffPolicy{PreshiftCheck: 2 * time.Second})
			if tc.override {
				if _, err := e.overrides.Create(e.ctx, rotations.Override{Rotation: "db", Person: "dave",
					From: at.Add(time.Hour), Until: at.Add(2 * time.Hour), By: "alice"}, clk.now()); err != nil {
					t.Fatal(err)
				}
			}
			e.restart()
			clk.set(at.Add(-2*time.Second + 100*time.Millisecond))
			e.waitFor("the alerts channel warned", func() bool {
				return len(e.containing(e.alerts.ID, "Pre-shift check of db")) == 1
			})
			e.waitFor("alice (outgoing) warned", func() bool { return len(e.dmsWith(e.alice, "Pre-shift check of db")) == 1 })
			m := e.dmsWith(e.alice, "Pre-shift check of db")[0]
			if !strings.Contains(m.Text, tc.want) || !strings.Contains(m.Text, "cannot be paged") {
				t.Fatalf("warning: %q; want %q", m.Text, tc.want)
			}
			if tc.toldIncoming {
				e.waitFor("carol (incoming) warned", func() bool { return len(e.dmsWith(e.carol, "Pre-shift check of db")) == 1 })
			}
			e.idle()
			if len(e.containing(e.alerts.ID, "Pre-shift check of db")) != 1 {
				t.Fatal("warned twice")
			}
		})
	}
}
