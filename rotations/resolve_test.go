package rotations_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/rotations"
)

func TestResolve(t *testing.T) {
	r, err := rotations.Compile(rotations.Spec{Name: "primary", Timezone: "Europe/Paris", Shift: "daily", Handoff: "09:00",
		Start: "2026-03-01", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	later, err := rotations.Compile(rotations.Spec{Name: "later", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2027-01-01", Participants: []string{"zed"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // first day: alice, bob next
	ov := rotations.NewOverrideSet([]rotations.Override{{ID: "1", Rotation: "primary", Person: "carol",
		From: at.Add(-time.Hour), Until: at.Add(time.Hour), Created: at.Add(-2 * time.Hour)}})
	rots := map[string]*rotations.Rotation{"primary": r, "later": later}
	tests := []struct {
		target    string
		overrides map[string]*rotations.OverrideSet
		person    string
		ok        bool
		why       string
	}{
		{"rotation:primary", nil, "alice", true, ""},
		{"rotation:primary/next", nil, "bob", true, ""},
		{"rotation:primary", map[string]*rotations.OverrideSet{"primary": ov}, "carol", true, ""},
		{"rotation:later", nil, "", false, "has not started"},
		{"rotation:ghost", nil, "", false, "no rotation named"},
		{"user:dave", nil, "dave", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			tg, err := rotations.ParseTarget(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			person, ok, why := rotations.Resolve(rots, tc.overrides)(tg, at)
			if person != tc.person || ok != tc.ok || !strings.Contains(why, tc.why) {
				t.Fatalf("= %q, %v, %q; want %q, %v, …%q…", person, ok, why, tc.person, tc.ok, tc.why)
			}
		})
	}
}
