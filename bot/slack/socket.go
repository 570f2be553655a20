// Package slack is baton's Slack adapter. It supplies two things and
// nothing chat-neutral: Chat, bot.Chat over slack-go's Web API (per-method
// pacing, Slack's errors translated, Block Kit rendering of bot's cards),
// and Socket, the Socket Mode loop that turns slash commands, button clicks
// and reactions into calls on a bot.Bot's Executor. The wiring (the root
// package's chat.go) builds the Chat, hands it to bot.New, and starts a
// Socket with both.
//
// Every envelope is acknowledged first (Slack wants it within 3 s) and
// handled after, once: a redelivered envelope (same envelope or event id) is
// recognised through Redis, across replicas. What cannot be handled because
// the incident store is unavailable is not left to Slack's redelivery (a few
// tries minutes apart, none for clicks and commands): a click or command is
// answered with the store's fixed sentence, and a reaction is retried by the
// bot (bot.Executor.Reaction) for its ReactionPatience, then its person told.
package slack

import (
	"context"
	"errors"
	"log/slog"
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
	Log           *slog.Logger
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

	mu      sync.Mutex
	botUser string
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
	}, nil
}

// Run checks the tokens (auth.test) and holds a Socket Mode connection
// until ctx ends, reconnecting with backoff. It returns nil when ctx ends.
func (s *Socket) Run(ctx context.Context) error {
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
		s.log.Error("slack: auth.test failed; check slack.bot_token", "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
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
			s.log.Info("slack: socket mode connected")
		case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
			s.log.Warn("slack: socket mode connection problem", "event", string(evt.Type))
		}
	}
}

// handleTimeout bounds the handling of one envelope, retries included; a
// reaction has the bot's ReactionPatience on top (it waits for an
// unavailable incident store that long).
const handleTimeout = 30 * time.Second

// handle acts on one acknowledged envelope, once across redeliveries and replicas.
func (s *Socket) handle(ctx context.Context, evt socketmode.Event) {
	timeout := handleTimeout
	if evt.Type == socketmode.EventTypeEventsAPI {
		timeout += s.bot.ReactionPatience()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
			n, err := strconv.ParseInt(a.Value, 10, 64)
			if !ok || !known || err != nil {
				continue
			}
			reply := s.bot.Executor().Action(ctx, d.User.ID, act, n)
			s.respond(ctx, d.ResponseURL, d.Channel.ID, d.User.ID, reply)
		}
	case slackevents.EventsAPIEvent:
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

// respond shows a reply to the person who acted, privately: through the
// response_url (no Web API rate limit), else chat.postEphemeral.
func (s *Socket) respond(ctx context.Context, responseURL, channel, user string, r bot.Reply) {
	if r.Text == "" {
		return
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
