package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/fakeslack"
)

// bothWorld is discordWorld with Slack configured too (internal/fakeslack):
// carol has a Slack id and a Discord id, so she is paged in both.
type bothWorld struct {
	*discordWorld
	slack      *fakeslack.Server
	slackCarol fakeslack.User
	// retryMin, retryMax: the runner's backoff between a page's attempts
	// (AppOptions); zero keeps its defaults.
	retryMin, retryMax time.Duration
}

func newBothWorld(t *testing.T) *bothWorld {
	t.Helper()
	w := &bothWorld{discordWorld: newDiscordWorld(t)}
	w.slack = fakeslack.StartTest(t)
	w.slackCarol = w.slack.AddUser(fakeslack.User{Name: "carol", RealName: "Carol Diaz", Email: "carol@example.com"})
	for _, s := range w.cfg.Services {
		if s.AlertsChannel != "" {
			w.slack.AddChannel(fakeslack.Channel{Name: strings.TrimPrefix(s.AlertsChannel, "#")})
		}
	}
	w.cfg.Slack.BotToken, w.cfg.Slack.AppToken, w.cfg.Slack.APIURL = w.slack.BotToken(), w.slack.AppToken(), w.slack.APIURL()
	for i := range w.cfg.People {
		if w.cfg.People[i].ID == "carol" {
			w.cfg.People[i].Slack = w.slackCarol.ID
		}
	}
	return w
}

// serve runs a new App on w's config until the test ends.
func (w *bothWorld) serve(t *testing.T) *testApp {
	t.Helper()
	log := slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := NewAppWith(w.cfg, log, AppOptions{PollInterval: 20 * time.Millisecond, RetryMin: w.retryMin, RetryMax: w.retryMax})
	if err != nil {
		t.Fatal(err)
	}
	if app.Chat == nil || app.Chat.name != "slack" || app.Chat.beside == nil || app.Chat.beside.name != "discord" {
		t.Fatalf("chat side %+v, want Slack with Discord beside", app.Chat)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			app.Close()
		})
	})
	return &testApp{url: "http://" + ln.Addr().String(), redis: w.redis}
}

func (w *bothWorld) slackDMs() []fakeslack.Message {
	im, ok := w.slack.IM(w.slackCarol.ID)
	if !ok {
		return nil
	}
	return w.slack.Messages(im.ID)
}

func (w *bothWorld) slackChannel(prefix string) (fakeslack.Channel, bool) {
	var found []fakeslack.Channel
	for _, c := range w.slack.Channels() {
		if strings.HasPrefix(c.Name, prefix) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return fakeslack.Channel{}, false
	}
	return found[0], true
}

