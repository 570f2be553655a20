package rotations

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func goodSpec() Spec {
	return Spec{Name: "db-primary", Timezone: "America/New_York", Shift: "weekly", Handoff: "Mon 09:00",
		Start: "2026-01-05", Participants: []string{"alice", "bob", "carol"}}
}

func TestCompileErrors(t *testing.T) {
	type fe struct{ field, msg string }
	tests := []struct {
		name   string
		modify func(*Spec)
		want   []fe
	}{
		{"unknown zone", func(s *Spec) { s.Timezone = "Mars/Olympus_Mons" },
			[]fe{{"timezone", `unknown time zone "Mars/Olympus_Mons"`}}},
		{"empty zone", func(s *Spec) { s.Timezone = "" },
			[]fe{{"timezone", "required: an IANA zone name such as Europe/Paris"}}},
		{"Local zone", func(s *Spec) { s.Timezone = "Local" },
			[]fe{{"timezone", "must be an IANA zone name such as Europe/Paris, not Local"}}},
		{"empty participants", func(s *Spec) { s.Participants = nil },
			[]fe{{"participants", "at least one person is required"}}},
		{"empty participant name", func(s *Spec) { s.Participants = []string{"alice", "", " "} },
			[]fe{{"participants[1]", "empty person id"}, {"participants[2]", "empty person id"}}},
		{"weekday that is not one", func(s *Spec) { s.Handoff = "Funday 9" },
			[]fe{{"handoff", `"Funday 9" is not a weekday and local time such as "Mon 09:00"`}}},
		{"hour 25", func(s *Spec) { s.Shift, s.Handoff = "daily", "25:00" },
			[]fe{{"handoff", `"25:00" is not a local time such as "09:00"`}}},
		{"minute 60", func(s *Spec) { s.Handoff = "Mon 09:60" },
			[]fe{{"handoff", `"Mon 09:60" is not a weekday and local time such as "Mon 09:00"`}}},
		{"weekly without weekday", func(s *Spec) { s.Handoff = "09:00" },
			[]fe{{"handoff", `"09:00" has no weekday; a weekly handoff is a weekday and local time such as "Mon 09:00"`}}},
		{"daily with weekday", func(s *Spec) { s.Shift = "daily" },
			[]fe{{"handoff", `"Mon 09:00" has a weekday; a daily handoff is a local time such as "09:00"`}}},
		{"daily without handoff", func(s *Spec) { s.Shift, s.Handoff = "daily", "" },
			[]fe{{"handoff", `required for a daily shift: a local time such as "09:00"`}}},
		{"weekly without handoff", func(s *Spec) { s.Handoff = "" },
			[]fe{{"handoff", `required for a weekly shift: a weekday and local time such as "Mon 09:00"`}}},
		{"seconds in handoff", func(s *Spec) { s.Shift, s.Handoff = "daily", "09:00:00" },
			[]fe{{"handoff", `"09:00:00" is not a local time such as "09:00"`}}},
		{"fortnightly", func(s *Spec) { s.Shift = "fortnightly" },
			[]fe{{"shift", `"fortnightly" is not hourly, daily, weekly or a duration such as 12h`}}},
		{"empty shift", func(s *Spec) { s.Shift = "" },
			[]fe{{"shift", "required: hourly, daily, weekly or a duration such as 12h"}}},
		{"negative duration", func(s *Spec) { s.Shift = "-12h" },
			[]fe{{"shift", `"-12h" is shorter than one minute`}}},
		{"zero duration", func(s *Spec) { s.Shift = "0s" },
			[]fe{{"shift", `"0s" is shorter than one minute`}}},
		{"duration with seconds", func(s *Spec) { s.Shift = "90s" },
			[]fe{{"shift", `"90s" is not a whole number of minutes`}}},
		{"month 13", func(s *Spec) { s.Start = "2026-13-01" },
			[]fe{{"start", `"2026-13-01" is not a date in the form 2006-01-02`}}},
		{"February 30", func(s *Spec) { s.Start = "2026-02-30" },
			[]fe{{"start", `"2026-02-30" is not a date in the form 2006-01-02`}}},
		{"no start", func(s *Spec) { s.Start = "" },
			[]fe{{"start", "required: a local date such as 2026-01-05"}}},
		{"no name", func(s *Spec) { s.Name = "" },
			[]fe{{"name", "required"}}},
		{"name with a slash", func(s *Spec) { s.Name = "db/primary" },
			[]fe{{"name", `"db/primary" must match [a-z0-9_-]+`}}},
		{"everything wrong at once", func(s *Spec) {
			*s = Spec{Name: "DB", Timezone: "Nowhere/City", Shift: "fortnightly", Handoff: "Funday 9", Start: "2026-13-01"}
		}, []fe{
			{"name", `"DB" must match [a-z0-9_-]+`},
			{"timezone", `unknown time zone "Nowhere/City"`},
			{"shift", `"fortnightly" is not hourly, daily, weekly or a duration such as 12h`},
			{"start", `"2026-13-01" is not a date in the form 2006-01-02`},
			{"participants", "at least one person is required"},
		}},
		{"bad handoff and zone and start", func(s *Spec) { s.Timezone, s.Handoff, s.Start = "Europe/Pariss", "25:00", "26-01-05" },
			[]fe{
				{"timezone", `unknown time zone "Europe/Pariss"`},
				{"handoff", `"25:00" is not a weekday and local time such as "Mon 09:00"`},
				{"start", `"26-01-05" is not a date in the form 2006-01-02`},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSpec()
			tc.modify(&s)
			r, err := Compile(s)
			if err == nil {
				t.Fatalf("Compile accepted %+v", s)
			}
			if r != nil {
				t.Errorf("Compile returned a rotation along with %v", err)
			}
			var got []fe
			for _, e := range FieldErrors(err) {
				got = append(got, fe{e.Field, e.Msg})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("field errors\n got %q\nwant %q", got, tc.want)
			}
			var one *FieldError
			if !errors.As(err, &one) {
				t.Errorf("errors.As(*FieldError) fails on %v", err)
			}
			// The joined message names every problem, one per line.
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.want) {
				t.Errorf("message has %d lines for %d problems: %q", n, len(tc.want), err)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
	}{
		{"as in config.yaml", func(*Spec) {}},
		{"duplicate participants", func(s *Spec) { s.Participants = []string{"alice", "bob", "alice"} }},
		{"one participant", func(s *Spec) { s.Participants = []string{"alice"} }},
		{"lower-case weekday and one-digit hour", func(s *Spec) { s.Handoff = "tue 9:05" }},
		{"hourly with no handoff", func(s *Spec) { s.Shift, s.Handoff = "hourly", "" }},
		{"duration ignores handoff", func(s *Spec) { s.Shift, s.Handoff = "12h", "whatever" }},
		{"UTC", func(s *Spec) { s.Timezone = "UTC" }},
		{"half-hour zone", func(s *Spec) { s.Timezone = "Asia/Kolkata" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSpec()
			tc.modify(&s)
			r, err := Compile(s)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if r.Name() != s.Name || !slices.Equal(r.Participants(), s.Participants) || r.Location().String() != s.Timezone {
				t.Errorf("compiled %q %v %s from %+v", r.Name(), r.Participants(), r.Location(), s)
			}
		})
	}
}

// TestCompileCopiesParticipants: the rotation does not share the caller's
// slice, so config reloads cannot change a compiled rotation underfoot.
func TestCompileCopiesParticipants(t *testing.T) {
	s := goodSpec()
	r := mustCompile(t, s)
	s.Participants[0] = "mallory"
	r.Participants()[1] = "mallory"
	r.Spec().Participants[2] = "mallory"
	if got := r.Participants(); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("participants changed to %v", got)
	}
}
