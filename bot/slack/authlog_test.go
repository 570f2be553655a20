package slack_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// A failed auth.test is logged as what it was: Slack busy (429) or
// unavailable (503) is a WARN that says so, not an ERROR blaming the bot
// token; a refused token is the ERROR that names slack.bot_token. The
// socket connects once Slack answers.
func TestAuthFailureSaysWhatHappened(t *testing.T) {
	cases := []struct {
		name      string
		fault     fakeslack.Fault
		wantLevel string
		wantMsg   string
	}{
		{"429 with Retry-After", fakeslack.TooManyRequests(time.Second), "level=WARN", "rate limited by Slack (429)"},
		{"429 without Retry-After", fakeslack.TooManyRequests(0), "level=WARN", "rate limited by Slack (429)"},
		{"503", fakeslack.HTTPError(http.StatusServiceUnavailable), "level=WARN", "Slack is unavailable (HTTP 503"},
		{"invalid_auth", fakeslack.Fault{Error: "invalid_auth"}, "level=ERROR", "check slack.bot_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakeslack.StartTest(t)
			srv := redistest.Start(t)
			logs := &logBuffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: fake.BotToken(), APIURL: fake.APIURL(), Limits: map[string]slackbot.Limit{}})
			if err != nil {
				t.Fatal(err)
			}
			svc := incident.NewStore(srv.Client(), "test:")
			t.Cleanup(svc.Close)
			b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: srv.Client(), Prefix: "test:", Log: log})
			if err != nil {
				t.Fatal(err)
			}
			authed := make(chan struct{})
			sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: fake.AppToken(), Log: log,
				Authenticated: func(context.Context) { close(authed) }})
			if err != nil {
				t.Fatal(err)
			}
			fake.FailNext("auth.test", 1, tc.fault)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = sock.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			select {
			case <-authed:
			case <-time.After(15 * time.Second): // a bound for a hung test
				t.Fatalf("never connected; log:\n%s", logs.tail(20))
			}
			var line string
			for _, l := range strings.Split(logs.tail(50), "\n") {
				if strings.Contains(l, "auth.test") || strings.Contains(l, "bot token") {
					line = l
					break
				}
			}
			if !strings.Contains(line, tc.wantLevel) || !strings.Contains(line, tc.wantMsg) {
				t.Fatalf("logged %q, want %s with %q", line, tc.wantLevel, tc.wantMsg)
			}
			if tc.wantLevel == "level=WARN" && strings.Contains(line, "bot_token") {
				t.Fatalf("logged %q: blames the token for Slack's trouble", line)
			}
		})
	}
}
