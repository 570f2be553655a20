package escalation_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/incident"
)

// Thousands of overdue re-pages wait in the queue when a new incident opens
// and another one's escalation falls due: the very next claim takes those
// two, not the oldest re-pages.
func TestFirstPageAndEscalationClaimedBeforeOverdueRepages(t *testing.T) {
	e := newEnv(t)
	const backlog = 2000
	t0 := time.Now().Truncate(time.Second)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e.svc.Now = now

	// "bulk": one level, re-paged every 10 s, never escalates. "database":
	// alice, escalating to bob after 30 s.
	bulk := escalation.Policy{Name: "bulk", RepageEvery: 10 * time.Second, Levels: []escalation.Level{level(time.Hour, "user:carol")}}
	esc := testPolicy(10*time.Second, 30*time.Second, 0, 0)
	pols, err := escalation.Lookup([]escalation.Service{
		{Name: "bulk", Policy: "bulk", AlertsChannel: "#bulk"},
		{Name: "database", Policy: esc.Name, AlertsChannel: "#db"},
	}, []escalation.Policy{bulk, esc})
	if err != nil {
		t.Fatal(err)
	}
	r, err := escalation.NewRunner(escalation.Options{Incidents: e.svc, Wakeup: e.wake, Pager: e.rec, Policies: pols,
		PollInterval: 10 * time.Millisecond, Now: now, Log: slog.New(slog.NewTextHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < backlog; i += 8 {
				if _, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "bulk", DedupKey: fmt.Sprint("b", i),
					Summary: "x", Severity: incident.SevWarning, Status: incident.AlertFiring}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	escalating := e.open("escalating")
	// Every first page goes out and is committed at t0: the re-pages are
	// due at t0+10s, the escalation at t0+30s.
	stop := e.start(r)
	e.wait(backlog+1, must)
	e.eventually("every first page committed", func() bool { due, inFlight := e.jobs(); return due == backlog+1 && inFlight == 0 })
	stop()

	clock.Store(t0.Add(40 * time.Second).UnixNano())
	fresh := e.open("fresh")
	jobs, _, err := e.svc.ClaimJobs(e.ctx, now(), time.Minute, 2, "t:1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, j := range jobs {
		got[j.Member] = true
	}
	if len(jobs) != 2 || !got[incident.PageJob(fresh)] || !got[incident.PageJob(escalating)] {
		t.Fatalf("claimed %v behind %d overdue re-pages; want the new incident's first page %s and the due escalation %s",
			jobs, backlog, incident.PageJob(fresh), incident.PageJob(escalating))
	}
}

// The same through the runner: with one worker and the backlog overdue,
// the first pages out are the new incident's and the escalation.
func TestRunnerPagesFirstPageAndEscalationBeforeBacklog(t *testing.T) {
	e := newEnv(t)
	const backlog = 500
	t0 := time.Now().Truncate(time.Second)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e.svc.Now = now
	bulk := escalation.Policy{Name: "bulk", RepageEvery: 10 * time.Second, Levels: []escalation.Level{level(time.Hour, "user:carol")}}
	esc := testPolicy(10*time.Second, 30*time.Second, 0, 0)
	pols, err := escalation.Lookup([]escalation.Service{
		{Name: "bulk", Policy: "bulk", AlertsChannel: "#bulk"},
		{Name: "database", Policy: esc.Name, AlertsChannel: "#db"},
	}, []escalation.Policy{bulk, esc})
	if err != nil {
		t.Fatal(err)
	}
	build := func(rec escalation.Pager, workers int) *escalation.Runner {
		r, err := escalation.NewRunner(escalation.Options{Incidents: e.svc, Wakeup: e.wake, Pager: rec, Policies: pols,
			Workers: workers, PollInterval: 10 * time.Millisecond, Now: now, Log: slog.New(slog.NewTextHandler(e.log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range backlog {
		if _, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "bulk", DedupKey: fmt.Sprint("b", i),
			Summary: "x", Severity: incident.SevWarning, Status: incident.AlertFiring}); err != nil {
			t.Fatal(err)
		}
	}
	escalating := e.open("escalating")
	stop := e.start(build(e.rec, 8))
	e.wait(backlog+1, must)
	e.eventually("every first page committed", func() bool { due, inFlight := e.jobs(); return due == backlog+1 && inFlight == 0 })
	stop()

	clock.Store(t0.Add(40 * time.Second).UnixNano())
	fresh := e.open("fresh")
	rec := &escalationtest.Recorder{}
	e.start(build(rec, 1))
	ctx, cancel := context.WithTimeout(e.ctx, 15*time.Second)
	defer cancel()
	// The owners' pages (an escalation also notifies and hands off).
	ownerPage := func(p escalation.Page) bool {
		return p.Reason == escalation.ReasonFirst || p.Reason == escalation.ReasonEscalated || p.Reason == escalation.ReasonRepeat
	}
	pages, err := rec.WaitMatch(ctx, 2, ownerPage)
	if err != nil {
		t.Fatal(err)
	}
	pages = filter(pages, ownerPage)
	first := map[int64]escalation.Reason{pages[0].Incident: pages[0].Reason, pages[1].Incident: pages[1].Reason}
	if first[fresh] != escalation.ReasonFirst || first[escalating] != escalation.ReasonEscalated {
		t.Fatalf("first pages out: %q (INC-%d, INC-%d); want INC-%d's first page and INC-%d's escalation",
			pageList(pages[:2]), pages[0].Incident, pages[1].Incident, fresh, escalating)
	}
}
