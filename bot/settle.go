package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// Keeping messages to people current. Every page, bundle and "still on
// it?" DM that shows buttons is recorded in its incident's chat references
// (recordMsg, within maxMsgRefs), and the chat sync redraws each of them
// that has gone stale (settleMsgs): buttons gone once nobody needs to act,
// the incident's channel link once the channel exists. A bundle names many
// incidents, so its redraw waits a moment and is made once for all of them
// (redrawBundleMsg).

// refLease is the field of a "still on it?" DM: "l:<channel>/<msg>" = the
// person it asks, while it shows its buttons.
const refLease = "l:"

// refPageIn is the field of a page-in DM: "i:<channel>/<msg>" = the person
// paged in, while it shows its button. The chat sync redraws it once that
// person acknowledged their page or the incident is resolved: a chat that
// cannot find a message by its key (Discord) has no other way to.
const refPageIn = "i:"

// maxMsgRefs bounds the messages an incident's chat references record (its
// pages, bundles, page-in and "still on it?" DMs in all channels of one
// chat), so that the hash stays small. Past it the records of messages
// already settled go first (they show no button), then the oldest: that
// message keeps its buttons (pressing them says the incident is taken).
// Forty covers an incident re-paged every five minutes for over three
// hours, or a storm's DMs: in issue 14's (20 incidents, re-paged every
// second) a person got an incident's two single pages and some twenty
// bundles naming it, and with sixteen the singles' records were dropped
// and they kept their buttons after "Acknowledge all".
const maxMsgRefs = 40

// redrawDelay is how long a bundle message whose incidents changed waits
// before it is redrawn, so that the changes made together (twenty
// acknowledged at once) cost one redraw; linkDelay the same for a link to
// an incident channel made since it was drawn (in a storm the channels come
// one every few seconds: one redraw for those that came within it).
const (
	redrawDelay = time.Second
	linkDelay   = 10 * time.Second
)

// redrawClaim is how long a replica's claim on redrawing one message
// lasts: the redraw of a dead replica is taken over after it.
const redrawClaim = 10 * time.Second

// isMsgRef reports whether a chat reference field records a message to a
// person (or a fallback page in an alerts channel).
func isMsgRef(f string) bool {
	return strings.HasPrefix(f, refPage) || strings.HasPrefix(f, refBundle) || strings.HasPrefix(f, refLease) ||
		strings.HasPrefix(f, refPageIn)
}

// pageInDone reports whether person's page-in DMs of inc no longer need
// their button: the incident is resolved, or they acknowledged their page
// (or are no longer paged in).
func pageInDone(inc incident.Incident, person string) bool {
	if inc.Status == incident.StatusResolved {
		return true
	}
	for _, x := range inc.PagedIn {
		if x.Person == person {
			return x.Acked || x.Failed
		}
	}
	return true
}

// settleLate asks for incident n's chat sync now when a message just
// recorded for it (a page or bundle, or person's page-in DM when person is
// set) already needs settling: the incident was acknowledged or resolved
// (the page-in acknowledged) while it was being posted, after the sync
// that settles had read the records. Without it that message kept its
// buttons until the incident changed again. Failures are logged.
func (c *Bot) settleLate(ctx context.Context, n int64, person string) {
	inc, _, err := c.inc.Get(ctx, n)
	if err != nil {
		c.log.Warn("bot: could not check a message just recorded; it may keep its buttons", "incident", n, "err", err)
		return
	}
	if person != "" && !pageInDone(inc, person) || person == "" && inc.Status == incident.StatusTriggered {
		return
	}
	sch, ok := c.store.(chatScheduler)
	if !ok {
		return
	}
	if err := sch.ScheduleChat(ctx, n, c.now()); err != nil {
		c.log.Warn("bot: could not ask for a chat sync; a message may keep its buttons", "incident", n, "err", err)
	}
}

