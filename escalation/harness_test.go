package escalation_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// env is one test's Redis, incident store and recording pager.
type env struct {
	t    testing.TB
	srv  *redistest.Server
	svc  *incident.Store
	wake *escalation.Wakeup // the store's OnJobDue, read by the runner built on it
	rec  *escalationtest.Recorder
	ctx  context.Context
	log  *logBuffer
	pols atomic.Pointer[escalation.Policies] // the policies of the runner built last
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := redistest.Start(t)
	e := &env{t: t, srv: srv, rec: &escalationtest.Recorder{}, ctx: redistest.Ctx(t), log: &logBuffer{}}
	own := e.node(srv.Client())
	e.svc, e.wake = own.svc, own.wake
	return e
}

// node is what one baton process builds before its runner, as main does:
// a wake-up signal and an incident store that raises it (a new incident's
// page job handed to the runner: Wakeup.Opened) and knows the policies'
// ack timeouts.
type node struct {
	svc  *incident.Store
	wake *escalation.Wakeup
}

// node builds a process's store on c. Its ack timeouts are those of the
// policy of the runner built last (e.runner), as a process's store and
// runner share one configuration.
func (e *env) node(c redis.UniversalClient) *node {
	w := escalation.NewWakeup()
	svc := incident.NewStore(c, "test:",
		incident.WithAckTimeout(func(service string) time.Duration {
			if p := e.pols.Load(); p != nil {
				return p.AckTimeout(service)
			}
			return 0
		}),
		incident.WithOnJobDue(w.Notify), incident.WithOnCreated(w.Opened))
	return &node{svc: svc, wake: w}
}

// testPolicy: level 1 alice; level 2 bob, carol notified.
func testPolicy(repage, escalate time.Duration, repeat int, ackTimeout time.Duration) escalation.Policy {
	return escalation.Policy{Name: "p", RepageEvery: repage, Repeat: repeat, AckTimeout: ackTimeout,
		Levels: []escalation.Level{level(escalate, "user:alice"), level(escalate, "user:bob", "user:carol")}}
}

// runner builds a runner for the "database" service on e's store (or on
// nd's, when given), wired as main wires it: it reads the Wakeup its
// store raises.
func (e *env) runner(p escalation.Policy, nd *node, mod func(*escalation.Options)) *escalation.Runner {
	e.t.Helper()
	if nd == nil {
		nd = &node{svc: e.svc, wake: e.wake}
	}
	pols, err := escalation.Lookup([]escalation.Service{{Name: "database", Policy: p.Name, AlertsChannel: "#db-alerts"}},
		[]escalation.Policy{p})
	if err != nil {
		e.t.Fatal(err)
	}
	o := escalation.Options{
		Incidents: nd.svc, Wakeup: nd.wake, Pager: e.rec, Policies: pols,
		PollInterval: 10 * time.Millisecond, Lease: 2 * time.Second,
		RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&o)
	}
	r, err := escalation.NewRunner(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.pols.Store(&pols)
	return r
}

// start runs r until the returned stop is called (or the test ends). stop
// cancels the runner's context and waits for Run to return: a graceful
// stop, which gives jobs in flight back. To act out a process that dies,
// close the runner's Redis client first.
func (e *env) start(r *escalation.Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) open(key string) int64 {
	e.t.Helper()
	r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "database", DedupKey: key,
		Summary: "disk full on db-1", Severity: incident.SevCritical, Status: incident.AlertFiring})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Number
}

// wait waits up to 15 s (a bound for a hung test, not a speed assertion)
// until n delivered pages match.
func (e *env) wait(n int, match func(escalation.Page) bool) []escalation.Page {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 15*time.Second)
	defer cancel()
	pages, err := e.rec.WaitMatch(ctx, n, match)
	if err != nil {
		e.t.Fatalf("%v; pages: %s\nlog:\n%s", err, pageList(pages), e.log)
	}
	return pages
}

func (e *env) timeline(n int64) []incident.Event {
	e.t.Helper()
	_, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return tl
}

func (e *env) jobs() (due, inFlight int64) {
	e.t.Helper()
	d, f, err := e.svc.JobCounts(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return d, f
}

func owner(person string, reasons ...escalation.Reason) func(escalation.Page) bool {
	return func(p escalation.Page) bool {
		if p.Person != person {
			return false
		}
		for _, r := range reasons {
			if p.Reason == r {
				return true
			}
		}
		return len(reasons) == 0
	}
}

func must(p escalation.Page) bool { return p.Reason.MustDeliver() }

func filter(ps []escalation.Page, match func(escalation.Page) bool) []escalation.Page {
	var out []escalation.Page
	for _, p := range ps {
		if match(p) {
			out = append(out, p)
		}
	}
	return out
}

func countEvents(tl []incident.Event, typ incident.EventType) int {
	n := 0
	for _, e := range tl {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// countPages counts the pages tl records: a run of re-pages folded into
// one entry counts as its Count.
func countPages(tl []incident.Event) int64 {
	var n int64
	for _, e := range tl {
		if e.Type == incident.EventPaged {
			n += max(e.Count, 1)
		}
	}
	return n
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }

// settle gives the engine time in which it must do nothing more: it is
// not synchronisation (tests wait for conditions with eventually and wait)
// but the one window in which an absence is asserted. It spans many poll
// intervals.
func settle() { time.Sleep(250 * time.Millisecond) }

func describe(tl []incident.Event) string {
	var b strings.Builder
	for _, e := range tl {
		fmt.Fprintf(&b, "  %s person=%s level=%d by=%s note=%q\n", e.Type, e.Person, e.Level, e.By, e.Note)
	}
	return b.String()
}

// eventually polls cond until it holds (15 s bound for a hung test): a page
// is delivered before the commit that records it, so state is read this way.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("gave up waiting for %s\nlog:\n%s", what, e.log)
		}
		<-tick.C
	}
}

// notBefore reports whether b came at least d after a. Due times are stored
// in whole milliseconds, so a job may run up to 1 ms before a + d measured
// from a's sub-millisecond instant.
func notBefore(a, b time.Time, d time.Duration) bool { return b.Sub(a) >= d-time.Millisecond }
