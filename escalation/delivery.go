package escalation

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/incident"
)

// DeliveryChecker is implemented by a Pager that can find out whether a page
// it was asked to send is where it would have put it (bot.Pager: the page's
// Key in the message metadata of the recipient's recent messages). The
// runner asks it only about a page whose send was begun but whose outcome
// was never recorded: its runner died between the Pager call and the
// record, could not reach Redis after the call, or the call failed in a way
// that leaves its outcome unknown. true: the page is not sent again. An
// error that retrying may cure (a 5xx, a timeout) holds the page and asks
// again with the page's backoff, as a failed attempt; a Permanent error, or
// the attempt before the page would be given up, counts as "not found": the
// page is sent again, since for a pager a double page is better than a lost
// one. A RetryAfter error waits without counting an attempt.
type DeliveryChecker interface {
	Delivered(ctx context.Context, p Page) (bool, error)
}

// ChatsDeliveryChecker is a DeliveryChecker whose pages go to several chats
// (bot.Multi, Slack and Discord at once). The runner asks DeliveredIn
// instead of Delivered, so that a page found delivered gets the chats it
// is in on its "paged" event, as a page sent gets its Bundle's Chats.
type ChatsDeliveryChecker interface {
	DeliveryChecker
	// DeliveredIn is Delivered, with the chats that have the page when
	// found.
	DeliveredIn(ctx context.Context, p Page) (chats []string, found bool, err error)
}

// begin consults and updates the store's page record before p is sent (by
// the step at revision rev). done: an earlier run delivered p (recorded as
// sent, or found by the Pager's DeliveryChecker), so it is not sent again
// and counts as delivered; chats are the chats it was found in (a
// ChatsDeliveryChecker's), for its "paged" event. stale: a step at a later revision has begun
// pages, so this step's plan is out of date (as when the incident is no
// longer current). held: the delivery check was refused for now (a Defer
// or RetryAfter error), so the page is neither sent nor given up: the
// caller handles held as a failed send, which reschedules the job. failures
// is the step's failed attempts so far (EscalationState.Failures). err is
// Redis's: the page is not sent.
func (r *Runner) begin(ctx context.Context, p Page, rev int64, failures int) (done bool, chats []string, stale bool, held, err error) {
	prev, err := r.store.BeginPage(ctx, p.Incident, rev, p.Key, r.now())
	if err != nil {
		return false, nil, false, nil, err
	}
	switch prev {
	case incident.PageSent:
		r.log.Info("escalation: page already delivered by an earlier run; not sent again", "incident", p.Incident,
			"person", p.Person, "reason", string(p.Reason), "key", p.Key)
		return true, nil, false, nil, nil
	case incident.PageStale:
		return false, nil, true, nil, nil
	case incident.PageSending:
		done, chats, held = r.check(ctx, p, rev, failures)
		return done, chats, false, held, nil
	}
	return false, nil, false, nil, nil
}

