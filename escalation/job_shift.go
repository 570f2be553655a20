package escalation

import (
	"context"
	"time"

	"github.com/batonhq/baton/incident"
)

// ShiftKeeper runs a rotation's handoff steps (bot.Shifts implements it).
// RunShift runs the step job name ("<step>:<rotation>:<handoff unix s>",
// incident.ShiftJob) at now and schedules whatever follows it; again is
// when to run the same job again (zero: done, the job is dropped). An
// error is retried with the runner's backoff; a Permanent one drops the job
// with a log line.
type ShiftKeeper interface {
	RunShift(ctx context.Context, name string, now time.Time) (again time.Time, err error)
}

// runShift runs a handoff step job ("shift:<step>:<rotation>:<at>")
// through Options.Shifts, and releases it due again or dropped.
func (r *Runner) runShift(ctx context.Context, j incident.Job) error {
	if r.o.Shifts == nil {
		r.log.Warn("escalation: dropping a handoff step: no shift keeper", "job", j.Member)
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	again, err := r.o.Shifts.RunShift(ctx, j.Name, r.now())
	if err != nil && IsPermanent(err) {
		r.log.Error("escalation: a handoff step failed for good", "job", j.Member, "err", err)
		again, err = time.Time{}, nil
	}
	if err != nil {
		return err
	}
	_, err = r.store.ReleaseJob(ctx, j, again)
	return err
}
