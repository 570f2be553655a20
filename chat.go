package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
)

// The Slack adapter's Chat is a bot.Chat, and /oncall asks the one board.
var (
	_ bot.Chat  = (*slackbot.Chat)(nil)
	_ bot.Board = (*oncall.Board)(nil)
)

// chatSide is baton in chat: the chat-neutral bot.Bot built on one chat
// adapter's Chat, plus that adapter's event loop. Today the adapter is
// Slack (bot/slack: a Chat over the Web API and a Socket Mode loop); a
// second adapter supplies the same two things and nothing else.
type chatSide struct {
	bot    *bot.Bot
	socket *slackbot.Socket
}

// newChat builds the chat side when slack.bot_token is set; nil, nil
// otherwise (pages then go to the log). wake is called after a chat
// command changes an incident, so the engine redraws it at once.
func newChat(cfg *Config, d *domain, st *stores, board *oncall.Board, m *metrics.Metrics, wake func(), log *slog.Logger, o AppOptions) (*chatSide, error) {
	if cfg.Slack.BotToken == "" {
		return nil, nil
	}
	chat, err := slackbot.NewChat(slackbot.ChatOptions{
		BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, Metrics: m, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	b, err := bot.New(bot.Options{
		Chat:         chat,
		Incidents:    st.incidents,
		People:       cfg.chatPeople(func(p PersonConfig) string { return p.Slack }),
		Services:     cfg.chatServices(),
		Board:        board,
		Overrides:    st.overrides,
		Redis:        st.rdb,
		Prefix:       cfg.Redis.Prefix,
		ArchiveAfter: cfg.Slack.ArchiveAfter,
		AckReactions: cfg.Slack.AckReactions,
		Wake:         wake,
		Log:          log,
		Now:          o.Now,
		RepeatEvery:  o.SlackRepeatEvery,
		Analytics:    &bot.Analytics{Source: st.reports, Zone: d.zone, PersonZone: d.personZone},
		Metrics:      m,
	})
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
	return &chatSide{bot: b, socket: socket}, nil
}

// run holds the adapter's connection until ctx ends; once the adapter is
// authenticated, everyone's chat account is checked (a warning for each
// person who cannot be reached).
func (c *chatSide) run(ctx context.Context) error {
	err := c.socket.Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}
