package slack_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// env is one test's world: a fake Slack workspace, a private Redis, the
// incident store, the escalation runner with the Slack bot as its Pager and
// ChatSync, and the bot connected over Socket Mode. Everything runs for real
// on loopback; only time is scaled down (policies of a second or less).
type env struct {
	t      testing.TB
	ctx    context.Context
	fake   *fakeslack.Server
	rdb    *redis.Client
	redis  *redistest.Server
	svc    *incident.Store
	runner *escalation.Runner
	bot    *bot.Bot
	log    *logBuffer
	// metrics is what the bot counts; reports reads the store for /incident stats.
	metrics *metrics.Metrics
	reports *redisstore.Store

	alice, bob, carol, mallory fakeslack.User
	alerts                     fakeslack.Channel
	stop                       func()
	// overrides is the override store; shifts the handoff steps (with
	// envConfig.handoffs).
	overrides *overrides.Store
	shifts    *bot.Shifts
	// start runs a fresh escalation runner and Socket Mode loop over the
	// same store, bot and fake (after stop: a restart of the process's
	// engine); restart does both.
	start func()
}

// restart stops the runner and the socket and starts new ones: what a
// restarted replica does, with every deadline left in Redis.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// restartRunner is restart: the tests that restart "the runner" mean the
// process's engine, whose deadlines are all in Redis.
func (e *env) restartRunner() {
	e.t.Helper()
	e.restart()
}

type envConfig struct {
	repage, escalate time.Duration // the payments policy
	archiveAfter     time.Duration
	repeatEvery      time.Duration
	limits           map[string]slackbot.Limit // nil: no pacing
	fakeOpts         []fakeslack.Option
	services         int // payments, plus svc2… with owners carol, bob (storm)
	workers          int
	chatWorkers      int
	before           func(e *env) // after seeding the workspace, before the bot starts
	pageMaxWait      time.Duration
	bundleWindow     time.Duration // 0: bot.BundleWindow
	resolverTTL      time.Duration // the board's override cache for paging (0: none)
	syncMaxWait      time.Duration
	// durable: Redis keeps its data across redis.Restart (append-only file).
	durable          bool
	reactionPatience time.Duration
	// storeOpts are more options of the incident store (grouping).
	storeOpts []incident.StoreOption
	// heartbeats are the heartbeat monitors the runner watches.
	heartbeats []incident.Heartbeat
	// emailer is the runner's Emailer (nil: none); levels, when set,
	// edits the payments policy's levels (email settings) before Lookup.
	emailer escalation.Emailer
	levels  func([]escalation.Level)
	// ackLease is the payments policy's ack_lease (0: none).
	ackLease time.Duration
	// now is the clock of the runner and the bot (nil: time.Now);
	// rotations are more rotations on the board; handoffs, when set,
	// runs their handoff steps (bot.Shifts, e.shifts) with secondary.
	now       func() time.Time
	rotations []rotations.Spec
	handoffs  map[string]rotations.HandoffPolicy
	secondary func(ctx context.Context, rotation string, at time.Time) []string
}

