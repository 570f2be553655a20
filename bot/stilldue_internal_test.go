package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// A page that waited for its bundle goes only if it still says something
// true: issue 14's break test had alice press "Acknowledge all" while the
// escalation of her incidents to bob was due, and 0.7 s later she was told
// "9 incidents moved on: you are no longer paged for it" about incidents
// she now owned. Any page, informational (handoff, notify) or not, is left
// out once its incident is acknowledged or resolved.
func TestStillDueLeavesOutPagesNoLongerTrue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := incident.NewStore(redistest.Start(t).Client(), "test:")
	p := &Pager{c: &Bot{inc: store, now: time.Now, log: slog.New(slog.DiscardHandler)}}
	open := func(t *testing.T) int64 {
		r, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: t.Name(), Summary: "disk full",
			Severity: incident.SevCritical, Status: incident.AlertFiring})
		if err != nil {
			t.Fatal(err)
		}
		return r.Number
	}
	ack := func(by string) func(*testing.T, int64) {
		return func(t *testing.T, n int64) {
			if _, err := store.Ack(ctx, n, by, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	assign := func(to string) func(*testing.T, int64) {
		return func(t *testing.T, n int64) {
			if _, err := store.Assign(ctx, n, to, "carol"); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolve := func(t *testing.T, n int64) {
		if _, err := store.Resolve(ctx, n, "carol", ""); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		then   func(*testing.T, int64) // what happened while the page waited
		person string
		reason escalation.Reason
		want   bool // sent
	}{
		{"handoff while the new owner has it", assign("bob"), "alice", escalation.ReasonHandoff, true},
		{"handoff to whoever acknowledged meanwhile", ack("alice"), "alice", escalation.ReasonHandoff, false},
		{"handoff of an incident someone else acknowledged", ack("bob"), "alice", escalation.ReasonHandoff, false},
		{"handoff of a resolved incident", resolve, "alice", escalation.ReasonHandoff, false},
		{"handoff before the step that makes bob owner commits", nil, "alice", escalation.ReasonHandoff, true},
		{"notify while someone else owns it", assign("bob"), "carol", escalation.ReasonNotify, true},
		{"notify of an acknowledged incident", ack("bob"), "carol", escalation.ReasonNotify, false},
		{"escalated page while triggered", assign("bob"), "bob", escalation.ReasonEscalated, true},
		{"escalated page after an ack", ack("alice"), "bob", escalation.ReasonEscalated, false},
		{"first page while triggered", nil, "alice", escalation.ReasonFirst, true},
		{"first page after a resolve", resolve, "alice", escalation.ReasonFirst, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := open(t)
			if tc.then != nil {
				tc.then(t, n)
			}
			pg := escalation.Page{Incident: n, Person: tc.person, Reason: tc.reason, Key: fmt.Sprintf("INC-%d/1/%s/%s", n, tc.reason, tc.person)}
			items := []*pageItem{{pg: pg}}
			due, errs := p.stillDue(ctx, items, make([]error, 1))
			if sent := len(due) == 1; sent != tc.want {
				t.Fatalf("page sent = %v, want %v (err %v)", sent, tc.want, errs[0])
			}
			if !tc.want && (!errors.Is(errs[0], errNoLongerDue) || !escalation.IsUnsent(errs[0])) {
				t.Fatalf("left out with %v, want errNoLongerDue marked Unsent", errs[0])
			}
		})
	}
}
