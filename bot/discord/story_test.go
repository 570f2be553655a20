package discord_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/bot/discord"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type story struct {
	t         *testing.T
	ctx       context.Context
	fake      *fakediscord.Server
	svc       *incident.Store
	dana, mal fakediscord.User
	alerts    fakediscord.Channel
	chat      *discord.Chat
	bot       *bot.Bot
	redis     *redistest.Server
	log       *syncBuffer
	cancel    func()
	wg        sync.WaitGroup
	// overrides is the bot's overrides store, with storyConfig.rotations.
	overrides *overrides.Store
}

// storyConfig tunes a story beyond its defaults.
type storyConfig struct {
	handlers int           // the Gateway's; 0: its default
	patience time.Duration // the bot's ReactionPatience; 0: its default
	acks     []string      // the bot's AckReactions; nil: ✅ and 👀
	// before runs on the fake before the gateway starts (to queue faults).
	before func(*fakediscord.Server)
	// people are known to the bot besides dana and erin.
	people func(*story) []bot.Person
	// target is the policy's one level's ("" is user:dana).
	target string
	// rotations gives the bot a Board and Overrides for /oncall: the
	// rotations payments-primary (payments') and other, dana on both.
	rotations bool
}

// newStory runs baton's Discord side for real: Redis, the incident store,
// the escalation runner with bot's Pager and Syncer on the Discord Chat,
// and the Gateway, against internal/fakediscord over a real websocket.
func newStory(t *testing.T, repage time.Duration, opts ...func(*storyConfig)) *story {
	var cfg storyConfig
	for _, o := range opts {
		o(&cfg)
	}
	t.Helper()
	s := &story{t: t, log: &syncBuffer{}}
	s.fake = fakediscord.StartTest(t, fakediscord.WithHeartbeatInterval(200*time.Millisecond))
	s.dana = s.fake.AddUser(fakediscord.User{Username: "dana"})
	s.mal = s.fake.AddUser(fakediscord.User{Username: "mallory"})
	s.alerts = s.fake.AddChannel(fakediscord.Channel{Name: "payments-alerts"})
	cat := s.fake.AddChannel(fakediscord.Channel{Name: "incidents", Type: fakediscord.ChannelCategory})
	s.redis = redistest.Start(t)
	rdb := s.redis.Client()

	services := []escalation.Service{{Name: "payments", Policy: "payments", AlertsChannel: s.alerts.ID}}
	target := cmp.Or(cfg.target, "user:dana")
	lvl, err := escalation.NewLevel([]string{target}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := escalation.Lookup(services, []escalation.Policy{{Name: "payments", RepageEvery: repage, Levels: []escalation.Level{lvl}}})
	if err != nil {
		t.Fatal(err)
	}
	wake := escalation.NewWakeup()
	s.svc = incident.NewStore(rdb, "test:", incident.WithAckTimeout(pols.AckTimeout), incident.WithOnJobDue(wake.Notify))
	t.Cleanup(s.svc.Close)
	log := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))

	s.chat, err = discord.NewChat(discord.ChatOptions{Token: s.fake.Token(), GuildID: s.fake.GuildID(), CategoryID: cat.ID, APIURL: s.fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	people := []bot.Person{{ID: "dana", Name: "Dana", ChatID: s.dana.ID}, {ID: "erin", Name: "Erin", Email: "erin@example.com"}}
	if cfg.people != nil {
		people = append(people, cfg.people(s)...)
	}
	acks := cfg.acks
	if acks == nil {
		acks = []string{"✅", "👀"}
	}
	var board bot.Board
	var ovs bot.Overrides
	if cfg.rotations {
		rots := map[string]*rotations.Rotation{}
		for _, name := range []string{"payments-primary", "other"} {
			r, err := rotations.Compile(rotations.Spec{Name: name, Timezone: "UTC", Shift: "daily",
				Handoff: "09:00", Start: "2020-01-06", Participants: []string{"dana"}})
			if err != nil {
				t.Fatal(err)
			}
			rots[name] = r
		}
		s.overrides = overrides.New(rdb, "test:")
		s.overrides.Known = rotations.NewKnown([]string{"dana", "erin"}, []string{"payments-primary", "other"})
		board = &oncall.Board{Rotations: rots, ServiceRotation: map[string]string{"payments": "payments-primary"}, Overrides: s.overrides.Set}
		ovs = s.overrides
	}
	b, err := bot.New(bot.Options{Chat: s.chat, Incidents: s.svc, Redis: rdb, Prefix: "test:", Log: log, Wake: wake.Notify,
		Board: board, Overrides: ovs,
		People:           people,
		Services:         []bot.Service{{Name: "payments", AlertsChannel: s.alerts.ID}},
		AckReactions:     acks,
		Analytics:        &bot.Analytics{Source: redisstore.New(rdb, "test:"), Zone: time.UTC},
		ReactionPatience: cfg.patience})
	if err != nil {
		t.Fatal(err)
	}
	s.bot = b
	gw, err := discord.NewGateway(s.chat, b, discord.GatewayOptions{AppID: s.fake.AppID(), Log: log,
		Authenticated: b.WarnUnreachable, Handlers: cfg.handlers, Backoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := escalation.NewRunner(escalation.Options{
		Incidents: s.svc, Wakeup: wake, Pager: b.Pager(), Chat: b.Syncer(), Policies: pols,
		PollInterval: 20 * time.Millisecond, Lease: 5 * time.Second,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.before != nil {
		cfg.before(s.fake)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.ctx = ctx
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = runner.Run(ctx) }()
	go func() { defer s.wg.Done(); _ = gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		s.wg.Wait()
		if t.Failed() {
			t.Logf("log:\n%s", tail(s.log.String(), 80))
		}
	})
	s.waitFor("the gateway", s.fake.Ready)
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond (fake and Redis state) until it holds, 15 s at most.
func (s *story) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis and the fake, not synchronising
	}
}

func (s *story) open(key, title string) int64 {
	s.t.Helper()
	r, err := s.svc.Open(s.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: key, Summary: title,
		Severity: incident.SevCritical, Status: incident.AlertFiring})
	if err != nil {
		s.t.Fatal(err)
	}
	return r.Number
}

func (s *story) incident(n int64) incident.Incident {
	s.t.Helper()
	inc, _, err := s.svc.Get(s.ctx, n)
	if err != nil {
		s.t.Fatal(err)
	}
	return inc
}

// card returns incident n's channel and its pinned card, once there.
func (s *story) card(prefix string) (string, fakediscord.Message) {
	s.t.Helper()
	var ch string
	var card fakediscord.Message
	s.waitFor("the card of "+prefix, func() bool {
		for _, c := range s.fake.Channels() {
			if strings.HasPrefix(c.Name, prefix) {
				if pins := s.fake.Pins(c.ID); len(pins) == 1 {
					ch = c.ID
					card, _ = s.fake.Message(pins[0])
					return true
				}
			}
		}
		return false
	})
	return ch, card
}

func (s *story) dms(u fakediscord.User) []fakediscord.Message {
	dm := s.fake.DMChannel(u.ID)
	if dm == "" {
		return nil
	}
	return s.fake.Messages(dm)
}

// followup waits for an interaction's ephemeral reply and returns its text.
func (s *story) followup(in fakediscord.Interaction) string {
	s.t.Helper()
	var text string
	s.waitFor("the reply to interaction "+in.ID, func() bool {
		got, _ := s.fake.Interaction(in.ID)
		if got.Original == "" {
			return false
		}
		m, _ := s.fake.Message(got.Original)
		text = m.Content
		return true
	})
	got, _ := s.fake.Interaction(in.ID)
	if !got.Responded || got.RespondedIn > 3*time.Second || got.ResponseType != fakediscord.CallbackDeferredMessage {
		s.t.Fatalf("interaction answered %+v", got)
	}
	m, _ := s.fake.Message(got.Original)
	if m.EphemeralTo != in.User {
		s.t.Fatalf("reply not ephemeral: %+v", m)
	}
	return text
}

func TestStory(t *testing.T) {
	s := newStory(t, 300*time.Millisecond)
	// Once connected, everyone's account is checked: erin (an email, which
	// Discord does not show bots) cannot be paged, and the log says so.
	s.waitFor("the warning about erin", func() bool {
		return strings.Contains(s.log.String(), "a person cannot be paged in chat") && strings.Contains(s.log.String(), "erin")
	})

	// Alert → channel under the category → pinned card with buttons → notice → DM.
	n := s.open("db-1", "payments @everyone <@&1100000000000000777> down")
	ch, card := s.card("inc-1-payments")
	if strings.Join(card.Buttons(), ",") != "baton:ack:1,baton:resolve:1,baton:escalate:1" {
		t.Fatalf("card buttons %v", card.Buttons())
	}
	// Once dana is paged she owns it, and the card mentions exactly her.
	s.waitFor("the owner on the card", func() bool {
		card, _ = s.fake.Message(card.ID)
		return len(card.MentionUsers) > 0
	})
	if card.MentionEveryone || len(card.MentionRoles) != 0 || strings.Join(card.MentionUsers, ",") != s.dana.ID {
		t.Fatalf("mentions: everyone %v, roles %v, users %v; want exactly the owner", card.MentionEveryone, card.MentionRoles, card.MentionUsers)
	}
	s.waitFor("the notice", func() bool { return len(s.fake.Messages(s.alerts.ID)) == 1 })
	s.waitFor("re-pages", func() bool { return len(s.dms(s.dana)) >= 2 })

	// A stranger's reaction changes nothing.
	if err := s.fake.React(s.mal.ID, ch, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("mallory told", func() bool { return len(s.dms(s.mal)) == 1 })
	if inc := s.incident(n); inc.Status != incident.StatusTriggered {
		t.Fatalf("a stranger's reaction changed the incident: %s", inc.Status)
	}
	// The bot's own reaction comes back through the gateway and is ignored.
	if err := s.chat.Session().MessageReactionAdd(ch, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}

	// Dana reacts on her page: acknowledged, the card edited in place, pages stop.
	page := s.dms(s.dana)[0]
	if err := s.fake.React(s.dana.ID, page.ChannelID, page.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the ack", func() bool {
		inc := s.incident(n)
		return inc.Status == incident.StatusAcknowledged && inc.Owner == "dana"
	})
	s.waitFor("the card edited", func() bool {
		m, _ := s.fake.Message(card.ID)
		return strings.Join(m.Buttons(), ",") == "baton:resolve:1,baton:escalate:1"
	})
	pages := len(s.dms(s.dana))
	// Three re-page intervals pass: asserting that nothing happens in them,
	// so there is no event to wait for.
	time.Sleep(900 * time.Millisecond)
	if now := len(s.dms(s.dana)); now != pages {
		t.Fatalf("%d pages after the ack", now-pages)
	}
	for _, call := range s.fake.Calls(fakediscord.RouteDMOpen) {
		var to string
		if call.Field("recipient_id", &to); to == s.fake.BotID() {
			t.Fatal("the bot handled its own reaction (it tried to tell itself)")
		}
	}

	// op 7 RECONNECT: the session resumes and what follows is handled.
	if s.fake.Reconnect() != 1 {
		t.Fatal("no connection to reconnect")
	}
	s.waitFor("the resumed session", func() bool { return s.fake.Gateway().Resumes >= 1 && s.fake.Ready() })

	// A second incident, acknowledged with its button.
	n2 := s.open("db-2", "queue stuck")
	ch2, card2 := s.card("inc-2-queue")
	in, err := s.fake.ClickButton(s.dana.ID, ch2, card2.ID, "baton:ack:2")
	if err != nil {
		t.Fatal(err)
	}
	if reply := s.followup(in); !strings.Contains(reply, "INC") {
		t.Fatalf("button reply %q", reply)
	}
	s.waitFor("the button ack", func() bool { return s.incident(n2).Status == incident.StatusAcknowledged })

	// /incident resolve, answered within 3 s.
	in, err = s.fake.SlashCommand(s.dana.ID, ch2, "incident", fakediscord.SubCommand("resolve", fakediscord.StringOption("note", "restarted")))
	if err != nil {
		t.Fatal(err)
	}
	if reply := s.followup(in); !strings.Contains(reply, "resolved") {
		t.Fatalf("resolve reply %q", reply)
	}
	s.waitFor("resolved", func() bool { return s.incident(n2).Status == incident.StatusResolved })

	// A bad sub-command: an ephemeral reply that says what to type.
	in, err = s.fake.SlashCommand(s.dana.ID, ch2, "incident", fakediscord.SubCommand("bogus"))
	if err != nil {
		t.Fatal(err)
	}
	if reply := s.followup(in); !strings.Contains(reply, "new, ack, resolve, assign, escalate, note, page, status, list, stats, maintenance, help") {
		t.Fatalf("bad sub-command reply %q: it must list the sub-commands", reply)
	}

	// /incident stats: the summary and the chart posted in the channel.
	before := len(s.fake.Messages(ch2))
	in, err = s.fake.SlashCommand(s.dana.ID, ch2, "incident", fakediscord.SubCommand("stats", fakediscord.StringOption("period", "7d")))
	if err != nil {
		t.Fatal(err)
	}
	s.followup(in)
	msgs := s.fake.Messages(ch2)[before:]
	var summary, chart bool
	for _, m := range msgs {
		for _, e := range m.EmbedList() {
			summary = summary || strings.Contains(e.Title, "Incident stats")
		}
		for _, f := range m.Files {
			chart = chart || (strings.HasSuffix(f.Name, ".png") && f.ContentType == "image/png" && bytes.HasPrefix(f.Data, []byte("\x89PNG")))
		}
	}
	if !summary || !chart {
		t.Fatalf("stats: summary %v, chart %v in %+v", summary, chart, msgs)
	}
}

// Discord failing at start (the command registration answered 503, the
// gateway URL unknown for a while) delays the Gateway, it does not stop it:
// it tries again with backoff, registers the commands once, connects, and
// an incident is then announced and paged.
func TestGatewayRetriesAtStart(t *testing.T) {
	s := newStory(t, time.Hour, func(c *storyConfig) {
		c.before = func(f *fakediscord.Server) {
			f.FailNext(fakediscord.RouteCommandsPut, 2, fakediscord.HTTPError(503))
			f.FailNext(fakediscord.RouteGateway, 2, fakediscord.HTTPError(503))
		}
	})
	if n := len(s.fake.Calls(fakediscord.RouteCommandsPut)); n != 3 {
		t.Fatalf("%d command registrations, want 2 refused and 1 accepted", n)
	}
	if len(s.fake.Commands()) != 2 {
		t.Fatalf("commands %v", s.fake.Commands())
	}
	if n := len(s.fake.Calls(fakediscord.RouteGateway)); n < 3 {
		t.Fatalf("%d asks for the gateway URL, want 2 refused and 1 answered", n)
	}
	if !strings.Contains(s.log.String(), "discord: could not register the commands; trying again") {
		t.Fatal("the refused registration is not logged")
	}
	s.open("db-1", "after a slow start")
	s.card("inc-1-")
	s.waitFor("dana paged", func() bool { return len(s.dms(s.dana)) >= 1 })
}

// A server emoji configured as name:id acknowledges (Discord sends its
// name and id apart).
func TestServerEmojiAcknowledges(t *testing.T) {
	s := newStory(t, time.Hour, func(c *storyConfig) { c.acks = []string{"✅", "baton_ack:1100000000000000999"} })
	n := s.open("db-1", "custom emoji")
	s.waitFor("dana paged", func() bool { return len(s.dms(s.dana)) >= 1 })
	page := s.dms(s.dana)[0]
	if err := s.fake.React(s.dana.ID, page.ChannelID, page.ID, "baton_ack:1100000000000000999"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the ack", func() bool { return s.incident(n).Status == incident.StatusAcknowledged })
}

// mentionsIncident reports whether a message names INC-n (in its text,
// escaped or not, or its embeds).
func mentionsIncident(m fakediscord.Message, n int64) bool {
	ref := "INC-" + strconv.FormatInt(n, 10)
	hay := []string{strings.ReplaceAll(m.Content, `\`, "")}
	for _, e := range m.EmbedList() {
		hay = append(hay, strings.ReplaceAll(e.Title, `\`, ""), strings.ReplaceAll(e.Description, `\`, ""))
	}
	for _, h := range hay {
		for i := strings.Index(h, ref); i >= 0; {
			end := i + len(ref)
			if end == len(h) || h[end] < '0' || h[end] > '9' {
				return true
			}
			j := strings.Index(h[end:], ref)
			if j < 0 {
				break
			}
			i = end + j
		}
	}
	return false
}

// pagesTo are the messages the bot posted in a person's DM that are not
// answers to an interaction (the ephemeral replies to their buttons): the
// pages, single or bundled.
func (s *story) pagesTo(u fakediscord.User) []fakediscord.Message {
	var out []fakediscord.Message
	for _, m := range s.dms(u) {
		if m.Interaction == "" && m.Author == s.fake.BotID() {
			out = append(out, m)
		}
	}
	return out
}

// named are the incidents a message names.
func named(m fakediscord.Message, upTo int64) []int64 {
	var out []int64
	for i := int64(1); i <= upTo; i++ {
		if mentionsIncident(m, i) {
			out = append(out, i)
		}
	}
	return out
}

// A storm of 20 incidents for one person while every third message post is
// answered 429 and channel creation is held to Discord's 10 per 10 s: she
// is told about every incident within 10 s, in a handful of DMs (pages due
// together are bundled), each incident named once per page round; her
// pages do not wait behind the channels, which lag; every incident gets its
// channel, its card and its notice exactly once within 90 s; "Acknowledge
// all", pressed through real interactions, acknowledges all 20, redraws
// the bundles pressed, and stops every page.
func TestStormWithRateLimits(t *testing.T) {
	const incidents = 20
	const repage = 2 * time.Second
	s := newStory(t, repage)
	s.fake.SetLimit(fakediscord.RouteChannelCreate, fakediscord.DiscordRateLimits()[fakediscord.RouteChannelCreate])
	var mu sync.Mutex
	posts, refused := 0, 0
	s.fake.InjectFaults(func(route, _ string) (fakediscord.Fault, bool) {
		if route != fakediscord.RouteMessagePost {
			return fakediscord.Fault{}, false
		}
		mu.Lock()
		defer mu.Unlock()
		posts++
		if posts%3 == 0 {
			refused++
			return fakediscord.TooManyRequests(300 * time.Millisecond), true
		}
		return fakediscord.Fault{}, false
	})
	start := time.Now()
	for i := range incidents {
		s.open("storm-"+strconv.Itoa(i), "storm alert "+strconv.Itoa(i))
	}
	// 1. Every incident named to dana within 10 s, in a handful of DMs.
	firstNamed := func() map[int64]time.Time {
		first := map[int64]time.Time{}
		for _, m := range s.pagesTo(s.dana) {
			for _, n := range named(m, incidents) {
				if _, ok := first[n]; !ok {
					first[n] = m.Posted
				}
			}
		}
		return first
	}
	s.waitFor("dana told about every incident", func() bool { return len(firstNamed()) == incidents })
	var toldAt time.Time
	for _, at := range firstNamed() {
		toldAt = later(toldAt, at)
	}
	told := toldAt.Sub(start)
	dms := 0
	for _, m := range s.pagesTo(s.dana) {
		if !m.Posted.After(toldAt) {
			dms++
			t.Logf("dana's DM at %v names %d incidents", m.Posted.Sub(start).Round(time.Millisecond), len(named(m, incidents)))
		}
	}
	if told > 10*time.Second {
		t.Fatalf("dana told about every incident after %v, want within 10 s", told)
	}
	if dms > 5 {
		t.Fatalf("dana told about %d incidents in %d DMs; pages due together must go as one", incidents, dms)
	}

	// 3. Every incident's channel, pinned card and notice within 90 s.
	announced := func() bool {
		for i := int64(1); i <= incidents; i++ {
			refs, err := s.svc.ChatRefs(s.ctx, i)
			if err != nil || refs["pin"] != "1" || refs["ntc"] == "" {
				return false
			}
		}
		return true
	}
	deadline := start.Add(90 * time.Second)
	for !announced() {
		if time.Now().After(deadline) {
			t.Fatal("not every incident announced within 90 s")
		}
		time.Sleep(20 * time.Millisecond) // polling Redis
	}
	// 2. Pages before cosmetics: channel creation is held to 10 per 10 s,
	// so the channels lag; dana's pages do not wait for them.
	var created []time.Time
	for _, c := range s.fake.Calls(fakediscord.RouteChannelCreate) {
		if c.OK() {
			created = append(created, c.At)
		}
	}
	if len(created) != incidents {
		t.Fatalf("%d channels created, want %d", len(created), incidents)
	}
	firstPage := s.pagesTo(s.dana)[0].Posted
	t.Logf("first page to dana %v, every incident told %v; channels created from %v to %v",
		firstPage.Sub(start).Round(time.Millisecond), told.Round(time.Millisecond),
		created[0].Sub(start).Round(time.Millisecond), created[len(created)-1].Sub(start).Round(time.Millisecond))
	if !toldAt.Before(created[len(created)-1]) {
		t.Errorf("dana told about every incident after %v, not before the last channel (%v): pages waited behind channels",
			told, created[len(created)-1].Sub(start))
	}
	if !firstPage.Before(created[incidents/2]) {
		t.Errorf("first page to dana at %v, after half the channels (%v)", firstPage.Sub(start), created[incidents/2].Sub(start))
	}
	for i := int64(1); i <= incidents; i++ {
		prefix := "inc-" + strconv.FormatInt(i, 10) + "-"
		var chans []fakediscord.Channel
		for _, c := range s.fake.Channels() {
			if strings.HasPrefix(c.Name, prefix) {
				chans = append(chans, c)
			}
		}
		if len(chans) != 1 {
			t.Fatalf("INC-%d has %d channels", i, len(chans))
		}
		cards := 0
		for _, m := range s.fake.Messages(chans[0].ID) {
			if len(m.Buttons()) > 0 {
				cards++
			}
		}
		if cards != 1 || len(s.fake.Pins(chans[0].ID)) != 1 {
			t.Fatalf("INC-%d: %d cards, %d pins", i, cards, len(s.fake.Pins(chans[0].ID)))
		}
		notices := 0
		for _, m := range s.fake.Messages(s.alerts.ID) {
			if mentionsIncident(m, i) {
				notices++
			}
		}
		if notices != 1 {
			t.Fatalf("INC-%d: %d notices", i, notices)
		}
	}

	// 4. "Acknowledge all" on dana's bundles, newest first, until nothing
	// is triggered: each press a real interaction through the gateway.
	triggered := func() []int64 {
		var out []int64
		for i := int64(1); i <= incidents; i++ {
			if s.incident(i).Status == incident.StatusTriggered {
				out = append(out, i)
			}
		}
		return out
	}
	var pressed []fakediscord.Message
	for _, m := range slices.Backward(s.pagesTo(s.dana)) {
		if len(triggered()) == 0 {
			break
		}
		var ackAll string
		for _, id := range m.Buttons() {
			if _, ok := discord.ParseAckAllID(id); ok {
				ackAll = id
			}
		}
		if ackAll == "" {
			continue
		}
		in, err := s.fake.ClickButton(s.dana.ID, m.ChannelID, m.ID, ackAll)
		if err != nil {
			t.Fatal(err)
		}
		pressed = append(pressed, m)
		reply := s.ephemeral(in)
		t.Logf("Acknowledge all on a bundle of %d: %s", len(named(m, incidents)), reply)
		if got, _ := s.fake.Interaction(in.ID); !got.Responded || got.RespondedIn > 3*time.Second || got.ResponseType != fakediscord.CallbackDeferredUpdate {
			t.Fatalf("Acknowledge all answered %+v", got)
		}
	}
	if left := triggered(); len(left) > 0 {
		t.Fatalf("still triggered after Acknowledge all (%d presses): %v", len(pressed), left)
	}
	if len(pressed) > 3 {
		t.Errorf("%d presses of Acknowledge all to take 20 incidents", len(pressed))
	}
	for i := int64(1); i <= incidents; i++ {
		if inc := s.incident(i); inc.Owner != "dana" {
			t.Errorf("INC-%d owned by %q, want dana", i, inc.Owner)
		}
	}
	// The pages stop: no page job due or running; from then on nothing
	// can page (an acknowledged incident queues none).
	rdb := s.redis.Client()
	slot := strings.TrimSuffix(s.svc.JobsKey(), "jobs")
	s.waitFor("no page job due or running", func() bool {
		due, err1 := rdb.ZCard(s.ctx, s.svc.JobsKey()).Result()
		running, err2 := rdb.ZCard(s.ctx, slot+"inflight").Result()
		return err1 == nil && err2 == nil && due+running == 0
	})
	settled := time.Now()
	// The bundles pressed are redrawn through the interaction: no button
	// left, the acknowledgements shown.
	for _, m := range pressed {
		got, _ := s.fake.Message(m.ID)
		if len(got.Buttons()) != 0 || !strings.Contains(got.EmbedList()[0].Description, "acknowledged by") {
			t.Errorf("bundle %s not redrawn as acknowledged: buttons %v, %.300s", m.ID, got.Buttons(), got.EmbedList()[0].Description)
		}
	}
	// Each incident named once per page round: as many DMs name it as it
	// has pages in its timeline (each step's page delivered once, whether
	// alone or in a bundle; a bundled page's event names its bundle), and
	// nothing is posted after the acknowledgements.
	mentions := map[int64]int{}
	for _, m := range s.pagesTo(s.dana) {
		if m.Posted.After(settled) {
			t.Errorf("a page naming %v posted after every incident was acknowledged", named(m, incidents))
		}
		for _, n := range named(m, incidents) {
			mentions[n]++
		}
	}
	rounds, bundled := 0, 0
	for i := int64(1); i <= incidents; i++ {
		_, tl, err := s.svc.Get(s.ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		paged := 0
		for _, ev := range tl {
			if ev.Type == incident.EventPaged && ev.Person == "dana" {
				paged += int(max(ev.Count, 1)) // a run of re-pages is one entry with its count
				if ev.Bundle != "" {
					bundled++
				}
			}
		}
		if paged != mentions[i] {
			t.Errorf("INC-%d paged %d times, named in %d DMs", i, paged, mentions[i])
		}
		rounds = max(rounds, paged)
	}
	if bundled == 0 {
		t.Error("no paged event names a bundle")
	}
	t.Logf("%d page rounds; %d paged entries name a bundle", rounds, bundled)
	mu.Lock()
	defer mu.Unlock()
	if refused < incidents/2 {
		t.Fatalf("only %d posts refused: the faults did not bite", refused)
	}
	t.Logf("storm of %d with %d of %d posts answered 429: everyone told after %v in %d DMs; announced after %v",
		incidents, refused, posts, told.Round(time.Millisecond), dms, time.Since(start).Round(time.Millisecond))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ephemeral waits for the ephemeral follow-up of an interaction (after a
// deferred update, the first follow-up) and returns its text.
func (s *story) ephemeral(in fakediscord.Interaction) string {
	s.t.Helper()
	var text string
	s.waitFor("the reply to interaction "+in.ID, func() bool {
		got, _ := s.fake.Interaction(in.ID)
		for _, id := range got.Followups {
			if m, ok := s.fake.Message(id); ok && m.EphemeralTo == in.User {
				text = m.Content
				return true
			}
		}
		return false
	})
	return text
}

// Every other message post takes effect but its answer is lost (a 502 after
// Discord posted it): the retries find the same message through the nonce,
// so every card, notice and page is there exactly once.
func TestLostAnswersPostOnce(t *testing.T) {
	const incidents = 5
	s := newStory(t, time.Hour)
	var mu sync.Mutex
	posts := 0
	s.fake.InjectFaults(func(route, _ string) (fakediscord.Fault, bool) {
		if route != fakediscord.RouteMessagePost {
			return fakediscord.Fault{}, false
		}
		mu.Lock()
		defer mu.Unlock()
		posts++
		return fakediscord.AppliedError(502), posts%2 == 0
	})
	for i := range incidents {
		s.open("lost-"+strconv.Itoa(i), "lost answer "+strconv.Itoa(i))
	}
	s.waitFor("every incident announced", func() bool {
		for i := int64(1); i <= incidents; i++ {
			refs, err := s.svc.ChatRefs(s.ctx, i)
			if err != nil || refs["pin"] != "1" || refs["ntc"] == "" {
				return false
			}
		}
		return true
	})
	s.waitFor("every page recorded", func() bool {
		for i := int64(1); i <= incidents; i++ {
			if s.incident(i).Owner != "dana" {
				return false
			}
		}
		return true
	})
	for i := int64(1); i <= incidents; i++ {
		count := func(msgs []fakediscord.Message) int {
			n := 0
			for _, m := range msgs {
				if mentionsIncident(m, i) {
					n++
				}
			}
			return n
		}
		var ch string
		for _, c := range s.fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-"+strconv.FormatInt(i, 10)+"-") {
				ch = c.ID
			}
		}
		// The alerts channel holds the notice, and may hold a fallback
		// page: every answer to a page lost (its post applied, a 502 each
		// time, and Discord offers no way to look a message up by key) is,
		// to baton, a page that could not be delivered. That is a page,
		// not a second notice.
		var notes []fakediscord.Message
		for _, m := range s.fake.Messages(s.alerts.ID) {
			if !strings.Contains(m.Content, "Nobody could be paged") {
				notes = append(notes, m)
			}
		}
		if cards, notices, pages := count(s.fake.Messages(ch)), count(notes), count(s.dms(s.dana)); cards != 1 || notices != 1 || pages != 1 {
			t.Errorf("INC-%d: %d cards, %d notices, %d pages; want one of each", i, cards, notices, pages)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if posts < 2*incidents {
		t.Fatalf("only %d posts", posts)
	}
}

// A bundle's post takes effect but its answer is lost (a 502 after Discord
// posted it): the pages' delivery checks replay the bundle under its key,
// Discord answers with the message it posted, and every page of it counts
// as delivered: one bundle message in the DM, each incident named once,
// every page recorded as delivered, no fallback page.
func TestLostBundleAnswerPostsOnce(t *testing.T) {
	const incidents = 8
	s := newStory(t, time.Hour)
	dm, err := s.chat.OpenDM(s.ctx, s.dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	lostOne := false
	s.fake.InjectCallFaults(func(c fakediscord.FaultCall) (fakediscord.Fault, bool) {
		var embeds []struct {
			Title string `json:"title"`
		}
		if c.Route != fakediscord.RouteMessagePost || !strings.Contains(c.Path, dm) || !c.Field("embeds", &embeds) ||
			len(embeds) != 1 || !strings.HasSuffix(embeds[0].Title, " incidents") {
			return fakediscord.Fault{}, false
		}
		mu.Lock()
		defer mu.Unlock()
		if lostOne {
			return fakediscord.Fault{}, false
		}
		lostOne = true // the first bundle's answer is lost
		return fakediscord.AppliedError(502), true
	})
	for i := range incidents {
		s.open("lost-"+strconv.Itoa(i), "lost bundle "+strconv.Itoa(i))
	}
	s.waitFor("every page recorded", func() bool {
		for i := int64(1); i <= incidents; i++ {
			if s.incident(i).Owner != "dana" {
				return false
			}
		}
		return true
	})
	var dmPosts []fakediscord.Call
	for _, c := range s.fake.Calls(fakediscord.RouteMessagePost) {
		if strings.Contains(c.Path, dm) {
			dmPosts = append(dmPosts, c)
		}
	}
	// The bundle's lost post, then its replay with the same nonce, which
	// Discord answers with the message the lost post made.
	var lost, replay string
	for i, c := range dmPosts {
		if c.Status == 502 && i+1 < len(dmPosts) {
			c.Field("nonce", &lost)
			dmPosts[i+1].Field("nonce", &replay)
		}
	}
	if lost == "" || replay != lost {
		t.Fatalf("the lost bundle post's nonce %q, the next post's %q: want a replay with the same", lost, replay)
	}
	if !strings.Contains(s.log.String(), "a bundle whose answer was lost replayed under its key") {
		t.Fatal("no bundle replayed")
	}
	pages := s.pagesTo(s.dana)
	for _, c := range dmPosts {
		var m fakediscord.Message
		_ = json.Unmarshal(c.Response, &m)
		t.Logf("post to the DM: %d, message %s", c.Status, m.ID)
	}
	for _, m := range pages {
		t.Logf("message %s names %v", m.ID, named(m, incidents))
	}
	for i := int64(1); i <= incidents; i++ {
		n := 0
		for _, m := range pages {
			if mentionsIncident(m, i) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("INC-%d named in %d DMs, want 1", i, n)
		}
	}
	for _, m := range s.fake.Messages(s.alerts.ID) {
		if strings.Contains(m.Content, "Nobody could be paged") {
			t.Errorf("a fallback page: %.200s", m.Content)
		}
	}
	// A reaction on the replayed bundle acknowledges all of it: the
	// message is linked to its bundle. (A page whose job came after the
	// bundle was taken goes in a message of its own, so the bundle is the
	// message naming the most incidents, not always the last.)
	bundle := pages[0]
	for _, m := range pages {
		if len(named(m, incidents)) > len(named(bundle, incidents)) {
			bundle = m
		}
	}
	if len(named(bundle, incidents)) < 2 {
		t.Fatalf("no message names more than %v; want the bundle", named(bundle, incidents))
	}
	if err := s.fake.React(s.dana.ID, dm, bundle.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the bundle acknowledged", func() bool {
		for _, n := range named(bundle, incidents) {
			if s.incident(n).Status != incident.StatusAcknowledged {
				return false
			}
		}
		return true
	})
}

// An interaction is answered at once even when every handler is busy (here
// the only one, with a reaction retrying while Redis is down): Discord's 3 s
// are not spent waiting for a handler.
func TestInteractionAnsweredWhileHandlersAreBusy(t *testing.T) {
	s := newStory(t, time.Hour, func(c *storyConfig) { c.handlers, c.patience = 1, 4*time.Second })
	s.open("busy", "db down")
	ch, card := s.card("inc-1-db")
	s.redis.Stop()
	if err := s.fake.React(s.dana.ID, ch, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the reaction retrying", func() bool { return strings.Contains(s.log.String(), "reaction not applied yet; retrying") })
	in, err := s.fake.SlashCommand(s.dana.ID, ch, "incident", fakediscord.SubCommand("status"))
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor("the answer", func() bool { got, _ := s.fake.Interaction(in.ID); return got.Responded || got.Late > 0 })
	if got, _ := s.fake.Interaction(in.ID); !got.Responded || got.RespondedIn > time.Second {
		t.Fatalf("interaction answered %v after it came (responded %v, late %d); want at once", got.RespondedIn, got.Responded, got.Late)
	}
}
