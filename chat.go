package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/batonhq/baton/bot"
	discordbot "github.com/batonhq/baton/bot/discord"
	slackbot "github.com/batonhq/baton/bot/slack"
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
// nothing else.
type chatSide struct {
	bot *bot.Bot
	// name is the adapter's, for errors and logs: "slack" or "discord".
	name string
	// loop holds the adapter's connection until its ctx ends.
	loop func(ctx context.Context) error
	// shifts runs the rotations' handoff steps (shift.go); nil when no
	// rotation has preshift_check or handoff_accept.
	shifts *bot.Shifts
}

// newChat builds the chat side: Slack when slack.bot_token is set, else
// Discord when discord.token is; nil, nil when neither is (pages then go to
// the log). Both at once is not built: Slack is served and check-config
// says Discord is not (config_validate.go). wake is called after a chat
// command changes an incident, so the engine redraws it at once.
func newChat(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions) (*chatSide, error) {
	switch {
	case cfg.Slack.BotToken != "":
		return newSlack(cfg, d, st, board, m, wake, log, o)
	case cfg.Discord.On():
		return newDiscord(cfg, d, st, board, m, wake, log, o)
	}
	return nil, nil
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
func newSlack(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions) (*chatSide, error) {
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
	socket, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{
		AppToken: cfg.Slack.AppToken, Log: log, Authenticated: b.WarnUnreachable,
		Connected: func(up bool) { m.SocketConnected("slack", up) }})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &chatSide{bot: b, name: "slack", loop: socket.Run}, nil
}

// newDiscord is the chat side on Discord: the REST Chat (discordgo) and the
// gateway loop, which registers /incident and /oncall for the guild. People
// are reached by their discord ids; a service's notices and undeliverable
// pages go to its discord_channel, else discord.alerts_channel.
func newDiscord(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions) (*chatSide, error) {
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
	b, err := bot.New(bo)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	gw, err := discordbot.NewGateway(chat, b, discordbot.GatewayOptions{
		AppID: dc.ApplicationID, Log: log, Authenticated: b.WarnUnreachable,
		Connected: func(up bool) { m.SocketConnected("discord", up) }})
	if err != nil {
		return nil, err
	}
	return &chatSide{bot: b, name: "discord", loop: gw.Run}, nil
}

// run holds the adapter's connection until ctx ends; once the adapter is
// authenticated, everyone's chat account is checked (a warning for each
// person who cannot be reached).
func (c *chatSide) run(ctx context.Context) error {
	err := c.loop(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}
