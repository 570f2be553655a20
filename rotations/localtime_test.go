package rotations

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLocalTime: the rule on the wall times the clocks skip or repeat,
// written out by hand (UTC instants as published), and on ordinary ones.
// The "repeated" rows in Paris, London, Sydney and Lord Howe and the
// "skipped" rows in New York are where Go's time.Date answers differently
// (see TestTimeDateDiffers).
func TestLocalTime(t *testing.T) {
	tests := []struct {
		name, zone, wall string // wall: "2006-01-02 15:04" local
		want             string // UTC
		local            string // the same instant on the zone's clock, "15:04 -07:00"
	}{
		{"New York skipped 2026", "America/New_York", "2026-03-08 02:30", "2026-03-08T07:30:00Z", "03:30 -04:00"},
		{"New York repeated 2026", "America/New_York", "2026-11-01 01:30", "2026-11-01T05:30:00Z", "01:30 -04:00"},
		{"New York skipped 2027", "America/New_York", "2027-03-14 02:00", "2027-03-14T07:00:00Z", "03:00 -04:00"},
		{"New York repeated 2027", "America/New_York", "2027-11-07 01:00", "2027-11-07T05:00:00Z", "01:00 -04:00"},
		{"New York just after the repeat", "America/New_York", "2026-11-01 02:00", "2026-11-01T07:00:00Z", "02:00 -05:00"},
		{"New York just after the gap", "America/New_York", "2026-03-08 03:00", "2026-03-08T07:00:00Z", "03:00 -04:00"},
		{"Paris skipped 2026", "Europe/Paris", "2026-03-29 02:30", "2026-03-29T01:30:00Z", "03:30 +02:00"},
		{"Paris repeated 2026", "Europe/Paris", "2026-10-25 02:30", "2026-10-25T00:30:00Z", "02:30 +02:00"},
		{"Paris skipped 2027", "Europe/Paris", "2027-03-28 02:59", "2027-03-28T01:59:00Z", "03:59 +02:00"},
		{"Paris repeated 2027", "Europe/Paris", "2027-10-31 02:00", "2027-10-31T00:00:00Z", "02:00 +02:00"},
		{"London skipped 2026", "Europe/London", "2026-03-29 01:30", "2026-03-29T01:30:00Z", "02:30 +01:00"},
		{"London repeated 2026", "Europe/London", "2026-10-25 01:30", "2026-10-25T00:30:00Z", "01:30 +01:00"},
		{"London skipped 2027", "Europe/London", "2027-03-28 01:00", "2027-03-28T01:00:00Z", "02:00 +01:00"},
		{"London repeated 2027", "Europe/London", "2027-10-31 01:59", "2027-10-31T00:59:00Z", "01:59 +01:00"},
		{"Sydney repeated 2026", "Australia/Sydney", "2026-04-05 02:30", "2026-04-04T15:30:00Z", "02:30 +11:00"},
		{"Sydney skipped 2026", "Australia/Sydney", "2026-10-04 02:30", "2026-10-03T16:30:00Z", "03:30 +11:00"},
		{"Sydney repeated 2027", "Australia/Sydney", "2027-04-04 02:00", "2027-04-03T15:00:00Z", "02:00 +11:00"},
		{"Sydney skipped 2027", "Australia/Sydney", "2027-10-03 02:00", "2027-10-02T16:00:00Z", "03:00 +11:00"},
		// Lord Howe moves its clocks by 30 minutes: back 02:00 → 01:30 in
		// April (+11 → +10:30), forward 02:00 → 02:30 in October.
		{"Lord Howe repeated 2026", "Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04T14:45:00Z", "01:45 +11:00"},
		{"Lord Howe skipped 2026", "Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03T15:45:00Z", "02:45 +11:00"},
		{"Lord Howe repeated 2027", "Australia/Lord_Howe", "2027-04-04 01:30", "2027-04-03T14:30:00Z", "01:30 +11:00"},
		{"Lord Howe skipped 2027", "Australia/Lord_Howe", "2027-10-03 02:00", "2027-10-02T15:30:00Z", "02:30 +11:00"},
		{"Kolkata has no DST", "Asia/Kolkata", "2026-03-08 02:30", "2026-03-07T21:00:00Z", "02:30 +05:30"},
		{"Kolkata has no DST 2027", "Asia/Kolkata", "2027-10-31 02:30", "2027-10-30T21:00:00Z", "02:30 +05:30"},
		{"ordinary summer time", "Europe/Paris", "2026-07-14 09:00", "2026-07-14T07:00:00Z", "09:00 +02:00"},
		{"UTC", "UTC", "2026-10-25 02:30", "2026-10-25T02:30:00Z", "02:30 +00:00"},
		// Pacific/Apia skipped 2011-12-30 (-10 → +14): read with -10.
		{"Apia skipped day", "Pacific/Apia", "2011-12-30 09:00", "2011-12-30T19:00:00Z", "09:00 +14:00"},
		// After the tz table's last explicit transition (2037) the zone's rule
		// takes over; 2040 is a leap year (Go issue 81583 is in ZoneBounds,
		// which LocalTime does not use).
		{"New York repeated 2040", "America/New_York", "2040-11-04 01:30", "2040-11-04T05:30:00Z", "01:30 -04:00"},
		{"New York new year's eve 2040", "America/New_York", "2040-12-31 19:00", "2041-01-01T00:00:00Z", "19:00 -05:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			w, err := time.Parse("2006-01-02 15:04", tc.wall)
			if err != nil {
				t.Fatal(err)
			}
			got := LocalTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), loc)
			if !got.Equal(z(t, tc.want)) {
				t.Errorf("LocalTime(%s %s) = %s (%s), want %s (%s)", tc.wall, tc.zone, fmtUTC(got), got.Format("15:04 -07:00"), tc.want, tc.local)
			}
			if got.Location() != loc {
				t.Errorf("result in %s, want %s", got.Location(), loc)
			}
			if s := got.Format("15:04 -07:00"); s != tc.local {
				t.Errorf("local clock %s, want %s", s, tc.local)
			}
		})
	}

	// Out-of-range values normalise as time.Date's do.
	paris := mustLoc(t, "Europe/Paris")
	if got := LocalTime(2026, time.October, 24+1, 2, 30, paris); !got.Equal(z(t, "2026-10-25T00:30:00Z")) {
		t.Errorf("day 24+1: %s", fmtUTC(got))
	}
	if got := LocalTime(2026, time.January, 32, 24+2, 90, paris); !got.Equal(z(t, "2026-02-02T02:30:00Z")) {
		t.Errorf("January 32 26:90: %s", fmtUTC(got))
	}
}

