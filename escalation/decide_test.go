package escalation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
)

var now = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

func target(s string) rotations.Target {
	t, err := rotations.ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return t
}

func level(after time.Duration, targets ...string) escalation.Level {
	l := escalation.Level{EscalateAfter: after}
	for _, s := range targets {
		l.Targets = append(l.Targets, target(s))
	}
	return l
}

// dbPolicy is the example: primary, then the next primary and carol.
func dbPolicy() escalation.Policy {
	return escalation.Policy{
		Name: "db-policy", RepageEvery: 5 * time.Minute, Repeat: 1, AckTimeout: 4 * time.Hour,
		Levels: []escalation.Level{
			level(15*time.Minute, "rotation:primary"),
			level(15*time.Minute, "rotation:primary/next", "user:carol"),
		},
	}
}

// onCall answers from a table; a rotation missing from it has not started.
func onCall(m map[string]string) rotations.Resolver {
	return func(t rotations.Target, _ time.Time) (string, bool, string) {
		if p, ok := m[t.String()]; ok && p != "" {
			return p, true, ""
		}
		return "", false, "rotation " + t.Name + " has not started"
	}
}

var everyone = map[string]string{"rotation:primary": "alice", "rotation:primary/next": "bob", "rotation:secondary": "sam"}

func triggered(owner string) incident.Incident {
	return incident.Incident{Number: 7, Service: "database", Title: "disk full", Severity: incident.SevCritical,
		Status: incident.StatusTriggered, Owner: owner}
}

func ago(d time.Duration) time.Time { return now.Add(-d) }

// pageList renders pages compactly: "alice first L1", "#fallback fallback L0".
func pageList(ps []escalation.Page) string {
	var out []string
	for _, p := range ps {
		who := p.Person
		if who == "" {
			who = "#fallback"
		}
		out = append(out, fmt.Sprintf("%s %s L%d", who, p.Reason, p.Level))
	}
	return strings.Join(out, ", ")
}

func eventList(es []incident.Event) string {
	var out []string
	for _, e := range es {
		s := string(e.Type)
		if e.Person != "" {
			s += " " + e.Person
		}
		out = append(out, fmt.Sprintf("%s L%d", s, e.Level))
	}
	return strings.Join(out, ", ")
}

