package escalation

import (
	"context"
	"sync"
	"time"

	"github.com/batonhq/baton/incident"
)

// keepLease renews j's lease while it runs (a slow Pager must not let
// another replica take the job over).
func (r *Runner) keepLease(ctx context.Context, j incident.Job) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := r.store.RenewJob(ctx, j, r.now(), r.o.Lease)
				switch {
				case err != nil:
					r.log.Warn("escalation: lease renewal failed", "job", j.Member, "err", err)
				case !ok:
					// Normal when a transition re-queued the job meanwhile (its
					// commit will be refused); otherwise the lease ran out.
					r.log.Info("escalation: lease taken over; another run of this job may repeat its pages", "job", j.Member)
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
