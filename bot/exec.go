package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/rotations"
)

// Board is the slice of the on-call board that /oncall needs: who is on
// call now and next, per rotation or service. *oncall.Board implements it.
type Board interface {
	All(ctx context.Context, at time.Time) ([]rotations.OnCallView, error)
	RotationFor(service, rotation string) (*rotations.Rotation, error)
	View(ctx context.Context, r *rotations.Rotation, at time.Time) (rotations.OnCallView, error)
}

// Overrides stores on-call overrides; *overrides.Store implements it.
type Overrides interface {
	Create(ctx context.Context, o rotations.Override, now time.Time) (rotations.Override, error)
}

// Service is a service from config as the chat side needs it.
type Service struct {
	Name string
	// AlertsChannel is where the service's incidents are announced and its
	// fallback pages go: a channel id, or a name as the chat accepts it.
	AlertsChannel string
}

// Request is a slash command as the adapter received it.
type Request struct {
	Command     string // "incident" or "oncall"
	Text        string // what followed the command
	User        string // chat user id of who typed it
	Channel     string // chat channel id where it was typed
	ChannelName string // that channel's name, when the chat says
	// Given holds the typed options a chat gives apart from Text (Discord:
	// the note, new's title and service, maintenance's service, duration
	// and reason, stats' and /oncall's service, override's duration): each
	// exactly what its option is, read for nothing else ("19" as a note is
	// never the incident; ParseGiven). Slack leaves it empty: all are words
	// in its Text.
	Given
}

// Reply is what the person who acted is told, privately: plain sentences
// (the adapter escapes them for its markup).
type Reply struct {
	Text string
	// Redraw, when set, is the message the person acted on as it should
	// now look (a bundle after "Acknowledge all"); an adapter that can
	// replace that message through the interaction itself (Slack's
	// response_url) does so, at once and outside the chat's rate limits.
	Redraw *Message
}

// Executor runs commands, button clicks and reactions against the incident
// store, on behalf of people from config. It is safe for concurrent use.
type Executor struct {
	c *Bot
}

func (x *Executor) log() *slog.Logger { return x.c.log }

// strangerText explains to someone who is not in config why nothing happened.
func (x *Executor) strangerText() string {
	return fmt.Sprintf("You are not in baton's people, so baton cannot make you an incident's owner and nothing was changed. "+
		"Ask an admin to add you to people in config.yaml (%s).", x.addYou())
}

// addYou says what an admin needs to add someone to people: their chat
// user id, or their email where the chat can look users up by it.
func (x *Executor) addYou() string {
	if looksUpEmail(x.c.chat) {
		return fmt.Sprintf("with your %s user id or your email", x.c.chat.Name())
	}
	return fmt.Sprintf("with your %s user id", x.c.chat.Name())
}

// strangerDoing is strangerText for a command that makes nobody an owner:
// what baton cannot do for someone not in people (what: "start or end a
// maintenance window"), why (it records who did it), and what to do.
func (x *Executor) strangerDoing(what string) string {
	return fmt.Sprintf("You are not in baton's people, so baton cannot %s for you: it records who did it, and it does not know you. Nothing was changed. "+
		"Ask an admin to add you to people in config.yaml (%s).", what, x.addYou())
}

// Command runs one slash command. Every outcome, refusals included, is a
// Reply: sentences that say what happened or what to type instead.
func (x *Executor) Command(ctx context.Context, req Request) Reply {
	parse := Parse
	if req.Given != (Given{}) {
		parse = func(command, text string) (Command, error) { return ParseGiven(command, text, req.Given) }
	}
	cmd, err := parse(req.Command, req.Text)
	if err != nil {
		var se *SyntaxError
		if cu, ok := x.c.chat.(CommandUsage); ok && errors.As(err, &se) && se.Verb != "" {
			return Reply{Text: se.Msg + " Try: " + cu.CommandUsage(se.Verb, false)}
		}
		return Reply{Text: err.Error()}
	}
	switch cmd.Verb {
	case VerbHelp, VerbOnHelp:
		return Reply{Text: x.helpText()}
	case VerbList:
		return x.list(ctx, cmd, req.User)
	case VerbOnCall:
		return x.maintenanceLines(ctx, x.onCall(ctx, cmd.Service), cmd.Service)
	case VerbStats:
		return x.stats(ctx, cmd, req)
	case VerbStatus:
		_, n, err := x.target(ctx, cmd, req.Channel)
		if err != nil {
			return x.fail(err)
		}
		return x.status(ctx, n)
	}
	if cmd.Verb == VerbMaintenance && !cmd.End && cmd.Service == "" {
		// Listing the windows changes nothing: anyone may.
		return x.maintenance(ctx, cmd, Person{})
	}
	by, ok, err := x.c.people.Person(ctx, req.User)
	if err != nil {
		return x.fail(err)
	}
	if !ok {
		switch cmd.Verb {
		case VerbMaintenance:
			return Reply{Text: x.strangerDoing("start or end a maintenance window")}
		case VerbPage:
			return Reply{Text: x.strangerDoing("page someone in")}
		case VerbOverride:
			return Reply{Text: x.strangerDoing("change who is on call")}
		}
		return Reply{Text: x.strangerText()}
	}
	switch cmd.Verb {
	case VerbNew:
		return x.open(ctx, cmd, by, req)
	case VerbOverride:
		return x.override(ctx, cmd, by)
	case VerbMaintenance:
		return x.maintenance(ctx, cmd, by)
	}
	cmd, n, err := x.target(ctx, cmd, req.Channel)
	if err != nil {
		return x.fail(err)
	}
	// Any /incident command the owner runs about the incident (a note, a
	// page-in, an ack) is a sign of work: it renews their ack lease.
	x.renewLease(ctx, n, by.ID)
	if cmd.Verb == VerbPage {
		return x.pageIn(ctx, cmd, n, by)
	}
	return x.act(ctx, cmd, n, by, "command")
}

