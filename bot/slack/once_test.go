package slack_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// dyingChat is a replica's chat that dies (its Redis connection closed: a
// dead process gives nothing back) at its first post, after the post
// reached Slack or before.
type dyingChat struct {
	bot.Chat
	afterPost bool
	die       func()
	once      sync.Once
}

func (c *dyingChat) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	if !c.afterPost {
		c.once.Do(c.die)
		return "", "", errors.New("killed before the post")
	}
	ch, ts, err := c.Chat.Post(ctx, channel, m)
	c.once.Do(c.die)
	return ch, ts, err
}

// onceWorld is a Slack workspace and a Redis that replicas share.
type onceWorld struct {
	t     *testing.T
	fake  *fakeslack.Server
	srv   *redistest.Server
	alice fakeslack.User
	log   *logBuffer
	// target is whom the policy pages ("user:alice"; "user:dave" has no
	// chat account, so his pages go to the fallback); alerts is the
	// service's alerts channel as configured (a name or an id).
	target, alerts string
}

// replica builds one baton process's paging side on its own Redis
// connection: incident store, Slack chat (wrapped by wrap, when set), bot
// and runner, started; it returns the runner's stop.
func (w *onceWorld) replica(c *redis.Client, lease time.Duration, wrap func(bot.Chat) bot.Chat) (stop func()) {
	t := w.t
	pols, err := escalation.Lookup([]escalation.Service{{Name: "payments", Policy: "payments", AlertsChannel: w.alerts}},
		[]escalation.Policy{{Name: "payments", RepageEvery: time.Hour, Levels: []escalation.Level{level(time.Hour, w.target)}}})
	if err != nil {
		t.Fatal(err)
	}
	wake := escalation.NewWakeup()
	svc := incident.NewStore(c, "test:", incident.WithAckTimeout(pols.AckTimeout), incident.WithOnJobDue(wake.Notify))
	t.Cleanup(svc.Close)
	log := slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var chat bot.Chat
	chat, err = slackbot.NewChat(slackbot.ChatOptions{BotToken: w.fake.BotToken(), APIURL: w.fake.APIURL(),
		Limits: map[string]slackbot.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		chat = wrap(chat)
	}
	b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: c, Prefix: "test:", Log: log,
		People:   []bot.Person{{ID: "alice", Name: "Alice", ChatID: w.alice.ID}, {ID: "dave", Name: "Dave"}},
		Services: []bot.Service{{Name: "payments", AlertsChannel: w.alerts}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := escalation.NewRunner(escalation.Options{Incidents: svc, Wakeup: wake, Pager: b.Pager(), Policies: pols,
		PollInterval: 20 * time.Millisecond, Lease: lease, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		MaxAttempts: 1, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// pages returns the top-level messages in alice's DM, or in the alerts
// channel when the policy pages dave (who has no chat account).
func (w *onceWorld) pages() []fakeslack.Message {
	for _, c := range w.fake.Channels() {
		if w.target == "user:alice" && c.IsIM && c.User == w.alice.ID || w.target != "user:alice" && c.Name == "payments-alerts" {
			var top []fakeslack.Message
			for _, m := range w.fake.Messages(c.ID) {
				if m.ThreadTS == "" || m.ThreadTS == m.TS {
					top = append(top, m)
				}
			}
			return top
		}
	}
	return nil
}

// A replica dies around the post of a page; two others on the same Redis
// race for the job once its lease runs out. Through slack-go and the fake:
// a page that reached Slack is found in the DM by its key and not posted
// again; one that did not is posted exactly once; one that cannot be
// looked for (conversations.history refused) is posted again, a double
// page being better than a lost one. A fallback page is looked for in the
// alerts channel by its id: configured by id, or learnt from an earlier
// page there; the first ever to a channel configured by name cannot be
// (Slack's history takes ids only), and is posted again.
func TestPageDeliveredOnceAcrossReplicas(t *testing.T) {
	cases := []struct {
		name      string
		target    string // whom the policy pages
		byName    bool   // the alerts channel is configured by name, not id
		learnt    bool   // its id already learnt from an earlier post there (a notice or a page)
		afterPost bool
		history   *fakeslack.Fault // conversations.history's answer to the survivors, when not ok
		want      int              // page messages in alice's DM (or, for dave, the alerts channel)
	}{
		{"crash between the post and its record", "user:alice", true, false, true, nil, 1},
		{"crash before the post", "user:alice", true, false, false, nil, 1},
		{"crash after the post, history unreadable", "user:alice", true, false, true, &fakeslack.Fault{Error: "internal_error"}, 2},
		{"fallback page, channel by id: crash after the post", "user:dave", false, false, true, nil, 1},
		{"fallback page, channel by name, its id learnt: crash after the post", "user:dave", true, true, true, nil, 1},
		{"fallback page, channel by name, its first post there: crash after the post", "user:dave", true, false, true, nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &onceWorld{t: t, fake: fakeslack.StartTest(t), srv: redistest.Start(t), log: &logBuffer{}, target: tc.target}
			w.alice = w.fake.AddUser(fakeslack.User{Name: "alice", Email: "alice@example.com"})
			w.alerts = w.fake.AddChannel(fakeslack.Channel{Name: "payments-alerts"}).ID
			if tc.byName {
				id := w.alerts
				w.alerts = "#payments-alerts"
				if tc.learnt {
					if err := w.srv.Client().HSet(redistest.Ctx(t), "test:chat:slack:chan", w.alerts, id).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("log:\n%s", w.log.tail(80))
				}
			})
			if tc.history != nil {
				w.fake.FailNext("conversations.history", 100, *tc.history)
			}

			clientA := w.srv.Client()
			died := make(chan struct{})
			stopA := w.replica(clientA, 300*time.Millisecond, func(c bot.Chat) bot.Chat {
				return &dyingChat{Chat: c, afterPost: tc.afterPost, die: func() { _ = clientA.Close(); close(died) }}
			})
			ctx := redistest.Ctx(t)
			opener := incident.NewStore(w.srv.Client(), "test:")
			t.Cleanup(opener.Close)
			res, err := opener.Open(ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: "k",
				Summary: "card payments failing", Severity: incident.SevCritical, Status: incident.AlertFiring})
			if err != nil {
				t.Fatal(err)
			}
			<-died
			stopA()
			for range 2 {
				w.replica(w.srv.Client(), 5*time.Second, nil)
			}
			deadline := time.Now().Add(15 * time.Second) // a bound for a hung test
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for ; ; <-tick.C {
				_, tl, err := opener.Get(ctx, res.Number)
				if err != nil {
					t.Fatal(err)
				}
				if countPaged(tl) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the page was never committed; DM: %d messages", len(w.pages()))
				}
			}
			pages := w.pages()
			if len(pages) != tc.want {
				t.Fatalf("%d page(s) where they go, want %d", len(pages), tc.want)
			}
			for _, m := range pages {
				if m.Metadata == nil || m.Metadata.EventType != "baton_page" || m.Metadata.EventPayload["key"] == "" {
					t.Fatalf("page posted without its key: %+v", m.Metadata)
				}
			}
			// The page that counts (the last) is linked to its incident, so
			// a reaction on it acknowledges, and recorded as the channel's
			// latest page, which the chat sync settles after an ack: also
			// when the run that posted it died before, and the next found it.
			last := pages[len(pages)-1]
			if n, err := opener.ChatLink(ctx, "slack:"+last.Channel+"/"+last.TS); err != nil || n != res.Number {
				t.Fatalf("page %s linked to %d, %v; want INC-%d", last.TS, n, err, res.Number)
			}
			refs, err := opener.ChatRefs(ctx, res.Number)
			if err != nil {
				t.Fatal(err)
			}
			if refs["p:"+last.Channel+"/"+last.TS] == "" {
				t.Fatalf("the latest page is not recorded for settling: %v", refs)
			}
		})
	}
}

func countPaged(tl []incident.Event) int {
	n := 0
	for _, e := range tl {
		if e.Type == incident.EventPaged {
			n++
		}
	}
	return n
}
