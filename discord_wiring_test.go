package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/redistest"
)

// discordToken has a bot token's shape (check-config refuses others); the
// fake accepts it.
const discordToken = "MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.abcdefghij"

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// discordWorld is the example config served on Discord: internal/fakediscord
// with carol (on call for payments, alone on its rotation), a stranger, the
// payments notice channel and discord.alerts_channel for the others.
type discordWorld struct {
	fake            *fakediscord.Server
	redis           *redistest.Server
	cfg             *Config
	carol, stranger fakediscord.User
	payments        fakediscord.Channel
	log             *lockedBuffer
}

func newDiscordWorld(t *testing.T, onCall ...string) *discordWorld {
	t.Helper()
	w := &discordWorld{log: &lockedBuffer{}}
	w.fake = fakediscord.StartTest(t, fakediscord.WithToken(discordToken), fakediscord.WithHeartbeatInterval(200*time.Millisecond))
	w.carol = w.fake.AddUser(fakediscord.User{ID: "112233445566778899", Username: "carol"})
	w.stranger = w.fake.AddUser(fakediscord.User{Username: "mallory"})
	w.payments = w.fake.AddChannel(fakediscord.Channel{Name: "payments-alerts"})
	other := w.fake.AddChannel(fakediscord.Channel{Name: "alerts"})
	cat := w.fake.AddChannel(fakediscord.Channel{Name: "incidents", Type: fakediscord.ChannelCategory})
	w.redis = redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + w.redis.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
		"BATON_DISCORD_TOKEN=" + discordToken, "BATON_DISCORD_APPLICATION_ID=" + w.fake.AppID(),
		"BATON_DISCORD_GUILD_ID=" + w.fake.GuildID(), "BATON_DISCORD_CATEGORY_ID=" + cat.ID,
		"BATON_DISCORD_ALERTS_CHANNEL=" + other.ID, "BATON_DISCORD_API_URL=" + w.fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Services {
		if cfg.Services[i].Name == "payments" {
			cfg.Services[i].DiscordChannel = w.payments.ID
		}
	}
	for i := range cfg.Rotations {
		if cfg.Rotations[i].Name == "payments" {
			cfg.Rotations[i].Participants = []string{"carol"}
			if len(onCall) > 0 {
				cfg.Rotations[i].Participants = onCall
			}
		}
	}
	for i := range cfg.EscalationPolicies {
		if cfg.EscalationPolicies[i].Name == "payments-policy" {
			cfg.EscalationPolicies[i].RepageEvery = 300 * time.Millisecond
		}
	}
	// A stable replica id: a restarted App takes back its jobs at once.
	cfg.Escalation.ReplicaID = "discord-test"
	w.cfg = cfg
	return w
}

// serve runs a new App on w's config until stop is called (stop waits for
// Serve to return and closes the App).
func (w *discordWorld) serve(t *testing.T) (a *testApp, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := NewAppWith(w.cfg, log, AppOptions{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if app.Chat == nil || app.Chat.name != "discord" {
		t.Fatalf("chat side %+v, want Discord", app.Chat)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			app.Close()
		})
	}
	t.Cleanup(stop)
	return &testApp{url: "http://" + ln.Addr().String(), redis: w.redis}, stop
}