// TestServeSlackAndDiscord: with slack.bot_token and discord.token both
// set, `baton serve` runs both bots on one Redis and one escalation engine:
// an alert makes a channel and a pinned card in each chat and pages carol
// by DM in both (one "paged" event per page decision, naming both chats); her ✅ on the
// Discord card acknowledges, which stops the Slack pages too (none across
// three re-page intervals) and redraws the Slack card; /incident resolve
// in the Slack channel resolves, and the Discord card shows it. Both
// connections show in /metrics; only people neither chat reaches are
// warned about.
func TestServeSlackAndDiscord(t *testing.T) {
	w := newBothWorld(t)
	a := w.serve(t)
	w.waitFor(t, "the gateway", w.fake.Ready)
	w.waitFor(t, "both connections in /metrics", func() bool {
		m := getBody(t, a.url+"/metrics")
		return strings.Contains(m, `baton_socket_connected{chat="discord"} 1`) && strings.Contains(m, `baton_socket_connected{chat="slack"} 1`)
	})

	// bob has neither a Slack account (his email finds nobody there) nor a
	// discord id: warned about once both chats are up. alice (a Slack id)
	// and carol (both) are not, though each lacks one chat.
	w.waitFor(t, "the warning about bob", func() bool {
		return strings.Contains(w.log.String(), "a person cannot be paged in any chat")
	})
	for _, line := range strings.Split(w.log.String(), "\n") {
		if strings.Contains(line, "cannot be paged") && (!strings.Contains(line, "bob") || strings.Contains(line, "alice") || strings.Contains(line, "carol")) {
			t.Fatalf("unreachable warning about someone one chat reaches: %s", line)
		}
	}

	code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing","severity":"critical"}`)
	if code != 202 || out["incident"] != 1.0 {
		t.Fatalf("alert: %d %v", code, out)
	}
	// Discord: the channel and its pinned card.
	var dch fakediscord.Channel
	var dcard fakediscord.Message
	w.waitFor(t, "the Discord channel and its pinned card", func() bool {
		chans := w.incChannels("inc-1-")
		if len(chans) != 1 {
			return false
		}
		dch = chans[0]
		pins := w.fake.Pins(dch.ID)
		if len(pins) != 1 {
			return false
		}
		dcard, _ = w.fake.Message(pins[0])
		return true
	})
	// Slack: the channel and its pinned card.
	var sch fakeslack.Channel
	w.waitFor(t, "the Slack channel and its pinned card", func() bool {
		var ok bool
		sch, ok = w.slackChannel("inc-1-")
		return ok && len(sch.Pins) == 1
	})
	scardTS := sch.Pins[0]
	// carol is paged in both chats.
	w.waitFor(t, "carol paged on Slack and on Discord", func() bool { return len(w.slackDMs()) >= 1 && len(w.dms(w.carol)) >= 1 })
	firsts := func() int {
		n := 0
		for _, e := range timeline(t, a, "1") {
			if e["type"] == "paged" && e["note"] == "first" {
				n++
				if got := fmt.Sprint(e["chats"]); got != "slack,discord" {
					t.Fatalf("the first page went to the chats %q, want slack,discord", got)
				}
			}
		}
		return n
	}
	w.waitFor(t, "the first page in the timeline", func() bool { return firsts() > 0 })
	if firsts := firsts(); firsts != 1 {
		t.Fatalf("%d paged events for the first page, want one for both chats", firsts)
	}
	// Both chats' state for INC-1 sits side by side in one hash.
	refs, err := w.redis.Client().HGetAll(context.Background(), w.cfg.Redis.Prefix+"{inc}:i:1:c").Result()
	if err != nil {
		t.Fatal(err)
	}
	if refs["card"] != scardTS || refs["discord|card"] != dcard.ID || refs["ch"] != sch.ID || refs["discord|ch"] != dch.ID {
		t.Fatalf("chat refs %v: want Slack's card %s unprefixed and Discord's %s under discord|", refs, scardTS, dcard.ID)
	}
	if got := incidentStatus(t, a, "1")["channel"]; got != sch.ID {
		t.Fatalf("incident channel %v, want Slack's %s", got, sch.ID)
	}

	// carol's ✅ on the Discord card acknowledges.
	if err := w.fake.React(w.carol.ID, dch.ID, dcard.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "the ack", func() bool {
		inc := incidentStatus(t, a, "1")
		return inc["status"] == "acknowledged" && inc["owner"] == "carol"
	})
	w.waitFor(t, "the Slack card showing the ack by carol", func() bool {
		m, ok := w.slack.Message(sch.ID, scardTS)
		return ok && strings.Contains(m.Text, "acknowledged), owner Carol Diaz")
	})
	w.waitFor(t, "the Discord card edited in place", func() bool {
		m, _ := w.fake.Message(dcard.ID)
		return strings.Join(m.Buttons(), ",") == "baton:resolve:1,baton:escalate:1"
	})
	slackPages, discordPages := len(w.slackDMs()), len(w.dms(w.carol))
	// Three re-page intervals (300 ms) pass: asserting that nothing happens
	// in them, so there is no event to wait for.
	time.Sleep(900 * time.Millisecond)
	if now := len(w.slackDMs()); now != slackPages {
		t.Fatalf("%d Slack pages after the ack in Discord", now-slackPages)
	}
	if now := len(w.dms(w.carol)); now != discordPages {
		t.Fatalf("%d Discord pages after the ack", now-discordPages)
	}

	// /incident resolve in the Slack channel resolves; the Discord card follows.
	if _, err := w.slack.SendSlashCommand(w.slackCarol.ID, sch.ID, "/incident", "resolve rolled back"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "resolved", func() bool { return incidentStatus(t, a, "1")["status"] == "resolved" })
	w.waitFor(t, "the Discord card showing resolved", func() bool {
		m, _ := w.fake.Message(dcard.ID)
		return len(m.Buttons()) == 0 && strings.Contains(string(m.Embeds), "Resolved")
	})
	w.waitFor(t, "the Slack card showing resolved", func() bool {
		m, _ := w.slack.Message(sch.ID, scardTS)
		return strings.Contains(m.Text, "(payments, resolved)")
	})
	// One channel and one card in each chat.
	if chans := w.incChannels("inc-1-"); len(chans) != 1 {
		t.Fatalf("%d Discord channels for INC-1", len(chans))
	}
	if _, ok := w.slackChannel("inc-1-"); !ok {
		t.Fatal("not exactly one Slack channel for INC-1")
	}
}

