package bot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
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
	for _, k := range keys {
		if ts, ok := c.msgs[channel][k]; ok {
			out[k] = ts
		}
	}
	return out, nil
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
	p := &Pager{c: &Bot{chat: chat, now: time.Now}}
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
	if second := <-chat.asked; len(second) != 1 {
		t.Errorf("the first read asked %v, want its own key alone", second)
	}
	if second := <-chat.asked; len(second) != 5 {
		t.Errorf("the second read asked %v, want the 5 keys that waited", second)
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
	p := &Pager{c: &Bot{chat: chat, now: func() time.Time { return now }}}
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