// Action runs a button click by a chat user on incident n.
func (x *Executor) Action(ctx context.Context, user string, a Action, n int64) Reply {
	by, ok, err := x.c.people.Person(ctx, user)
	if err != nil {
		return x.fail(err)
	}
	if !ok {
		return Reply{Text: x.strangerText()}
	}
	switch a {
	case ActionAckPage:
		return x.ackPage(ctx, n, by)
	case ActionStillOn:
		return x.stillOn(ctx, n, by)
	case ActionHandBack:
		return x.handBack(ctx, n, by)
	}
	if a == ActionTakePager {
		return x.takePager(ctx, n, by)
	}
	// Any other button the owner presses on the incident is a sign of
	// work: it renews their ack lease first (acklease.go).
	x.renewLease(ctx, n, by.ID)
	verb := map[Action]Verb{ActionAck: VerbAck, ActionResolve: VerbResolve, ActionEscalate: VerbEscalate}[a]
	if verb == "" {
		return Reply{Text: "baton does not know that button."}
	}
	return x.act(ctx, Command{Verb: verb, Incident: n}, n, by, "button")
}

// reactionsWaiting bounds how many reactions retry at once while the
// incident store is unavailable; one more is told at once that it was not
// applied, so waiting reactions never take every handler an adapter has.
const reactionsWaiting = 16

// ReactionNotApplied is what the person who reacted is told when their
// acknowledge reaction could not be applied within the bot's
// ReactionPatience (the incident store stayed unavailable).
const ReactionNotApplied = "Your reaction was not applied: the incident store is unavailable; nothing changed — try again."

// Reaction handles a reaction by a chat user on a message: an acknowledge
// reaction on an incident's card, notice or page acknowledges it on the
// reactor's behalf (they become the owner). show is false when nothing
// needs saying: success shows on the card, and reactions on anything else
// are none of baton's business. A stranger is told why nothing changed.
//
// A message is found by its link to its incident (Incidents.ChatLink);
// one without a link (its post was answered but the link never stored:
// the replica died, or Redis failed, in between) is asked of the chat
// (Chat.Lookup): its Key names the incident of a page, else, for a message
// the bot posted, the first INC-<n> in its text does; the link is stored
// then. While the store (or the chat) cannot answer, the reaction is
// retried with backoff for up to the bot's ReactionPatience, with at most
// reactionsWaiting reactions waiting at once; then (or at once, beyond that
// bound) the reply is ReactionNotApplied, to be shown. So Reaction can take
// ReactionPatience and a little more: ctx should allow that.
func (x *Executor) Reaction(ctx context.Context, user, channel, msgID, reaction string) (reply Reply, show bool) {
	return x.ReactionSettled(ctx, user, channel, msgID, reaction, nil)
}

