// Package slack is baton's Slack adapter: bot.Chat over slack-go's Web API
// (with per-method pacing and Slack's errors translated), Block Kit
// rendering of bot's cards, and a Socket Mode client that turns slash
// commands, button clicks and reactions into bot.Executor calls.
//
// Every envelope is acknowledged first (Slack wants it within 3 s) and
// handled after, once: a redelivered envelope (same envelope or event id) is
// recognised through Redis, across replicas.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Options configure a Bot. BotToken, AppToken, Incidents and Redis are required.
type Options struct {
	BotToken string // xoxb-…
	AppToken string // xapp-…, for Socket Mode
	// APIURL is the Web API base, ending in "/"; default DefaultAPIURL.
	// Tests and the demo point it at internal/fakeslack.
	APIURL string
	// AckReactions acknowledge when added to a card, notice or page.
	// Default white_check_mark and eyes.
	AckReactions []string
	// ArchiveAfter is how long after resolve an incident's channel is archived.
	ArchiveAfter time.Duration
	// People and Services come from config (people[].slack is Person.ChatID).
	People   []bot.Person
	Services []bot.Service
	// DefaultChannel takes notices and fallback pages of services without an
	// alerts channel.
	DefaultChannel string
	Incidents      *incident.Store
	OnCall         bot.OnCall
	Overrides      bot.Overrides
	// Wake is called after a command changed an incident (escalation.Runner.Wake).
	Wake   func()
	Redis  redis.UniversalClient
	Prefix string
	Log    *slog.Logger
	Now    func() time.Time

	// Limits pace the Web API calls; nil means SlackLimits (Slack's tiers).
	// An empty, non-nil map paces nothing (only 429s hold calls back).
	Limits map[string]Limit
	// HTTPClient is the Web API's client; default one with a 30s timeout.
	HTTPClient *http.Client
	// PageMaxWait, SyncMaxWait and RepeatEvery: see bot.Options.
	PageMaxWait, SyncMaxWait, RepeatEvery time.Duration
	// PingInterval is how long Socket Mode waits for Slack's ping before
	// reconnecting; default slack-go's 30s.
	PingInterval time.Duration
	// Handlers bounds how many envelopes are handled at once. Default 32.
	Handlers int
	// Analytics answers /incident stats; nil: stats says analytics are not set up.
	Analytics *bot.Analytics
	// Metrics counts acknowledgements by how they were made, incidents
	// opened from chat and failed Web API calls by method; nil counts nothing.
	Metrics Metrics
}

// Metrics is what the Slack adapter reports; *metrics.Metrics implements it.
type Metrics interface {
	bot.Metrics
	// ChatAPIError counts a failed Web API call (each attempt) by method.
	ChatAPIError(chat, method string)
}

type noMetrics struct{}

func (noMetrics) Acknowledged(string)                                {}
func (noMetrics) ObserveAlert(string, string, string, time.Duration) {}
func (noMetrics) ChatAPIError(string, string)                        {}

// Bot is baton on Slack. New builds it; Run connects Socket Mode. Its Pager
// and ChatSync work over the Web API whether or not Socket Mode is up.
type Bot struct {
	core *bot.Bot
	chat *chat
	api  *slack.Client
	sm   *socketmode.Client
	log  *slog.Logger
	sem  chan struct{}

	mu      sync.Mutex
	botUser string
	wg      sync.WaitGroup
}