func TestDecide(t *testing.T) {
	type want struct {
		stop        bool
		pages       string // pageList
		owner       string
		level       int
		round       int
		levelAt     time.Time // zero: not checked
		pagedAt     time.Time
		next        time.Time
		events      string // eventList; "-" for none
		escalated   bool
		fallback    bool
		noteHas     string // some event note contains this
		escalatedBy string
	}
	tests := []struct {
		name   string
		inc    incident.Incident
		st     incident.EscalationState
		policy func(p *escalation.Policy)
		oncall map[string]string
		want   want
	}{
		{
			name: "acknowledged incident: stop",
			inc:  incident.Incident{Number: 7, Status: incident.StatusAcknowledged, Owner: "alice"},
			st:   incident.EscalationState{Level: 1, LevelAt: ago(time.Hour), PagedAt: ago(time.Hour)},
			want: want{stop: true},
		},
		{
			name: "resolved incident: stop",
			inc:  incident.Incident{Number: 7, Status: incident.StatusResolved},
			st:   incident.EscalationState{Level: 2},
			want: want{stop: true},
		},
		{
			name: "open: first resolvable target of level 1 becomes owner and is paged at once",
			inc:  triggered(""),
			want: want{pages: "alice first L1", owner: "alice", level: 1, levelAt: now, pagedAt: now,
				next: now.Add(5 * time.Minute), events: "-"},
		},
		{
			name: "open: the level's other targets are notified",
			inc:  triggered(""),
			policy: func(p *escalation.Policy) {
				p.Levels[0] = level(15*time.Minute, "rotation:primary", "user:carol", "rotation:primary")
			},
			want: want{pages: "alice first L1, carol notify L1", owner: "alice", level: 1, events: "-",
				next: now.Add(5 * time.Minute)},
		},
		{
			name:   "open: a level whose rotation has nobody on shift is skipped with a note",
			inc:    triggered(""),
			oncall: map[string]string{"rotation:primary/next": "bob"},
			want: want{pages: "bob first L2, carol notify L2", owner: "bob", level: 2, events: "note L1, note L1",
				noteHas: "has not started", next: now.Add(5 * time.Minute)},
		},
		{
			name:   "escalate: the level's first target names nobody, the second becomes owner",
			inc:    triggered("alice"),
			oncall: map[string]string{"rotation:primary": "alice"},
			st:     incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "carol escalated L2, alice handoff L2", owner: "carol", level: 2, escalated: true,
				events: "note L2, escalated carol L2"},
		},
		{
			name:   "open: nobody resolvable anywhere pages the fallback, never silence",
			inc:    triggered(""),
			oncall: map[string]string{},
			policy: func(p *escalation.Policy) { p.Levels[1] = level(15*time.Minute, "rotation:primary/next") },
			want: want{pages: "#fallback fallback L0", level: 0, fallback: true, pagedAt: now,
				next: now.Add(5 * time.Minute), events: "note L1, note L1, note L2, note L2"},
		},
		{
			name: "fallback mode retries the policy from level 1 when someone comes on shift",
			inc:  triggered(""),
			st:   incident.EscalationState{Level: 0, LevelAt: ago(5 * time.Minute), PagedAt: ago(5 * time.Minute), Rev: 3},
			want: want{pages: "alice first L1", owner: "alice", level: 1, events: "-"},
		},
		{
			name: "nothing due yet: no page, next at the re-page",
			inc:  triggered("alice"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(2 * time.Minute), PagedAt: ago(2 * time.Minute)},
			want: want{pages: "", owner: "alice", level: 1, events: "-", next: now.Add(3 * time.Minute),
				pagedAt: ago(2 * time.Minute), levelAt: ago(2 * time.Minute)},
		},
		{
			name: "re-page the owner every repage_every",
			inc:  triggered("alice"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(10 * time.Minute), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "alice repeat L1", owner: "alice", level: 1, pagedAt: now, levelAt: ago(10 * time.Minute),
				next: now.Add(5 * time.Minute), events: "-"},
		},
		{
			name: "next wake-up is the escalation deadline when it comes before the re-page",
			inc:  triggered("alice"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(13 * time.Minute), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "alice repeat L1", owner: "alice", level: 1, next: now.Add(2 * time.Minute), events: "-"},
		},
		{
			name: "escalate after escalate_after: next level's first target owns, others notified, previous owner told",
			inc:  triggered("alice"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "bob escalated L2, carol notify L2, alice handoff L2", owner: "bob", level: 2,
				levelAt: now, pagedAt: now, next: now.Add(5 * time.Minute), events: "escalated bob L2", escalated: true,
				noteHas: "not acknowledged within 15m at level 1", escalatedBy: escalation.By},
		},
		{
			name: "after the last level the policy loops to level 1 while repeat remains",
			inc:  triggered("bob"),
			st:   incident.EscalationState{Level: 2, Round: 0, LevelAt: ago(15 * time.Minute), PagedAt: ago(15 * time.Minute)},
			want: want{pages: "alice escalated L1, bob handoff L1", owner: "alice", level: 1, round: 1,
				events: "escalated alice L1", escalated: true, noteHas: "round 2"},
		},
		{
			name: "after repeat loops the last owner keeps being paged, forever",
			inc:  triggered("bob"),
			st:   incident.EscalationState{Level: 2, Round: 1, LevelAt: ago(3 * time.Hour), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "bob repeat L2", owner: "bob", level: 2, round: 1, next: now.Add(5 * time.Minute), events: "-"},
		},
		{
			name:   "repeat 0: no loop, the last level's owner stays",
			inc:    triggered("bob"),
			st:     incident.EscalationState{Level: 2, LevelAt: ago(time.Hour), PagedAt: ago(5 * time.Minute)},
			policy: func(p *escalation.Policy) { p.Repeat = 0 },
			want:   want{pages: "bob repeat L2", owner: "bob", level: 2, events: "-"},
		},
		{
			name:   "escalating to a level with nobody on call skips it and loops",
			inc:    triggered("alice"),
			st:     incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)},
			policy: func(p *escalation.Policy) { p.Levels[1] = level(15*time.Minute, "rotation:nobody") },
			want: want{pages: "alice escalated L1", owner: "alice", level: 1, round: 1, escalated: true,
				events: "note L2, note L2, escalated alice L1"},
		},
		{
			name: "nobody further to escalate to: the owner stays and is paged",
			inc:  triggered("alice"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)},
			policy: func(p *escalation.Policy) {
				p.Repeat = 0
				p.Levels[1] = level(15*time.Minute, "rotation:nobody")
			},
			want: want{pages: "alice repeat L2", owner: "alice", level: 2, round: 0, events: "note L2, note L2, note L2",
				noteHas: "alice stays owner", next: now.Add(5 * time.Minute)},
		},
		{
			name: "manual escalate moves up a level now, by whoever asked",
			inc:  triggered("alice"),
			st: incident.EscalationState{Level: 1, LevelAt: ago(time.Minute), PagedAt: ago(time.Minute),
				Pending: incident.PendingEscalate, PendingBy: "dave"},
			want: want{pages: "bob escalated L2, carol notify L2, alice handoff L2", owner: "bob", level: 2,
				events: "escalated bob L2", escalated: true, escalatedBy: "dave", noteHas: "escalated by dave"},
		},
		{
			name: "manual escalate with a note: the escalated event carries the reason, then the note",
			inc:  triggered("alice"),
			st: incident.EscalationState{Level: 1, LevelAt: ago(time.Minute), PagedAt: ago(time.Minute),
				Pending: incident.PendingEscalate, PendingBy: "dave", PendingNote: "needs the DBA"},
			want: want{pages: "bob escalated L2, carol notify L2, alice handoff L2", owner: "bob", level: 2,
				events: "escalated bob L2", escalated: true, escalatedBy: "dave",
				noteHas: "escalated by dave; was alice" + incident.EscalationNoteSep + "needs the DBA"},
		},
		{
			name: "manual escalate with a note and nobody further: the note stays, as the asker's",
			inc:  triggered("alice"),
			st: incident.EscalationState{Level: 1, LevelAt: ago(time.Minute), PagedAt: ago(time.Minute),
				Pending: incident.PendingEscalate, PendingBy: "dave", PendingNote: "needs the DBA"},
			policy: func(p *escalation.Policy) {
				p.Levels[0] = level(15*time.Minute, "rotation:nobody")
				p.Levels[1] = level(15*time.Minute, "rotation:nobody")
			},
			want: want{pages: "alice repeat L1", owner: "alice", level: 1, round: 1,
				events: "note L2, note L2, note L1, note L1, note L1, note L1", noteHas: "needs the DBA", next: now.Add(5 * time.Minute)},
		},
		{
			name: "manual escalate from the last level after every loop starts level 1 again",
			inc:  triggered("bob"),
			st: incident.EscalationState{Level: 2, Round: 1, LevelAt: ago(time.Hour), PagedAt: ago(time.Minute),
				Pending: incident.PendingEscalate, PendingBy: "dave"},
			want: want{pages: "alice escalated L1, bob handoff L1", owner: "alice", level: 1, round: 2, escalated: true,
				events: "escalated alice L1", next: now.Add(5 * time.Minute)},
		},
		{
			name: "manual escalate before the first page starts at level 1",
			inc:  triggered(""),
			st:   incident.EscalationState{Pending: incident.PendingEscalate, PendingBy: "dave"},
			want: want{pages: "alice escalated L1", owner: "alice", level: 1, escalated: true, events: "escalated alice L1"},
		},
		{
			name: "assign pages the assigned owner at the same level and restarts its clock",
			inc:  triggered("erin"),
			st: incident.EscalationState{Level: 2, LevelAt: ago(14 * time.Minute), PagedAt: ago(4 * time.Minute),
				Pending: incident.PendingAssign, PendingBy: "alice"},
			want: want{pages: "erin assigned L2", owner: "erin", level: 2, levelAt: now, pagedAt: now,
				next: now.Add(5 * time.Minute), events: "-"},
		},
		{
			name: "assign before the first page: the assigned owner, level 1",
			inc:  triggered("erin"),
			st:   incident.EscalationState{Pending: incident.PendingAssign, PendingBy: "alice"},
			want: want{pages: "erin assigned L1", owner: "erin", level: 1, events: "-"},
		},
		{
			name: "an assigned owner is kept on the next re-page, whoever the rotation names",
			inc:  triggered("erin"),
			st:   incident.EscalationState{Level: 1, LevelAt: ago(6 * time.Minute), PagedAt: ago(5 * time.Minute)},
			want: want{pages: "erin repeat L1", owner: "erin", level: 1, events: "-"},
		},
		{
			name: "retrigger after the ack timeout pages the owner again",
			inc:  triggered("alice"),
			st: incident.EscalationState{Level: 1, LevelAt: ago(5 * time.Hour), PagedAt: ago(5 * time.Hour),
				Pending: incident.PendingRetrigger},
			want: want{pages: "alice retriggered L1", owner: "alice", level: 1, levelAt: now, events: "-",
				next: now.Add(5 * time.Minute)},
		},
		{
			name:   "a policy with no levels pages the fallback",
			inc:    triggered(""),
			policy: func(p *escalation.Policy) { p.Levels = nil },
			want:   want{pages: "#fallback fallback L0", fallback: true, events: "-", next: now.Add(5 * time.Minute)},
		},
		{
			name:   "a level past a shrunk policy's end is its last level",
			inc:    triggered("bob"),
			st:     incident.EscalationState{Level: 5, LevelAt: ago(time.Minute), PagedAt: ago(time.Minute)},
			policy: func(p *escalation.Policy) { p.Levels = p.Levels[:1]; p.Repeat = 0 },
			want:   want{pages: "", owner: "bob", level: 1, events: "-", next: now.Add(4 * time.Minute)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dbPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			oc := everyone
			if tc.oncall != nil {
				oc = tc.oncall
			}
			plan := escalation.Decide(tc.inc, tc.st, p, onCall(oc), now)
			w := tc.want
			if plan.Stop != w.stop {
				t.Fatalf("Stop = %v, want %v (plan %+v)", plan.Stop, w.stop, plan)
			}
			if w.stop {
				if len(plan.Pages) != 0 || !plan.Next.IsZero() {
					t.Fatalf("a stopped plan pages %q and schedules %v", pageList(plan.Pages), plan.Next)
				}
				return
			}
			if got := pageList(plan.Pages); got != w.pages {
				t.Errorf("pages = %q, want %q", got, w.pages)
			}
			if plan.Owner != w.owner || plan.Level != w.level || plan.Round != w.round {
				t.Errorf("owner/level/round = %q/%d/%d, want %q/%d/%d", plan.Owner, plan.Level, plan.Round, w.owner, w.level, w.round)
			}
			if !w.levelAt.IsZero() && !plan.LevelAt.Equal(w.levelAt) {
				t.Errorf("LevelAt = %v, want %v", plan.LevelAt, w.levelAt)
			}
			if !w.pagedAt.IsZero() && !plan.PagedAt.Equal(w.pagedAt) {
				t.Errorf("PagedAt = %v, want %v", plan.PagedAt, w.pagedAt)
			}
			if !plan.Next.After(now) {
				t.Errorf("Next = %v, not after now: a triggered incident must always have a next decision", plan.Next)
			}
			if !w.next.IsZero() && !plan.Next.Equal(w.next) {
				t.Errorf("Next = %v (now+%v), want now+%v", plan.Next, plan.Next.Sub(now), w.next.Sub(now))
			}
			wantEvents := w.events
			if wantEvents == "-" {
				wantEvents = ""
			}
			if got := eventList(plan.Events); got != wantEvents {
				t.Errorf("events = %q, want %q", got, wantEvents)
			}
			if plan.Escalated != w.escalated {
				t.Errorf("Escalated = %v, want %v", plan.Escalated, w.escalated)
			}
			if (plan.Fallback != "") != w.fallback {
				t.Errorf("Fallback = %q, want set: %v", plan.Fallback, w.fallback)
			}
			if w.noteHas != "" {
				found := false
				for _, e := range plan.Events {
					found = found || strings.Contains(e.Note, w.noteHas)
				}
				if !found {
					t.Errorf("no event note contains %q: %+v", w.noteHas, plan.Events)
				}
			}
			if w.escalatedBy != "" {
				for _, e := range plan.Events {
					if e.Type == incident.EventEscalated && e.By != w.escalatedBy {
						t.Errorf("escalated event by %q, want %q", e.By, w.escalatedBy)
					}
				}
			}
			for i, pg := range plan.Pages {
				if i > 0 && pg.Reason.MustDeliver() {
					t.Errorf("page %d (%s) must be delivered but is not first", i, pg.Reason)
				}
				if pg.Incident != 7 || !pg.At.Equal(now) || pg.Key == "" {
					t.Errorf("page %d = %+v: incident, time or key missing", i, pg)
				}
			}
		})
	}
}

