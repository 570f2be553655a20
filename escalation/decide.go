package escalation

import (
	"fmt"
	"slices"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/rotations"
)

// By is the "by" of the timeline events the engine writes itself.
const By = "baton"

// defaultRepage is used only when a policy that skipped validation has no
// re-page interval: an unacknowledged incident is never left quiet.
const defaultRepage = 5 * time.Minute

// Reason says why a Page is sent. The strings appear in logs and in the
// timeline's "paged" notes.
type Reason string

// Page reasons. Those for which MustDeliver is true are retried, and after
// too many failures dead-lettered and replaced by a fallback page; notify and
// handoff are sent once, best effort.
const (
	ReasonFirst       Reason = "first"       // the incident's first page, to its first owner
	ReasonRepeat      Reason = "repeat"      // the owner again, still unacknowledged
	ReasonEscalated   Reason = "escalated"   // the new owner after an escalation (timeout, loop or manual)
	ReasonRetriggered Reason = "retriggered" // the owner again: acknowledged too long ago without a resolve
	ReasonAssigned    Reason = "assigned"    // the owner someone assigned the incident to
	ReasonFallback    Reason = "fallback"    // the service's alerts channel: nobody resolvable, or a page undeliverable
	ReasonNotify      Reason = "notify"      // another target of the level the incident reached
	ReasonHandoff     Reason = "handoff"     // the previous owner: the incident moved on to someone else
)

// Reasons are every Reason, for metrics that start each at 0.
var Reasons = []Reason{ReasonFirst, ReasonRepeat, ReasonEscalated, ReasonRetriggered, ReasonAssigned, ReasonFallback, ReasonNotify, ReasonHandoff}

// MustDeliver reports whether a page with this reason is retried until it
// is delivered or dead-lettered (every reason but notify and handoff).
func (r Reason) MustDeliver() bool { return r != ReasonNotify && r != ReasonHandoff }

// Page is one message the Pager sends.
type Page struct {
	Incident int64
	Title    string
	Service  string
	Severity incident.Severity
	// Person is whom to page; empty for a fallback page, which goes to Channel.
	Person string
	// Channel is the service's alerts channel on a fallback page.
	Channel string
	// Owner is the incident's owner once this step is done (for notify and
	// handoff pages, someone other than Person).
	Owner  string
	Level  int
	Round  int
	Reason Reason
	// Why explains a fallback or handoff page in a sentence.
	Why string
	// At is the instant of the decision.
	At time.Time
	// Key is the same for a page re-sent because its job ran again after a
	// crash or a failed commit; a Pager may use it to avoid double posts.
	Key string
	// Again is how long after this page goes out the same person is paged
	// again for the incident if nothing changes (its re-page interval), so
	// a Pager gathering pages may expect it; zero when the next run
	// escalates first, or the page is not the owner's. Set by the Runner.
	Again time.Duration `json:",omitempty"`
}

// Plan is what Decide wants done: pages to send, then the new escalation
// state and the timeline events to commit, and when to decide again.
type Plan struct {
	// Stop: the incident is not triggered; nothing to page, nothing to schedule.
	Stop bool
	// Pages in order. Pages with Reason.MustDeliver come first.
	Pages []Page
	// The escalation state after the step.
	Owner   string
	Level   int
	Round   int
	LevelAt time.Time
	PagedAt time.Time
	// LevelStart: this step starts a level's escalation clock (LevelAt is
	// the decision's instant): a first page, an escalation, an assign or a
	// re-trigger. PagedLater then moves LevelAt with the page.
	LevelStart bool
	// Events decided here (escalated, skipped targets and levels). The runner
	// adds one "paged" or "page_failed" event per page it sends.
	Events []incident.Event
	// Next is when the page job runs again. It is never zero unless Stop.
	Next time.Time
	// UrgentAt is when the page job becomes urgent work, claimed before
	// routine jobs (incident.Scheduled.UrgentAt): Next when the next step is
	// an escalation or a first page (nobody was on call yet), the escalation
	// deadline when a re-page comes first, zero when only re-pages remain
	// (no further level).
	UrgentAt time.Time
	// Escalated: the incident moved to another level (or looped).
	Escalated bool
	// Fallback, when not empty, says why nobody could be paged and the
	// fallback is paged instead; the runner logs it at error level.
	Fallback string
}

// Changed reports whether the plan does anything but reschedule.
func (p Plan) Changed() bool { return len(p.Pages) > 0 || len(p.Events) > 0 }

type position struct{ level, round int }

type decider struct {
	inc    incident.Incident
	st     incident.EscalationState
	p      Policy
	oncall rotations.Resolver
	now    time.Time
	plan   Plan
}

