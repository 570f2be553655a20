package slack_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// BenchmarkFirstPage measures what a responder waits for: the time from
// Open returning (the webhook's 202) to the page's DM call arriving at Slack
// (here the fake, on loopback, so Slack's own latency is excluded), over
// 1,000 incidents, and how many Slack calls each incident costs until it is
// announced and its owner paged. Run it once:
//
//	go test -run '^$' -bench FirstPage -benchtime 1x ./bot/slack/
//
// "steady" opens an incident every 5 ms (200 a second, a storm by any
// measure), "burst" opens them back to back. The runner and the bot run
// with production settings (1 s poll, 8 page workers, 4 chat workers); only
// pacing is off, as the fake models no rate limit here (TestStorm covers
// rate limits).
func BenchmarkFirstPage(b *testing.B) {
	for _, mode := range []struct {
		name  string
		every time.Duration
	}{{"steady-200-per-s", 5 * time.Millisecond}, {"burst", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				firstPage(b, 1000, mode.every)
			}
		})
	}
}

func firstPage(b *testing.B, incidents int, every time.Duration) {
	cfg := defaults()
	if w := os.Getenv("BENCH_CHAT_WORKERS"); w != "" {
		cfg.chatWorkers, _ = strconv.Atoi(w)
	}
	e := newEnv(b, cfg)
	opened := make([]time.Time, incidents+1)
	var mu sync.Mutex
	start := time.Now()
	for i := range incidents {
		if every > 0 { // the load's shape (200 alerts a second), not synchronisation
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		}
		r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: "bench-" + strconv.Itoa(i),
			Summary: "bench alert " + strconv.Itoa(i), Severity: incident.SevCritical, Status: incident.AlertFiring})
		done := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		opened[r.Number] = done
		mu.Unlock()
	}
	im := func() string { c, _ := e.fake.IM(e.alice.ID); return c.ID }
	e.waitFor("every first page", func() bool { return len(e.calls("chat.postMessage", inChannel(im()))) >= incidents })
	e.waitFor("every incident announced", func() bool { return len(e.calls("pins.add", nil)) >= incidents })
	e.waitFor("an empty chat queue", func() bool { d, f, _ := e.svc.ChatJobCounts(e.ctx); return d == 0 && f == 0 })
	b.StopTimer()

	// The first DM call about each incident, by the fake's arrival time.
	var lat []time.Duration
	seen := map[int64]bool{}
	for _, c := range e.fake.Calls("chat.postMessage") {
		if c.Param("channel") != im() {
			continue
		}
		m := incRE.FindStringSubmatch(c.Param("text"))
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if seen[n] || n < 1 || int(n) > incidents {
			continue
		}
		seen[n] = true
		lat = append(lat, c.At.Sub(opened[n]))
	}
	if len(lat) != incidents {
		b.Fatalf("%d first pages for %d incidents", len(lat), incidents)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	all := e.fake.Calls("")
	perMethod := map[string]int{}
	for _, c := range all {
		perMethod[c.Method]++
	}
	var parts []string
	for _, m := range slices.Sorted(func(yield func(string) bool) {
		for k := range perMethod {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s=%d", m, perMethod[m]))
	}
	b.ReportMetric(ms(pct(0.5)), "p50-ms")
	b.ReportMetric(ms(pct(0.9)), "p90-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(all))/float64(incidents), "slack-calls/incident")
	b.Logf("%d incidents: first page p50 %v p90 %v p99 %v max %v; %d Slack calls (%s)", incidents,
		pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1], len(all), strings.Join(parts, " "))
}
