package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// load reads the job's incident and escalation state. gone is true when the
// incident no longer exists: the job has then been released for good.
func (r *Runner) load(ctx context.Context, j incident.Job) (inc incident.Incident, st incident.EscalationState, gone bool, err error) {
	inc, st, err = r.store.LoadEscalation(ctx, j.Number)
	if errors.Is(err, incident.ErrNotFound) {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return inc, st, true, err
	}
	return inc, st, false, err
}

// runPage runs an incident's escalation job; pre, when not nil, is the
// incident as the job's claim read it (a hand-off: handoff.go), else it is
// loaded here.
func (r *Runner) runPage(ctx context.Context, j incident.Job, pre *loaded) error {
	var inc incident.Incident
	var st incident.EscalationState
	if pre != nil {
		inc, st = pre.inc, pre.st
	} else {
		var gone bool
		var err error
		inc, st, gone, err = r.load(ctx, j)
		if gone || err != nil {
			return err
		}
	}
	pol, svc, known := r.o.Policies(inc.Service)
	if !known && inc.Status == incident.StatusTriggered {
		r.log.Error("escalation: no escalation policy for the incident's service; paging the fallback", "incident", inc.Number, "service", inc.Service)
		pol = Policy{Name: "(none for service " + inc.Service + ")"}
	}
	oncall, fresh, err := r.onCall(ctx, pol)
	if err != nil {
		return err
	}
	now := r.now()
	if began := st.StepBegan; !began.IsZero() && began.Before(now) {
		// An earlier run began this step's pages then and did not commit
		// (it died, or lost Redis): decide as of then, so the same pages
		// are planned and the next re-page counts from when the first was
		// delivered, not from this takeover a lease later.
		now = began
	}
	plan := Decide(inc, st, pol, oncall, now)
	if plan.Stop {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	if plan.Fallback != "" {
		r.log.Error("escalation: nobody to page; paging the fallback", "incident", inc.Number, "service", inc.Service, "channel", svc.AlertsChannel, "why", plan.Fallback)
	}
	c := incident.Commit{Rev: st.Rev, Events: plan.Events,
		Schedule: []incident.Scheduled{{Member: j.Member, Due: plan.Next, UrgentAt: plan.UrgentAt}}}
	if plan.Changed() {
		c.Step = &incident.Step{Owner: plan.Owner, Level: plan.Level, Round: plan.Round,
			LevelAt: plan.LevelAt, PagedAt: plan.PagedAt}
	}
	// pagedAt is when this run's page to the owner (the plan's first page,
	// which sets its PagedAt) actually went out: the next re-page counts
	// from then, and so does the escalation deadline when the step started
	// a level (Plan.PagedLater).
	var pagedAt time.Time
	for i, pg := range plan.Pages {
		if pg.Reason == ReasonFallback {
			pg.Channel = svc.AlertsChannel
		}
		if ctx.Err() != nil && !pg.Reason.MustDeliver() {
			continue // stopping: best-effort pages are skipped, what was delivered is committed
		}
		if !fresh {
			// Re-check right before each page: an ack, resolve or assign
			// since the decision voids it, and that transition has already
			// queued whatever comes next. The commit below will be refused;
			// it still records the pages already sent.
			current, err := r.current(ctx, j.Number, st.Rev)
			if err != nil {
				return err
			}
			if !current {
				break
			}
		}
		fresh = false
		done, chats, stale, held, err := r.begin(ctx, pg, st.Rev, st.Failures)
		if err != nil {
			return err
		}
		if stale {
			break
		}
		if done {
			c.Facts = append(c.Facts, bundledEvent(pg, now, Bundle{Chats: chats}))
			if _, qerr := r.queueEmails(ctx, inc.Number, pol, pg, false); qerr != nil {
				return qerr
			}
			continue
		}
		if i == 0 && pg.Reason.MustDeliver() && pol.RepageEvery > 0 && plan.PagedAt.Equal(now) &&
			!plan.Next.Before(plan.PagedAt.Add(pol.RepageEvery)) {
			pg.Again = pol.RepageEvery // the next run re-pages the owner
		}
		var b Bundle
		sendAt := r.now()
		if err = held; err == nil {
			b, err = r.send(ctx, pg)
			r.end(ctx, pg, st.Rev, err)
		}
		if err == nil {
			// Timed when it went out (its bundle's post, else when its send
			// began), not at the decision: after a takeover that is seconds
			// later, and an ack that came while the page was sent, or just
			// before it, is ordered on the timeline by when it came.
			ev := bundledEvent(pg, later(now, sendAt), b)
			c.Facts = append(c.Facts, ev)
			if i == 0 && pg.Reason.MustDeliver() {
				pagedAt = ev.At
			}
			// The page's emails (email.go), queued before the commit: a
			// run of this step again asks for the same ones.
			if _, qerr := r.queueEmails(ctx, inc.Number, pol, pg, false); qerr != nil {
				return qerr
			}
			continue
		}
		// Delays count from the failure (a 429's Retry-After from its
		// answer), not from the decision: the page record's round trips
		// and the call itself came in between.
		f := DecidePageFailure(pg, st, err, r.now(), r.retry)
		if f.Action == FailureNotDue {
			// Acknowledged or resolved while the page waited for its
			// message: not a failure. That transition has queued whatever
			// comes next; the commit below is refused and still records the
			// pages already sent.
			r.log.Debug("escalation: page not sent: the incident is no longer triggered", "incident", inc.Number,
				"person", pg.Person, "reason", pg.Reason)
			break
		}
		if f.Action == FailureIgnored {
			r.log.Warn("escalation: notification not delivered (not retried)", "incident", inc.Number, "person", pg.Person, "reason", pg.Reason, "err", err)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the lease brings the job back
		}
		switch f.Action {
		case FailureDeferred:
			// Not attempted: the Pager's own pacing holds a slot for it later
			// (an alert storm's pages to one person). Not a failure.
			// Also a best-effort page (notify, handoff) refused by a rate
			// limit: a 429 delays it, never drops it.
			r.log.Debug("escalation: page deferred by rate-limit pacing", "incident", inc.Number, "person", pg.Person,
				"reason", pg.Reason, "retry_in", f.Delay)
			_, cerr := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Failures: f.Attempts,
				Schedule: []incident.Scheduled{again(j, f.Due)}})
			r.armTimer(r.pages, f.Due)
			return cerr
		case FailureRetry:
			// A rate limit (429) is a delay, not a failure of the chat, and
			// one refused bundle is one refusal for all its pages: the
			// Pager logs it once per message; here it is debug.
			var ra RetryAfterError
			level := slog.LevelWarn
			if errors.As(err, &ra) && ra.RetryAfter() > 0 {
				level = slog.LevelDebug
			}
			r.log.Log(ctx, level, "escalation: page failed; retrying", "incident", inc.Number, "person", pg.Person, "channel", pg.Channel,
				"reason", pg.Reason, "attempt", f.Attempts, "retry_in", f.Delay, "err", err)
			_, cerr := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Failures: f.Attempts,
				Schedule: []incident.Scheduled{again(j, f.Due)}})
			r.armTimer(r.pages, f.Due)
			if !errors.As(err, &ra) {
				r.backOff(j.Member) // a rate limit's Retry-After is honoured, not expedited
			}
			return cerr
		}
		if chats, ok := DeliveredIn(err); ok {
			// Delivered in some chats, and another chat's retries ran out:
			// the person has the page, so it counts as delivered there
			// (no dead letter, no fallback); a note says which chat failed.
			r.log.Warn("escalation: page delivered in some chats, given up in another", "incident", inc.Number,
				"person", pg.Person, "reason", pg.Reason, "chats", chats, "attempts", f.Attempts, "err", err)
			ev := bundledEvent(pg, later(now, sendAt), Bundle{Chats: chats})
			c.Facts = append(c.Facts, ev, incident.Event{Type: incident.EventNote, At: ev.At, Person: pg.Person, By: By, Level: pg.Level,
				Note: text.Truncate(fmt.Sprintf("%s page delivered in %s only, not after %d attempt(s) in another chat: %v",
					pg.Reason, strings.Join(chats, ","), f.Attempts, err), 300)})
			if i == 0 && pg.Reason.MustDeliver() {
				pagedAt = ev.At
			}
			if _, qerr := r.queueEmails(ctx, inc.Number, pol, pg, false); qerr != nil {
				return qerr
			}
			continue
		}
		// FailureDeadLetter: give this page up: record it, dead-letter it,
		// page the fallback, and go on with the schedule as if it had been
		// delivered, so that escalation to the next level still happens on
		// time.
		attempts := f.Attempts
		r.metrics.DeadLettered()
		r.log.Error("escalation: page given up", "incident", inc.Number, "person", pg.Person, "channel", pg.Channel,
			"reason", pg.Reason, "attempts", attempts, "err", err)
		c.Facts = append(c.Facts, incident.Event{Type: incident.EventPageFailed, At: now, Person: pg.Person, By: By,
			Level: pg.Level, Note: text.Truncate(fmt.Sprintf("%s page not delivered after %d attempt(s): %v", pg.Reason, attempts, err), 300)})
		c.Dead = &incident.DeadLetter{Job: j.Member, Incident: inc.Number, Person: pg.Person, Channel: pg.Channel, Level: pg.Level,
			Reason: string(pg.Reason), Error: text.Truncate(err.Error(), 300), Attempts: attempts, At: now}
		if !f.PageFallback {
			continue
		}
		// On a level that emails, the person is emailed instead, now; the
		// email job pages the fallback if that fails too (email.go).
		if asked, qerr := r.queueEmails(ctx, inc.Number, pol, pg, true); qerr != nil {
			return qerr
		} else if asked {
			r.log.Warn("escalation: chat page given up; emailing the person instead (the fallback is paged if that fails too)",
				"incident", inc.Number, "person", pg.Person, "level", pg.Level)
			continue
		}
		fb := pg
		fb.Person, fb.Channel, fb.Reason = "", svc.AlertsChannel, ReasonFallback
		fb.Why = text.Truncate(fmt.Sprintf("page to %s could not be delivered: %v", pg.Person, err), 300)
		fb.Key = pg.Key + "/fallback"
		// A fallback page is not retried, so a delivery check held back by
		// a rate limit or a failing chat does not hold it: it is sent (a
		// double beats a loss).
		done, chats, stale, _, berr := r.begin(ctx, fb, st.Rev, r.retry.MaxAttempts)
		if berr != nil {
			return berr
		}
		if stale {
			break
		}
		if done {
			c.Facts = append(c.Facts, bundledEvent(fb, now, Bundle{Chats: chats}))
			continue
		}
		fbb, ferr := r.send(ctx, fb)
		r.end(ctx, fb, st.Rev, ferr)
		if ferr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(ferr, ErrNotTriggered) {
				r.log.Debug("escalation: fallback page not sent: the incident is no longer triggered", "incident", inc.Number, "channel", fb.Channel)
			} else {
				r.log.Error("escalation: fallback page failed too", "incident", inc.Number, "channel", fb.Channel, "err", ferr)
			}
		} else {
			c.Facts = append(c.Facts, bundledEvent(fb, now, fbb))
		}
	}
	if c.Step != nil && !pagedAt.IsZero() && plan.PagedAt.Equal(now) {
		if moved := plan.PagedLater(pol, pagedAt); !moved.PagedAt.Equal(plan.PagedAt) {
			plan = moved
			c.Step.LevelAt, c.Step.PagedAt = plan.LevelAt, plan.PagedAt
			c.Schedule = []incident.Scheduled{{Member: j.Member, Due: plan.Next, UrgentAt: plan.UrgentAt}}
		}
	}
	applied, err := r.commit(ctx, j, c)
	if err != nil {
		return err
	}
	if !applied {
		r.log.Debug("escalation: incident changed while paging; its transition decides what comes next", "incident", inc.Number)
		return nil
	}
	if plan.Escalated {
		r.metrics.Escalated()
	}
	if c.Step != nil {
		r.chat.kick() // the commit queued a redraw of the card (new owner, level)
	}
	r.armTimer(r.pages, plan.Next)
	return nil
}