func TestDecidePageKeysFollowTheRevision(t *testing.T) {
	st := incident.EscalationState{Level: 1, LevelAt: ago(10 * time.Minute), PagedAt: ago(5 * time.Minute), Rev: 4}
	a := escalation.Decide(triggered("alice"), st, dbPolicy(), onCall(everyone), now)
	b := escalation.Decide(triggered("alice"), st, dbPolicy(), onCall(everyone), now.Add(time.Second))
	if a.Pages[0].Key != b.Pages[0].Key {
		t.Fatalf("the same decision retried got keys %q and %q; a Pager cannot de-duplicate", a.Pages[0].Key, b.Pages[0].Key)
	}
	st.Rev++
	c := escalation.Decide(triggered("alice"), st, dbPolicy(), onCall(everyone), now)
	if c.Pages[0].Key == a.Pages[0].Key {
		t.Fatalf("the next re-page reuses key %q", a.Pages[0].Key)
	}
}

func TestAckTimeoutDue(t *testing.T) {
	acked := incident.Incident{Number: 7, Status: incident.StatusAcknowledged, Owner: "alice", Acknowledged: ago(10 * time.Hour)}
	tests := []struct {
		name      string
		inc       incident.Incident
		st        incident.EscalationState
		timeout   time.Duration
		retrigger bool
		at        time.Time
	}{
		{"acknowledged less than the timeout ago: wait", acked, incident.EscalationState{AckAt: ago(time.Hour)}, 4 * time.Hour, false, now.Add(3 * time.Hour)},
		{"acknowledged the timeout ago: re-trigger", acked, incident.EscalationState{AckAt: ago(4 * time.Hour)}, 4 * time.Hour, true, time.Time{}},
		{"the latest ack counts, not the first", acked, incident.EscalationState{AckAt: ago(time.Hour)}, 2 * time.Hour, false, now.Add(time.Hour)},
		{"without ack_at the first ack counts", acked, incident.EscalationState{}, 4 * time.Hour, true, time.Time{}},
		{"ack timeout off", acked, incident.EscalationState{AckAt: ago(100 * time.Hour)}, 0, false, time.Time{}},
		{"triggered again already", triggered("alice"), incident.EscalationState{AckAt: ago(5 * time.Hour)}, 4 * time.Hour, false, time.Time{}},
		{"resolved", incident.Incident{Status: incident.StatusResolved}, incident.EscalationState{AckAt: ago(5 * time.Hour)}, 4 * time.Hour, false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dbPolicy()
			p.AckTimeout = tc.timeout
			re, at := escalation.AckTimeoutDue(tc.inc, tc.st, p, now)
			if re != tc.retrigger || !at.Equal(tc.at) {
				t.Fatalf("AckTimeoutDue = %v, %v; want %v, %v", re, at, tc.retrigger, tc.at)
			}
		})
	}
}

