package escalation

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

// The drain loops' timing is pure logic over timers and channels, tested in
// a synctest bubble with fake claim functions: no Redis, no real time. (The
// tests that run jobs against a real redis-server cannot use a bubble:
// their I/O is real network I/O.)

// claimLog records when a queue was claimed from, in bubble time since
// start, and answers with next.
type claimLog struct {
	start time.Time
	mu    sync.Mutex
	at    []time.Duration
	next  func(call int, now time.Time) time.Time
	block func(call int) // runs inside the claim, before it returns
}

func (c *claimLog) claim(_ context.Context, now time.Time, _ time.Duration, _ int, _ string) ([]incident.Job, time.Time, error) {
	c.mu.Lock()
	c.at = append(c.at, time.Since(c.start))
	call := len(c.at)
	c.mu.Unlock()
	if c.block != nil {
		c.block(call)
	}
	if c.next == nil {
		return nil, time.Time{}, nil
	}
	return nil, c.next(call, now), nil
}

// drop is claim for a queue that drops its due jobs (a runner with no chat):
// recorded the same way.
func (c *claimLog) drop(ctx context.Context, now time.Time, _ int) (int, bool, error) {
	_, _, err := c.claim(ctx, now, 0, 0, "")
	return 0, false, err
}

func (c *claimLog) calls() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.at...)
}

// unreachedStore is a store for runners that never claim a job. go-redis
// starts goroutines of its own when a client is made, so it is made
// outside the bubbles, once.
var unreachedStore = sync.OnceValue(func() *incident.Store {
	return incident.NewStore(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "unused:")
})

// loopRunner is a Runner whose queues claim through pages and chat; its
// store is never reached (no job is ever claimed).
func loopRunner(t *testing.T, chat ChatSync, pages, chatLog *claimLog) *Runner {
	t.Helper()
	store := unreachedStore()
	r, err := NewRunner(Options{Incidents: store, Pager: &LogPager{}, Policies: func(string) (Policy, Service, bool) { return Policy{}, Service{}, false },
		Chat: chat, PollInterval: time.Second, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.pages.claim, r.chat.claim = pages.claim, chatLog.claim
	if r.chat.drop != nil {
		r.chat.drop = chatLog.drop
	}
	return r
}

func runLoops(t *testing.T, r *Runner) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func equalCalls(t *testing.T, what string, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s claimed at %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s claimed at %v, want %v", what, got, want)
		}
	}
}

type nopChat struct{}

func (nopChat) Sync(context.Context, int64) (time.Time, error) { return time.Time{}, nil }

// Each queue is drained at once when Run starts, then every PollInterval,
// and at once on a wake-up.
func TestDrainLoopPollsAndWakes(t *testing.T) {
	unreachedStore()
	synctest.Test(t, func(t *testing.T) {
		pages, chat := &claimLog{start: time.Now()}, &claimLog{start: time.Now()}
		r := loopRunner(t, nopChat{}, pages, chat)
		stop := runLoops(t, r)
		synctest.Wait()
		equalCalls(t, "pages at start", pages.calls(), 0)
		equalCalls(t, "chat at start", chat.calls(), 0)

		time.Sleep(2500 * time.Millisecond) // bubble time: the fake clock moves only when all goroutines wait
		synctest.Wait()
		equalCalls(t, "pages", pages.calls(), 0, time.Second, 2*time.Second)

		r.Wake()
		synctest.Wait()
		equalCalls(t, "pages after Wake", pages.calls(), 0, time.Second, 2*time.Second, 2500*time.Millisecond)
		equalCalls(t, "chat after Wake", chat.calls(), 0, time.Second, 2*time.Second, 2500*time.Millisecond)
		stop()
	})
}

// Notify never blocks, and notifications that arrive while one is pending
// coalesce into it.
func TestWakeupCoalesces(t *testing.T) {
	w := NewWakeup()
	for range 10 {
		w.Notify()
	}
	<-w.C()
	select {
	case <-w.C():
		t.Fatal("ten notifications with nobody reading made more than one pending signal")
	default:
	}
	var none *Wakeup
	none.Notify() // a nil Wakeup does nothing
}

// The Wakeup handed to the store (incident.WithOnJobDue(w.Notify)) wakes
// the runner that reads it: both queues are drained at once.
func TestWakeupFromTheStoreSide(t *testing.T) {
	unreachedStore()
	synctest.Test(t, func(t *testing.T) {
		pages, chat := &claimLog{start: time.Now()}, &claimLog{start: time.Now()}
		r := loopRunner(t, nopChat{}, pages, chat)
		stop := runLoops(t, r)
		time.Sleep(100 * time.Millisecond)
		r.wakeup.Notify()
		synctest.Wait()
		equalCalls(t, "pages", pages.calls(), 0, 100*time.Millisecond)
		equalCalls(t, "chat", chat.calls(), 0, 100*time.Millisecond)
		stop()
	})
}

// A claim that reports a job due before the next poll arms a timer: the
// queue is drained again at that due time, not at the next tick.
func TestDrainAtTheNextDueTime(t *testing.T) {
	unreachedStore()
	synctest.Test(t, func(t *testing.T) {
		pages := &claimLog{start: time.Now(), next: func(call int, now time.Time) time.Time {
			if call == 1 {
				return now.Add(300 * time.Millisecond)
			}
			return time.Time{}
		}}
		r := loopRunner(t, nil, pages, &claimLog{start: time.Now()})
		stop := runLoops(t, r)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		equalCalls(t, "pages", pages.calls(), 0, 300*time.Millisecond, time.Second)
		stop()
	})
}

// Ticks that fall while a drain runs (a slow Redis) are not queued up:
// they collapse into one drain when it returns, then the ticks go on.
func TestSlowDrainSkipsTicks(t *testing.T) {
	unreachedStore()
	synctest.Test(t, func(t *testing.T) {
		pages := &claimLog{start: time.Now(), block: func(call int) {
			if call == 2 {
				time.Sleep(3500 * time.Millisecond) // the claim at 1s takes until 4.5s
			}
		}}
		r := loopRunner(t, nil, pages, &claimLog{start: time.Now()})
		stop := runLoops(t, r)
		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		equalCalls(t, "pages", pages.calls(), 0, time.Second, 4500*time.Millisecond, 5*time.Second)
		stop()
	})
}

// Without a ChatSync the chat queue is not polled: it is drained (its jobs
// dropped) only when woken, as after each successful page claim.
func TestChatQueueNotPolledWithoutChat(t *testing.T) {
	unreachedStore()
	synctest.Test(t, func(t *testing.T) {
		pages, chat := &claimLog{start: time.Now()}, &claimLog{start: time.Now()}
		r := loopRunner(t, nil, pages, chat)
		stop := runLoops(t, r)
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		// Each page claim succeeded, so each kicked the chat queue once.
		equalCalls(t, "pages", pages.calls(), 0, time.Second, 2*time.Second)
		equalCalls(t, "chat", chat.calls(), 0, time.Second, 2*time.Second)
		stop()
	})
}
