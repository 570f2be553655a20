//go:build linux

package escalation_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// BenchmarkSoak is the soak: 20,000 open incidents re-paged every
// 2 s, more than one runner (8 workers, production lease and poll) can keep
// up with, so overdue re-pages pile up. Meanwhile a new incident opens every
// 500 ms on a policy that escalates every 6 s through five levels. It
// measures those incidents' first-page latency (from Open's return to the
// Pager call) and their escalations' lateness (Pager call minus the level's
// deadline), with priorities off (incident.Store.ByDueOnly: claims by due
// time alone, as before) and on, interleaved, soakRuns runs each. A page
// still not sent when the window ends counts as late by the time it had
// waited then (a lower bound). Run it alone, once:
//
//	go test -run '^$' -bench BenchmarkSoak -benchtime 1x -timeout 30m ./escalation/
//
// About 40 s a run. It prints one line per run and reports the medians of
// the runs' p99s as metrics.
func BenchmarkSoak(b *testing.B) {
	srv := redistest.Start(b)
	c := srv.Client()
	type result struct {
		byDueOnly           bool
		first, late         []time.Duration // sorted
		firstLost, lateLost int             // not sent by the end of the window (included in first, late as lower bounds)
		pagesPerSec         float64
	}
	var results []result
	for run := range 2 * soakRuns {
		byDueOnly := run%2 == 0
		if err := c.FlushAll(context.Background()).Err(); err != nil {
			b.Fatal(err)
		}
		first, late, firstLost, lateLost, rate := soakRun(b, c, byDueOnly)
		results = append(results, result{byDueOnly, first, late, firstLost, lateLost, rate})
		b.Logf("run %d priorities %-3s: first page p50 %v p99 %v max %v (%d not sent); escalation lateness p50 %v p99 %v max %v (%d of %d not sent); %.0f pages/s",
			run+1, onOff(!byDueOnly), ms(percentile(first, 0.5)), ms(percentile(first, 0.99)), ms(first[len(first)-1]), firstLost,
			ms(percentile(late, 0.5)), ms(percentile(late, 0.99)), ms(late[len(late)-1]), lateLost, len(late), rate)
	}
	for _, on := range []bool{false, true} {
		var f99, l99 []time.Duration
		for _, r := range results {
			if r.byDueOnly != on {
				f99 = append(f99, percentile(r.first, 0.99))
				l99 = append(l99, percentile(r.late, 0.99))
			}
		}
		slices.Sort(f99)
		slices.Sort(l99)
		b.ReportMetric(float64(f99[len(f99)/2].Milliseconds()), "first-p99-ms-prio-"+onOff(on))
		b.ReportMetric(float64(l99[len(l99)/2].Milliseconds()), "esc-late-p99-ms-prio-"+onOff(on))
	}
	b.ReportMetric(0, "ns/op")
}

const (
	soakRuns       = 3
	soakIncidents  = 20_000
	soakRepage     = 2 * time.Second
	soakEscalate   = 6 * time.Second
	soakWindow     = 20 * time.Second
	soakProbeEvery = 500 * time.Millisecond
)

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// soakPager counts every page and keeps the probe incidents' pages with the
// time each was sent. No I/O: the figures are the engine's and Redis's.
type soakPager struct {
	total, firsts atomic.Int64
	mu            sync.Mutex
	probe         map[int64][]soakPage
}

type soakPage struct {
	reason escalation.Reason
	at     time.Time // the decision's instant: a first or escalated page's level_at
	sent   time.Time
}

