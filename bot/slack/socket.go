// Package slack is baton's Slack adapter. It supplies two things and
// nothing chat-neutral: Chat, bot.Chat over slack-go's Web API (per-method
// pacing, Slack's errors translated, Block Kit rendering of bot's cards),
// and Socket, the Socket Mode loop that turns slash commands, button clicks
// and reactions into calls on a bot.Bot's Executor. The wiring (the root
// package's chat.go) builds the Chat, hands it to bot.New, and starts a
// Socket with both.
//
// Every envelope but an acknowledge reaction's is acknowledged first (Slack
// wants it within 3 s) and handled after, once: a redelivered envelope (same
// envelope or event id) is recognised through Redis, across replicas. A
// click or command that cannot be handled because the incident store is
// unavailable is answered with the store's fixed sentence (Slack does not
// redeliver interactive payloads). An acknowledge reaction's envelope is
// acknowledged once the bot has settled the reaction
// (bot.Executor.ReactionSettled): while the store is unavailable the bot
// retries it and Slack redelivers it, so a replica killed meanwhile does not
// lose it; when the bot gives up, its person is told.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/batonhq/baton/bot"
)

// Metrics is what the Slack adapter reports; *metrics.Metrics implements it.
type Metrics interface {
	// ChatAPIError counts a failed Web API call (each attempt) by method.
	ChatAPIError(chat, method string)
}

type noMetrics struct{}

func (noMetrics) ChatAPIError(string, string) {}

// SocketOptions configure a Socket. AppToken is required.
type SocketOptions struct {
	AppToken string // xapp-…, for Socket Mode
	// PingInterval is how long Socket Mode waits for Slack's ping before
	// reconnecting; default slack-go's 30s.
	PingInterval time.Duration
	// Handlers bounds how many envelopes are handled at once. Default 32.
	Handlers int
	// Authenticated, when set, runs on its own goroutine once auth.test has
	// accepted the tokens (the wiring checks people's accounts then); Run
	// waits for it before returning.
	Authenticated func(ctx context.Context)
	// Connected, when set, is told whether the Socket Mode connection is
	// up: false when Run starts, while it connects or reconnects and when
	// it stops; true once Slack says it is connected (the
	// baton_socket_connected gauge). It must not block.
	Connected func(up bool)
	Log       *slog.Logger
}

// Socket is baton's Socket Mode connection to Slack: it acknowledges every
// envelope first and hands slash commands, button clicks and reactions to
// the bot's Executor. NewSocket builds it; Run connects. Pages and chat
// syncs do not need it: they go through the Chat's Web API.
type Socket struct {
	bot  *bot.Bot
	chat *Chat
	api  *slack.Client
	sm   *socketmode.Client
	log  *slog.Logger
	sem  chan struct{}

	authenticated func(ctx context.Context)
	connected     func(up bool)

	mu      sync.Mutex
	botUser string
	// pending: the ids of the reactions this replica is handling, so a
	// redelivery of one (its envelope is acknowledged once settled) is not
	// handled twice here.
	pending map[string]bool
	wg      sync.WaitGroup
}

// NewSocket builds the Socket Mode loop for b, which must have been built
// on chat; it makes no network call.
func NewSocket(chat *Chat, b *bot.Bot, o SocketOptions) (*Socket, error) {
	if chat == nil || b == nil {
		return nil, errors.New("slack: a Chat and a bot are required")
	}
	if o.AppToken == "" {
		return nil, errors.New("slack: an app-level token is required for Socket Mode")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Handlers <= 0 {
		o.Handlers = 32
	}
	if o.Connected == nil {
		o.Connected = func(bool) {}
	}
	api := slack.New(chat.botToken,
		slack.OptionAPIURL(chat.apiURL),
		slack.OptionAppLevelToken(o.AppToken),
		slack.OptionHTTPClient(chat.httpClient))
	var smOpts []socketmode.Option
	if o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
	}
	return &Socket{
		bot: b, chat: chat, api: api,
		sm:  socketmode.New(api, smOpts...),
		log: o.Log.With("component", "slack"),
		sem: make(chan struct{}, o.Handlers),

		authenticated: o.Authenticated,
		connected:     o.Connected,
	}, nil
}

