package rotations

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotStarted says an instant falls before a rotation's first handoff:
// nobody is on call from that rotation then. Callers check it with errors.Is
// and fall back (the escalation engine to its next target), never guess.
var ErrNotStarted = errors.New("rotation has not started")

// Rotation is a compiled Spec: a zone, a shift length or handoff time, a
// first handoff instant and the participants in order. It is immutable and
// safe for concurrent use.
type Rotation struct {
	spec Spec
	loc  *time.Location
	kind Kind

	// Calendar kinds (daily, weekly): handoff k is at hour:min local time on
	// the date (y, m, d) + k*stepDays, as LocalTime resolves it.
	hour, min int
	weekday   time.Weekday
	stepDays  int64

	// Absolute kinds (hourly, duration): handoff k is first + k*period.
	period time.Duration

	y        int
	m        time.Month
	d        int
	firstDay int64 // civilDay(y, m, d)
	first    time.Time
}

// Shift is one turn on call: Person holds it over [Start, End). Times are in
// the rotation's zone. Index is the shift's number counted from the first
// shift (0); Person of a base shift is Participants[Index mod n].
type Shift struct {
	Person     string
	Start, End time.Time
	Index      int64
	// OverrideID is the ID of the override that put Person on shift, or ""
	// when Person is the rotation's own participant. Rotation.ShiftAt and
	// Rotation.Shifts always leave it empty; the package-level Shifts, Next
	// and OnCall fill it.
	OverrideID string
	// OverrideBy is who made that override (Override.By); "" with no override.
	OverrideBy string
}

// Name returns the rotation's name.
func (r *Rotation) Name() string { return r.spec.Name }

// Location returns the rotation's time zone.
func (r *Rotation) Location() *time.Location { return r.loc }

// Kind returns how the rotation's shifts are measured.
func (r *Rotation) Kind() Kind { return r.kind }

// Participants returns a copy of the participants in shift order.
func (r *Rotation) Participants() []string {
	return append([]string(nil), r.spec.Participants...)
}

// Spec returns a copy of the Spec the rotation was compiled from.
func (r *Rotation) Spec() Spec {
	s := r.spec
	s.Participants = r.Participants()
	return s
}

// FirstHandoff returns the instant the first shift begins; before it
// ShiftAt reports ErrNotStarted.
func (r *Rotation) FirstHandoff() time.Time { return r.first }

// handoff returns the instant shift k begins (k may be past any horizon; it
// is computed directly, never by stepping from the first shift).
func (r *Rotation) handoff(k int64) time.Time {
	switch r.kind {
	case KindDaily, KindWeekly:
		// Adding days to the date and letting LocalTime normalise keeps the
		// handoff on the local wall clock across DST: this is the whole point.
		// A repeated handoff time is its first occurrence, a skipped one is
		// read with the offset before the gap (LocalTime says why).
		return LocalTime(r.y, r.m, r.d+int(k*r.stepDays), r.hour, r.min, r.loc)
	default:
		if k == 0 {
			// Local midnight of the start date, by the same rule.
			return LocalTime(r.y, r.m, r.d, 0, 0, r.loc)
		}
		// Whole seconds: period is whole minutes and first is on a whole
		// second, so Unix arithmetic is exact and never saturates the way a
		// time.Duration does after 292 years.
		return time.Unix(r.first.Unix()+k*int64(r.period/time.Second), 0).In(r.loc)
	}
}

// indexAt returns the k with handoff(k) <= at < handoff(k+1), for at not
// before the first handoff. It estimates k arithmetically (calendar days in
// the zone, or elapsed seconds) and corrects by at most a step or two for DST
// normalisation, so it costs O(1) however long the rotation has run.
func (r *Rotation) indexAt(at time.Time) int64 {
	var k int64
	switch r.kind {
	case KindDaily, KindWeekly:
		y, m, d := at.In(r.loc).Date()
		k = floorDiv(civilDay(y, m, d)-r.firstDay, r.stepDays)
	default:
		k = floorDiv(at.Unix()-r.first.Unix(), int64(r.period/time.Second))
	}
	if k < 0 {
		k = 0
	}
	// A handoff read past a skipped hour (or a zone that skipped a whole
	// day, Pacific/Apia 2011-12-30) can land on the other side of midnight
	// from its nominal date; these loops absorb that.
	for k > 0 && r.handoff(k).After(at) {
		k--
	}
	for !r.handoff(k + 1).After(at) {
		k++
	}
	return k
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// shift returns base shift k.
func (r *Rotation) shift(k int64) Shift {
	n := int64(len(r.spec.Participants))
	return Shift{
		Person: r.spec.Participants[k%n],
		Start:  r.handoff(k).In(r.loc),
		End:    r.handoff(k + 1).In(r.loc),
		Index:  k,
	}
}

func (r *Rotation) notStarted() error {
	return fmt.Errorf("%w: %s begins at %s", ErrNotStarted, r.spec.Name,
		r.first.Format("2006-01-02 15:04 MST"))
}

// ShiftAt returns the base shift (overrides not applied) that contains at.
// Before the first handoff it returns an error wrapping ErrNotStarted.
// It runs in O(1) whatever the distance from the first shift.
func (r *Rotation) ShiftAt(at time.Time) (Shift, error) {
	if at.Before(r.first) {
		return Shift{}, r.notStarted()
	}
	return r.shift(r.indexAt(at)), nil
}

// Shifts returns the base shifts (overrides not applied) that overlap
// [from, to), in order and not clipped: the first may start before from and
// the last may end after to. Shifts of zero length (a handoff normalised onto
// the next one, as when a zone skips a whole day) are left out. The result
// has one entry per shift in the range, so keep ranges proportionate to the
// shift length.
func (r *Rotation) Shifts(from, to time.Time) []Shift {
	if !from.Before(to) || !to.After(r.first) {
		return nil
	}
	var k int64
	if from.After(r.first) {
		k = r.indexAt(from)
	}
	var out []Shift
	for ; ; k++ {
		s := r.shift(k)
		if !s.Start.Before(to) {
			return out
		}
		if s.End.After(s.Start) {
			out = append(out, s)
		}
	}
}