// TestDecidePriority: when the page job runs next and from when it is
// urgent work (claimed before re-pages); and overdue re-pages collapse into
// one page.
func TestDecidePriority(t *testing.T) {
	tests := []struct {
		name     string
		inc      incident.Incident
		st       incident.EscalationState
		policy   func(p *escalation.Policy)
		oncall   map[string]string
		pages    string
		next     time.Time
		urgentAt time.Time // zero: routine
	}{
		{
			name:  "first page: the re-page after it is routine until the escalation deadline",
			inc:   triggered(""),
			pages: "alice first L1", next: now.Add(5 * time.Minute), urgentAt: now.Add(15 * time.Minute),
		},
		{
			name:  "re-page when the escalation comes next: urgent when due",
			inc:   triggered("alice"),
			st:    incident.EscalationState{Level: 1, LevelAt: ago(13 * time.Minute), PagedAt: ago(5 * time.Minute)},
			pages: "alice repeat L1", next: now.Add(2 * time.Minute), urgentAt: now.Add(2 * time.Minute),
		},
		{
			name:  "escalated: the new level's re-pages are routine until its own deadline",
			inc:   triggered("alice"),
			st:    incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)},
			pages: "bob escalated L2, carol notify L2, alice handoff L2", next: now.Add(5 * time.Minute), urgentAt: now.Add(15 * time.Minute),
		},
		{
			name:   "re-pages three hours overdue collapse into one; no level left, routine",
			inc:    triggered("bob"),
			st:     incident.EscalationState{Level: 2, Round: 1, LevelAt: ago(4 * time.Hour), PagedAt: ago(3 * time.Hour)},
			policy: func(p *escalation.Policy) { p.Repeat = 1 },
			pages:  "bob repeat L2", next: now.Add(5 * time.Minute),
		},
		{
			name:   "nobody on call yet: the next try at a first page is urgent",
			inc:    triggered(""),
			oncall: map[string]string{},
			policy: func(p *escalation.Policy) { p.Levels[1] = level(15*time.Minute, "rotation:primary/next") },
			pages:  "#fallback fallback L0", next: now.Add(5 * time.Minute), urgentAt: now.Add(5 * time.Minute),
		},
		{
			name:   "a policy with no levels: its fallback re-pages are routine",
			inc:    triggered(""),
			policy: func(p *escalation.Policy) { p.Levels = nil },
			pages:  "#fallback fallback L0", next: now.Add(5 * time.Minute),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dbPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			oc := everyone
			if tc.oncall != nil {
				oc = tc.oncall
			}
			plan := escalation.Decide(tc.inc, tc.st, p, onCall(oc), now)
			if got := pageList(plan.Pages); got != tc.pages {
				t.Errorf("pages = %q, want %q", got, tc.pages)
			}
			if !plan.Next.Equal(tc.next) {
				t.Errorf("Next = now+%v, want now+%v", plan.Next.Sub(now), tc.next.Sub(now))
			}
			if !plan.UrgentAt.Equal(tc.urgentAt) {
				t.Errorf("UrgentAt = %v, want %v", plan.UrgentAt, tc.urgentAt)
			}
		})
	}
}

