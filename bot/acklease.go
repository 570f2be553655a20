package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// The ack lease from chat (escalation/acklease.go): the "still on it?" DM
// and its two buttons, and the owner's signs of work that renew the lease
// (a message in the incident's channel, any button on the incident).

// The buttons of the "still on it?" DM.
const (
	// ActionStillOn renews the owner's ack lease ("Yes, 30 more minutes").
	ActionStillOn Action = "stillon"
	// ActionHandBack gives the incident back: triggered again, the owner
	// paged, escalation resumes from the current level.
	ActionHandBack Action = "handback"
)

// AckLeases is the slice of the incident store the ack lease uses from
// chat; *incident.Store implements it. Without it messages renew nothing
// and the DM's buttons say the lease is not available.
type AckLeases interface {
	RenewAckLease(ctx context.Context, n int64, person string, now time.Time) (bool, error)
	HandBack(ctx context.Context, n int64, person string, now time.Time) error
}

var (
	_ AckLeases                = (*incident.Store)(nil)
	_ escalation.LeaseNotifier = (*Pager)(nil)
)

func (c *Bot) ackLeases() (AckLeases, bool) {
	l, ok := c.store.(AckLeases)
	return l, ok
}

// moreLabel is the renew button's text for a lease: "Yes, 30 more
// minutes", "Yes, 2h more".
func moreLabel(lease time.Duration) string {
	if lease == time.Minute {
		return "Yes, 1 more minute"
	}
	if lease > time.Minute && lease < 2*time.Hour && lease%time.Minute == 0 {
		return fmt.Sprintf("Yes, %d more minutes", lease/time.Minute)
	}
	return fmt.Sprintf("Yes, %s more", text.Duration(lease))
}

// StillOnIt implements escalation.LeaseNotifier: a DM to the owner with
// the incident's card, the lead "Still working on INC-42?" and two
// buttons, ActionStillOn and ActionHandBack. Like a page-in, the DM is not
// linked to the incident (a reaction on it takes nothing over); it is
// recorded in its chat references, so the chat sync redraws it without its
// buttons once the incident is resolved or someone else owns it. Errors before the post are escalation.Unsent; a
// person without a chat account is escalation.Permanent.
func (p *Pager) StillOnIt(ctx context.Context, w escalation.LeaseWarning) error {
	c := p.c
	ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "page:" + w.Key})
	inc, _, err := c.inc.Get(ctx, w.Incident)
	if errors.Is(err, incident.ErrNotFound) {
		return escalation.Permanent(err)
	}
	if err != nil {
		return escalation.Unsent(err)
	}
	refs, err := c.inc.ChatRefs(ctx, w.Incident)
	if err != nil {
		return escalation.Unsent(err)
	}
	target, err := p.target(ctx, escalation.Page{Incident: w.Incident, Person: w.Person})
	if err != nil {
		return escalation.Unsent(err)
	}
	card := BuildCard(inc, nil, c.people.Ref)
	card.Channel = refs[refChannel]
	card.Lead = fmt.Sprintf("Still working on %s? Your acknowledgement runs out at %s; with no answer by then it is triggered again and you are paged. "+
		"A message of yours in its channel counts as an answer too.", inc.Ref(), w.Expires.UTC().Format("15:04:05 UTC"))
	card.Actions = []Action{ActionStillOn, ActionHandBack}
	card.Labels = map[Action]string{ActionStillOn: moreLabel(w.Lease)}
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: card.Text(), Card: &card, Key: w.Key})
	if err != nil {
		return fmt.Errorf("still on it %s: %w", w.Key, err)
	}
	// Recorded so that the chat sync takes its buttons away once the
	// incident is resolved or someone else owns it (settle.go).
	if err := c.inc.SetChatRefs(ctx, w.Incident, recordMsg(refs, refLease+chID+"/"+ts, w.Person)); err != nil {
		c.log.Warn("bot: still-on-it DM delivered but not recorded; it keeps its buttons after a resolve", "incident", w.Incident, "err", err)
	}
	c.log.Debug("still-on-it DM delivered", "incident", w.Incident, "person", w.Person)
	return nil
}

