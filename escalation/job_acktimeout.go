package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// runAckTimeout runs an "acktimeout:<n>" job: it re-triggers an incident
// acknowledged too long ago (AckTimeoutDue), else does what the ack lease
// asks (acklease.go), else queues itself at the timeout's deadline.
func (r *Runner) runAckTimeout(ctx context.Context, j incident.Job) error {
	inc, st, gone, err := r.load(ctx, j)
	if gone || err != nil {
		return err
	}
	pol, _, _ := r.o.Policies(inc.Service)
	now := r.now()
	retrigger, at := AckTimeoutDue(inc, st, pol, now)
	if retrigger {
		acked := st.AckAt
		if acked.IsZero() {
			acked = inc.Acknowledged
		}
		return r.retrigger(ctx, j, inc, st, By,
			fmt.Sprintf("acknowledged %s ago and not resolved (ack_timeout %s)", text.Duration(now.Sub(acked)), text.Duration(pol.AckTimeout)), "")
	}
	if done, err := r.runLease(ctx, j, inc, st, pol, at); done {
		return err
	}
	if !at.IsZero() {
		_, err := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Schedule: []incident.Scheduled{{Member: j.Member, Due: at, UrgentAt: at}}})
		return err
	}
	_, err = r.store.ReleaseJob(ctx, j, time.Time{})
	return err
}
