package escalation_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// chatRecorder is a ChatSync that records its calls and answers with do.
type chatRecorder struct {
	mu    sync.Mutex
	calls map[int64][]time.Time
	do    func(ctx context.Context, n int64, call int) (time.Time, error)
}

func (c *chatRecorder) Sync(ctx context.Context, n int64) (time.Time, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[int64][]time.Time{}
	}
	c.calls[n] = append(c.calls[n], time.Now())
	call := len(c.calls[n])
	c.mu.Unlock()
	if c.do == nil {
		return time.Time{}, nil
	}
	return c.do(ctx, n, call)
}

func (c *chatRecorder) count(n int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls[n])
}

func TestChatJobsRunThroughChatSync(t *testing.T) {
	e := newEnv(t)
	chat := &chatRecorder{}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.Chat = chat }))
	n := e.open("k")
	e.eventually("the new incident's chat sync", func() bool { return chat.count(n) >= 1 })
	e.wait(1, owner("alice", escalation.ReasonFirst))
	// The first page's commit (owner alice) queues another redraw.
	e.eventually("the redraw after the first page", func() bool { return chat.count(n) >= 2 })
	before := chat.count(n)
	if _, err := e.svc.Ack(e.ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	e.eventually("the redraw after the ack", func() bool { return chat.count(n) > before })
	e.eventually("an empty chat queue", func() bool {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		return d == 0 && f == 0
	})
}

// Chat work runs on workers of its own: chat syncs stuck behind Slack's rate
// limits hold no page back.
func TestPagesDoNotWaitForChat(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	chat := &chatRecorder{do: func(ctx context.Context, n int64, call int) (time.Time, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return time.Time{}, nil
	}}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) {
		o.Chat, o.ChatWorkers, o.Workers = chat, 1, 2
	}))
	const incidents = 20
	for i := range incidents {
		e.open("k" + string(rune('a'+i)))
	}
	e.wait(incidents, owner("alice", escalation.ReasonFirst))
	close(release)
}

func TestChatSyncRetriedAndRescheduled(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var later time.Time
	chat := &chatRecorder{do: func(ctx context.Context, n int64, call int) (time.Time, error) {
		switch call {
		case 1:
			// The first page's commit re-queues the chat job due now, which
			// rightly brings a planned run (call 3's) forward: let it land
			// first, so that the runs below are the only changes.
			if err := pageCommitted(ctx, e, n); err != nil {
				return time.Time{}, err
			}
			return time.Time{}, errors.New("slack server error: 503")
		case 2:
			return time.Time{}, escalation.RetryAfter(errors.New("ratelimited"), 20*time.Millisecond)
		case 3:
			mu.Lock()
			defer mu.Unlock()
			later = time.Now().Add(50 * time.Millisecond)
			return later, nil // e.g. a thread reply throttled until then
		}
		return time.Time{}, nil
	}}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.Chat = chat }))
	n := e.open("k")
	e.eventually("four chat syncs", func() bool { return chat.count(n) >= 4 })
	chat.mu.Lock()
	calls := chat.calls[n]
	chat.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if calls[3].Before(later.Add(-time.Millisecond)) {
		t.Fatalf("the rescheduled sync ran %v before its due time", later.Sub(calls[3]))
	}
	if calls[2].Sub(calls[1]) < 19*time.Millisecond {
		t.Fatalf("a 429's retry came %v after it, before Retry-After", calls[2].Sub(calls[1]))
	}
}

// pageCommitted waits until incident n's first page is committed (its rev
// moved), or ctx ends.
func pageCommitted(ctx context.Context, e *env, n int64) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, st, err := e.svc.LoadEscalation(ctx, n); err == nil && st.Rev > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// A 429's Retry-After wins over the redraws that state changes ask for
// meanwhile: the chat job is held in the queue (incident.Store.HoldJob), so
// neither a change while the sync runs nor one while it waits brings the
// next call forward. Without the hold, the ZADD LT re-queue of a change made
// the next sync due at once.
func TestChatRetryAfterWinsOverStateChanges(t *testing.T) {
	e := newEnv(t)
	const retryAfter = 300 * time.Millisecond
	var mu sync.Mutex
	var limited time.Time
	chat := &chatRecorder{do: func(ctx context.Context, n int64, call int) (time.Time, error) {
		if call != 1 {
			return time.Time{}, nil
		}
		if err := pageCommitted(ctx, e, n); err != nil {
			return time.Time{}, err
		}
		// A change while the sync runs re-queues its job due now...
		if _, err := e.svc.Note(ctx, n, "bob", "looking"); err != nil {
			return time.Time{}, err
		}
		mu.Lock()
		limited = time.Now()
		mu.Unlock()
		return time.Time{}, escalation.RetryAfter(errors.New("ratelimited"), retryAfter)
	}}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.Chat = chat }))
	n := e.open("k")
	e.eventually("the rate-limited sync", func() bool { return chat.count(n) >= 1 })
	// ... and so does one while it waits out the Retry-After.
	e.eventually("the rate-limited job back in the queue", func() bool {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		return (d == 1 && f == 0) || chat.count(n) >= 2
	})
	if _, err := e.svc.Ack(e.ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	e.eventually("the sync after the Retry-After", func() bool { return chat.count(n) >= 2 })
	chat.mu.Lock()
	second := chat.calls[n][1]
	chat.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if !notBefore(limited, second, retryAfter) {
		t.Fatalf("the sync after a 429 came %v after it, before its Retry-After of %v", second.Sub(limited), retryAfter)
	}
	// The redraws the changes asked for are not lost: the queue ends empty
	// only after a sync that saw the ack.
	e.eventually("an empty chat queue", func() bool {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		return d == 0 && f == 0
	})
}

