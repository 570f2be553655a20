package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/coalesce"
)

// Pager delivers the escalation engine's pages in chat: a direct message
// with the incident card and its buttons to the person paged, or, for a
// fallback page, a post in the service's alerts channel. It is safe for
// concurrent use.
//
// Each page is posted with its Key (Message.Key: Slack message metadata),
// and the Pager is an escalation.DeliveryChecker: the runner, which records
// each page as sending and sent, asks Delivered before it sends again a
// page whose earlier send has no recorded outcome, and Delivered looks for
// the key among the recent messages where the page would be. A person with
// no chat account is an escalation.Permanent error, so the runner
// dead-letters the page and pages the fallback at once instead of retrying.
type Pager struct {
	c *Bot

	mu      sync.Mutex
	dms     map[string]string  // chat user id → DM channel id (also in Redis)
	opening map[string]*dmCall // DMs being looked up or opened: one call per user at a time

	nextPost map[string]time.Time // target → until when its next message gathers pages (guarded by mu)

	gmu    sync.Mutex
	gloops map[string]*gatherLoop // target → the loop its pages offered by this process wait in (gather.go)

	checksOnce sync.Once
	checks     coalesce.Group[*keyCheck] // delivery checks, by channel: one history read answers many
	nextRead   map[string]time.Time      // channel → the slot a deferred read of it holds (guarded by mu)
	joins      atomic.Int32              // checks waiting for a read in flight to be kept (reads.go)

	replaysOnce sync.Once
	replays     coalesce.Group[*replayItem] // delivery checks replaying a bundle, by bundle (replay.go)
}

// dmCall is one lookup of a DM channel that concurrent pages to the same
// person wait for, so a storm opens each DM once.
type dmCall struct {
	done chan struct{}
	id   string
	err  error
}

var (
	_ escalation.Pager           = (*Pager)(nil)
	_ escalation.BundlingPager   = (*Pager)(nil)
	_ escalation.DeliveryChecker = (*Pager)(nil)
)

// recentPages is how many of the newest messages where a page would be
// Delivered looks through, in one chat call: far more than one DM receives
// while a lease runs out (Slack takes about one message a second into a
// channel, and a DM is one).
const recentPages = 100

// Page implements escalation.Pager: PageBundled without the bundle.
func (p *Pager) Page(ctx context.Context, pg escalation.Page) error {
	_, err := p.PageBundled(ctx, pg)
	return err
}

// PageBundled implements escalation.BundlingPager. A page to a target (the
// person's DM; for a fallback page the alerts channel) waits out the
// target's window after its last message, by any replica, then is offered
// in Redis and goes out in one message with every page offered for that
// target by then, on any replica, posted by whichever replica takes the
// target's turn (gather.go): alone, as the ordinary card, or in a bundle
// (bundle.go), which the returned Bundle names. Its errors before the post
// are marked escalation.Unsent: the page was certainly not delivered.
func (p *Pager) PageBundled(ctx context.Context, pg escalation.Page) (escalation.Bundle, error) {
	c := p.c
	ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "page:" + pg.Key})
	card, refs, err := p.card(ctx, pg)
	if err != nil {
		return escalation.Bundle{}, escalation.Unsent(err)
	}
	target, err := p.target(ctx, pg)
	if err != nil {
		return escalation.Bundle{}, escalation.Unsent(err)
	}
	if !p.bundles() {
		// A chat that can neither find a message by any of its keys nor
		// replay a post by its key cannot tell which pages a bundle whose
		// answer was lost delivered: its pages go one by one.
		err := p.postOne(ctx, target, pg, card, refs)
		p.logRefused(target, 1, err)
		return escalation.Bundle{}, err
	}
	// The window after the last message to target, by any replica: the
	// pages due within it go together in the next (gather.go). A page of
	// news is announced while it waits, so reminders and notices to the
	// target do not go before it (newsFirst).
	d := p.pageHold(target)
	if news(pg) {
		p.expectNews(ctx, target, c.now().Add(max(d, 0)+c.pageMaxWait), pg.Key)
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return escalation.Bundle{}, escalation.Unsent(ctx.Err())
		}
	}
	it := &pageItem{pg: pg, card: card, refs: refs}
	if err := p.gathered(ctx, target, []*pageItem{it})[0]; err != nil {
		return escalation.Bundle{}, err
	}
	return it.bundle, nil
}

// postOne posts a page alone: the incident card with the page's lead.
func (p *Pager) postOne(ctx context.Context, target string, pg escalation.Page, card Card, refs map[string]string) error {
	chID, ts, err := p.c.chat.Post(ctx, target, Message{Text: card.Text(), Card: &card, Key: pg.Key})
	if err != nil {
		return fmt.Errorf("page %s: %w", pg.Key, err)
	}
	p.posted(ctx, pg, target, chID, ts, card, refs)
	return nil
}

