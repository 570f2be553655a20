package slack

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/internal/redistest"
)

// budgetLimits are the limits of the budget tests: interval 1.1 s (60 a
// minute slowed by safety), two calls at once (a burst of 3, one left
// unused).
func budgetLimits() map[string]Limit {
	return map[string]Limit{
		"conversations.create": {PerMinute: 60, Burst: 3},
		"chat.postMessage":     {PerMinute: 60, Burst: 3, PerChannel: true},
	}
}

// step is one thing a replica does in a budget test: book a call (and
// check how long it must wait, and whether it is deferred), record a 429,
// or something that happens to the world (the clock moves, Redis dies).
type step struct {
	replica         int // 0 is A, 1 is B
	method, channel string
	pacing          *bot.Pacing // nil: an interactive call (unbounded)
	block           time.Duration
	advance         time.Duration
	redisDown       bool
	redisBack       bool
	restart         bool // the replica restarts: a new pacer, nothing in memory
	want            time.Duration
	deferred        bool
	blocked         bool // with want -1: is the replica held back on method/channel?
}

func book(r int, method, channel string, want time.Duration) step {
	return step{replica: r, method: method, channel: channel, want: want}
}

func bookJob(r int, method, ticket string, maxWait, want time.Duration, deferred bool) step {
	return step{replica: r, method: method, pacing: &bot.Pacing{Ticket: ticket, MaxWait: maxWait}, want: want, deferred: deferred}
}

// bookYield books a cosmetic job's call (bot.Pacing.Yield).
func bookYield(r int, method, ticket string, maxWait, want time.Duration, deferred bool) step {
	return step{replica: r, method: method, pacing: &bot.Pacing{Ticket: ticket, MaxWait: maxWait, Yield: true}, want: want, deferred: deferred}
}

