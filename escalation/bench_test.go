//go:build linux

package escalation_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// The benchmarks run one scenario each and report its figures as metrics;
// run them once (BenchmarkSoak, in soak_test.go, takes minutes: run it on
// its own):
//
//	go test -run '^$' -bench 'DueLag|Sustained|IdleCPU' -benchtime 1x ./escalation/
//
// Every runner uses production settings (1 s poll, 8 s lease, 8 workers)
// and a Pager that returns at once, against a private redis-server on
// loopback, so the figures are the engine's and Redis's, not chat's.

const pendingJobs = 100_000

// benchEnv is a Redis holding pendingJobs jobs due in an hour, the load a
// large installation carries, and a runner that has not started.
type benchEnv struct {
	srv *redistest.Server
	svc *incident.Store
	c   *redis.Client
	r   *escalation.Runner
	pgr *timingPager
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	srv := redistest.Start(b)
	c := srv.Client()
	wake := escalation.NewWakeup()
	pols, err := escalation.Lookup([]escalation.Service{{Name: "database", Policy: "p", AlertsChannel: "#db"}},
		[]escalation.Policy{testPolicy(time.Hour, time.Hour, 0, 0)})
	if err != nil {
		b.Fatal(err)
	}
	svc := incident.NewStore(c, "bench:", incident.WithAckTimeout(pols.AckTimeout), incident.WithOnJobDue(wake.Notify))
	ctx := context.Background()
	later := float64(time.Now().Add(time.Hour).UnixMilli())
	for i := 0; i < pendingJobs; i += 1000 {
		zs := make([]redis.Z, 0, 1000)
		for j := i; j < i+1000; j++ {
			zs = append(zs, redis.Z{Score: later, Member: incident.PageJob(int64(10_000_000 + j))})
		}
		if err := c.ZAdd(ctx, svc.JobsKey(), zs...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	pgr := &timingPager{sent: map[int64]time.Time{}}
	r, err := escalation.NewRunner(escalation.Options{Incidents: svc, Wakeup: wake, Pager: pgr, Policies: pols,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{srv: srv, svc: svc, c: c, r: r, pgr: pgr}
}

func (e *benchEnv) start(b *testing.B) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.r.Run(ctx) }()
	return func() { cancel(); <-done }
}

// openDue opens n incidents whose page jobs fall due at due(i), from 16 goroutines.
func (e *benchEnv) openDue(b *testing.B, n int, due func(i int) time.Time) map[int64]time.Time {
	b.Helper()
	var mu sync.Mutex
	dueOf := make(map[int64]time.Time, n)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				at := due(i)
				r, err := e.svc.Open(context.Background(), incident.Alert{Source: "generic", Service: "database",
					DedupKey: "k" + strconv.Itoa(i), Summary: "bench", Severity: incident.SevCritical,
					Status: incident.AlertFiring, ReceivedAt: at})
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				dueOf[r.Number] = at
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return dueOf
}

// timingPager notes when each incident's first page went out.
type timingPager struct {
	mu   sync.Mutex
	sent map[int64]time.Time
	cond chan struct{}
}

func (p *timingPager) Page(_ context.Context, pg escalation.Page) error {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.sent[pg.Incident]; !dup {
		p.sent[pg.Incident] = now
	}
	if p.cond != nil {
		close(p.cond)
		p.cond = nil
	}
	return nil
}

func (p *timingPager) waitFor(b *testing.B, n int, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		if len(p.sent) >= n {
			p.mu.Unlock()
			return
		}
		if p.cond == nil {
			p.cond = make(chan struct{})
		}
		ch := p.cond
		got := len(p.sent)
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			b.Fatalf("only %d of %d pages after %v", got, n, timeout)
		}
	}
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// BenchmarkDueLag: with 100,000 jobs pending, 2,000 incidents' first pages
// fall due spread over one second; lag is page sent minus due time.
func BenchmarkDueLag(b *testing.B) {
	e := newBenchEnv(b)
	stop := e.start(b)
	defer stop()
	const n = 2000
	t0 := time.Now().Add(3 * time.Second).Truncate(time.Second)
	dueOf := e.openDue(b, n, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second / n) })
	if time.Now().After(t0) {
		b.Fatal("opening the incidents took longer than the lead time; the figures would be wrong")
	}
	b.ResetTimer()
	e.pgr.waitFor(b, n, time.Minute)
	b.StopTimer()
	e.pgr.mu.Lock()
	lags := make([]time.Duration, 0, n)
	for num, due := range dueOf {
		lags = append(lags, e.pgr.sent[num].Sub(due))
	}
	e.pgr.mu.Unlock()
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(lags, 0.50)), "p50-lag-ms")
	b.ReportMetric(ms(percentile(lags, 0.99)), "p99-lag-ms")
	b.ReportMetric(ms(lags[len(lags)-1]), "max-lag-ms")
	b.ReportMetric(0, "ns/op")
	if p99 := percentile(lags, 0.99); p99 > 500*time.Millisecond {
		b.Logf("p99 lag %v is over the 500 ms target", p99)
	}
}

// BenchmarkSustained: 20,000 first pages already due when the runner starts
// (100,000 others pending); jobs per second until the last is sent.
func BenchmarkSustained(b *testing.B) {
	e := newBenchEnv(b)
	const n = 20_000
	past := time.Now().Add(-time.Minute)
	e.openDue(b, n, func(int) time.Time { return past })
	b.ResetTimer()
	start := time.Now()
	stop := e.start(b)
	defer stop()
	e.pgr.waitFor(b, n, 5*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleCPU: the runner idles for 10 s over 100,000 pending jobs;
// CPU used by this process (getrusage) and by redis-server (INFO cpu), as a
// percentage of one core.
func BenchmarkIdleCPU(b *testing.B) {
	e := newBenchEnv(b)
	stop := e.start(b)
	defer stop()
	time.Sleep(2 * time.Second) // past start-up
	ctx := context.Background()
	redisCPU := func() float64 {
		m, err := e.c.InfoMap(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		u, _ := strconv.ParseFloat(m["CPU"]["used_cpu_user"], 64)
		s, _ := strconv.ParseFloat(m["CPU"]["used_cpu_sys"], 64)
		return u + s
	}
	selfCPU := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	const idle = 10 * time.Second
	b.ResetTimer()
	s0, r0, t0 := selfCPU(), redisCPU(), time.Now()
	time.Sleep(idle)
	s1, r1, wall := selfCPU(), redisCPU(), time.Since(t0)
	b.StopTimer()
	b.ReportMetric(100*float64(s1-s0)/float64(wall), "baton-cpu-%")
	b.ReportMetric(100*(r1-r0)/wall.Seconds(), "redis-cpu-%")
	b.ReportMetric(0, "ns/op")
	if due, _, _ := e.svc.JobCounts(ctx); due != pendingJobs {
		b.Fatal(fmt.Sprintf("%d jobs pending, want %d", due, pendingJobs))
	}
}
