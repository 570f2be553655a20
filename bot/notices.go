package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/coalesce"
	"github.com/batonhq/baton/internal/text"
)

// Notice bundling: the notices of new incidents due for one alerts channel
// at about the same time go out as one message that names every incident,
// as a person's pages do (bundle.go), and through the same mechanism: a
// coalesce.Group keyed by the alerts channel as configured, held by the
// Pager's per-target window (Pager.hold, Pager.sent), which fallback pages
// to that channel share. The first notice goes at once, alone, as today's
// notice; the notices that come while a post there is in flight, waiting
// for its rate-limit slot, or within BundleWindow of the last, go together
// in the next post: a lone one as a notice, several as one message
// (Message.Notices) that carries every notice's key (Message.Keys), so an
// incident's chat job that finds its posting mark without the notice's id
// finds the bundle by its own key and adopts it.
//
// A notice waiting for its bundle holds no chat worker (handNotice): the
// incident's chat job hands it to the group and goes on, and the group's
// poster records the outcome and brings the job forward; the posting mark
// says until when the notice is the poster's, so no run of the job (on any
// replica) posts it meanwhile, and one after it takes over a post whose
// outcome went unrecorded.
//
// On a chat that is a KeysFinder (Slack), or a Replayer (Discord: see
// replayNotice below), as for pages. A bundled
// notice is not linked to any incident and is not redrawn when one of its
// incidents changes (a reaction on it does nothing; each incident's channel
// and card are current); its incidents record it with refNoticeBundled.

// noticeItem is one notice waiting in the Syncer's coalesce group, and the
// message it went out in.
type noticeItem struct {
	nt  Notice
	key string
	// chID and ts are the message it was posted as; bundled when that
	// message names several incidents.
	chID, ts string
	bundled  bool
}

// NoticesLead is the sentence above a bundle of notices ("12 new
// incidents:").
func NoticesLead(n int) string {
	return fmt.Sprintf("%d new incidents:", n)
}

// NoticesText is a bundle of notices as plain text, for notifications: the
// lead and every incident, a line each ("INC-4 [critical] title (service)").
func NoticesText(ns []Notice) string {
	var s strings.Builder
	s.WriteString(NoticesLead(len(ns)))
	for _, n := range ns {
		fmt.Fprintf(&s, "\n%s [%s] %s (%s)", n.Ref, n.Severity, text.Truncate(n.Title, 80), n.Service)
	}
	return s.String()
}

// noticesKey is the Message.Key of a bundle of notices with these keys:
// "notices:" and a digest of them (the same notices, the same key).
func noticesKey(keys []string) string {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "\n")))
	return "notices:" + hex.EncodeToString(sum[:8])
}

// noticeHold is how long a notice handed to the notices' group is its
// poster's: the posting mark carries the deadline (noticeMark), a chat
// job that finds it earlier leaves the notice alone, and the poster gives
// up noticeSlack before it (an item not yet taken is withdrawn, a post in
// flight cancelled), so the job that runs at the deadline takes over a
// notice whose post has ended, one way or another. Far longer than a
// bundle's window and a post.
const noticeHold = 10 * time.Second

// noticeSlack is how long before noticeHold ends the poster gives up.
const noticeSlack = 3 * time.Second

// noticeMark parses a notice's posting mark: "<unix ms>" (an earlier run
// began posting then; the outcome is unknown, so the notice is looked for
// first) or "<unix ms>/<until unix ms>" (handed to the notices' group then;
// the poster records the outcome before until). at is "" when there is no
// mark.
func noticeMark(mark string) (at string, until time.Time) {
	at, u, ok := strings.Cut(mark, "/")
	if !ok {
		return at, time.Time{}
	}
	ms, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		return at, time.Time{}
	}
	return at, time.UnixMilli(ms)
}

// chatScheduler brings an incident's chat job forward
// (*incident.Store.ScheduleChat); the Incidents in use implement it.
type chatScheduler interface {
	ScheduleChat(ctx context.Context, n int64, due time.Time) error
}