// Two pacers ("replicas") on one real Redis spend one Slack budget: each
// method's and each channel's, the slots held for deferred jobs, and a
// 429's Retry-After. Without Redis each paces alone, at once.
func TestSharedBudget(t *testing.T) {
	const create, post = "conversations.create", "chat.postMessage"
	const A, B = 0, 1
	s := 1100 * time.Millisecond // one interval
	cases := []struct {
		name  string
		steps []step
	}{
		{"same method: one budget", []step{
			book(A, create, "", 0), book(A, create, "", 0), book(B, create, "", s), book(A, create, "", 2*s),
		}},
		{"different channels: a budget each", []step{
			book(A, post, "C1", 0), book(A, post, "C1", 0), book(B, post, "C2", 0), book(B, post, "C2", 0), book(A, post, "C2", s),
		}},
		{"per-channel method: the channel's budget is shared", []step{
			book(A, post, "D1", 0), book(B, post, "D1", 0), book(A, post, "D1", s), book(B, post, "D1", 2*s),
		}},
		{"a 429 at A holds B back until its Retry-After", []step{
			{replica: A, method: post, channel: "D1", block: 3 * time.Second},
			{replica: B, method: post, channel: "D1", blocked: true, want: -1},
			book(B, post, "D1", 3*time.Second),
			book(B, post, "D2", 0),
			{replica: B, method: post, channel: "D1", advance: 3 * time.Second, want: -1},
			book(A, post, "D1", s), // B's booking above was the first after the block
		}},
		{"a slot held for a ticket at A is B's when the job runs there", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "page:1", 500*time.Millisecond, s, true),
			book(B, create, "", 2*s), // not the held slot
			{advance: s, want: -1},
			bookJob(B, create, "page:1", 500*time.Millisecond, 0, false),
			bookJob(A, create, "page:1", 500*time.Millisecond, 2*s, true), // claimed once: a new slot
		}},
		// Issue 14's storm: a resolved incident's sync yields; the slot
		// it held while the incident was live goes to the next live call,
		// which would otherwise book behind every slot held.
		{"a slot held for a ticket that yields now is the next live call's", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "sync:1", 500*time.Millisecond, s, true),
			bookJob(A, create, "sync:2", 500*time.Millisecond, 2*s, true),
			bookYield(B, create, "sync:1", 500*time.Millisecond, 4*s, true), // gives s up, waits for a free slot
			bookJob(A, create, "sync:3", 500*time.Millisecond, s, true),     // the slot given up, held for it
			book(B, create, "", 3*s), // none left: a new one
			{advance: s, want: -1},
			bookJob(B, create, "sync:3", 500*time.Millisecond, 0, false),
		}},
		{"a held slot claimed up to lateGrace (2 s) late is still the job's", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "page:1", 500*time.Millisecond, s, true),
			{advance: 3 * time.Second, want: -1}, // 1.9 s past the slot: a runner slow under load
			bookJob(B, create, "page:1", 500*time.Millisecond, -1900*time.Millisecond, false),
		}},
		{"a held slot claimed more than lateGrace late is void", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "page:1", 500*time.Millisecond, s, true),
			{advance: 3101 * time.Millisecond, want: -1}, // 2.001 s past the slot
			bookJob(B, create, "page:1", 500*time.Millisecond, 0, false),
			book(B, create, "", 199*time.Millisecond), // after the rebooked slot
		}},
		// The break test of issue 14: four conversations.create within
		// 0.29 s after a restart, every job claiming a slot long past.
		{"slots held before a restart and claimed late are booked again at the current rate", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "page:1", 500*time.Millisecond, s, true),
			bookJob(A, create, "page:2", 500*time.Millisecond, 2*s, true),
			bookJob(A, create, "page:3", 500*time.Millisecond, 3*s, true),
			bookJob(A, create, "page:4", 500*time.Millisecond, 4*s, true),
			{replica: A, restart: true, want: -1},
			{replica: B, restart: true, want: -1},
			{advance: 10 * time.Second, want: -1},
			// Two at once (the burst), then one an interval: the slots
			// at 1.1-4.4 s are void.
			bookJob(A, create, "page:1", 500*time.Millisecond, 0, false),
			bookJob(B, create, "page:2", 500*time.Millisecond, 0, false),
			bookJob(A, create, "page:3", 500*time.Millisecond, s, true),
			bookJob(B, create, "page:4", 500*time.Millisecond, 2*s, true),
			{advance: s, want: -1},
			bookJob(A, create, "page:3", 500*time.Millisecond, 0, false), // its new slot
		}},
		{"a cosmetic call yields: it books only while a slot is left besides it, and holds none", []step{
			bookYield(B, create, "sync:1", 3*time.Second, 0, false), // the limit is idle
			{advance: s, want: -1},
			bookJob(A, create, "read:D1", 3*time.Second, 0, false),
			bookYield(B, create, "sync:1", 3*time.Second, s, true), // the burst slot left is the pages'
			bookJob(A, create, "read:D2", 3*time.Second, 0, false), // it is still free
			bookYield(B, create, "sync:1", 3*time.Second, 2*s, true),
			bookJob(A, create, "read:D3", 500*time.Millisecond, s, true), // held for its ticket
			bookYield(B, create, "sync:1", 3*time.Second, 3*s, true),
			{advance: s, want: -1},
			bookJob(A, create, "read:D3", 500*time.Millisecond, 0, false), // the held slot, as if no cosmetic call had come
			bookYield(B, create, "sync:1", 3*time.Second, 2*s, true),
		}},
		{"a cosmetic call waits out a 429 without booking", []step{
			{replica: A, method: create, block: 2 * time.Second},
			bookYield(B, create, "sync:1", 3*time.Second, 2*time.Second, true),
			book(A, create, "", 2*time.Second), // the first slot after the block is not taken
		}},
		{"a 429 voids the held slots", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			bookJob(A, create, "page:1", 500*time.Millisecond, s, true),
			{replica: B, method: create, block: 2 * time.Second},
			bookJob(B, create, "page:1", 500*time.Millisecond, 2*s, true), // the next free slot, not the held one
		}},
		{"Redis down: each replica paces alone from the budget it last saw, 429s still hold it back", []step{
			book(A, create, "", 0),
			{redisDown: true, want: -1},
			book(A, create, "", 0), book(A, create, "", s), book(A, create, "", 2*s), book(B, create, "", 0),
			{replica: B, method: post, channel: "D1", block: 2 * time.Second},
			book(B, post, "D1", 2*time.Second),
			book(A, post, "D1", 0),
		}},
		{"Redis back: shared again, after what each paced alone", []step{
			{redisDown: true, want: -1},
			book(A, create, "", 0), book(B, create, "", 0),
			{redisBack: true, want: -1},                    // empty, as a Redis without persistence
			book(A, create, "", 0), book(A, create, "", s), // within a second of the failure: still alone
			{advance: time.Second, want: -1},
			// A sent at 0 and 0 and holds 1.1 s: its next slot is 2.2 s,
			// 1.2 s from now, whatever Redis forgot. B's calls book after it.
			book(A, create, "", s+100*time.Millisecond), book(B, create, "", 2*s+100*time.Millisecond),
		}},
		{"a Redis that restarts between two calls does not forget them", []step{
			book(A, create, "", 0), book(A, create, "", 0),
			{redisBack: true, want: -1}, // restarted empty; A saw no error
			book(A, create, "", s), book(B, create, "", 2*s),
		}},
		{"a 429 survives a Redis restart", []step{
			{replica: A, method: post, channel: "D1", block: 3 * time.Second},
			{redisBack: true, want: -1},
			book(A, post, "D1", 3*time.Second), book(B, post, "D1", 3*time.Second+s), // after A, as without the restart
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			clock := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			replica := func() *pacer {
				return newPacer(budgetLimits(), now, &Budget{Redis: srv.Client(), Prefix: "test:", Timeout: 250 * time.Millisecond})
			}
			ps := [2]*pacer{replica(), replica()}
			for i, st := range tc.steps {
				clock = clock.Add(st.advance)
				switch {
				case st.restart:
					ps[st.replica] = replica()
					continue
				case st.redisDown:
					srv.Stop()
					continue
				case st.redisBack:
					srv.Restart()
					continue
				}
				p := ps[st.replica]
				ctx := context.Background()
				key, l := p.key(st.method, st.channel)
				if st.block > 0 {
					p.block(ctx, st.method, st.channel, st.block)
					continue
				}
				if st.want >= 0 {
					pc, bounded := bot.Pacing{}, st.pacing != nil
					if bounded {
						pc = *st.pacing
					}
					d, deferred := p.reserve(ctx, key, l, pc, bounded)
					if d != st.want || deferred != st.deferred {
						t.Fatalf("step %d (%c %s %s): wait %v deferred %v, want %v deferred %v",
							i, 'A'+st.replica, st.method, st.channel, d, deferred, st.want, st.deferred)
					}
				}
				if st.want < 0 && st.method != "" && st.blocked != p.blocked(ctx, key) {
					t.Fatalf("step %d: %c blocked on %s %s: %v, want %v", i, 'A'+st.replica, st.method, st.channel, !st.blocked, st.blocked)
				}
			}
		})
	}
}

