package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// The ack lease ("still on it?", policy ack_lease). An acknowledgement lasts
// Policy.AckLease; each sign of work by the owner renews it
// (incident.Store.RenewAckLease: a message of theirs in the incident's
// channel, a button they press on it, "Yes, still on it" in the DM).
// LeaseWarnBefore the end the owner gets a DM "Still working on INC-42?"
// with two buttons; no answer by the end, or "Hand it back"
// (incident.Store.HandBack), and the incident is triggered again in one
// commit that also queues its page job (PendingRetrigger): the owner is
// paged at once and escalation resumes from the current level.
//
// The deadlines are the "acktimeout:<n>" job's, the same job as the ack
// timeout's: queued by the ack at the earlier of both first deadlines
// (Policies.AckJobAfter), it asks AckLeaseDue each time it runs and queues
// itself at the next one. A renewal only writes the new lease base: the job
// is then early, never late, and moves itself.

// maxLeaseWarning bounds how long before an ack lease runs out its owner is
// asked "still on it?".
const maxLeaseWarning = 5 * time.Minute

// LeaseWarnBefore is how long before an ack lease of length lease runs
// out its owner is asked "still on it?": min(5m, lease/6). A 30m lease
// warns 5 minutes before; a 12m lease 2 minutes before; a 60ms test lease
// 10ms before.
func LeaseWarnBefore(lease time.Duration) time.Duration {
	return min(maxLeaseWarning, lease/6)
}

// LeaseStep is what an ack lease's job does now (AckLeaseDue).
type LeaseStep string

// Lease steps.
const (
	// LeaseNone: no lease applies (not acknowledged, or no ack_lease).
	LeaseNone LeaseStep = ""
	// LeaseWait: nothing yet; look again at At.
	LeaseWait LeaseStep = "wait"
	// LeaseWarn: send the owner the "still on it?" DM for Base, then look
	// again at At (the expiry).
	LeaseWarn LeaseStep = "warn"
	// LeaseExpired: the lease ran out: re-trigger.
	LeaseExpired LeaseStep = "expired"
	// LeaseHandedBack: the owner handed the incident back: re-trigger.
	LeaseHandedBack LeaseStep = "handed_back"
)

// LeaseDecision is AckLeaseDue's answer.
type LeaseDecision struct {
	Step LeaseStep
	// Base is when the current lease began: the latest of the
	// acknowledgement and the owner's renewals.
	Base time.Time
	// Expires is Base + the policy's ack lease.
	Expires time.Time
	// At is when to look again (LeaseWait, LeaseWarn); zero otherwise.
	At time.Time
}

// AckLeaseDue is the ack-lease rule, pure: for an acknowledged incident
// whose policy has an ack lease, the lease began at Base (the latest of
// st.AckAt and st.LeaseAt) and runs out at Base + AckLease. Handed back
// (st.HandedBack at or after the ack) → LeaseHandedBack, even if the policy
// has lost its lease since; at or past the
// expiry → LeaseExpired; at or past the warning (LeaseWarnBefore the
// expiry) and no warning sent for this Base → LeaseWarn; else LeaseWait
// until the warning, or the expiry once warned.
func AckLeaseDue(inc incident.Incident, st incident.EscalationState, p Policy, now time.Time) LeaseDecision {
	if inc.Status != incident.StatusAcknowledged {
		return LeaseDecision{}
	}
	acked := st.AckAt
	if acked.IsZero() {
		acked = inc.Acknowledged
	}
	if acked.IsZero() {
		acked = now
	}
	base := acked
	if st.LeaseAt.After(base) {
		base = st.LeaseAt
	}
	d := LeaseDecision{Base: base, Expires: base.Add(p.AckLease)}
	handedBack := !st.HandedBack.IsZero() && !st.HandedBack.Before(acked)
	if p.AckLease <= 0 && !handedBack {
		return LeaseDecision{}
	}
	warnAt := d.Expires.Add(-LeaseWarnBefore(p.AckLease))
	switch {
	case handedBack: // whatever the policy says now: the owner asked
		d.Step = LeaseHandedBack
	case !now.Before(d.Expires):
		d.Step = LeaseExpired
	case !now.Before(warnAt) && !st.LeaseWarned.Equal(base):
		d.Step, d.At = LeaseWarn, d.Expires
	case !now.Before(warnAt):
		d.Step, d.At = LeaseWait, d.Expires
	default:
		d.Step, d.At = LeaseWait, warnAt
	}
	return d
}

// LeaseWarning is the "still on it?" DM to an incident's owner.
type LeaseWarning struct {
	Incident int64
	Title    string
	Person   string
	// Lease is the policy's ack lease (what "Yes" renews it by).
	Lease time.Duration
	// Expires is when the lease runs out without an answer.
	Expires time.Time
	// Key is the same for every attempt at this warning:
	// "lease:<n>:<base unix ms>".
	Key string
}

// LeaseNotifier sends the "still on it?" DM, with a button that renews the
// lease and one that hands the incident back. The runner takes
// Options.Leases, else its Pager when it is one; without one the warning
// goes to the log. An error is retried with the runner's backoff until the
// expiry, which re-triggers the incident whatever became of the DM.
type LeaseNotifier interface {
	StillOnIt(ctx context.Context, w LeaseWarning) error
	// StillOnItDelivered reports whether a DM with w.Key was delivered:
	// asked before sending again a DM whose outcome went unrecorded.
	StillOnItDelivered(ctx context.Context, w LeaseWarning) (bool, error)
}