// ReactionSettled is Reaction that calls settled (when not nil) once the
// reaction no longer needs its chat to deliver it again: it was applied or
// refused, is not an acknowledgement, or its reply is ReactionNotApplied.
// It is not called while the reaction waits for the store, nor when ctx
// ends meanwhile: an adapter that acknowledges the delivery in settled
// leaves such a reaction to its chat's redelivery (to any replica), so a
// replica that dies while a reaction waits does not lose it.
func (x *Executor) ReactionSettled(ctx context.Context, user, channel, msgID, reaction string, settled func()) (reply Reply, show bool) {
	if settled == nil {
		settled = func() {}
	}
	if !slices.Contains(x.c.ackReactions, strings.Trim(reaction, ":")) {
		settled()
		return Reply{}, false
	}
	reply, show, err := x.react(ctx, user, channel, msgID)
	if err == nil {
		settled()
		return reply, show
	}
	select {
	case x.c.waiting <- struct{}{}:
		defer func() { <-x.c.waiting }()
	default:
		x.log().Error("bot: reaction not applied: too many reactions wait for the incident store", "err", err)
		settled()
		return Reply{Text: ReactionNotApplied}, true
	}
	x.log().Warn("bot: reaction not applied yet; retrying", "retry_for", x.c.reactionPatience, "err", err)
	rctx, cancel := context.WithTimeout(ctx, x.c.reactionPatience)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-rctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				x.log().Error("bot: reaction not applied: stopped while retrying", "err", err)
				return Reply{}, false
			}
			x.log().Error("bot: reaction not applied; the person is told", "retried_for", x.c.reactionPatience, "err", err)
			settled()
			return Reply{Text: ReactionNotApplied}, true
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
		if reply, show, err = x.react(rctx, user, channel, msgID); err == nil {
			x.log().Info("bot: reaction applied after retrying")
			settled()
			return reply, show
		}
	}
}

// react tries an acknowledge reaction once. Its error means it could not
// be applied for now (the store or the chat failed) and is worth retrying;
// refusals are not errors.
func (x *Executor) react(ctx context.Context, user, channel, msgID string) (Reply, bool, error) {
	if id, err := x.c.bundleOfMessage(ctx, channel, msgID); err != nil {
		return Reply{}, false, fmt.Errorf("reaction: look up the message: %w", err)
	} else if id != "" {
		return x.reactBundle(ctx, user, id)
	}
	ref := x.c.msgRef(channel, msgID)
	n, err := x.c.inc.ChatLink(ctx, ref)
	if errors.Is(err, incident.ErrNotFound) {
		var pagedIn, bundle string
		n, pagedIn, bundle, err = x.unlinked(ctx, channel, msgID, ref)
		if err == nil && pagedIn != "" {
			return x.reactPageIn(ctx, user, n, pagedIn)
		}
		if err == nil && bundle != "" {
			return x.reactBundle(ctx, user, bundle)
		}
		if err == nil && n == 0 {
			x.log().Debug("reaction on a message that is not about an incident")
			return Reply{}, false, nil
		}
	}
	if err != nil {
		return Reply{}, false, fmt.Errorf("reaction: look up the message: %w", err)
	}
	by, ok, err := x.c.people.Person(ctx, user)
	if err != nil {
		return Reply{}, false, fmt.Errorf("reaction: who reacted: %w", err)
	}
	if !ok {
		return Reply{Text: x.strangerText()}, true, nil
	}
	_, err = x.c.inc.Ack(ctx, n, by.ID, "")
	switch {
	case err == nil:
		x.c.wake()
		x.c.metrics.Acknowledged("reaction")
		x.log().Info("incident acknowledged by reaction", "incident", n, "by", by.ID)
	case incident.ErrorCode(err) == incident.Unavailable:
		return Reply{}, false, fmt.Errorf("reaction: acknowledge INC-%d: %w", n, err)
	default: // already acknowledged (a retry of an ack that went through), resolved, gone
		x.log().Debug("reaction on an incident that cannot be acknowledged", "incident", n, "code", string(incident.ErrorCode(err)))
	}
	return Reply{}, false, nil
}

// reactBundle is an acknowledge reaction on bundle id. A bundle of pages
// to a person: the reaction acknowledges each of its incidents. A fallback
// bundle (pages nobody could receive, in a shared alerts channel) is left
// alone, as a bundle of notices is: there a single ✅ should not take
// every incident it names; its buttons take them, one or all.
func (x *Executor) reactBundle(ctx context.Context, user, id string) (Reply, bool, error) {
	b, _, known, err := x.c.loadBundle(ctx, id)
	if err != nil {
		return Reply{}, false, fmt.Errorf("reaction: %w", err)
	}
	if known && b.Fallback {
		x.log().Debug("reaction on a fallback bundle; ignored", "bundle", id)
		return Reply{}, false, nil
	}
	by, ok, err := x.c.people.Person(ctx, user)
	if err != nil {
		return Reply{}, false, fmt.Errorf("reaction: who reacted: %w", err)
	}
	if !ok {
		return Reply{Text: x.strangerText()}, true, nil
	}
	if _, err := x.ackBundle(ctx, by, id, "reaction"); err != nil {
		return Reply{}, false, fmt.Errorf("reaction: %w", err)
	}
	return Reply{}, false, nil
}

