package rotations

import (
	"testing"
	"time"
)

func mustCompile(tb testing.TB, s Spec) *Rotation {
	tb.Helper()
	r, err := Compile(s)
	if err != nil {
		tb.Fatalf("Compile(%+v): %v", s, err)
	}
	return r
}

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// z parses an RFC 3339 instant, for expectations written in UTC.
func z(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return t
}

func mustShiftAt(tb testing.TB, r *Rotation, at time.Time) Shift {
	tb.Helper()
	s, err := r.ShiftAt(at)
	if err != nil {
		tb.Fatalf("%s.ShiftAt(%s): %v", r.Name(), at.UTC().Format(time.RFC3339), err)
	}
	return s
}

func fmtUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// refLocalTime is LocalTime's rule worked out from its definition, for
// references that must not share LocalTime's code. Away from any change of
// offset (the offsets 15 hours before and 13 hours after the wall time
// agree) there is one reading and time.Date finds it. Near one, it walks the
// instants from 15 hours before the wall time (taken as UTC) forward in
// quarter hours, aligned so that the clock shows the wall time's minute
// (every offset in use is whole quarter hours), and stops at the first
// instant whose clock reads the wall time or later: the wall time itself is
// its first occurrence; a later reading means the clock jumped over the wall
// time, which is then read with the offset of the step before the jump.
func refLocalTime(year int, month time.Month, day, hour, min int, loc *time.Location) time.Time {
	wall := time.Date(year, month, day, hour, min, 0, 0, time.UTC)
	_, a := wall.Add(-15 * time.Hour).In(loc).Zone()
	_, b := wall.Add(13 * time.Hour).In(loc).Zone()
	if a == b {
		return time.Date(year, month, day, hour, min, 0, 0, loc)
	}
	reading := func(u time.Time) time.Time {
		l := u.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
	}
	prev := wall.Add(-15 * time.Hour)
	for u := prev; !u.After(wall.Add(13 * time.Hour)); prev, u = u, u.Add(15*time.Minute) {
		switch r := reading(u); {
		case r.Equal(wall):
			return u.In(loc)
		case r.After(wall):
			_, off := prev.In(loc).Zone()
			return wall.Add(-time.Duration(off) * time.Second).In(loc)
		}
	}
	panic("refLocalTime: no reading at or after " + wall.Format(time.DateTime) + " in " + loc.String())
}
