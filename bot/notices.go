package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

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
// Only on a chat that is a KeysFinder (Slack), as for pages. A bundled
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

// postNotice posts nt (key its Message.Key) in target: through the
// notices' coalesce group on a chat that is a KeysFinder, else alone.
// bundled reports that the message names other incidents too.
func (s *Syncer) postNotice(ctx context.Context, target string, nt Notice, key string) (chID, ts string, bundled bool, err error) {
	c := s.c
	if _, ok := c.chat.(KeysFinder); !ok {
		chID, ts, err = c.chat.Post(ctx, target, Message{Text: nt.Text(), Notice: &nt, Key: key})
		return chID, ts, false, err
	}
	s.noticesOnce.Do(func() {
		s.notices = &coalesce.Group[*noticeItem]{Max: MaxBundle, Send: s.sendNotices, Hold: c.pager.hold}
	})
	it := &noticeItem{nt: nt, key: key}
	if err := s.notices.Do(ctx, target, it); err != nil {
		return "", "", false, err
	}
	return it.chID, it.ts, it.bundled, nil
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
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: NoticesText(ns), Notices: ns, Key: noticesKey(keys), Keys: keys})
	if err != nil {
		return fill(fmt.Errorf("%d notices together: %w", len(items), err))
	}
	for _, it := range items {
		it.chID, it.ts, it.bundled = chID, ts, true
	}
	c.log.Debug("notices posted together", "channel", target, "notices", len(items))
	return errs
}
