package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/redistest"
)

// keysChat is a chat whose only use here is FindKeys over a fixed set of
// messages per channel; the first read of each channel waits at gate.
type keysChat struct {
	Chat      // nil: any other method panics
	msgs      map[string]map[string]string
	gate      chan struct{} // nil: no wait
	reads     atomic.Int32
	asked     chan []string
	refuseFor time.Duration // when set, every read is refused by rate-limit pacing for this long
}

func (c *keysChat) FindKeys(ctx context.Context, channel string, keys []string, recent int) (map[string]string, error) {
	if c.reads.Add(1) == 1 && c.gate != nil {
		<-c.gate
	}
	if c.refuseFor > 0 {
		return nil, escalation.Defer(c.refuseFor)
	}
	c.asked <- keys
	out := map[string]string{}
	for k, ts := range c.msgs[channel] {
		if keys == nil || slices.Contains(keys, k) {
			out[k] = ts
		}
	}
	return out, nil
}

// checksBot is a Bot with what findPage uses: chat, clock, a private
// Redis for the reads kept for other replicas.
func checksBot(t *testing.T, chat Chat, now func() time.Time) *Bot {
	return &Bot{chat: chat, now: now, st: newState(redistest.Start(t).Client(), "test:", "t"), log: slog.New(slog.DiscardHandler)}
}

// Delivery checks for one person's DM that arrive while a read of it is in
// flight share the next read: after a chat outage, six pages to one person
// cost two history reads, not six, and each gets its own answer.
func TestDeliveryChecksShareARead(t *testing.T) {
	chat := &keysChat{
		msgs:  map[string]map[string]string{"D1": {"INC-1/0/first/dana": "1.1", "INC-3/0/first/dana": "1.3", "INC-5/0/first/dana": "1.5"}},
		gate:  make(chan struct{}),
		asked: make(chan []string, 16),
	}
	p := &Pager{c: checksBot(t, chat, time.Now)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make([]string, 7)
	errs := make([]error, 7)
	var wg sync.WaitGroup
	check := func(i int) {
		defer wg.Done()
		got[i], errs[i] = p.findPage(ctx, "D1", fmt.Sprintf("INC-%d/0/first/dana", i))
	}
	wg.Add(1)
	go check(1) // the first goes alone and is held at the gate
	for chat.reads.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the first read never began")
		case <-time.After(time.Millisecond):
		}
	}
	for i := 2; i <= 6; i++ {
		wg.Add(1)
		go check(i)
	}
	for p.checks.Pending("D1") < 5 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d checks wait for the next read, want 5", p.checks.Pending("D1"))
		case <-time.After(time.Millisecond):
		}
	}
	close(chat.gate)
	wg.Wait()
	if n := chat.reads.Load(); n != 2 {
		t.Errorf("%d history reads for 6 checks, want 2", n)
	}
	for i := 1; i <= 6; i++ {
		want := map[bool]string{true: fmt.Sprintf("1.%d", i)}[i%2 == 1]
		if errs[i] != nil || got[i] != want {
			t.Errorf("check of INC-%d: %q, %v; want %q", i, got[i], errs[i], want)
		}
	}
}

// A check deferred by rate-limit pacing leaves the channel's read waiting
// for its slot; the checks of that channel that come meanwhile are deferred
// to the same slot without asking the chat (one slot each would bring them
// back one at a time, never sharing a read); after the slot they read again.
func TestDeferredReadHoldsLaterChecks(t *testing.T) {
	chat := &keysChat{msgs: map[string]map[string]string{"D1": {"INC-2/0/first/dana": "1.2"}},
		asked: make(chan []string, 16), refuseFor: 5 * time.Second}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p := &Pager{c: checksBot(t, chat, func() time.Time { return now })}
	ctx := context.Background()
	cases := []struct {
		name      string
		channel   string
		advance   time.Duration
		reads     int32
		deferFor  time.Duration // 0: not deferred
		found     string
		unblocked bool // the chat stops deferring first
	}{
		{"the first check: the chat defers the read", "D1", 0, 1, 5 * time.Second, "", false},
		{"a second check meanwhile waits for that slot", "D1", 2 * time.Second, 1, 3 * time.Second, "", false},
		{"another channel is not held", "D2", 0, 2, 5 * time.Second, "", false},
		{"after the slot the check reads again", "D1", 3 * time.Second, 3, 0, "1.2", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			if tc.unblocked {
				chat.refuseFor = 0
			}
			ts, err := p.findPage(ctx, tc.channel, "INC-2/0/first/dana")
			d, deferred := escalation.IsDeferred(err)
			switch {
			case tc.deferFor > 0 && (!deferred || d != tc.deferFor):
				t.Fatalf("err %v, want a deferral of %v", err, tc.deferFor)
			case tc.deferFor == 0 && err != nil:
				t.Fatal(err)
			}
			if ts != tc.found {
				t.Errorf("found %q, want %q", ts, tc.found)
			}
			if n := chat.reads.Load(); n != tc.reads {
				t.Errorf("%d reads so far, want %d", n, tc.reads)
			}
		})
	}
}

