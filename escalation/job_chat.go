package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/incident"
)

// runChat runs an incident's chat job: the ChatSync reconciles chat with
// the incident and says when to run again. Failures are retried with the
// pages' backoff for as long as they last: chat is cosmetic, so nothing is
// dead-lettered, but nothing is dropped either until the adapter says the
// failure is permanent.
//
// A 429's Retry-After wins, and the job queue owns that: the job is given
// back with incident.Store.HoldJob, so that a state change meanwhile (the
// scripts re-queue the chat job due now with ZADD LT on every change, a
// page's commit included) cannot bring the next call forward. The chat
// adapter also blocks the method in its own pacer, but that is one
// process's memory; the hold is in Redis, seen by every replica, and the
// redraw the state change asked for still happens, once the hold ends.
// Other due times (a backoff after a 5xx, the adapter's own deferral, the
// next thread reply) are only plans: a state change brings them forward.
func (r *Runner) runChat(ctx context.Context, j incident.Job) error {
	if r.o.Chat == nil {
		// Not claimed by the runner without a chat (its chat queue drops
		// due jobs instead); a claim made otherwise is dropped the same.
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, r.o.ChatTimeout)
	next, err := func() (next time.Time, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("chat sync panicked: %v", v)
			}
		}()
		return r.o.Chat.Sync(sctx, j.Number)
	}()
	cancel()
	now := r.now()
	var due time.Time
	hold := false
	switch d, deferred := IsDeferred(err); {
	case err == nil:
		r.chatAttempt(j.Member, false)
		due = next
		// The chat answers: the chat updates its failure held back are
		// due now (pages wait for a delivered page: expedite).
		defer r.expedite(ctx, true)
	case ctx.Err() != nil:
		return ctx.Err() // stopping: the lease brings the job back
	case deferred:
		due = now.Add(clampRetryAfter(d))
		r.log.Debug("escalation: chat update deferred for the chat's rate limit", "incident", j.Number, "retry_in", clampRetryAfter(d), "err", err)
	case IsPermanent(err):
		r.chatAttempt(j.Member, false)
		r.log.Error("escalation: chat update given up until the incident changes again", "incident", j.Number, "err", err)
	default:
		attempts := r.chatAttempt(j.Member, true)
		delay := r.retry.Delay(attempts, err)
		due = now.Add(delay)
		_, hold = retryAfterHint(err)
		if !hold {
			// Brought forward once the chat answers again (expedite); a
			// 429's hold is kept to.
			r.backOff(j.Member)
		}
		r.log.Warn("escalation: chat update failed; retrying", "incident", j.Number, "attempt", attempts, "retry_in", delay, "err", err)
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer rcancel()
	release := r.store.ReleaseJob
	if hold {
		release = r.store.HoldJob
	}
	if _, err := release(rctx, j, due); err != nil {
		return err
	}
	r.armTimer(r.chat, due)
	return nil
}

// chatAttempt counts a failed run of a chat job (failed true) and returns
// the count, or forgets it (failed false). The count only shapes the
// backoff, so it lives in memory: another replica starts from one again.
func (r *Runner) chatAttempt(member string, failed bool) int {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if !failed {
		delete(r.chatAttempts, member)
		return 0
	}
	r.chatAttempts[member]++
	return r.chatAttempts[member]
}