// Run checks the tokens (auth.test) and holds a Socket Mode connection
// until ctx ends, reconnecting with backoff. It returns nil when ctx ends.
func (s *Socket) Run(ctx context.Context) error {
	s.connected(false)
	defer s.connected(false)
	if err := s.whoAmI(ctx); err != nil {
		return nil // ctx ended
	}
	if s.authenticated != nil {
		s.wg.Go(func() { s.authenticated(ctx) })
	}
	s.wg.Go(func() { s.events(ctx) })
	defer s.wg.Wait()
	backoff := time.Second
	for {
		err := s.sm.RunContext(ctx)
		s.connected(false)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Error("slack: socket mode stopped; reconnecting", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// whoAmI learns the bot's user id (its own reactions are ignored), retrying
// until Slack answers or ctx ends.
func (s *Socket) whoAmI(ctx context.Context) error {
	backoff := time.Second
	for {
		res, err := s.api.AuthTestContext(ctx)
		if err == nil {
			s.mu.Lock()
			s.botUser = res.UserID
			s.mu.Unlock()
			s.chat.setSelf(res.UserID)
			s.log.Info("slack: connected", "team", res.TeamID, "bot_user", res.UserID)
			return nil
		}
		level, msg, wait := authFailure(err)
		wait = max(wait, backoff)
		s.log.Log(ctx, level, msg, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// authFailure says what a failed auth.test means: the tokens refused
// (ERROR: the configuration is wrong), or Slack busy (429: WARN, and the
// Retry-After to wait), unavailable (5xx: WARN) or unreachable (WARN).
func authFailure(err error) (level slog.Level, msg string, wait time.Duration) {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return slog.LevelWarn, "slack: auth.test rate limited by Slack (429); retrying", rl.RetryAfter
	case errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests:
		return slog.LevelWarn, "slack: auth.test rate limited by Slack (429); retrying", 0
	case errors.As(err, &sc) && sc.Code >= 500:
		return slog.LevelWarn, fmt.Sprintf("slack: Slack is unavailable (HTTP %d to auth.test); retrying", sc.Code), 0
	case errors.As(err, &sc):
		return slog.LevelError, fmt.Sprintf("slack: auth.test answered HTTP %d; check slack.api_url", sc.Code), 0
	case errors.As(err, &se):
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
			return slog.LevelError, "slack: Slack refused the bot token (" + se.Err + "); check slack.bot_token", 0
		case "ratelimited":
			return slog.LevelWarn, "slack: auth.test rate limited by Slack; retrying", 0
		case "internal_error", "fatal_error", "request_timeout", "service_unavailable":
			return slog.LevelWarn, "slack: Slack failed auth.test (" + se.Err + "); retrying", 0
		}
		return slog.LevelError, "slack: auth.test failed (" + se.Err + ")", 0
	}
	return slog.LevelWarn, "slack: could not reach Slack for auth.test; retrying", 0
}

func (s *Socket) self() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.botUser
}

// events reads Socket Mode events: each envelope is acknowledged at once,
// then handled on its own goroutine (at most Handlers at a time), so a slow
// handler never delays the next ack.
func (s *Socket) events(ctx context.Context) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-s.sm.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
			if evt.Request == nil {
				continue
			}
			if r := s.ackReaction(evt); r != nil {
				s.wg.Go(func() { s.reaction(ctx, evt, r) }) // acknowledged once handled
				continue
			}
			if err := s.sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
				s.log.Warn("slack: ack failed; Slack will redeliver", "envelope", evt.Request.EnvelopeID, "err", err)
				continue
			}
			s.wg.Go(func() {
				select {
				case s.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-s.sem }()
				s.handle(ctx, evt)
			})
		case socketmode.EventTypeConnected:
			s.connected(true)
			s.log.Info("slack: socket mode connected")
		case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect:
			s.connected(false)
		case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
			s.connected(false)
			// Opening the connection (apps.connections.open, then its
			// websocket) failed: a chat API error like any other, so a
			// Socket Mode that cannot reconnect shows in the error rate.
			s.chat.metrics.ChatAPIError("slack", "apps.connections.open")
			s.log.Warn("slack: socket mode connection problem", "event", string(evt.Type))
		}
	}
}