// Replicas share their delivery-check reads through Redis: a read another
// replica kept answers a check only when it began after the check did
// (first asked, on any replica, before any deferral), so a page sent after
// that read is never taken as missing; an older read is not used. A
// deferred check that comes back on another replica is answered by the
// read made meanwhile (kept in one process, its start was lost there).
func TestKeptReadAnswersLaterChecksOnly(t *testing.T) {
	chat := &keysChat{msgs: map[string]map[string]string{"D1": {"INC-1/0/first/dana": "1.1", "INC-3/0/first/dana": "1.3"}},
		asked: make(chan []string, 16)}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ps := replicaPagers(t, chat, clock, 3)
	ctx := context.Background()
	cases := []struct {
		name     string
		replica  int
		key      string
		advance  time.Duration
		deferFor time.Duration // the chat defers reads this long from now on (0: it reads)
		reads    int32         // FindKeys calls so far
		deferred bool
		found    string
	}{
		{"B reads for its check and keeps the read", 1, "INC-2/0/first/dana", 0, 0, 1, false, ""},
		{"A's later check does not take that older read", 0, "INC-1/0/first/dana", time.Second, 0, 2, false, "1.1"},
		{"A's check is deferred: the read waits for a slot", 0, "INC-3/0/first/dana", time.Second, 5 * time.Second, 3, true, ""},
		{"B reads meanwhile, after A's check began", 1, "INC-4/0/first/dana", time.Second, 0, 4, false, ""},
		{"A's check comes back: B's read answers it", 0, "INC-3/0/first/dana", time.Second, 0, 4, false, "1.3"},
		{"another check at A waits for A's deferred read", 0, "INC-5/0/first/dana", time.Second, 5 * time.Second, 4, true, ""},
		{"B reads meanwhile for a check of its own", 1, "INC-6/0/first/dana", time.Second, 0, 5, false, ""},
		{"the deferred check comes back on C: B's read answers it", 2, "INC-5/0/first/dana", time.Second, 0, 5, false, ""},
		{"a check answered is new when asked again: C reads", 2, "INC-5/0/first/dana", time.Second, 0, 6, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			chat.refuseFor = tc.deferFor
			ts, err := ps[tc.replica].findPage(ctx, "D1", tc.key)
			if _, deferred := escalation.IsDeferred(err); deferred != tc.deferred || (err != nil && !deferred) {
				t.Fatalf("err %v, want deferred %v", err, tc.deferred)
			}
			if ts != tc.found {
				t.Errorf("found %q, want %q", ts, tc.found)
			}
			if n := chat.reads.Load(); n != tc.reads {
				t.Errorf("%d reads so far, want %d", n, tc.reads)
			}
		})
	}
}

