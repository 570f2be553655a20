package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/batonhq/baton/bot"
	discordbot "github.com/batonhq/baton/bot/discord"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
)

// The adapters' Chats are bot.Chats, and /oncall asks the one board.
var (
	_ bot.Chat  = (*slackbot.Chat)(nil)
	_ bot.Chat  = (*discordbot.Chat)(nil)
	_ bot.Board = (*oncall.Board)(nil)
)

// chatSide is baton in chat: the chat-neutral bot.Bot built on one chat
// adapter's Chat, plus that adapter's event loop (Slack's Socket Mode
// socket, Discord's gateway). An adapter supplies those two things and
// nothing else. With Slack and Discord at once it is Slack's side, with
// Discord's beside it and both joined (bot.Multi) for the engine.
type chatSide struct {
	bot *bot.Bot
	// name is the adapter's, for errors and logs: "slack" or "discord".
	name string
	// loop holds the adapter's connection until its ctx ends.
	loop func(ctx context.Context) error
	// shifts runs the rotations' handoff steps (shift.go); nil when no
	// rotation has preshift_check or handoff_accept.
	shifts *bot.Shifts
	// beside is Discord's side when Slack and Discord run at once; multi
	// joins this side's bot and beside's, and is the engine's pager and
	// chat sync then. Both nil with one chat.
	beside *chatSide
	multi  *bot.Multi
}

// newChat builds the chat side: Slack when slack.bot_token is set, Discord
// when discord.token is, both at once when both are (one incident then has
// a channel and a card in each, and people are paged in every chat they
// have an id in); nil, nil when neither is (pages then go to the log).
// wake is called after a chat command changes an incident, so the engine
// redraws it at once.
func newChat(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions) (*chatSide, error) {
	slackOn, discordOn := cfg.Slack.BotToken != "", cfg.Discord.On()
	if !slackOn && !discordOn {
		return nil, nil
	}
	// With both, each adapter's check of who can be reached waits for the
	// other's, and one warning names whoever neither chat reaches.
	var j *joint
	if slackOn && discordOn {
		j = &joint{}
	}
	var sides []*chatSide
	if slackOn {
		s, err := newSlack(cfg, d, st, board, m, wake, log, o, j)
		if err != nil {
			return nil, err
		}
		sides = append(sides, s)
	}
	if discordOn {
		s, err := newDiscord(cfg, d, st, board, m, wake, log, o, j)
		if err != nil {
			return nil, err
		}
		sides = append(sides, s)
	}
	if j == nil {
		return sides[0], nil
	}
	multi, err := bot.NewMulti(sides[0].bot, sides[1].bot)
	if err != nil {
		return nil, err
	}
	j.multi = multi
	side := sides[0]
	side.beside, side.multi = sides[1], multi
	return side, nil
}

// joint is what two chat sides running at once share: the warning about
// people reachable in neither, given once both adapters are authenticated.
type joint struct {
	multi  *bot.Multi
	mu     sync.Mutex
	authed map[string]bool
	warned bool
}

// authenticated is an adapter's Authenticated callback with both chats:
// once each has authenticated (at least once), everyone is checked in both.
func (j *joint) authenticated(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		j.mu.Lock()
		if j.authed == nil {
			j.authed = map[string]bool{}
		}
		j.authed[name] = true
		run := len(j.authed) == 2 && !j.warned
		if run {
			j.warned = true
		}
		j.mu.Unlock()
		if run {
			j.multi.WarnUnreachable(ctx)
		}
	}
}

// engineChat is what the escalation engine takes of the chat side: the
// chat sync and the pager of pages, page-ins, lease DMs and maintenance
// summaries (one Bot's, or bot.Multi for both chats).
type engineChat interface {
	escalation.ChatSync
	escalation.BundlingPager
	escalation.PageInPager
	escalation.MaintenanceNotifier
	escalation.LeaseNotifier
}

// engine is this side as the engine sees it.
func (c *chatSide) engine() engineChat {
	if c.multi != nil {
		return c.multi
	}
	return struct {
		*bot.Syncer
		*bot.Pager
	}{c.bot.Syncer(), c.bot.Pager()}
}