// handNotice hands incident n's notice nt (key its Message.Key) to the
// notices' coalesce group for target and returns without waiting for it,
// so a notice waiting for its bundle holds no chat worker: the burst of
// notices of an alert storm gathers in one message whatever the number of
// chat workers. It first marks the notice as handed over until a deadline
// (noticeHold), which it returns: the incident's chat job runs again then
// and, should the outcome have gone unrecorded (the process died), looks
// for the notice and posts it if it is not there. The poster records the
// outcome (noticePosted) and brings the chat job forward, so it redraws
// what changed meanwhile; a post that certainly did not happen (a rate
// limit, a deferral) clears the mark, one with an unknown outcome leaves
// it without its deadline, so the job looks before it posts again.
func (s *Syncer) handNotice(ctx context.Context, n int64, target string, nt Notice, key string) (time.Time, error) {
	c := s.c
	now := c.now()
	until := now.Add(noticeHold)
	at := itoa(now.UnixMilli())
	if err := c.inc.SetChatRefs(ctx, n, map[string]string{refPostNotice: at + "/" + itoa(until.UnixMilli())}); err != nil {
		return time.Time{}, err
	}
	s.noticesOnce.Do(func() {
		s.notices = &coalesce.Group[*noticeItem]{Max: MaxBundle, Send: s.sendNotices, Hold: c.pager.hold}
	})
	// The post outlives the job's run: its own context, with the job's
	// values, ending before the mark's deadline.
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), until.Add(-noticeSlack))
	pctx = WithPacing(pctx, Pacing{MaxWait: c.syncMaxWait, Ticket: "notices:" + target})
	it := &noticeItem{nt: nt, key: key}
	go func() {
		defer cancel()
		err := s.notices.Do(pctx, target, it)
		s.noticeDone(n, target, at, it, err)
	}()
	return until, nil
}

// noticeDone records the outcome of a notice handed to the notices' group
// (handNotice) and brings the incident's chat job forward.
func (s *Syncer) noticeDone(n int64, target, at string, it *noticeItem, err error) {
	c := s.c
	ctx, cancel := context.WithTimeout(context.Background(), noticeSlack)
	defer cancel()
	set := func(kv ...string) error {
		m := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return c.inc.SetChatRefs(ctx, n, m)
	}
	due := c.now()
	var ra escalation.RetryAfterError
	switch {
	case err == nil || escalation.IsPermanent(err):
		if err = s.noticePosted(ctx, n, target, it.chID, it.ts, it.nt.Status, it.bundled, it.nt.Channel != "", err, set); err != nil {
			// Posted, not recorded (Redis failed a write): the job
			// looks for it by its key, and adopts it, before it posts
			// again.
			c.log.Warn("bot: a notice posted but not recorded; its chat job will look for it", "incident", n, "err", err)
			err = set(refPostNotice, at)
		}
	case errors.As(err, &ra):
		// Certainly not posted (a 429, the pacer's deferral): post it again
		// when the chat takes it.
		due = due.Add(ra.RetryAfter())
		err = set(refPostNotice, "")
	default:
		// Perhaps posted (a timeout, a 5xx, an answer lost): the job looks
		// for it before it posts again.
		due = due.Add(c.bundleWindow)
		c.log.Warn("bot: the notice's post failed; its chat job will look for it", "incident", n, "err", err)
		err = set(refPostNotice, at)
	}
	if err != nil {
		// Unrecorded: the mark's deadline brings the job back, which looks.
		c.log.Warn("bot: a notice's outcome not recorded", "incident", n, "err", err)
		return
	}
	if sch, ok := c.store.(chatScheduler); ok {
		if err := sch.ScheduleChat(ctx, n, due); err != nil {
			c.log.Warn("bot: a notice's chat job not brought forward", "incident", n, "err", err)
		}
	}
}

// sendNotices is the notices' coalesce send: one notice alone as today's
// notice, several as one message naming them all. Every notice gets the
// post's outcome.
func (s *Syncer) sendNotices(ctx context.Context, target string, items []*noticeItem) []error {
	c := s.c
	errs := make([]error, len(items))
	fill := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var err error
	defer func() { c.pager.sent(target, err) }()
	if len(items) == 1 {
		it := items[0]
		it.chID, it.ts, err = c.chat.Post(ctx, target, Message{Text: it.nt.Text(), Notice: &it.nt, Key: it.key})
		return fill(err)
	}
	ns := make([]Notice, len(items))
	keys := make([]string, len(items))
	for i, it := range items {
		ns[i], keys[i] = it.nt, it.key
	}
	bkey := noticesKey(keys)
	r, replays := c.noticeReplayer()
	if replays {
		// Recorded before the post, so a run that finds a notice's outcome
		// unrecorded replays this message (see below).
		if err = c.saveNoticeBundle(ctx, r, noticeBundle{Key: bkey, Keys: keys, Notices: ns, At: c.now().UnixMilli()}); err != nil {
			return fill(escalation.Unsent(err))
		}
	}
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: NoticesText(ns), Notices: ns, Key: bkey, Keys: keys})
	if err != nil {
		if replays && refusedForCertain(err) {
			c.forgetNoticeBundle(ctx, keys)
		}
		return fill(fmt.Errorf("%d notices together: %w", len(items), err))
	}
	for _, it := range items {
		it.chID, it.ts, it.bundled = chID, ts, true
	}
	c.log.Debug("notices posted together", "channel", target, "notices", len(items))
	return errs
}

