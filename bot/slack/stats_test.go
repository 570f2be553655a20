package slack_test

import (
	"bytes"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/internal/fakeslack"
)

// clock is a settable clock for the incident store: zero means real time.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
}

// statsEnv is an env whose store holds three payments incidents of the
// last three days: acknowledged after 4 and 10 minutes, resolved after 60
// and 30, and one still open. MTTA 7m (p50 4m, p90 10m), MTTR 45m (p50
// 30m, p90 1h).
func statsEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{}
	cfg := defaults()
	cfg.before = func(e *env) { e.svc.Now = clk.Now }
	e := newEnv(t, cfg)
	now := time.Now()
	step := func(at time.Time, fn func() error) {
		t.Helper()
		clk.set(at)
		if err := fn(); err != nil {
			t.Fatal(err)
		}
	}
	for i, inc := range []struct {
		ago          time.Duration
		ack, resolve time.Duration // 0: never
		by           string
	}{
		{50 * time.Hour, 4 * time.Minute, 60 * time.Minute, "alice"},
		{26 * time.Hour, 10 * time.Minute, 30 * time.Minute, "bob"},
		{time.Hour, 0, 0, ""},
	} {
		start := now.Add(-inc.ago)
		var n int64
		step(start, func() error { n = e.open("payments", "k"+string(rune('a'+i)), "Disk full"); return nil })
		if inc.ack > 0 {
			step(start.Add(inc.ack), func() error { _, err := e.svc.Ack(e.ctx, n, inc.by, ""); return err })
			step(start.Add(inc.resolve), func() error { _, err := e.svc.Resolve(e.ctx, n, inc.by, ""); return err })
		}
	}
	clk.set(time.Time{})
	return e
}

// reportIn waits for a summary whose blocks contain title in channel, and
// the chart uploaded after it, and returns the summary's blocks as text and
// the chart.
func (e *env) reportIn(channel, title string) (string, fakeslack.File) {
	e.t.Helper()
	var summary string
	var file fakeslack.File
	e.waitFor("the summary and its chart in "+channel, func() bool {
		summary = ""
		for _, m := range e.fake.Messages(channel) {
			if b := blocksText(m); summary == "" && strings.Contains(b, title) {
				summary = b
				continue
			}
			if summary != "" && len(m.Files) == 1 {
				file, _ = e.fake.File(m.Files[0])
				return true
			}
		}
		return false
	})
	return summary, file
}

func checkChart(t *testing.T, f fakeslack.File, title string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(f.Content))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 400 {
		t.Errorf("chart is %dx%d, want 800x400", b.Dx(), b.Dy())
	}
	if !strings.Contains(f.Title, title) {
		t.Errorf("chart title %q does not say %q", f.Title, title)
	}
}

// /incident stats posts the figures and a chart in the channel it was typed
// in, for any period up to 90 days and one service or all.
func TestStatsCommand(t *testing.T) {
	e := statsEnv(t)
	cases := []struct {
		name, text       string
		title, chartSays string
		lines            []string
	}{
		{"last week by day", "stats", "Incident stats: last 7 days, all services", "MTTA and MTTR per day, incidents opened as bars (last 7 days, all services)", []string{
			"3 incidents opened (payments 3)",
			"MTTA 7m (p50 4m, p90 10m, 2 acknowledged)",
			"MTTR 45m (p50 30m, p90 1h, 2 resolved)",
			"1 still open at the end of the period",
		}},
		{"30 days of one service by week", "stats 30d service=payments", "Incident stats: last 30 days, payments", "MTTA and MTTR per week, incidents opened as bars (last 30 days, payments)", []string{
			"3 incidents opened (payments 3)",
			"MTTA 7m",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := e.fake.AddChannel(fakeslack.Channel{Name: "stats-" + strings.ReplaceAll(c.name, " ", "-"), Members: []string{e.alice.ID}})
			if _, err := e.fake.SendSlashCommand(e.alice.ID, ch.ID, "/incident", c.text); err != nil {
				t.Fatal(err)
			}
			summary, chart := e.reportIn(ch.ID, c.title)
			for _, l := range c.lines {
				if !strings.Contains(summary, l) {
					t.Errorf("summary does not say %q:\n%s", l, summary)
				}
			}
			if !strings.Contains(summary, "Asked for by Alice") {
				t.Errorf("summary does not say who asked:\n%s", summary)
			}
			checkChart(t, chart, c.chartSays)
			if chart.Channels[0] != ch.ID {
				t.Errorf("chart shared in %v, want %s", chart.Channels, ch.ID)
			}
		})
	}
}