// card is the page's message: the incident card with the page's lead, and
// the incident's chat references as they are now.
func (p *Pager) card(ctx context.Context, pg escalation.Page) (Card, map[string]string, error) {
	c := p.c
	inc, _, err := c.inc.Get(ctx, pg.Incident)
	if errors.Is(err, incident.ErrNotFound) {
		return Card{}, nil, escalation.Permanent(err)
	}
	if err != nil {
		return Card{}, nil, err
	}
	refs, err := c.inc.ChatRefs(ctx, pg.Incident)
	if err != nil {
		return Card{}, nil, err
	}
	card := BuildCard(inc, nil, c.people.Ref)
	// The page goes out before the runner commits its step: show the owner
	// and level the step makes, not the stored ones.
	if pg.Owner != "" {
		o := c.people.Ref(pg.Owner)
		card.Owner, card.Level = &o, pg.Level
	}
	card.Channel = refs[refChannel]
	card.Lead = lead(pg, c.people)
	if pg.Reason == escalation.ReasonHandoff {
		card.Actions = nil
	}
	return card, refs, nil
}

// posted records a page delivered as message ts in channel chID (posted
// to target): it links the message to its incident, so that a reaction on
// it acknowledges, and records it as the channel's latest page, so that it
// loses its buttons once the incident is acknowledged. Failures are logged,
// not returned: the page was delivered, and the runner must not page again.
func (p *Pager) posted(ctx context.Context, pg escalation.Page, target, chID, ts string, card Card, refs map[string]string) {
	c := p.c
	c.learnChannel(ctx, target, chID)
	if err := c.inc.LinkChat(ctx, c.msgRef(chID, ts), pg.Incident, c.linkTTL); err != nil {
		c.log.Warn("bot: page delivered but not linked; a reaction on it will not acknowledge", "incident", pg.Incident, "err", err)
	}
	if len(card.Actions) > 0 {
		if err := c.inc.SetChatRefs(ctx, pg.Incident, pageRefs(refs, chID, ts, pageShown(pg, card))); err != nil {
			c.log.Warn("bot: page delivered but not recorded; it will keep its buttons after an ack", "incident", pg.Incident, "err", err)
		} else {
			c.settleLate(ctx, pg.Incident, "")
		}
	}
	c.log.Debug("page delivered", "incident", pg.Incident, "person", pg.Person, "reason", string(pg.Reason))
}

// learnChannel remembers the id of a channel posted to by the name it is
// configured with (an alerts channel), so that Delivered can read its
// history; it costs a Redis write only the first time. A failure is
// logged: it only leaves a fallback page uncheckable.
func (c *Bot) learnChannel(ctx context.Context, target, chID string) {
	if chID == "" || chID == target {
		return
	}
	if _, known := c.channelIDs.Load(target); known {
		return
	}
	if err := c.st.rdb.HSet(ctx, c.st.channels(), target, chID).Err(); err != nil {
		c.log.Warn("bot: a channel's id not cached", "channel", target, "err", err)
		return
	}
	c.channelIDs.Store(target, chID)
}

// Delivered implements escalation.DeliveryChecker: whether a message
// carrying pg.Key is among the newest recentPages top-level messages where
// Page would have posted it (the person's DM, or the fallback channel).
// A page found is recorded as Page records one it posts (linked to its
// incident, the channel's latest page), since the run that posted it may
// have died before. A fallback channel configured by name is looked up by
// the id learnt when the bot last posted there (a page, or an incident's
// notice); before any such post, the name is asked as is, which Slack
// refuses (an error: the runner then sends the page again).
func (p *Pager) Delivered(ctx context.Context, pg escalation.Page) (bool, error) {
	c := p.c
	target, err := p.target(ctx, pg)
	if err != nil {
		return false, err
	}
	if err := p.inFlight(ctx, target, pg.Key); err != nil {
		return false, err
	}
	if r, ok := p.replayer(); ok {
		// Nothing to look up: post the page's message again under its key
		// (replay.go).
		ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "check:" + pg.Key})
		return p.replayed(ctx, r, pg, target)
	}
	if pg.Person == "" {
		id, err := c.st.hget(ctx, c.st.channels(), target)
		if err != nil {
			return false, err
		}
		if id != "" {
			target = id
		}
	}
	ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "check:" + pg.Key})
	ts, err := p.findPage(ctx, target, pg.Key)
	if err != nil {
		return false, fmt.Errorf("look for page %s: %w", pg.Key, err)
	}
	if ts == "" {
		return false, nil
	}
	if id, err := c.bundleOfKey(ctx, pg.Key); err != nil || id != "" {
		// It went out in a bundle: record the bundle, not a single page
		// (whose redraw would replace the bundle with one card).
		if err == nil {
			err = p.foundBundle(ctx, pg, target, ts, id)
		}
		if err != nil {
			c.log.Warn("bot: page found delivered in a bundle but not recorded", "incident", pg.Incident, "err", err)
		}
		return true, nil
	}
	card, refs, err := p.card(ctx, pg)
	if err != nil {
		c.log.Warn("bot: page found delivered but not recorded", "incident", pg.Incident, "err", err)
		return true, nil
	}
	p.posted(ctx, pg, target, target, ts, card, refs)
	return true, nil
}

