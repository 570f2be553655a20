package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// PageInStore is the slice of the incident store a page-in job uses;
// *incident.Store implements it. The runner finds it on its Store; a store
// without it drops such jobs.
type PageInStore interface {
	BeginPageIn(ctx context.Context, n int64, person string, now time.Time) (incident.PageInStep, error)
	PageInSent(ctx context.Context, n int64, person string, count int, now time.Time) error
	PageInFailed(ctx context.Context, n int64, person, note string, now time.Time) error
}

var _ PageInStore = (*incident.Store)(nil)

// PageIn is one page to a person paged into an incident (not its owner).
type PageIn struct {
	Incident int64
	Person   string
	// Owner is the incident's owner ("" before its first page).
	Owner string
	// Count is 1 for the first page, then 2, 3… for the re-pages.
	Count int
	// At is the instant of the decision.
	At time.Time
	// Key is the same for a page sent again because its outcome went
	// unrecorded: "pagein:<n>:<person>:<count>".
	Key string
}

// PageInPager delivers page-ins: a DM with the incident's card and a button
// that acknowledges the page. The runner takes Options.PageIns, else its
// Pager when it is one; without one a page-in goes to the log. Errors are as Pager's (Permanent: the person
// cannot be reached: the page-in stops, is posted in the service's fallback
// channel and recorded as a page_failed timeline event; pageInUndeliverable).
type PageInPager interface {
	PageIn(ctx context.Context, p PageIn) error
	// PageInDelivered reports whether a page with p.Key was delivered.
	PageInDelivered(ctx context.Context, p PageIn) (bool, error)
}

// runPageIn runs a person's page-in job ("pagein:<n>:<person>"): unless
// the incident is resolved or they acknowledged their page, it pages them
// and makes the job due again after the incident's policy re-page
// interval. A page whose earlier send went unrecorded is looked for first.
func (r *Runner) runPageIn(ctx context.Context, j incident.Job) error {
	ps, ok := r.store.(PageInStore)
	if !ok {
		r.log.Warn("escalation: dropping a page-in: the store keeps none", "job", j.Member)
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	now := r.now()
	step, err := ps.BeginPageIn(ctx, j.Number, j.Name, now)
	if err != nil {
		return err
	}
	if !step.Send {
		r.log.Debug("escalation: page-in done", "incident", j.Number, "person", j.Name, "why", step.Stop)
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	every := 5 * time.Minute
	if pol, _, ok := r.o.Policies(step.Service); ok && pol.RepageEvery > 0 {
		every = pol.RepageEvery
	}
	p := PageIn{Incident: j.Number, Person: j.Name, Owner: step.Owner, Count: step.Count, At: now,
		Key: fmt.Sprintf("pagein:%d:%s:%d", j.Number, j.Name, step.Count)}
	pager := r.o.PageIns
	if pager == nil {
		pager, _ = r.o.Pager.(PageInPager)
	}
	if pager == nil {
		r.log.Info("page-in", "incident", p.Incident, "person", p.Person, "count", p.Count, "key", p.Key)
	} else {
		delivered := false
		if step.Unknown {
			if delivered, err = pager.PageInDelivered(ctx, p); err != nil {
				return err
			}
		}
		if !delivered {
			pctx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
			err := pager.PageIn(pctx, p)
			cancel()
			if IsPermanent(err) {
				// On a level that emails, the person is emailed instead (an
				// email that fails for good goes to the fallback itself);
				// otherwise the page-in goes to the fallback channel.
				n, qerr := r.queuePageInEmails(ctx, p, step.Service, true)
				if qerr != nil {
					return qerr
				}
				if n == 0 {
					return r.pageInUndeliverable(ctx, j, ps, p, step, err)
				}
				r.log.Error("escalation: a page-in cannot be delivered in chat; it is emailed", "incident", p.Incident, "person", p.Person, "err", err)
				_, err := r.store.ReleaseJob(ctx, j, time.Time{})
				return err
			}
			if err != nil {
				return fmt.Errorf("page-in %s: %w", p.Key, err)
			}
		}
	}
	// The page-in's emails, as a page's (email.go): a run of this step
	// again asks for the same ones.
	if _, err := r.queuePageInEmails(ctx, p, step.Service, false); err != nil {
		return err
	}
	if err := ps.PageInSent(ctx, p.Incident, p.Person, p.Count, now); err != nil {
		return err
	}
	_, err = r.store.ReleaseJob(ctx, j, now.Add(every))
	return err
}

// pageInUndeliverable ends a page-in that cannot be delivered (the person
// cannot be reached: a Permanent error): as a page that could not be
// delivered, it goes to the service's fallback channel (its alerts
// channel), once, with the key "<page-in key>/fallback"; then the store
// records it failed (a page_failed timeline event; their pages stop) and
// the job is dropped. A fallback post that fails is logged, not retried:
// the timeline still says the page-in failed.
func (r *Runner) pageInUndeliverable(ctx context.Context, j incident.Job, ps PageInStore, p PageIn, step incident.PageInStep, perr error) error {
	now := r.now()
	r.log.Error("escalation: a page-in cannot be delivered; posting it in the fallback channel", "incident", p.Incident, "person", p.Person, "err", perr)
	why := fmt.Sprintf("page-in of %s could not be delivered: %v", p.Person, perr)
	fb := Page{Incident: p.Incident, Service: step.Service, Owner: step.Owner, Reason: ReasonFallback, At: now,
		Why: text.Truncate(why, 300), Key: p.Key + "/fallback"}
	if _, svc, ok := r.o.Policies(step.Service); ok {
		fb.Channel = svc.AlertsChannel
	}
	if inc, _, err := r.store.LoadEscalation(ctx, p.Incident); err == nil {
		fb.Title, fb.Severity = inc.Title, inc.Severity
	}
	if _, err := r.send(ctx, fb); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Error("escalation: the fallback post of a page-in failed too", "incident", p.Incident, "channel", fb.Channel, "err", err)
	}
	if err := ps.PageInFailed(ctx, p.Incident, p.Person, why, now); err != nil {
		return err
	}
	_, err := r.store.ReleaseJob(ctx, j, time.Time{})
	return err
}