// check asks the Pager whether a page whose earlier send has no recorded
// outcome was delivered. Without a DeliveryChecker, or when the check
// fails for good, the answer is no: the page is sent again. A check refused
// for now by a rate limit (a Defer or RetryAfter error) is returned as
// held, a Defer with the limit's delay: the page waits for the check rather
// than risk a double, and no failed attempt is counted. A check that failed
// otherwise (the chat answered 5xx or not at all: a post would most likely
// fail the same way) is returned as held too, as a failed attempt retried
// with the page's backoff, until the attempt before the page would be given
// up (RetryPolicy.MaxAttempts): that one sends it.
func (r *Runner) check(ctx context.Context, p Page, rev int64, failures int) (done bool, chats []string, held error) {
	dc, ok := r.o.Pager.(DeliveryChecker)
	if !ok {
		r.log.Warn("escalation: an earlier send of this page has no recorded outcome and the pager cannot check; sending it again",
			"incident", p.Incident, "person", p.Person, "reason", string(p.Reason), "key", p.Key)
		return false, nil, nil
	}
	chats, found, err := r.delivered(ctx, dc, p)
	if err != nil {
		var ra RetryAfterError
		if errors.As(err, &ra) && ctx.Err() == nil {
			// The chat answered with when to ask: wait for it, without
			// counting a failed attempt (the page did not fail).
			return false, nil, Defer(ra.RetryAfter())
		}
		if !IsPermanent(err) && ctx.Err() == nil && failures+2 < r.retry.MaxAttempts {
			r.log.Warn("escalation: could not check whether an earlier send of this page was delivered; checking again",
				"incident", p.Incident, "person", p.Person, "reason", string(p.Reason), "key", p.Key,
				"attempt", failures+1, "err", err)
			return false, nil, fmt.Errorf("check page %s: %w", p.Key, err)
		}
		r.log.Warn("escalation: could not check whether an earlier send of this page was delivered; sending it again",
			"incident", p.Incident, "person", p.Person, "reason", string(p.Reason), "key", p.Key, "err", err)
		return false, nil, nil
	}
	if !found {
		r.log.Info("escalation: an earlier send of this page was not delivered; sending it", "incident", p.Incident,
			"person", p.Person, "reason", string(p.Reason), "key", p.Key)
		return false, nil, nil
	}
	r.log.Info("escalation: page found delivered by an earlier run; not sent again", "incident", p.Incident,
		"person", p.Person, "reason", string(p.Reason), "key", p.Key)
	r.end(ctx, p, rev, nil)
	return true, chats, nil
}

// refused reports whether err says the page was certainly not delivered:
// the call was not made or was refused (a Defer by the Pager's pacing, a
// rate limit's RetryAfter), or failed before any attempt to deliver
// (Unsent).
func refused(err error) bool {
	var ra RetryAfterError
	return errors.As(err, &ra) || IsUnsent(err)
}

// Unsent marks err, returned by a Pager, as one that happened before any
// attempt to deliver the page (looking up the recipient, opening the DM):
// the page certainly was not delivered, so its retry is sent without a
// delivery check. Other errors a Pager returns leave the outcome unknown.
func Unsent(err error) error { return &unsentError{err} }

type unsentError struct{ err error }

func (e *unsentError) Error() string { return e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

// IsUnsent reports whether err was marked with Unsent.
func IsUnsent(err error) bool {
	var u *unsentError
	return errors.As(err, &u)
}

// delivered calls the checker with the page timeout, turning a panic into
// an error; a ChatsDeliveryChecker also says which chats have the page.
func (r *Runner) delivered(ctx context.Context, dc DeliveryChecker, p Page) (chats []string, found bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			chats, found, err = nil, false, fmt.Errorf("delivery check panicked: %v", v)
		}
	}()
	if cc, ok := dc.(ChatsDeliveryChecker); ok {
		return cc.DeliveredIn(cctx, p)
	}
	found, err = dc.Delivered(cctx, p)
	return nil, found, err
}

// end records the outcome of p's send (sendErr from the Pager): sent when
// it was delivered; not sent when the error says the page certainly was not
// (a Defer by the Pager's pacing, a rate limit's RetryAfter: the chat
// refused the call; Unsent: it failed before the chat call); otherwise the
// sending mark stays, and the next run checks before sending again. It
// runs even when the runner is stopping. A failure to record is logged,
// not returned: the send's outcome stands, and a page left marked sending
// is checked, not lost.
func (r *Runner) end(ctx context.Context, p Page, rev int64, sendErr error) {
	mark, outcome := incident.PageSent, "sent"
	if sendErr != nil {
		if !refused(sendErr) {
			return
		}
		mark, outcome = incident.PageUnsent, "not sent"
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := r.store.EndPage(cctx, p.Incident, rev, p.Key, mark); err != nil {
		r.log.Warn("escalation: page outcome not recorded; the next run checks before sending it again",
			"incident", p.Incident, "key", p.Key, "outcome", outcome, "err", err)
	}
}
