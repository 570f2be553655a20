package escalation

import (
	"context"
	"time"

	"github.com/batonhq/baton/rotations"
)

// Board answers rotation targets for a job: the slice of the one on-call
// board (*oncall.Board) that the engine uses, so the engine, the CLI, the
// API and chat all give the same answer. Resolver returns the answers for
// the named rotations (their overrides loaded, or reused for a short while);
// fresh is false when it had to read Redis, after which the incident is
// re-checked before its first page; an error is Redis's.
type Board interface {
	Resolver(ctx context.Context, rotations []string, now time.Time) (r rotations.Resolver, fresh bool, err error)
}

// onCall prepares the answers for pol's rotation targets from the board.
// Without a board, rotations are unknown: every rotation target pages the
// fallback, saying so.
func (r *Runner) onCall(ctx context.Context, pol Policy) (rotations.Resolver, bool, error) {
	if r.o.Board == nil {
		return rotations.Resolve(nil, nil), true, nil
	}
	var names []string
	for _, l := range pol.Levels {
		for _, t := range l.Targets {
			if t.Kind == rotations.TargetRotation {
				names = append(names, t.Name)
			}
		}
	}
	return r.o.Board.Resolver(ctx, names, r.now())
}
