package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// linkKey is the incident store's key linking a chat message to its
// incident (incident/chat.go's chatLink, in the {inc} slot of the jobs key).
func (e *env) linkKey(channel, ts string) string {
	return strings.TrimSuffix(e.svc.JobsKey(), "jobs") + "l:slack:" + channel + "/" + ts
}

// acked waits until incident n is acknowledged by owner.
func (e *env) acked(n int64, owner string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("INC-%d acknowledged by %s", n, owner), func() bool {
		inc := e.incident(n)
		return inc.Status == incident.StatusAcknowledged && inc.Owner == owner
	})
}

// A message whose link to its incident was never stored (the replica died,
// or Redis failed, between Slack's answer and the link): an acknowledge
// reaction on it still acknowledges, the incident found from the message
// itself (a page's metadata key; the bot's own card or notice by its text),
// and the link is stored then.
func TestReactionOnUnlinkedMessageAcknowledges(t *testing.T) {
	tests := []struct {
		name string
		// message returns the channel and ts reacted to, for incident n.
		message func(e *env, n int64) (channel, ts string)
	}{
		{"a page, by its metadata key", func(e *env, n int64) (string, string) {
			e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
			dm := e.dms(e.alice)[0]
			return dm.Channel, dm.TS
		}},
		{"the card, by its text", func(e *env, n int64) (string, string) {
			return e.announced(n)
		}},
		{"the notice, by its text", func(e *env, n int64) (string, string) {
			e.announced(n)
			ch, ts, _ := strings.Cut(e.refs(n)["ntc"], "/")
			return ch, ts
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, defaults())
			n := e.open("payments", "k", "Disk full")
			ch, ts := tc.message(e, n)
			e.waitFor("the message linked", func() bool { got, err := e.svc.ChatLink(e.ctx, "slack:"+ch+"/"+ts); return err == nil && got == n })
			if err := e.rdb.Del(e.ctx, e.linkKey(ch, ts)).Err(); err != nil {
				t.Fatal(err)
			}
			e.must(e.fake.AddReaction(e.bob.ID, ch, ts, "white_check_mark"))
			e.acked(n, "bob")
			if got, err := e.svc.ChatLink(e.ctx, "slack:"+ch+"/"+ts); err != nil || got != n {
				t.Errorf("the message's link after the reaction: INC-%d, %v; want INC-%d", got, err, n)
			}
		})
	}
}

// A reaction on a message of the bot's that names no incident, or on a
// message the chat will not show (missing_scope: retrying cannot help),
// changes nothing and says nothing.
func TestReactionOnOtherMessagesIgnored(t *testing.T) {
	tests := []struct {
		name    string
		fault   bool   // conversations.history answers missing_scope
		logLine string // what the bot logs once it has decided
	}{
		{"the bot's message naming no incident", false, "reaction on a message that is not about an incident"},
		{"a message the chat will not show", true, "reaction on a message the chat will not show; ignored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, defaults())
			n := e.open("payments", "k", "Disk full")
			e.announced(n)
			// The bot's own message without a key or an INC- reference: a
			// /incident stats summary posted in the alerts channel.
			if _, err := e.fake.SendSlashCommand(e.bob.ID, e.alerts.ID, "/incident", "stats"); err != nil {
				t.Fatal(err)
			}
			e.reportIn(e.alerts.ID, "Incident stats")
			var summary string
			for _, m := range e.fake.Messages(e.alerts.ID) {
				if strings.Contains(blocksText(m), "Incident stats") {
					if strings.Contains(m.Text, "INC-") {
						t.Fatalf("the summary names an incident (%q); pick another message", m.Text)
					}
					summary = m.TS
				}
			}
			if tc.fault {
				e.fake.FailNext("conversations.history", 1, fakeslack.SlackError("missing_scope"))
			}
			e.must(e.fake.AddReaction(e.bob.ID, e.alerts.ID, summary, "white_check_mark"))
			e.logged(1, tc.logLine)
			if inc := e.incident(n); inc.Status != incident.StatusTriggered {
				t.Errorf("INC-%d is %s after a reaction on a message that is not about it", n, inc.Status)
			}
			if len(e.fake.Ephemerals(e.bob.ID)) != 0 {
				t.Errorf("bob was told something: %+v", e.fake.Ephemerals(e.bob.ID))
			}
		})
	}
}