// Decide is the escalation rule, pure: given a triggered incident, its
// escalation state, its policy, who rotations have on call, and the instant,
// it returns whom to page and the state to commit. docs/escalation.md states
// the rules in words; decide_test.go has a named case for each.
func Decide(inc incident.Incident, st incident.EscalationState, p Policy, oncall rotations.Resolver, now time.Time) Plan {
	if inc.Status != incident.StatusTriggered {
		return Plan{Stop: true}
	}
	d := &decider{inc: inc, st: st, p: p, oncall: oncall, now: now}
	d.plan = Plan{Owner: inc.Owner, Level: st.Level, Round: st.Round, LevelAt: st.LevelAt, PagedAt: st.PagedAt}
	k := len(p.Levels)
	if k == 0 {
		d.plan.Level, d.plan.Round = 0, 0
		d.startLevel()
		d.fallback(fmt.Sprintf("escalation policy %q has no levels", p.Name))
		d.plan.Next = d.next()
		return d.plan
	}
	if d.plan.Level > k { // the policy lost levels since
		d.plan.Level = k
	}
	switch {
	case st.Pending == incident.PendingEscalate:
		d.escalate(true)
	case st.Pending == incident.PendingAssign && inc.Owner != "":
		d.pageNewOwner(ReasonAssigned)
	case st.Pending == incident.PendingRetrigger && inc.Owner != "":
		d.pageNewOwner(ReasonRetriggered)
		d.plan.Pages[len(d.plan.Pages)-1].Why = RetriggerWhy(st.PendingBy)
	case d.plan.Level == 0:
		d.start()
	case d.canEscalate(d.plan.Level, d.plan.Round) && !now.Before(d.escalateAt()):
		d.escalate(false)
	case d.plan.PagedAt.IsZero() || !now.Before(d.plan.PagedAt.Add(d.repage())):
		d.repeat()
	}
	d.plan.Next = d.next()
	d.plan.UrgentAt = d.urgentAt()
	return d.plan
}

// Why a re-trigger happened, kept in the escalation state's pend_by
// (Step.PendingBy) by the commit that re-triggers, read by Decide into the
// page's Why (RetriggerWhy). An ack timeout leaves it empty.
const (
	RetriggerLease    = "ack_lease"
	RetriggerHandBack = "hand_back"
)

// RetriggerWhy is the Why of a re-trigger's page, from the pend_by its
// commit left: "" for an ack timeout (the Pager says it its own way).
func RetriggerWhy(pendingBy string) string {
	switch pendingBy {
	case RetriggerLease:
		return "your acknowledgement ran out with no word from you"
	case RetriggerHandBack:
		return "you handed it back"
	}
	return ""
}

// AckTimeoutDue is the acknowledgement-timeout rule, pure: an acknowledged
// incident whose policy has an ack timeout is re-triggered once the timeout
// has passed since the latest acknowledgement (retrigger true); before that,
// at is when to look again. Both are zero when there is nothing to wait for.
func AckTimeoutDue(inc incident.Incident, st incident.EscalationState, p Policy, now time.Time) (retrigger bool, at time.Time) {
	if inc.Status != incident.StatusAcknowledged || p.AckTimeout <= 0 {
		return false, time.Time{}
	}
	acked := st.AckAt
	if acked.IsZero() {
		acked = inc.Acknowledged
	}
	if acked.IsZero() {
		acked = now
	}
	due := acked.Add(p.AckTimeout)
	if !now.Before(due) {
		return true, time.Time{}
	}
	return false, due
}

func (d *decider) repage() time.Duration {
	if d.p.RepageEvery <= 0 {
		return defaultRepage
	}
	return d.p.RepageEvery
}

func (d *decider) escalateAt() time.Time {
	return d.plan.LevelAt.Add(d.p.Levels[d.plan.Level-1].EscalateAfter)
}

// canEscalate: a position follows (level, round) in the policy. Rounds past
// Repeat happen only after a manual escalation from the last level.
func (d *decider) canEscalate(level, round int) bool {
	return level < len(d.p.Levels) || round < d.p.Repeat
}

// after returns the position following p, allowing rounds up to maxRound.
func (d *decider) after(p position, maxRound int) (position, bool) {
	if p.level < len(d.p.Levels) {
		return position{p.level + 1, p.round}, true
	}
	if p.round < maxRound {
		return position{1, p.round + 1}, true
	}
	return p, false
}