// The Redis budget of one replica books exactly what the in-memory pacer
// books, call for call (budget.lua is the same GCRA as reserveLocal), over
// a random mix of calls, jobs with tickets, 429s and time passing.
func TestSharedBudgetMatchesLocal(t *testing.T) {
	srv := redistest.Start(t)
	clock := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	shared := newPacer(budgetLimits(), now, &Budget{Redis: srv.Client(), Prefix: "test:"})
	local := newPacer(budgetLimits(), now, nil)
	rng := rand.New(rand.NewPCG(14, 4))
	ctx := context.Background()
	channels := []string{"", "D1", "D2"}
	for i := range 2000 {
		method := "conversations.create"
		ch := channels[rng.IntN(len(channels))]
		if ch != "" {
			method = "chat.postMessage"
		}
		key, l := local.key(method, ch)
		switch r := rng.IntN(20); {
		case r == 0:
			d := time.Duration(rng.IntN(3000)) * time.Millisecond
			shared.block(ctx, method, ch, d)
			local.block(ctx, method, ch, d)
		case r < 6:
			clock = clock.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		default:
			pc, bounded := bot.Pacing{}, r%2 == 0
			if bounded {
				pc = bot.Pacing{MaxWait: time.Duration(rng.IntN(3000)) * time.Millisecond, Ticket: "page:" + string(rune('a'+rng.IntN(5))),
					Yield: rng.IntN(4) == 0}
			}
			ds, fs := shared.reserve(ctx, key, l, pc, bounded)
			dl, fl := local.reserve(ctx, key, l, pc, bounded)
			if ds != dl || fs != fl {
				t.Fatalf("op %d on %s %+v: Redis books %v deferred %v, memory %v deferred %v", i, key, pc, ds, fs, dl, fl)
			}
			if shared.blocked(ctx, key) != local.blocked(ctx, key) {
				t.Fatalf("op %d: blocked on %s differs", i, key)
			}
		}
	}
	if shared.shared.down.Load() {
		t.Fatal("the budget went down during the test")
	}
}
