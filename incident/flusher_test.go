package incident

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
)

// TestBatcherOnePipelineInFlight: the Open calls that arrive while a
// pipeline is out wait for it and then go together as the next one
// (batchFlushers), so duplicates held up behind a slow Redis cost two
// script calls, not one per flusher, and every caller still gets its own
// count.
func TestBatcherOnePipelineInFlight(t *testing.T) {
	rs := redistest.Start(t)
	c := rs.Client()
	s := NewStore(c, "p:")
	ctx := context.Background()
	a := Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "x", Severity: SevWarning, Status: AlertFiring, ReceivedAt: t0c}
	// Open the incident and load both scripts (a merged call, then one alone).
	execBatch(t, s, []step{{a: a}, {a: a}})
	if _, err := s.Open(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Writes wait until CLIENT UNPAUSE; INFO and UNPAUSE still run.
	if err := c.Do(ctx, "CLIENT", "PAUSE", 60000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	unpaused := false
	unpause := func() {
		if !unpaused {
			unpaused = true
			if err := c.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
				t.Error(err)
			}
		}
	}
	defer unpause()
	const n = 20
	type res struct {
		r   OpenResult
		err error
	}
	out := make(chan res, n+1)
	open := func() {
		r, err := s.Open(ctx, a)
		out <- res{r, err}
	}
	go open()
	waitFor(t, "the first call held by Redis", func() bool {
		info, _ := c.Info(ctx, "clients").Result()
		return strings.Contains(info, "blocked_clients:1\r")
	})
	for range n {
		go open()
	}
	waitFor(t, "every caller inside the batcher", func() bool {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "incident.(*batcher).run(") == n+1
	})
	unpause()
	counts := map[int64]bool{}
	for range n + 1 {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		counts[r.r.AlertCount] = true
	}
	if len(counts) != n+1 {
		t.Errorf("alert counts %v: want %d distinct", counts, n+1)
	}
	for i := int64(4); i <= n+4; i++ {
		if !counts[i] {
			t.Errorf("no caller was answered alert_count %d", i)
		}
	}
	if got := scriptCalls(t, c); got != 2 {
		info, _ := c.Info(ctx, "commandstats").Result()
		t.Errorf("%d script calls: want 2 (the held one, then the %d that waited for it as one)\n%s", got, n, info)
	}
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not a synchronisation
	}
}

// TestBatcherCloseAnswersWaitingCalls: calls handed to the batcher and
// still in its buffer when it closes are answered errClosed, not left
// waiting for ever; so is a call made after close.
func TestBatcherCloseAnswersWaitingCalls(t *testing.T) {
	// No flusher: the calls stay in the buffer, as when Redis holds the
	// flusher up at close.
	b := &batcher{calls: make(chan *scriptCall, callBuffer), stop: make(chan struct{})}
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := b.run(context.Background(), nil, nil)
			errs <- err
		}()
	}
	waitFor(t, "every call in the buffer", func() bool { return len(b.calls) == n })
	b.close()
	for range n {
		if err := <-errs; !errors.Is(err, errClosed) {
			t.Fatalf("a waiting call was answered %v, want errClosed", err)
		}
	}
	if _, err := b.run(context.Background(), nil, nil); !errors.Is(err, errClosed) {
		t.Fatalf("a call after close was answered %v, want errClosed", err)
	}
	b.close() // a second close is harmless
}