// msgOlder orders message ids of one chat: Slack's "seconds.micros" and
// Discord's snowflakes both sort by length, then bytes.
func msgOlder(a, b string) int {
	_, a, _ = strings.Cut(a, "/")
	_, b, _ = strings.Cut(b, "/")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// recordMsg is the change to an incident's chat references refs that
// records field = value (a message just posted) and drops the records
// beyond maxMsgRefs: settled ones first, then the oldest. Earlier messages in the same channel stay
// recorded: each keeps its buttons until the chat sync redraws it.
func recordMsg(refs map[string]string, field, value string) map[string]string {
	m := map[string]string{field: value}
	var have []string
	for f := range refs {
		if f != field && isMsgRef(f) {
			have = append(have, f)
		}
	}
	if extra := len(have) + 1 - maxMsgRefs; extra > 0 {
		// Settled first, then oldest first.
		slices.SortFunc(have, func(a, b string) int {
			if c := cmp.Compare(msgLive(a, refs[a]), msgLive(b, refs[b])); c != 0 {
				return c
			}
			return msgOlder(a[2:], b[2:])
		})
		for _, f := range have[:extra] {
			m[f] = ""
		}
	}
	return m
}

// msgLive is 1 while the message recorded as field = v may still show a
// button (its record not yet settled), 0 once it was redrawn without.
func msgLive(field, v string) int {
	switch {
	case strings.HasPrefix(field, refPage) && !strings.HasPrefix(v, pageUnsettled):
		return 0
	case strings.HasPrefix(field, refBundle) && strings.Contains(v, "|"):
		return 0
	}
	return 1
}

// pageShown is what a page's record says it shows while live:
// pageUnsettled, or, drawn before the incident's channel existed,
// "-!<reason>/<level>/<why>" (what its lead is drawn from again when the
// link is added).
func pageShown(pg escalation.Page, card Card) string {
	if card.Channel != "" {
		return pageUnsettled
	}
	reason := string(pg.Reason)
	if pg.Reason == escalation.ReasonFallback && strings.HasPrefix(pg.Key, "pagein:") {
		reason = "pagein"
	}
	v := pageUnsettled + "!" + reason + "/" + strconv.Itoa(pg.Level) + "/"
	return v + text.FitBytes(pg.Why, incident.MaxChatRefBytes-len(v))
}

// parsePageShown reads a page record: the status it shows (pageUnsettled
// while live), whether it lacks the channel link, and the page it was
// drawn for (reason, level, why) when it does.
func parsePageShown(v string, n int64) (shown string, noLink bool, pg escalation.Page) {
	rest, noLink := strings.CutPrefix(v, pageUnsettled+"!")
	if !noLink {
		return v, false, pg
	}
	reason, rest, _ := strings.Cut(rest, "/")
	level, why, _ := strings.Cut(rest, "/")
	pg = escalation.Page{Incident: n, Reason: escalation.Reason(reason), Why: why}
	pg.Level, _ = strconv.Atoi(level)
	if reason == "pagein" {
		pg.Reason, pg.Key = escalation.ReasonFallback, "pagein:"
	}
	return pageUnsettled, true, pg
}

// bundleShown is a bundle record's value for an incident whose chat
// references are refs: the bundle id, and "!" when it was drawn before the
// incident's channel existed.
func bundleShown(refs map[string]string, id string) string {
	if refs[refChannel] == "" {
		return id + "!"
	}
	return id
}

// parseBundleShown reads a bundle record "<id>[|<status>][!]".
func parseBundleShown(v string) (id, shown string, noLink bool) {
	v, noLink = strings.CutSuffix(v, "!")
	id, shown, _ = strings.Cut(v, "|")
	return id, shown, noLink
}

// settleMsgs redraws the messages to people of incident inc (its chat
// references refs; its channel ch) that have gone stale: a page or bundle
// still showing a button for it once it is acknowledged or resolved (each
// once per status), one drawn before its channel existed (the link added),
// and a "still on it?" DM once the incident is resolved or someone else
// owns it. It returns when it must run again for a bundle whose redraw
// waits (redrawBundleMsg) or a link redraw that yielded and was deferred
// (the others are still made, and the sync goes on to the card). A
// message that is gone is logged and left; a
// page so found is forgotten (its record deleted), so no later status or
// link redraw tries it again.
// With links false it makes only the redraws that take buttons away (the
// pass before the card, Syncer.reconcile): a link redraw yields, and one
// deferred there would hold the card back.
func (s *Syncer) settleMsgs(ctx context.Context, inc incident.Incident, ch string, owner *PersonRef, refs map[string]string, set func(...string) error, links bool) (time.Time, error) {
	c := s.c
	// A redraw that takes buttons away (the incident acknowledged or
	// resolved) books its slot as the card's redraw does, even for a
	// resolved incident (whose sync otherwise yields, Sync): a person's DM
	// offering Acknowledge on what is taken is not catch-up. Yielding, it
	// waited for a free slot that a storm's live cards never left, and a
	// DM kept its buttons for minutes. A link alone added to a message
	// still to act on is cosmetic: it never takes the last slot of a limit
	// that something more urgent shares.
	var due time.Time
	statusCtx, linkCtx := ctx, ctx
	if pc, ok := PacingFrom(ctx); ok {
		pc.Yield = false
		statusCtx = WithPacing(ctx, pc)
		pc.Yield = true
		linkCtx = WithPacing(ctx, pc)
	}
	gone := func(what string, err error) bool {
		if escalation.IsPermanent(err) {
			c.log.Warn("bot: could not redraw the "+what+"; leaving it", "incident", inc.Number, "err", err)
			return true
		}
		return false
	}
	// A link redraw that yields and is deferred (no slot free besides the
	// pages') is left for when it is due, and the rest goes on: returned as
	// an error it ended the sync, and while pages keep chat.update busy it
	// is deferred again every time (the chaos short form's INC-31 had its
	// channel and no card for a minute: an old bundle's redraw for the new
	// channel's link alone came first, redrawBundleMsg). A status redraw
	// deferred still ends the sync: its slot is booked for this job's
	// ticket, which the card's redraw (yielding, on a resolved incident)
	// would give up, and it comes back to take it.
	deferred := func(err error) bool {
		d, ok := escalation.IsDeferred(err)
		if ok {
			due = sooner(due, c.now().Add(max(d, time.Millisecond)))
		}
		return ok
	}
	triggered := inc.Status == incident.StatusTriggered
	fields := make([]string, 0, len(refs))
	for f := range refs {
		if isMsgRef(f) {
			fields = append(fields, f)
		}
	}
	// Newest first: the messages at the foot of the DM, the one a person
	// reacted to or pressed among them, are the ones they see.
	slices.SortFunc(fields, func(a, b string) int { return msgOlder(b[2:], a[2:]) })
	for _, f := range fields {
		v := refs[f]
		switch {
		case strings.HasPrefix(f, refPage):
			pch, pts, _ := strings.Cut(f[len(refPage):], "/")
			shown, noLink, pg := parsePageShown(v, inc.Number)
			card := BuildCard(inc, nil, c.people.Ref)
			card.Channel = ch
			next := string(inc.Status)
			switch {
			case !triggered && shown != string(inc.Status):
				card.Actions, card.Lead = nil, settledLead(inc, owner)
			case !links:
				continue
			case triggered && noLink && ch != "" && inc.Owner == "" && pg.Reason != escalation.ReasonFallback:
				// The step that sent this page has not committed the owner
				// it makes: drawn now, the page would say "nobody yet".
				// The commit's own sync draws it.
				continue
			case triggered && noLink && ch != "":
				// Still to act on: the buttons stay, the link comes.
				pg.Owner = inc.Owner
				card.Lead, next = lead(pg, c.people), pageUnsettled
			default:
				continue
			}
			uctx := statusCtx
			if next == pageUnsettled {
				uctx = linkCtx
			}
			if err := c.chat.Update(uctx, pch, pts, Message{Text: card.Text(), Card: &card}); err != nil {
				if uctx == linkCtx && deferred(err) {
					continue
				}
				if !gone("page", err) {
					return due, fmt.Errorf("update a page of %s: %w", inc.Ref(), err)
				}
				// Gone (deleted, its DM closed): forgotten, so no later
				// status or link tries it again.
				next = ""
			}
			if err := set(f, next); err != nil {
				return due, err
			}
		case strings.HasPrefix(f, refBundle):
			id, shown, noLink := parseBundleShown(v)
			status := !triggered && shown != string(inc.Status)
			link := noLink && ch != ""
			if id == "" || (!status && !link) || (!links && !status) {
				continue
			}
			uctx := linkCtx
			if status {
				uctx = statusCtx
			}
			wait, err := s.c.redrawBundleMsg(uctx, id, f[len(refBundle):], status)
			if err != nil {
				return due, fmt.Errorf("%s: %w", inc.Ref(), err)
			}
			if wait > 0 {
				due = sooner(due, c.now().Add(wait))
				continue
			}
			next := id
			if !triggered {
				next += "|" + string(inc.Status)
			}
			if err := set(f, next); err != nil {
				return due, err
			}
		case strings.HasPrefix(f, refPageIn):
			if !pageInDone(inc, v) {
				continue
			}
			ich, its, _ := strings.Cut(f[len(refPageIn):], "/")
			card := BuildCard(inc, nil, c.people.Ref)
			card.Channel, card.Actions = ch, nil
			card.Lead = settledLead(inc, owner)
			if inc.Status != incident.StatusResolved {
				name := "nobody yet"
				if owner != nil {
					name = owner.Name
				}
				card.Lead = fmt.Sprintf("You acknowledged your page on %s; you are a responder and the pages have stopped. %s owns it.", inc.Ref(), name)
			}
			if err := c.chat.Update(statusCtx, ich, its, Message{Text: card.Text(), Card: &card}); err != nil && !gone("page-in", err) {
				return due, fmt.Errorf("update a page-in of %s: %w", inc.Ref(), err)
			}
			if err := set(f, ""); err != nil {
				return due, err
			}
		case strings.HasPrefix(f, refLease):
			if inc.Status != incident.StatusResolved && (inc.Owner == "" || inc.Owner == v) {
				continue
			}
			lch, lts, _ := strings.Cut(f[len(refLease):], "/")
			card := BuildCard(inc, nil, c.people.Ref)
			card.Channel, card.Actions = ch, nil
			card.Lead = settledLead(inc, owner)
			if inc.Status != incident.StatusResolved {
				card.Lead = fmt.Sprintf("%s is %s's now: there is no acknowledgement of yours to renew.", inc.Ref(), owner.Name)
			}
			if err := c.chat.Update(statusCtx, lch, lts, Message{Text: card.Text(), Card: &card}); err != nil && !gone("still-on-it message", err) {
				return due, fmt.Errorf("update the still-on-it message of %s: %w", inc.Ref(), err)
			}
			if err := set(f, ""); err != nil {
				return due, err
			}
		}
	}
	return due, nil
}

// redrawKey is the hash of a message's pending redraw: "at" → when it may
// be drawn (unix ms), "by" → the digest a replica is drawing it with.
func (s *state) redrawKey(msg string) string { return s.base + "redraw:{" + msg + "}" }

// redrawBundleMsg brings message msg ("<channel>/<id>") of bundle id up to
// date: the incidents' statuses and owners as they are now, and the link
// to each incident channel that exists. It returns 0 once the message shows
// that (drawn now, by another run, or already), or how long to wait before
// asking again: a redraw first waits redrawDelay (linkDelay when only
// links changed, status false) from when it was first asked for, on any
// replica, so that every change within it is drawn in one chat call; and
// while another replica draws the message with an older state, this one
// waits for it to finish. A bundle no longer kept (older than bundleTTL)
// is left as it is.
func (c *Bot) redrawBundleMsg(ctx context.Context, id, msg string, status bool) (time.Duration, error) {
	b, msgs, ok, err := c.loadBundle(ctx, id)
	if err != nil || !ok {
		return 0, err
	}
	if b, err = c.current(ctx, b); err != nil {
		return 0, fmt.Errorf("redraw bundle %s: %w", id, err)
	}
	for i, e := range b.Entries {
		if e.Channel != "" {
			continue
		}
		refs, err := c.inc.ChatRefs(ctx, e.Number)
		if err != nil {
			return 0, fmt.Errorf("redraw bundle %s: %w", id, err)
		}
		b.Entries[i].Channel = refs[refChannel]
	}
	d, sd := b.digest(), statusDigest(b)
	shown, shownStatus, _ := strings.Cut(msgs[msg], "|")
	if shown == d {
		return 0, nil
	}
	if shownStatus == sd && status {
		// Drawn with these statuses already: only links are new, and
		// wait for more of them; cosmetic, the redraw yields (settleMsgs).
		status = false
		if pc, ok := PacingFrom(ctx); ok {
			pc.Yield = true
			ctx = WithPacing(ctx, pc)
		}
	}
	rdb, key, now := c.st.rdb, c.st.redrawKey(msg), c.now()
	delay := linkDelay
	if status {
		delay = redrawDelay
	}
	at := now.Add(delay).UnixMilli()
	// Asked first: wait. Asked before with a later time and the status
	// changed now: bring it forward.
	prev, err := rdb.HGet(ctx, key, "at").Int64()
	switch {
	case errors.Is(err, redis.Nil):
		if set, err := rdb.HSetNX(ctx, key, "at", at).Result(); err != nil || set {
			if err == nil {
				err = rdb.Expire(ctx, key, delay+time.Minute).Err()
			}
			return delay, wrapRedraw(id, err)
		}
		return c.redrawBundleMsg(ctx, id, msg, status) // another run asked first
	case err != nil:
		return 0, wrapRedraw(id, err)
	case prev > at:
		return delay, wrapRedraw(id, rdb.HSet(ctx, key, "at", at).Err())
	case now.UnixMilli() < prev:
		return time.Duration(prev-now.UnixMilli()) * time.Millisecond, nil
	}
	// Due: one run draws it (the claim), the others wait for it, or take it
	// as drawn when it draws what they would.
	if claimed, err := rdb.HSetNX(ctx, key, "by", d).Result(); err != nil {
		return 0, wrapRedraw(id, err)
	} else if !claimed {
		by, err := rdb.HGet(ctx, key, "by").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, wrapRedraw(id, err)
		}
		if by == d {
			return 0, nil
		}
		return redrawDelay / 2, nil
	}
	if err := rdb.Expire(ctx, key, redrawClaim).Err(); err != nil {
		return 0, wrapRedraw(id, err)
	}
	ch, ts, _ := strings.Cut(msg, "/")
	if err := c.chat.Update(ctx, ch, ts, Message{Text: b.Text(), Bundle: &b}); err != nil {
		rdb.HDel(context.WithoutCancel(ctx), key, "by")
		if d, deferred := escalation.IsDeferred(err); deferred && !status {
			// A redraw for links alone yields (cosmetic) and was deferred:
			// a wait, not a failure, so that the sync asking for it goes
			// on (settleMsgs) instead of ending before the card, as often
			// as pages keep chat.update busy.
			return max(d, time.Millisecond), nil
		}
		if !escalation.IsPermanent(err) {
			return 0, fmt.Errorf("redraw bundle %s: %w", id, err)
		}
		c.log.Warn("bot: could not redraw a bundle; leaving it", "bundle", id, "err", err)
	}
	if err := rdb.HSet(ctx, c.st.bundle(id), "m:"+msg, d+"|"+sd).Err(); err != nil {
		return 0, wrapRedraw(id, err)
	}
	return 0, wrapRedraw(id, rdb.Del(ctx, key).Err())
}

// statusDigest is the digest of what b shows but its channel links: the
// value a bundle message's record keeps beside its digest ("<digest>|<this>"),
// so that a redraw for links alone waits linkDelay.
func statusDigest(b Bundle) string {
	b.Entries = slices.Clone(b.Entries)
	for i := range b.Entries {
		b.Entries[i].Channel = ""
	}
	return b.digest()
}

func wrapRedraw(id string, err error) error {
	if err != nil {
		return fmt.Errorf("redraw bundle %s: %w", id, err)
	}
	return nil
}
