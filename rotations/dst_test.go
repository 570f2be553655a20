package rotations

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// transitionsIn finds a zone's UTC offset changes in a year from Go's tz data
// (ZoneBounds), independent of any table below.
func transitionsIn(tb testing.TB, loc *time.Location, year int) []time.Time {
	tb.Helper()
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
	for {
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			return out
		}
		_, before := next.Add(-time.Second).Zone()
		_, after := next.Zone()
		if before != after { // ZoneBounds may also end at a name-only change
			out = append(out, next.UTC())
		}
		t = next
	}
}

// dstZones is the hard-coded truth for 2026 and 2027: the instants clocks
// change, as published. The transitions test checks Go's tz data agrees, so
// the tables that follow are not derived from the code they test.
var dstZones = []struct {
	zone  string
	years map[int][]string // UTC instants of offset changes
}{
	{"America/New_York", map[int][]string{
		2026: {"2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"},
		2027: {"2027-03-14T07:00:00Z", "2027-11-07T06:00:00Z"},
	}},
	{"Europe/Paris", map[int][]string{
		2026: {"2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"},
		2027: {"2027-03-28T01:00:00Z", "2027-10-31T01:00:00Z"},
	}},
	{"Australia/Sydney", map[int][]string{ // southern hemisphere: back in April, forward in October
		2026: {"2026-04-04T16:00:00Z", "2026-10-03T16:00:00Z"},
		2027: {"2027-04-03T16:00:00Z", "2027-10-02T16:00:00Z"},
	}},
	{"Asia/Kolkata", map[int][]string{2026: nil, 2027: nil}}, // +05:30 all year
}

func TestTransitionsMatchTable(t *testing.T) {
	for _, zc := range dstZones {
		loc := mustLoc(t, zc.zone)
		for year, want := range zc.years {
			var got []string
			for _, tr := range transitionsIn(t, loc, year) {
				got = append(got, fmtUTC(tr))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %d: transitions %v, table says %v", zc.zone, year, got, want)
			}
		}
	}
}