// TestTimeDateDiffers records what Go's time.Date does with the same wall
// times on this Go (1.26): the reason LocalTime exists. If a Go release
// starts following the calendar rule this test fails, and LocalTime could
// become time.Date again.
func TestTimeDateDiffers(t *testing.T) {
	tests := []struct{ zone, wall, goSays, rule string }{
		{"America/New_York", "2026-03-08 02:30", "01:30 -05:00", "03:30 -04:00"},
		{"Europe/Paris", "2026-10-25 02:30", "02:30 +01:00", "02:30 +02:00"},
		{"Europe/London", "2026-10-25 01:30", "01:30 +00:00", "01:30 +01:00"},
		{"Australia/Sydney", "2026-04-05 02:30", "02:30 +10:00", "02:30 +11:00"},
		{"Australia/Lord_Howe", "2026-04-05 01:45", "01:45 +10:30", "01:45 +11:00"},
	}
	for _, tc := range tests {
		loc := mustLoc(t, tc.zone)
		w, _ := time.Parse("2006-01-02 15:04", tc.wall)
		goT := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
		ours := LocalTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), loc)
		if g, o := goT.Format("15:04 -07:00"), ours.Format("15:04 -07:00"); g != tc.goSays || o != tc.rule {
			t.Errorf("%s %s: time.Date %s (recorded %s), LocalTime %s (want %s)", tc.zone, tc.wall, g, tc.goSays, o, tc.rule)
		}
	}
}