// resolve names the people level (1-based) pages now, first the owner-to-be,
// without duplicates; a target naming nobody adds a note saying why.
func (d *decider) resolve(level int) []string {
	var people []string
	for _, t := range d.p.Levels[level-1].Targets {
		person, ok, why := t.Name, true, ""
		if t.Kind != rotations.TargetUser {
			if d.oncall == nil {
				person, ok, why = "", false, "no on-call source"
			} else {
				person, ok, why = d.oncall(t, d.now)
			}
		}
		if !ok || person == "" {
			if why == "" {
				why = "nobody on shift"
			}
			d.note(level, fmt.Sprintf("%s names nobody: %s", t, why))
			continue
		}
		if !slices.Contains(people, person) {
			people = append(people, person)
		}
	}
	return people
}

// search walks positions from `from` (itself first when inclusive) and
// returns the first whose level names somebody. It visits at most one
// level count's worth of positions: past that, at the same instant, the
// answers repeat. last is the last position visited.
func (d *decider) search(from position, inclusive bool, maxRound int) (found position, people []string, ok bool, last position) {
	cur, last := from, from
	if !inclusive {
		next, more := d.after(from, maxRound)
		if !more {
			return position{}, nil, false, from
		}
		cur = next
	}
	for i := 0; i < len(d.p.Levels); i++ {
		last = cur
		if people := d.resolve(cur.level); len(people) > 0 {
			return cur, people, true, last
		}
		d.note(cur.level, fmt.Sprintf("level %d skipped: nobody on call", cur.level))
		next, more := d.after(cur, maxRound)
		if !more {
			break
		}
		cur = next
	}
	return position{}, nil, false, last
}

// start finds the incident's first owner: the first target naming somebody
// at the first level that has one.
func (d *decider) start() {
	found, people, ok, _ := d.search(position{1, 0}, true, 0)
	d.startLevel()
	if !ok {
		d.plan.Level, d.plan.Round = 0, 0
		d.fallback(fmt.Sprintf("nobody is on call at any level of escalation policy %q", d.p.Name))
		return
	}
	d.enter(found, people, ReasonFirst)
}

// escalate moves the incident to the next level that names somebody,
// looping to level 1 while rounds remain. A manual escalation from the very
// last position loops once more regardless of Repeat.
func (d *decider) escalate(manual bool) {
	from := position{d.plan.Level, d.plan.Round}
	maxRound := d.p.Repeat
	if manual {
		maxRound = max(d.p.Repeat, from.round+1)
	}
	prev := d.inc.Owner
	found, people, ok, last := d.search(from, false, maxRound)
	d.startLevel()
	if !ok {
		d.plan.Level, d.plan.Round = last.level, last.round
		if manual && d.st.PendingNote != "" {
			// No escalated event carries the note: keep it as the asker's own.
			d.plan.Events = append(d.plan.Events, incident.Event{
				Type: incident.EventNote, At: d.now, By: d.pendingBy(), Level: last.level, Note: d.st.PendingNote,
			})
		}
		if prev == "" {
			d.fallback(fmt.Sprintf("nobody is on call at any further level of escalation policy %q", d.p.Name))
			return
		}
		d.note(last.level, fmt.Sprintf("nobody further to escalate to: %s stays owner", prev))
		d.page(prev, ReasonRepeat, "")
		return
	}
	by, why := By, ""
	switch {
	case manual:
		by = d.pendingBy()
		why = fmt.Sprintf("escalated by %s", by)
	case from.level >= 1:
		why = fmt.Sprintf("not acknowledged within %s at level %d", text.Duration(d.p.Levels[from.level-1].EscalateAfter), from.level)
	}
	if found.round > from.round {
		why += fmt.Sprintf("; policy repeated (round %d)", found.round+1)
	}
	if prev != "" && prev != people[0] {
		why += "; was " + prev
	}
	if manual {
		why = incident.EscalationNote(why, d.st.PendingNote)
	}
	d.plan.Events = append(d.plan.Events, incident.Event{
		Type: incident.EventEscalated, At: d.now, Person: people[0], By: by, Level: found.level, Note: why,
	})
	d.plan.Escalated = true
	d.enter(found, people, ReasonEscalated)
	if prev != "" && prev != people[0] {
		d.page(prev, ReasonHandoff, fmt.Sprintf("escalated to %s at level %d", people[0], found.level))
	}
}

// pendingBy is who asked for the pending manual escalation (baton when unknown).
func (d *decider) pendingBy() string {
	if d.st.PendingBy == "" {
		return By
	}
	return d.st.PendingBy
}