// TestWeeklyAcrossDST: a Monday 09:00 weekly rotation keeps its 09:00 local
// handoff, so the week containing a transition is 167 or 169 hours long.
func TestWeeklyAcrossDST(t *testing.T) {
	tests := []struct {
		zone       string
		transition string // any instant inside the shift under test
		start, end string // the shift's handoffs, UTC
		hours      int
	}{
		{"America/New_York", "2026-03-08T07:00:00Z", "2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z", 167},
		{"America/New_York", "2026-11-01T06:00:00Z", "2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z", 169},
		{"America/New_York", "2027-03-14T07:00:00Z", "2027-03-08T14:00:00Z", "2027-03-15T13:00:00Z", 167},
		{"America/New_York", "2027-11-07T06:00:00Z", "2027-11-01T13:00:00Z", "2027-11-08T14:00:00Z", 169},
		{"Europe/Paris", "2026-03-29T01:00:00Z", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", 167},
		{"Europe/Paris", "2026-10-25T01:00:00Z", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", 169},
		{"Europe/Paris", "2027-03-28T01:00:00Z", "2027-03-22T08:00:00Z", "2027-03-29T07:00:00Z", 167},
		{"Europe/Paris", "2027-10-31T01:00:00Z", "2027-10-25T07:00:00Z", "2027-11-01T08:00:00Z", 169},
		{"Australia/Sydney", "2026-04-04T16:00:00Z", "2026-03-29T22:00:00Z", "2026-04-05T23:00:00Z", 169},
		{"Australia/Sydney", "2026-10-03T16:00:00Z", "2026-09-27T23:00:00Z", "2026-10-04T22:00:00Z", 167},
		{"Australia/Sydney", "2027-04-03T16:00:00Z", "2027-03-28T22:00:00Z", "2027-04-04T23:00:00Z", 169},
		{"Australia/Sydney", "2027-10-02T16:00:00Z", "2027-09-26T23:00:00Z", "2027-10-03T22:00:00Z", 167},
		{"Asia/Kolkata", "2026-03-08T07:00:00Z", "2026-03-02T03:30:00Z", "2026-03-09T03:30:00Z", 168},
		{"Asia/Kolkata", "2027-10-31T01:00:00Z", "2027-10-25T03:30:00Z", "2027-11-01T03:30:00Z", 168},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.transition[:10], func(t *testing.T) {
			r := mustCompile(t, Spec{Name: "w", Timezone: tc.zone, Shift: "weekly", Handoff: "Mon 09:00",
				Start: "2025-12-29", Participants: []string{"alice", "bob", "carol"}})
			s := mustShiftAt(t, r, z(t, tc.transition))
			if !s.Start.Equal(z(t, tc.start)) || !s.End.Equal(z(t, tc.end)) {
				t.Errorf("shift [%s, %s), want [%s, %s)", fmtUTC(s.Start), fmtUTC(s.End), tc.start, tc.end)
			}
			if got := s.End.Sub(s.Start); got != time.Duration(tc.hours)*time.Hour {
				t.Errorf("shift lasts %s, want %dh", got, tc.hours)
			}
			for _, h := range []time.Time{s.Start, s.End} {
				if l := h.In(r.Location()); l.Weekday() != time.Monday || l.Hour() != 9 || l.Minute() != 0 {
					t.Errorf("handoff %s is not Monday 09:00 local", l)
				}
			}
			// 2025-12-29 is a Monday: the shift index is whole weeks since then.
			wantIndex := int64(s.Start.In(r.Location()).Sub(time.Date(2025, 12, 29, 9, 0, 0, 0, r.Location())).Hours()+12) / 168
			if s.Index != wantIndex || s.Person != []string{"alice", "bob", "carol"}[wantIndex%3] {
				t.Errorf("shift %d (%s), want %d", s.Index, s.Person, wantIndex)
			}
		})
	}
}

// TestDailyAcrossDST: a daily 02:30 handoff on both transition days of 2026
// and 2027. 02:30 is skipped on spring-forward days in New York, Paris and
// Sydney and falls in the repeated hour on fall-back days in Paris and
// Sydney; the expectations follow the calendar rule of LocalTime (see
// docs/rotations.md): a skipped time is read with the offset before the
// gap (02:30 → 03:30 daylight time, in every zone), a repeated time is its
// first occurrence (daylight time). Until LocalTime, the rows for New York
// in March and Paris and Sydney in autumn recorded what Go's time.Date did
// instead: New York 02:30 → 01:30 EST, the second occurrence in Paris and
// Sydney.
func TestDailyAcrossDST(t *testing.T) {
	tests := []struct {
		zone, day string
		handoff   string // the day's handoff, UTC
		local     string // ... as the local clock shows it
		prev      string // the day before's handoff, UTC
		next      string // the day after's handoff, UTC
		hoursIn   int    // length of the shift ending at handoff
		hoursOut  int    // length of the shift starting at handoff
	}{
		// New York spring: 02:30 does not exist; read as EST, 03:30 EDT.
		{"America/New_York", "2026-03-08", "2026-03-08T07:30:00Z", "03:30 EDT", "2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", 24, 23},
		{"America/New_York", "2026-11-01", "2026-11-01T07:30:00Z", "02:30 EST", "2026-10-31T06:30:00Z", "2026-11-02T07:30:00Z", 25, 24},
		{"America/New_York", "2027-03-14", "2027-03-14T07:30:00Z", "03:30 EDT", "2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z", 24, 23},
		{"America/New_York", "2027-11-07", "2027-11-07T07:30:00Z", "02:30 EST", "2027-11-06T06:30:00Z", "2027-11-08T07:30:00Z", 25, 24},
		// Paris spring: 02:30 does not exist; read as CET, 03:30 CEST.
		// Paris autumn: 02:30 happens twice; the first (CEST).
		{"Europe/Paris", "2026-03-29", "2026-03-29T01:30:00Z", "03:30 CEST", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", 24, 23},
		{"Europe/Paris", "2026-10-25", "2026-10-25T00:30:00Z", "02:30 CEST", "2026-10-24T00:30:00Z", "2026-10-26T01:30:00Z", 24, 25},
		{"Europe/Paris", "2027-03-28", "2027-03-28T01:30:00Z", "03:30 CEST", "2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z", 24, 23},
		{"Europe/Paris", "2027-10-31", "2027-10-31T00:30:00Z", "02:30 CEST", "2027-10-30T00:30:00Z", "2027-11-01T01:30:00Z", 24, 25},
		// Sydney April: 02:30 happens twice; the first (AEDT).
		// Sydney October: 02:30 does not exist; 03:30 AEDT.
		{"Australia/Sydney", "2026-04-05", "2026-04-04T15:30:00Z", "02:30 AEDT", "2026-04-03T15:30:00Z", "2026-04-05T16:30:00Z", 24, 25},
		{"Australia/Sydney", "2026-10-04", "2026-10-03T16:30:00Z", "03:30 AEDT", "2026-10-02T16:30:00Z", "2026-10-04T15:30:00Z", 24, 23},
		{"Australia/Sydney", "2027-04-04", "2027-04-03T15:30:00Z", "02:30 AEDT", "2027-04-02T15:30:00Z", "2027-04-04T16:30:00Z", 24, 25},
		{"Australia/Sydney", "2027-10-03", "2027-10-02T16:30:00Z", "03:30 AEDT", "2027-10-01T16:30:00Z", "2027-10-03T15:30:00Z", 24, 23},
		// Kolkata has no DST: 02:30 IST is 21:00 UTC the day before, every day.
		{"Asia/Kolkata", "2026-03-08", "2026-03-07T21:00:00Z", "02:30 IST", "2026-03-06T21:00:00Z", "2026-03-08T21:00:00Z", 24, 24},
		{"Asia/Kolkata", "2027-10-31", "2027-10-30T21:00:00Z", "02:30 IST", "2027-10-29T21:00:00Z", "2027-10-31T21:00:00Z", 24, 24},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.day, func(t *testing.T) {
			r := mustCompile(t, Spec{Name: "d", Timezone: tc.zone, Shift: "daily", Handoff: "02:30",
				Start: "2026-01-01", Participants: []string{"alice", "bob"}})
			out := mustShiftAt(t, r, z(t, tc.handoff))
			in := mustShiftAt(t, r, z(t, tc.handoff).Add(-time.Nanosecond))
			if !out.Start.Equal(z(t, tc.handoff)) || !out.End.Equal(z(t, tc.next)) {
				t.Errorf("shift from the day's handoff: [%s, %s), want [%s, %s)", fmtUTC(out.Start), fmtUTC(out.End), tc.handoff, tc.next)
			}
			if !in.Start.Equal(z(t, tc.prev)) || !in.End.Equal(z(t, tc.handoff)) {
				t.Errorf("shift into the day's handoff: [%s, %s), want [%s, %s)", fmtUTC(in.Start), fmtUTC(in.End), tc.prev, tc.handoff)
			}
			if got := in.End.Sub(in.Start); got != time.Duration(tc.hoursIn)*time.Hour {
				t.Errorf("shift into the handoff lasts %s, want %dh", got, tc.hoursIn)
			}
			if got := out.End.Sub(out.Start); got != time.Duration(tc.hoursOut)*time.Hour {
				t.Errorf("shift from the handoff lasts %s, want %dh", got, tc.hoursOut)
			}
			if got := out.Start.Format("15:04 MST"); got != tc.local {
				t.Errorf("the day's handoff shows %s on the local clock, want %s", got, tc.local)
			}
			if out.Index != in.Index+1 || out.Person == in.Person {
				t.Errorf("consecutive shifts %d (%s), %d (%s)", in.Index, in.Person, out.Index, out.Person)
			}
			// The shift index is the number of calendar days since 2026-01-01.
			d, _ := time.Parse(time.DateOnly, tc.day)
			if want := int64(d.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24); out.Index != want {
				t.Errorf("index %d, want %d", out.Index, want)
			}
		})
	}
}

// TestAmbiguousFallBack pins down which of the two instants a repeated wall
// time means, for a handoff inside the repeated hour: the first, daylight
// time, everywhere (LocalTime's rule): New York 01:30 on 2026-11-01 and
// 2027-11-07, London 01:30, Paris 02:30 and Sydney 02:30. Until LocalTime
// the Paris and Sydney rows recorded the second occurrence (standard time),
// which is what Go's time.Date picks east of Greenwich.
func TestAmbiguousFallBack(t *testing.T) {
	tests := []struct {
		zone, handoff, day string
		want               string // UTC
		wantLocal          string
		in, out            int // hours of the shifts ending / starting there
	}{
		{"America/New_York", "01:30", "2026-11-01", "2026-11-01T05:30:00Z", "01:30 EDT", 24, 25},
		{"America/New_York", "01:30", "2027-11-07", "2027-11-07T05:30:00Z", "01:30 EDT", 24, 25},
		{"Europe/Paris", "02:30", "2026-10-25", "2026-10-25T00:30:00Z", "02:30 CEST", 24, 25},
		{"Europe/Paris", "02:30", "2027-10-31", "2027-10-31T00:30:00Z", "02:30 CEST", 24, 25},
		{"Europe/London", "01:30", "2026-10-25", "2026-10-25T00:30:00Z", "01:30 BST", 24, 25},
		{"Europe/London", "01:30", "2027-10-31", "2027-10-31T00:30:00Z", "01:30 BST", 24, 25},
		{"Australia/Sydney", "02:30", "2026-04-05", "2026-04-04T15:30:00Z", "02:30 AEDT", 24, 25},
		{"Australia/Sydney", "02:30", "2027-04-04", "2027-04-03T15:30:00Z", "02:30 AEDT", 24, 25},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.day, func(t *testing.T) {
			r := mustCompile(t, Spec{Name: "a", Timezone: tc.zone, Shift: "daily", Handoff: tc.handoff,
				Start: "2026-01-01", Participants: []string{"alice", "bob"}})
			day, _ := time.Parse(time.DateOnly, tc.day)
			// Any instant of the local day after the handoff finds the shift it starts.
			s := mustShiftAt(t, r, time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, r.Location()))
			if !s.Start.Equal(z(t, tc.want)) {
				t.Fatalf("handoff %s (%s), want %s (%s)", fmtUTC(s.Start), s.Start.Format("15:04 MST"), tc.want, tc.wantLocal)
			}
			if got := s.Start.Format("15:04 MST"); got != tc.wantLocal {
				t.Errorf("local clock %s, want %s", got, tc.wantLocal)
			}
			prev := mustShiftAt(t, r, s.Start.Add(-time.Second))
			if prev.End.Sub(prev.Start) != time.Duration(tc.in)*time.Hour || s.End.Sub(s.Start) != time.Duration(tc.out)*time.Hour {
				t.Errorf("lengths %s then %s, want %dh then %dh", prev.End.Sub(prev.Start), s.End.Sub(s.Start), tc.in, tc.out)
			}
		})
	}
}