// timeline is incident n's timeline from the API.
func timeline(t *testing.T, a *testApp, n string) []map[string]any {
	t.Helper()
	var out []map[string]any
	tl, _ := incidentStatus(t, a, n)["timeline"].([]any)
	for _, e := range tl {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestServeBothRepeatAfterDiscord500: a repeat page whose Discord post is
// answered 500 once (after Discord posted it, or without posting) is sent
// again in Discord only (or found there by replaying its post), and its
// one "paged" event names both chats, as the first page's does (re-pages
// fold into their run's first entry, so that entry is the one faulted).
func TestServeBothRepeatAfterDiscord500(t *testing.T) {
	tests := []struct {
		name  string
		fault fakediscord.Fault
	}{
		{name: "500 after the post (outcome unknown, found delivered)", fault: fakediscord.AppliedError(500)},
		{name: "500 without the post", fault: fakediscord.HTTPError(500)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newBothWorld(t)
			a := w.serve(t)
			w.waitFor(t, "the gateway", w.fake.Ready)
			if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing","severity":"critical"}`); code != 202 {
				t.Fatalf("alert: %d %v", code, out)
			}
			w.waitFor(t, "carol paged on Slack and on Discord", func() bool { return len(w.slackDMs()) >= 1 && len(w.dms(w.carol)) >= 1 })
			if len(w.dms(w.carol)) > 1 {
				t.Skip("the first re-page went out before the fault was set (machine too slow)")
			}
			dm := w.fake.DMChannel(w.carol.ID)
			var fired atomic.Bool
			w.fake.InjectCallFaults(func(c fakediscord.FaultCall) (fakediscord.Fault, bool) {
				if c.Route != fakediscord.RouteMessagePost || !strings.Contains(c.Path, dm) || !strings.Contains(string(c.Body), "Reminder") {
					return fakediscord.Fault{}, false
				}
				return tc.fault, fired.CompareAndSwap(false, true)
			})
			repeats := func() []map[string]any {
				var out []map[string]any
				for _, e := range timeline(t, a, "1") {
					if e["type"] == "paged" && e["note"] == "repeat" {
						out = append(out, e)
					}
				}
				return out
			}
			deadline := time.Now().Add(20 * time.Second)
			// Re-pages fold into one timeline entry, the run's first (count:
			// how many it stands for); the faulted page is that first one.
			for !fired.Load() || len(repeats()) == 0 || repeats()[0]["count"].(float64) < 2 {
				if time.Now().After(deadline) {
					var dms []string
					for _, m := range w.dms(w.carol) {
						dms = append(dms, m.Content)
					}
					t.Fatalf("fault fired %v, repeat events %v; Discord DMs %q; timeline %v", fired.Load(), repeats(), dms, timeline(t, a, "1"))
				}
				time.Sleep(10 * time.Millisecond) // polling the fake and the API, not synchronising
			}
			for i, e := range repeats() {
				if got := fmt.Sprint(e["chats"]); got != "slack,discord" {
					t.Fatalf("repeat page %d: chats %q, want slack,discord (event %v)", i+1, got, e)
				}
			}
			// No repeat page doubled in either chat by the retry.
			for _, c := range []struct {
				chat string
				n    int
			}{{"slack", len(w.slackDMs())}, {"discord", len(w.dms(w.carol))}} {
				if pages := 1 + len(repeats()); c.n > pages+1 {
					t.Fatalf("%s: %d DMs for %d pages", c.chat, c.n, pages)
				}
			}
		})
	}
}

