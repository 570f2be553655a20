package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// runAckTimeout re-triggers an incident acknowledged too long ago.
func (r *Runner) runAckTimeout(ctx context.Context, j incident.Job) error {
	inc, st, gone, err := r.load(ctx, j)
	if gone || err != nil {
		return err
	}
	pol, _, _ := r.o.Policies(inc.Service)
	now := r.now()
	retrigger, at := AckTimeoutDue(inc, st, pol, now)
	switch {
	case retrigger:
		acked := st.AckAt
		if acked.IsZero() {
			acked = inc.Acknowledged
		}
		c := incident.Commit{
			Rev: st.Rev,
			Step: &incident.Step{Status: incident.StatusTriggered, Owner: inc.Owner, Level: st.Level, Round: st.Round,
				LevelAt: st.LevelAt, PagedAt: st.PagedAt, Pending: incident.PendingRetrigger},
			Events: []incident.Event{{Type: incident.EventRetriggered, At: now, Person: inc.Owner, By: By, Level: st.Level,
				Note: fmt.Sprintf("acknowledged %s ago and not resolved (ack_timeout %s)", text.Duration(now.Sub(acked)), text.Duration(pol.AckTimeout))}},
			Schedule: []incident.Scheduled{{Member: incident.PageJob(inc.Number), Due: now, UrgentAt: now}},
		}
		applied, err := r.commit(ctx, j, c)
		if applied {
			r.Wake()
		}
		return err
	case !at.IsZero():
		_, err := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Schedule: []incident.Scheduled{{Member: j.Member, Due: at, UrgentAt: at}}})
		return err
	}
	_, err = r.store.ReleaseJob(ctx, j, time.Time{})
	return err
}
