package rotations

import (
	"time"
)

// pieceAt returns the stretch of on-call time containing at with overrides
// applied: the base shift cut down to the interval over which the same
// override (or none) holds. Index stays the base shift's.
func pieceAt(r *Rotation, ov *OverrideSet, at time.Time) (Shift, error) {
	p, err := r.ShiftAt(at)
	if err != nil {
		return Shift{}, err
	}
	o, from, until, hasFrom, hasUntil := ov.lookup(r.spec.Name, at)
	if hasFrom && from.After(p.Start) {
		p.Start = from.In(r.loc)
	}
	if hasUntil && until.Before(p.End) {
		p.End = until.In(r.loc)
	}
	if o != nil {
		p.Person, p.OverrideID, p.OverrideBy = o.Person, o.ID, o.By
	}
	return p, nil
}

// OnCall returns who is on call in r at instant at with the overrides in ov
// applied (ov may be nil), and the interval [from, until) over which that
// answer holds: the base shift cut by the boundaries of the overrides
// touching it. Before r's first handoff it returns an error wrapping
// ErrNotStarted. It costs O(log n) in the number of overrides.
func OnCall(r *Rotation, ov *OverrideSet, at time.Time) (person string, from, until time.Time, err error) {
	p, err := pieceAt(r, ov, at)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	return p.Person, p.Start, p.End, nil
}

// Next returns who takes over when the current base shift ends: the on-call
// piece (overrides applied) that begins at the next handoff. An override in
// the middle of the current shift does not make its person "next"; one that
// covers the next handoff does. Next is what a "rotation:NAME/next" target
// pages. The person may be the current one (a participant listed twice in a
// row, or an override for the same person). Before r's first handoff it
// returns an error wrapping ErrNotStarted, like OnCall.
func Next(r *Rotation, ov *OverrideSet, at time.Time) (Shift, error) {
	cur, err := r.ShiftAt(at)
	if err != nil {
		return Shift{}, err
	}
	return pieceAt(r, ov, cur.End)
}

// Shifts lists the on-call pieces overlapping [from, to) with the overrides
// in ov applied (ov may be nil). Each base shift is split where an override
// holding part of it begins or ends, so every piece has one person and one
// origin: its OverrideID, or "" for the participant's own turn. Pieces are
// never merged, not even adjacent ones for the same person (they differ in
// origin, and calendar UIDs stay stable that way); they tile time with no gap
// or overlap. The first piece may start before from and the last may end
// after to.
func Shifts(r *Rotation, ov *OverrideSet, from, to time.Time) []Shift {
	base := r.Shifts(from, to)
	if ov == nil || ov.byRotation[r.spec.Name] == nil {
		return base
	}
	var out []Shift
	for _, b := range base {
		for c := b.Start; c.Before(b.End) && c.Before(to); {
			p, err := pieceAt(r, ov, c)
			if err != nil { // cannot happen: c is within a started shift
				break
			}
			if p.End.After(from) {
				out = append(out, p)
			}
			c = p.End
		}
	}
	return out
}

// OverrideRef names the override a piece of on-call time comes from: its
// ID in the rotation and who made it (omitted when not known).
type OverrideRef struct {
	ID string `json:"id"`
	By string `json:"by,omitempty"`
}

// overrideRef is the OverrideRef of piece p, nil when p is the schedule's own.
func overrideRef(p Shift) *OverrideRef {
	if p.OverrideID == "" {
		return nil
	}
	return &OverrideRef{ID: p.OverrideID, By: p.OverrideBy}
}

// ShiftView is one upcoming piece of on-call time in an OnCallView.
// Override is set when an override, not the schedule, puts Person on call.
type ShiftView struct {
	Person   string       `json:"person"`
	From     time.Time    `json:"from"`
	Until    time.Time    `json:"until"`
	Override *OverrideRef `json:"override,omitempty"`
}

// OnCallView is who is on call in one rotation now and who follows, as the
// CLI (`baton oncall --json`) and GET /v1/oncall print it. Times are in the
// rotation's zone and marshal as RFC 3339. Override is set when an override,
// not the schedule, puts Person on call now.
type OnCallView struct {
	Rotation string       `json:"rotation"`
	Person   string       `json:"person"`
	From     time.Time    `json:"from"`
	Until    time.Time    `json:"until"`
	Override *OverrideRef `json:"override,omitempty"`
	Next     []ShiftView  `json:"next"`
}

// View fills an OnCallView for r at instant at: the current piece (as
// OnCall) and every piece that begins from its end until at+horizon, in
// order (Next is empty, never null, when none does). Before r's first
// handoff it returns an error wrapping ErrNotStarted.
func View(r *Rotation, ov *OverrideSet, at time.Time, horizon time.Duration) (OnCallView, error) {
	cur, err := pieceAt(r, ov, at)
	if err != nil {
		return OnCallView{}, err
	}
	v := OnCallView{
		Rotation: r.spec.Name,
		Person:   cur.Person,
		From:     cur.Start,
		Until:    cur.End,
		Override: overrideRef(cur),
		Next:     []ShiftView{},
	}
	for _, p := range Shifts(r, ov, cur.End, at.Add(horizon)) {
		v.Next = append(v.Next, ShiftView{Person: p.Person, From: p.Start, Until: p.End, Override: overrideRef(p)})
	}
	return v, nil
}