// Bundled notices on a chat that replays a post by its key instead of
// finding a message by it (a Replayer: Discord, see replay.go). Before a
// bundle of notices is posted, every notice's key records the bundle as it
// will be posted (noticeBundle: its Key, Keys and notices, and the time).
// A chat job that finds its notice's posting mark without the notice's id
// (the bundle's answer was lost, or the process died) posts that bundle
// again, as recorded and under the same key: the chat answers with the
// message the first post made, or posts it now, so the bundle is there
// once and each of its incidents records it. A notice with no bundle
// recorded went alone and is posted again alone under its own key, which
// the chat answers the same way. A record older than the chat's replay
// window is not replayed: the notice is posted alone (possibly twice,
// never lost). A bundle refused for certain (a rate limit) has its records
// removed, so its notices go again in other messages.

// noticeBundle is what a bundle of notices was posted as, recorded under
// each of its notices' keys.
type noticeBundle struct {
	Key     string   `json:"k"`
	Keys    []string `json:"ks"`
	Notices []Notice `json:"n"`
	At      int64    `json:"at"` // unix ms of the post
}

// noticeBundleKey is the Redis key of the bundle a notice key went out in.
func (s *state) noticeBundleKey(key string) string { return s.base + "nbkey:" + key }

// noticeReplayer is the chat as a Replayer when it is one and cannot find
// a message by its keys (a KeysFinder looks its notices up instead).
func (c *Bot) noticeReplayer() (Replayer, bool) {
	if _, ok := c.chat.(KeysFinder); ok {
		return nil, false
	}
	r, ok := c.chat.(Replayer)
	return r, ok
}

// saveNoticeBundle records b under each of its notices' keys, for as long
// as the chat replays its post.
func (c *Bot) saveNoticeBundle(ctx context.Context, r Replayer, b noticeBundle) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("save a bundle of notices: %w", err)
	}
	pp := c.st.rdb.TxPipeline()
	for _, k := range b.Keys {
		pp.Set(ctx, c.st.noticeBundleKey(k), raw, r.ReplayWindow()+noticeHold)
	}
	if _, err := pp.Exec(ctx); err != nil {
		return fmt.Errorf("save a bundle of notices: %w", err)
	}
	return nil
}

// forgetNoticeBundle removes b's records once its post was refused for
// certain; a failure is logged (the records expire).
func (c *Bot) forgetNoticeBundle(ctx context.Context, keys []string) {
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = c.st.noticeBundleKey(k)
	}
	if err := c.st.rdb.Del(ctx, ks...).Err(); err != nil {
		c.log.Warn("bot: a refused bundle of notices' records not removed", "err", err)
	}
}

// noticeBundleOf is the bundle notice key went out in; ok is false when
// none is recorded (the notice went alone, or the record expired).
func (c *Bot) noticeBundleOf(ctx context.Context, key string) (b noticeBundle, ok bool, err error) {
	raw, err := c.st.rdb.Get(ctx, c.st.noticeBundleKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("read the bundle of notice %s: %w", key, err)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, false, fmt.Errorf("read the bundle of notice %s: %w", key, err)
	}
	return b, true, nil
}

// replayNotice posts again, on a Replayer, the message notice key went out
// in when its outcome went unrecorded: its bundle as recorded, under the
// bundle's key, when one is recorded within the replay window (bundled is
// then true), else nothing (ok false: the caller posts the notice alone
// under its own key, which the chat replays the same way).
func (c *Bot) replayNotice(ctx context.Context, r Replayer, target, key string) (chID, ts string, bundled, ok bool, err error) {
	b, found, err := c.noticeBundleOf(ctx, key)
	if err != nil || !found {
		return "", "", false, false, err
	}
	if c.now().Sub(time.UnixMilli(b.At)) >= r.ReplayWindow() {
		c.log.Warn("bot: a notice's bundle went out too long ago to be replayed; posting the notice alone", "bundle", b.Key)
		return "", "", false, false, nil
	}
	chID, ts, err = c.chat.Post(ctx, target, Message{Text: NoticesText(b.Notices), Notices: b.Notices, Key: b.Key, Keys: b.Keys})
	if err != nil {
		return "", "", false, true, fmt.Errorf("replay %d notices together: %w", len(b.Keys), err)
	}
	c.log.Info("bot: a bundle of notices whose outcome went unrecorded replayed under its key", "bundle", b.Key, "notices", len(b.Keys))
	return chID, ts, true, true, nil
}
