package escalation

import (
	"context"
	"time"

	"github.com/batonhq/baton/incident"
)

// MaintenanceStore is the slice of the incident store a maintenance
// window's end job uses; *incident.Store implements it. The runner finds it
// on its Store (Options.Incidents); a store without it drops such jobs.
type MaintenanceStore interface {
	EndMaintenance(ctx context.Context, id, by string, now time.Time) (incident.MaintenanceEnd, error)
	MaintenancePosted(ctx context.Context, id string, now time.Time) error
}

var _ MaintenanceStore = (*incident.Store)(nil)

// MaintenanceNotifier posts a maintenance window's summary in its
// service's alerts channel. The runner takes Options.Maintenance, else its
// Pager when it is one; without one the summary goes to the log. A retried call (its earlier outcome
// unrecorded) must not post twice where it can tell.
type MaintenanceNotifier interface {
	MaintenanceEnded(ctx context.Context, s incident.MaintenanceSummary) error
}

// runMaintenance runs a window's end job ("maintenance:<id>"): once its
// until has passed, the store ends the window in one script (the incidents
// it held that still fire get their first page and chat job, due now), then
// the summary is posted and recorded as posted, and the job is dropped. A
// job run early (another replica's clock behind) is due again at until; a
// window a person ended is ended already, and only its summary is posted.
func (r *Runner) runMaintenance(ctx context.Context, j incident.Job) error {
	ms, ok := r.store.(MaintenanceStore)
	if !ok {
		r.log.Warn("escalation: dropping a maintenance window's end: the store keeps none", "window", j.Name)
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	now := r.now()
	end, err := ms.EndMaintenance(ctx, j.Name, "", now)
	if incident.ErrorCode(err) == incident.NotFound {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	if err != nil {
		return err
	}
	if end.Early {
		_, err := r.store.ReleaseJob(ctx, j, end.Summary.Until)
		return err
	}
	if !end.Already {
		r.Wake() // the held incidents' first pages are due now
	}
	s := end.Summary
	if !end.Posted {
		n := r.o.Maintenance
		if n == nil {
			n, _ = r.o.Pager.(MaintenanceNotifier)
		}
		if n != nil {
			if err := n.MaintenanceEnded(ctx, s); err != nil {
				if IsPermanent(err) {
					r.log.Error("escalation: a maintenance window's summary could not be posted", "window", s.ID, "service", s.Service, "err", err)
				} else {
					return err
				}
			}
		} else {
			r.log.Info("maintenance ended", "window", s.ID, "service", s.Service, "alerts", s.Alerts, "incidents", len(s.Incidents), "ended_by", s.EndedBy)
		}
		if err := ms.MaintenancePosted(ctx, s.ID, now); err != nil {
			return err
		}
	}
	r.log.Info("escalation: maintenance window ended", "window", s.ID, "service", s.Service, "held", len(s.Incidents))
	_, err = r.store.ReleaseJob(ctx, j, time.Time{})
	return err
}