// An acknowledge reaction while Redis is down for 3 s: retried until Redis
// answers and applied then; with a patience shorter than the outage, the
// person is told privately that it was not applied, and nothing changes.
func TestReactionDuringRedisOutage(t *testing.T) {
	const outage = 3 * time.Second
	tests := []struct {
		name     string
		patience time.Duration
		wantAck  bool
	}{
		{"applied once Redis is back", 0 /* the default 2m */, true},
		{"the person told when Redis stays down longer", time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.durable = true
			cfg.reactionPatience = tc.patience
			e := newEnv(t, cfg)
			n := e.open("payments", "k", "Disk full")
			e.announced(n)
			e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
			dm := e.dms(e.alice)[0]
			e.waitFor("the page linked", func() bool {
				got, err := e.svc.ChatLink(e.ctx, "slack:"+dm.Channel+"/"+dm.TS)
				return err == nil && got == n
			})
			// The page goes out before the runner commits its step (the
			// owner): wait for the commit, which the outage must not cut.
			e.waitFor("alice the owner", func() bool { return e.incident(n).Owner == "alice" })

			e.redis.Stop()
			down := time.Now()
			e.must(e.fake.AddReaction(e.alice.ID, dm.Channel, dm.TS, "white_check_mark"))
			// The reaction taken up while Redis is down (the lookup of its
			// message failed); logged as such before and after the fix.
			e.logged(1, "reaction: look up the message")
			if !tc.wantAck {
				e.waitFor("alice told", func() bool { return len(e.fake.Ephemerals(e.alice.ID)) == 1 })
				if got := e.fake.Ephemerals(e.alice.ID)[0].Text; got != bot.ReactionNotApplied {
					t.Errorf("alice was told %q, want %q", got, bot.ReactionNotApplied)
				}
			}
			<-time.After(outage - time.Since(down)) // the outage's length, not a synchronisation
			e.redis.Restart()
			if tc.wantAck {
				e.acked(n, "alice")
				if len(e.fake.Ephemerals(e.alice.ID)) != 0 {
					t.Errorf("alice was told something: %+v", e.fake.Ephemerals(e.alice.ID))
				}
				return
			}
			e.logged(1, "reaction not applied; the person is told")
			if inc := e.incident(n); inc.Status != incident.StatusTriggered || inc.Owner != "alice" {
				t.Errorf("INC-%d is %s, owner %s, after a reaction that was not applied", n, inc.Status, inc.Owner)
			}
		})
	}
}

// A button click while Redis is down: the person who clicked gets the fixed
// sentence, nothing about Redis, and nothing changes.
func TestClickDuringRedisOutage(t *testing.T) {
	tests := []struct {
		name, action string
		// onCard: bob (known by email only) clicks on the incident's card;
		// else alice clicks on her page.
		onCard bool
	}{
		{"acknowledge on a page", "baton_ack", false},
		{"resolve on a page", "baton_resolve", false},
		{"escalate on a page", "baton_escalate", false},
		{"acknowledge on the card, by someone known by email", "baton_ack", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.durable = true
			e := newEnv(t, cfg)
			n := e.open("payments", "k", "Disk full")
			ch, card := e.announced(n)
			e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
			who, where, msg := e.alice, e.dms(e.alice)[0].Channel, e.dms(e.alice)[0].TS
			if tc.onCard {
				who, where, msg = e.bob, ch, card
			}
			e.idle()
			before := e.incident(n)

			e.redis.Stop()
			id, err := e.fake.SendBlockAction(who.ID, where, msg, tc.action, "")
			if err != nil {
				t.Fatal(err)
			}
			e.waitFor("the reply", func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
			if got := unescapeHTML(e.fake.ResponsePosts(id)[0].Text); got != incident.UnavailableMessage {
				t.Errorf("%s was answered %q, want %q", who.Name, got, incident.UnavailableMessage)
			}
			e.redis.Restart()
			after := e.incident(n)
			if after.Status != before.Status || after.Owner != before.Owner || after.Level != before.Level {
				t.Errorf("INC-%d changed during the outage: %s/%s/%d, was %s/%s/%d", n,
					after.Status, after.Owner, after.Level, before.Status, before.Owner, before.Level)
			}
		})
	}
}

// replica starts a second bot on the env's fake Slack and Redis (another
// replica: its own Socket Mode connection, no escalation runner) and
// returns a function that stops it.
func (e *env) replica() (stop func()) {
	e.t.Helper()
	chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: e.fake.BotToken(), APIURL: e.fake.APIURL(),
		Limits: map[string]slackbot.Limit{}})
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := bot.New(bot.Options{Chat: chat, Incidents: e.svc, Redis: e.rdb, Prefix: "test:",
		Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", 2),
		People: []bot.Person{
			{ID: "alice", Name: "Alice", Email: "alice@example.com", ChatID: e.alice.ID},
			{ID: "bob", Name: "Bob", Email: "bob@example.com"},
		},
		Services: []bot.Service{{Name: "payments", AlertsChannel: "#payments-alerts"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: e.fake.AppToken(), Log: slog.New(slog.NewTextHandler(e.log, nil)).With("replica", 2)})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sock.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return stop
}

// A reaction taken up by a replica that stops while Redis is down is not
// lost with it: its envelope was not acknowledged, so Slack delivers it
// again, to the other replica, which applies it once Redis is back.
func TestReactionSurvivesItsReplica(t *testing.T) {
	cfg := defaults()
	cfg.durable = true
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full")
	e.announced(n)
	e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
	dm := e.dms(e.alice)[0]
	e.waitFor("the page linked", func() bool {
		got, err := e.svc.ChatLink(e.ctx, "slack:"+dm.Channel+"/"+dm.TS)
		return err == nil && got == n
	})

	e.redis.Stop()
	down := time.Now()
	env, err := e.fake.AddReaction(e.alice.ID, dm.Channel, dm.TS, "white_check_mark")
	if err != nil {
		t.Fatal(err)
	}
	e.logged(1, "reaction: look up the message") // taken up by the first replica, the only one
	e.replica()
	wctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.fake.WaitConnections(wctx, 2); err != nil {
		t.Fatal(err)
	}
	e.stop()                                       // the first replica goes, with the reaction it was retrying
	<-time.After(3*time.Second - time.Since(down)) // the outage's length, not a synchronisation
	e.redis.Restart()
	e.acked(n, "alice")
	// The envelope is acknowledged once the reaction is settled, just after
	// the incident's acknowledgement is stored: wait for it.
	e.waitFor("the reaction's envelope acknowledged", func() bool {
		got, ok := e.fake.Envelope(env)
		return ok && got.Acked
	})
}