// AckLeaseStore is the slice of the incident store the lease needs;
// *incident.Store implements it. A store without it has no leases.
type AckLeaseStore interface {
	AckLeaseWarnBegin(ctx context.Context, n int64, base time.Time) error
	AckLeaseWarned(ctx context.Context, n int64, base time.Time) error
}

var _ AckLeaseStore = (*incident.Store)(nil)

// retrigger commits incident n's return to triggered, with the page job
// due now in the same step (PendingRetrigger: the owner is paged, the level
// kept), with note on the retriggered event.
// why is RetriggerLease, RetriggerHandBack or "" (the ack timeout).
func (r *Runner) retrigger(ctx context.Context, j incident.Job, inc incident.Incident, st incident.EscalationState, by, note, why string) error {
	now := r.now()
	c := incident.Commit{
		Rev: st.Rev,
		Step: &incident.Step{Status: incident.StatusTriggered, Owner: inc.Owner, Level: st.Level, Round: st.Round,
			LevelAt: st.LevelAt, PagedAt: st.PagedAt, Pending: incident.PendingRetrigger, PendingBy: why},
		Events:   []incident.Event{{Type: incident.EventRetriggered, At: now, Person: inc.Owner, By: by, Level: st.Level, Note: note}},
		Schedule: []incident.Scheduled{{Member: incident.PageJob(inc.Number), Due: now, UrgentAt: now}},
	}
	applied, err := r.commit(ctx, j, c)
	if applied {
		r.Wake()
	}
	return err
}

// runLease does the lease part of an "acktimeout:<n>" job once the ack
// timeout had nothing to do; timeoutAt is the ack timeout's next look
// (zero: none). done is false when no lease applies.
func (r *Runner) runLease(ctx context.Context, j incident.Job, inc incident.Incident, st incident.EscalationState, pol Policy, timeoutAt time.Time) (done bool, err error) {
	now := r.now()
	d := AckLeaseDue(inc, st, pol, now)
	next := func(at time.Time) time.Time {
		if !timeoutAt.IsZero() && timeoutAt.Before(at) {
			return timeoutAt
		}
		return at
	}
	switch d.Step {
	case LeaseNone:
		return false, nil
	case LeaseHandedBack:
		r.log.Info("ack lease: handed back", "incident", inc.Number, "owner", inc.Owner)
		return true, r.retrigger(ctx, j, inc, st, inc.Owner, "handed back by the owner", RetriggerHandBack)
	case LeaseExpired:
		r.log.Info("ack lease: ran out", "incident", inc.Number, "owner", inc.Owner, "lease", pol.AckLease)
		return true, r.retrigger(ctx, j, inc, st, By,
			fmt.Sprintf("no word from the owner for %s (ack_lease %s)", text.Duration(now.Sub(d.Base)), text.Duration(pol.AckLease)), RetriggerLease)
	case LeaseWarn:
		ls, ok := r.store.(AckLeaseStore)
		if !ok {
			break
		}
		w := LeaseWarning{Incident: inc.Number, Title: inc.Title, Person: inc.Owner, Lease: pol.AckLease, Expires: d.Expires,
			Key: fmt.Sprintf("lease:%d:%d", inc.Number, d.Base.UnixMilli())}
		n := r.o.Leases
		if n == nil {
			n, _ = r.o.Pager.(LeaseNotifier)
		}
		if n == nil {
			r.log.Info("ack lease: still on it?", "incident", w.Incident, "person", w.Person, "expires", w.Expires)
		} else if err := r.stillOnIt(ctx, n, ls, w, d.Base, st.LeaseWarnBegan.Equal(d.Base)); err != nil {
			return true, err
		}
		// Recorded even when the runner is stopping: a DM sent but not
		// recorded would be looked for, then maybe sent again.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		ctx = mctx
		if err := ls.AckLeaseWarned(ctx, inc.Number, d.Base); err != nil {
			return true, err
		}
	}
	_, err = r.commit(ctx, j, incident.Commit{Rev: st.Rev, Schedule: []incident.Scheduled{{Member: j.Member, Due: next(d.At), UrgentAt: next(d.At)}}})
	return true, err
}

// stillOnIt sends w, the warning of the lease that began at base, unless
// an earlier run delivered it (unknown: that run began and its outcome went
// unrecorded, so the DM is looked for first). A person who cannot be reached is logged: the lease then runs
// out on its own and re-pages them, which goes to the fallback.
func (r *Runner) stillOnIt(ctx context.Context, n LeaseNotifier, ls AckLeaseStore, w LeaseWarning, base time.Time, unknown bool) error {
	if unknown {
		delivered, err := n.StillOnItDelivered(ctx, w)
		if err != nil {
			return fmt.Errorf("look for %s: %w", w.Key, err)
		}
		if delivered {
			return nil
		}
	}
	if err := ls.AckLeaseWarnBegin(ctx, w.Incident, base); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
	err := n.StillOnIt(pctx, w)
	cancel()
	if IsPermanent(err) {
		r.log.Error("ack lease: the owner cannot be asked; the lease runs out on its own", "incident", w.Incident, "person", w.Person, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("still on it %s: %w", w.Key, err)
	}
	return nil
}
