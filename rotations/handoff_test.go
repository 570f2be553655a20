package rotations

import (
	"strings"
	"testing"
	"time"
)

func TestDecideHandoff(t *testing.T) {
	tests := []struct {
		name          string
		out, incoming string
		want          HandoffAction
	}{
		{"the pager changes hands", "alice", "carol", HandoffAsk},
		{"the same person twice in a row", "alice", "alice", HandoffNothing},
		{"the first shift", "", "alice", HandoffUnheld},
		{"nobody incoming", "alice", "", HandoffNothing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideHandoff(tc.out, tc.incoming); got != tc.want {
				t.Fatalf("DecideHandoff(%q, %q) = %v, want %v", tc.out, tc.incoming, got, tc.want)
			}
		})
	}
}

func TestDecideGrace(t *testing.T) {
	tests := []struct {
		name                 string
		held, accepted, told bool
		want                 GraceAction
	}{
		{"not taken: tell", true, false, false, GraceTell},
		{"taken", true, true, false, GraceNothing},
		{"told already (a run again)", true, false, true, GraceNothing},
		{"no hold", false, false, false, GraceNothing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideGrace(tc.held, tc.accepted, tc.told); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHandoffPolicyDue(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p := HandoffPolicy{PreshiftCheck: 2 * time.Hour, HandoffAccept: 15 * time.Minute}
	tests := []struct {
		name   string
		pol    HandoffPolicy
		step   HandoffStep
		want   time.Time
		wantOK bool
	}{
		{"pre-shift", p, StepPreshift, at.Add(-2 * time.Hour), true},
		{"handoff", p, StepHandoff, at, true},
		{"grace", p, StepGrace, at.Add(15 * time.Minute), true},
		{"no pre-shift check", HandoffPolicy{HandoffAccept: time.Minute}, StepPreshift, at, false},
		{"no question without handoff_accept", HandoffPolicy{PreshiftCheck: time.Hour}, StepHandoff, at, false},
		{"unknown step", p, "later", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.pol.Due(tc.step, at)
			if ok != tc.wantOK || (ok && !got.Equal(tc.want)) {
				t.Fatalf("Due = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestPreshiftProblems(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	piece := func(p string, h int) Shift {
		return Shift{Person: p, Start: t0.Add(time.Duration(h) * time.Hour), End: t0.Add(time.Duration(h+8) * time.Hour)}
	}
	reach := func(p string) string {
		if p == "dave" {
			return "no chat account"
		}
		return ""
	}
	elsewhere := func(p string, _, _ time.Time) string {
		if p == "erin" {
			return "web-primary"
		}
		return ""
	}
	tests := []struct {
		name   string
		pieces []Shift
		want   []string
	}{
		{"all fine", []Shift{piece("alice", 0), piece("bob", 8)}, nil},
		{"unreachable incoming", []Shift{piece("dave", 0)}, []string{"dave, on call from Mon Mar 2 09:00:00 UTC to Mon Mar 2 17:00:00 UTC, cannot be paged (no chat account): a gap in the rotation"}},
		{"a gap later", []Shift{piece("alice", 0), piece("dave", 8)}, []string{"dave, on call from Mon Mar 2 17:00:00 UTC"}},
		{"nobody", []Shift{piece("", 0)}, []string{"nobody is on call"}},
		{"one line per person, not per stretch", []Shift{piece("dave", 0), piece("alice", 8), piece("dave", 16), piece("alice", 24), piece("dave", 32)},
			[]string{"dave, on call 3 times from Mon Mar 2 09:00:00 UTC to Wed Mar 4 01:00:00 UTC, cannot be paged (no chat account)"}},
		{"double-booked", []Shift{piece("erin", 0)}, []string{"erin, on call from Mon Mar 2 09:00:00 UTC to Mon Mar 2 17:00:00 UTC, is also on call in web-primary through an override"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked := map[string]int{}
			got := PreshiftProblems(tc.pieces, func(p string) string { asked[p]++; return reach(p) }, elsewhere)
			for p, n := range asked {
				if n != 1 {
					t.Errorf("reach asked %d times about %s; want once", n, p)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems %v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i].String(), w) {
					t.Errorf("problem %d: %q, want it to begin %q", i, got[i].String(), w)
				}
			}
		})
	}
}

func TestNextHandoff(t *testing.T) {
	r, err := Compile(Spec{Name: "db", Timezone: "UTC", Shift: "daily", Handoff: "09:00", Start: "2026-03-02", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		at            time.Time
		want          time.Time
		out, incoming string
	}{
		{"before the first shift", first.Add(-time.Hour), first, "", "alice"},
		{"at a handoff: the next one", first, first.Add(24 * time.Hour), "alice", "bob"},
		{"mid-shift", first.Add(30 * time.Hour), first.Add(48 * time.Hour), "bob", "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, out, in := NextHandoff(r, tc.at)
			if !h.Equal(tc.want) || out.Person != tc.out || in.Person != tc.incoming {
				t.Fatalf("NextHandoff = %v, %q, %q; want %v, %q, %q", h, out.Person, in.Person, tc.want, tc.out, tc.incoming)
			}
		})
	}
}