// TestServeBothGatewayReconnect: with Slack on too, Discord's gateway
// moving the session mid-incident (op 7 RECONNECT, op 9 INVALID SESSION
// resumable or not) loses nothing: carol's ✅ on the Discord card after the
// reconnect acknowledges, the pages stop in both chats and both cards show
// the ack.
func TestServeBothGatewayReconnect(t *testing.T) {
	tests := []struct {
		name  string
		move  func(*fakediscord.Server) int
		count func(fakediscord.GatewayStats) int // the new session: identified or resumed
	}{
		{name: "op 7 RECONNECT", move: (*fakediscord.Server).Reconnect,
			count: func(g fakediscord.GatewayStats) int { return g.Identifies + g.Resumes }},
		{name: "op 9 INVALID SESSION resumable", move: func(s *fakediscord.Server) int { return s.InvalidateSession(true) },
			count: func(g fakediscord.GatewayStats) int { return g.Identifies + g.Resumes }},
		{name: "op 9 INVALID SESSION not resumable", move: func(s *fakediscord.Server) int { return s.InvalidateSession(false) },
			count: func(g fakediscord.GatewayStats) int { return g.Identifies }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newBothWorld(t)
			a := w.serve(t)
			w.waitFor(t, "the gateway", w.fake.Ready)
			if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing","severity":"critical"}`); code != 202 {
				t.Fatalf("alert: %d %v", code, out)
			}
			var dch fakediscord.Channel
			var dcard fakediscord.Message
			w.waitFor(t, "the Discord channel and its pinned card", func() bool {
				chans := w.incChannels("inc-1-")
				if len(chans) != 1 || len(w.fake.Pins(chans[0].ID)) != 1 {
					return false
				}
				dch = chans[0]
				dcard, _ = w.fake.Message(w.fake.Pins(dch.ID)[0])
				return true
			})
			var sch fakeslack.Channel
			w.waitFor(t, "the Slack channel and its pinned card", func() bool {
				var ok bool
				sch, ok = w.slackChannel("inc-1-")
				return ok && len(sch.Pins) == 1
			})
			w.waitFor(t, "carol paged in both chats", func() bool { return len(w.slackDMs()) >= 1 && len(w.dms(w.carol)) >= 1 })

			before := tc.count(w.fake.Gateway())
			if n := tc.move(w.fake); n != 1 {
				t.Fatalf("%d gateway sessions told, want 1", n)
			}
			w.waitFor(t, "the new session", func() bool { return tc.count(w.fake.Gateway()) > before && w.fake.Ready() })
			// Pages keep coming meanwhile in both chats (the durable jobs
			// do not depend on the gateway).
			s0, d0 := len(w.slackDMs()), len(w.dms(w.carol))
			w.waitFor(t, "a re-page in both chats after the reconnect", func() bool {
				return len(w.slackDMs()) > s0 && len(w.dms(w.carol)) > d0
			})

			if err := w.fake.React(w.carol.ID, dch.ID, dcard.ID, "✅"); err != nil {
				t.Fatal(err)
			}
			w.waitFor(t, "the ack", func() bool {
				inc := incidentStatus(t, a, "1")
				return inc["status"] == "acknowledged" && inc["owner"] == "carol"
			})
			w.waitFor(t, "the Slack card showing the ack by carol", func() bool {
				m, ok := w.slack.Message(sch.ID, sch.Pins[0])
				return ok && strings.Contains(m.Text, "acknowledged), owner Carol Diaz")
			})
			w.waitFor(t, "the Discord card edited in place", func() bool {
				m, _ := w.fake.Message(dcard.ID)
				return strings.Join(m.Buttons(), ",") == "baton:resolve:1,baton:escalate:1"
			})
			slackPages, discordPages := len(w.slackDMs()), len(w.dms(w.carol))
			// Three re-page intervals (300 ms) pass: asserting that nothing
			// happens in them, so there is no event to wait for.
			time.Sleep(900 * time.Millisecond)
			if now := len(w.slackDMs()); now != slackPages {
				t.Fatalf("%d Slack pages after the ack in Discord", now-slackPages)
			}
			if now := len(w.dms(w.carol)); now != discordPages {
				t.Fatalf("%d Discord pages after the ack", now-discordPages)
			}
		})
	}
}

