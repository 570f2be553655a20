package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// BenchmarkListOpen lists the first page of 20,000 open incidents (the
// soak's size) at limits 1 and 100: GET /v1/incidents?limit=N without its
// HTTP. See BENCHMARKS.md.
func BenchmarkListOpen(b *testing.B) {
	const open = 20_000
	srv := redistest.Start(b)
	s := incident.NewStore(srv.Client(), "bench:")
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < open; i += 8 {
				if _, err := s.Open(ctx, incident.Alert{Source: "generic", Service: "database", Summary: "disk full on db-1",
					Severity: incident.SevCritical, Status: incident.AlertFiring, DedupKey: fmt.Sprint("k", i),
					ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, limit := range []int{1, 100} {
		b.Run(fmt.Sprint("limit=", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list, err := s.List(ctx, incident.FilterOpen, limit)
				if err != nil || len(list) != limit {
					b.Fatalf("%d incidents, %v", len(list), err)
				}
			}
		})
	}
}
