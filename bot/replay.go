package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
)

// Delivered once on a chat that cannot look a message up by its key.
//
// The Pager's delivery check (Delivered) is asked about a page whose send
// has no recorded outcome. On Slack it reads the DM's history for the
// page's key (FindKey, KeysFinder). Discord keeps no metadata with a
// message, so nothing can be looked up afterwards; what it has instead is
// a post that is idempotent by key: a post repeated with the same
// Message.Key within a window (Discord's nonce with enforce_nonce) answers
// with the first message instead of making a second. A Chat says so by
// being a Replayer, and on such a chat the check becomes a replay: the
// exact message the page went out in is posted again, under the same key.
// If the first post landed, the chat answers with it; if it did not, the
// page is delivered now. Either way the page is there once, and the check
// answers true.
//
// That needs the Pager to know which message a page went out in, before
// the post: a bundle (several pages, one message, its Key the bundle's id)
// is recorded in Redis under every page key it carries before it is posted
// (saveBundle: bkey:<page key> → bundle id, the bundle with its page keys
// and the time of its post). A page with no bundle recorded went alone,
// under its own key. So:
//
//   - a page of a bundle whose message is recorded is delivered (the run
//     that posted it, or an earlier replay, recorded it);
//   - a page of a bundle with no message recorded replays the bundle as it
//     was saved (its Key and Keys), once per process at a time (the
//     replays of one bundle's pages, asked together, share one post:
//     replays); every one of its pages is then delivered, whichever of
//     them was asked;
//   - a page of a bundle older than the chat's ReplayWindow is not
//     replayed: the chat would no longer answer with the first message, so
//     the check answers "not found" and the page is sent again (possibly
//     twice, never lost);
//   - a page with no bundle replays itself, alone, as Page would post it.
//
// A bundle refused for certain (a 429, the pacer's Defer) has its bkey
// records removed, so its pages, sent again in other messages, are never
// replayed as that bundle.

// Replayer is what a Chat may offer instead of KeysFinder: Post is
// idempotent by Message.Key. A post carrying the same Key as one posted
// less than ReplayWindow ago, by the same bot, is answered with the
// earlier message (its channel and id) and posts nothing. Discord does
// this with a message nonce and enforce_nonce. On such a chat the Pager
// bundles pages and checks a page's delivery by replaying its message.
type Replayer interface {
	// ReplayWindow is how long the chat answers a repeated key with the
	// first message.
	ReplayWindow() time.Duration
}

// bundles reports whether pages to one target may go as one message: the
// chat can tell, after a bundle's answer was lost, that its pages were
// delivered (it finds a message by any of its keys, or replays a post by
// its key).
func (p *Pager) bundles() bool {
	switch p.c.chat.(type) {
	case KeysFinder, Replayer:
		return true
	}
	return false
}

// replayer is the chat as a Replayer when it is one and cannot find a
// message by its keys (a KeysFinder checks by reading instead).
func (p *Pager) replayer() (Replayer, bool) {
	if _, ok := p.c.chat.(KeysFinder); ok {
		return nil, false
	}
	r, ok := p.c.chat.(Replayer)
	return r, ok
}

// replayItem is one delivery check waiting for its bundle's replay.
type replayItem struct {
	pg     escalation.Page
	target string
}

