package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/internal/redistest"
)

// seedPeriods writes count incidents spread evenly over each period
// [bounds[i], bounds[i+1]): six services, eight people; each paged at
// once; one in three paged again 5 minutes later; 15% escalated to level 2
// after 15 minutes; 90% acknowledged after 1–30 minutes (after the
// escalation for those), 97% resolved 5 minutes to 4 hours after that.
// About 5.9 timeline entries per incident.
func seedPeriods(tb testing.TB, ctx context.Context, rdb *redis.Client, count int, bounds ...time.Time) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 7))
	services := []string{"api", "web", "db", "queue", "auth", "billing"}
	people := []string{"alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi"}
	sevs := []string{"critical", "warning", "info"}
	var incs []seedIncident
	for p := range len(bounds) - 1 {
		from, span := bounds[p], bounds[p+1].Sub(bounds[p])
		for i := range count {
			created := from.Add(time.Duration(i) * (span / time.Duration(count)))
			owner := people[rng.IntN(len(people))]
			inc := seedIncident{created: created, service: services[rng.IntN(len(services))], severity: sevs[rng.IntN(len(sevs))],
				owner: owner, alerts: 1 + rng.IntN(5), pages: []seedPage{{at: created, person: owner, level: 1}}}
			if rng.IntN(3) == 0 {
				inc.pages = append(inc.pages, seedPage{at: created.Add(5 * time.Minute), person: owner, level: 1})
			}
			ack := time.Duration(1+rng.IntN(30)) * time.Minute
			if rng.IntN(100) < 15 {
				second := people[rng.IntN(len(people))]
				inc.pages = append(inc.pages, seedPage{at: created.Add(15 * time.Minute), person: second, level: 2})
				inc.owner = second
				ack += 15 * time.Minute
			}
			if rng.IntN(100) < 90 {
				inc.ackAfter = ack
			}
			if rng.IntN(100) < 97 {
				inc.resolveAfter = ack + time.Duration(5+rng.IntN(235))*time.Minute
			}
			incs = append(incs, inc)
		}
	}
	writeIncidents(tb, ctx, rdb, incs)
}

// BenchmarkReport90Days is the acceptance figure: a 90-day report, by
// week, with its comparison to the 90 days before. "incidents" is how many
// were created in the 90 days; "history" says whether the 90 days before
// hold as many (so the report reads twice that many) or none. Besides
// -benchmem's allocation totals it reports the peak live heap during a
// report (sampled every millisecond, less the heap before it) and the CPU
// time of this process and of redis-server per report. RS_WORKERS and
// RS_PAGE override Store.Workers and Store.PageSize.
func BenchmarkReport90Days(b *testing.B) {
	cases := []struct {
		incidents int
		history   bool
	}{{25_000, true}, {100_000, false}, {100_000, true}}
	for _, tc := range cases {
		incidents := tc.incidents
		name := fmt.Sprintf("incidents=%d/history=none", incidents)
		if tc.history {
			name = fmt.Sprintf("incidents=%d/history=same", incidents)
		}
		b.Run(name, func(b *testing.B) {
			srv := redistest.Start(b)
			rdb := srv.Client()
			ctx := context.Background()
			to := time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC)
			from := to.AddDate(0, 0, -90)
			wantBefore := 0
			if tc.history {
				seedPeriods(b, ctx, rdb, incidents, from.AddDate(0, 0, -90), from, to)
				wantBefore = incidents
			} else {
				seedPeriods(b, ctx, rdb, incidents, from, to)
			}
			st := redisstore.New(rdb, prefix)
			if w, _ := strconv.Atoi(os.Getenv("RS_WORKERS")); w > 0 {
				st.Workers = w
			}
			if p, _ := strconv.Atoi(os.Getenv("RS_PAGE")); p > 0 {
				st.PageSize = p
			}
			q := analytics.Query{From: from, To: to, By: analytics.ByWeek, Zone: time.UTC}

			runtime.GC()
			base := heapLive()
			var peak atomic.Uint64
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if h := heapLive(); h > peak.Load() {
							peak.Store(h)
						}
					}
				}
			}()
			cpu0, redis0 := cpuTime(), redisCPU(b, ctx, rdb)
			b.ResetTimer()
			var r analytics.Report
			for b.Loop() {
				var err error
				if r, err = analytics.Build(ctx, st, q); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "client-cpu-s/op")
			b.ReportMetric((redisCPU(b, ctx, rdb)-redis0).Seconds()/float64(b.N), "redis-cpu-s/op")
			close(stop)
			<-done
			if r.Opened != incidents || r.Previous.Opened != wantBefore {
				b.Fatalf("opened %d and %d before, want %d and %d", r.Opened, r.Previous.Opened, incidents, wantBefore)
			}
			b.ReportMetric(float64(peak.Load()-min(base, peak.Load()))/(1<<20), "peak-heap-MiB")
		})
	}
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time redis-server has used, from INFO cpu: on a
// shared machine wall time varies with the neighbours, CPU time much less.
func redisCPU(tb testing.TB, ctx context.Context, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
