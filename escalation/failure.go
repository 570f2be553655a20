package escalation

import (
	"errors"
	"time"

	"github.com/batonhq/baton/incident"
)

// FailureAction says what the runner does after a page was not delivered.
type FailureAction string

// Failure actions, one per branch of DecidePageFailure.
const (
	// FailureIgnored: a best-effort page (notify, handoff) failed. It is
	// logged and the plan goes on; it is never retried.
	FailureIgnored FailureAction = "ignored"
	// FailureDeferred: the Pager did not attempt the page (Defer: its own
	// rate-limit pacing holds a later slot). The job runs again at Due and
	// no attempt is counted.
	FailureDeferred FailureAction = "deferred"
	// FailureRetry: the attempt failed; the job runs again at Due with
	// Attempts failures recorded.
	FailureRetry FailureAction = "retry"
	// FailureDeadLetter: the page is given up (a Permanent error, or
	// MaxAttempts failures). It is recorded and dead-lettered, the fallback
	// is paged when PageFallback says so, and the schedule goes on as if
	// the page had been delivered.
	FailureDeadLetter FailureAction = "dead_letter"
	// FailureNotDue: the page was not sent because its incident is no
	// longer triggered (ErrNotTriggered: acknowledged or resolved while the
	// page waited for its message). Not a failure: nothing is retried,
	// recorded or dead-lettered; the transition that took the incident
	// decides what comes next.
	FailureNotDue FailureAction = "not_due"
)

// ErrNotTriggered is the error of a page the Pager left unsent because its
// incident is no longer triggered (it was acknowledged or resolved while
// the page waited for its message); wrap it (with Unsent).
var ErrNotTriggered = errors.New("incident no longer triggered; page not sent")

// PageFailure is the decision about one undelivered page.
type PageFailure struct {
	Action FailureAction
	// Due is when the job runs again (FailureDeferred, FailureRetry), Delay
	// after now.
	Due   time.Time
	Delay time.Duration
	// Attempts counts the failed attempts at this page, this one included
	// (FailureRetry, FailureDeadLetter); for FailureDeferred it is the
	// unchanged count so far.
	Attempts int
	// PageFallback is set with FailureDeadLetter unless the page given up
	// was itself the fallback page.
	PageFallback bool
}

// DecidePageFailure decides what follows page p's failure with err at now,
// given the incident's escalation state (st.Failures: failed attempts so
// far) and the retry policy. It is pure: the time and the jitter come in.
//
//   - a page not sent because its incident is no longer triggered
//     (ErrNotTriggered): FailureNotDue;
//   - a page that need not be delivered (notify, handoff) refused by a
//     rate limit (a Defer, or a RetryAfterError: a 429): FailureDeferred
//     after its delay, attempts unchanged (a 429 delays, never drops);
//   - a page that need not be delivered failing otherwise: FailureIgnored;
//   - a deferral (Defer): FailureDeferred after its delay (clamped to
//     [0, maxRetryAfter]), attempts unchanged;
//   - a Permanent error, or the MaxAttempts-th failure: FailureDeadLetter,
//     with the fallback paged unless p was the fallback page;
//   - otherwise FailureRetry after rp.Delay(attempts, err).
func DecidePageFailure(p Page, st incident.EscalationState, err error, now time.Time, rp RetryPolicy) PageFailure {
	if errors.Is(err, ErrNotTriggered) {
		return PageFailure{Action: FailureNotDue, Attempts: st.Failures}
	}
	if !p.Reason.MustDeliver() {
		d, ok := IsDeferred(err)
		var ra RetryAfterError
		if !ok && errors.As(err, &ra) && ra.RetryAfter() > 0 {
			d, ok = ra.RetryAfter(), true
		}
		if !ok {
			return PageFailure{Action: FailureIgnored}
		}
		delay := clampRetryAfter(d)
		return PageFailure{Action: FailureDeferred, Due: now.Add(delay), Delay: delay, Attempts: st.Failures}
	}
	if d, ok := IsDeferred(err); ok {
		delay := clampRetryAfter(d)
		return PageFailure{Action: FailureDeferred, Due: now.Add(delay), Delay: delay, Attempts: st.Failures}
	}
	attempts := st.Failures + 1
	if attempts >= rp.MaxAttempts || IsPermanent(err) {
		return PageFailure{Action: FailureDeadLetter, Attempts: attempts, PageFallback: p.Reason != ReasonFallback}
	}
	delay := rp.Delay(attempts, err)
	return PageFailure{Action: FailureRetry, Due: now.Add(delay), Delay: delay, Attempts: attempts}
}
