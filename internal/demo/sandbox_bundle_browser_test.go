package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/browsertest"
	"github.com/batonhq/baton/internal/redistest"
)

// startBaton runs baton's Slack bot and escalation runner against the
// sandbox's fake Slack, as `baton demo` does, on a real Redis: one
// service, database, whose alerts channel is #db-alerts and whose policy
// pages alice (re-pages and escalation an hour away). It returns the
// incident store.
func startBaton(t *testing.T, sb *Sandbox) *incident.Store {
	t.Helper()
	rdb := redistest.Start(t).Client()
	services := []escalation.Service{{Name: "database", Policy: "database", AlertsChannel: "#db-alerts"}}
	level, err := escalation.NewLevel([]string{"user:alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := escalation.Lookup(services, []escalation.Policy{{Name: "database", RepageEvery: time.Hour, Levels: []escalation.Level{level}}})
	if err != nil {
		t.Fatal(err)
	}
	wake := escalation.NewWakeup()
	store := incident.NewStore(rdb, "demo:", incident.WithAckTimeout(pols.AckJobAfter), incident.WithOnJobDue(wake.Notify))
	t.Cleanup(store.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: sb.Fake.BotToken(), APIURL: sb.Fake.APIURL(), Limits: map[string]slackbot.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	var people []bot.Person
	for _, p := range sb.People() {
		people = append(people, bot.Person{ID: p.ID, Name: p.Name, Email: p.Email, ChatID: p.SlackID})
	}
	b, err := bot.New(bot.Options{Chat: chat, Incidents: store, Redis: rdb, Prefix: "demo:", People: people,
		Services: []bot.Service{{Name: "database", AlertsChannel: "#db-alerts"}}, Wake: wake.Notify, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := slackbot.NewSocket(chat, b, slackbot.SocketOptions{AppToken: sb.Fake.AppToken(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := escalation.NewRunner(escalation.Options{Incidents: store, Wakeup: wake, Pager: b.Pager(), Chat: b.Syncer(),
		Policies: pols, PollInterval: 20 * time.Millisecond, Lease: 5 * time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	go func() { defer wg.Done(); _ = sock.Run(ctx) }()
	t.Cleanup(func() { stop(); wg.Wait() })
	if err := sb.Fake.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatalf("baton never connected to the sandbox over Socket Mode: %v", err)
	}
	return store
}

var incRef = regexp.MustCompile(`INC-(\d+)\b`)

// The demo's storm as the sandbox page shows it: twelve new incidents for
// alice within a second are one lone page (the first goes at once) and a
// bundled DM naming the rest, readable on the page: every incident named,
// an Acknowledge for each listed one, "Acknowledge all N". Pressing
// "Acknowledge all" in the page acknowledges every incident it names, by
// alice, and the DM is redrawn without the button.
func TestSandboxAcknowledgeAllInBrowser(t *testing.T) {
	sb := startTestSandbox(t, nil)
	store := startBaton(t, sb)
	const storm = 12
	for i := range storm {
		if _, err := store.Open(testCtx(t), incident.Alert{Source: "generic", Service: "database", DedupKey: fmt.Sprintf("cache-%d", i),
			Summary: fmt.Sprintf("Redis node cache-%d unreachable", i), Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	browser := browsertest.Start(t, ctx, 1600, 1400)
	if err := chromedp.Do(browser, chromedp.Navigate(sb.URL())); err != nil {
		t.Fatalf("open %s: %v", sb.URL(), err)
	}
	// Every incident named in alice's DM on the page, one message holding
	// "Acknowledge all".
	type onPage struct {
		DMs     []string `json:"dms"`     // the text of each message in alice's DM
		Channel string   `json:"channel"` // the bundle's
		TS      string   `json:"ts"`
		All     string   `json:"all"`  // its "Acknowledge all" label
		Acks    []string `json:"acks"` // the values of its Acknowledge buttons
		Text    string   `json:"text"` // its text on the page
	}
	const findJS = `(() => {
	  const all = [...document.querySelectorAll('.msg')].filter((m) => m.dataset.channel && m.querySelector('button.btn[data-action-id="baton_ackall"]'));
	  if (all.length === 0) return null;
	  const m = all[all.length - 1];
	  const dms = [...document.querySelectorAll('.msg')].filter((x) => x.dataset.channel === m.dataset.channel).map((x) => x.textContent);
	  return {dms, channel: m.dataset.channel, ts: m.dataset.ts,
	          all: m.querySelector('button.btn[data-action-id="baton_ackall"]').textContent.trim(),
	          acks: [...m.querySelectorAll('button.btn[data-action-id="baton_ack"]')].map((b) => b.dataset.value),
	          text: m.textContent};
	})()`
	var got onPage
	named := map[int]bool{}
	deadline := time.Now().Add(45 * time.Second)
	for len(named) < storm {
		if time.Now().After(deadline) {
			t.Fatalf("after 45 s alice's DM on the page names %d of %d incidents: %+v", len(named), storm, got)
		}
		g, err := chromedp.Run(browser, chromedp.Poll[onPage](findJS, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err != nil {
			t.Fatalf("no bundled page on the sandbox page: %v", err)
		}
		got = g
		clear(named)
		for _, m := range got.DMs {
			for _, s := range incRef.FindAllStringSubmatch(m, -1) {
				n, _ := strconv.Atoi(s[1])
				named[n] = true
			}
		}
		if len(named) < storm {
			_ = chromedp.Do(browser, chromedp.Sleep(200*time.Millisecond)) // the page redraws on the next event
		}
	}
	var inBundle []int
	for _, s := range incRef.FindAllStringSubmatch(got.Text, -1) {
		if n, _ := strconv.Atoi(s[1]); !slices.Contains(inBundle, n) {
			inBundle = append(inBundle, n)
		}
	}
	slices.Sort(inBundle)
	t.Logf("alice's DM: %d messages; the bundle names %v", len(got.DMs), inBundle)
	if len(inBundle) < 2 || got.All != fmt.Sprintf("Acknowledge all %d", len(inBundle)) {
		t.Fatalf("the bundle names %v, its button says %q", inBundle, got.All)
	}
	if want := min(len(inBundle), bot.BundleListed); len(got.Acks) != want {
		t.Errorf("%d Acknowledge buttons in the bundle (%v), want %d", len(got.Acks), got.Acks, want)
	}
	if png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)); err == nil {
		dir := t.TempDir()
		if a := os.Getenv("ARTIFACTS"); a != "" {
			dir = a
		}
		_ = os.WriteFile(filepath.Join(dir, "demo-sandbox-storm-bundle.png"), png, 0o644)
	}

	// Press "Acknowledge all" as alice (the page's first person).
	btn := fmt.Sprintf(`.msg[data-channel=%q][data-ts=%q] button.btn[data-action-id="baton_ackall"]`, got.Channel, got.TS)
	if err := browsertest.Click(browser, btn); err != nil {
		t.Fatalf("click Acknowledge all: %v", err)
	}
	acked := func() []int {
		var left []int
		for _, n := range inBundle {
			inc, _, err := store.Get(testCtx(t), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" {
				left = append(left, n)
			}
		}
		return left
	}
	for left := acked(); len(left) > 0; left = acked() {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("after Acknowledge all, INC-%v not acknowledged by alice", left)
		}
		time.Sleep(50 * time.Millisecond) // polling the store for the outcome, not synchronising
	}
	gone := fmt.Sprintf(`(() => { const m = document.querySelector(%q); return !!m && !m.querySelector('button.btn[data-action-id="baton_ackall"]'); })()`,
		fmt.Sprintf(`.msg[data-channel=%q][data-ts=%q]`, got.Channel, got.TS))
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](gone, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the bundle on the page still offers Acknowledge all: %v", err)
	}
}