// unlinked finds the incident of a message reacted to that has no link,
// from the message itself (see Reaction), and links it; 0 when the message
// is not about an incident. A page-in DM is linked to nothing: its incident
// and the person paged in come back (pagedIn), for reactPageIn. A message
// whose key is a bundle's id (its link not recorded yet, or lost) is that
// bundle, which comes back (bundle) for reactBundle, never taken as the
// first incident it names.
func (x *Executor) unlinked(ctx context.Context, channel, msgID, ref string) (n int64, pagedIn, bundle string, err error) {
	p, err := x.c.chat.Lookup(ctx, channel, msgID)
	if errors.Is(err, ErrNoMessage) {
		return 0, "", "", nil
	}
	if escalation.IsPermanent(err) {
		// The chat will not show this message (a private channel without
		// the history scope, say): no incident can be found from it, and
		// retrying will not change that. A page is in a DM, never here.
		x.log().Warn("bot: reaction on a message the chat will not show; ignored", "err", err)
		return 0, "", "", nil
	}
	if err != nil {
		return 0, "", "", err
	}
	if id, ok := parseBundleID(p.Key); ok {
		return 0, "", id, nil
	}
	if n, person, ok := pageInKey(p.Key); ok {
		return n, person, "", nil
	}
	if strings.HasPrefix(p.Key, "pagein:") || strings.HasPrefix(p.Key, "maintenance:") || strings.HasPrefix(p.Key, "lease:") ||
		strings.HasPrefix(p.Key, "notices:") {
		// A page-in's fallback post (the owner stays the owner), a maintenance
		// summary or a "still on it?" DM (its buttons answer it): naming
		// an incident, but not one to take over. A bundle of notices names
		// several: a reaction on it takes none (notices.go).
		return 0, "", "", nil
	}
	n, ok := keyIncident(p.Key)
	if !ok && p.ByBot {
		n, ok = textIncident(p.Text)
	}
	if !ok {
		return 0, "", "", nil
	}
	if err := x.c.inc.LinkChat(ctx, ref, n, x.c.linkTTL); err != nil {
		return 0, "", "", err
	}
	x.log().Info("bot: a message reacted to had lost its link to its incident; linked it again", "incident", n, "by_key", p.Key != "")
	return n, "", "", nil
}

// keyIncident is the incident a message's key names: a page's
// (escalation.Page.Key) begins with the incident's reference, "INC-42/…";
// the card's, the notice's and a repeat reply's (sync.go) are
// "card:42:…", "notice:42:…", "reply:42:…".
func keyIncident(key string) (int64, bool) {
	for _, kind := range []string{"card:", "notice:", "reply:"} {
		if rest, found := strings.CutPrefix(key, kind); found {
			num, _, _ := strings.Cut(rest, ":")
			n, err := strconv.ParseInt(num, 10, 64)
			return n, err == nil && n > 0
		}
	}
	head, _, found := strings.Cut(key, "/")
	if !found {
		return 0, false
	}
	return refIncident(head)
}

var incRef = regexp.MustCompile(`\bINC-([0-9]{1,18})\b`)

// textIncident is the incident of the first INC-<n> in a message's text.
func textIncident(text string) (int64, bool) {
	m := incRef.FindString(text)
	if m == "" {
		return 0, false
	}
	return refIncident(m)
}