func TestPermanentChatFailureDropsTheJob(t *testing.T) {
	e := newEnv(t)
	chat := &chatRecorder{do: func(context.Context, int64, int) (time.Time, error) {
		return time.Time{}, escalation.Permanent(errors.New("invalid_auth"))
	}}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.Chat = chat }))
	n := e.open("k")
	e.eventually("a chat sync", func() bool { return chat.count(n) >= 1 })
	e.wait(1, owner("alice"))
	e.eventually("an empty chat queue", func() bool {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		return d == 0 && f == 0
	})
	if !e.log.contains("chat update given up") {
		t.Fatalf("no error logged:\n%s", e.log)
	}
}

func TestChatJobsDroppedWithoutChat(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, nil))
	e.open("k")
	e.wait(1, owner("alice"))
	e.eventually("an empty chat queue", func() bool {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		return d == 0 && f == 0
	})
}

// A page the Pager defers (its own rate-limit pacing holds a later slot) is
// retried then, and never counts as a failed attempt: no dead letter, no
// fallback, however many times it is deferred.
func TestDeferredPageIsNotAFailure(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	deferrals := 0
	e.rec.Before = func(ctx context.Context, p escalation.Page) error {
		mu.Lock()
		defer mu.Unlock()
		if p.Reason == escalation.ReasonFirst && deferrals < 8 {
			deferrals++
			return escalation.Defer(5 * time.Millisecond)
		}
		return nil
	}
	r := e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.MaxAttempts = 3 })
	e.start(r)
	n := e.open("k")
	e.wait(1, owner("alice", escalation.ReasonFirst))
	if got := e.rec.Count(func(p escalation.Page) bool { return p.Reason == escalation.ReasonFallback }); got != 0 {
		t.Fatalf("%d fallback pages for a deferred page", got)
	}
	if dead, _ := e.svc.ListDead(e.ctx); len(dead) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
	if s := r.Counters().Snapshot(); s.PageFailures != 0 {
		t.Fatalf("%d page failures counted for deferrals", s.PageFailures)
	}
	if c := countEvents(e.timeline(n), incident.EventPageFailed); c != 0 {
		t.Fatalf("%d page_failed events", c)
	}
}

// A chat update held back by a chat failure waits out its backoff only
// while the chat fails, as a page does: the next page or chat update this
// runner gets through makes it due at once. An incident whose channel
// could not be created in a Slack outage otherwise took its turn at
// conversations.create's pace only after its backoff, behind every incident
// opened since (a minute and more in the chaos test). A 429's hold is kept.
func TestChatRecoveryExpeditesHeldChatJobs(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		expedited bool
	}{
		{"a chat server error", errors.New("conversations.create: slack server error: 503 Service Unavailable"), true},
		{"a rate limit's Retry-After", escalation.RetryAfter(errors.New("ratelimited"), time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var first atomic.Int64
			chat := &chatRecorder{do: func(ctx context.Context, n int64, call int) (time.Time, error) {
				switch {
				case n != first.Load():
				case call == 1:
					// Runs again for the first page's commit, which
					// re-queues the chat job due now.
					return time.Time{}, pageCommitted(ctx, e, n)
				case call == 2:
					// The failure's backoff is then the only thing that
					// makes it run again.
					return time.Time{}, tc.err
				}
				return time.Time{}, nil
			}}
			// A backoff of an hour: without the expedite, the held chat
			// update would not come again within the test.
			e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) {
				o.Chat, o.RetryMin, o.RetryMax = chat, hour, hour
			}))
			first.Store(1)
			if n := e.open("held"); n != 1 {
				t.Fatalf("first incident INC-%d, want INC-1", n)
			}
			e.eventually("the held chat update's failure given back", func() bool {
				due, err := e.srv.Client().ZScore(e.ctx, e.svc.ChatJobsKey(), incident.ChatJob(1)).Result()
				return chat.count(1) == 2 && err == nil && time.UnixMilli(int64(due)).After(time.Now().Add(time.Minute))
			})
			second := e.open("goes through")
			e.eventually("the second incident's chat update", func() bool { return chat.count(second) >= 1 })
			if !tc.expedited {
				e.wait(1, func(p escalation.Page) bool { return p.Incident == second })
				e.eventually("the second incident's chat updates done", func() bool {
					_, err := e.srv.Client().ZScore(e.ctx, e.svc.ChatJobsKey(), incident.ChatJob(second)).Result()
					return chat.count(second) >= 2 && err != nil
				})
				due, err := e.srv.Client().ZScore(e.ctx, e.svc.ChatJobsKey(), incident.ChatJob(1)).Result()
				if err != nil || time.UnixMilli(int64(due)).Before(time.Now().Add(time.Minute)) || chat.count(1) != 2 {
					t.Fatalf("the rate-limited chat update is due at %v (%v) after %d syncs, want its Retry-After (an hour, clamped) still ahead",
						time.UnixMilli(int64(due)), err, chat.count(1))
				}
				return
			}
			e.eventually("the held chat update run again", func() bool { return chat.count(1) >= 3 })
		})
	}
}