// incidentsIn are the incident numbers a message names (INC-n, or INC\-n
// as Discord's markdown escaping writes it), each once.
func incidentsIn(s string) map[int]bool {
	out := map[int]bool{}
	for _, m := range regexp.MustCompile(`INC\\*-(\d+)`).FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		out[n] = true
	}
	return out
}

// TestServeBothDiscord429Storm: a storm of incidents for carol while
// Discord answers her DM posts 429 (a route bucket's, or the global limit,
// with retry_after): every incident is paged exactly once in each chat,
// and the Slack pages do not wait for Discord's limit (each chat's send is
// its own: bot.Multi runs them concurrently). The Slack delay (alert to
// Slack DM) is logged for each case, the no-429 case as the baseline.
func TestServeBothDiscord429Storm(t *testing.T) {
	const storm = 8
	tests := []struct {
		name  string
		fault *fakediscord.Fault
	}{
		{name: "no 429 (baseline)"},
		{name: "route 429", fault: &fakediscord.Fault{Status: 429, RetryAfter: 3 * time.Second}},
		{name: "global 429", fault: &fakediscord.Fault{Status: 429, RetryAfter: 3 * time.Second, Global: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newBothWorld(t)
			for i := range w.cfg.EscalationPolicies {
				if w.cfg.EscalationPolicies[i].Name == "payments-policy" {
					w.cfg.EscalationPolicies[i].RepageEvery = time.Hour // first pages only: each is counted
				}
			}
			a := w.serve(t)
			w.waitFor(t, "the gateway", w.fake.Ready)
			if tc.fault != nil {
				// Every other post to carol's DM is refused while the storm lasts.
				var posts atomic.Int64
				w.fake.InjectCallFaults(func(c fakediscord.FaultCall) (fakediscord.Fault, bool) {
					if c.Route != fakediscord.RouteMessagePost || !strings.Contains(c.Path, "/channels/") {
						return fakediscord.Fault{}, false
					}
					return *tc.fault, posts.Add(1)%2 == 1
				})
			}
			sent := map[int]time.Time{}
			for n := 1; n <= storm; n++ {
				sent[n] = time.Now()
				body := fmt.Sprintf(`{"service":"payments","summary":"card payments failing %d","severity":"critical","dedup_key":"storm-%d"}`, n, n)
				if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, body); code != 202 || out["incident"] != float64(n) {
					t.Fatalf("alert %d: %d %v", n, code, out)
				}
			}
			slackAt := map[int]time.Duration{}
			deadline := time.Now().Add(30 * time.Second)
			for len(slackAt) < storm {
				if time.Now().After(deadline) {
					t.Fatalf("Slack told carol about %d of %d incidents in 30 s", len(slackAt), storm)
				}
				for _, m := range w.slackDMs() {
					for n := range incidentsIn(m.Text) {
						if _, ok := slackAt[n]; !ok && n >= 1 && n <= storm {
							slackAt[n] = time.Since(sent[n])
						}
					}
				}
				time.Sleep(5 * time.Millisecond) // polling the fake, not synchronising
			}
			var worst time.Duration
			for _, d := range slackAt {
				worst = max(worst, d)
			}
			discordCount := func() map[int]int {
				c := map[int]int{}
				for _, m := range w.dms(w.carol) {
					for n := range incidentsIn(m.Content + string(m.Embeds)) {
						c[n]++
					}
				}
				return c
			}
			w.waitFor(t, "every incident paged on Discord", func() bool { return len(discordCount()) >= storm })
			t.Logf("%s: Slack told carol of all %d incidents, the slowest %v after its alert", tc.name, storm, worst.Round(time.Millisecond))
			if worst > 2500*time.Millisecond { // under the retry_after: Slack paces itself (about 1 s here)
				t.Errorf("a Slack page came %v after its alert: it waited on Discord's 429", worst)
			}
			if tc.fault != nil {
				n429 := 0
				for _, c := range w.fake.Calls(fakediscord.RouteMessagePost) {
					if c.Status == 429 {
						n429++
					}
				}
				if n429 == 0 {
					t.Fatal("Discord answered no post 429")
				}
				t.Logf("%s: %d posts answered 429", tc.name, n429)
			}
			// Exactly once per incident in each chat.
			slackCount := map[int]int{}
			for _, m := range w.slackDMs() {
				for n := range incidentsIn(m.Text) {
					slackCount[n]++
				}
			}
			for n := 1; n <= storm; n++ {
				if slackCount[n] != 1 || discordCount()[n] != 1 {
					t.Errorf("INC-%d paged %d times on Slack, %d on Discord; want once each", n, slackCount[n], discordCount()[n])
				}
			}
		})
	}
}