// StillOnItDelivered implements escalation.LeaseNotifier: whether a
// message carrying w.Key is among the newest messages of the owner's DM.
func (p *Pager) StillOnItDelivered(ctx context.Context, w escalation.LeaseWarning) (bool, error) {
	target, err := p.target(ctx, escalation.Page{Incident: w.Incident, Person: w.Person})
	if err != nil {
		return false, err
	}
	ts, err := p.findPage(WithPacing(ctx, Pacing{MaxWait: p.c.pageMaxWait, Ticket: "check:" + w.Key}), target, w.Key)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", w.Key, err)
	}
	return ts != "", nil
}

// stillOn runs ActionStillOn: by renews their lease on n.
func (x *Executor) stillOn(ctx context.Context, n int64, by Person) Reply {
	l, ok := x.c.ackLeases()
	if !ok {
		return Reply{Text: "The ack lease is not available here."}
	}
	renewed, err := l.RenewAckLease(ctx, n, by.ID, x.c.now())
	if err != nil {
		return x.fail(err)
	}
	// The DM is redrawn saying what happened, with Hand it back alone
	// while the incident is still theirs.
	if !renewed {
		return Reply{Text: fmt.Sprintf("%s is not acknowledged by you any more, so there is no lease to renew; nothing changed.", ref(n))}
	}
	x.log().Info("ack lease renewed from its DM", "incident", n, "by", by.ID)
	return Reply{Text: fmt.Sprintf("Thanks: %s stays yours; your acknowledgement is renewed.", ref(n)),
		Redraw: &Message{Text: fmt.Sprintf("%s: you said you are still on it; your acknowledgement was renewed.", ref(n)),
			Buttons: []Button{{Action: ActionHandBack, Value: n}}}}
}

// handBack runs ActionHandBack: by gives n back.
func (x *Executor) handBack(ctx context.Context, n int64, by Person) Reply {
	l, ok := x.c.ackLeases()
	if !ok {
		return Reply{Text: "The ack lease is not available here."}
	}
	if err := l.HandBack(ctx, n, by.ID, x.c.now()); err != nil {
		return x.fail(err)
	}
	x.log().Info("incident handed back", "incident", n, "by", by.ID)
	text := fmt.Sprintf("You handed %s back: it is triggered again and escalation resumes from its current level.", ref(n))
	return Reply{Text: text, Redraw: &Message{Text: text}}
}

// renewLease renews by's lease on n, if they own it acknowledged: a sign
// of work (a button on the incident). Failures are logged, never shown.
func (x *Executor) renewLease(ctx context.Context, n int64, person string) {
	l, ok := x.c.ackLeases()
	if !ok {
		return
	}
	if renewed, err := l.RenewAckLease(ctx, n, person, x.c.now()); err != nil {
		x.log().Warn("bot: could not renew an ack lease", "incident", n, "err", err)
	} else if renewed {
		x.log().Debug("ack lease renewed", "incident", n, "person", person)
	}
}

// Message is a message a chat user wrote in a channel: when the channel
// is an incident's and the user owns it acknowledged, their ack lease is
// renewed. Anyone else, any other channel, and strangers change nothing.
// The adapter passes only new messages by people (no edits, no bots, no
// subtypes); the text never reaches here, so none is logged or stored.
func (x *Executor) Message(ctx context.Context, user, channel string) {
	var n int64
	renewed := false
	defer func() {
		x.log().Debug("bot: channel message seen", "incident", n, "renewed", renewed)
	}()
	l, ok := x.c.ackLeases()
	if !ok {
		return
	}
	found, err := x.c.inc.ChatLink(ctx, x.c.chanRef(channel))
	if errors.Is(err, incident.ErrNotFound) {
		return
	}
	if err != nil {
		x.log().Warn("bot: could not tell whether a message was in an incident's channel", "err", err)
		return
	}
	n = found
	by, known, err := x.c.people.Person(ctx, user)
	if err != nil || !known {
		return
	}
	if renewed, err = l.RenewAckLease(ctx, n, by.ID, x.c.now()); err != nil {
		x.log().Warn("bot: could not renew an ack lease", "incident", n, "err", err)
	}
}