func defaults() envConfig {
	return envConfig{repage: time.Hour, escalate: time.Hour, archiveAfter: time.Hour, repeatEvery: time.Minute, services: 1}
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	e := &env{t: t, log: &logBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	t.Cleanup(cancel)
	e.fake = fakeslack.StartTest(t, cfg.fakeOpts...)
	srv := redistest.Start
	if cfg.durable {
		srv = redistest.StartDurable
	}
	e.redis = srv(t)
	e.rdb = e.redis.Client()
	e.metrics = metrics.New()
	e.reports = redisstore.New(e.rdb, "test:")

	e.alice = e.fake.AddUser(fakeslack.User{Name: "alice", RealName: "Alice Liddell", Email: "alice@example.com"})
	e.bob = e.fake.AddUser(fakeslack.User{Name: "bob", RealName: "Bob Dylan", Email: "bob@example.com"})
	e.carol = e.fake.AddUser(fakeslack.User{Name: "carol", Email: "carol@example.com"})
	e.mallory = e.fake.AddUser(fakeslack.User{Name: "mallory", Email: "mallory@example.com"})
	e.alerts = e.fake.AddChannel(fakeslack.Channel{Name: "payments-alerts", Members: []string{e.alice.ID, e.bob.ID, e.mallory.ID}})
	people := []bot.Person{
		{ID: "alice", Name: "Alice", Email: "alice@example.com", ChatID: e.alice.ID},
		{ID: "bob", Name: "Bob", Email: "bob@example.com"}, // found by email
		{ID: "carol", Name: "Carol", ChatID: e.carol.ID},
		{ID: "dave", Name: "Dave"}, // no Slack account at all
	}
	services := []escalation.Service{{Name: "payments", Policy: "payments", AlertsChannel: "#payments-alerts"}}
	policies := []escalation.Policy{{Name: "payments", RepageEvery: cfg.repage, Levels: []escalation.Level{
		level(cfg.escalate, "user:alice"), level(cfg.escalate, "user:bob")}}}
	if cfg.levels != nil {
		cfg.levels(policies[0].Levels)
	}
	policies[0].AckLease = cfg.ackLease
	owners := []string{"carol", "bob"}
	for i := 1; i < cfg.services; i++ {
		name := fmt.Sprintf("svc%d", i+1)
		ch := e.fake.AddChannel(fakeslack.Channel{Name: name + "-alerts"})
		services = append(services, escalation.Service{Name: name, Policy: name, AlertsChannel: ch.ID})
		policies = append(policies, escalation.Policy{Name: name, RepageEvery: cfg.repage, Levels: []escalation.Level{
			level(cfg.escalate, "user:"+owners[(i-1)%len(owners)])}})
	}
	pols, err := escalation.Lookup(services, policies)
	if err != nil {
		t.Fatal(err)
	}
	wake := escalation.NewWakeup()
	e.svc = incident.NewStore(e.rdb, "test:", append([]incident.StoreOption{incident.WithAckTimeout(pols.AckJobAfter), incident.WithOnJobDue(wake.Notify)}, cfg.storeOpts...)...)
	t.Cleanup(e.svc.Close)
	var botServices []bot.Service
	for _, s := range services {
		botServices = append(botServices, bot.Service{Name: s.Name, AlertsChannel: s.AlertsChannel})
	}
	if cfg.before != nil {
		cfg.before(e)
	}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	limits := cfg.limits
	if limits == nil {
		limits = map[string]slackbot.Limit{}
	}
	rot, err := rotations.Compile(rotations.Spec{Name: "payments-primary", Timezone: "UTC", Shift: "daily",
		Handoff: "09:00", Start: "2020-01-06", Participants: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	rots := map[string]*rotations.Rotation{"payments-primary": rot}
	rotNames := []string{"payments-primary"}
	serviceRotation := map[string]string{"payments": "payments-primary"}
	for _, spec := range cfg.rotations {
		r, err := rotations.Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		rots[spec.Name] = r
		rotNames = append(rotNames, spec.Name)
		serviceRotation["payments"] = spec.Name // the payments levels page it (cfg.levels)
	}
	ovs := overrides.New(e.rdb, "test:")
	ovs.Known = rotations.NewKnown([]string{"alice", "bob", "carol", "dave"}, rotNames)
	e.overrides = ovs
	board := &oncall.Board{Rotations: rots, ServiceRotation: serviceRotation, Overrides: ovs.Set, ResolverTTL: cfg.resolverTTL}

	chat, err := slackbot.NewChat(slackbot.ChatOptions{
		BotToken: e.fake.BotToken(), APIURL: e.fake.APIURL(), Limits: limits, Metrics: e.metrics})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Options{
		Chat: chat, Board: board, Overrides: ovs,
		ArchiveAfter: cfg.archiveAfter, People: people, Services: botServices,
		Incidents: e.svc, Redis: e.rdb, Prefix: "test:", Log: log,
		Wake:        wake.Notify,
		RepeatEvery: cfg.repeatEvery, PageMaxWait: cfg.pageMaxWait, SyncMaxWait: cfg.syncMaxWait,
		ReactionPatience: cfg.reactionPatience, BundleWindow: cfg.bundleWindow,
		Analytics: &bot.Analytics{Source: e.reports, Zone: time.UTC}, Metrics: e.metrics,
		Now: cfg.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: e.fake.AppToken(), Log: log, Authenticated: b.WarnUnreachable})
	if err != nil {
		t.Fatal(err)
	}
	var shifts escalation.ShiftKeeper
	if cfg.handoffs != nil {
		e.shifts = b.Shifts(bot.ShiftOptions{Rotations: rots, Policies: cfg.handoffs, Store: ovs, Jobs: e.svc,
			ServiceRotation: serviceRotation, Secondary: cfg.secondary})
		shifts = e.shifts
	}
	newRunner := func() (*escalation.Runner, error) {
		return escalation.NewRunner(escalation.Options{
			Incidents: e.svc, Wakeup: wake, Pager: b.Pager(), Chat: b.Syncer(), Policies: pols, Emailer: cfg.emailer,
			PollInterval: 20 * time.Millisecond, Lease: 5 * time.Second,
			RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
			Workers: cfg.workers, ChatWorkers: cfg.chatWorkers, Log: log, Now: cfg.now, Shifts: shifts, Board: board,
			Heartbeats: func(name string) (incident.Heartbeat, bool) {
				for _, h := range cfg.heartbeats {
					if h.Name == name {
						return h, true
					}
				}
				return incident.Heartbeat{}, false
			},
		})
	}
	runner, err := newRunner()
	if err != nil {
		t.Fatal(err)
	}
	e.runner, e.bot = runner, b

	var mu sync.Mutex
	var stops []func()
	run := func(runner *escalation.Runner, sock *slackbot.Socket) {
		runCtx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = runner.Run(runCtx) }()
		go func() { defer wg.Done(); _ = sock.Run(runCtx) }()
		var once sync.Once
		mu.Lock()
		stops = append(stops, func() { once.Do(func() { stop(); wg.Wait() }) })
		mu.Unlock()
	}
	run(runner, sock)
	e.stop = func() {
		mu.Lock()
		all := slices.Clone(stops)
		mu.Unlock()
		for _, s := range all {
			s()
		}
	}
	e.start = func() {
		runner, err := newRunner()
		if err != nil {
			t.Fatal(err)
		}
		sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: e.fake.AppToken(), Log: log, Authenticated: b.WarnUnreachable})
		if err != nil {
			t.Fatal(err)
		}
		e.runner = runner
		run(runner, sock)
	}
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("log:\n%s", e.log.tail(200))
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := e.fake.WaitConnections(wctx, 1); err != nil {
		t.Fatalf("the bot never connected over Socket Mode: %v", err)
	}
	return e
}

