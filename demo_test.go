package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/browsertest"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations/overrides"
)

// syncBuffer is a bytes.Buffer safe for the demo's writers and the test's reads.
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

// runningDemo is one `baton demo` running in-process for a test.
type runningDemo struct {
	t      *testing.T
	out    *syncBuffer
	errOut *syncBuffer
	stop   context.CancelFunc
	done   chan int
}

// startDemo runs cmdDemo with args until the test stops it (or ends).
func startDemo(t *testing.T, args []string, environ []string) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &runningDemo{t: t, out: &syncBuffer{}, errOut: &syncBuffer{}, stop: cancel, done: make(chan int, 1)}
	go func() { d.done <- cmdDemo(ctx, args, d.out, d.errOut, environ, time.Now) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			t.Errorf("the demo did not stop within 20s of its context ending")
		}
	})
	return d
}

// waitOutput waits up to timeout for re to match the demo's stdout and
// returns the first submatch (or the match).
func (d *runningDemo) waitOutput(re *regexp.Regexp, timeout time.Duration) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(d.out.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case code := <-d.done:
			d.done <- code
			d.t.Fatalf("the demo exited (%d) before printing %q\nstdout:\n%s\nstderr:\n%s", code, re, d.out, d.errOut)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no %q in the demo's output within %s\nstdout:\n%s\nstderr:\n%s", re, timeout, d.out, d.errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shutdown stops the demo and returns its exit code.
func (d *runningDemo) shutdown() int {
	d.t.Helper()
	d.stop()
	select {
	case code := <-d.done:
		d.done <- code
		return code
	case <-time.After(20 * time.Second):
		d.t.Fatalf("the demo did not stop within 20s of Ctrl-C\nstdout:\n%s", d.out)
		return -1
	}
}

var sandboxLineRE = regexp.MustCompile(`sandbox\s+(http://127\.0\.0\.1:\d+/)`)

// artifactDirs are where the screenshot goes: $ARTIFACTS (CI) or the
// test's temp dir, and artifacts/ in the checkout (git-ignored) for a
// person to look at.
func artifactDirs(t *testing.T) []string {
	dirs := []string{t.TempDir()}
	if a := os.Getenv("ARTIFACTS"); a != "" {
		dirs[0] = a
	}
	return append(dirs, "artifacts")
}

func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	for _, dir := range artifactDirs(t) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Errorf("artifacts: %v", err)
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("artifacts: %v", err)
			continue
		}
		abs, _ := filepath.Abs(p)
		t.Logf("screenshot: %s", abs)
	}
}

// ackTarget is the Acknowledge button the test presses, as the page found it.
type ackTarget struct {
	Channel string `json:"channel"`
	// Message selects the message (Slack's data-ts, Discord's
	// data-message); Button the button in it (data-action-id, data-custom-id).
	Message  string `json:"message"`
	Button   string `json:"button"`
	Incident int64  `json:"incident"`
	Where    string `json:"where"`
	Text     string `json:"text"`
}

// findAckJS finds an Acknowledge button on INC-1's card in its incident
// channel (#inc-1-…), or with dms also on a page in a DM (the only place
// while no bot makes channels). It returns null until there is one.
func findAckJS(dms bool) string {
	return fmt.Sprintf(`(() => {
  const dms = %t;
  const cards = [...document.querySelectorAll('.panel[data-name^="inc-1-"] .msg'), ...(dms ? document.querySelectorAll('#dms .msg') : [])];
  for (const m of cards) {
    const panel = m.closest('.panel');
    const inChannel = (panel.dataset.name || '').startsWith('inc-1-');
    if (!inChannel && !/INC-1\b/.test(m.textContent)) continue;
    const b = [...m.querySelectorAll('button.btn')].find((b) => b.textContent.trim() === 'Acknowledge');
    if (!b) continue;
    const msg = '.msg[data-channel="' + m.dataset.channel + '"]' +
      (m.dataset.ts ? '[data-ts="' + m.dataset.ts + '"]' : '[data-message="' + m.dataset.message + '"]');
    const btn = b.dataset.actionId ? 'button[data-action-id="' + b.dataset.actionId + '"]' : 'button[data-custom-id="' + b.dataset.customId + '"]';
    return {channel: b.dataset.channel, message: msg, button: msg + ' ' + btn, incident: 1,
            where: inChannel ? 'incident channel' : 'DM', text: m.textContent};
  }
  return null;
})()`, dms)
}