// replayed answers Delivered on a Replayer chat (see above): it posts pg's
// message again under the same key. found is false only for a bundle
// older than the replay window.
func (p *Pager) replayed(ctx context.Context, r Replayer, pg escalation.Page, target string) (bool, error) {
	c := p.c
	id, err := c.bundleOfKey(ctx, pg.Key)
	if err != nil {
		return false, err
	}
	if id == "" {
		card, refs, err := p.card(ctx, pg)
		if err != nil {
			return false, err
		}
		if err := p.postOne(ctx, target, pg, card, refs); err != nil {
			return false, fmt.Errorf("replay: %w", err)
		}
		return true, nil
	}
	p.replaysOnce.Do(func() {
		p.replays.Send = func(ctx context.Context, id string, items []*replayItem) []error {
			err := p.replayBundle(ctx, r, id, items[0].target)
			errs := make([]error, len(items))
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
	})
	err = p.replays.Do(ctx, id, &replayItem{pg: pg, target: target})
	if errors.Is(err, errReplayTooOld) {
		c.log.Warn("bot: a page's bundle went out too long ago to be found again; sending the page again", "incident", pg.Incident, "bundle", id)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replay bundle %s: %w", id, err)
	}
	return true, nil
}

// errReplayTooOld: the bundle was posted longer ago than the chat's replay
// window.
var errReplayTooOld = errors.New("bundle older than the chat's replay window")

// replayBundle posts bundle id again under its own key, unless a message
// of it is recorded already, and records the message for every incident
// of the bundle as bundlePosted does.
func (p *Pager) replayBundle(ctx context.Context, r Replayer, id, target string) error {
	c := p.c
	b, msgs, ok, err := c.loadBundle(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return errReplayTooOld // expired with its record
	}
	if len(msgs) > 0 {
		return nil // posted, and recorded: by its run, or an earlier replay
	}
	keys, at, err := c.bundlePost(ctx, id)
	if err != nil {
		return err
	}
	if at.IsZero() || c.now().Sub(at) >= r.ReplayWindow() {
		return errReplayTooOld
	}
	// What it shows now: a first post that landed is answered as it was
	// (the key wins), one that did not is posted as things are.
	cur, err := c.current(ctx, b)
	if err != nil {
		return err
	}
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: cur.Text(), Bundle: &cur, Key: b.ID, Keys: keys})
	if err != nil {
		return err
	}
	c.learnChannel(ctx, target, chID)
	for _, e := range b.Entries {
		if err := p.foundBundle(ctx, escalation.Page{Incident: e.Number}, chID, ts, id); err != nil {
			c.log.Warn("bot: a replayed bundle not recorded for an incident; it will keep its button after an ack", "incident", e.Number, "err", err)
		}
	}
	c.log.Info("bot: a bundle whose answer was lost replayed under its key", "bundle", id, "pages", len(keys))
	return nil
}

// bundlePost reads what saveBundle recorded of a bundle's post: its page
// keys and when it was posted (zero when not recorded).
func (c *Bot) bundlePost(ctx context.Context, id string) ([]string, time.Time, error) {
	vals, err := c.st.rdb.HMGet(ctx, c.st.bundle(id), "k", "at").Result()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read bundle %s: %w", id, err)
	}
	var keys []string
	if s, ok := vals[0].(string); ok {
		if err := json.Unmarshal([]byte(s), &keys); err != nil {
			return nil, time.Time{}, fmt.Errorf("read bundle %s: %w", id, err)
		}
	}
	var at time.Time
	if s, ok := vals[1].(string); ok {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			at = time.UnixMilli(ms)
		}
	}
	return keys, at, nil
}

// saveBundlePost adds to a bundle's record, in the pipeline that saves
// it, its page keys and the time of its post, which a replay needs.
func (c *Bot) saveBundlePost(ctx context.Context, pp redis.Pipeliner, id string, keys []string) error {
	raw, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	pp.HSet(ctx, c.st.bundle(id), "k", raw, "at", strconv.FormatInt(c.now().UnixMilli(), 10))
	return nil
}

// forgetBundle removes the records of which pages went out in bundle id,
// once its post was refused for certain: its pages go again in other
// messages, and a delivery check of one of them must not replay this one.
// A failure is logged: the runner recorded the pages as not sent, so no
// check is asked about them.
func (c *Bot) forgetBundle(ctx context.Context, id string, keys []string) {
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.st.bundleKey(k)
	}
	if err := c.st.rdb.Del(ctx, bk...).Err(); err != nil {
		c.log.Warn("bot: a refused bundle's page records not removed", "bundle", id, "err", err)
	}
}

// refusedForCertain reports whether a post's error says it certainly did
// not post (a rate limit's RetryAfter, the pacer's Defer, Unsent).
func refusedForCertain(err error) bool {
	var ra escalation.RetryAfterError
	return errors.As(err, &ra) || escalation.IsUnsent(err)
}
