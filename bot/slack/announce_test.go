package slack_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// errCrash stands for a replica that died (or lost Redis) around a chat call.
var errCrash = errors.New("replica died")

// crashingChat fails the first chat call that creates what (the channel, the
// card: a post in a channel the bot created, the notice: a post in the
// alerts channel, the reply: a post in a thread) with errCrash: before the call reached Slack, or after
// Slack answered, so that the id Slack returned is never stored.
type crashingChat struct {
	bot.Chat
	what, alerts string
	after        bool
	once         sync.Once
	fired        bool
}

func (c *crashingChat) fire() bool {
	hit := false
	c.once.Do(func() { hit, c.fired = true, true })
	return hit
}

func (c *crashingChat) CreateChannel(ctx context.Context, name string) (string, error) {
	if c.what != "channel" {
		return c.Chat.CreateChannel(ctx, name)
	}
	if !c.after && c.fire() {
		return "", errCrash
	}
	id, err := c.Chat.CreateChannel(ctx, name)
	if err == nil && c.after && c.fire() {
		return "", errCrash
	}
	return id, err
}

func (c *crashingChat) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	what := "card"
	switch {
	case m.Thread != "":
		what = "reply"
	case channel == c.alerts:
		what = "notice"
	}
	if what != c.what {
		return c.Chat.Post(ctx, channel, m)
	}
	if !c.after && c.fire() {
		return "", "", errCrash
	}
	ch, ts, err := c.Chat.Post(ctx, channel, m)
	if err == nil && c.after && c.fire() {
		return "", "", errCrash
	}
	return ch, ts, err
}

// FindKeys makes the wrapper a bot.KeysFinder, as the Slack chat it wraps:
// its notices go through the notices' group, posted after the sync handed
// them over (bot/notices.go).
func (c *crashingChat) FindKeys(ctx context.Context, channelID string, keys []string, recent int) (map[string]string, error) {
	return c.Chat.(bot.KeysFinder).FindKeys(ctx, channelID, keys, recent)
}

// failLink is a Redis hook that fails, with errCrash, the first SET of the
// chat link of what (channel, card, notice) a sync created.
type failLink struct {
	what, alerts string
	fired        atomic.Bool
}

func (h *failLink) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failLink) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *failLink) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 2 || !strings.EqualFold(fmt.Sprint(args[0]), "set") {
			return next(ctx, cmd)
		}
		key := fmt.Sprint(args[1])
		_, ref, ok := strings.Cut(key, "l:slack:")
		if !ok {
			return next(ctx, cmd)
		}
		what := "channel"
		switch {
		case strings.HasPrefix(ref, h.alerts+"/"):
			what = "notice"
		case strings.Contains(ref, "/"):
			what = "card"
		}
		if what == h.what && h.fired.CompareAndSwap(false, true) {
			cmd.SetErr(errCrash)
			return errCrash
		}
		return next(ctx, cmd)
	}
}

