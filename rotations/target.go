package rotations

import (
	"errors"
	"fmt"
	"strings"
)

// TargetKind is what an escalation target names.
type TargetKind string

// Target kinds.
const (
	TargetUser     TargetKind = "user"
	TargetRotation TargetKind = "rotation"
)

// ErrBadTarget is wrapped by every ParseTarget error.
var ErrBadTarget = errors.New("bad escalation target")

// Target is one entry of an escalation level: a person, or whoever a
// rotation has on call (Next: whoever takes the following shift).
//
//	user:alice                 Kind user, Name alice
//	rotation:db-primary        Kind rotation, Name db-primary
//	rotation:db-primary/next   Kind rotation, Name db-primary, Next
type Target struct {
	Kind TargetKind
	Name string
	Next bool
}

// String returns t in the syntax ParseTarget reads.
func (t Target) String() string {
	s := string(t.Kind) + ":" + t.Name
	if t.Next {
		s += "/next"
	}
	return s
}

// ParseTarget reads "user:ID", "rotation:NAME" or "rotation:NAME/next".
// Names are [a-z0-9_-]+. Whether the person or rotation exists is the
// caller's check (config.go knows both). Errors wrap ErrBadTarget.
func ParseTarget(s string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, fmt.Errorf("%w %q: %s", ErrBadTarget, s, why)
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad(`want user:ID, rotation:NAME or rotation:NAME/next`)
	}
	var t Target
	switch TargetKind(kind) {
	case TargetUser:
		t.Kind = TargetUser
	case TargetRotation:
		t.Kind = TargetRotation
		if name, suffix, has := strings.Cut(rest, "/"); has {
			if suffix != "next" {
				return bad(`the only suffix is "/next"`)
			}
			rest, t.Next = name, true
		}
	default:
		return bad(`kind must be "user" or "rotation"`)
	}
	if rest == "" {
		return bad("empty name")
	}
	if !ValidID(rest) {
		if t.Kind == TargetUser && strings.Contains(rest, "/") {
			return bad(`"/next" applies to rotations only`)
		}
		return bad("name must match [a-z0-9_-]+")
	}
	t.Name = rest
	return t, nil
}
