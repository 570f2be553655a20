package slack_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/rotations"
)

// Take it reaches paging at once, even with the board's override cache
// (ResolverTTL, 2 s in baton; a minute here so that only Take it can
// refresh it): alice's hold was cached by a page during the handoff, carol
// takes the pager, and the very next alert pages carol, not alice.
func TestTakeItPagesTheTakerAtOnce(t *testing.T) {
	spec := rotations.Spec{Name: "db", Timezone: "UTC", Shift: "10m", Start: "2020-01-01", Participants: []string{"alice", "carol"}}
	r, err := rotations.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for {
		var in rotations.Shift
		at, _, in = rotations.NextHandoff(r, at)
		if in.Person == "carol" {
			break
		}
	}
	clk := &shiftClock{}
	clk.set(at.Add(-3 * time.Second))
	cfg := defaults()
	cfg.now = clk.now
	cfg.rotations = []rotations.Spec{spec}
	cfg.handoffs = map[string]rotations.HandoffPolicy{"db": {HandoffAccept: 10 * time.Second}}
	cfg.secondary = func(context.Context, string, time.Time) []string { return []string{"bob"} }
	cfg.levels = func(ls []escalation.Level) { ls[0] = level(time.Hour, "rotation:db") }
	cfg.resolverTTL = time.Minute
	e := newEnv(t, cfg)
	if err := e.shifts.Schedule(e.ctx, clk.now()); err != nil {
		t.Fatal(err)
	}

	clk.set(at.Add(100 * time.Millisecond))
	e.waitFor("carol asked to take the pager", func() bool { return len(e.dmsWith(e.carol, "take the pager")) == 1 })
	n := e.open("payments", "held", "while alice holds it")
	e.waitFor("alice paged: she holds the pager (and the board cached it)", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })

	clk.set(at.Add(time.Second + 100*time.Millisecond))
	e.takePager(e.carol)
	cut := e.holdCut(clk, at)
	clk.set(cut.Add(time.Second))
	m := e.open("payments", "taken", "right after taking it")
	e.waitFor("somebody paged", func() bool {
		return e.dmsAbout(e.carol, m, "You are on call")+e.dmsAbout(e.alice, m, "You are on call") > 0
	})
	if e.dmsAbout(e.alice, m, "You are on call") != 0 {
		t.Fatal("alice paged right after carol took the pager: the board's cache kept her hold")
	}
}