// New builds a Bot; it makes no network call.
func New(o Options) (*Bot, error) {
	if o.BotToken == "" || o.AppToken == "" {
		return nil, errors.New("slack: bot and app tokens are required")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		return nil, fmt.Errorf("slack: api_url %q must end with /", o.APIURL)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == nil {
		o.Limits = SlackLimits()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Handlers <= 0 {
		o.Handlers = 32
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	api := slack.New(o.BotToken,
		slack.OptionAPIURL(o.APIURL),
		slack.OptionAppLevelToken(o.AppToken),
		slack.OptionHTTPClient(o.HTTPClient))
	c := &chat{api: api, pace: newPacer(o.Limits, o.Now), metrics: o.Metrics}
	core, err := bot.New(bot.Options{
		Chat: c, Incidents: o.Incidents, People: o.People, Services: o.Services,
		OnCall: o.OnCall, Overrides: o.Overrides, Redis: o.Redis, Prefix: o.Prefix,
		ArchiveAfter: o.ArchiveAfter, AckReactions: o.AckReactions, DefaultChannel: o.DefaultChannel,
		Wake: o.Wake, Log: o.Log, Now: o.Now,
		PageMaxWait: o.PageMaxWait, SyncMaxWait: o.SyncMaxWait, RepeatEvery: o.RepeatEvery,
		Analytics: o.Analytics, Metrics: o.Metrics,
	})
	if err != nil {
		return nil, err
	}
	var smOpts []socketmode.Option
	if o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
	}
	return &Bot{
		core: core, chat: c, api: api,
		sm:  socketmode.New(api, smOpts...),
		log: o.Log.With("component", "slack"),
		sem: make(chan struct{}, o.Handlers),
	}, nil
}

// Pager delivers escalation pages as Slack DMs (escalation.Options.Pager).
func (b *Bot) Pager() escalation.Pager { return b.core.Pager() }

// ChatSync mirrors incidents in Slack (escalation.Options.Chat).
func (b *Bot) ChatSync() escalation.ChatSync { return b.core.Syncer() }

// PostDigest posts the weekly digest in a channel (digest.Poster).
func (b *Bot) PostDigest(ctx context.Context, channel string, d digest.Digest) error {
	return b.core.PostDigest(ctx, channel, d)
}

// Core is the chat-neutral side, for tests and the directory check.
func (b *Bot) Core() *bot.Bot { return b.core }

// Run checks the tokens (auth.test), warns about people who cannot be
// reached, and holds a Socket Mode connection until ctx ends, reconnecting
// with backoff. It returns nil when ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.whoAmI(ctx); err != nil {
		return nil // ctx ended
	}
	b.wg.Go(func() {
		for _, err := range b.core.People().Check(ctx) {
			if ctx.Err() == nil {
				b.log.Warn("slack: a person cannot be paged in Slack; their pages will go to the fallback", "err", err)
			}
		}
	})
	b.wg.Go(func() { b.events(ctx) })
	defer b.wg.Wait()
	backoff := time.Second
	for {
		err := b.sm.RunContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		b.log.Error("slack: socket mode stopped; reconnecting", "in", backoff, "err", err)
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
func (b *Bot) whoAmI(ctx context.Context) error {
	backoff := time.Second
	for {
		res, err := b.api.AuthTestContext(ctx)
		if err == nil {
			b.mu.Lock()
			b.botUser = res.UserID
			b.mu.Unlock()
			b.log.Info("slack: connected", "team", res.TeamID, "bot_user", res.UserID)
			return nil
		}
		b.log.Error("slack: auth.test failed; check slack.bot_token", "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (b *Bot) self() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.botUser
}

// events reads Socket Mode events: each envelope is acknowledged at once,
// then handled on its own goroutine (at most Handlers at a time), so a slow
// handler never delays the next ack.
func (b *Bot) events(ctx context.Context) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-b.sm.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
			if evt.Request == nil {
				continue
			}
			if err := b.sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
				b.log.Warn("slack: ack failed; Slack will redeliver", "envelope", evt.Request.EnvelopeID, "err", err)
				continue
			}
			b.wg.Go(func() {
				select {
				case b.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-b.sem }()
				b.handle(ctx, evt)
			})
		case socketmode.EventTypeConnected:
			b.log.Info("slack: socket mode connected")
		case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
			b.log.Warn("slack: socket mode connection problem", "event", string(evt.Type))
		}
	}
}

// handleTimeout bounds the handling of one envelope, retries included.
const handleTimeout = 30 * time.Second

// handle acts on one acknowledged envelope, once across redeliveries and replicas.
func (b *Bot) handle(ctx context.Context, evt socketmode.Event) {
	ctx, cancel := context.WithTimeout(ctx, handleTimeout)
	defer cancel()
	id := "env:" + evt.Request.EnvelopeID
	if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			id = "ev:" + cb.EventID
		}
	}
	first, err := b.core.FirstTime(ctx, id)
	if err != nil {
		b.log.Error("slack: cannot tell whether an event was handled; handling it", "err", err)
	} else if !first {
		b.log.Debug("slack: redelivered event ignored", "id", id, "retry_attempt", evt.Request.RetryAttempt)
		return
	}
	switch d := evt.Data.(type) {
	case slack.SlashCommand:
		reply := b.core.Executor().Command(ctx, bot.Request{
			Command: d.Command, Text: unescape(d.Text), User: d.UserID, Channel: d.ChannelID, ChannelName: d.ChannelName})
		b.respond(ctx, d.ResponseURL, d.ChannelID, d.UserID, reply)
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
			reply := b.core.Executor().Action(ctx, d.User.ID, act, n)
			b.respond(ctx, d.ResponseURL, d.Channel.ID, d.User.ID, reply)
		}
	case slackevents.EventsAPIEvent:
		r, ok := d.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
		if !ok || r.User == "" || r.User == b.self() || r.Item.Type != "message" {
			return
		}
		reply, show := b.core.Executor().Reaction(ctx, r.User, r.Item.Channel, r.Item.Timestamp, r.Reaction)
		if show {
			if err := b.chat.Ephemeral(ctx, r.Item.Channel, r.User, bot.Message{Text: reply.Text}); err != nil {
				b.log.Warn("slack: could not explain a refused reaction", "err", err)
			}
		}
	}
}

// respond shows a reply to the person who acted, privately: through the
// response_url (no Web API rate limit), else chat.postEphemeral.
func (b *Bot) respond(ctx context.Context, responseURL, channel, user string, r bot.Reply) {
	if r.Text == "" {
		return
	}
	var err error
	for attempt := range 4 {
		if responseURL == "" {
			break
		}
		_, _, err = b.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral),
			slack.MsgOptionText(r.Text, true))
		if err == nil {
			return
		}
		b.chat.metrics.ChatAPIError("slack", "response_url")
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
		b.log.Debug("slack: response_url failed; replying with chat.postEphemeral", "err", err)
	}
	if err := b.chat.Ephemeral(ctx, channel, user, bot.Message{Text: r.Text}); err != nil {
		b.log.Warn("slack: could not reply to a command", "err", err)
	}
}
