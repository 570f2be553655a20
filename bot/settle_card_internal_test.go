package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// cardChat records the card's post and pin; its Update of a DM message is
// refused by rate-limit pacing (escalation.Defer) when refuse says so.
type cardChat struct {
	Chat     // nil: any other method panics
	mu       sync.Mutex
	posts    []string // channel of each Post
	refused  int
	refuse   func(ctx context.Context, channel string) bool
	deferFor time.Duration
}

func (c *cardChat) Name() string { return "fake" }

func (c *cardChat) Post(ctx context.Context, channel string, m Message) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, channel)
	return channel, "200.0001", nil
}

func (c *cardChat) Update(ctx context.Context, channel, msgID string, m Message) error {
	if c.refuse(ctx, channel) {
		c.mu.Lock()
		c.refused++
		c.mu.Unlock()
		return escalation.Defer(c.deferFor)
	}
	return nil
}

func (c *cardChat) Pin(ctx context.Context, channel, msgID string) error { return nil }

// A redraw of a person's message that the chat's rate limit defers does
// not hold the incident's card back: the sync posts the card and comes
// back for the redraw when it is due. In the chaos short form (seed
// 1796194416093958865) INC-31's channel was made at 123 s and its card
// never came: the first pass of settleMsgs met an old bundle naming it
// whose redraw, statuses already shown, was for the new channel's link
// alone and so yielded, and chat.update stayed busy with pages for the rest
// of the run; the deferral ended every sync before the card.
func TestDeferredRedrawDoesNotHoldTheCardBack(t *testing.T) {
	yields := func(ctx context.Context, _ string) bool {
		pc, _ := PacingFrom(ctx)
		return pc.Yield
	}
	every := func(context.Context, string) bool { return true }
	for _, tc := range []struct {
		name   string
		refs   func(c *Bot, ctx context.Context, t *testing.T) map[string]string
		refuse func(ctx context.Context, channel string) bool
		card   bool // the card is posted in this sync
	}{
		{"a bundle's link redraw that yields: the card goes on", bundleShownWithoutLink, yields, true},
		// Its slot is booked for the sync's ticket, and the job comes
		// back to take it; a yielding card redraw (a resolved incident's)
		// with the same ticket would give the slot up.
		{"a page's status redraw deferred: its booked slot first", func(*Bot, context.Context, *testing.T) map[string]string {
			return map[string]string{refPage + "D1/100.0002": pageUnsettled}
		}, every, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			ctx := redistest.Ctx(t)
			store := incident.NewStore(rs.Client(), "t:")
			store.Unbatched = true
			if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
				Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Ack(ctx, 1, "alice", ""); err != nil {
				t.Fatal(err)
			}
			chat := &cardChat{refuse: tc.refuse, deferFor: 5 * time.Second}
			c, err := New(Options{Chat: chat, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			// The channel exists (made by this sync's run a moment ago)
			// and so does the notice, drawn with its status; the card is
			// still to post.
			refs := map[string]string{refChannel: "C1", refNotice: "CA/1.0001", refNoticeState: string(incident.StatusAcknowledged)}
			for k, v := range tc.refs(c, ctx, t) {
				refs[k] = v
			}
			if err := store.SetChatRefs(ctx, 1, refs); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			due, err := c.Syncer().Sync(ctx, 1)
			chat.mu.Lock()
			posts, refused := chat.posts, chat.refused
			chat.mu.Unlock()
			if refused == 0 {
				t.Fatal("no redraw was refused: the case does not test a deferral")
			}
			if !tc.card {
				if d, ok := escalation.IsDeferred(err); !ok || d != chat.deferFor || len(posts) != 0 {
					t.Fatalf("sync: %v, posts %v; want the deferral (%v) and no card yet", err, posts, chat.deferFor)
				}
				return
			}
			if err != nil {
				t.Fatalf("sync: %v, want the card posted and the redraw left for later", err)
			}
			if len(posts) != 1 || posts[0] != "C1" {
				t.Fatalf("posts %v, want the card in C1", posts)
			}
			if due.IsZero() || due.Before(start) || due.After(time.Now().Add(chat.deferFor)) {
				t.Fatalf("due again %v, want within the deferral (%v)", due, chat.deferFor)
			}
			got, err := store.ChatRefs(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got[refCard] != "200.0001" {
				t.Fatalf("card ref %q, want 200.0001", got[refCard])
			}
		})
	}
}

// bundleShownWithoutLink records a bundle message naming incident 1 as
// drawn with its status now (acknowledged) but without its channel's link,
// and a redraw of it asked for a while ago and due: the redraw is for the
// link alone, and yields.
func bundleShownWithoutLink(c *Bot, ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	const id, msg = "b1", "D1/100.0001"
	b := Bundle{ID: id, Entries: []BundleEntry{{Number: 1, Ref: "INC-1", Title: "disk full", Service: "db", Severity: incident.SevCritical}}}
	cur, err := c.current(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	rdb := c.st.rdb
	if err := rdb.HSet(ctx, c.st.bundle(id), "b", string(raw), "m:"+msg, cur.digest()+"|"+statusDigest(cur)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, c.st.redrawKey(msg), "at", time.Now().Add(-time.Second).UnixMilli()).Err(); err != nil {
		t.Fatal(err)
	}
	return map[string]string{refBundle + msg: id}
}
