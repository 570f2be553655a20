package escalation

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/batonhq/baton/incident"
)

// jobQueue is one queue of due jobs in Redis as this runner works it: how
// to claim from it, a worker budget, a wake-up channel and a timer for the
// next due job.
type jobQueue struct {
	name  string
	claim func(ctx context.Context, now time.Time, lease time.Duration, max int, token string) ([]incident.Job, time.Time, error)
	sem   chan struct{}
	wake  chan struct{}
	// drop, when set, replaces the claim: the due jobs are removed, a
	// batch at a time (the chat queue of a runner with no chat).
	drop func(ctx context.Context, now time.Time, max int) (dropped int, more bool, err error)

	timerMu sync.Mutex
	timer   *time.Timer
	timerAt time.Time
}

func newJobQueue(name string, workers int, claim func(context.Context, time.Time, time.Duration, int, string) ([]incident.Job, time.Time, error)) *jobQueue {
	return &jobQueue{name: name, claim: claim, sem: make(chan struct{}, workers), wake: make(chan struct{}, 1)}
}

// kick wakes the queue's drain loop; it never blocks.
func (q *jobQueue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *jobQueue) stopTimer() {
	q.timerMu.Lock()
	defer q.timerMu.Unlock()
	if q.timer != nil {
		q.timer.Stop()
	}
}

// loop is q's drain loop, the only caller of drain(q), so one claim runs at
// a time per queue. With poll it drains at once and then every PollInterval
// (ticks missed while a drain runs collapse into one drain when it
// returns); it always drains when q is kicked. started is called after the
// first drain.
func (r *Runner) loop(ctx context.Context, q *jobQueue, poll bool, started func()) {
	var tick <-chan time.Time
	if poll {
		t := time.NewTicker(r.o.PollInterval)
		defer t.Stop()
		tick = t.C
		r.drain(ctx, q)
	}
	started()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-q.wake:
		}
		r.drain(ctx, q)
	}
}

// drain claims due jobs of q and hands them to q's workers until none is
// due or ctx ends. It claims no more jobs than there are free workers, so
// nothing sits claimed in a local queue while its lease runs.
func (r *Runner) drain(ctx context.Context, q *jobQueue) {
	if q == r.chat && r.storeDown() {
		// The page queue's claims find out when Redis is back; cosmetic
		// work adds no failed dials meanwhile (go-redis stops dialling for
		// a while after too many failures, which would delay the pages).
		return
	}
	if q.drop != nil {
		r.dropAll(ctx, q)
		return
	}
	for ctx.Err() == nil {
		n := r.reserve(ctx, q)
		if n == 0 {
			return
		}
		if q == r.pages && !r.releaseStranded(ctx) {
			r.unreserve(q, n)
			return
		}
		now := r.now()
		token := r.o.ReplicaID + ":" + strconv.FormatInt(r.claimSeq.Add(1), 10)
		jobs, next, err := q.claim(ctx, now, r.o.Lease, n, token)
		if err != nil {
			r.unreserve(q, n)
			if ctx.Err() == nil {
				r.storeFailed(err)
			}
			return
		}
		r.storeOK()
		if q == r.pages && r.o.Chat == nil {
			r.chat.kick()
		}
		if q == r.pages {
			// A claim that filled every free worker may have left due
			// jobs behind: hand-offs wait until a claim finds fewer.
			r.backlog.Store(len(jobs) == n)
		}
		r.unreserve(q, n-len(jobs))
		for _, j := range jobs {
			r.wg.Add(1)
			go r.work(ctx, q, j, nil)
		}
		if len(jobs) < n {
			r.armTimer(q, next)
			return
		}
	}
}

// dropChatBatch is how many due jobs one call of a queue's drop looks at.
const dropChatBatch = 512

// dropAll removes q's due jobs with q.drop until none is left due or ctx
// ends. A failure is the store's: left to the next drain.
func (r *Runner) dropAll(ctx context.Context, q *jobQueue) {
	for ctx.Err() == nil {
		_, more, err := q.drop(ctx, r.now(), dropChatBatch)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Debug("escalation: could not drop chat jobs; the next drain will", "err", err)
			}
			return
		}
		if !more {
			return
		}
	}
}