// TestLocalTimeMatchesDefinition checks LocalTime against refLocalTime, the
// rule worked out by walking the clock, at every 7th minute around every
// change of offset from 2019 to 2045 in the property zones (2040 and 2044
// are leap years served by the zones' rules rather than their tables), and
// at Apia's skipped day.
func TestLocalTimeMatchesDefinition(t *testing.T) {
	type window struct {
		zone     string
		from, to time.Time // UTC days to search for changes
	}
	var windows []window
	for _, zone := range propertyZones {
		windows = append(windows, window{zone, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	windows = append(windows, window{"Pacific/Apia", time.Date(2011, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC)})
	changes, walls, differ := 0, 0, 0
	for _, w := range windows {
		loc := mustLoc(t, w.zone)
		for day := w.from; day.Before(w.to); day = day.Add(24 * time.Hour) {
			lo, hi := day, day.Add(24*time.Hour)
			if offsetAt(lo, loc) == offsetAt(hi, loc) {
				continue
			}
			for hi.Sub(lo) > time.Minute { // bisect to the minute of the change
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
				if offsetAt(mid, loc) == offsetAt(lo, loc) {
					lo = mid
				} else {
					hi = mid
				}
			}
			changes++
			before, after := time.Duration(offsetAt(lo, loc))*time.Second, time.Duration(offsetAt(hi, loc))*time.Second
			first := hi.Add(min(before, after) - 2*time.Hour) // as if UTC: wall readings around the change
			last := hi.Add(max(before, after) + 2*time.Hour)
			for wall := first; !wall.After(last); wall = wall.Add(7 * time.Minute) {
				walls++
				y, m, d := wall.Date()
				got := LocalTime(y, m, d, wall.Hour(), wall.Minute(), loc)
				want := refLocalTime(y, m, d, wall.Hour(), wall.Minute(), loc)
				if !got.Equal(want) {
					t.Errorf("%s %s: LocalTime %s, definition %s", w.zone, wall.Format("2006-01-02 15:04"), got, want)
				}
				if !time.Date(y, m, d, wall.Hour(), wall.Minute(), 0, 0, loc).Equal(want) {
					differ++
				}
			}
		}
	}
	t.Logf("%d changes of offset, %d wall times, %d where time.Date differs", changes, walls, differ)
	if changes < 300 || differ == 0 {
		t.Errorf("only %d changes found, %d differences from time.Date: the search is broken", changes, differ)
	}
}

// TestHandoffAtSkippedOrRepeatedTime: a daily rotation whose handoff time is
// repeated or skipped on the day the clocks change hands over at the
// instant LocalTime gives: the first occurrence of a repeated time, a
// skipped time read with the offset before the gap. The shifts around it
// are 24 h then 25 h when the clocks go back (24 h then 24.5 h at Lord
// Howe) and 24 h then 23 h when they go forward (24 h then 23.5 h). Go's
// time.Date put the repeated ones in Paris, London, Sydney and Lord Howe an
// offset change later (second occurrence) and the skipped ones in New York
// an hour earlier (01:30 EST).
func TestHandoffAtSkippedOrRepeatedTime(t *testing.T) {
	h := func(hours float64) time.Duration { return time.Duration(hours * float64(time.Hour)) }
	tests := []struct {
		name, zone, handoff, day string
		want                     string // the day's handoff, UTC
		local                    string // ... on the zone's clock
		in, out                  time.Duration
	}{
		{"New York skipped 2026", "America/New_York", "02:30", "2026-03-08", "2026-03-08T07:30:00Z", "03:30 -04:00", h(24), h(23)},
		{"New York repeated 2026", "America/New_York", "01:30", "2026-11-01", "2026-11-01T05:30:00Z", "01:30 -04:00", h(24), h(25)},
		{"New York skipped 2027", "America/New_York", "02:30", "2027-03-14", "2027-03-14T07:30:00Z", "03:30 -04:00", h(24), h(23)},
		{"New York repeated 2027", "America/New_York", "01:30", "2027-11-07", "2027-11-07T05:30:00Z", "01:30 -04:00", h(24), h(25)},
		{"Paris skipped 2026", "Europe/Paris", "02:30", "2026-03-29", "2026-03-29T01:30:00Z", "03:30 +02:00", h(24), h(23)},
		{"Paris repeated 2026", "Europe/Paris", "02:30", "2026-10-25", "2026-10-25T00:30:00Z", "02:30 +02:00", h(24), h(25)},
		{"Paris skipped 2027", "Europe/Paris", "02:30", "2027-03-28", "2027-03-28T01:30:00Z", "03:30 +02:00", h(24), h(23)},
		{"Paris repeated 2027", "Europe/Paris", "02:30", "2027-10-31", "2027-10-31T00:30:00Z", "02:30 +02:00", h(24), h(25)},
		{"London skipped 2026", "Europe/London", "01:30", "2026-03-29", "2026-03-29T01:30:00Z", "02:30 +01:00", h(24), h(23)},
		{"London repeated 2026", "Europe/London", "01:30", "2026-10-25", "2026-10-25T00:30:00Z", "01:30 +01:00", h(24), h(25)},
		{"London skipped 2027", "Europe/London", "01:30", "2027-03-28", "2027-03-28T01:30:00Z", "02:30 +01:00", h(24), h(23)},
		{"London repeated 2027", "Europe/London", "01:30", "2027-10-31", "2027-10-31T00:30:00Z", "01:30 +01:00", h(24), h(25)},
		{"Sydney repeated 2026", "Australia/Sydney", "02:30", "2026-04-05", "2026-04-04T15:30:00Z", "02:30 +11:00", h(24), h(25)},
		{"Sydney skipped 2026", "Australia/Sydney", "02:30", "2026-10-04", "2026-10-03T16:30:00Z", "03:30 +11:00", h(24), h(23)},
		{"Sydney repeated 2027", "Australia/Sydney", "02:30", "2027-04-04", "2027-04-03T15:30:00Z", "02:30 +11:00", h(24), h(25)},
		{"Sydney skipped 2027", "Australia/Sydney", "02:30", "2027-10-03", "2027-10-02T16:30:00Z", "03:30 +11:00", h(24), h(23)},
		{"Lord Howe repeated 2026", "Australia/Lord_Howe", "01:45", "2026-04-05", "2026-04-04T14:45:00Z", "01:45 +11:00", h(24), h(24.5)},
		{"Lord Howe skipped 2026", "Australia/Lord_Howe", "02:15", "2026-10-04", "2026-10-03T15:45:00Z", "02:45 +11:00", h(24), h(23.5)},
		{"Lord Howe repeated 2027", "Australia/Lord_Howe", "01:45", "2027-04-04", "2027-04-03T14:45:00Z", "01:45 +11:00", h(24), h(24.5)},
		{"Lord Howe skipped 2027", "Australia/Lord_Howe", "02:15", "2027-10-03", "2027-10-02T15:45:00Z", "02:45 +11:00", h(24), h(23.5)},
		{"Kolkata 2026", "Asia/Kolkata", "02:30", "2026-03-08", "2026-03-07T21:00:00Z", "02:30 +05:30", h(24), h(24)},
		{"Kolkata 2027", "Asia/Kolkata", "02:30", "2027-10-31", "2027-10-30T21:00:00Z", "02:30 +05:30", h(24), h(24)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustCompile(t, Spec{Name: "d", Timezone: tc.zone, Shift: "daily", Handoff: tc.handoff,
				Start: "2026-01-01", Participants: []string{"alice", "bob", "carol"}})
			handoff := z(t, tc.want)
			out := mustShiftAt(t, r, handoff)
			in := mustShiftAt(t, r, handoff.Add(-time.Nanosecond))
			if !out.Start.Equal(handoff) || !in.End.Equal(handoff) {
				t.Fatalf("shifts [%s, %s) and [%s, %s), want a handoff at %s (%s)",
					fmtUTC(in.Start), fmtUTC(in.End), fmtUTC(out.Start), fmtUTC(out.End), tc.want, tc.local)
			}
			if got := out.Start.Format("15:04 -07:00"); got != tc.local {
				t.Errorf("handoff at %s on the local clock, want %s", got, tc.local)
			}
			if got := in.End.Sub(in.Start); got != tc.in {
				t.Errorf("shift into the handoff lasts %s, want %s", got, tc.in)
			}
			if got := out.End.Sub(out.Start); got != tc.out {
				t.Errorf("shift from the handoff lasts %s, want %s", got, tc.out)
			}
			// The day's shift is the day's: index = days since 2026-01-01,
			// and every other handoff is at the configured time.
			d, _ := time.Parse(time.DateOnly, tc.day)
			if want := civilDay(d.Date()) - civilDay(2026, 1, 1); out.Index != want || in.Index != want-1 {
				t.Errorf("indexes %d, %d, want %d, %d", in.Index, out.Index, want-1, want)
			}
			for _, x := range []time.Time{in.Start, out.End} {
				if got := x.In(r.Location()).Format("15:04"); got != tc.handoff {
					t.Errorf("neighbouring handoff %s at %s local, want %s", fmtUTC(x), got, tc.handoff)
				}
			}
			if got := r.Shifts(in.Start, out.End); len(got) != 2 || !got[0].End.Equal(handoff) {
				t.Errorf("Shifts: %+v", got)
			}
		})
	}
}

// TestRuleReachesEveryAnswer: OnCall, Next, View (the CLI's and the API's
// JSON) and the calendar feed all place a repeated handoff time at its
// first occurrence and a skipped one after the gap, because they all ask
// the rotation.
func TestRuleReachesEveryAnswer(t *testing.T) {
	paris := mustCompile(t, Spec{Name: "p", Timezone: "Europe/Paris", Shift: "daily", Handoff: "02:30",
		Start: "2026-10-01", Participants: []string{"alice", "bob"}})
	// 2026-10-25 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
	person, from, until, err := OnCall(paris, nil, z(t, "2026-10-25T01:00:00Z"))
	if err != nil || person != "alice" || !from.Equal(z(t, "2026-10-25T00:30:00Z")) || !until.Equal(z(t, "2026-10-26T01:30:00Z")) {
		t.Errorf("OnCall in the repeated hour: %s [%s, %s) %v, want alice [00:30Z, 26th 01:30Z)", person, fmtUTC(from), fmtUTC(until), err)
	}
	next, err := Next(paris, nil, z(t, "2026-10-24T12:00:00Z"))
	if err != nil || next.Person != "alice" || !next.Start.Equal(z(t, "2026-10-25T00:30:00Z")) {
		t.Errorf("Next: %+v %v", next, err)
	}
	v, err := View(paris, nil, z(t, "2026-10-24T12:00:00Z"), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	for _, want := range []string{`"until":"2026-10-25T02:30:00+02:00"`, `"from":"2026-10-25T02:30:00+02:00","until":"2026-10-26T02:30:00+01:00"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("view %s lacks %s", b, want)
		}
	}
	feed, err := ICS(paris, nil, z(t, "2026-10-24T12:00:00Z"), z(t, "2026-10-26T12:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DTEND:20261025T003000Z", "DTSTART:20261025T003000Z", "UID:p-20261025T003000Z@baton"} {
		if !strings.Contains(string(feed), want) {
			t.Errorf("feed lacks %s:\n%s", want, feed)
		}
	}

	ny := mustCompile(t, Spec{Name: "n", Timezone: "America/New_York", Shift: "daily", Handoff: "02:30",
		Start: "2026-03-01", Participants: []string{"alice", "bob"}})
	// 2026-03-08 02:30 does not happen in New York: 02:30 EST, 03:30 EDT.
	feed, err = ICS(ny, nil, z(t, "2026-03-07T12:00:00Z"), z(t, "2026-03-08T12:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(feed), "DTSTART:20260308T073000Z") {
		t.Errorf("feed lacks the 03:30 EDT handoff:\n%s", feed)
	}
	person, from, _, err = OnCall(ny, nil, z(t, "2026-03-08T07:00:00Z")) // 03:00 EDT
	if want := fmt.Sprint("alice ", z(t, "2026-03-07T07:30:00Z")); err != nil || fmt.Sprint(person, " ", from.UTC()) != want {
		t.Errorf("OnCall at 03:00 EDT: %s from %s %v, want %s", person, fmtUTC(from), err, want)
	}
}