// An incident's chat sync crashes once around the creation of its channel,
// its card, its notice or a repeat's thread reply (Slack answered and the
// id was not stored, or the call never went); the next sync, on another
// replica's chat, adopts what the crashed one created: one channel, one
// card, one notice, one reply about the repeat in Slack's record, and the
// incident's references point at them.
func TestAnnouncedOnceAcrossCrashes(t *testing.T) {
	cases := []struct {
		name   string
		what   string // what the crash is around: channel, card, notice, reply
		after  bool   // the crash comes after Slack's answer
		byName bool   // the alerts channel is configured by name
		// taken: the incident channel's name already belongs to a channel
		// the bot did not create since the mark: "person" (a person
		// created it), "older" (the bot did, an hour before: another
		// deployment's). The incident's channel is then the -2 one.
		taken string
		// noList: conversations.list refused for good (no channels:read):
		// the channel the crashed run created cannot be found, and a
		// second (-2) is made rather than none.
		noList bool
		// linkFails: no chat crash; Redis fails the first run when it
		// links what it created to the incident (a Redis outage, or a
		// death, between the chat's answer and the records).
		linkFails bool
	}{
		{"channel: crash after Slack's answer", "channel", true, false, "", false, false},
		{"channel: crash after Slack's answer, channels:read missing", "channel", true, false, "", true, false},
		{"channel: crash before the call", "channel", false, false, "", false, false},
		{"channel: crash before the call, the name a person's channel", "channel", false, false, "person", false, false},
		{"channel: crash before the call, the name the bot's from before", "channel", false, false, "older", false, false},
		{"card: crash after Slack's answer", "card", true, false, "", false, false},
		{"card: crash before the call", "card", false, false, "", false, false},
		{"notice: crash after Slack's answer", "notice", true, false, "", false, false},
		{"notice: crash before the call", "notice", false, false, "", false, false},
		{"notice by channel name: crash after Slack's answer", "notice", true, true, "", false, false},
		{"repeat reply: crash after Slack's answer", "reply", true, false, "", false, false},
		{"repeat reply: crash before the call", "reply", false, false, "", false, false},
		{"channel: Redis fails at its link", "channel", true, false, "", false, true},
		{"card: Redis fails at its link", "card", true, false, "", false, true},
		{"notice: Redis fails at its link", "notice", true, false, "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeslack.StartTest(t)
			srv := redistest.Start(t)
			ctx := redistest.Ctx(t)
			alice := fake.AddUser(fakeslack.User{Name: "alice", Email: "alice@example.com"})
			alertsCh := fake.AddChannel(fakeslack.Channel{Name: "payments-alerts"})
			alerts := alertsCh.ID
			taken := ""
			switch tc.taken {
			case "person":
				taken = fake.AddChannel(fakeslack.Channel{Name: "inc-1-card-payments-failing", Creator: alice.ID}).ID
			case "older":
				taken = fake.AddChannel(fakeslack.Channel{Name: "inc-1-card-payments-failing", Creator: fake.BotUserID(),
					Created: time.Now().Add(-time.Hour)}).ID
			}
			if tc.byName {
				alerts = "#payments-alerts"
			}
			logs := &logBuffer{}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("log:\n%s", logs.tail(40))
				}
			})
			svc := incident.NewStore(srv.Client(), "test:")
			t.Cleanup(svc.Close)
			// replica is one process's chat sync; each has its own Redis
			// connection (hooked when hook is set), store and bot.
			replica := func(wrap func(bot.Chat) bot.Chat, hook redis.Hook) *bot.Syncer {
				rdb := srv.Client()
				if hook != nil {
					rdb.AddHook(hook)
				}
				svc := incident.NewStore(rdb, "test:")
				t.Cleanup(svc.Close)
				var chat bot.Chat
				chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: fake.BotToken(), APIURL: fake.APIURL(),
					Limits: map[string]slackbot.Limit{}})
				if err != nil {
					t.Fatal(err)
				}
				if wrap != nil {
					chat = wrap(chat)
				}
				b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: rdb, Prefix: "test:",
					Log:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
					People: []bot.Person{{ID: "alice", Name: "Alice", ChatID: alice.ID}}, RepeatEvery: time.Nanosecond,
					Services: []bot.Service{{Name: "payments", AlertsChannel: alerts}}})
				if err != nil {
					t.Fatal(err)
				}
				return b.Syncer()
			}
			alert := incident.Alert{Source: "generic", Service: "payments", DedupKey: "k",
				Summary: "card payments failing", Severity: incident.SevCritical, Status: incident.AlertFiring}
			res, err := svc.Open(ctx, alert)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noList {
				fake.FailNext("conversations.list", 10, fakeslack.Fault{Error: "missing_scope"})
			}
			crash := &crashingChat{what: tc.what, alerts: alerts, after: tc.after}
			var hook *failLink
			first := replica(func(c bot.Chat) bot.Chat { crash.Chat = c; return crash }, nil)
			if tc.linkFails {
				crash.what = "" // no crash in the chat
				hook = &failLink{what: tc.what, alerts: alertsCh.ID}
				first = replica(nil, hook)
			}
			// sync runs a chat sync and waits until the notice it handed
			// over (if any) has its outcome recorded: the posting mark
			// no longer carries a deadline.
			sync := func(s *bot.Syncer) error {
				_, err := s.Sync(ctx, res.Number)
				deadline := time.Now().Add(10 * time.Second)
				for {
					refs, rerr := svc.ChatRefs(ctx, res.Number)
					if rerr != nil {
						t.Fatal(rerr)
					}
					if !strings.Contains(refs["pntc"], "/") {
						return err
					}
					if time.Now().After(deadline) {
						t.Fatalf("the notice handed over is not recorded after 10 s: %v", refs)
					}
					time.Sleep(5 * time.Millisecond) // polling Redis for the outcome
				}
			}
			if tc.what == "reply" {
				// Announced; then the alert fires again, and the reply about it is due.
				if err := sync(first); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Open(ctx, alert); err != nil {
					t.Fatal(err)
				}
			}
			// A notice on Slack is posted after the sync handed it over,
			// so its crash is not the sync's error (the check that it
			// happened is at the end).
			handed := tc.what == "notice"
			if err := sync(first); handed && err != nil || !handed && !errors.Is(err, errCrash) {
				t.Fatalf("the first sync: %v, want the crash", err)
			}
			if err := sync(replica(nil, nil)); err != nil {
				t.Fatalf("the sync after the crash: %v", err)
			}

			var chans []fakeslack.Channel
			for _, c := range fake.Channels() {
				if strings.HasPrefix(c.Name, "inc-") && c.ID != taken {
					chans = append(chans, c)
				}
			}
			if tc.noList && len(chans) == 2 {
				chans = chans[1:] // the first is the crashed run's, orphaned
			}
			if len(chans) != 1 {
				t.Fatalf("%d incident channels, want 1: %+v", len(chans), chans)
			}
			ch := chans[0]
			if want := "inc-1-card-payments-failing"; (tc.taken != "" || tc.noList) && ch.Name != want+"-2" || tc.taken == "" && !tc.noList && ch.Name != want {
				t.Fatalf("the incident's channel is %s", ch.Name)
			}
			top := func(id string) []fakeslack.Message {
				var out []fakeslack.Message
				for _, m := range fake.Messages(id) {
					if m.ThreadTS == "" || m.ThreadTS == m.TS {
						out = append(out, m)
					}
				}
				return out
			}
			cards, notices := top(ch.ID), top(alertsCh.ID)
			if len(cards) != 1 || len(notices) != 1 {
				t.Fatalf("%d card(s) in %s and %d notice(s), want one of each", len(cards), ch.Name, len(notices))
			}
			refs, err := svc.ChatRefs(ctx, res.Number)
			if err != nil {
				t.Fatal(err)
			}
			if refs["ch"] != ch.ID || refs["card"] != cards[0].TS || refs["ntc"] != alertsCh.ID+"/"+notices[0].TS {
				t.Fatalf("references %v; want channel %s, card %s, notice %s", refs, ch.ID, cards[0].TS, notices[0].TS)
			}
			wantReplies := 0
			if tc.what == "reply" {
				wantReplies = 1
			}
			if got := fake.Replies(ch.ID, cards[0].TS); len(got) != wantReplies {
				t.Fatalf("%d thread replies on the card, want %d", len(got), wantReplies)
			}
			for _, f := range []string{"pchn", "pcard", "pntc", "prep"} {
				if refs[f] != "" {
					t.Fatalf("posting mark %s left: %v", f, refs)
				}
			}
			if c, _ := fake.Channel(ch.ID); len(c.Pins) != 1 || c.Pins[0] != cards[0].TS {
				got := c.Pins
				t.Fatalf("pins %v, want the card", got)
			}
			if n, err := svc.ChatLink(ctx, "slack:"+alertsCh.ID+"/"+notices[0].TS); err != nil || n != res.Number {
				t.Fatalf("notice linked to %d, %v", n, err)
			}
			if n, err := svc.ChatLink(ctx, "slack:"+ch.ID); err != nil || n != res.Number {
				t.Fatalf("channel linked to %d, %v", n, err)
			}
			if n, err := svc.ChatLink(ctx, "slack:"+ch.ID+"/"+cards[0].TS); err != nil || n != res.Number {
				t.Fatalf("card linked to %d, %v", n, err)
			}
			if inc, _, err := svc.Get(ctx, res.Number); err != nil || inc.Channel != ch.ID {
				t.Fatalf("the incident's channel is %q, %v", inc.Channel, err)
			}
			if !crash.fired && (hook == nil || !hook.fired.Load()) {
				t.Fatal("the crash never happened")
			}
		})
	}
}
