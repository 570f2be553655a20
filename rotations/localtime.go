package rotations

import "time"

// LocalTime returns the instant at which the wall clock in loc reads
// year-month-day hour:min:00. It is baton's one rule for turning a local
// time into an instant, the rule calendar clients follow (RFC 5545 §3.3.5):
//
//   - A local time that happens twice, because the clocks go back, is its
//     FIRST occurrence: New York 01:30 on 2026-11-01 is 01:30 EDT (05:30
//     UTC), Paris 02:30 on 2026-10-25 is 02:30 CEST (00:30 UTC).
//   - A local time that never happens, because the clocks go forward past
//     it, is read with the UTC offset in force BEFORE the gap, so it lands
//     as far after the gap's start as it was meant to be into the gap: New
//     York 02:30 on 2026-03-08 is 02:30 EST, that is 03:30 EDT (07:30 UTC).
//
// Every other local time has exactly one instant. Values out of range are
// normalised as time.Date does (January 32 is February 1). The result is in
// loc.
//
// time.Date leaves the first two cases unspecified ("the choice of time
// zone, and therefore the time, is not guaranteed"), and Go 1.26 picks
// differently on either side of Greenwich: a repeated time is the second
// occurrence in Paris, a skipped one moves back an hour in New York. So
// nothing in baton builds a wall-clock instant in a zone with time.Date:
// daily and weekly handoffs, the start of an hourly or duration rotation,
// and through them every on-call answer, view, page and calendar event go
// through LocalTime.
func LocalTime(year int, month time.Month, day, hour, min int, loc *time.Location) time.Time {
	wall := time.Date(year, month, day, hour, min, 0, 0, time.UTC)
	// An instant whose clock reads wall lies within 14h before wall-as-UTC
	// (UTC+14) and 12h after (UTC-12), and so does any change of offset that
	// skips or repeats that reading. The offsets just outside that window
	// are the one before and the one after such a change: no zone changes
	// offset twice within 28 hours (none of the 599 zones in the tz
	// database, 1900-2037, nor any rule after).
	_, before := wall.Add(-reachBefore).In(loc).Zone()
	_, after := wall.Add(reachAfter).In(loc).Zone()
	early := wall.Add(-time.Duration(before) * time.Second) // wall read with the offset before
	if before == after {
		return early.In(loc) // no change of offset nearby: the one reading
	}
	late := wall.Add(-time.Duration(after) * time.Second) // ... with the offset after
	earlyOK := offsetAt(early, loc) == before
	lateOK := offsetAt(late, loc) == after
	switch {
	case earlyOK && lateOK: // the clocks went back: wall happened twice
		if late.Before(early) {
			return late.In(loc)
		}
		return early.In(loc)
	case lateOK:
		return late.In(loc)
	default: // early alone, or a gap: neither reading exists, keep the offset before
		return early.In(loc)
	}
}

// How far before and after a wall clock reading (taken as UTC) LocalTime
// looks for the offsets around it: a little beyond the UTC+14 and UTC-12
// extremes.
const (
	reachBefore = 15 * time.Hour
	reachAfter  = 13 * time.Hour
)

func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}
