package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// replayChat is a chat that posts idempotently by key, as Discord does
// with a nonce: a post repeating a key is answered with the first message.
// fail, when set, decides a post's fault: lost (the post is made, its
// answer is an error) or refused (nothing posted, the error returned).
type replayChat struct {
	bot.Chat // nil: any other method panics
	window   time.Duration
	fail     func(m bot.Message) (err error, lost bool)

	mu    sync.Mutex
	posts []bot.Message     // every Post call
	msgs  []bot.Message     // the messages in the chat
	byKey map[string]string // key → message id
}

func (c *replayChat) Name() string                { return "replay" }
func (c *replayChat) ReplayWindow() time.Duration { return c.window }
func (c *replayChat) OpenDM(_ context.Context, uid string) (string, error) {
	return "D" + uid, nil
}

func (c *replayChat) Post(_ context.Context, ch string, m bot.Message) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, m)
	if id, ok := c.byKey[m.Key]; ok && m.Key != "" {
		return ch, id, nil
	}
	var err error
	lost := false
	if c.fail != nil {
		err, lost = c.fail(m)
	}
	if err != nil && !lost {
		return "", "", err
	}
	c.msgs = append(c.msgs, m)
	id := fmt.Sprint(len(c.msgs))
	c.byKey[m.Key] = id
	return ch, id, err
}

func (c *replayChat) state() (posts, msgs []bot.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts), slices.Clone(c.msgs)
}

var _ bot.Replayer = (*replayChat)(nil)

// The delivery check on a chat that replays posts by key (Discord): a page
// whose send has no recorded outcome is posted again under the same key,
// a bundle's page as its whole bundle; the chat answers with the first
// message, so every page is there once and every check answers true.
func TestDeliveredByReplay(t *testing.T) {
	bundlePost := func(m bot.Message) bool { return m.Bundle != nil }
	tests := []struct {
		name string
		// fail is the chat's answer to a post of the bundle (pages 2–4;
		// page 1 goes alone first).
		fail func(m bot.Message) (error, bool)
		// after is how long after the bundle's post the checks come.
		after time.Duration
		// found is the checks' answer; posts the chat's post calls after
		// the sends (the replays); msgs the messages it holds in the end.
		found bool
		posts int
		msgs  int
	}{
		{name: "bundle delivered and recorded: no replay", found: true, posts: 0, msgs: 2},
		{name: "bundle's answer lost: replayed once under its key, one message",
			fail:  func(m bot.Message) (error, bool) { return errors.New("502 after posting"), bundlePost(m) },
			found: true, posts: 1, msgs: 2},
		{name: "bundle's answer lost longer ago than the replay window: not found, nothing posted",
			fail:  func(m bot.Message) (error, bool) { return errors.New("502 after posting"), bundlePost(m) },
			after: 3 * time.Minute, found: false, posts: 0, msgs: 2},
		{name: "bundle refused for certain: its pages replay alone, not the bundle",
			fail: func(m bot.Message) (error, bool) {
				if bundlePost(m) {
					return escalation.RetryAfter(errors.New("429"), time.Second), false
				}
				return nil, false
			},
			found: true, posts: 3, msgs: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			store := incident.NewStore(rs.Client(), "t:")
			store.Unbatched = true
			var clock atomic.Int64
			clock.Store(time.Now().UnixNano())
			now := func() time.Time { return time.Unix(0, clock.Load()) }
			chat := &replayChat{window: 2 * time.Minute, byKey: map[string]string{}}
			b, err := bot.New(bot.Options{Chat: chat, Incidents: store, Redis: rs.Client(), Prefix: "t:", Now: now,
				Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
				People:       []bot.Person{{ID: "dana", Name: "Dana", ChatID: "UDANA"}},
				BundleWindow: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			var pages []escalation.Page
			for i := 1; i <= 4; i++ {
				r, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: fmt.Sprint("k", i),
					Summary: fmt.Sprint("alert ", i), Severity: incident.SevCritical, Status: incident.AlertFiring})
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, escalation.Page{Incident: r.Number, Person: "dana", Owner: "dana", Level: 1,
					Reason: escalation.ReasonFirst, Key: fmt.Sprintf("INC-%d/0/first/dana", r.Number)})
			}
			// Page 1 alone, then pages 2–4 while the DM's window holds:
			// one bundle.
			pager := b.Pager()
			if _, err := pager.PageBundled(ctx, pages[0]); err != nil {
				t.Fatal(err)
			}
			chat.fail = tc.fail
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Go(func() { _, _ = pager.PageBundled(ctx, pages[i+1]) })
			}
			wg.Wait()
			sent, _ := chat.state()
			if len(sent) != 2 || sent[1].Bundle == nil || len(sent[1].Keys) != 3 {
				t.Fatalf("posts %d; want page 1 alone, then one bundle of pages 2–4", len(sent))
			}
			chat.fail = nil
			clock.Add(int64(tc.after))
			// The checks of the bundle's pages, together, and of page 1.
			found := make([]bool, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Go(func() { found[i], errs[i] = pager.Delivered(ctx, pages[i]) })
			}
			wg.Wait()
			for i := range 4 {
				want := tc.found || i == 0
				if errs[i] != nil || found[i] != want {
					t.Errorf("page %d: delivered %v, %v; want %v", i+1, found[i], errs[i], want)
				}
			}
			posts, msgs := chat.state()
			replays := posts[2:]
			// Page 1's check replays it alone under its key: answered with
			// its message, nothing posted.
			if len(replays) != tc.posts+1 || len(msgs) != tc.msgs {
				t.Errorf("%d replays, %d messages; want %d and %d", len(replays)-1, len(msgs), tc.posts, tc.msgs)
			}
			for _, m := range replays {
				if m.Bundle != nil && (m.Key != sent[1].Key || !slices.Equal(m.Keys, sent[1].Keys)) {
					t.Errorf("bundle replayed as %s %v; posted as %s %v", m.Key, m.Keys, sent[1].Key, sent[1].Keys)
				}
			}
		})
	}
}
