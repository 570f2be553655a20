package slack_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// The socket tells SocketOptions.Connected (baton_socket_connected) the
// truth: down before it connects, up once Slack says so, down when the
// connection drops, up again after the reconnect, down when it stops.
func TestSocketReportsItsConnection(t *testing.T) {
	fake := fakeslack.StartTest(t)
	srv := redistest.Start(t)
	log := slog.New(slog.DiscardHandler)
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
	states := make(chan bool, 1024)
	sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: fake.AppToken(), Log: log,
		PingInterval: time.Second, // a dropped connection is noticed by its missing pings
		Connected:    func(up bool) { states <- up }})
	if err != nil {
		t.Fatal(err)
	}
	// await reads the reported states until want arrives.
	await := func(want bool, what string) {
		t.Helper()
		deadline := time.After(15 * time.Second) // a bound for a hung test, not a wait
		for {
			select {
			case up := <-states:
				if up == want {
					return
				}
			case <-deadline:
				t.Fatalf("%s: never reported connected=%v", what, want)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sock.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	select {
	case up := <-states:
		if up {
			t.Fatal("the first report is connected=true, before any connection")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("nothing reported")
	}
	await(true, "after connecting")
	fake.DropConnections()
	await(false, "after the connection dropped")
	await(true, "after reconnecting")
	cancel()
	<-done
	var last bool
	for len(states) > 0 {
		last = <-states
	}
	if last {
		t.Fatal("still connected=true after Run returned")
	}
}