// TestAbsoluteShiftsAcrossDST: hourly and 12h shifts are elapsed time from
// local midnight of the start date; across every transition each is exactly
// 1h / 12h, so the local clock of the handoffs moves by the DST change.
func TestAbsoluteShiftsAcrossDST(t *testing.T) {
	for _, zc := range dstZones {
		loc := mustLoc(t, zc.zone)
		for _, year := range []int{2026, 2027} {
			trs := zc.years[year]
			if len(trs) == 0 {
				trs = []string{fmt.Sprintf("%d-03-08T07:00:00Z", year), fmt.Sprintf("%d-11-01T06:00:00Z", year)}
			}
			for _, tr := range trs {
				at := z(t, tr)
				startDay := at.In(loc).AddDate(0, 0, -2).Format(time.DateOnly)
				midnight, _ := time.ParseInLocation(time.DateOnly, startDay, loc)
				for _, shift := range []struct {
					spec   string
					period time.Duration
				}{{"hourly", time.Hour}, {"12h", 12 * time.Hour}} {
					name := fmt.Sprintf("%s/%s/%s", zc.zone, tr, shift.spec)
					r := mustCompile(t, Spec{Name: "h", Timezone: zc.zone, Shift: shift.spec, Handoff: "Mon 09:00",
						Start: startDay, Participants: []string{"a", "b", "c"}})
					if !r.FirstHandoff().Equal(midnight) {
						t.Errorf("%s: first handoff %s, want local midnight %s", name, r.FirstHandoff(), midnight)
					}
					for _, s := range r.Shifts(at.Add(-36*time.Hour), at.Add(36*time.Hour)) {
						if s.End.Sub(s.Start) != shift.period {
							t.Errorf("%s: shift %d [%s, %s) lasts %s", name, s.Index, fmtUTC(s.Start), fmtUTC(s.End), s.End.Sub(s.Start))
						}
						if want := midnight.Add(time.Duration(s.Index) * shift.period); !s.Start.Equal(want) {
							t.Errorf("%s: shift %d starts %s, want %s", name, s.Index, fmtUTC(s.Start), fmtUTC(want))
						}
					}
				}
			}
		}
	}

	// Spelled out once: a 12h New York rotation from 2026-03-07 hands off at
	// 00:00 and 12:00 EST until the clocks change (02:00 on 03-08), then at
	// 13:00 and 01:00 EDT.
	r := mustCompile(t, Spec{Name: "h", Timezone: "America/New_York", Shift: "12h", Start: "2026-03-07", Participants: []string{"a", "b"}})
	var got []string
	for _, s := range r.Shifts(z(t, "2026-03-07T05:00:00Z"), z(t, "2026-03-09T06:00:00Z")) {
		got = append(got, s.Start.Format("01-02 15:04 MST"))
	}
	want := []string{"03-07 00:00 EST", "03-07 12:00 EST", "03-08 00:00 EST", "03-08 13:00 EDT", "03-09 01:00 EDT"}
	if !slices.Equal(got, want) {
		t.Errorf("12h handoffs %v, want %v", got, want)
	}
}

