package rotations

import (
	"errors"
	"fmt"
	"time"
)

// Resolver answers who a target names at an instant: ok false, with why in
// a few words, when nobody can be named (the rotation has not started, is
// unknown, has nobody on shift). A user target names its user. It is the
// shape the escalation engine's pure Decide asks.
type Resolver func(t Target, at time.Time) (person string, ok bool, why string)

// Resolve answers targets from compiled rotations and their overrides
// (overrides may lack a rotation, or be nil: no overrides).
// "rotation:NAME" is OnCall, "rotation:NAME/next" is Next.
func Resolve(rots map[string]*Rotation, overrides map[string]*OverrideSet) Resolver {
	return func(t Target, at time.Time) (string, bool, string) {
		if t.Kind == TargetUser {
			return t.Name, true, ""
		}
		r := rots[t.Name]
		if r == nil {
			return "", false, fmt.Sprintf("no rotation named %q", t.Name)
		}
		ov := overrides[t.Name]
		var person string
		var err error
		if t.Next {
			var s Shift
			s, err = Next(r, ov, at)
			person = s.Person
		} else {
			person, _, _, err = OnCall(r, ov, at)
		}
		switch {
		case errors.Is(err, ErrNotStarted):
			return "", false, fmt.Sprintf("rotation %s has not started (first shift %s)",
				t.Name, r.FirstHandoff().Format("2006-01-02 15:04 MST"))
		case err != nil:
			return "", false, err.Error()
		case person == "":
			return "", false, fmt.Sprintf("rotation %s has nobody on shift", t.Name)
		}
		return person, true, ""
	}
}