func (p *soakPager) Page(_ context.Context, pg escalation.Page) error {
	now := time.Now()
	p.total.Add(1)
	if pg.Service != "probe" {
		if pg.Reason == escalation.ReasonFirst {
			p.firsts.Add(1)
		}
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probe[pg.Incident] = append(p.probe[pg.Incident], soakPage{pg.Reason, pg.At, now})
	return nil
}

// soakRun is one run on an empty Redis: seed, warm up (every seeded
// incident paged once), then soakWindow of probes.
func soakRun(b *testing.B, c *redis.Client, byDueOnly bool) (first, late []time.Duration, firstLost, lateLost int, pagesPerSec float64) {
	b.Helper()
	ctx := context.Background()
	levels := make([]escalation.Level, 5)
	for i := range levels {
		levels[i] = level(soakEscalate, "user:p"+strconv.Itoa(i+1))
	}
	pols, err := escalation.Lookup([]escalation.Service{
		{Name: "bulk", Policy: "bulk", AlertsChannel: "#bulk"},
		{Name: "probe", Policy: "probe", AlertsChannel: "#probe"},
	}, []escalation.Policy{
		{Name: "bulk", RepageEvery: soakRepage, Levels: []escalation.Level{level(time.Hour, "user:carol")}},
		{Name: "probe", RepageEvery: soakRepage, Levels: levels},
	})
	if err != nil {
		b.Fatal(err)
	}
	wake := escalation.NewWakeup()
	svc := incident.NewStore(c, "soak:", incident.WithAckTimeout(pols.AckTimeout), incident.WithOnJobDue(wake.Notify))
	svc.ByDueOnly = byDueOnly
	defer svc.Close()
	pgr := &soakPager{probe: map[int64][]soakPage{}}
	r, err := escalation.NewRunner(escalation.Options{Incidents: svc, Wakeup: wake, Pager: pgr, Policies: pols,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	open := func(service, key string) int64 {
		res, err := svc.Open(ctx, incident.Alert{Source: "generic", Service: service, DedupKey: key, Summary: "soak",
			Severity: incident.SevCritical, Status: incident.AlertFiring})
		if err != nil {
			b.Fatal(err)
		}
		return res.Number
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < soakIncidents; i += 16 {
				open("bulk", "b"+strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for pgr.firsts.Load() < soakIncidents {
		time.Sleep(50 * time.Millisecond) // a benchmark's warm-up, not a test's synchronisation
	}

	// The window: a probe every soakProbeEvery.
	start := time.Now()
	total0 := pgr.total.Load()
	opened := map[int64]time.Time{}
	tick := time.NewTicker(soakProbeEvery)
	for i := 0; time.Since(start) < soakWindow; i++ {
		n := open("probe", "p"+strconv.Itoa(i))
		opened[n] = time.Now()
		<-tick.C
	}
	tick.Stop()
	end := time.Now()
	pagesPerSec = float64(pgr.total.Load()-total0) / end.Sub(start).Seconds()

	pgr.mu.Lock()
	defer pgr.mu.Unlock()
	for n, at := range opened {
		pages := pgr.probe[n]
		var owner []soakPage
		for _, p := range pages {
			if p.reason == escalation.ReasonFirst || p.reason == escalation.ReasonEscalated {
				owner = append(owner, p)
			}
		}
		if len(owner) == 0 || owner[0].reason != escalation.ReasonFirst {
			first = append(first, end.Sub(at))
			firstLost++
			continue
		}
		first = append(first, owner[0].sent.Sub(at))
		for i := 1; i < len(owner); i++ {
			late = append(late, owner[i].sent.Sub(owner[i-1].at.Add(soakEscalate)))
		}
		if last := owner[len(owner)-1]; len(owner) < len(levels) && last.at.Add(soakEscalate).Before(end) {
			// Due before the window ended, not sent.
			late = append(late, end.Sub(last.at.Add(soakEscalate)))
			lateLost++
		}
	}
	slices.Sort(first)
	slices.Sort(late)
	if len(late) == 0 {
		late = []time.Duration{0}
	}
	if due, _, _ := svc.JobCounts(ctx); due == 0 {
		b.Fatal("no jobs queued: the soak is not running")
	}
	return first, late, firstLost, lateLost, pagesPerSec
}