// reserve takes one worker slot of q (waiting for it) and as many more as
// are free, up to q's number of workers; 0 when ctx ended.
func (r *Runner) reserve(ctx context.Context, q *jobQueue) int {
	select {
	case q.sem <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(q.sem) {
		select {
		case q.sem <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (r *Runner) unreserve(q *jobQueue, n int) {
	for range n {
		<-q.sem
	}
}

// armTimer wakes q at `at` when that comes before the next poll.
// It is only a hint: the due time itself is data in Redis.
func (r *Runner) armTimer(q *jobQueue, at time.Time) {
	if at.IsZero() {
		return
	}
	now := r.now()
	d := at.Sub(now)
	if d >= r.o.PollInterval {
		return
	}
	d = max(d, 0)
	q.timerMu.Lock()
	defer q.timerMu.Unlock()
	if q.timer != nil && q.timerAt.After(now) && !at.Before(q.timerAt) {
		return // an earlier wake-up is already set
	}
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.kick)
	} else {
		q.timer.Reset(d)
	}
	q.timerAt = at
}

// work runs one claimed job (pre: its incident as the claim read it, for a
// page job handed off by Wakeup.Opened; nil: runPage reads it). Any error leaves the job to run again: released
// with the retry backoff (RetryMin, doubling per consecutive failure of the
// job, up to RetryMax) when Redis answers, else kept (strand) and released due
// now by the first drain that finds Redis answering again.
func (r *Runner) work(ctx context.Context, q *jobQueue, j incident.Job, pre *loaded) {
	defer r.wg.Done()
	defer r.unreserve(q, 1)
	r.metrics.JobStarted(string(j.Kind), r.now().Sub(j.Due))
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := r.keepLease(jctx, j)
	defer stop()
	r.ranAgain(j.Member)

	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		switch j.Kind {
		case incident.JobPage:
			return r.runPage(jctx, j, pre)
		case incident.JobAckTimeout:
			return r.runAckTimeout(jctx, j)
		case incident.JobChat:
			return r.runChat(jctx, j)
		case incident.JobHeartbeat:
			return r.runHeartbeat(jctx, j)
		case incident.JobMaintenance:
			return r.runMaintenance(jctx, j)
		case incident.JobPageIn:
			return r.runPageIn(jctx, j)
		case incident.JobEmail:
			return r.runEmail(jctx, j)
		case incident.JobShift:
			return r.runShift(jctx, j)
		}
		r.log.Warn("escalation: dropping a job of unknown kind", "job", j.Member)
		_, err = r.store.ReleaseJob(jctx, j, time.Time{})
		return err
	}()
	if err == nil {
		r.jobFailed(j.Member, false)
		return
	}
	if ctx.Err() != nil {
		// Stopping (a deploy, a restart): give the job back due now, so that
		// another replica, or this one restarted, runs it at once instead of
		// after its lease. A page cut off mid-send runs again, as after a
		// crash; the Pager's delivery key spares a duplicate of a page it
		// finished. If Redis cannot be reached, the lease brings it back.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer rcancel()
		if _, rerr := r.store.ReleaseJob(rctx, j, r.now()); rerr != nil {
			r.log.Warn("escalation: stopping; a job in flight is left to its lease", "job", j.Member, "err", rerr)
		}
		return
	}
	// Back off like any failure: a store that answers but refuses writes
	// (Redis under OOM) fails every run the same way, so a fixed delay
	// would run the job, and page, every RetryMin for as long as it lasts.
	attempts := r.jobFailed(j.Member, true)
	delay := r.retry.Delay(attempts, nil)
	r.metrics.StoreError()
	r.log.Error("escalation: job failed; it will run again", "job", j.Member, "attempt", attempts, "retry_in", delay, "err", err)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer rcancel()
	if _, rerr := r.store.ReleaseJob(rctx, j, r.now().Add(delay)); rerr != nil {
		r.log.Debug("escalation: could not release the job; released as soon as redis answers", "job", j.Member, "err", rerr)
		r.strand(j)
	}
}

// maxJobFailures bounds jobFailed's table.
const maxJobFailures = 10000

// jobFailed counts member's consecutive failed runs (per replica): failed
// adds one and returns the count; a success forgets the member and returns
// 0. The table is bounded by the jobs failing at once.
func (r *Runner) jobFailed(member string, failed bool) int {
	r.jobFailMu.Lock()
	defer r.jobFailMu.Unlock()
	if !failed {
		delete(r.jobFailures, member)
		return 0
	}
	if len(r.jobFailures) >= maxJobFailures {
		clear(r.jobFailures) // jobs that failed and never ran here again
	}
	r.jobFailures[member]++
	return r.jobFailures[member]
}
