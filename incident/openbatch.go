package incident

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/openbatch.lua
	openBatchSrc string

	// openBatchScript runs open.lua's body once per alert of a batch, as a
	// function over each alert's slice of KEYS and ARGV (lua/openbatch.lua),
	// so a batch opens each alert exactly as Open would, in one script.
	openBatchScript = redis.NewScript(auditSrc + "local function open_one(KEYS, ARGV)\n" + openSrc + "\nend\n" + openBatchSrc)
)

// MaxBatch is the most alerts one OpenBatch stores. One script holds Redis
// for its whole run (about 30 µs an alert), so a batch is kept to a few
// tens of milliseconds.
const MaxBatch = 1000

// OpenBatch stores alerts, in order, in one atomic step: each as Open
// would (dedup, grouping, recoveries and their source times, jobs due),
// and an alert sees what the ones before it did, so two alerts with one
// dedup key are one incident and a repeat. Every alert is checked before
// anything is sent: one without a service, a dedup key or a valid
// severity is an *Error of code Invalid naming its index ("alerts[2]: …")
// and nothing is stored; so is a batch of none or of more than MaxBatch.
// One script call stores them all or, when it fails (Redis unavailable,
// ErrEpochChanged), none: the results are one per alert, in order.
func (s *Store) OpenBatch(ctx context.Context, alerts []Alert) ([]OpenResult, error) {
	if len(alerts) == 0 || len(alerts) > MaxBatch {
		return nil, fmt.Errorf("open batch: %w", Errorf(Invalid, "A batch holds 1 to %d alerts (got %d).", MaxBatch, len(alerts)))
	}
	var keys []string
	args := make([]any, 1, 1+2*len(alerts)+20*len(alerts))
	args[0] = len(alerts)
	var rest []any
	for i, a := range alerts {
		ak, aa, err := s.openCall(a, "")
		if err != nil {
			return nil, fmt.Errorf("open batch: alerts[%d]: %w", i, err)
		}
		keys = append(keys, ak...)
		args = append(args, len(ak), len(aa))
		rest = append(rest, aa...)
	}
	args = append(args, rest...)
	reply, err := s.eval(ctx, openBatchScript, keys, args...).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "EPOCH ") {
			return nil, fmt.Errorf("open batch: %w", ErrEpochChanged)
		}
		return nil, fmt.Errorf("open batch: %w", err)
	}
	list, _ := reply.([]any)
	if len(list) != len(alerts) {
		return nil, fmt.Errorf("open batch: unexpected script reply %v", reply)
	}
	out := make([]OpenResult, len(list))
	created := false
	for i, r := range list {
		if out[i], err = openResult(r); err != nil {
			return nil, fmt.Errorf("open batch: alerts[%d]: %w", i, err)
		}
		created = created || out[i].Created
	}
	if created {
		s.jobDue()
	}
	for _, r := range out {
		if r.Outcome == OutcomeResolved {
			s.resolvedBySource(ctx, r.Number)
		}
	}
	return out, nil
}