// botOptions are the bot.Options both adapters share; the adapter fills in
// Chat, People, Services, DefaultChannel and AckReactions.
func botOptions(d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions, prefix string) bot.Options {
	return bot.Options{
		Incidents:   st.incidents,
		Board:       board,
		Overrides:   st.overrides,
		Redis:       st.rdb,
		Prefix:      prefix,
		Wake:        wake,
		Log:         log,
		Now:         o.Now,
		RepeatEvery: o.SlackRepeatEvery,
		Analytics:   &bot.Analytics{Source: st.reports, Zone: d.zone, PersonZone: d.personZone},
		Metrics:     m,
	}
}

// newSlack is the chat side on Slack: the Web API Chat and the Socket Mode loop.
func newSlack(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions, j *joint) (*chatSide, error) {
	co := slackbot.ChatOptions{BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, Metrics: m, Now: o.Now}
	if cfg.Slack.SharedBudget {
		// One Slack budget for every replica: the pacing state is in Redis.
		co.Budget = &slackbot.Budget{Redis: st.rdb, Prefix: cfg.Redis.Prefix, Log: log}
	}
	chat, err := slackbot.NewChat(co)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	bo := botOptions(d, st, board, m, wake, log, o, cfg.Redis.Prefix)
	bo.Chat = chat
	bo.People = cfg.chatPeople(func(p PersonConfig) string { return p.Slack })
	bo.Services = cfg.chatServices(func(s ServiceConfig) string { return s.AlertsChannel })
	bo.ArchiveAfter = cfg.Slack.ArchiveAfter
	bo.AckReactions = cfg.Slack.AckReactions
	b, err := bot.New(bo)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	m.ChatMethods("slack", "chat.postMessage", "chat.update", "conversations.open", "conversations.create", "conversations.invite", "apps.connections.open")
	authed := b.WarnUnreachable
	if j != nil {
		authed = j.authenticated("slack")
	}
	socket, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{
		AppToken: cfg.Slack.AppToken, Log: log, Authenticated: authed,
		Connected: func(up bool) { m.SocketConnected("slack", up) }})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &chatSide{bot: b, name: "slack", loop: socket.Run}, nil
}

// newDiscord is the chat side on Discord: the REST Chat (discordgo) and the
// gateway loop, which registers /incident and /oncall for the guild. People
// are reached by their discord ids; a service's notices and undeliverable
// pages go to its discord_channel, else discord.alerts_channel. Its part of
// each incident's chat references is in the RefSpace "discord" (Slack's
// keeps the unprefixed layout), so the two never share a channel or card;
// beside Slack (j set) it leaves the incident's channel field to Slack.
func newDiscord(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions, j *joint) (*chatSide, error) {
	dc := cfg.Discord
	chat, err := discordbot.NewChat(discordbot.ChatOptions{
		Token: dc.Token, GuildID: dc.GuildID, CategoryID: dc.CategoryID, APIURL: dc.APIURL})
	if err != nil {
		return nil, err // already labelled "discord: …"
	}
	bo := botOptions(d, st, board, m, wake, log, o, cfg.Redis.Prefix)
	bo.Chat = chat
	bo.People = cfg.chatPeople(func(p PersonConfig) string { return p.Discord })
	bo.Services = cfg.chatServices(func(s ServiceConfig) string { return s.DiscordChannel })
	bo.DefaultChannel = dc.AlertsChannel
	bo.AckReactions = dc.AckReactions
	bo.RefSpace = "discord"
	bo.Beside = j != nil
	b, err := bot.New(bo)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	authed := b.WarnUnreachable
	if j != nil {
		authed = j.authenticated("discord")
	}
	gw, err := discordbot.NewGateway(chat, b, discordbot.GatewayOptions{
		AppID: dc.ApplicationID, Log: log, Authenticated: authed,
		Connected: func(up bool) { m.SocketConnected("discord", up) }})
	if err != nil {
		return nil, err
	}
	return &chatSide{bot: b, name: "discord", loop: gw.Run}, nil
}

// run holds the adapter's connection until ctx ends (with both chats,
// both connections, side by side); once the adapter is authenticated,
// everyone's chat account is checked (a warning for each person who cannot
// be reached).
func (c *chatSide) run(ctx context.Context) error {
	if c.beside != nil {
		errc := make(chan error, 1)
		go func() { errc <- c.beside.run(ctx) }()
		err := c.runOne(ctx)
		return errors.Join(err, <-errc)
	}
	return c.runOne(ctx)
}

func (c *chatSide) runOne(ctx context.Context) error {
	err := c.loop(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}
