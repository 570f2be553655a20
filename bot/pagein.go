package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// ActionAckPage is the button on a page-in DM: the person paged in
// acknowledges their page (they become a responder; the owner stays).
const ActionAckPage Action = "ackpage"

// PageIns is the slice of the incident store that paging someone in and
// maintenance windows use from chat; *incident.Store implements it. The bot
// finds it on its Incidents; without it those commands say they are not
// available.
type PageIns interface {
	PageIn(ctx context.Context, n int64, person, by, reason string, now time.Time) (incident.Incident, error)
	AckPageIn(ctx context.Context, n int64, person string, now time.Time) (incident.Incident, error)
	StartMaintenance(ctx context.Context, service string, d time.Duration, long bool, by, reason string, now time.Time) (incident.Maintenance, error)
	EndMaintenance(ctx context.Context, id, by string, now time.Time) (incident.MaintenanceEnd, error)
	Maintenances(ctx context.Context, now time.Time) ([]incident.Maintenance, error)
}

var (
	_ PageIns                        = (*incident.Store)(nil)
	_ escalation.PageInPager         = (*Pager)(nil)
	_ escalation.MaintenanceNotifier = (*Pager)(nil)
)

func (c *Bot) pageIns() (PageIns, bool) {
	p, ok := c.store.(PageIns)
	return p, ok
}

// PageIn implements escalation.PageInPager: a DM to the person with the
// incident's card, a lead that says who paged them in and why, and one
// button, ActionAckPage. The DM is not linked to the incident: an
// acknowledge reaction on it acknowledges the page-in, as the button does
// (reactPageIn), never the incident. Errors before the
// post are marked escalation.Unsent; a person without a chat account is
// escalation.Permanent.
func (p *Pager) PageIn(ctx context.Context, pi escalation.PageIn) error {
	c := p.c
	ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "page:" + pi.Key})
	card, err := p.pageInCard(ctx, pi)
	if err != nil {
		return escalation.Unsent(err)
	}
	target, err := p.target(ctx, escalation.Page{Incident: pi.Incident, Person: pi.Person})
	if err != nil {
		return escalation.Unsent(err)
	}
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: card.Text(), Card: &card, Key: pi.Key})
	if err != nil {
		return fmt.Errorf("page-in %s: %w", pi.Key, err)
	}
	p.pageInPosted(ctx, pi, chID, ts)
	c.log.Debug("page-in delivered", "incident", pi.Incident, "person", pi.Person, "count", pi.Count)
	return nil
}

// pageInPosted records a page-in DM just posted (refPageIn), so that the
// chat sync takes its button away once the person acknowledged their page
// or the incident is resolved, on a chat that cannot find it by its key as
// settlePageIns does on Slack (Discord). Failures are logged: the page-in
// was delivered.
func (p *Pager) pageInPosted(ctx context.Context, pi escalation.PageIn, chID, ts string) {
	c := p.c
	if chID == "" || ts == "" {
		return
	}
	if _, ok := c.chat.(KeysFinder); ok {
		// Slack: the button's handler finds them by key (settlePageIns),
		// and a button pressed after the resolve says why nothing happens.
		return
	}
	refs, err := c.inc.ChatRefs(ctx, pi.Incident)
	if err == nil {
		err = c.inc.SetChatRefs(ctx, pi.Incident, recordMsg(refs, refPageIn+chID+"/"+ts, pi.Person))
	}
	if err != nil {
		c.log.Warn("bot: page-in delivered but not recorded; it may keep its button", "incident", pi.Incident, "err", err)
		return
	}
	c.settleLate(ctx, pi.Incident, pi.Person)
}

// PageInDelivered implements escalation.PageInPager: whether a message
// carrying pi.Key is among the newest messages of the person's DM.
func (p *Pager) PageInDelivered(ctx context.Context, pi escalation.PageIn) (bool, error) {
	target, err := p.target(ctx, escalation.Page{Incident: pi.Incident, Person: pi.Person})
	if err != nil {
		return false, err
	}
	ts, err := p.findPage(WithPacing(ctx, Pacing{MaxWait: p.c.pageMaxWait, Ticket: "check:" + pi.Key}), target, pi.Key)
	if err != nil {
		return false, fmt.Errorf("look for page-in %s: %w", pi.Key, err)
	}
	return ts != "", nil
}

func (p *Pager) pageInCard(ctx context.Context, pi escalation.PageIn) (Card, error) {
	c := p.c
	inc, _, err := c.inc.Get(ctx, pi.Incident)
	if errors.Is(err, incident.ErrNotFound) {
		return Card{}, escalation.Permanent(err)
	}
	if err != nil {
		return Card{}, err
	}
	refs, err := c.inc.ChatRefs(ctx, pi.Incident)
	if err != nil {
		return Card{}, err
	}
	card := BuildCard(inc, nil, c.people.Ref)
	card.Channel = refs[refChannel]
	by := ""
	for _, x := range inc.PagedIn {
		if x.Person == pi.Person {
			by = x.By
		}
	}
	owner := "nobody yet"
	if inc.Owner != "" {
		owner = c.people.Ref(inc.Owner).Name
	}
	if pi.Count <= 1 {
		card.Lead = fmt.Sprintf("%s paged you into %s; %s owns it. Acknowledge your page to stop these pages.", c.people.Ref(by).Name, inc.Ref(), owner)
	} else {
		card.Lead = fmt.Sprintf("Reminder: you were paged into %s and have not acknowledged (page %d); %s owns it.", inc.Ref(), pi.Count, owner)
	}
	card.Actions = []Action{ActionAckPage}
	return card, nil
}

