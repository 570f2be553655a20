package incident_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// An escalation step and an acknowledgement race (issue 14's break test:
// alice pressed "Acknowledge all" as her incidents' escalation to bob fell
// due; INC-6's timeline then had "paged bob, level 2, escalated" without
// its "escalated" line, after the "acknowledged" it preceded). The steps
// are driven in order on a real Redis: the runner's decision, its page,
// the ack, the runner's commit. The timeline keeps the step whole (its
// escalated line with the pages it sent) or leaves it out (it sent
// nothing), in time order, and a step another run committed is not
// recorded twice.
func TestStaleCommitKeepsTheStepWhole(t *testing.T) {
	decided := t0.Add(15 * time.Minute)
	ms := func(n int) time.Time { return decided.Add(time.Duration(n) * time.Millisecond) }
	cases := []struct {
		name string
		// the ack comes at ackAt; the step's page (if any) went out at pagedAt
		ackAt, pagedAt time.Time
		// committedBefore: another run of the job committed the same step
		// before the ack.
		committedBefore bool
		// escalate: a manual escalation overtakes the step instead of the
		// ack (it writes no timeline line of its own: its page job will).
		escalate bool
		want     string
	}{
		{"the page went out, then the ack", ms(596), ms(274), false, false,
			"opened paged:alice escalated:bob paged:bob acknowledged:alice"},
		{"the ack before any page", ms(100), time.Time{}, false, false,
			"opened paged:alice acknowledged:alice"},
		{"the ack between the re-check and the page", ms(100), ms(274), false, false,
			"opened paged:alice escalated:bob acknowledged:alice paged:bob"},
		{"another run committed the step first", ms(596), ms(274), true, false,
			"opened paged:alice escalated:bob paged:bob acknowledged:alice"},
		{"a manual escalation, which writes no line, after the page", ms(596), ms(274), false, true,
			"opened paged:alice escalated:bob paged:bob"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			var mu sync.Mutex
			clock := t0
			s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			set := func(at time.Time) { mu.Lock(); clock = at; mu.Unlock() }
			n := mustOpen(t, s, ctx, alert(fmt.Sprint("k", i))).Number
			claim := func(token string) incident.Job {
				t.Helper()
				c.ZAdd(ctx, s.JobsKey(), redisZ(t0, incident.PageJob(n)))
				jobs, _, err := s.ClaimJobs(ctx, t0.Add(time.Hour), time.Minute, 1, token)
				if err != nil || len(jobs) != 1 {
					t.Fatalf("claim: %+v %v", jobs, err)
				}
				return jobs[0]
			}
			first := claim("r1:1")
			if ok, err := s.Commit(ctx, first, incident.Commit{Rev: 0,
				Step:  &incident.Step{Owner: "alice", Level: 1, LevelAt: t0, PagedAt: t0},
				Facts: []incident.Event{{Type: incident.EventPaged, At: t0, Person: "alice", By: "baton", Level: 1, Note: "first"}},
			}); err != nil || !ok {
				t.Fatalf("first step: %v %v", ok, err)
			}
			// The escalation step, decided at rev 1.
			esc := incident.Commit{Rev: 1,
				Step:   &incident.Step{Owner: "bob", Level: 2, LevelAt: decided, PagedAt: decided},
				Events: []incident.Event{{Type: incident.EventEscalated, At: decided, Person: "bob", By: "baton", Level: 2, Note: "not acknowledged within 15m at level 1"}},
			}
			if !tc.pagedAt.IsZero() {
				esc.Facts = []incident.Event{{Type: incident.EventPaged, At: tc.pagedAt, Person: "bob", By: "baton", Level: 2, Note: "escalated"}}
			}
			j := claim("r1:2")
			if tc.committedBefore {
				set(ms(400))
				if ok, err := s.Commit(ctx, j, esc); err != nil || !ok {
					t.Fatalf("the other run's commit: %v %v", ok, err)
				}
				j = claim("r2:1") // the stale run's claim (its lease ran out meanwhile)
			}
			set(tc.ackAt)
			overtake := s.Ack
			if tc.escalate {
				overtake = s.Escalate
			}
			if _, err := overtake(ctx, n, "alice", ""); err != nil {
				t.Fatal(err)
			}
			set(ms(900))
			if ok, err := s.Commit(ctx, j, esc); err != nil || ok {
				t.Fatalf("stale commit = %v, %v; want refused", ok, err)
			}
			_, tl, err := s.Get(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for k, ev := range tl {
				w := string(ev.Type)
				if ev.Person != "" {
					w += ":" + ev.Person
				}
				got = append(got, w)
				if k > 0 && ev.At.Before(tl[k-1].At) {
					t.Errorf("timeline out of order: %s at %v before %s at %v", tl[k-1].Type, tl[k-1].At, ev.Type, ev.At)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("timeline\n got %s\nwant %s", g, tc.want)
			}
		})
	}
}

// A stale step with several events and facts (issue 16's follow-up: the
// merge walked the step's events 7 fields at a time though each has 8, the
// 8th its chats, and dropped the chats): every field of every event comes
// back intact, chats kept, whether the step is merged before the ack or
// appended after it.
func TestStaleCommitKeepsEveryField(t *testing.T) {
	decided := t0.Add(15 * time.Minute)
	ms := func(n int) time.Time { return decided.Add(time.Duration(n) * time.Millisecond) }
	cases := []struct {
		name  string
		ackAt time.Time
		// the step's entries, in time order, with the ack among them
		want []string
	}{
		{"the ack after the step's entries (merged)", ms(596), []string{"escalated", "paged:bob", "paged:carol", "acknowledged"}},
		{"the ack before the step's entries (appended)", ms(-1), []string{"acknowledged", "escalated", "paged:bob", "paged:carol"}},
		{"the ack between the step's pages", ms(300), []string{"escalated", "paged:bob", "acknowledged", "paged:carol"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			var mu sync.Mutex
			clock := t0
			s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			set := func(at time.Time) { mu.Lock(); clock = at; mu.Unlock() }
			n := mustOpen(t, s, ctx, alert(fmt.Sprint("f", i))).Number
			claim := func(token string) incident.Job {
				t.Helper()
				c.ZAdd(ctx, s.JobsKey(), redisZ(t0, incident.PageJob(n)))
				jobs, _, err := s.ClaimJobs(ctx, t0.Add(time.Hour), time.Minute, 1, token)
				if err != nil || len(jobs) != 1 {
					t.Fatalf("claim: %+v %v", jobs, err)
				}
				return jobs[0]
			}
			if ok, err := s.Commit(ctx, claim("r1:1"), incident.Commit{Rev: 0,
				Step:  &incident.Step{Owner: "alice", Level: 1, LevelAt: t0, PagedAt: t0},
				Facts: []incident.Event{{Type: incident.EventPaged, At: t0, Person: "alice", By: "baton", Level: 1, Note: "first", Chats: "slack"}},
			}); err != nil || !ok {
				t.Fatalf("first step: %v %v", ok, err)
			}
			want := map[string]incident.Event{
				"escalated":   {Type: incident.EventEscalated, At: decided, Person: "bob", By: "baton", Level: 2, Note: "not acknowledged within 15m at level 1"},
				"paged:bob":   {Type: incident.EventPaged, At: ms(100), Person: "bob", By: "baton", Level: 2, Note: "escalated", Bundle: "B1", Chats: "slack,discord"},
				"paged:carol": {Type: incident.EventPaged, At: ms(400), Person: "carol", By: "baton", Level: 2, Note: "escalated", Chats: "discord"},
			}
			esc := incident.Commit{Rev: 1,
				Step:   &incident.Step{Owner: "bob", Level: 2, LevelAt: decided, PagedAt: decided},
				Events: []incident.Event{want["escalated"], {Type: incident.EventNote, At: decided, By: "baton", Note: "second event"}},
				Facts:  []incident.Event{want["paged:bob"], want["paged:carol"]},
			}
			j := claim("r1:2")
			set(tc.ackAt)
			if _, err := s.Ack(ctx, n, "alice", ""); err != nil {
				t.Fatal(err)
			}
			set(ms(900))
			if ok, err := s.Commit(ctx, j, esc); err != nil || ok {
				t.Fatalf("stale commit = %v, %v; want refused", ok, err)
			}
			_, tl, err := s.Get(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range tl {
				if !ev.At.After(t0) || ev.Type == incident.EventNote {
					if ev.Type == incident.EventNote && ev.Note != "second event" {
						t.Errorf("noted event garbled: %+v", ev)
					}
					continue
				}
				w := string(ev.Type)
				if ev.Type == incident.EventPaged {
					w += ":" + ev.Person
				}
				got = append(got, w)
				if exp, ok := want[w]; ok {
					exp.At = exp.At.UTC()
					ev.Count, ev.Last = 0, time.Time{}
					if fmt.Sprintf("%+v", ev) != fmt.Sprintf("%+v", exp) {
						t.Errorf("%s\n got %+v\nwant %+v", w, ev, exp)
					}
				}
			}
			if g, w := strings.Join(got, " "), strings.Join(tc.want, " "); g != w {
				t.Fatalf("timeline after the decision\n got %s\nwant %s", g, w)
			}
		})
	}
}
