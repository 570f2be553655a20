package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChatSync mirrors an incident in chat: its channel, pinned card, notice in
// the service's alerts channel, thread replies for repeats, archive after
// resolve. The incident store queues a chat job for every state change (in
// the same atomic step as the change); the runner claims those jobs apart
// from the page jobs, with workers of their own, and calls Sync.
//
// Sync is reconciliation, not a reaction to one event: it reads the
// incident's current state and makes chat match it, reusing what an earlier
// run created (a retried or repeated job must not create twice). It returns
// when to run again (zero: nothing is pending), for example a thread reply
// throttled to once a minute or the archive after resolve. An error makes
// the runner retry with backoff; a RetryAfterError's hint (a 429) or a
// Deferred error sets the delay; a Permanent error drops the job until the
// incident changes again.
type ChatSync interface {
	Sync(ctx context.Context, n int64) (next time.Time, err error)
}

// Defer says that a call was not attempted because a rate limit the caller
// keeps itself would have refused it, and when to try again. The runner
// reschedules the job for then without counting an attempt: a page deferred
// behind an alert storm's other pages is not a failed page and must not be
// dead-lettered for it.
func Defer(d time.Duration) error { return &deferredError{d: d} }

type deferredError struct{ d time.Duration }

// Error says that and for how long the call was deferred.
func (e *deferredError) Error() string {
	return fmt.Sprintf("deferred %s by rate-limit pacing", e.d.Round(time.Millisecond))
}

// RetryAfter implements RetryAfterError.
func (e *deferredError) RetryAfter() time.Duration { return e.d }

var _ RetryAfterError = (*deferredError)(nil)

// IsDeferred reports whether err was made by Defer, and the delay it asked for.
func IsDeferred(err error) (time.Duration, bool) {
	var d *deferredError
	if errors.As(err, &d) {
		return d.d, true
	}
	return 0, false
}