// again schedules j to run again at due with the priority it was claimed with.
func again(j incident.Job, due time.Time) incident.Scheduled {
	sc := incident.Scheduled{Member: j.Member, Due: due}
	if j.Urgent {
		sc.UrgentAt = due
	}
	return sc
}

// commit runs the store's commit even if ctx was cancelled meanwhile: what
// was paged must be recorded.
func (r *Runner) commit(ctx context.Context, j incident.Job, c incident.Commit) (bool, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	return r.store.Commit(cctx, j, c)
}

// current reports whether incident n is still triggered at revision rev.
func (r *Runner) current(ctx context.Context, n, rev int64) (bool, error) {
	status, cur, err := r.store.Revision(ctx, n)
	if errors.Is(err, incident.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return status == incident.StatusTriggered && cur == rev, nil
}

// maxBackingOff bounds how many retrying page and chat jobs a runner
// remembers to expedite; beyond it, the others wait out their backoff.
const maxBackingOff = 10000

// backOff remembers that job member (a page job, or a chat job: runChat)
// waits out a backoff after the chat failed, so that the next page or chat
// update this runner gets through (the chat answers again) makes it due at
// once.
func (r *Runner) backOff(member string) {
	r.backoffMu.Lock()
	defer r.backoffMu.Unlock()
	if r.backingOff == nil {
		r.backingOff = map[string]struct{}{}
	}
	if len(r.backingOff) < maxBackingOff {
		r.backingOff[member] = struct{}{}
	}
}

// ranAgain forgets that job member waits out a backoff: it is running
// again (its backoff over, or brought forward by a change), and what it
// does now decides its next due time, which an expedite must not bring
// forward (a planned re-page, a throttled thread reply).
func (r *Runner) ranAgain(member string) {
	r.backoffMu.Lock()
	delete(r.backingOff, member)
	r.backoffMu.Unlock()
}

// expedite makes the jobs waiting out a backoff due now: a page or a chat
// update just went through, so the chat answers again, and the pages held
// back by its outage should not wait for the rest of their backoff (up to
// RetryMax) after it ended. Nor should the incidents' channels and cards:
// a channel's creation is paced (Slack's Tier 2, about 20 a minute), and
// an incident whose creation failed in the outage would otherwise take its
// turn only after its backoff, behind every incident opened since (a
// minute and more after the outage, in the chaos test). Best effort: on
// an error they keep their due time.
//
// chatOnly (a chat update went through, runChat) expedites the chat jobs
// alone: the pages' retries keep their timing, which only a delivered page
// shortens, so a page whose earlier send has no known outcome is not
// checked again at the pace of the chat updates.
func (r *Runner) expedite(ctx context.Context, chatOnly bool) {
	r.backoffMu.Lock()
	members := make([]string, 0, len(r.backingOff))
	for m := range r.backingOff {
		if chatOnly && !strings.HasPrefix(m, string(incident.JobChat)+":") {
			continue
		}
		members = append(members, m)
		delete(r.backingOff, m)
	}
	r.backoffMu.Unlock()
	if len(members) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := r.store.ExpediteJobs(cctx, members, r.now()); err != nil {
		r.log.Debug("escalation: could not expedite the pages held back by a chat failure; they keep their backoff", "jobs", len(members), "err", err)
		return
	}
	r.log.Info("escalation: the chat answers again; pages and chat updates held back by its failure are due now", "jobs", len(members))
	r.pages.kick()
	r.chat.kick()
}

// send calls the Pager with a deadline, turning a panic into an error; a
// BundlingPager tells the bundle the page went out in.
func (r *Runner) send(ctx context.Context, p Page) (b Bundle, err error) {
	pctx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pager panicked: %v", v)
		}
		if _, deferred := IsDeferred(err); err != nil && !deferred {
			r.metrics.PageFailed(p.Reason)
		} else if err == nil {
			r.metrics.PageSent(p.Reason)
			r.expedite(ctx, false)
		}
	}()
	if bp, ok := r.o.Pager.(BundlingPager); ok {
		return bp.PageBundled(pctx, p)
	}
	return Bundle{}, r.o.Pager.Page(pctx, p)
}

// bundledEvent is p's "paged" event when it went out in bundle b: at the
// bundle's time, naming it, so every incident of one bundle has the same
// event. Without a bundle it is pagedEvent's.
func bundledEvent(p Page, at time.Time, b Bundle) incident.Event {
	e := pagedEvent(p, at)
	e.Chats = strings.Join(b.Chats, ",")
	if b.ID != "" {
		e.Bundle = b.ID
		if !b.At.IsZero() {
			e.At = b.At
		}
	}
	return e
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func pagedEvent(p Page, at time.Time) incident.Event {
	note := string(p.Reason)
	if p.Reason == ReasonFallback {
		note = "fallback " + p.Channel
		if p.Why != "" {
			note += ": " + p.Why
		}
	}
	return incident.Event{Type: incident.EventPaged, At: at, Person: p.Person, By: By, Level: p.Level, Note: text.Truncate(note, 300)}
}
