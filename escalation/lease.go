package escalation

import (
	"context"
	"sync"
	"time"

	"github.com/batonhq/baton/incident"
)

// renewEvery is how often a running job's lease is renewed: 3/10 of the
// lease, so two renewals may fail (a Redis blip) before it runs out.
func renewEvery(lease time.Duration) time.Duration { return lease * 3 / 10 }

// keepLease renews j's lease while it runs (a slow Pager must not let
// another replica take the job over).
func (r *Runner) keepLease(ctx context.Context, j incident.Job) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(renewEvery(r.o.Lease))
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

// strand keeps j, a job that failed and could not be released because
// Redis did not answer, to be released due now as soon as Redis answers
// again (releaseStranded). The runner still holds j's lease token: without
// this the job would wait out its lease after an outage.
func (r *Runner) strand(j incident.Job) {
	r.strandedMu.Lock()
	defer r.strandedMu.Unlock()
	r.stranded[j.Member] = j
}

// releaseStranded gives back due now the jobs strand kept. It reports false
// when Redis still does not answer (the jobs stay kept). A release that
// finds the lease no longer this runner's changes nothing: the job was
// reclaimed, or a transition re-queued it.
func (r *Runner) releaseStranded(ctx context.Context) bool {
	r.strandedMu.Lock()
	jobs := make([]incident.Job, 0, len(r.stranded))
	for _, j := range r.stranded {
		jobs = append(jobs, j)
	}
	r.strandedMu.Unlock()
	if len(jobs) == 0 {
		return true
	}
	released := 0
	for _, j := range jobs {
		if _, err := r.store.ReleaseJob(ctx, j, r.now()); err != nil {
			if ctx.Err() == nil {
				r.storeFailed(err)
			}
			break
		}
		released++
		r.strandedMu.Lock()
		if cur, ok := r.stranded[j.Member]; ok && cur.Token == j.Token {
			delete(r.stranded, j.Member)
		}
		r.strandedMu.Unlock()
	}
	if released > 0 {
		r.log.Info("escalation: jobs interrupted by the redis outage given back due now", "jobs", released)
		r.chat.kick()
	}
	return released == len(jobs)
}
