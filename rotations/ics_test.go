package rotations

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

func parseICS(t *testing.T, b []byte) *ics.Calendar {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse feed: %v\n%s", err, b)
	}
	return cal
}

func TestICS(t *testing.T) {
	r := mustCompile(t, Spec{Name: "db-primary", Timezone: "America/New_York", Shift: "weekly", Handoff: "Mon 09:00",
		Start: "2026-01-05", Participants: []string{"alice", "bob", "carol"}})
	long := "Maximiliane Théodora Wilhelmina von Aschenbrenner-Sørensen de la Tour"
	people := map[string]string{"alice": "Alice Martin", "bob": "Bob Li", "carol": long}
	// dave (no display name: his id is shown) covers a day of bob's week.
	set := NewOverrideSet([]Override{{ID: "7", Rotation: "db-primary", Person: "dave",
		From: z(t, "2026-03-17T13:00:00Z"), Until: z(t, "2026-03-18T13:00:00Z")}})

	from := z(t, "2026-03-04T12:00:00Z") // a Wednesday: the first event started on Monday
	to := from.Add(90 * 24 * time.Hour)  // 2026-06-02, a Tuesday
	b, err := ICS(r, set, from, to, people)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets, over RFC 5545's 75: %q", i+1, len(line), line)
		}
	}
	cal := parseICS(t, b)
	if p := cal.CalendarProperties; len(p) == 0 {
		t.Fatal("no calendar properties")
	}
	var prodID string
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyProductId) {
			prodID = p.Value
		}
	}
	if prodID != ProdID {
		t.Errorf("PRODID %q, want %q", prodID, ProdID)
	}

	events := cal.Events()
	// Weekly shifts overlapping [03-04, 06-02): the ones starting 03-02 ...
	// 06-01 are 14; bob's week of 03-16 is split in three by dave's day.
	if len(events) != 16 {
		t.Fatalf("%d events, want 16", len(events))
	}
	type ev struct{ start, end, summary string }
	get := func(e *ics.VEvent) ev {
		s, err1 := e.GetStartAt()
		en, err2 := e.GetEndAt()
		if err1 != nil || err2 != nil {
			t.Fatalf("event times: %v %v", err1, err2)
		}
		return ev{fmtUTC(s), fmtUTC(en), e.GetProperty(ics.ComponentPropertySummary).Value}
	}
	first, last := get(events[0]), get(events[len(events)-1])
	if want := (ev{"2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z", "On call: " + long + " (db-primary)"}); first != want {
		t.Errorf("first event %+v, want %+v", first, want)
	}
	if want := (ev{"2026-06-01T13:00:00Z", "2026-06-08T13:00:00Z", "On call: Alice Martin (db-primary)"}); last != want {
		t.Errorf("last event %+v, want %+v", last, want)
	}
	want := []ev{
		{"2026-03-16T13:00:00Z", "2026-03-17T13:00:00Z", "On call: Bob Li (db-primary)"},
		{"2026-03-17T13:00:00Z", "2026-03-18T13:00:00Z", "On call: dave (db-primary)"},
		{"2026-03-18T13:00:00Z", "2026-03-23T13:00:00Z", "On call: Bob Li (db-primary)"},
	}
	for i, w := range want {
		if got := get(events[2+i]); got != w {
			t.Errorf("event %d: %+v, want %+v", 2+i, got, w)
		}
	}

	seen := map[string]bool{}
	for _, e := range events {
		uid := e.Id()
		if uid == "" || seen[uid] {
			t.Errorf("UID %q empty or repeated", uid)
		}
		seen[uid] = true
		if s := e.GetProperty(ics.ComponentPropertyDtStart).Value; !strings.HasSuffix(s, "Z") {
			t.Errorf("DTSTART %q is not UTC", s)
		}
	}
	if !seen["db-primary-20260302T140000Z@baton"] {
		t.Errorf("UIDs %v lack rotation+start form", seen)
	}

	// Regenerating a week later keeps the UIDs of the events both feeds
	// share, so subscribed calendars update instead of duplicating.
	b2, err := ICS(r, set, from.Add(7*24*time.Hour), to.Add(7*24*time.Hour), people)
	if err != nil {
		t.Fatal(err)
	}
	later := parseICS(t, b2).Events()
	if len(later) != 16 || later[0].Id() != events[1].Id() {
		t.Errorf("after a week: %d events, first UID %q, want 16 from %q", len(later), later[0].Id(), events[1].Id())
	}
}

func TestICSEmpty(t *testing.T) {
	r := weeklyABC(t)
	b, err := ICS(r, nil, z(t, "2025-01-01T00:00:00Z"), z(t, "2025-02-01T00:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cal := parseICS(t, b)
	if n := len(cal.Events()); n != 0 {
		t.Errorf("%d events before the rotation starts", n)
	}
	if !bytes.Contains(b, []byte("PRODID:"+ProdID+"\r\n")) || !bytes.Contains(b, []byte("VERSION:2.0\r\n")) {
		t.Errorf("empty feed lacks PRODID or VERSION:\n%s", b)
	}
}

func TestFold(t *testing.T) {
	for _, line := range []string{
		"SUMMARY:" + strings.Repeat("é", 100), // 2-octet runes: a naive cut would split one
		"DESCRIPTION:" + strings.Repeat("a", 300),
		"SUMMARY:" + strings.Repeat("x", 67), // exactly 75: not folded
	} {
		got := string(fold([]byte(line + "\r\nX:y\r\n")))
		parts := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
		if parts[len(parts)-1] != "X:y" {
			t.Fatalf("folded into %q", parts)
		}
		if want := (len(line) + 73 - 75) / 74; len(line) > 75 && len(parts)-2 < want {
			t.Errorf("%d continuation lines for %d octets", len(parts)-2, len(line))
		}
		var unfolded strings.Builder
		for i, p := range parts[:len(parts)-1] {
			if len(p) > 75 {
				t.Errorf("part %d has %d octets", i, len(p))
			}
			if i > 0 {
				if p[0] != ' ' {
					t.Errorf("continuation %d does not start with a space", i)
				}
				p = p[1:]
			}
			unfolded.WriteString(p)
		}
		if unfolded.String() != line {
			t.Errorf("unfolding gives %q", unfolded.String())
		}
		if !utf8.ValidString(parts[0]) {
			t.Errorf("first part is not valid UTF-8: a rune was split")
		}
	}
}