// waitFor polls cond (the fake, the API, the log) until it holds, 15 s at most.
func (w *discordWorld) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; log:\n%s", what, tailLines(w.log.String(), 60))
		}
		time.Sleep(10 * time.Millisecond) // polling the fake and the API, not synchronising
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// incChannels are the guild channels named inc-<n>-….
func (w *discordWorld) incChannels(prefix string) []fakediscord.Channel {
	var out []fakediscord.Channel
	for _, c := range w.fake.Channels() {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (w *discordWorld) dms(u fakediscord.User) []fakediscord.Message {
	dm := w.fake.DMChannel(u.ID)
	if dm == "" {
		return nil
	}
	return w.fake.Messages(dm)
}

func incidentStatus(t *testing.T, a *testApp, n string) map[string]any {
	t.Helper()
	code, out := a.call(t, "GET", "/v1/incidents/"+n, apiToken, "")
	if code != 200 {
		t.Fatalf("get incident %s: %d %v", n, code, out)
	}
	return out
}

// TestServeDiscord: `baton serve` with discord.token (and no Slack) runs the
// Discord bot end to end over HTTP: an alert makes the incident channel
// (under the category), the pinned card, the notice in the service's
// discord_channel and DM pages to the person on call, re-paged; a restart
// of the App carries on (pages continue) without a second channel or card;
// a stranger's reaction changes nothing; carol's ✅ on the card acknowledges
// (the card is edited, pages stop); /incident resolve is answered within
// 3 s and resolves. People nobody can reach on Discord are named at start.
func TestServeDiscord(t *testing.T) {
	w := newDiscordWorld(t)
	a, stop := w.serve(t)
	w.waitFor(t, "the gateway", w.fake.Ready)
	w.waitFor(t, "the commands registered", func() bool { return len(w.fake.Commands()) == 2 })
	w.waitFor(t, "the socket gauge up", func() bool {
		return strings.Contains(getBody(t, a.url+"/metrics"), `baton_socket_connected{chat="discord"} 1`)
	})
	w.waitFor(t, "the warnings about bob and alice", func() bool {
		l := w.log.String()
		return strings.Contains(l, "bob is on rotation db-primary but has no discord id") &&
			strings.Contains(l, "alice is on rotation db-primary but has no discord id")
	})

	code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing @everyone","severity":"critical"}`)
	if code != 202 || out["incident"] != 1.0 {
		t.Fatalf("alert: %d %v", code, out)
	}
	var ch fakediscord.Channel
	var card fakediscord.Message
	w.waitFor(t, "the channel and its pinned card", func() bool {
		chans := w.incChannels("inc-1-")
		if len(chans) != 1 {
			return false
		}
		ch = chans[0]
		pins := w.fake.Pins(ch.ID)
		if len(pins) != 1 {
			return false
		}
		card, _ = w.fake.Message(pins[0])
		return true
	})
	if ch.ParentID == "" || ch.ParentID != w.cfg.Discord.CategoryID {
		t.Fatalf("channel %+v not under the category %s", ch, w.cfg.Discord.CategoryID)
	}
	if got := strings.Join(card.Buttons(), ","); got != "baton:ack:1,baton:resolve:1,baton:escalate:1" {
		t.Fatalf("card buttons %s", got)
	}
	w.waitFor(t, "the notice in payments' discord_channel", func() bool { return len(w.fake.Messages(w.payments.ID)) == 1 })
	w.waitFor(t, "carol paged by DM", func() bool { return len(w.dms(w.carol)) >= 1 })
	w.waitFor(t, "the card naming its owner", func() bool {
		card, _ = w.fake.Message(card.ID)
		return strings.Join(card.MentionUsers, ",") == w.carol.ID
	})
	if card.MentionEveryone {
		t.Fatal("the alert's @everyone mentioned everyone")
	}

	// Restart: the pages carry on (durable jobs), and nothing is made twice.
	stop()
	identifies := w.fake.Gateway().Identifies
	a, _ = w.serve(t)
	w.waitFor(t, "the gateway after the restart", func() bool { return w.fake.Gateway().Identifies > identifies && w.fake.Ready() })
	pages := len(w.dms(w.carol))
	w.waitFor(t, "a re-page after the restart", func() bool { return len(w.dms(w.carol)) > pages })
	code, out = a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing @everyone","severity":"critical"}`)
	if code != 202 || out["incident"] != 1.0 || out["created"] != false {
		t.Fatalf("repeat alert: %d %v", code, out)
	}

	// A stranger's ✅ changes nothing; carol's acknowledges.
	if err := w.fake.React(w.stranger.ID, ch.ID, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "the stranger told", func() bool { return len(w.dms(w.stranger)) == 1 })
	if st := incidentStatus(t, a, "1")["status"]; st != "triggered" {
		t.Fatalf("a stranger's reaction made it %v", st)
	}
	if err := w.fake.React(w.carol.ID, ch.ID, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "the ack", func() bool {
		inc := incidentStatus(t, a, "1")
		return inc["status"] == "acknowledged" && inc["owner"] == "carol"
	})
	w.waitFor(t, "the card edited in place", func() bool {
		m, _ := w.fake.Message(card.ID)
		return strings.Join(m.Buttons(), ",") == "baton:resolve:1,baton:escalate:1"
	})
	pages = len(w.dms(w.carol))
	// Three re-page intervals pass: asserting that nothing happens in them,
	// so there is no event to wait for.
	time.Sleep(900 * time.Millisecond)
	if now := len(w.dms(w.carol)); now != pages {
		t.Fatalf("%d pages after the ack", now-pages)
	}

	// /incident resolve in the channel: answered within 3 s, resolved.
	in, err := w.fake.SlashCommand(w.carol.ID, ch.ID, "incident", fakediscord.SubCommand("resolve", fakediscord.StringOption("note", "rolled back")))
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "the answer to /incident resolve", func() bool {
		got, _ := w.fake.Interaction(in.ID)
		return got.Original != ""
	})
	if got, _ := w.fake.Interaction(in.ID); !got.Responded || got.RespondedIn > 3*time.Second {
		t.Fatalf("interaction answered %+v, want within 3 s", got)
	}
	w.waitFor(t, "resolved", func() bool { return incidentStatus(t, a, "1")["status"] == "resolved" })

	// Across the restart: one channel, one card, one notice.
	if chans := w.incChannels("inc-1-"); len(chans) != 1 {
		t.Fatalf("%d channels for INC-1", len(chans))
	}
	cards := 0
	for _, m := range w.fake.Messages(ch.ID) {
		if len(m.Buttons()) > 0 || len(m.EmbedList()) > 0 && m.Pinned {
			cards++
		}
	}
	if cards != 1 || len(w.fake.Pins(ch.ID)) != 1 {
		t.Fatalf("INC-1 has %d cards and %d pins", cards, len(w.fake.Pins(ch.ID)))
	}
	if n := len(w.fake.Messages(w.payments.ID)); n != 1 {
		t.Fatalf("%d notices in payments' channel", n)
	}
}

// TestServeDiscordFallback: the person on call has no discord id, so the
// page falls back to the service's discord_channel (not its Slack
// alerts_channel), beside the notice.
func TestServeDiscordFallback(t *testing.T) {
	w := newDiscordWorld(t, "bob")
	a, _ := w.serve(t)
	w.waitFor(t, "the gateway", w.fake.Ready)
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing","severity":"critical"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	w.waitFor(t, "the notice and the fallback page in payments' discord_channel", func() bool {
		return len(w.fake.Messages(w.payments.ID)) >= 2
	})
	if strings.Contains(w.log.String(), "fallback page failed") {
		t.Fatalf("a fallback page failed:\n%s", tailLines(w.log.String(), 40))
	}
}