// The page that starts a re-page interval may go out later than its
// decision (a takeover after a crash decides as of the dead run's begin; a
// chat outage's retries decide as of the first attempt; a bundle waits for
// its message): the next re-page counts from when it went out, and when the
// step started a level so does that level's escalation deadline, so the
// person gets the whole escalate_after (15m here) from the page that
// reached them. A re-page leaves the deadline where the level began.
func TestPlanPagedLater(t *testing.T) {
	p := dbPolicy() // re-page 5m, escalate after 15m
	decide := func(inc incident.Incident, st incident.EscalationState) escalation.Plan {
		return escalation.Decide(inc, st, p, onCall(everyone), now)
	}
	first := decide(triggered(""), incident.EscalationState{})
	escalated := decide(triggered("alice"), incident.EscalationState{Level: 1, LevelAt: ago(15 * time.Minute), PagedAt: ago(5 * time.Minute)})
	assigned := decide(triggered("erin"), incident.EscalationState{Level: 1, LevelAt: ago(time.Minute), PagedAt: ago(time.Minute),
		Pending: incident.PendingAssign, PendingBy: "alice"})
	retriggered := decide(triggered("alice"), incident.EscalationState{Level: 1, LevelAt: ago(5 * time.Hour), PagedAt: ago(5 * time.Hour),
		Pending: incident.PendingRetrigger})
	repeat := decide(triggered("alice"), incident.EscalationState{Level: 1, LevelAt: ago(5 * time.Minute), PagedAt: ago(5 * time.Minute)})
	lastLevel := decide(triggered("bob"), incident.EscalationState{Level: 2, Round: 1, LevelAt: ago(time.Hour), PagedAt: ago(5 * time.Minute)})
	after := func(d time.Duration) time.Time { return now.Add(d) }
	cases := []struct {
		name       string
		plan       escalation.Plan
		at         time.Time
		wantLevel  time.Time // LevelAt: the escalation clock's start
		wantPaged  time.Time
		wantNext   time.Time
		wantUrgent time.Time
	}{
		{"a first page sent 12 s after its decision: both clocks start then", first, after(12 * time.Second),
			after(12 * time.Second), after(12 * time.Second), after(12*time.Second + 5*time.Minute), after(12*time.Second + 15*time.Minute)},
		{"sent when the decision was made: unchanged", first, now, now, now, after(5 * time.Minute), after(15 * time.Minute)},
		{"an at before the decision: unchanged", first, ago(time.Second), now, now, after(5 * time.Minute), after(15 * time.Minute)},
		{"a first page delivered 14m late (an outage): the next level is not paged 1m after it", first, after(14 * time.Minute),
			after(14 * time.Minute), after(14 * time.Minute), after(19 * time.Minute), after(29 * time.Minute)},
		{"a first page delivered after its whole escalate_after: still a full level from then", first, after(20 * time.Minute),
			after(20 * time.Minute), after(20 * time.Minute), after(25 * time.Minute), after(35 * time.Minute)},
		{"an escalation page delivered late: the new level's clock starts at delivery", escalated, after(14 * time.Minute),
			after(14 * time.Minute), after(14 * time.Minute), after(19 * time.Minute), after(29 * time.Minute)},
		{"an assigned owner's page delivered late", assigned, after(3 * time.Minute),
			after(3 * time.Minute), after(3 * time.Minute), after(8 * time.Minute), after(18 * time.Minute)},
		{"a re-trigger's page delivered late", retriggered, after(3 * time.Minute),
			after(3 * time.Minute), after(3 * time.Minute), after(8 * time.Minute), after(18 * time.Minute)},
		{"a re-page delivered late: only the re-page moves, the deadline stays", repeat, after(2 * time.Minute),
			ago(5 * time.Minute), after(2 * time.Minute), after(7 * time.Minute), after(10 * time.Minute)},
		{"a re-page delivered after the deadline: the escalation is due at once", repeat, after(12 * time.Minute),
			ago(5 * time.Minute), after(12 * time.Minute), after(12*time.Minute + time.Second), after(12*time.Minute + time.Second)},
		{"a re-page at the last position, no further level: nothing urgent", lastLevel, after(time.Minute),
			ago(time.Hour), after(time.Minute), after(6 * time.Minute), time.Time{}},
		{"a stopped plan", escalation.Plan{Stop: true}, after(time.Minute), time.Time{}, time.Time{}, time.Time{}, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.plan.PagedLater(p, tc.at)
			if !got.LevelAt.Equal(tc.wantLevel) || !got.PagedAt.Equal(tc.wantPaged) || !got.Next.Equal(tc.wantNext) || !got.UrgentAt.Equal(tc.wantUrgent) {
				t.Fatalf("LevelAt %v PagedAt %v Next %v UrgentAt %v, want %v %v %v %v", got.LevelAt, got.PagedAt, got.Next, got.UrgentAt,
					tc.wantLevel, tc.wantPaged, tc.wantNext, tc.wantUrgent)
			}
			if got.Level != tc.plan.Level || got.Owner != tc.plan.Owner || pageList(got.Pages) != pageList(tc.plan.Pages) {
				t.Fatalf("PagedLater changed more than the clocks: %+v", got)
			}
			if got.Stop || got.Level == 0 || !got.LevelStart {
				return
			}
			// The state committed, the next decisions: no escalation a moment
			// before the whole escalate_after has passed since the delivery.
			st := incident.EscalationState{Level: got.Level, Round: got.Round, LevelAt: got.LevelAt, PagedAt: got.PagedAt}
			inc := triggered(got.Owner)
			deadline := tc.at.Add(p.Levels[got.Level-1].EscalateAfter)
			if tc.at.Before(tc.plan.PagedAt) {
				deadline = tc.plan.LevelAt.Add(p.Levels[got.Level-1].EscalateAfter)
			}
			if pl := escalation.Decide(inc, st, p, onCall(everyone), deadline.Add(-time.Millisecond)); pl.Escalated {
				t.Fatalf("escalated %v after the page reached %s, before the level's %v", deadline.Add(-time.Millisecond).Sub(tc.at), got.Owner,
					p.Levels[got.Level-1].EscalateAfter)
			}
			if pl := escalation.Decide(inc, st, p, onCall(everyone), deadline); !pl.Escalated {
				t.Fatalf("not escalated at the deadline %v: pages %q", deadline, pageList(pl.Pages))
			}
		})
	}
}