// TestFirstHandoff: the first shift begins at the first handoff at or after
// the start date; before it, ErrNotStarted.
func TestFirstHandoff(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		first string
	}{
		{"weekly start on a Wednesday waits for Monday", Spec{Shift: "weekly", Handoff: "Mon 09:00", Start: "2026-01-07"}, "2026-01-12T14:00:00Z"},
		{"weekly start on the weekday itself", Spec{Shift: "weekly", Handoff: "mon 9:00", Start: "2026-01-05"}, "2026-01-05T14:00:00Z"},
		{"weekly full weekday name", Spec{Shift: "weekly", Handoff: "Sunday 23:59", Start: "2026-01-05"}, "2026-01-12T04:59:00Z"},
		{"daily", Spec{Shift: "daily", Handoff: "02:30", Start: "2026-01-05"}, "2026-01-05T07:30:00Z"},
		{"daily at midnight", Spec{Shift: "daily", Handoff: "00:00", Start: "2026-07-01"}, "2026-07-01T04:00:00Z"},
		{"hourly ignores handoff", Spec{Shift: "hourly", Handoff: "Mon 09:00", Start: "2026-01-05"}, "2026-01-05T05:00:00Z"},
		{"duration", Spec{Shift: "36h", Start: "2026-07-01"}, "2026-07-01T04:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name, tc.spec.Timezone, tc.spec.Participants = "r", "America/New_York", []string{"alice", "bob"}
			r := mustCompile(t, tc.spec)
			first := z(t, tc.first)
			if !r.FirstHandoff().Equal(first) {
				t.Fatalf("first handoff %s, want %s", fmtUTC(r.FirstHandoff()), tc.first)
			}
			s := mustShiftAt(t, r, first)
			if s.Index != 0 || s.Person != "alice" || !s.Start.Equal(first) {
				t.Errorf("at the first handoff: %+v", s)
			}
			_, err := r.ShiftAt(first.Add(-time.Nanosecond))
			if !errors.Is(err, ErrNotStarted) {
				t.Errorf("1ns before the first handoff: err %v, want ErrNotStarted", err)
			}
			if got := r.Shifts(first.Add(-48*time.Hour), first); got != nil {
				t.Errorf("Shifts before start: %v", got)
			}
		})
	}
}

