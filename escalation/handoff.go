package escalation

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/batonhq/baton/incident"
)

// PageClaimer is a Store that can claim one incident's page job and load
// the incident in one round trip (*incident.Store.ClaimPage). A runner whose
// Store is one takes the first page of an incident opened in its own
// process straight from the Open (Wakeup.Opened), instead of waking its
// claim loop, which would claim and then load: two round trips and two
// goroutine hand-offs before the decision.
type PageClaimer interface {
	ClaimPage(ctx context.Context, n int64, now time.Time, lease time.Duration, token string) (incident.Job, incident.Incident, incident.EscalationState, bool, error)
}

// loaded is what a page job's run reads before it decides: given by the
// hand-off's claim, so runPage does not read it again.
type loaded struct {
	inc incident.Incident
	st  incident.EscalationState
}

// startHandOff makes w's Opened hand new incidents to r while ctx lasts;
// the returned stop undoes it and, once it returns, no hand-off starts.
func (r *Runner) startHandOff(ctx context.Context) (stop func()) {
	pc, ok := r.store.(PageClaimer)
	if !ok {
		return func() {}
	}
	f := func(n int64) { r.handOff(ctx, pc, n) }
	r.wakeup.opened.Store(&f)
	return func() {
		r.wakeup.opened.CompareAndSwap(&f, nil)
		// A hand-off that passed its ctx check holds handMu's read lock
		// until it has counted itself in r.wg.
		r.handMu.Lock()
		defer r.handMu.Unlock()
	}
}

// handOff runs incident n's page job, just made due by this process's
// Open, at once: with a free worker it claims the job and loads the
// incident in one round trip (PageClaimer) and runs it in a new goroutine;
// the caller (the Open, about to answer its HTTP request) does not wait.
// Without a free worker, or while the page queue's last claim left due
// jobs behind (a backlog), it wakes the claim loops as Notify would, which
// claim it with the other due jobs in priority order: under load a new
// incident does not overtake older due pages. If the claim finds
// the job not this runner's to run (another replica took it first), nothing
// happens: exactly one runner holds a job's lease.
func (r *Runner) handOff(ctx context.Context, pc PageClaimer, n int64) {
	r.handMu.RLock()
	defer r.handMu.RUnlock()
	if ctx.Err() != nil {
		return
	}
	if r.backlog.Load() {
		// Due jobs wait in Redis for a worker: the claim loop takes them
		// in priority order, this one among them; a hand-off would jump
		// the queue.
		r.wakeup.Notify()
		return
	}
	select {
	case r.pages.sem <- struct{}{}:
	default:
		r.backlog.Store(true)
		r.wakeup.Notify()
		return
	}
	if r.o.Chat != nil {
		r.chat.kick() // the Open queued the incident's chat job too
	}
	r.wg.Add(1)
	go func() {
		if !r.claimHandedOff(ctx, pc, n) {
			r.unreserve(r.pages, 1)
			r.wg.Done()
		}
	}()
}

// claimHandedOff claims and runs incident n's page job in the worker slot
// handOff reserved; false when it did not run it (the slot is the caller's
// to give back).
func (r *Runner) claimHandedOff(ctx context.Context, pc PageClaimer, n int64) bool {
	if !r.releaseStranded(ctx) {
		r.wakeup.Notify()
		return false
	}
	token := r.o.ReplicaID + ":" + strconv.FormatInt(r.claimSeq.Add(1), 10)
	j, inc, st, ok, err := pc.ClaimPage(ctx, n, r.now(), r.o.Lease, token)
	if err != nil && !(ok && errors.Is(err, incident.ErrNotFound)) {
		if ctx.Err() == nil {
			r.storeFailed(err)
		}
		// The claim loops find the job when Redis answers (a claim that
		// was applied but not answered comes back when its lease runs out).
		r.wakeup.Notify()
		return false
	}
	r.storeOK()
	if r.o.Chat == nil {
		r.chat.kick() // as a claim of the page queue does: drop the chat jobs
	}
	if !ok {
		r.wakeup.Notify() // not due, in flight or held: the claim loops know
		return false
	}
	r.counters.handedOff.Add(1)
	var pre *loaded
	if err == nil {
		pre = &loaded{inc: inc, st: st}
	}
	r.work(ctx, r.pages, j, pre)
	return true
}