// handleTimeout bounds the handling of one envelope, retries included; an
// acknowledge reaction has the bot's ReactionPatience on top (it waits for
// an unavailable incident store that long).
const handleTimeout = 30 * time.Second

// handle acts on one acknowledged envelope, once across redeliveries and replicas.
func (s *Socket) handle(ctx context.Context, evt socketmode.Event) {
	ctx, cancel := context.WithTimeout(ctx, handleTimeout)
	defer cancel()
	id := "env:" + evt.Request.EnvelopeID
	if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			id = "ev:" + cb.EventID
		}
	}
	first, err := s.bot.FirstTime(ctx, id)
	if err != nil {
		s.log.Error("slack: cannot tell whether an event was handled; handling it", "err", err)
	} else if !first {
		s.log.Debug("slack: redelivered event ignored", "id", id, "retry_attempt", evt.Request.RetryAttempt)
		return
	}
	switch d := evt.Data.(type) {
	case slack.SlashCommand:
		reply := s.bot.Executor().Command(ctx, bot.Request{
			Command: d.Command, Text: unescape(d.Text), User: d.UserID, Channel: d.ChannelID, ChannelName: d.ChannelName})
		s.respond(ctx, d.ResponseURL, d.ChannelID, d.UserID, reply)
	case slack.InteractionCallback:
		if d.Type != slack.InteractionTypeBlockActions {
			return
		}
		for _, a := range d.ActionCallback.BlockActions {
			name, ok := strings.CutPrefix(a.ActionID, actionPrefix)
			act, known := bot.ParseAction(name)
			if ok && act == bot.ActionAckAll {
				reply := s.bot.Executor().AckAll(ctx, d.User.ID, a.Value)
				s.respond(ctx, d.ResponseURL, d.Channel.ID, d.User.ID, reply)
				continue
			}
			n, err := strconv.ParseInt(a.Value, 10, 64)
			if !ok || !known || err != nil {
				continue
			}
			reply := s.bot.Executor().Action(ctx, d.User.ID, act, n)
			s.respond(ctx, d.ResponseURL, d.Channel.ID, d.User.ID, reply)
		}
	case slackevents.EventsAPIEvent:
		if m, ok := d.InnerEvent.Data.(*slackevents.MessageEvent); ok {
			// message.channels / message.groups: a person's new message in
			// a channel renews their ack lease if the channel is an
			// incident's they own (bot.Executor.Message). A file shared
			// with a message and a thread reply also sent to the channel
			// are new messages too; edits, deletions, bots and every other
			// subtype are not signs of work; DMs (channel_type im) are not
			// an incident's channel. The text is never read.
			if ownMessage[m.SubType] && m.BotID == "" && m.User != "" && m.User != s.self() && m.ChannelType != "im" && m.ChannelType != "mpim" {
				s.bot.Executor().Message(ctx, m.User, m.Channel)
			}
			return
		}
		r, ok := d.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
		if !ok || r.User == "" || r.User == s.self() || r.Item.Type != "message" {
			return
		}
		reply, show := s.bot.Executor().Reaction(ctx, r.User, r.Item.Channel, r.Item.Timestamp, r.Reaction)
		if show {
			if err := s.chat.Ephemeral(ctx, r.Item.Channel, r.User, bot.Message{Text: reply.Text}); err != nil {
				s.log.Warn("slack: could not explain a refused reaction", "err", err)
			}
		}
	}
}

// ownMessage are the message event subtypes of a person's own new
// message ("" a plain one): they renew the writer's ack lease.
var ownMessage = map[string]bool{"": true, "file_share": true, "thread_broadcast": true}