// TestFarFuture: the index is computed, not counted, and stays right
// centuries out (a time.Duration would saturate after 292 years).
func TestFarFuture(t *testing.T) {
	daily := mustCompile(t, Spec{Name: "d", Timezone: "Europe/Paris", Shift: "daily", Handoff: "09:00", Start: "2026-01-01", Participants: []string{"a", "b", "c"}})
	at := time.Date(2400, 7, 14, 12, 0, 0, 0, daily.Location())
	s := mustShiftAt(t, daily, at)
	wantIndex := civilDay(2400, 7, 14) - civilDay(2026, 1, 1)
	if s.Index != wantIndex || s.Start.Format("2006-01-02 15:04") != "2400-07-14 09:00" {
		t.Errorf("daily in 2400: %d from %s, want %d from 2400-07-14 09:00", s.Index, s.Start, wantIndex)
	}
	hourly := mustCompile(t, Spec{Name: "h", Timezone: "UTC", Shift: "hourly", Start: "2026-01-01", Participants: []string{"a", "b"}})
	at = z(t, "2500-01-01T00:30:00Z")
	s = mustShiftAt(t, hourly, at)
	wantIndex = (civilDay(2500, 1, 1) - civilDay(2026, 1, 1)) * 24
	if s.Index != wantIndex || !s.Start.Equal(z(t, "2500-01-01T00:00:00Z")) {
		t.Errorf("hourly in 2500: %d from %s, want %d", s.Index, s.Start, wantIndex)
	}
}
