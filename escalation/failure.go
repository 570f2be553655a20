package escalation

import (
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
)

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
//   - a page that need not be delivered (notify, handoff): FailureIgnored;
//   - a deferral (Defer): FailureDeferred after its delay (clamped to
//     [0, maxRetryAfter]), attempts unchanged;
//   - a Permanent error, or the MaxAttempts-th failure: FailureDeadLetter,
//     with the fallback paged unless p was the fallback page;
//   - otherwise FailureRetry after rp.Delay(attempts, err).
func DecidePageFailure(p Page, st incident.EscalationState, err error, now time.Time, rp RetryPolicy) PageFailure {
	if !p.Reason.MustDeliver() {
		return PageFailure{Action: FailureIgnored}
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