// TestDemoSandboxAcknowledgeInBrowser runs the demo in-process with the
// scenario, once with each chat (--chat slack, --chat discord), opens the
// sandbox page in headless Chromium, picks Dave, presses Acknowledge on
// INC-1's card, and checks that the click reached the fake chat as Dave's
// (on Discord: an interaction over the gateway that baton answered within
// Discord's 3 s), that the incident is acknowledged by dave in Redis, and
// that the card changed on the page; then /incident stats typed under the
// channel shows the chart. It saves a screenshot of the page.
func TestDemoSandboxAcknowledgeInBrowser(t *testing.T) {
	for _, chat := range []string{"slack", "discord"} {
		t.Run(chat, func(t *testing.T) { testDemoSandboxAcknowledgeInBrowser(t, chat) })
	}
}

func testDemoSandboxAcknowledgeInBrowser(t *testing.T, chat string) {
	srv := redistest.Start(t)
	d := startDemo(t, []string{"--chat", chat, "--scenario", "--redis", srv.Addr, "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil)
	pageURL := d.waitOutput(sandboxLineRE, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	browser := browsertest.Start(t, ctx, 1600, 1100)

	if err := chromedp.Do(browser, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](`!!document.querySelector('#live.good') && document.querySelectorAll('#as option').length > 0`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never went live (Server-Sent Events): %v", err)
	}
	// Act as Dave, who is not on the database rotation: whoever acknowledges
	// becomes the owner.
	picked, err := chromedp.Run(browser, chromedp.Evaluate[string](`(() => {
	  const s = document.getElementById('as');
	  const o = [...s.options].find((o) => o.textContent.includes('(dave)'));
	  s.value = o.value; s.dispatchEvent(new Event('change'));
	  return o.value;
	})()`))
	if err != nil || picked == "" {
		t.Fatalf("pick dave in the person picker: %q %v", picked, err)
	}

	target, err := chromedp.Run(browser, chromedp.Poll[ackTarget](findAckJS(false), chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("no Acknowledge button for INC-1 on the page within 30s: %v\nstdout:\n%s", err, d.out)
	}
	t.Logf("pressing Acknowledge on INC-1 in the %s (%s)", target.Where, target.Button)
	if err := browsertest.Click(browser, target.Button); err != nil {
		t.Fatalf("click %s: %v", target.Button, err)
	}
	// The click went page → /sandbox/act → the fake's block_actions
	// envelope (Slack) or interaction (Discord), as dave.
	d.waitOutput(regexp.MustCompile(`dave pressed Acknowledge in `), 10*time.Second)
	if chat == "discord" {
		d.waitOutput(regexp.MustCompile(`baton answered dave's Acknowledge in [0-9.]+m?s `), 10*time.Second)
	}

	shoot := func(name string) {
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("screenshot: %v", err)
			return
		}
		saveScreenshot(t, name, png)
	}

	// Redis: INC-1 acknowledged, dave the owner.
	svc := incident.NewStore(srv.Client(), "baton-demo:")
	defer svc.Close()
	var inc incident.Incident
	deadline := time.Now().Add(15 * time.Second)
	for {
		inc, _, err = svc.Get(ctx, target.Incident)
		if err == nil && inc.Status == incident.StatusAcknowledged && inc.Owner == "dave" {
			break
		}
		if time.Now().After(deadline) {
			shoot("demo-sandbox-" + chat + "-failed.png")
			t.Fatalf("INC-1 in Redis: %+v (err %v); want acknowledged by dave\nstdout:\n%s", inc, err, d.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The card on the page changed and names Dave.
	changed := fmt.Sprintf(`(() => {
	  const m = document.querySelector(%q);
	  if (!m) return null;
	  const t = m.textContent;
	  return t !== %q && /dave/i.test(t) ? t : null;
	})()`, target.Message, target.Text)
	if _, err := chromedp.Run(browser, chromedp.Poll[string](changed, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		shoot("demo-sandbox-" + chat + "-failed.png")
		t.Fatalf("the card of INC-1 did not change to name dave on the page: %v", err)
	}
	d.waitOutput(regexp.MustCompile(`INC-1 acknowledged by dave via the Acknowledge button`), 10*time.Second)

	// /incident stats typed under the incident's channel: the summary and
	// the chart appear there, and the chart loads as an 800×400 image.
	input := fmt.Sprintf(`#cmd-%s`, target.Channel)
	if err := chromedp.Do(browser, chromedp.SendKeys(chromedp.CSS(input), "/incident stats\n")); err != nil {
		t.Fatalf("typing /incident stats: %v", err)
	}
	chart := fmt.Sprintf(`(() => {
	  const img = document.querySelector(%q);
	  return img && img.complete && img.naturalWidth === 800 && img.naturalHeight === 400 &&
	    /Incident stats: last 7 days/.test(document.querySelector(%q).textContent);
	})()`, fmt.Sprintf(`.msg[data-channel=%q] figure.file img`, target.Channel), fmt.Sprintf(`.panel[data-channel=%q]`, target.Channel))
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](chart, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		shoot("demo-sandbox-" + chat + "-failed.png")
		t.Fatalf("no stats chart on the page after /incident stats: %v", err)
	}
	if chat == "slack" {
		shoot("demo-sandbox.png")
	} else {
		shoot("demo-sandbox-" + chat + ".png")
	}

	if code := d.shutdown(); code != 0 {
		t.Fatalf("exit %d after Ctrl-C\nstderr:\n%s", code, d.errOut)
	}
}

// TestDemoStoryAndCleanStop runs the plain demo on the in-process Redis,
// once with each chat: the first alert is paged at once (on Discord: the
// bot on the gateway, the incident channel under its category, the pinned
// card and the notice told too), and Ctrl-C stops everything (exit 0, every
// goroutine the demo started gone).
func TestDemoStoryAndCleanStop(t *testing.T) {
	tests := []struct {
		chat string
		want []string
	}{
		{"slack", nil},
		{"discord", []string{`bot connected to the sandbox over the gateway`, `channel #inc-1-\S+ created under incidents`,
			`incident card pinned in #inc-1-`, `notice posted in #db-alerts`}},
	}
	for _, tc := range tests {
		t.Run(tc.chat, func(t *testing.T) {
			before := runtime.NumGoroutine()
			d := startDemo(t, []string{"--chat", tc.chat, "--redis", "memory", "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil)
			d.waitOutput(regexp.MustCompile(`in-memory Redis .*NOTHING will be kept`), 10*time.Second)
			d.waitOutput(regexp.MustCompile(`alert received from sumologic → INC-1 opened`), 10*time.Second)
			d.waitOutput(regexp.MustCompile(`INC-1: alice paged \(DM\), level 1`), 10*time.Second)
			for _, w := range tc.want {
				d.waitOutput(regexp.MustCompile(w), 10*time.Second)
			}
			if code := d.shutdown(); code != 0 {
				t.Fatalf("exit %d\nstderr:\n%s", code, d.errOut)
			}
			if !strings.Contains(d.out.String(), "demo stopped") {
				t.Fatalf("no goodbye:\n%s", d.out)
			}
			// Goroutines: the demo's are gone once it returns (a little slack for
			// the runtime's and net/http's idle ones).
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before+2 {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines before the demo, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestDemoStartsAndStopsItsOwnRedisServer points the demo config at a port
// where nothing answers: the demo starts redis-server, and stops it on exit.
func TestDemoStartsAndStopsItsOwnRedisServer(t *testing.T) {
	dead := freeAddr(t)
	d := startDemo(t, []string{"--idle", "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, []string{"BATON_REDIS_ADDR=" + dead})
	addr := d.waitOutput(regexp.MustCompile(`started redis-server on (127\.0\.0\.1:\d+)`), 15*time.Second)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		t.Fatalf("the demo's redis-server at %s does not answer: %v", addr, err)
	} else {
		c.Close()
	}
	if code := d.shutdown(); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, d.errOut)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("redis-server at %s still answers after the demo stopped", addr)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestDemoExitCodes: each way the demo cannot start has its exit code and
// a sentence that says what to do.
func TestDemoExitCodes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badConfig, bytes.Replace(demoYAML, []byte("repage_every: 10s"), []byte("repage_every: 0s"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		code    int
		want    []string
	}{
		{"webhook port in use", []string{"--redis", "memory", "--listen", busy.Addr().String(), "--sandbox", "127.0.0.1:0"}, nil, 1,
			[]string{busy.Addr().String(), "in use", "--listen 127.0.0.1:PORT"}},
		{"sandbox port in use", []string{"--redis", "memory", "--listen", "127.0.0.1:0", "--sandbox", busy.Addr().String()}, nil, 1,
			[]string{"Slack sandbox", busy.Addr().String(), "in use", "--sandbox 127.0.0.1:PORT"}},
		{"named redis does not answer", []string{"--redis", freeAddr(t), "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil, 1,
			[]string{"does not answer", "leave out --redis"}},
		{"bad demo config from the environment", []string{"--redis", "memory"}, []string{"BATON_LOG_LEVEL=loud"}, 2,
			[]string{"built-in demo config", "log.level", "BATON_"}},
		{"bad config file", []string{"--config", badConfig, "--redis", "memory"}, nil, 2,
			[]string{"1 problem(s)", "repage_every", "at least 1s"}},
		{"Discord sandbox port in use", []string{"--chat", "discord", "--redis", "memory", "--listen", "127.0.0.1:0", "--sandbox", busy.Addr().String()}, nil, 1,
			[]string{"Discord sandbox", busy.Addr().String(), "in use", "--sandbox 127.0.0.1:PORT"}},
		{"unknown chat", []string{"--chat", "teams"}, nil, 2, []string{`--chat "teams"`, "slack or discord"}},
		{"unknown flag", []string{"--nope"}, nil, 2, []string{"-nope", "Usage: baton demo"}},
		{"stray argument", []string{"now"}, nil, 2, []string{`unexpected argument "now"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errOut syncBuffer
			code := cmdDemo(ctx, tc.args, &out, &errOut, tc.environ, time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}

// TestDemoConfigIsValidAndFast: the built-in config loads, and its first
// escalation comes well within the 30 s a newcomer waits.
func TestDemoConfigIsValidAndFast(t *testing.T) {
	var errOut bytes.Buffer
	cfg, code := loadDemoConfig("", nil, &errOut)
	if cfg == nil {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %q", w)
	}
	for _, p := range cfg.EscalationPolicies {
		if first := p.Levels[0].EscalateAfter; first > 25*time.Second {
			t.Errorf("policy %s escalates after %s: too slow for the demo", p.Name, first)
		}
	}
	// Rotations are anchored so that the first participant is on call, on
	// any day, at any hour.
	for _, at := range []time.Time{
		time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC),    // DST day in New York, before the handoff there
		time.Date(2026, 10, 25, 23, 30, 0, 0, time.UTC), // DST end in Paris
		time.Now(),
	} {
		c, _ := loadDemoConfig("", nil, &errOut)
		anchorRotations(c, at)
		rots, err := c.compileRotations()
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range c.Rotations {
			sh, err := rots[rc.Name].ShiftAt(at)
			if err != nil || sh.Person != rc.Participants[0] {
				t.Errorf("at %s rotation %s (start %s): on call %q (%v), want %s", at, rc.Name, rc.Start, sh.Person, err, rc.Participants[0])
			}
		}
	}
}

// TestDemoSandboxTakeItInBrowser runs the demo with the scenario, opens the
// sandbox page in headless Chromium as Dave, waits for the batch handoff's
// "You're on call for batch … take the pager" DM, presses [Take it] on the
// page, and checks the effect: baton's answer on the page, the story's
// line, and the handoff accepted by dave in Redis.
func TestDemoSandboxTakeItInBrowser(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	d := startDemo(t, []string{"--scenario", "--redis", srv.Addr, "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil)
	pageURL := d.waitOutput(sandboxLineRE, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Second)
	defer cancel()
	browser := browsertest.Start(t, ctx, 1600, 1100)
	if err := chromedp.Do(browser, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](`!!document.querySelector('#live.good') && document.querySelectorAll('#as option').length > 0`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never went live: %v", err)
	}
	if picked, err := chromedp.Run(browser, chromedp.Evaluate[string](`(() => {
	  const s = document.getElementById('as');
	  const o = [...s.options].find((o) => o.textContent.includes('(dave)'));
	  s.value = o.value; s.dispatchEvent(new Event('change'));
	  return o.value;
	})()`)); err != nil || picked == "" {
		t.Fatalf("pick dave: %q %v", picked, err)
	}
	type takeIt struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
		Value   string `json:"value"`
	}
	// The handoff is at the first whole minute 40 s or more after the start.
	target, err := chromedp.Run(browser, chromedp.Poll[takeIt](`(() => {
	  const b = [...document.querySelectorAll('#dms button.btn[data-action-id="baton_takepager"]')].pop();
	  if (!b || !/You're on call for batch/.test(b.closest('.msg').textContent)) return null;
	  return {channel: b.dataset.channel, ts: b.dataset.ts, value: b.dataset.value};
	})()`, chromedp.WithPollingTimeout(150*time.Second), chromedp.WithPollingInterval(250*time.Millisecond)))
	if err != nil {
		t.Fatalf("no [Take it] in Dave's DM on the page: %v\nstdout:\n%s", err, d.out)
	}
	btn := fmt.Sprintf(`.msg[data-channel=%q][data-ts=%q] button[data-action-id="baton_takepager"]`, target.Channel, target.TS)
	if err := browsertest.Click(browser, btn); err != nil {
		t.Fatalf("click %s: %v", btn, err)
	}
	d.waitOutput(regexp.MustCompile(`dave pressed Take it in dave's DM`), 10*time.Second)
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](fmt.Sprintf(`(() => {
	  const p = document.querySelector('.panel[data-channel=%q]');
	  return !!p && /You hold the pager of batch/.test(p.textContent);
	})()`, target.Channel), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		if png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)); err == nil {
			saveScreenshot(t, "demo-sandbox-takeit-failed.png", png)
		}
		t.Fatalf("baton's answer to [Take it] is not on the page: %v\nstdout:\n%s", err, d.out)
	}
	ov := overrides.New(srv.Client(), "baton-demo:")
	// The button's value is the handoff instant (unix s) shifted left 20
	// bits, over 20 bits naming the rotation (bot/shift.go).
	h, err := ov.GetHandoff(ctx, "batch", time.Unix(mustAtoi(t, target.Value)>>20, 0))
	if err != nil || !h.Accepted || h.Incoming != "dave" || h.Outgoing != "bob" {
		t.Fatalf("the handoff in Redis: %+v %v", h, err)
	}
	if png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)); err == nil {
		saveScreenshot(t, "demo-sandbox-takeit.png", png)
	}
	if code := d.shutdown(); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, d.errOut)
	}
}