func level(after time.Duration, targets ...string) escalation.Level {
	l, err := escalation.NewLevel(targets, after)
	if err != nil {
		panic(err)
	}
	return l
}

// waitFor waits (15 s at most, a bound for a hung test) until cond holds,
// re-checking on every change in the fake and every 10 ms (Redis state).
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 15*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			e.t.Fatalf("gave up waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// open stores an alert for service (dedup key key) and returns its incident.
func (e *env) open(service, key, title string) int64 {
	e.t.Helper()
	r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: service, DedupKey: key, Summary: title,
		Severity: incident.SevCritical, Status: incident.AlertFiring,
		Links: []incident.Link{{Text: "query", URL: "https://example.com/q?x=1&y=2"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Number
}

func (e *env) incident(n int64) incident.Incident {
	e.t.Helper()
	inc, _, err := e.svc.Get(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) refs(n int64) map[string]string {
	e.t.Helper()
	m, err := e.svc.ChatRefs(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// announced waits until incident n's channel, pinned card and notice exist
// and returns the channel id and the card's ts.
func (e *env) announced(n int64) (channel, card string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("INC-%d announced", n), func() bool {
		r := e.refs(n)
		return r["pin"] == "1" && (r["ntc"] != "" || r["nerr"] != "")
	})
	r := e.refs(n)
	// The sync records a message's reference, then links it to the incident
	// (what a reaction on it is looked up by): wait for both links too.
	linked := func(ref string) bool {
		got, err := e.svc.ChatLink(e.ctx, "slack:"+ref)
		return err == nil && got == n
	}
	e.waitFor(fmt.Sprintf("INC-%d's card and notice linked", n), func() bool {
		return linked(r["ch"]+"/"+r["card"]) && (r["ntc"] == "" || r["nb"] == "1" || linked(r["ntc"])) // a bundled notice links none
	})
	return r["ch"], r["card"]
}

// dms returns the messages the bot posted in its DM with user.
func (e *env) dms(user fakeslack.User) []fakeslack.Message {
	im, ok := e.fake.IM(user.ID)
	if !ok {
		return nil
	}
	return e.fake.Messages(im.ID)
}

// dmsAbout counts DMs to user about incident n whose text contains want.
func (e *env) dmsAbout(user fakeslack.User, n int64, want string) int {
	c := 0
	for _, m := range e.dms(user) {
		if strings.Contains(m.Text, fmt.Sprintf("INC-%d ", n)) && strings.Contains(m.Text, want) {
			c++
		}
	}
	return c
}

// slash types a command as user in channel and returns the reply shown to them.
func (e *env) slash(user fakeslack.User, channel, command, text string) string {
	e.t.Helper()
	id, err := e.fake.SendSlashCommand(user.ID, channel, command, text)
	if err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("the reply to "+command+" "+text, func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
	return unescapeHTML(e.fake.ResponsePosts(id)[0].Text)
}

var unescapeHTML = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace

// card returns incident n's card as the fake holds it.
func (e *env) card(n int64) fakeslack.Message {
	e.t.Helper()
	r := e.refs(n)
	m, ok := e.fake.Message(r["ch"], r["card"])
	if !ok {
		e.t.Fatalf("INC-%d has no card", n)
	}
	return m
}

// blocksText is a message's blocks as one string, for "does the card show X".
// Go's JSON encoder (slack-go's) writes <, > and & as \u escapes; undo that.
func blocksText(m fakeslack.Message) string { return jsonUnescape(string(m.Blocks)) }

var jsonUnescape = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace

var incRE = regexp.MustCompile(`INC-(\d+)`)

// quietHorizon is how far ahead idle looks for due jobs: longer than any
// scaled-down timing a test uses, shorter than the hour of the defaults.
const quietHorizon = 10 * time.Second

// idle waits until the escalation engine has nothing left to do: no page or
// chat job running and none due within quietHorizon. From then on it posts
// nothing until something changes an incident, so a test can count what was
// done ("exactly once", "no more pages") without sleeping and hoping.
func (e *env) idle() {
	e.t.Helper()
	// The in-flight sets are not exported; their names follow the key schema
	// at the top of incident/store.go, next to the due sets in the {inc} slot.
	slot := strings.TrimSuffix(e.svc.JobsKey(), "jobs")
	deadline := time.Now().Add(15 * time.Second)
	for {
		// One MULTI/EXEC: a job moves between its due and in-flight set in one
		// script, so reading both at once cannot miss a job in transit.
		max := strconv.FormatInt(time.Now().Add(quietHorizon).UnixMilli(), 10)
		var due, chatDue, running, chatRunning *redis.IntCmd
		_, err := e.rdb.TxPipelined(e.ctx, func(p redis.Pipeliner) error {
			due = p.ZCount(e.ctx, e.svc.JobsKey(), "-inf", max)
			chatDue = p.ZCount(e.ctx, e.svc.ChatJobsKey(), "-inf", max)
			running = p.ZCard(e.ctx, slot+"inflight")
			chatRunning = p.ZCard(e.ctx, slot+"chatinflight")
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
		if due.Val()+chatDue.Val()+running.Val()+chatRunning.Val() == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the engine never went idle: page jobs %d due soon, %d running; chat jobs %d due soon, %d running",
				due.Val(), running.Val(), chatDue.Val(), chatRunning.Val())
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatal(e.ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// handled waits until the bot has taken up the envelope: before acting on
// one it records the envelope (its event id for Events API envelopes) in
// Redis to recognise redeliveries (bot.Bot.FirstTime; the key is bot/state.go's).
func (e *env) handled(envelopeID string) {
	e.t.Helper()
	id := e.dedupID(envelopeID)
	e.waitFor("the bot to take up envelope "+envelopeID, func() bool {
		n, err := e.rdb.Exists(e.ctx, "test:chat:slack:seen:"+id).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		return n == 1
	})
}

// dedupID is the id under which the bot recognises a redelivery of the
// envelope: the event id of an Events API envelope, else the envelope id.
func (e *env) dedupID(envelopeID string) string {
	e.t.Helper()
	env, ok := e.fake.Envelope(envelopeID)
	if !ok {
		e.t.Fatalf("no envelope %s", envelopeID)
	}
	if env.EventID != "" {
		return "ev:" + env.EventID
	}
	return "env:" + env.ID
}

// logged waits until the bot's log has at least n lines containing each of parts.
func (e *env) logged(n int, parts ...string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("%d log lines with %q", n, parts), func() bool {
		c := 0
	lines:
		for _, l := range strings.Split(e.log.String(), "\n") {
			for _, p := range parts {
				if !strings.Contains(l, p) {
					continue lines
				}
			}
			c++
		}
		return c >= n
	})
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) tail(n int) string {
	lines := strings.Split(l.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// calls counts the fake's successful calls to method matching a parameter filter.
func (e *env) calls(method string, match func(fakeslack.Call) bool) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range e.fake.Calls(method) {
		if c.OK && (match == nil || match(c)) {
			out = append(out, c)
		}
	}
	return out
}

func inChannel(ch string) func(fakeslack.Call) bool {
	return func(c fakeslack.Call) bool { return c.Param("channel") == ch }
}

// metric is the value of a counter in the bot's registry with exactly
// these labels (0 when it has never been counted).
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	families, err := e.metrics.Registry().Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