// keyCheck is one page's question to a coalesced history read, and its
// answer (the message id carrying the key, "" when none does).
type keyCheck struct {
	key string
	ts  string
}

// findPage looks for the message carrying key among the newest recentPages
// of channel. With a chat that is a KeysFinder, the checks for one channel
// that arrive while a read of it is in flight (or waits for its rate-limit
// slot) go out together in the next read (coalesce.Group: a read answers
// only checks that arrived before it began, so its answer is as fresh as a
// read of their own). After a chat outage every page to a person whose send
// had no recorded outcome needs a check; one read answers them all, where
// one read each would queue them behind the history method's rate limit.
func (p *Pager) findPage(ctx context.Context, channel, key string) (string, error) {
	kf, ok := p.c.chat.(KeysFinder)
	if !ok {
		return p.c.chat.FindKey(ctx, channel, "", key, time.Time{}, recentPages)
	}
	p.checksOnce.Do(func() {
		p.checks.Send = func(ctx context.Context, channel string, items []*keyCheck) []error {
			// Every key the messages carry (nil keys), kept for the checks
			// of other replicas (reads.go). The read began no earlier than
			// now: the pacer may hold it a little.
			// Announced while in flight, so that checks coming meanwhile
			// (here or on other replicas) wait for its answer.
			began := p.c.now()
			p.reading(ctx, channel, began)
			found, err := kf.FindKeys(ctx, channel, nil, recentPages)
			if err == nil {
				p.keepRead(ctx, channel, began, found)
			}
			p.readDone(ctx, channel, began)
			p.mu.Lock()
			if d, deferred := escalation.IsDeferred(err); deferred {
				if p.nextRead == nil {
					p.nextRead = map[string]time.Time{}
				}
				p.nextRead[channel] = p.c.now().Add(d)
			} else {
				delete(p.nextRead, channel)
			}
			p.mu.Unlock()
			errs := make([]error, len(items))
			for i, it := range items {
				errs[i] = err
				it.ts = found[it.key]
			}
			return errs
		}
	})
	// A read of this channel that began after this check did, by any
	// replica, answers it, kept or still in flight (reads.go).
	if ts, ok := p.joinRead(ctx, channel, key); ok {
		p.answered(ctx, channel, key)
		return ts, nil
	}
	// A read of this channel already waits for a rate-limit slot: wait for
	// it too, rather than book a slot of its own (checks deferred one slot
	// each would come back one at a time, and never share a read).
	p.mu.Lock()
	at, waiting := p.nextRead[channel]
	p.mu.Unlock()
	if now := p.c.now(); waiting && now.Before(at) {
		return "", escalation.Defer(at.Sub(now))
	}
	// Claim the channel's next read: a check on another replica that found
	// nothing to join at the same moment then waits for this read instead
	// of making its own beside it. Lost, another read is announced: join it
	// if it answers this check, else read.
	if !p.claimRead(ctx, channel) {
		if ts, ok := p.joinRead(ctx, channel, key); ok {
			p.answered(ctx, channel, key)
			return ts, nil
		}
	}
	// The read is the channel's, not the check's: a deferred read holds its
	// slot for whichever check of the channel comes back first, on any
	// replica sharing the budget. Held for the check that booked it, the
	// slot went unused when another check came back first and booked a slot
	// of its own (or was claimed late, beside the reads booked since: a
	// burst Slack refuses), so every deferral cost the method's budget a
	// slot nobody used.
	pc, _ := PacingFrom(ctx)
	ctx = WithPacing(ctx, Pacing{MaxWait: pc.MaxWait, Ticket: "read:" + channel})
	kc := &keyCheck{key: key}
	if err := p.checks.Do(ctx, channel, kc); err != nil {
		return "", err
	}
	p.answered(ctx, channel, key)
	return kc.ts, nil
}

