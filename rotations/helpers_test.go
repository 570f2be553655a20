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