// What stats refuses, and where it cannot post: each says why and posts
// nothing (or, when only the chart fails, says that).
func TestStatsRefusals(t *testing.T) {
	e := statsEnv(t)
	posts := func(ch string) int { return len(e.fake.Messages(ch)) }

	ch := e.fake.AddChannel(fakeslack.Channel{Name: "ops", Members: []string{e.alice.ID}})
	if r := e.slash(e.alice, ch.ID, "/incident", "stats service=db"); !strings.Contains(r, `There is no service "db". Services: payments.`) {
		t.Errorf("unknown service: %q", r)
	}
	if r := e.slash(e.alice, ch.ID, "/incident", "stats 120d"); !strings.Contains(r, "stats covers up to 90 days (got 120d)") || !strings.Contains(r, "Try: /incident stats") {
		t.Errorf("too long: %q", r)
	}
	if n := posts(ch.ID); n != 0 {
		t.Errorf("%d messages posted after refusals", n)
	}

	// baton is not in the channel: the summary comes privately, with why.
	notIn := e.fake.AddChannel(fakeslack.Channel{Name: "elsewhere", Members: []string{e.bob.ID}})
	e.fake.RemoveMember(notIn.ID, e.fake.State().BotUserID)
	r := e.slash(e.bob, notIn.ID, "/incident", "stats")
	if !strings.Contains(r, "3 incidents opened") || !strings.Contains(r, "could not post these stats and their chart in this channel") {
		t.Errorf("not in channel: %q", r)
	}
	if n := posts(notIn.ID); n != 0 {
		t.Errorf("%d messages posted in a channel baton is not in", n)
	}

	// The chart cannot be shared (the app lacks files:write): the summary
	// stays and the person is told.
	e.fake.FailNext("files.completeUploadExternal", 1, fakeslack.SlackError("missing_scope"))
	r = e.slash(e.alice, ch.ID, "/incident", "stats")
	if !strings.Contains(r, "The stats are posted, but their chart could not be uploaded") || !strings.Contains(r, "files:write") {
		t.Errorf("chart refused: %q", r)
	}
	// The person reads a sentence, never the chat API's error (the log has it).
	if strings.Contains(r, "missing_scope") || strings.Contains(r, "completeUploadExternal") {
		t.Errorf("chart refused: the reply shows the internal error: %q", r)
	}
	if msgs := e.fake.Messages(ch.ID); len(msgs) != 1 || !strings.Contains(blocksText(msgs[0]), "Incident stats") {
		t.Errorf("messages after a refused chart: %+v", msgs)
	}
}

// The weekly digest goes to a channel given by name, as a summary and the
// chart of the week by day.
func TestPostDigest(t *testing.T) {
	e := statsEnv(t)
	job := &digest.Job{Source: e.reports, Poster: e.bot, Channel: "#payments-alerts", Zone: time.UTC}
	if err := job.Run(e.ctx); err != nil {
		t.Fatal(err)
	}
	d, err := digest.Build(e.ctx, e.reports, time.Now(), time.UTC, nil)
	if err != nil {
		t.Fatal(err)
	}
	summary, chart := e.reportIn(e.alerts.ID, "Weekly incident digest")
	for _, want := range append([]string{d.Title}, d.Lines...) {
		if !strings.Contains(summary, want) {
			t.Errorf("digest does not say %q:\n%s", want, summary)
		}
	}
	checkChart(t, chart, "per day")

	if err := job.Poster.PostDigest(e.ctx, "#no-such-channel", d); err == nil {
		t.Error("a digest to a channel that does not exist did not fail")
	}
}

// An incident opened from chat is counted like an alert of source chat.
func TestChatOpenCounted(t *testing.T) {
	e := newEnv(t, defaults())
	if r := e.slash(e.alice, e.alerts.ID, "/incident", "new Checkout is slow"); !strings.Contains(r, "Opened INC-1") {
		t.Fatalf("reply %q", r)
	}
	if got := e.metric("baton_alerts_received_total", map[string]string{"source": "chat", "outcome": "created"}); got != 1 {
		t.Errorf("alerts received from chat = %v, want 1", got)
	}
	if got := e.metric("baton_incidents_opened_total", map[string]string{"service": "payments"}); got != 1 {
		t.Errorf("incidents opened for payments = %v, want 1", got)
	}
}
