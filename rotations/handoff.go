package rotations

import (
	"fmt"
	"time"
)

// Handoff checks and accepted handoffs: the pure decisions. The Redis
// record of a handoff is rotations/overrides (Store.BeginHandoff and
// friends); the jobs that run them are bot's Shifts; docs/rotations.md
// ("Before and at the handoff") says the same in plain words.

// HandoffStep is what a handoff's due job does.
type HandoffStep string

// Handoff steps, in the order their jobs fall due.
const (
	// StepPreshift checks the coming shift, PreshiftCheck before it.
	StepPreshift HandoffStep = "preshift"
	// StepHandoff asks the incoming person to take the pager, at the handoff.
	StepHandoff HandoffStep = "handoff"
	// StepGrace tells the secondary and the alerts channel, HandoffAccept
	// after the handoff, when the pager was not taken.
	StepGrace HandoffStep = "grace"
)

// HandoffPolicy is a rotation's handoff settings (config.yaml's
// preshift_check and handoff_accept); zero durations switch a step off.
type HandoffPolicy struct {
	// PreshiftCheck is how long before each handoff the coming shift is
	// checked; 0: never.
	PreshiftCheck time.Duration
	// HandoffAccept is how long the incoming person has to take the pager
	// before the secondary and the alerts channel are told; 0: handoffs
	// happen by the schedule alone, nobody is asked.
	HandoffAccept time.Duration
}

// Due returns when step's job for the handoff at runs; ok is false when the
// policy switches the step off.
func (p HandoffPolicy) Due(step HandoffStep, at time.Time) (time.Time, bool) {
	switch step {
	case StepPreshift:
		return at.Add(-p.PreshiftCheck), p.PreshiftCheck > 0
	case StepHandoff:
		return at, p.HandoffAccept > 0
	case StepGrace:
		return at.Add(p.HandoffAccept), p.HandoffAccept > 0
	}
	return time.Time{}, false
}

// NextHandoff returns the first handoff of r strictly after at (the
// rotation's first handoff when at is before it), with the shift that
// ends there (Person "" before the first shift) and the shift that begins.
func NextHandoff(r *Rotation, at time.Time) (handoff time.Time, outgoing, incoming Shift) {
	if at.Before(r.first) {
		return r.first, Shift{}, r.shift(0)
	}
	k := r.indexAt(at)
	for {
		in := r.shift(k + 1)
		if in.End.After(in.Start) {
			return in.Start, r.shift(k), in
		}
		k++ // an empty shift (a skipped day) hands over nothing
	}
}

// HandoffAction is what the handoff job does, decided by DecideHandoff.
type HandoffAction int

// Handoff actions.
const (
	// HandoffNothing: the same person keeps the pager (listed twice in a
	// row, or an override covers both sides); nobody is asked.
	HandoffNothing HandoffAction = iota
	// HandoffAsk: the outgoing person holds the pager until the incoming
	// one takes it; the incoming one is asked.
	HandoffAsk
	// HandoffUnheld: nobody held the pager before (the first shift, or an
	// unknown outgoing holder): the schedule's answer stands, the incoming
	// person is told without a hold.
	HandoffUnheld
)

// DecideHandoff says what happens at a handoff given who actually holds
// the pager just before it (outgoing, overrides applied) and who the
// schedule puts on at it (incoming, overrides applied).
func DecideHandoff(outgoing, incoming string) HandoffAction {
	switch {
	case incoming == "":
		return HandoffNothing
	case outgoing == "":
		return HandoffUnheld
	case outgoing == incoming:
		return HandoffNothing
	}
	return HandoffAsk
}

// GraceAction is what the grace job does, decided by DecideGrace.
type GraceAction int

// Grace actions.
const (
	// GraceNothing: the pager was taken (or there was no hold), or the
	// secondary was told already.
	GraceNothing GraceAction = iota
	// GraceTell: tell the secondary and the alerts channel that the
	// outgoing person still holds the pager.
	GraceTell
)

// DecideGrace decides the grace job from the handoff's record: held (a
// hold was set at the handoff), accepted, told (the secondary was told by
// an earlier run).
func DecideGrace(held, accepted, told bool) GraceAction {
	if !held || accepted || told {
		return GraceNothing
	}
	return GraceTell
}

// Reach says whether a person can be paged: "" when they can, else why not
// in a few words ("no Slack account and no email").
type Reach func(person string) string

// ShiftProblem is one thing wrong with a coming shift, found by
// PreshiftProblems. Person is whom it is about ("" for nobody on call);
// From and Until span the stretches it covers, Stretches of them.
type ShiftProblem struct {
	Person    string
	From      time.Time
	Until     time.Time
	Why       string
	Stretches int
}

// String says the problem in one sentence.
func (p ShiftProblem) String() string {
	const layout = "Mon Jan 2 15:04:05 MST"
	when := fmt.Sprintf("from %s to %s", p.From.UTC().Format(layout), p.Until.UTC().Format(layout))
	if p.Stretches > 1 {
		when = fmt.Sprintf("%d times %s", p.Stretches, when)
	}
	if p.Person == "" {
		return fmt.Sprintf("nobody is on call %s: %s", when, p.Why)
	}
	return fmt.Sprintf("%s, on call %s, %s", p.Person, when, p.Why)
}

// PreshiftProblems checks the pieces of on-call time of a rotation from a
// handoff through the next 24 hours (pieces as Shifts returns them,
// overrides applied): the person holding each piece must be reachable
// (reach, asked once per person), and must not be on call elsewhere at the
// same time through an override (elsewhere answers with the other
// rotation's name, "" when none). A piece nobody holds, or whose holder
// cannot be paged, is a gap. Problems come one per person and cause (the
// pieces it covers counted in Stretches, a short rotation's 24 h being
// hundreds of them), in the order of their first piece.
func PreshiftProblems(pieces []Shift, reach Reach, elsewhere func(person string, from, until time.Time) string) []ShiftProblem {
	var out []ShiftProblem
	at := map[[2]string]int{} // person, why → index in out
	add := func(p Shift, why string) {
		k := [2]string{p.Person, why}
		if i, ok := at[k]; ok {
			out[i].Until = p.End
			out[i].Stretches++
			return
		}
		at[k] = len(out)
		out = append(out, ShiftProblem{Person: p.Person, From: p.Start, Until: p.End, Why: why, Stretches: 1})
	}
	reached := map[string]string{}
	for _, p := range pieces {
		if p.Person == "" {
			add(p, "the rotation has a gap")
			continue
		}
		why, ok := reached[p.Person]
		if !ok {
			why = reach(p.Person)
			reached[p.Person] = why
		}
		if why != "" {
			add(p, "cannot be paged ("+why+"): a gap in the rotation")
		}
		if elsewhere != nil {
			if other := elsewhere(p.Person, p.Start, p.End); other != "" {
				add(p, "is also on call in "+other+" through an override")
			}
		}
	}
	return out
}
