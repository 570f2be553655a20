package escalation

import (
	"errors"
	mrand "math/rand/v2"
	"time"
)

// maxRetryAfter caps a retry-after hint: a longer one is a bug upstream.
const maxRetryAfter = 15 * time.Minute

// retryDelay is the wait before attempt+1: the error's retry-after hint
// when it has one, else exponential backoff from RetryMin, capped at
// RetryMax, with equal jitter (half fixed, half random) so that replicas
// retrying after one outage do not stampede together.
func (r *Runner) retryDelay(attempt int, err error) time.Duration {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return min(ra.RetryAfter(), maxRetryAfter)
	}
	d := r.o.RetryMin
	for i := 1; i < attempt && d < r.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.o.RetryMax)
	half := d / 2
	return half + time.Duration(mrand.Int64N(int64(half)+1))
}
