package escalation_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// Issue 14's break test: alice pressed "Acknowledge all" at about the
// moment her incidents' escalation to bob was due. The runner, on a real
// Redis, is driven through the race in order: it decides the escalation,
// pages bob, and alice acknowledges (after bob's page went out, or while
// it was being sent), before the runner commits. The commit is refused
// (the ack moved the revision) and the timeline keeps the escalation whole
// and in time order: its escalated line with bob's page, never the page
// alone; alice, who owns the incident now, is not told it moved on.
func TestAckRacingAnEscalationKeepsTheTimelineWhole(t *testing.T) {
	cases := []struct {
		name string
		// ackBefore: alice acknowledges after the runner's last re-check and
		// before bob's page is sent; else while it is being sent.
		ackBefore bool
		want      string
	}{
		{"the ack while bob's page is sent", false, "opened, paged alice first, escalated bob, paged bob escalated, acknowledged alice"},
		{"the ack between the re-check and bob's page", true, "opened, paged alice first, escalated bob, acknowledged alice, paged bob escalated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, 300*time.Millisecond, 0, 0)
			var opened atomic.Int64 // the incident, once open (the runner's goroutines read it)
			acked := make(chan struct{})
			ack := func() {
				time.Sleep(5 * time.Millisecond) // a person's click comes a while after the decision
				if _, err := e.svc.Ack(e.ctx, opened.Load(), "alice", ""); err != nil {
					t.Error(err)
				}
				close(acked)
				time.Sleep(5 * time.Millisecond)
			}
			pager := pagerFunc(func(ctx context.Context, pg escalation.Page) error {
				if pg.Reason == escalation.ReasonEscalated && !tc.ackBefore {
					ack()
				}
				return e.rec.Page(ctx, pg)
			})
			store := beginHook{Store: e.svc, before: func(key string) {
				if tc.ackBefore && strings.Contains(key, "/escalated/") {
					ack()
				}
			}}
			e.start(e.runner(p, nil, func(o *escalation.Options) { o.Pager, o.Incidents = pager, store }))
			n := e.open("k")
			opened.Store(n)
			<-acked
			e.eventually("the refused commit", func() bool {
				_, inFlight := e.jobs()
				return inFlight == 0 && countEvents(e.timeline(n), incident.EventPaged) == 2
			})
			tl := e.timeline(n)
			var got []string
			for k, ev := range tl {
				w := string(ev.Type)
				if ev.Person != "" {
					w += " " + ev.Person
				}
				if ev.Type == incident.EventPaged {
					w += " " + ev.Note
				}
				got = append(got, w)
				if k > 0 && ev.At.Before(tl[k-1].At) {
					t.Errorf("timeline out of order: %s at %s before %s at %s", tl[k-1].Type, tl[k-1].At.Format("05.000"), ev.Type, ev.At.Format("05.000"))
				}
			}
			for _, ev := range tl {
				t.Logf("%s %s %s", ev.At.Format("05.000000"), ev.Type, ev.Person)
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Fatalf("timeline\n got %s\nwant %s", g, tc.want)
			}
			if c := e.rec.Count(owner("alice", escalation.ReasonHandoff)); c != 0 {
				t.Fatalf("alice, who acknowledged, was told %d times the incident moved on", c)
			}
			inc, st, err := e.svc.LoadEscalation(e.ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" || st.Level != 2 {
				t.Fatalf("after the race: status %s owner %s level %d, want acknowledged by alice at level 2", inc.Status, inc.Owner, st.Level)
			}
		})
	}
}

// beginHook is a store that calls before ahead of recording each page's
// send (BeginPage): after the runner's last re-check, before the Pager.
type beginHook struct {
	escalation.Store
	before func(key string)
}

func (s beginHook) BeginPage(ctx context.Context, n, rev int64, key string, at time.Time) (incident.PageMark, error) {
	s.before(key)
	return s.Store.BeginPage(ctx, n, rev, key, at)
}
