package escalation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batonhq/baton/rotations"
)

// RotationOnCall answers rotation targets from compiled rotations and their
// overrides (overrides may lack a rotation, or be nil: no overrides).
// "rotation:NAME" is rotations.OnCall, "rotation:NAME/next" rotations.Next.
func RotationOnCall(rots map[string]*rotations.Rotation, overrides map[string]*rotations.OverrideSet) OnCall {
	return func(t rotations.Target, at time.Time) (string, bool, string) {
		if t.Kind == rotations.TargetUser {
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
			var s rotations.Shift
			s, err = rotations.Next(r, ov, at)
			person = s.Person
		} else {
			person, _, _, err = rotations.OnCall(r, ov, at)
		}
		switch {
		case errors.Is(err, rotations.ErrNotStarted):
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

// LoadOverrides reads one rotation's overrides, as overrides.Store.Set does.
type LoadOverrides func(ctx context.Context, rotation string) (*rotations.OverrideSet, error)

// overrideCache keeps each rotation's overrides for a short while, so a burst
// of page jobs does not read the same hash from Redis thousands of times. An
// override made with /oncall takes effect within ttl.
type overrideCache struct {
	load LoadOverrides
	ttl  time.Duration

	mu sync.Mutex
	m  map[string]cachedSet
}

type cachedSet struct {
	set *rotations.OverrideSet
	at  time.Time
}

// get returns rotation's overrides; cached is true when no read was needed.
func (c *overrideCache) get(ctx context.Context, rotation string, now time.Time) (set *rotations.OverrideSet, cached bool, err error) {
	if c.load == nil {
		return nil, true, nil
	}
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.m[rotation]
		c.mu.Unlock()
		if ok && now.Sub(e.at) < c.ttl && !now.Before(e.at) {
			return e.set, true, nil
		}
	}
	set, err = c.load(ctx, rotation)
	if err != nil {
		return nil, false, fmt.Errorf("overrides of %s: %w", rotation, err)
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]cachedSet{}
		}
		c.m[rotation] = cachedSet{set: set, at: now}
		c.mu.Unlock()
	}
	return set, false, nil
}

// onCall prepares the OnCall answers for pol: the overrides of every
// rotation it names, loaded (or cached). fresh is false when it had to read
// Redis, after which the incident is re-checked before the first page.
func (r *Runner) onCall(ctx context.Context, pol Policy) (OnCall, bool, error) {
	now := r.now()
	fresh := true
	var sets map[string]*rotations.OverrideSet
	for _, l := range pol.Levels {
		for _, t := range l.Targets {
			if t.Kind != rotations.TargetRotation || r.o.Overrides == nil {
				continue
			}
			if _, done := sets[t.Name]; done {
				continue
			}
			set, cached, err := r.cache.get(ctx, t.Name, now)
			if err != nil {
				return nil, false, err
			}
			fresh = fresh && cached
			if sets == nil {
				sets = map[string]*rotations.OverrideSet{}
			}
			sets[t.Name] = set
		}
	}
	return RotationOnCall(r.o.Rotations, sets), fresh, nil
}