// A check that comes back while another replica's read of the same DM is
// in flight, a read that began after the check first asked, takes that
// read's answer instead of booking a read of its own after it (the chaos
// short form: a page decided "not delivered" 12 s after its check began,
// one DM read in flight missed and another booked 2.6 s later). A check
// that began after the read in flight did must not take it: it reads.
func TestCheckJoinsAReadInFlight(t *testing.T) {
	chat := &keysChat{msgs: map[string]map[string]string{"D1": {"INC-1/0/first/dana": "1.1", "INC-3/0/first/dana": "1.3"}},
		gate: make(chan struct{}), asked: make(chan []string, 16)}
	ps := replicaPagers(t, chat, time.Now, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: never", what)
			case <-time.After(time.Millisecond):
			}
		}
	}
	type answer struct {
		ts  string
		err error
	}
	check := func(p *Pager, key string) chan answer {
		ch := make(chan answer, 1)
		go func() {
			ts, err := p.findPage(ctx, "D1", key)
			ch <- answer{ts, err}
		}()
		return ch
	}

	// B's check of INC-1 begins (and is deferred: its read waits for a slot).
	if _, rs := ps[1].sharedRead(ctx, "D1", "INC-1/0/first/dana"); rs != readNone {
		t.Fatalf("a first check found %v, want nothing", rs)
	}
	// A reads D1 for a check of its own; the read is held in flight.
	a := check(ps[0], "INC-2/0/first/dana")
	waitFor("A's read begins", func() bool { return chat.reads.Load() == 1 })
	// B's check comes back meanwhile: it waits for A's read.
	b := check(ps[1], "INC-1/0/first/dana")
	for ps[1].joins.Load() == 0 {
		select {
		case got := <-b:
			t.Fatalf("B's check answered %q, %v without waiting for A's read (%d reads), want it to wait", got.ts, got.err, chat.reads.Load())
		case <-ctx.Done():
			t.Fatal("B's check never waits for A's read")
		case <-time.After(time.Millisecond):
		}
	}
	// C's check of another page begins after A's read did: A's read
	// cannot answer it, so C reads (and does not wait).
	c := check(ps[2], "INC-3/0/first/dana")
	if got := <-c; got.err != nil || got.ts != "1.3" {
		t.Errorf("C's check: %q, %v; want 1.3", got.ts, got.err)
	}
	if n := chat.reads.Load(); n != 2 {
		t.Errorf("%d reads after C's check, want 2 (A's in flight, C's own)", n)
	}
	close(chat.gate)
	if got := <-a; got.err != nil || got.ts != "" {
		t.Errorf("A's check: %q, %v; want not found", got.ts, got.err)
	}
	if got := <-b; got.err != nil || got.ts != "1.1" {
		t.Errorf("B's check: %q, %v; want 1.1 from A's read", got.ts, got.err)
	}
	if n := chat.reads.Load(); n != 2 {
		t.Errorf("%d reads in all, want 2: B's check took a read made meanwhile", n)
	}
}

// A check about to read claims the DM's read in the same step as it looks
// for one to join: checks of the same DM on two replicas that found nothing
// to join at the same moment then read it once, not each (with the cores
// busy, TestDeliveryChecksAfterAnOutage read some DMs three times so). A
// check coming while the read is claimed but not yet begun waits for it:
// the read will begin after the check did, so its answer is fresh enough.
func TestClaimedReadIsJoined(t *testing.T) {
	chat := &keysChat{msgs: map[string]map[string]string{"D1": {"INC-1/0/first/dana": "1.1"}}}
	ps := replicaPagers(t, chat, time.Now, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A found nothing to join and claims D1's read; B, at the same moment,
	// cannot.
	if !ps[0].claimRead(ctx, "D1") {
		t.Fatal("A's claim of D1's read refused, want it granted")
	}
	if ps[1].claimRead(ctx, "D1") {
		t.Fatal("B's claim of D1's read granted while A's holds, want it refused")
	}
	// B's check waits for A's read instead of reading.
	b := make(chan string, 1)
	go func() {
		ts, err := ps[1].findPage(ctx, "D1", "INC-1/0/first/dana")
		if err != nil {
			t.Errorf("B's check: %v", err)
		}
		b <- ts
	}()
	for ps[1].joins.Load() == 0 {
		select {
		case ts := <-b:
			t.Fatalf("B's check answered %q (%d reads) without waiting for A's claimed read", ts, chat.reads.Load())
		case <-ctx.Done():
			t.Fatal("B's check never waits for A's claimed read")
		case <-time.After(time.Millisecond):
		}
	}
	// A's read begins (after B's check did) and is kept: B takes it.
	began := time.Now()
	ps[0].reading(ctx, "D1", began)
	ps[0].keepRead(ctx, "D1", began, chat.msgs["D1"])
	ps[0].readDone(ctx, "D1", began)
	select {
	case ts := <-b:
		if ts != "1.1" {
			t.Errorf("B's check found %q, want 1.1 from A's read", ts)
		}
	case <-ctx.Done():
		t.Fatal("B's check never took A's read")
	}
	if n := chat.reads.Load(); n != 0 {
		t.Errorf("B's check read D1 itself (%d reads), want it to take A's", n)
	}
}

// replicaPagers is n Pagers of chat sharing one private Redis, as the
// replicas of one baton share theirs, each reading the time from now.
func replicaPagers(t *testing.T, chat *keysChat, now func() time.Time, n int) []*Pager {
	t.Helper()
	rdb := redistest.Start(t).Client()
	ps := make([]*Pager, n)
	for i := range ps {
		ps[i] = &Pager{c: &Bot{chat: chat, now: now, st: newState(rdb, "test:", "t"), log: slog.New(slog.DiscardHandler)}}
	}
	return ps
}