// ackReaction returns the reaction_added event an envelope carries when it
// is an acknowledge reaction by a person on a message; nil otherwise.
func (s *Socket) ackReaction(evt socketmode.Event) *slackevents.ReactionAddedEvent {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return nil
	}
	r, ok := ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok || r.User == "" || r.User == s.self() || r.Item.Type != "message" ||
		!slices.Contains(s.bot.AckReactions(), strings.Trim(r.Reaction, ":")) {
		return nil
	}
	return r
}

// reaction handles an acknowledge reaction and acknowledges its envelope
// only once the bot has settled it (bot.Executor.ReactionSettled): while
// the incident store is unavailable the envelope stays unacknowledged, so
// Slack delivers it again (to this or another replica) and a replica
// killed meanwhile does not take the reaction with it. A delivery of an
// event already handled, or being handled here, is not handled again.
func (s *Socket) reaction(ctx context.Context, evt socketmode.Event, r *slackevents.ReactionAddedEvent) {
	envID := evt.Request.EnvelopeID
	id := "env:" + envID
	if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			id = "ev:" + cb.EventID
		}
	}
	ack := func() {
		if err := s.sm.AckCtx(ctx, envID, nil); err != nil {
			s.log.Warn("slack: ack failed; Slack will redeliver", "envelope", envID, "err", err)
		}
	}
	s.mu.Lock()
	if s.pending == nil {
		s.pending = map[string]bool{}
	}
	if s.pending[id] {
		s.mu.Unlock()
		s.log.Debug("slack: delivery of a reaction being handled here ignored", "id", id, "retry_attempt", evt.Request.RetryAttempt)
		return // acknowledged by the handler that has it, once settled
	}
	s.pending[id] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(ctx, handleTimeout+s.bot.ReactionPatience())
	defer cancel()
	if seen, err := s.bot.Seen(ctx, id); err == nil && seen {
		s.log.Debug("slack: redelivered event ignored", "id", id, "retry_attempt", evt.Request.RetryAttempt)
		ack()
		return
	}
	settled := func() {
		if _, err := s.bot.FirstTime(ctx, id); err != nil {
			s.log.Debug("slack: a handled reaction not recorded; a redelivery of it would be handled again (harmlessly)", "err", err)
		}
		ack()
	}
	reply, show := s.bot.Executor().ReactionSettled(ctx, r.User, r.Item.Channel, r.Item.Timestamp, r.Reaction, settled)
	if show {
		if err := s.chat.Ephemeral(ctx, r.Item.Channel, r.User, bot.Message{Text: reply.Text}); err != nil {
			s.log.Warn("slack: could not explain a refused reaction", "err", err)
		}
	}
}

// respond shows a reply to the person who acted, privately: through the
// response_url (no Web API rate limit), else chat.postEphemeral.
func (s *Socket) respond(ctx context.Context, responseURL, channel, user string, r bot.Reply) {
	if r.Text == "" {
		return
	}
	if r.Redraw != nil && responseURL != "" {
		// The message pressed, redrawn in place through the interaction.
		opts := append(msgOptions(*r.Redraw), slack.MsgOptionReplaceOriginal(responseURL))
		if _, _, err := s.api.PostMessageContext(ctx, "", opts...); err != nil {
			s.chat.metrics.ChatAPIError("slack", "response_url")
			s.log.Debug("slack: could not redraw the message through response_url; the chat sync will", "err", err)
		}
	}
	var err error
	for attempt := range 4 {
		if responseURL == "" {
			break
		}
		_, _, err = s.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral),
			slack.MsgOptionText(stripBidi(r.Text), true))
		if err == nil {
			return
		}
		s.chat.metrics.ChatAPIError("slack", "response_url")
		var se slack.SlackErrorResponse
		if errors.As(err, &se) { // used_url, expired_url: retrying will not help
			break
		}
		wait := time.Duration(attempt+1) * 200 * time.Millisecond
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			wait = rl.RetryAfter
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	if err != nil {
		s.log.Debug("slack: response_url failed; replying with chat.postEphemeral", "err", err)
	}
	if err := s.chat.Ephemeral(ctx, channel, user, bot.Message{Text: r.Text}); err != nil {
		s.log.Warn("slack: could not reply to a command", "err", err)
	}
}