// target is where a page goes: the person's DM channel (opened if need
// be), or for a fallback page the service's alerts channel, else the
// default channel, as configured (a name or an id).
func (p *Pager) target(ctx context.Context, pg escalation.Page) (string, error) {
	c := p.c
	if pg.Person == "" {
		target := pg.Channel
		if target == "" {
			target = c.defaultChannel
		}
		if target == "" {
			return "", escalation.Permanent(fmt.Errorf("fallback page for INC-%d: service %s has no alerts channel and there is no default channel", pg.Incident, pg.Service))
		}
		return target, nil
	}
	uid, err := c.people.ChatID(ctx, pg.Person)
	if errors.Is(err, ErrUnreachable) {
		return "", escalation.Permanent(err)
	}
	if err != nil {
		return "", err
	}
	return p.dm(ctx, uid)
}

// pageRefs records a page just posted in a channel (a DM, or the alerts
// channel for a fallback page), showing shown (pageShown), so that the chat
// sync settles it once the incident is acknowledged or resolved (sync.go,
// recordMsg: every page and bundle still showing buttons, within a bound).
func pageRefs(refs map[string]string, chID, ts, shown string) map[string]string {
	return recordMsg(refs, refPage+chID+"/"+ts, shown)
}

// dm returns the direct-message channel with a chat user: from memory, from
// Redis, or opened (once) through the chat.
func (p *Pager) dm(ctx context.Context, uid string) (string, error) {
	p.mu.Lock()
	if id, ok := p.dms[uid]; ok {
		p.mu.Unlock()
		return id, nil
	}
	if call, ok := p.opening[uid]; ok {
		p.mu.Unlock()
		select {
		case <-call.done:
			return call.id, call.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	call := &dmCall{done: make(chan struct{})}
	if p.opening == nil {
		p.opening = map[string]*dmCall{}
	}
	p.opening[uid] = call
	p.mu.Unlock()

	call.id, call.err = p.openDM(ctx, uid)
	p.mu.Lock()
	delete(p.opening, uid)
	if call.err == nil {
		p.dms[uid] = call.id
	}
	p.mu.Unlock()
	close(call.done)
	return call.id, call.err
}

func (p *Pager) openDM(ctx context.Context, uid string) (string, error) {
	c := p.c
	id, err := c.st.hget(ctx, c.st.dms(), uid)
	if err != nil || id != "" {
		return id, err
	}
	if id, err = c.chat.OpenDM(ctx, uid); err != nil {
		return "", fmt.Errorf("open a DM with %s: %w", uid, err)
	}
	if err := c.st.rdb.HSet(ctx, c.st.dms(), uid, id).Err(); err != nil {
		c.log.Warn("bot: could not cache a DM channel", "err", err)
	}
	return id, nil
}

// lead is the sentence above the card in a page: why this message came.
func lead(pg escalation.Page, people *People) string {
	ref := fmt.Sprintf("INC-%d", pg.Incident)
	owner := "nobody"
	if pg.Owner != "" {
		owner = people.Ref(pg.Owner).Name
	}
	switch pg.Reason {
	case escalation.ReasonFirst:
		return fmt.Sprintf("You are on call for %s. Acknowledge to stop the pages.", ref)
	case escalation.ReasonRepeat:
		return fmt.Sprintf("Reminder: %s is still unacknowledged and yours.", ref)
	case escalation.ReasonEscalated:
		return fmt.Sprintf("%s was escalated to you (level %d). Acknowledge to stop the pages.", ref, pg.Level)
	case escalation.ReasonAssigned:
		return fmt.Sprintf("%s was assigned to you. Acknowledge to stop the pages.", ref)
	case escalation.ReasonRetriggered:
		if pg.Why != "" { // the ack lease (escalation.RetriggerWhy)
			return fmt.Sprintf("%s is triggered again, and yours: %s. Acknowledge to stop the pages.", ref, pg.Why)
		}
		return fmt.Sprintf("%s was acknowledged too long ago and is not resolved: it is triggered again, and yours.", ref)
	case escalation.ReasonNotify:
		return fmt.Sprintf("For your information: %s reached level %d; %s owns it.", ref, pg.Level, owner)
	case escalation.ReasonHandoff:
		return fmt.Sprintf("%s moved on (%s): you are no longer paged for it.", ref, pg.Why)
	case escalation.ReasonFallback:
		if strings.HasPrefix(pg.Key, "pagein:") {
			// A page-in that reached nobody: the owner stays the owner, so
			// "acknowledge" would be the wrong ask.
			return fmt.Sprintf("A page-in for %s could not be delivered (%s); %s owns it. Reach them another way, or page someone else in.", ref, pg.Why, owner)
		}
		return fmt.Sprintf("Nobody could be paged for %s (%s). Whoever takes it, acknowledge.", ref, pg.Why)
	}
	return fmt.Sprintf("You are paged for %s.", ref)
}
