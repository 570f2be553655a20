package incident_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// BenchmarkOpen measures the store's Open path against a real redis-server:
// unique alerts (a new incident each) and duplicates (one incident, count++).
// Run with -cpu to vary the number of concurrent callers.
//
// Each case runs batched (the default) and unbatched, so one run gives the
// ratio between them; "duplicate/uncoalesced" is batched without merging a
// batch's duplicates into one script call (Store.Uncoalesced), as before; "unique/batched/epoch" is the default with the epoch
// marker required and a number floor (WithEpoch, WithNumberFloor, as serve
// runs it), beside the same without. "grouped" is unique alerts of a
// service that groups them (WithGrouping by details.host, one host): each
// joins the first incident.
func BenchmarkOpen(b *testing.B) {
	for _, c := range []struct {
		mode        string
		unbatched   bool
		epoch       bool
		uncoalesced bool
	}{{"unique", false, false, false}, {"unique", false, true, false}, {"unique", true, false, false}, {"duplicate", false, false, false},
		{"duplicate", false, false, true}, {"duplicate", true, false, false}, {"grouped", false, false, false}} {
		mode := c.mode
		name := mode + "/batched"
		if c.unbatched {
			name = mode + "/unbatched"
		}
		if c.uncoalesced {
			name = mode + "/uncoalesced"
		}
		if c.epoch {
			name += "/epoch"
		}
		b.Run(name, func(b *testing.B) {
			srv := redistest.Start(b)
			var opts []incident.StoreOption
			if c.epoch {
				opts = append(opts, incident.WithEpoch(func() string { return "E1" }),
					incident.WithNumberFloor(func() int64 { return 1 }))
			}
			if mode == "grouped" {
				opts = append(opts, incident.WithGrouping(func(string) incident.Grouping {
					return incident.Grouping{Window: 24 * time.Hour, By: []string{"details.host"}}
				}))
			}
			s := incident.NewStore(srv.Client(), "bench:", opts...)
			if c.epoch {
				srv.Client().Set(context.Background(), s.EpochKey(), "E1", 0)
			}
			s.Unbatched = c.unbatched
			s.Uncoalesced = c.uncoalesced
			defer s.Close()
			ctx := context.Background()
			var seq atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				a := incident.Alert{Source: "generic", Service: "database", Summary: "disk full on db-1",
					Severity: incident.SevCritical, Status: incident.AlertFiring, DedupKey: "same",
					Details: map[string]any{"host": "db-1"}}
				for pb.Next() {
					if mode != "duplicate" {
						a.DedupKey = "k" + strconv.FormatInt(seq.Add(1), 10)
					}
					if _, err := s.Open(ctx, a); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestMemoryPerOpenIncident records what one open incident costs in Redis,
// counting its hash, its timeline, and its share of the indexes, jobs and
// stream. The budget is 2 KiB; the figure goes to BENCHMARKS.md.
func TestMemoryPerOpenIncident(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := redistest.Ctx(t)
	s := incident.NewStore(c, "baton:")
	const n = 2000
	before, _ := c.InfoMap(ctx, "memory").Result()
	for i := 0; i < n; i++ {
		_, err := s.Open(ctx, incident.Alert{
			Source: "sumologic", Service: "database", DedupKey: "sumologic:monitor:0000000000A1B2C" + strconv.Itoa(i),
			Summary:  "High error rate on checkout-api: 5xx > 5% for 5 minutes",
			Severity: incident.SevCritical, Status: incident.AlertFiring,
			Details: map[string]any{"description": "Error rate above threshold", "trigger_value": "7.3", "query": "_sourceCategory=prod/checkout status>=500 | count by _timeslice"},
			Links:   []incident.Link{{Text: "query", URL: "https://service.sumologic.com/ui/#/search/@1732460000000,1732460300000@_sourceCategory%3Dprod"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	after, _ := c.InfoMap(ctx, "memory").Result()
	used := func(m map[string]map[string]string) float64 {
		v, _ := strconv.ParseFloat(m["Memory"]["used_memory"], 64)
		return v
	}
	per := (used(after) - used(before)) / n
	hash, _ := c.MemoryUsage(ctx, "baton:{inc}:i:1").Result()
	tl, _ := c.MemoryUsage(ctx, "baton:{inc}:i:1:t").Result()
	t.Logf("per open incident: %.0f bytes (used_memory delta over %d); MEMORY USAGE hash %d + timeline %d", per, n, hash, tl)
	if per > 2048 {
		t.Fatalf("an open incident costs %.0f bytes of Redis memory, over the 2 KiB budget", per)
	}
}

// BenchmarkOpenReplicaWait measures what waiting for one replica
// (WithReplicaWait(1, …)) costs Open on a Sentinel group on loopback (a
// master, its replica, three Sentinels; the client through the Sentinels as
// baton's): one caller at a time (ns/op is an alert's latency) and 16 at
// once (batched: one WAIT per pipeline). Each pair runs back to back on the
// same group, so wait1/wait0 is the ratio to report.
func BenchmarkOpenReplicaWait(b *testing.B) {
	g := redistest.StartSentinel(b)
	rdb := g.Client()
	var seq atomic.Int64
	for _, par := range []int{1, 16} {
		for _, wait := range []int{0, 1} {
			b.Run(fmt.Sprintf("callers%d/wait%d", par, wait), func(b *testing.B) {
				s := incident.NewStore(rdb, "bench:", incident.WithReplicaWait(wait, 500*time.Millisecond))
				defer s.Close()
				ctx := context.Background()
				b.SetParallelism(par)
				open := func() error {
					a := incident.Alert{Source: "generic", Service: "database", Summary: "disk full on db-1",
						Severity: incident.SevCritical, Status: incident.AlertFiring, DedupKey: "k" + strconv.FormatInt(seq.Add(1), 10)}
					_, err := s.Open(ctx, a)
					return err
				}
				if err := open(); err != nil { // the script cached, the connection made
					b.Fatal(err)
				}
				b.ResetTimer()
				if par == 1 {
					for b.Loop() {
						if err := open(); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := open(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
