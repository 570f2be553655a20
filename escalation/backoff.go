package escalation

import (
	"errors"
	mrand "math/rand/v2"
	"time"
)

// maxRetryAfter caps a retry-after hint or a deferral: a longer one is a
// bug upstream.
const maxRetryAfter = 15 * time.Minute

// RetryPolicy is how undeliverable work is retried: at most MaxAttempts
// attempts at a page, with exponential backoff from Min, doubling up to
// Max, with equal jitter. An error's retry-after hint (RetryAfterError, a
// chat API's 429) replaces the backoff, capped at 15 minutes.
type RetryPolicy struct {
	MaxAttempts int
	Min, Max    time.Duration
	// Jitter returns a duration in [0, d], uniformly at random in the
	// runner; tests pass a fixed one. Nil means no jitter (0).
	Jitter func(d time.Duration) time.Duration
}

// Delay is the wait before attempt+1: the error's retry-after hint when it
// has a positive one (capped at maxRetryAfter), else exponential backoff
// from Min, doubling per attempt, capped at Max, with equal jitter (half
// fixed, half Jitter) so that replicas retrying after one outage do not
// stampede together. The result lies in [backoff/2, backoff].
func (rp RetryPolicy) Delay(attempt int, err error) time.Duration {
	if d, ok := retryAfterHint(err); ok {
		return d
	}
	d := rp.Min
	for i := 1; i < attempt && d < rp.Max; i++ {
		d *= 2
	}
	d = min(d, rp.Max)
	half := d / 2
	if rp.Jitter == nil {
		return half
	}
	return half + min(max(rp.Jitter(half), 0), half)
}

// retryAfterHint is err's retry-after hint (RetryAfterError, a chat API's
// 429), capped at maxRetryAfter; ok is false when it has no positive one.
func retryAfterHint(err error) (d time.Duration, ok bool) {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return min(ra.RetryAfter(), maxRetryAfter), true
	}
	return 0, false
}

// clampRetryAfter bounds a deferral to [0, maxRetryAfter].
func clampRetryAfter(d time.Duration) time.Duration { return min(max(d, 0), maxRetryAfter) }

// randomJitter is the runner's RetryPolicy.Jitter: uniform in [0, d].
func randomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(mrand.Int64N(int64(d) + 1))
}