// ackPage runs the ActionAckPage button: by acknowledges their page-in.
func (x *Executor) ackPage(ctx context.Context, n int64, by Person) Reply {
	st, ok := x.c.pageIns()
	if !ok {
		return Reply{Text: "Paging someone in is not available here."}
	}
	inc, err := st.AckPageIn(ctx, n, by.ID, x.c.now())
	if err != nil {
		return x.fail(err)
	}
	x.c.wake()
	x.log().Info("page-in acknowledged", "incident", n, "by", by.ID)
	r := Reply{Text: fmt.Sprintf("You acknowledged your page on %s; you are a responder and the pages have stopped. %s",
		ref(n), "The owner stays the owner.")}
	// The DM pressed is redrawn through the interaction, the earlier
	// page-ins (the first page, the reminders) in place: none keeps its
	// button once the page is acknowledged.
	card, err := x.c.pager.settledPageInCard(ctx, inc, by.ID)
	if err != nil {
		x.log().Warn("bot: could not redraw a page-in after its acknowledgement", "incident", n, "err", err)
		return r
	}
	r.Redraw = &Message{Text: card.Text(), Card: &card}
	x.c.pager.settlePageIns(ctx, inc, by.ID, card)
	return r
}

// maxSettledPageIns bounds how many of a person's page-in DMs are redrawn
// after they acknowledged (the newest ones).
const maxSettledPageIns = 20

// settledPageInCard is a page-in's card once person acknowledged it: no
// button, and a lead that says so.
func (p *Pager) settledPageInCard(ctx context.Context, inc incident.Incident, person string) (Card, error) {
	refs, err := p.c.inc.ChatRefs(ctx, inc.Number)
	if err != nil {
		return Card{}, err
	}
	card := BuildCard(inc, nil, p.c.people.Ref)
	card.Channel = refs[refChannel]
	owner := "nobody yet"
	if inc.Owner != "" {
		owner = p.c.people.Ref(inc.Owner).Name
	}
	card.Lead = fmt.Sprintf("You acknowledged your page on %s; you are a responder and the pages have stopped. %s owns it.", inc.Ref(), owner)
	card.Actions = nil
	return card, nil
}

// settlePageIns redraws person's page-in DMs of inc (keys
// "pagein:<n>:<person>:<count>", the newest maxSettledPageIns) with card.
// Best effort: a DM not found or not updated is logged and left.
func (p *Pager) settlePageIns(ctx context.Context, inc incident.Incident, person string, card Card) {
	pages := 0
	for _, x := range inc.PagedIn {
		if x.Person == person {
			pages = x.Pages
		}
	}
	if pages == 0 {
		return
	}
	target, err := p.target(ctx, escalation.Page{Incident: inc.Number, Person: person})
	if err != nil {
		p.c.log.Warn("bot: cannot redraw page-ins", "incident", inc.Number, "err", err)
		return
	}
	for count := pages; count >= 1 && count > pages-maxSettledPageIns; count-- {
		key := fmt.Sprintf("pagein:%d:%s:%d", inc.Number, person, count)
		pctx := WithPacing(ctx, Pacing{MaxWait: p.c.pageMaxWait, Ticket: "settle:" + key})
		ts, err := p.findPage(pctx, target, key)
		if err != nil || ts == "" {
			if err != nil {
				p.c.log.Debug("bot: a page-in to redraw was not found", "key", key, "err", err)
			}
			continue
		}
		if err := p.c.chat.Update(pctx, target, ts, Message{Text: card.Text(), Card: &card, Key: key}); err != nil {
			p.c.log.Warn("bot: could not redraw a page-in", "incident", inc.Number, "err", err)
		}
	}
}

// pageIn runs /incident page: cmd.Who is paged into incident n by by.
func (x *Executor) pageIn(ctx context.Context, cmd Command, n int64, by Person) Reply {
	st, ok := x.c.pageIns()
	if !ok {
		return Reply{Text: "Paging someone in is not available here."}
	}
	who, known, err := x.resolveMention(ctx, cmd.Who)
	if err != nil {
		return x.fail(err)
	}
	if !known {
		return Reply{Text: fmt.Sprintf("baton does not know %s. Page someone in people: %s.", describe(cmd.Who), x.someNames())}
	}
	if _, err := x.c.people.ChatID(ctx, who.ID); errors.Is(err, ErrUnreachable) {
		return Reply{Text: fmt.Sprintf("%s cannot be reached in %s (no account found for them), so baton cannot page them in; nothing changed.", who.Name, x.c.chat.Name())}
	}
	if _, err := st.PageIn(ctx, n, who.ID, by.ID, cmd.Text, x.c.now()); err != nil {
		return x.fail(err)
	}
	x.c.wake()
	x.log().Info("person paged in from chat", "incident", n, "person", who.ID, "by", by.ID)
	return Reply{Text: fmt.Sprintf("Paging %s into %s; they are paged until they acknowledge their page.", who.Name, ref(n))}
}

// pageInLines are the timeline lines of paging someone in, and of a
// maintenance window holding and releasing the incident (eventLine).
func pageInLine(e incident.Event, who func(string) string) (string, bool) {
	switch e.Type {
	case incident.EventPagedIn:
		return withNote(fmt.Sprintf("%s paged in by %s", who(e.Person), who(e.By)), e.Note), true
	case incident.EventPageAcknowledged:
		if e.Note != "" { // they came to own the incident (incident/lua/pageinend.lua)
			return who(e.Person) + "'s page-in ended: " + e.Note, true
		}
		return who(e.Person) + " acknowledged their page (responder)", true
	case incident.EventHeld:
		return "held: " + strings.TrimPrefix(e.Note, "maintenance ") + " maintenance window", true
	case incident.EventReleased:
		return "released: " + e.Note, true
	}
	return "", false
}