// enter makes people[0] the owner at position p, pages them and notifies
// the level's other targets.
func (d *decider) enter(p position, people []string, r Reason) {
	d.plan.Level, d.plan.Round = p.level, p.round
	d.plan.Owner = people[0]
	d.startLevel()
	d.page(people[0], r, "")
	for _, other := range people[1:] {
		d.page(other, ReasonNotify, "")
	}
}

// pageNewOwner pages an owner a transition chose (assign, re-trigger). The
// level's escalation clock starts again: the owner gets a full level to answer.
func (d *decider) pageNewOwner(r Reason) {
	if d.plan.Level == 0 {
		d.plan.Level, d.plan.Round = 1, 0
	}
	d.startLevel()
	d.page(d.inc.Owner, r, "")
}

// startLevel starts the level's escalation clock and its re-page interval
// now (Plan.LevelStart).
func (d *decider) startLevel() {
	d.plan.LevelAt, d.plan.PagedAt, d.plan.LevelStart = d.now, d.now, true
}

func (d *decider) repeat() {
	d.plan.PagedAt = d.now
	if d.plan.Owner == "" {
		d.fallback("the incident has no owner")
		return
	}
	d.page(d.plan.Owner, ReasonRepeat, "")
}

func (d *decider) fallback(why string) {
	d.plan.Fallback = why
	d.page("", ReasonFallback, why)
}

func (d *decider) page(person string, r Reason, why string) {
	who := person
	if who == "" {
		who = "#fallback"
	}
	d.plan.Pages = append(d.plan.Pages, Page{
		Incident: d.inc.Number,
		Title:    d.inc.Title,
		Service:  d.inc.Service,
		Severity: d.inc.Severity,
		Person:   person,
		Owner:    d.plan.Owner,
		Level:    d.plan.Level,
		Round:    d.plan.Round,
		Reason:   r,
		Why:      why,
		At:       d.now,
		Key:      fmt.Sprintf("%s/%d/%s/%s", d.inc.Ref(), d.st.Rev, r, who),
	})
}

func (d *decider) note(level int, text string) {
	d.plan.Events = append(d.plan.Events, incident.Event{
		Type: incident.EventNote, At: d.now, By: By, Level: level, Note: text,
	})
}

// PagedLater is the plan with the step's page to the owner (or the
// fallback) gone out at at rather than at the decision: the next re-page is
// due the re-page interval after the page actually went out, so no reminder
// follows a page sooner than that. A page goes out later than its decision
// when it waited for its bundle's message, and much later when a runner
// took over a step that a run killed before its post had begun (the step is
// decided as of then, EscalationState.StepBegan), or retried it through a
// chat outage whose failures left its outcome unknown (decided as of the
// first attempt, likewise).
//
// When the step started a level (Plan.LevelStart: a first page, an
// escalation, an assign, a re-trigger), the escalation deadline moves with
// it: LevelAt becomes at, so the level's escalate-after counts from when
// its first page reached the person, and the owner always gets the whole
// of it to acknowledge before the next level is paged. A re-page leaves
// LevelAt alone. A plan that pages nobody or sets no page time, or an at
// not after its page time, is returned as it is. Pure.
func (p Plan) PagedLater(pol Policy, at time.Time) Plan {
	if p.Stop || p.PagedAt.IsZero() || !at.After(p.PagedAt) || len(p.Pages) == 0 {
		return p
	}
	d := &decider{p: pol, now: at, plan: p}
	d.plan.PagedAt = at
	if p.LevelStart {
		d.plan.LevelAt = at
	}
	d.plan.Next = d.next()
	d.plan.UrgentAt = d.urgentAt()
	return d.plan
}

// urgentAt is when the job scheduled at plan.Next turns urgent (Plan.UrgentAt).
func (d *decider) urgentAt() time.Time {
	switch {
	case d.plan.Level == 0:
		return d.plan.Next // still looking for a first owner
	case d.canEscalate(d.plan.Level, d.plan.Round):
		if e := d.escalateAt(); e.After(d.plan.Next) {
			return e
		}
		return d.plan.Next
	}
	return time.Time{}
}

// next is when the page job must run again: the earlier of the next
// re-page and, while a further level exists, the escalation deadline.
func (d *decider) next() time.Time {
	paged := d.plan.PagedAt
	if paged.IsZero() {
		paged = d.now
	}
	t := paged.Add(d.repage())
	if d.plan.Level >= 1 && d.canEscalate(d.plan.Level, d.plan.Round) {
		if e := d.escalateAt(); e.Before(t) {
			t = e
		}
	}
	if !t.After(d.now) { // a level with no escalate_after (validation skipped): no busy loop
		t = d.now.Add(time.Second)
	}
	return t
}