func refIncident(ref string) (int64, bool) {
	num, ok := strings.CutPrefix(ref, "INC-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// target is the incident a command names, or the one of the channel it was
// typed in, and the command as it applies there: in an incident's channel
// a Bare number is part of the remark on that incident; elsewhere it names
// the incident (Command.Outside). Not in a chat of typed options
// (CommandUsage): there the incident has an option of its own, and a
// number was typed in the note (which such a chat gives apart, in
// Request.Given.Note, so no Bare number comes from it at all).
func (x *Executor) target(ctx context.Context, cmd Command, channel string) (Command, int64, error) {
	if cmd.Incident != 0 {
		return cmd, cmd.Incident, nil
	}
	ref := channel
	if cmd.ChannelRef != "" {
		ref = cmd.ChannelRef
	}
	n, err := x.c.inc.ChatLink(ctx, x.c.chanRef(ref))
	if err == nil {
		return cmd, n, nil
	}
	if !errors.Is(err, incident.ErrNotFound) {
		return cmd, 0, err
	}
	if cmd.ChannelRef != "" {
		return cmd, 0, userError("That channel is not an incident's channel. Name the incident with #42 instead.")
	}
	_, typed := x.c.chat.(CommandUsage)
	if cmd.Bare != 0 && !typed {
		cmd = cmd.Outside()
		if cmd.Verb == VerbNote && cmd.Text == "" {
			// "note 19" outside an incident's channel: 19 names the
			// incident, and nothing is left to note.
			return cmd, 0, userError(fmt.Sprintf("Say what to note on INC-%d: outside an incident's channel, a number right after note names the incident, "+
				"and the note follows it (%s). Nothing was changed.", cmd.Incident, strings.Replace(x.usage(VerbNote, true), "#42", strconv.FormatInt(cmd.Incident, 10), 1)))
		}
		return cmd, cmd.Incident, nil
	}
	said := ""
	if w := strings.Fields(cmd.Text); len(w) > 0 && cmd.Verb != VerbNote && !typed {
		// What followed the verb was taken for a note: say so, in case it
		// was meant to name the incident (a chat of typed options has an
		// option for the incident, and the note was typed as a note).
		said = fmt.Sprintf("%q is not an incident (name one as 42, #42 or INC-42). ", echo(w[0]))
	}
	return cmd, 0, userError(said + "Say which incident: " + x.usage(cmd.Verb, true) + " (or type the command in the incident's channel).")
}

// usage is how verb v is typed in this chat (CommandUsage), or in Usage's
// form; named: the incident must be named.
func (x *Executor) usage(v Verb, named bool) string {
	if cu, ok := x.c.chat.(CommandUsage); ok {
		return cu.CommandUsage(v, named)
	}
	if named {
		return strings.Replace(Usage[v], "[#42]", "#42", 1)
	}
	return Usage[v]
}

// helpText is the answer to /incident help in this chat's terms.
func (x *Executor) helpText() string {
	cu, _ := x.c.chat.(CommandUsage)
	return helpText(cu)
}

// userError is a refusal whose text is already the reply.
type userError string

// Error is the sentence itself.
func (e userError) Error() string { return string(e) }

// fail turns an error into a reply: a refusal into its text, an outcome
// error into its sentence (see sentence), anything else into the one
// apology (and an error log line).
func (x *Executor) fail(err error) Reply {
	var ue userError
	if errors.As(err, &ue) {
		return Reply{Text: string(ue)}
	}
	if incident.ErrorCode(err) == incident.Unavailable {
		x.log().Error("bot: command failed", "err", err)
	}
	return Reply{Text: x.sentence(err)}
}

// sentence is err's outcome sentence, the one the HTTP API writes too
// (incident.ErrorMessage), with the person it names called by their name
// from config, and, for an incident that does not exist, where to look.
func (x *Executor) sentence(err error) string {
	var e *incident.Error
	if !errors.As(err, &e) {
		return incident.ErrorMessage(err)
	}
	msg := e.Message
	if e.Person != "" {
		msg = incident.NewError(e.Code, e.Incident, x.c.people.Ref(e.Person).Name).Message
	}
	if e.Code == incident.NotFound && e.Incident != 0 {
		msg += " /incident list shows the open incidents."
	}
	return msg
}

func ref(n int64) string { return fmt.Sprintf("INC-%d", n) }

// act runs a transition of incident n by a person; via (command, button)
// is how they asked, for the acknowledgement count.
func (x *Executor) act(ctx context.Context, cmd Command, n int64, by Person, via string) Reply {
	var err error
	var text string
	switch cmd.Verb {
	case VerbAck:
		_, err = x.c.inc.Ack(ctx, n, by.ID, cmd.Text)
		text = fmt.Sprintf("You acknowledged %s and own it now; its pages have stopped.", ref(n))
	case VerbResolve:
		_, err = x.c.inc.Resolve(ctx, n, by.ID, cmd.Text)
		text = fmt.Sprintf("You resolved %s.", ref(n))
	case VerbEscalate:
		_, err = x.c.inc.Escalate(ctx, n, by.ID, cmd.Text)
		text = fmt.Sprintf("You escalated %s: it is moving up to the next escalation level; its new owner is being paged.", ref(n))
	case VerbNote:
		_, err = x.c.inc.Note(ctx, n, by.ID, cmd.Text)
		text = fmt.Sprintf("Noted on %s's timeline.", ref(n))
	case VerbAssign:
		to, ok, ferr := x.resolveMention(ctx, cmd.Who)
		if ferr != nil {
			return x.fail(ferr)
		}
		if !ok {
			return Reply{Text: fmt.Sprintf("baton does not know %s. Assign to someone in people: %s.", describe(cmd.Who), x.someNames())}
		}
		_, err = x.c.inc.Assign(ctx, n, to.ID, by.ID)
		text = fmt.Sprintf("Assigned %s to %s; they are being paged.", ref(n), to.Name)
	default:
		return Reply{Text: x.helpText()}
	}
	if err != nil {
		if cmd.Bare != 0 && cmd.Incident == cmd.Bare && incident.ErrorCode(err) == incident.NotFound {
			// The number was read as the incident only because no
			// incident's channel implied one (Command.Outside): say so.
			return Reply{Text: fmt.Sprintf("There is no %s, and nothing was changed: outside an incident's channel, a number right after %s names the incident. "+
				"/incident list shows the open incidents.", ref(n), cmd.Verb)}
		}
		return x.fail(err)
	}
	x.c.wake()
	if cmd.Verb == VerbAck {
		x.c.metrics.Acknowledged(via)
	}
	x.log().Info("incident changed from chat", "incident", n, "verb", string(cmd.Verb), "by", by.ID)
	return Reply{Text: text}
}

func describe(m Mention) string {
	if m.Name != "" {
		return "@" + m.Name
	}
	return "that person"
}

// someNames lists up to eight people ids, for a refusal.
func (x *Executor) someNames() string {
	ids := x.c.people.order
	if len(ids) > 8 {
		return strings.Join(ids[:8], ", ") + ", …"
	}
	return strings.Join(ids, ", ")
}

// resolveMention finds the person a mention names.
func (x *Executor) resolveMention(ctx context.Context, m Mention) (Person, bool, error) {
	if m.ChatID != "" {
		return x.c.people.Person(ctx, m.ChatID)
	}
	p, ok := x.c.people.Find(m.Name)
	return p, ok, nil
}

func (x *Executor) open(ctx context.Context, cmd Command, by Person, req Request) Reply {
	svc := cmd.Service
	if svc == "" {
		svc = x.serviceOfChannel(ctx, req)
	}
	if cu, ok := x.c.chat.(CommandUsage); ok && svc == "" {
		return Reply{Text: fmt.Sprintf("Say which service: %s (services: %s).", cu.CommandUsage(VerbNew, false), strings.Join(x.c.serviceNames, ", "))}
	}
	if svc == "" {
		return Reply{Text: fmt.Sprintf("Say which service: %s service=%s (services: %s).",
			strings.Replace(Usage[VerbNew], " [service=S] [sev=critical|warning|info]", "", 1), x.c.serviceNames[0], strings.Join(x.c.serviceNames, ", "))}
	}
	if _, ok := x.c.services[svc]; !ok {
		return Reply{Text: fmt.Sprintf("There is no service %q. Services: %s.", svc, strings.Join(x.c.serviceNames, ", "))}
	}
	sev := cmd.Severity
	if sev == "" {
		sev = incident.SevCritical
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	res, err := x.c.inc.Open(ctx, incident.Alert{
		Source: "chat", Service: svc, Name: "chat", DedupKey: "chat-" + hex.EncodeToString(b[:]),
		Summary: cmd.Title, Severity: sev, Status: incident.AlertFiring, ReceivedAt: x.c.now(),
		Details: map[string]any{"opened_by": by.ID},
	})
	if err != nil {
		return x.fail(err)
	}
	x.c.metrics.ObserveAlert("chat", svc, string(res.Outcome), 0)
	if _, err := x.c.inc.Note(ctx, res.Number, by.ID, "opened from chat"); err != nil {
		x.log().Warn("bot: could not note who opened an incident", "incident", res.Number, "err", err)
	}
	x.log().Info("incident opened from chat", "incident", res.Number, "service", svc, "by", by.ID)
	return Reply{Text: fmt.Sprintf("Opened %s (%s, %s). Whoever is on call for %s is being paged; its channel appears in a moment.",
		ref(res.Number), sev, svc, svc)}
}

// serviceOfChannel is the service implied where a command was typed: the one
// whose alerts channel it is, the one of the incident whose channel it is, or
// the only service there is.
func (x *Executor) serviceOfChannel(ctx context.Context, req Request) string {
	for _, name := range x.c.serviceNames {
		a := x.c.services[name].AlertsChannel
		if a != "" && (a == req.Channel || req.ChannelName != "" && strings.TrimPrefix(a, "#") == req.ChannelName) {
			return name
		}
	}
	if n, err := x.c.inc.ChatLink(ctx, x.c.chanRef(req.Channel)); err == nil {
		if inc, _, err := x.c.inc.Get(ctx, n); err == nil {
			return inc.Service
		}
	}
	if len(x.c.serviceNames) == 1 {
		return x.c.serviceNames[0]
	}
	return ""
}

func (x *Executor) status(ctx context.Context, n int64) Reply {
	inc, _, err := x.c.inc.Get(ctx, n)
	if err != nil {
		return x.fail(err)
	}
	now := x.c.now()
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s — service %s, %s", inc.Ref(), inc.Severity, inc.Title, inc.Service, inc.Status)
	if inc.Owner != "" {
		fmt.Fprintf(&b, ", owner %s", x.c.people.Ref(inc.Owner).Name)
	}
	fmt.Fprintf(&b, ". Opened %s ago; %d alert(s), the last %s ago.", text.Duration(now.Sub(inc.Created)), inc.AlertCount, text.Duration(now.Sub(inc.LastSeen)))
	if inc.Status == incident.StatusResolved {
		if !inc.Acknowledged.IsZero() {
			fmt.Fprintf(&b, " Time to acknowledge %s.", text.Duration(inc.Acknowledged.Sub(inc.Created)))
		}
		fmt.Fprintf(&b, " Time to resolve %s.", text.Duration(inc.Resolved.Sub(inc.Created)))
	}
	if refs, err := x.c.inc.ChatRefs(ctx, n); err == nil && refs[refChannelName] != "" {
		fmt.Fprintf(&b, " Channel #%s.", refs[refChannelName])
	}
	return Reply{Text: b.String()}
}

// list answers /incident list: the ListShown newest open incidents, newest
// first (as PagerDuty lists them: the incident that just paged someone is
// the one they look for), narrowed by mine (those user owns) and triggered
// (not yet acknowledged), and when more match, how many more and where to
// see them all.
func (x *Executor) list(ctx context.Context, cmd Command, user string) Reply {
	what := "Open incidents"
	switch {
	case cmd.Mine && cmd.Triggered:
		what = "Your open incidents not yet acknowledged"
	case cmd.Mine:
		what = "Your open incidents"
	case cmd.Triggered:
		what = "Open incidents not yet acknowledged"
	}
	var incs []incident.Incident
	var total int64
	var err error
	if !cmd.Mine && !cmd.Triggered {
		incs, total, err = x.c.inc.ListNewest(ctx, ListShown)
	} else {
		var owner string
		if cmd.Mine {
			by, ok, err := x.c.people.Person(ctx, user)
			if err != nil {
				return x.fail(err)
			}
			if !ok {
				return Reply{Text: fmt.Sprintf("You are not in baton's people, so no incident is yours: baton pages and records only the people in config.yaml. "+
					"/incident list shows the %d newest open incidents. Ask an admin to add you to people (%s).", ListShown, x.addYou())}
			}
			owner = by.ID
		}
		incs, total, err = x.c.inc.ListNewestWhere(ctx, ListShown, func(inc incident.Incident) bool {
			return (owner == "" || inc.Owner == owner) && (!cmd.Triggered || inc.Status == incident.StatusTriggered)
		})
	}
	if err != nil {
		return x.fail(err)
	}
	if len(incs) == 0 {
		switch {
		case cmd.Mine && cmd.Triggered:
			return Reply{Text: "None of your open incidents waits for an acknowledgement."}
		case cmd.Mine:
			return Reply{Text: "You own no open incident."}
		case cmd.Triggered:
			return Reply{Text: "No open incident waits for an acknowledgement."}
		}
		return Reply{Text: "No open incidents."}
	}
	var b strings.Builder
	more := total - int64(len(incs))
	if more > 0 {
		fmt.Fprintf(&b, "%s, the %d newest of %d:\n", what, len(incs), total)
	} else {
		b.WriteString(what + ":\n")
	}
	for _, inc := range incs {
		owner := "nobody yet"
		if inc.Owner != "" {
			owner = x.c.people.Ref(inc.Owner).Name
		}
		fmt.Fprintf(&b, "%s [%s] %s — %s, %s, owner %s\n", inc.Ref(), inc.Severity, text.Truncate(inc.Title, 80), inc.Service, inc.Status, owner)
	}
	switch {
	case more > 0 && cmd.Triggered && !cmd.Mine:
		fmt.Fprintf(&b, "… and %d more — see them all with `baton incidents --all --status triggered` or GET /v1/incidents?status=triggered.\n", more)
	case more > 0 && cmd.Mine:
		fmt.Fprintf(&b, "… and %d more of yours, older.\n", more)
	case more > 0:
		fmt.Fprintf(&b, "… and %d more — see them all with `baton incidents --all` or GET /v1/incidents.\n", more)
	}
	return Reply{Text: strings.TrimRight(b.String(), "\n")}
}

func when(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 UTC") }

func (x *Executor) viewLine(v rotations.OnCallView) string {
	line := fmt.Sprintf("%s: %s until %s", v.Rotation, x.onCallName(v.Person, v.Override), when(v.Until))
	if len(v.Next) > 0 {
		line += ", then " + x.onCallName(v.Next[0].Person, v.Next[0].Override)
	}
	return line
}

// onCallName is a person on call, with the override that put them there:
// "Bob (override by Alice)", "Bob (override via the API)", or "Bob
// (override 3)" when who made it is not known.
func (x *Executor) onCallName(person string, o *rotations.OverrideRef) string {
	name := x.c.people.Ref(person).Name
	switch {
	case o == nil:
		return name
	case o.By == "":
		return fmt.Sprintf("%s (override %s)", name, o.ID)
	case o.By == rotations.OverrideByAPI:
		return name + " (override via the API)"
	}
	return fmt.Sprintf("%s (override by %s)", name, x.c.people.Ref(o.By).Name)
}

func (x *Executor) onCall(ctx context.Context, service string) Reply {
	if x.c.board == nil {
		return Reply{Text: "baton has no rotations configured."}
	}
	now := x.c.now()
	if service != "" {
		r, err := x.c.board.RotationFor(service, "")
		if err != nil {
			return Reply{Text: fmt.Sprintf("No on-call answer for %s: %v.", service, err)}
		}
		v, err := x.c.board.View(ctx, r, now)
		if err != nil {
			if !errors.Is(err, rotations.ErrNotStarted) {
				return x.fail(err) // the store failed: the fixed sentence, the detail logged
			}
			return Reply{Text: fmt.Sprintf("No on-call answer for %s: %v.", service, err)}
		}
		return Reply{Text: fmt.Sprintf("On call for %s — %s.", service, x.viewLine(v))}
	}
	views, err := x.c.board.All(ctx, now)
	if err != nil {
		return x.fail(err)
	}
	if len(views) == 0 {
		return Reply{Text: "No rotation has started yet."}
	}
	lines := []string{"On call now:"}
	for _, v := range views {
		lines = append(lines, x.viewLine(v))
	}
	return Reply{Text: strings.Join(lines, "\n")}
}

func (x *Executor) override(ctx context.Context, cmd Command, by Person) Reply {
	if x.c.board == nil || x.c.overrides == nil {
		return Reply{Text: "baton has no rotations configured."}
	}
	who, ok, err := x.resolveMention(ctx, cmd.Who)
	if err != nil {
		return x.fail(err)
	}
	if !ok {
		return Reply{Text: fmt.Sprintf("baton does not know %s. Overrides name someone in people: %s.", describe(cmd.Who), x.someNames())}
	}
	now := x.c.now()
	rot := cmd.Rotation
	if cmd.Service != "" || rot != "" {
		r, err := x.c.board.RotationFor(cmd.Service, rot)
		if err != nil {
			return Reply{Text: fmt.Sprintf("No rotation to override: %v.", err)}
		}
		rot = r.Name()
	} else {
		views, err := x.c.board.All(ctx, now)
		if err != nil {
			return x.fail(err)
		}
		var mine, all []string
		for _, v := range views {
			all = append(all, v.Rotation)
			if v.Person == by.ID {
				mine = append(mine, v.Rotation)
			}
		}
		switch {
		case len(mine) == 1:
			rot = mine[0]
		case len(mine) == 0 && len(all) == 1:
			rot = all[0]
		default:
			return Reply{Text: fmt.Sprintf("Say which rotation: /oncall override %s %s rotation=NAME (rotations: %s).",
				"@"+who.ID, text.Duration(cmd.For), strings.Join(all, ", "))}
		}
	}
	o, err := x.c.overrides.Create(ctx, rotations.Override{Rotation: rot, Person: who.ID, From: now, Until: now.Add(cmd.For), By: by.ID}, now)
	if err != nil {
		if !overrideRefusal(err) {
			return x.fail(err) // the store failed: the fixed sentence, the detail logged
		}
		return Reply{Text: fmt.Sprintf("The override was not made: %v.", err)}
	}
	x.log().Info("override made from chat", "rotation", rot, "person", who.ID, "by", by.ID, "until", o.Until)
	return Reply{Text: fmt.Sprintf("%s is on call in %s from now until %s (override %s).", who.Name, rot, when(o.Until), o.ID)}
}

// overrideRefusal reports whether err is the overrides store refusing the
// override itself (its sentence is for the person), not the store failing.
func overrideRefusal(err error) bool {
	for _, r := range []error{rotations.ErrEmptyRange, rotations.ErrOverrideTooLong, rotations.ErrUnknownPerson, rotations.ErrUnknownRotation} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}
