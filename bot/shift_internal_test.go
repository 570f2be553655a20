package bot

import (
	"testing"
	"time"
)

// TestShiftWording: a rotation named like its only service is not named
// twice ("payments", not "payments (payments)"), and times in what a
// person is sent are in their timezone (UTC without one).
func TestShiftWording(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s := &Shifts{o: ShiftOptions{
		RotationServices: map[string][]string{"payments": {"payments"}, "db": {"payments", "ledger"}},
		Zone: func(p string) *time.Location {
			if p == "carol" {
				return paris
			}
			return nil
		},
	}}
	at := time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)
	tests := []struct{ name, got, want string }{
		{"a rotation named like its service", s.what("payments"), "payments"},
		{"a rotation with services", s.what("db"), "db (ledger, payments)"},
		{"a person with a timezone", s.timeFor("carol", at), "Mon Mar 9 14:00:00 CET"},
		{"a person without", s.timeFor("alice", at), "Mon Mar 9 13:00:00 UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
