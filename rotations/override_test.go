package rotations

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateOverride(t *testing.T) {
	known := NewKnown([]string{"alice", "bob"}, []string{"db-primary"})
	from := z(t, "2026-03-01T10:00:00Z")
	ok := Override{Rotation: "db-primary", Person: "bob", From: from, Until: from.Add(4 * time.Hour)}
	tests := []struct {
		name   string
		modify func(*Override)
		known  Known
		want   []error
		msg    string
	}{
		{"valid", func(*Override) {}, known, nil, ""},
		{"exactly 90 days", func(o *Override) { o.Until = o.From.Add(90 * 24 * time.Hour) }, known, nil, ""},
		{"until equals from", func(o *Override) { o.Until = o.From }, known, []error{ErrEmptyRange},
			"override must end after it starts: from 2026-03-01T10:00:00Z, until 2026-03-01T10:00:00Z"},
		{"until before from", func(o *Override) { o.Until = o.From.Add(-time.Hour) }, known, []error{ErrEmptyRange}, ""},
		{"90 days and a second", func(o *Override) { o.Until = o.From.Add(90*24*time.Hour + time.Second) }, known,
			[]error{ErrOverrideTooLong}, "override is longer than 90 days: it covers 90 days 1s"},
		{"a year", func(o *Override) { o.Until = o.From.AddDate(1, 0, 0) }, known, []error{ErrOverrideTooLong},
			"override is longer than 90 days: it covers 365 days"},
		{"unknown person", func(o *Override) { o.Person = "mallory" }, known, []error{ErrUnknownPerson}, `unknown person "mallory"`},
		{"no person", func(o *Override) { o.Person = "" }, known, []error{ErrUnknownPerson}, `unknown person ""`},
		{"unknown rotation", func(o *Override) { o.Rotation = "db-tertiary" }, known, []error{ErrUnknownRotation}, `unknown rotation "db-tertiary"`},
		{"zero Known knows nobody", func(*Override) {}, Known{}, []error{ErrUnknownPerson, ErrUnknownRotation}, ""},
		{"all at once", func(o *Override) { o.Person, o.Rotation, o.Until = "x", "y", o.From }, known,
			[]error{ErrEmptyRange, ErrUnknownPerson, ErrUnknownRotation}, ""},
	}
	all := []error{ErrEmptyRange, ErrOverrideTooLong, ErrUnknownPerson, ErrUnknownRotation}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.modify(&o)
			err := ValidateOverride(o, tc.known)
			for _, e := range all {
				if got, want := errors.Is(err, e), slices.Contains(tc.want, e); got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, e, got, want)
				}
			}
			if (err == nil) != (len(tc.want) == 0) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if tc.msg != "" && (err == nil || err.Error() != tc.msg) {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

// weeklyABC is a weekly UTC rotation: alice from Mon 2026-01-05 09:00,
// bob from the 12th, carol from the 19th, alice again from the 26th.
func weeklyABC(t *testing.T) *Rotation {
	return mustCompile(t, Spec{Name: "db-primary", Timezone: "UTC", Shift: "weekly", Handoff: "Mon 09:00",
		Start: "2026-01-05", Participants: []string{"alice", "bob", "carol"}})
}

func TestOverridePrecedence(t *testing.T) {
	r := weeklyABC(t)
	c := func(s string) time.Time { return z(t, "2026-01-01T"+s+":00Z") } // creation instants
	ovs := []Override{
		// dave takes Tue–Thu of alice's week; erin, created later, takes Wed.
		{ID: "1", Rotation: "db-primary", Person: "dave", From: z(t, "2026-01-06T00:00:00Z"), Until: z(t, "2026-01-09T00:00:00Z"), Created: c("10:00")},
		{ID: "2", Rotation: "db-primary", Person: "erin", From: z(t, "2026-01-07T00:00:00Z"), Until: z(t, "2026-01-08T00:00:00Z"), Created: c("11:00")},
		// frank, created before dave, overlaps dave's Thursday: dave keeps it.
		{ID: "3", Rotation: "db-primary", Person: "frank", From: z(t, "2026-01-08T12:00:00Z"), Until: z(t, "2026-01-10T00:00:00Z"), Created: c("09:00")},
		// Same creation instant: the later ID ("10" after "9") wins.
		{ID: "9", Rotation: "db-primary", Person: "gina", From: z(t, "2026-01-20T00:00:00Z"), Until: z(t, "2026-01-21T00:00:00Z"), Created: c("12:00")},
		{ID: "10", Rotation: "db-primary", Person: "hank", From: z(t, "2026-01-20T00:00:00Z"), Until: z(t, "2026-01-21T00:00:00Z"), Created: c("12:00")},
		// Another rotation's override changes nothing here.
		{ID: "1", Rotation: "db-secondary", Person: "ivan", From: z(t, "2026-01-05T00:00:00Z"), Until: z(t, "2026-02-01T00:00:00Z"), Created: c("23:00")},
		// An empty range is ignored.
		{ID: "11", Rotation: "db-primary", Person: "jill", From: z(t, "2026-01-13T00:00:00Z"), Until: z(t, "2026-01-13T00:00:00Z"), Created: c("23:00")},
	}
	set := NewOverrideSet(ovs)
	if set.Len() != 6 {
		t.Errorf("Len %d, want 6 (the empty range left out)", set.Len())
	}
	tests := []struct {
		at, person, from, until string
	}{
		{"2026-01-05T09:00:00Z", "alice", "2026-01-05T09:00:00Z", "2026-01-06T00:00:00Z"},
		{"2026-01-06T12:00:00Z", "dave", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"},
		{"2026-01-07T00:00:00Z", "erin", "2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z"},
		{"2026-01-08T11:59:59Z", "dave", "2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z"},
		{"2026-01-08T12:00:00Z", "dave", "2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z"},
		{"2026-01-09T00:00:00Z", "frank", "2026-01-09T00:00:00Z", "2026-01-10T00:00:00Z"},
		{"2026-01-10T00:00:00Z", "alice", "2026-01-10T00:00:00Z", "2026-01-12T09:00:00Z"},
		{"2026-01-13T00:00:00Z", "bob", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z"},
		{"2026-01-20T00:00:00Z", "hank", "2026-01-20T00:00:00Z", "2026-01-21T00:00:00Z"},
		{"2026-01-21T00:00:00Z", "carol", "2026-01-21T00:00:00Z", "2026-01-26T09:00:00Z"},
	}
	for _, tc := range tests {
		person, from, until, err := OnCall(r, set, z(t, tc.at))
		if err != nil || person != tc.person || !from.Equal(z(t, tc.from)) || !until.Equal(z(t, tc.until)) {
			t.Errorf("OnCall(%s) = %s [%s, %s) %v, want %s [%s, %s)", tc.at, person, fmtUTC(from), fmtUTC(until), err, tc.person, tc.from, tc.until)
		}
	}
	if o, ok := set.At("db-primary", z(t, "2026-01-07T12:00:00Z")); !ok || o.ID != "2" {
		t.Errorf("At = %+v %v, want override 2", o, ok)
	}
	if o, ok := set.At("db-secondary", z(t, "2026-01-07T12:00:00Z")); !ok || o.Person != "ivan" {
		t.Errorf("At db-secondary = %+v %v, want ivan", o, ok)
	}
	if _, ok := set.At("db-primary", z(t, "2026-01-15T00:00:00Z")); ok {
		t.Error("At reports an override where there is none")
	}
	var ids []string
	for _, o := range set.List("db-primary") {
		ids = append(ids, o.ID)
	}
	if want := []string{"1", "2", "3", "9", "10"}; !slices.Equal(ids, want) {
		t.Errorf("List order %v, want %v", ids, want)
	}

	// A nil set is no overrides.
	if p, _, _, err := OnCall(r, nil, z(t, "2026-01-07T00:00:00Z")); err != nil || p != "alice" {
		t.Errorf("OnCall with nil set: %s %v", p, err)
	}
	if _, ok := (*OverrideSet)(nil).At("db-primary", z(t, "2026-01-07T00:00:00Z")); ok {
		t.Error("nil set has an override")
	}
}

func TestOnCallBeforeStart(t *testing.T) {
	r := weeklyABC(t)
	before := z(t, "2026-01-05T08:59:59Z")
	set := NewOverrideSet([]Override{{ID: "1", Rotation: "db-primary", Person: "dave", From: before.Add(-time.Hour), Until: before.Add(time.Hour)}})
	if _, _, _, err := OnCall(r, set, before); !errors.Is(err, ErrNotStarted) {
		t.Errorf("OnCall before start: %v, want ErrNotStarted (an override does not start a rotation)", err)
	} else if !strings.Contains(err.Error(), "db-primary begins at 2026-01-05 09:00 UTC") {
		t.Errorf("message %q does not say when the rotation begins", err)
	}
	if _, err := Next(r, set, before); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Next before start: %v", err)
	}
	if _, err := View(r, set, before, time.Hour); !errors.Is(err, ErrNotStarted) {
		t.Errorf("View before start: %v", err)
	}
	if got := Shifts(r, set, before.Add(-time.Hour), before); got != nil {
		t.Errorf("Shifts before start: %v", got)
	}
}

func TestNext(t *testing.T) {
	r := weeklyABC(t)
	set := NewOverrideSet([]Override{
		// dave covers Wednesday of alice's week: he is not "next".
		{ID: "1", Rotation: "db-primary", Person: "dave", From: z(t, "2026-01-07T00:00:00Z"), Until: z(t, "2026-01-08T00:00:00Z")},
		// erin covers the first day of carol's week: she is next during bob's.
		{ID: "2", Rotation: "db-primary", Person: "erin", From: z(t, "2026-01-19T09:00:00Z"), Until: z(t, "2026-01-20T09:00:00Z")},
	})
	tests := []struct {
		at, person, from, until, override string
	}{
		{"2026-01-06T00:00:00Z", "bob", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z", ""},
		{"2026-01-07T12:00:00Z", "bob", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z", ""}, // during dave's cover
		{"2026-01-12T09:00:00Z", "erin", "2026-01-19T09:00:00Z", "2026-01-20T09:00:00Z", "2"},
		{"2026-01-19T09:00:00Z", "alice", "2026-01-26T09:00:00Z", "2026-02-02T09:00:00Z", ""},
	}
	for _, tc := range tests {
		s, err := Next(r, set, z(t, tc.at))
		if err != nil || s.Person != tc.person || !s.Start.Equal(z(t, tc.from)) || !s.End.Equal(z(t, tc.until)) || s.OverrideID != tc.override {
			t.Errorf("Next(%s) = %+v %v, want %s [%s, %s) override %q", tc.at, s, err, tc.person, tc.from, tc.until, tc.override)
		}
	}
}

// TestShiftsPieces: overrides split shifts; pieces are never merged, even
// when an override names the person already on shift.
func TestShiftsPieces(t *testing.T) {
	r := weeklyABC(t)
	set := NewOverrideSet([]Override{
		{ID: "1", Rotation: "db-primary", Person: "alice", From: z(t, "2026-01-06T00:00:00Z"), Until: z(t, "2026-01-07T00:00:00Z")},
		{ID: "2", Rotation: "db-primary", Person: "dave", From: z(t, "2026-01-12T00:00:00Z"), Until: z(t, "2026-01-13T00:00:00Z")},
	})
	type piece struct{ person, from, until, override string }
	var got []piece
	for _, s := range Shifts(r, set, z(t, "2026-01-05T12:00:00Z"), z(t, "2026-01-13T00:00:00Z")) {
		got = append(got, piece{s.Person, fmtUTC(s.Start), fmtUTC(s.End), s.OverrideID})
	}
	want := []piece{
		{"alice", "2026-01-05T09:00:00Z", "2026-01-06T00:00:00Z", ""},
		{"alice", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z", "1"},
		{"alice", "2026-01-07T00:00:00Z", "2026-01-12T00:00:00Z", ""},
		{"dave", "2026-01-12T00:00:00Z", "2026-01-12T09:00:00Z", "2"}, // cut at the handoff
		{"dave", "2026-01-12T09:00:00Z", "2026-01-13T00:00:00Z", "2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("pieces\n got %v\nwant %v", got, want)
	}
}

func TestViewJSON(t *testing.T) {
	r := mustCompile(t, Spec{Name: "db-primary", Timezone: "America/New_York", Shift: "weekly", Handoff: "Mon 09:00",
		Start: "2026-01-05", Participants: []string{"alice", "bob", "carol"}})
	set := NewOverrideSet([]Override{
		{ID: "1", Rotation: "db-primary", Person: "dave", From: z(t, "2026-03-10T14:00:00Z"), Until: z(t, "2026-03-11T14:00:00Z"), By: "bob"},
	})
	v, err := View(r, set, z(t, "2026-03-04T12:00:00Z"), 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// Times in the rotation's zone: the week across the 2026-03-08 change
	// starts at -05:00 and ends at -04:00, both at 09:00.
	want := `{
  "rotation": "db-primary",
  "person": "carol",
  "from": "2026-03-02T09:00:00-05:00",
  "until": "2026-03-09T09:00:00-04:00",
  "next": [
    {
      "person": "alice",
      "from": "2026-03-09T09:00:00-04:00",
      "until": "2026-03-10T10:00:00-04:00"
    },
    {
      "person": "dave",
      "from": "2026-03-10T10:00:00-04:00",
      "until": "2026-03-11T10:00:00-04:00",
      "override": {
        "id": "1",
        "by": "bob"
      }
    },
    {
      "person": "alice",
      "from": "2026-03-11T10:00:00-04:00",
      "until": "2026-03-16T09:00:00-04:00"
    },
    {
      "person": "bob",
      "from": "2026-03-16T09:00:00-04:00",
      "until": "2026-03-23T09:00:00-04:00"
    }
  ]
}`
	if string(b) != want {
		t.Errorf("view JSON\n%s\nwant\n%s", b, want)
	}

	// During the override, the current answer names it too.
	v, err = View(r, set, z(t, "2026-03-10T15:00:00Z"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(v.Override); v.Person != "dave" || string(b) != `{"id":"1","by":"bob"}` {
		t.Errorf("during the override: %s by %s, want dave by {\"id\":\"1\",\"by\":\"bob\"}", v.Person, b)
	}

	// A horizon inside the current shift: next is [], not null.
	v, _ = View(r, nil, z(t, "2026-03-04T12:00:00Z"), time.Hour)
	if b, _ := json.Marshal(v.Next); string(b) != "[]" {
		t.Errorf("next = %s, want []", b)
	}
}

// TestSkippedDay: Pacific/Apia skipped 2011-12-30 entirely (-10 → +14). That
// day's 09:00 handoff is read with the offset before the gap, -10, which is
// the 31st's 09:00 +14: the 30th's shift is empty and its participant loses
// the turn; no instant belongs to it and Shifts leaves it out. (Until
// LocalTime, Go's time.Date put the 30th's handoff on the 29th's, so it was
// the 29th's participant, e, who lost the turn.)
func TestSkippedDay(t *testing.T) {
	r := mustCompile(t, Spec{Name: "apia", Timezone: "Pacific/Apia", Shift: "daily", Handoff: "09:00",
		Start: "2011-12-25", Participants: []string{"a", "b", "c", "d", "e", "f", "g"}})
	var got []string
	for _, s := range r.Shifts(z(t, "2011-12-28T00:00:00Z"), z(t, "2011-12-31T00:00:00Z")) {
		got = append(got, s.Person+" "+fmtUTC(s.Start)+" "+fmtUTC(s.End))
	}
	want := []string{
		"c 2011-12-27T19:00:00Z 2011-12-28T19:00:00Z",
		"d 2011-12-28T19:00:00Z 2011-12-29T19:00:00Z",
		"e 2011-12-29T19:00:00Z 2011-12-30T19:00:00Z",
		// f's shift, from the 30th 09:00 to the 31st 09:00, is empty: the
		// 30th's 09:00 does not exist and is read as -10, the 31st's 09:00.
		"g 2011-12-30T19:00:00Z 2011-12-31T19:00:00Z",
	}
	if !slices.Equal(got, want) {
		t.Errorf("shifts\n got %q\nwant %q", got, want)
	}
	if s := mustShiftAt(t, r, z(t, "2011-12-30T19:00:00Z")); s.Person != "g" || s.Index != 6 {
		t.Errorf("at the merged handoff: %+v", s)
	}
}
