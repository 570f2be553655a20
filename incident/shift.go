package incident

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// JobShift is the job kind of a rotation's handoff steps (a pre-shift
// check, the handoff's question, the end of its grace):
// "shift:<step>:<rotation>:<handoff unix s>". It names no incident; Job.Name
// is everything after "shift:". bot's Shifts runs it.
const JobShift JobKind = "shift"

// ShiftJob is the member of a handoff step's job; name is
// "<step>:<rotation>:<handoff unix s>".
func ShiftJob(name string) string { return string(JobShift) + ":" + name }

// ScheduleShift queues the handoff step job name (see ShiftJob) due at
// due, unless it is queued already (a restart scheduling the same handoff
// again keeps the first due time). A job running now (in flight) is not
// queued twice either: its runner schedules what follows. Errors are
// Redis's.
func (s *Store) ScheduleShift(ctx context.Context, name string, due time.Time) error {
	member := ShiftJob(name)
	if _, err := s.rdb.ZScore(ctx, s.k.inflight, member).Result(); err == nil {
		return nil
	} else if err != redis.Nil {
		return fmt.Errorf("schedule %s: %w", member, err)
	}
	err := s.rdb.ZAddArgs(ctx, s.k.jobs, redis.ZAddArgs{NX: true,
		Members: []redis.Z{{Score: float64(due.UnixMilli()), Member: member}}}).Err()
	if err != nil {
		return fmt.Errorf("schedule %s: %w", member, err)
	}
	if s.onJobDue != nil {
		s.onJobDue()
	}
	return nil
}
