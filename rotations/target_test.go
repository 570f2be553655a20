package rotations

import (
	"errors"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  string
	}{
		{"user:alice", Target{Kind: "user", Name: "alice"}, ""},
		{"rotation:db-primary", Target{Kind: "rotation", Name: "db-primary"}, ""},
		{"rotation:db-primary/next", Target{Kind: "rotation", Name: "db-primary", Next: true}, ""},
		{"rotation:db_secondary-2", Target{Kind: "rotation", Name: "db_secondary-2"}, ""},
		{"alice", Target{}, `bad escalation target "alice": want user:ID, rotation:NAME or rotation:NAME/next`},
		{"", Target{}, `bad escalation target "": want user:ID, rotation:NAME or rotation:NAME/next`},
		{"team:sre", Target{}, `bad escalation target "team:sre": kind must be "user" or "rotation"`},
		{"User:alice", Target{}, `bad escalation target "User:alice": kind must be "user" or "rotation"`},
		{"user:", Target{}, `bad escalation target "user:": empty name`},
		{"rotation:/next", Target{}, `bad escalation target "rotation:/next": empty name`},
		{"user:alice/next", Target{}, `bad escalation target "user:alice/next": "/next" applies to rotations only`},
		{"rotation:db-primary/prev", Target{}, `bad escalation target "rotation:db-primary/prev": the only suffix is "/next"`},
		{"rotation:db-primary/next/next", Target{}, `bad escalation target "rotation:db-primary/next/next": the only suffix is "/next"`},
		{"user:Alice", Target{}, `bad escalation target "user:Alice": name must match [a-z0-9_-]+`},
		{"user:alice:bob", Target{}, `bad escalation target "user:alice:bob": name must match [a-z0-9_-]+`},
		{"rotation: db", Target{}, `bad escalation target "rotation: db": name must match [a-z0-9_-]+`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || !errors.Is(err, ErrBadTarget) {
					t.Fatalf("ParseTarget(%q) = %+v, %v; want error %q wrapping ErrBadTarget", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}