// TestServeBothPageFailingInOneChat: carol's first page reaches her on
// Slack, and its Discord DM fails on every attempt (issue 16's follow-up:
// the page was given up after the attempt limit and the fallback paged
// although she had it on Slack). Once Discord's retries run out the page
// counts as delivered on Slack: one "paged" event naming slack, a note and
// a log line naming the Discord failure, no dead letter, no fallback, and
// no second Slack DM.
func TestServeBothPageFailingInOneChat(t *testing.T) {
	tests := []struct {
		name  string
		fault fakediscord.Fault
	}{
		{name: "Discord 500 without the post", fault: fakediscord.HTTPError(500)},
		{name: "Discord 503 without the post", fault: fakediscord.HTTPError(503)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newBothWorld(t)
			w.retryMin, w.retryMax = 20*time.Millisecond, 100*time.Millisecond
			var faulted atomic.Int64
			w.fake.InjectCallFaults(func(c fakediscord.FaultCall) (fakediscord.Fault, bool) {
				if c.Route != fakediscord.RouteMessagePost || !strings.Contains(string(c.Body), "You are on call for") {
					return fakediscord.Fault{}, false
				}
				faulted.Add(1)
				return tc.fault, true
			})
			a := w.serve(t)
			w.waitFor(t, "the gateway", w.fake.Ready)
			start := time.Now()
			if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"payments","summary":"card payments failing","severity":"critical"}`); code != 202 {
				t.Fatalf("alert: %d %v", code, out)
			}
			var first map[string]any
			w.waitFor(t, "the first page's paged event", func() bool {
				for _, e := range timeline(t, a, "1") {
					if e["type"] == "paged" && e["note"] == "first" {
						first = e
						return true
					}
				}
				return false
			})
			t.Logf("the first page recorded %v after the alert, %d Discord attempts", time.Since(start).Round(time.Millisecond), faulted.Load())
			if got := fmt.Sprint(first["chats"]); got != "slack" {
				t.Fatalf("first page's chats %q, want slack (event %v)", got, first)
			}
			if faulted.Load() < 2 {
				t.Fatalf("%d Discord attempts; the page was not retried there", faulted.Load())
			}
			var noted bool
			for _, e := range timeline(t, a, "1") {
				note, _ := e["note"].(string)
				if e["type"] == "paged" && strings.HasPrefix(note, "fallback") {
					t.Fatalf("the fallback was paged: %v", e)
				}
				if e["type"] == "page_failed" {
					t.Fatalf("the page was given up: %v", e)
				}
				if e["type"] == "note" && strings.Contains(note, "discord") && strings.Contains(note, "delivered in slack only") {
					noted = true
				}
			}
			if !noted {
				t.Errorf("no timeline note naming the Discord failure: %v", timeline(t, a, "1"))
			}
			if !strings.Contains(w.log.String(), "page delivered in some chats, given up in another") {
				t.Error("no log line about the chat that failed")
			}
			if dead, _ := w.redis.Client().Keys(context.Background(), "*dead*").Result(); len(dead) > 0 {
				for _, k := range dead {
					if n, _ := w.redis.Client().HLen(context.Background(), k).Result(); n > 0 {
						t.Errorf("dead letters in %s", k)
					}
				}
			}
			firsts := 0
			for _, m := range w.slackDMs() {
				if strings.Contains(m.Text+fmt.Sprint(m.Blocks), "You are on call for") {
					firsts++
				}
			}
			if firsts != 1 {
				t.Errorf("%d first pages on Slack, want 1", firsts)
			}
		})
	}
}
