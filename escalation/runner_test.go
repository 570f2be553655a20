package escalation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
)

const hour = time.Hour

func TestOwnerPagedAtOnceThroughWake(t *testing.T) {
	e := newEnv(t)
	// With an hour between polls, only the store's OnJobDue wake-up can
	// deliver this page before the test gives up.
	r := e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.PollInterval = hour })
	e.start(r)
	// Run logs that it started after its first poll: that poll cannot be
	// what finds the job.
	e.eventually("the runner's first poll", func() bool { return e.log.contains("escalation runner started") })
	n := e.open("k")
	pages := e.wait(1, must)
	if got := pageList(pages); got != "alice first L1" {
		t.Fatalf("pages = %q, want alice first L1", got)
	}
	if p := pages[0]; p.Incident != n || p.Title != "disk full on db-1" || p.Service != "database" || p.Severity != incident.SevCritical {
		t.Fatalf("page = %+v", p)
	}
	var inc incident.Incident
	var st incident.EscalationState
	e.eventually("the first page's commit", func() bool {
		inc, st, _ = e.svc.LoadEscalation(e.ctx, n)
		return st.Rev > 0
	})
	if inc.Owner != "alice" || inc.Level != 1 || st.Level != 1 || st.PagedAt.IsZero() || st.Rev == 0 {
		t.Fatalf("after the first page: owner %q level %d state %+v", inc.Owner, inc.Level, st)
	}
	tl := e.timeline(n)
	if countEvents(tl, incident.EventPaged) != 1 || tl[len(tl)-1].Person != "alice" || tl[len(tl)-1].Level != 1 {
		t.Fatalf("timeline:\n%s", describe(tl))
	}
	if due, inFlight := e.jobs(); due != 1 || inFlight != 0 {
		t.Fatalf("jobs after the first page: %d due, %d in flight; want the next decision queued", due, inFlight)
	}
}

func TestRepagedAtEachInterval(t *testing.T) {
	e := newEnv(t)
	const every = 60 * time.Millisecond
	e.start(e.runner(testPolicy(every, hour, 0, 0), nil, nil))
	n := e.open("k")
	pages := e.wait(4, owner("alice"))
	if got := pageList(pages[:4]); got != "alice first L1, alice repeat L1, alice repeat L1, alice repeat L1" {
		t.Fatalf("pages = %q", got)
	}
	for i := 1; i < 4; i++ {
		if !notBefore(pages[i-1].At, pages[i].At, every) {
			t.Fatalf("page %d came %v after the previous one, before repage_every %v", i, pages[i].At.Sub(pages[i-1].At), every)
		}
	}
	// The re-pages fold into one entry (count, last): the first page and a run.
	e.eventually("every page recorded", func() bool { return countPages(e.timeline(n)) >= 4 })
	if tl := e.timeline(n); countEvents(tl, incident.EventPaged) != 2 {
		t.Fatalf("re-pages of alice at level 1 are not one entry:\n%s", describe(tl))
	}
}

func TestEscalatesAfterTimeout(t *testing.T) {
	e := newEnv(t)
	const after = 150 * time.Millisecond
	e.start(e.runner(testPolicy(hour, after, 0, 0), nil, nil))
	n := e.open("k")
	pages := e.wait(1, owner("bob", escalation.ReasonEscalated))
	first := filter(pages, owner("alice", escalation.ReasonFirst))
	bob := filter(pages, owner("bob", escalation.ReasonEscalated))
	if len(first) != 1 || len(bob) != 1 {
		t.Fatalf("pages = %q", pageList(pages))
	}
	if !notBefore(first[0].At, bob[0].At, after) {
		t.Fatalf("escalated %v after the first page, before escalate_after %v", bob[0].At.Sub(first[0].At), after)
	}
	pages = e.wait(1, owner("alice", escalation.ReasonHandoff))
	if len(filter(pages, owner("carol", escalation.ReasonNotify))) != 1 {
		t.Fatalf("carol, level 2's other target, was not notified: %q", pageList(pages))
	}
	var inc incident.Incident
	e.eventually("the escalation's commit", func() bool { inc, _, _ = e.svc.Get(e.ctx, n); return inc.Owner == "bob" })
	tl := e.timeline(n)
	if inc.Owner != "bob" || inc.Level != 2 || countEvents(tl, incident.EventEscalated) != 1 {
		t.Fatalf("owner %q level %d, timeline:\n%s", inc.Owner, inc.Level, describe(tl))
	}
}

func TestLoopsRepeatTimesThenKeepsPaging(t *testing.T) {
	e := newEnv(t)
	// Re-pages are slower than escalation, so owner pages before the end of
	// the loops are escalations only.
	e.start(e.runner(testPolicy(400*time.Millisecond, 60*time.Millisecond, 1, 0), nil, nil))
	n := e.open("k")
	pages := e.wait(2, owner("bob", escalation.ReasonRepeat))
	got := pageList(filter(pages, must))
	want := "alice first L1, bob escalated L2, alice escalated L1, bob escalated L2, bob repeat L2, bob repeat L2"
	if got != want {
		t.Fatalf("owner pages =\n %q\nwant\n %q", got, want)
	}
	var st incident.EscalationState
	e.eventually("the last re-page's commit", func() bool {
		_, st, _ = e.svc.LoadEscalation(e.ctx, n)
		return st.PagedAt.UnixMilli() >= pages[len(pages)-1].At.UnixMilli()
	})
	if st.Round != 1 || st.Level != 2 {
		t.Fatalf("state after the loops = %+v, want level 2 round 1", st)
	}
}

func TestAckStopsEverything(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(testPolicy(50*time.Millisecond, 150*time.Millisecond, 3, 0), nil, nil))
	n := e.open("k")
	e.wait(2, owner("alice"))
	if _, err := e.svc.Ack(e.ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	before := len(e.rec.Pages())
	// The ack removed the page job; a run already in flight ends with a
	// refused commit. Then no job is left that could page.
	e.eventually("the page job gone", func() bool { due, inFlight := e.jobs(); return due == 0 && inFlight == 0 })
	if after := e.rec.Pages(); len(after) > before+1 {
		// One page may have been in flight when the ack landed.
		t.Fatalf("paged after the ack: %q", pageList(after[before:]))
	}
	at := len(e.rec.Pages())
	settle()
	if now := len(e.rec.Pages()); now != at {
		t.Fatalf("pages keep coming after an ack: %d -> %d", at, now)
	}
	if due, inFlight := e.jobs(); due != 0 || inFlight != 0 {
		t.Fatalf("jobs left after an ack with no ack timeout: %d due, %d in flight", due, inFlight)
	}
}

func TestAckTimeoutRetriggers(t *testing.T) {
	e := newEnv(t)
	const timeout = 150 * time.Millisecond
	e.start(e.runner(testPolicy(hour, hour, 0, timeout), nil, nil))
	n := e.open("k")
	e.wait(1, owner("alice"))
	// The store stamps the ack (and arms the timeout from it) inside Ack:
	// an instant taken before the call is a lower bound, one taken after it
	// is not (Ack reads the incident back after the script).
	acked := time.Now()
	if _, err := e.svc.Ack(e.ctx, n, "dave", ""); err != nil {
		t.Fatal(err)
	}
	pages := e.wait(1, owner("dave", escalation.ReasonRetriggered))
	p := filter(pages, owner("dave", escalation.ReasonRetriggered))[0]
	if !notBefore(acked, p.At, timeout) {
		t.Fatalf("re-triggered %v after the ack, before ack_timeout %v", p.At.Sub(acked), timeout)
	}
	e.eventually("the re-page's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) == 2 })
	inc, _, _ := e.svc.Get(e.ctx, n)
	tl := e.timeline(n)
	if inc.Status != incident.StatusTriggered || countEvents(tl, incident.EventRetriggered) != 1 {
		t.Fatalf("status %s, timeline:\n%s", inc.Status, describe(tl))
	}
	// A second ack arms the timeout again.
	if _, err := e.svc.Ack(e.ctx, n, "dave", ""); err != nil {
		t.Fatal(err)
	}
	e.wait(2, owner("dave", escalation.ReasonRetriggered))
}

func TestResolveDuringInFlightPageStopsThePlan(t *testing.T) {
	e := newEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.rec.Before = func(ctx context.Context, p escalation.Page) error {
		if p.Reason == escalation.ReasonFirst {
			once.Do(func() { close(entered) })
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	p := testPolicy(50*time.Millisecond, 100*time.Millisecond, 2, 0)
	p.Levels[0] = level(100*time.Millisecond, "user:alice", "user:carol") // a second page in the same plan
	e.start(e.runner(p, nil, nil))
	n := e.open("k")
	<-entered
	if _, err := e.svc.Resolve(e.ctx, n, "bob", "fixed"); err != nil {
		t.Fatal(err)
	}
	close(release)
	e.wait(1, owner("alice", escalation.ReasonFirst))
	// Once the job is out of flight its run is over: whatever it would have
	// paged after alice, it has.
	e.eventually("the voided plan's commit", func() bool { due, inFlight := e.jobs(); return due == 0 && inFlight == 0 })
	if got := pageList(e.rec.Pages()); got != "alice first L1" {
		t.Fatalf("pages after a resolve during the first page: %q (carol's notification and every re-page must be dropped)", got)
	}
	if due, inFlight := e.jobs(); due != 0 || inFlight != 0 {
		t.Fatalf("jobs left after resolve: %d due, %d in flight", due, inFlight)
	}
	// The page that did go out is on the record, merged by time with the
	// resolve (it began before the resolve: after it, or in the same
	// millisecond, depending on the clock); nothing the voided plan decided
	// is.
	tl := e.timeline(n)
	paged := filterEvents(tl, incident.EventPaged)
	if len(tl) != 3 || len(paged) != 1 || paged[0].Person != "alice" || countEvents(tl, incident.EventResolved) != 1 {
		t.Fatalf("timeline:\n%s", describe(tl))
	}
	for i := 1; i < len(tl); i++ {
		if tl[i].At.Before(tl[i-1].At) {
			t.Fatalf("timeline out of time order:\n%s", describe(tl))
		}
	}
	if inc, _, _ := e.svc.Get(e.ctx, n); inc.Status != incident.StatusResolved || inc.Owner != "bob" { // the resolver, as Resolve sets it
		t.Fatalf("the voided plan changed the incident: %+v", inc)
	}
}

func TestRunnerKilledMidEscalationNothingLost(t *testing.T) {
	e := newEnv(t)
	const lease = 300 * time.Millisecond
	// Runner B must run the re-page after A's lease runs out (about 380 ms
	// after the first page) and before the escalation is due, which wins
	// over a re-page: 1.2 s leaves a loaded machine room.
	p := testPolicy(80*time.Millisecond, 1200*time.Millisecond, 0, 0)

	// Runner A hangs inside its first re-page and is then killed.
	recA := &escalationtest.Recorder{}
	entered := make(chan struct{})
	var once sync.Once
	recA.Before = func(ctx context.Context, p escalation.Page) error {
		if p.Reason == escalation.ReasonRepeat {
			once.Do(func() { close(entered) })
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	// A has a Redis connection of its own, lost with it: a dead process
	// gives nothing back, unlike a runner that is stopped.
	clientA := e.srv.Client()
	a := e.runner(p, e.node(clientA), func(o *escalation.Options) { o.Pager = recA; o.Lease = lease })
	stopA := e.start(a)
	n := e.open("k")
	<-entered
	_ = clientA.Close()
	stopA()
	deadline, err := e.srv.Client().ZScore(e.ctx, "test:{inc}:inflight", incident.PageJob(n)).Result()
	if err != nil {
		t.Fatalf("the killed runner's job is not in flight: %v", err)
	}

	// Runner B, on its own connection, takes over.
	b := e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Lease = lease })
	e.start(b)
	pages := e.wait(1, owner("bob", escalation.ReasonEscalated))
	repeats := filter(pages, owner("alice", escalation.ReasonRepeat))
	if len(repeats) == 0 {
		t.Fatalf("the re-page runner A died in was never sent: %q", pageList(pages))
	}
	// When B delivered it (its At is the decision's instant: A's, as B
	// took A's step over as of when A began it).
	if got := e.rec.SentAt(repeats[0].Key)[0].UnixMilli(); got < int64(deadline) {
		t.Fatalf("re-page retried at %d, before the dead runner's lease ran out at %d", got, int64(deadline))
	}
	firstA := filter(recA.Pages(), owner("alice", escalation.ReasonFirst))
	if len(firstA) != 1 {
		t.Fatalf("runner A pages: %q", pageList(recA.Pages()))
	}
	bob := filter(pages, owner("bob", escalation.ReasonEscalated))[0]
	if !notBefore(firstA[0].At, bob.At, p.Levels[0].EscalateAfter) {
		t.Fatalf("escalated %v after the first page", bob.At.Sub(firstA[0].At))
	}
	e.eventually("the escalation's commit", func() bool { return countEvents(e.timeline(n), incident.EventEscalated) == 1 })
}

// A runner stopped while a page is in flight (a deploy) gives the job back
// due at once: the next runner pages without waiting for the lease.
func TestStoppedRunnerGivesItsJobsBack(t *testing.T) {
	e := newEnv(t)
	p := testPolicy(hour, hour, 0, 0)
	recA := &escalationtest.Recorder{}
	entered := make(chan struct{})
	var once sync.Once
	recA.Before = func(ctx context.Context, _ escalation.Page) error {
		once.Do(func() { close(entered) })
		<-ctx.Done()
		return ctx.Err()
	}
	stopA := e.start(e.runner(p, nil, func(o *escalation.Options) { o.Pager = recA; o.Lease = hour }))
	n := e.open("k")
	<-entered
	stopped := time.Now()
	stopA()
	c := e.srv.Client()
	if _, err := c.ZScore(e.ctx, "test:{inc}:inflight", incident.PageJob(n)).Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("the stopped runner's job is still in flight (%v)", err)
	}
	due, err := c.ZScore(e.ctx, "test:{inc}:jobs", incident.PageJob(n)).Result()
	if err != nil || int64(due) > time.Now().UnixMilli() {
		t.Fatalf("the job is not due again at once: due %v (stopped at %d), %v", int64(due), stopped.UnixMilli(), err)
	}
	e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Lease = hour }))
	if got := pageList(e.wait(1, must)); got != "alice first L1" {
		t.Fatalf("pages = %q", got)
	}
}

func TestClaimedJobOfDeadRunnerRetriedAfterLease(t *testing.T) {
	e := newEnv(t)
	const lease = 250 * time.Millisecond
	n := e.open("k")
	// A runner that claims and dies: nothing but the claim.
	claimed := time.Now()
	jobs, _, err := e.svc.ClaimJobs(e.ctx, claimed, lease, 10, "dead-runner:1")
	if err != nil || len(jobs) != 1 || jobs[0].Member != incident.PageJob(n) {
		t.Fatalf("claim = %+v, %v", jobs, err)
	}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.Lease = lease }))
	pages := e.wait(1, must)
	if !notBefore(claimed, pages[0].At, lease) {
		t.Fatalf("job claimed by a dead runner ran %v after the claim, before its lease of %v ran out", pages[0].At.Sub(claimed), lease)
	}
	if got := pageList(pages); got != "alice first L1" {
		t.Fatalf("pages = %q", got)
	}
}

func TestThreeRunnersFiveHundredIncidentsPagedOnce(t *testing.T) {
	e := newEnv(t)
	p := testPolicy(hour, hour, 0, 0)
	var svcs []*incident.Store
	for i := 0; i < 3; i++ {
		nd := e.node(e.srv.Client())
		svcs = append(svcs, nd.svc)
		e.start(e.runner(p, nd, func(o *escalation.Options) { o.ReplicaID = fmt.Sprintf("replica-%d", i) }))
	}
	const incidents = 500
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < incidents; i += 10 {
				// Opened through the three replicas' stores in turn.
				_, err := svcs[i%3].Open(e.ctx, incident.Alert{Source: "generic", Service: "database",
					DedupKey: fmt.Sprintf("k%d", i), Summary: "x", Severity: incident.SevWarning, Status: incident.AlertFiring})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	e.wait(incidents, must)
	// With every first page committed, each next job is due in an hour and
	// none is in flight: no further page can come.
	e.eventually("every first page committed", func() bool { due, inFlight := e.jobs(); return due == incidents && inFlight == 0 })
	per := map[int64]int{}
	for _, pg := range e.rec.Pages() {
		per[pg.Incident]++
	}
	if len(per) != incidents {
		t.Fatalf("%d incidents paged, want %d", len(per), incidents)
	}
	for n, c := range per {
		if c != 1 {
			t.Fatalf("INC-%d paged %d times, want exactly once", n, c)
		}
	}
}

func TestRedisRestartedUnderRunningEngine(t *testing.T) {
	e := newEnv(t)
	r := e.runner(testPolicy(hour, hour, 0, 0), nil, nil)
	e.start(r)
	e.open("before")
	e.wait(1, must)
	e.srv.Stop()
	e.eventually("the engine logging the outage", func() bool { return e.log.contains("redis unavailable") })
	// The outage lasts several polls before Redis comes back.
	errs := r.Counters().Snapshot().StoreErrors
	e.eventually("more failed polls", func() bool { return r.Counters().Snapshot().StoreErrors >= errs+5 })
	e.srv.Restart() // empty, as a Redis without persistence comes back
	// go-redis fails fast for up to a second after many failed dials,
	// until its background dial succeeds: an alert source retries.
	var n int64
	e.eventually("an alert accepted after the restart", func() bool {
		r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "database", DedupKey: "after",
			Summary: "disk full on db-1", Severity: incident.SevCritical, Status: incident.AlertFiring})
		n = r.Number
		return err == nil
	})
	pages := e.wait(2, must)
	if pages[1].Incident != n || pages[1].Reason != escalation.ReasonFirst {
		t.Fatalf("after the restart: %q", pageList(pages))
	}
	e.eventually("the engine logging its recovery", func() bool { return e.log.contains("redis answers again") })
}

func TestPageFailuresRetriedThenDeadLetteredAndFallbackPaged(t *testing.T) {
	e := newEnv(t)
	var attempts atomic.Int32
	e.rec.Before = func(ctx context.Context, p escalation.Page) error {
		if p.Person == "alice" {
			attempts.Add(1)
			return errors.New("alice has no chat account")
		}
		return nil
	}
	const after = 300 * time.Millisecond
	e.start(e.runner(testPolicy(hour, after, 0, 0), nil, func(o *escalation.Options) { o.MaxAttempts = 3 }))
	n := e.open("k")
	pages := e.wait(1, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFallback })
	fb := filter(pages, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFallback })[0]
	if fb.Channel != "#db-alerts" || fb.Person != "" || fb.Why == "" {
		t.Fatalf("fallback page = %+v", fb)
	}
	if got := attempts.Load(); got != 3 {
		t.Fatalf("alice's page was tried %d times, want MaxAttempts = 3", got)
	}
	var dead []incident.DeadLetter
	var err error
	e.eventually("the dead letter", func() bool { dead, err = e.svc.ListDead(e.ctx); return len(dead) > 0 || err != nil })
	if err != nil || len(dead) != 1 || dead[0].Incident != n || dead[0].Person != "alice" || dead[0].Attempts != 3 || dead[0].Error == "" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	tl := e.timeline(n)
	if countEvents(tl, incident.EventPageFailed) != 1 {
		t.Fatalf("timeline:\n%s", describe(tl))
	}
	// The schedule goes on: the next level is paged on time.
	e.wait(1, owner("bob", escalation.ReasonEscalated))
}

func TestRetryAfterHintHonoured(t *testing.T) {
	e := newEnv(t)
	const hint = 200 * time.Millisecond
	var mu sync.Mutex
	var tries []time.Time
	e.rec.Before = func(ctx context.Context, p escalation.Page) error {
		mu.Lock()
		defer mu.Unlock()
		tries = append(tries, time.Now())
		if len(tries) == 1 {
			return escalation.RetryAfter(errors.New("rate limited"), hint)
		}
		return nil
	}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, nil))
	e.open("k")
	e.wait(1, must)
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != 2 || !notBefore(tries[0], tries[1], hint) {
		t.Fatalf("retry came %v after a %v retry-after hint (%d tries)", tries[len(tries)-1].Sub(tries[0]), hint, len(tries))
	}
}

func TestPermanentErrorDeadLettersAtOnce(t *testing.T) {
	e := newEnv(t)
	var attempts atomic.Int32
	e.rec.Before = func(ctx context.Context, p escalation.Page) error {
		if p.Person == "alice" {
			attempts.Add(1)
			return escalation.Permanent(errors.New("user_not_found"))
		}
		return nil
	}
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, nil))
	e.open("k")
	e.wait(1, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFallback })
	if got := attempts.Load(); got != 1 {
		t.Fatalf("a permanent failure was tried %d times", got)
	}
}

func TestManualEscalate(t *testing.T) {
	e := newEnv(t)
	r := e.runner(testPolicy(hour, hour, 0, 0), nil, nil)
	e.start(r)
	n := e.open("k")
	e.wait(1, owner("alice"))
	// The first page is sent before its step (level 1) is committed; an ack
	// in between voids that step, and the escalation would start from level
	// 0 again. Escalate from level 1, as the test means to.
	e.eventually("the first page's commit", func() bool {
		_, st, err := e.svc.LoadEscalation(e.ctx, n)
		return err == nil && st.Level == 1
	})
	if _, err := e.svc.Ack(e.ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Escalate(e.ctx, n, "dave", ""); err != nil {
		t.Fatal(err)
	}
	e.wait(1, owner("bob", escalation.ReasonEscalated))
	var inc incident.Incident
	e.eventually("the escalation's commit", func() bool { inc, _, _ = e.svc.Get(e.ctx, n); return inc.Owner == "bob" })
	tl := e.timeline(n)
	var esc incident.Event
	for _, ev := range tl {
		if ev.Type == incident.EventEscalated {
			esc = ev
		}
	}
	if inc.Status != incident.StatusTriggered || inc.Owner != "bob" || esc.By != "dave" || esc.Level != 2 {
		t.Fatalf("status %s owner %q, timeline:\n%s", inc.Status, inc.Owner, describe(tl))
	}
	if _, err := e.svc.Resolve(e.ctx, n, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Escalate(e.ctx, n, "dave", ""); !errors.Is(err, incident.ErrAlreadyResolved) {
		t.Fatalf("escalating a resolved incident: %v", err)
	}
}

func TestAssignedOwnerKeptOnRepages(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(testPolicy(60*time.Millisecond, hour, 0, 0), nil, nil))
	n := e.open("k")
	e.wait(1, owner("alice"))
	if _, err := e.svc.Assign(e.ctx, n, "erin", "alice"); err != nil {
		t.Fatal(err)
	}
	pages := e.wait(2, owner("erin", escalation.ReasonRepeat))
	var after []escalation.Page
	for i, p := range pages {
		if p.Person == "erin" && p.Reason == escalation.ReasonAssigned {
			after = pages[i:]
			break
		}
	}
	for _, p := range after {
		if p.Person != "erin" {
			t.Fatalf("paged %s after the incident was assigned to erin: %q", p.Person, pageList(pages))
		}
	}
}

func TestNobodyOnCallPagesFallback(t *testing.T) {
	e := newEnv(t)
	notYet, err := rotations.Compile(rotations.Spec{Name: "db-primary", Timezone: "UTC", Shift: "weekly",
		Handoff: "Mon 09:00", Start: "2099-01-05", Participants: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	p := escalation.Policy{Name: "p", RepageEvery: 80 * time.Millisecond,
		Levels: []escalation.Level{level(hour, "rotation:db-primary")}}
	e.start(e.runner(p, nil, func(o *escalation.Options) {
		o.Board = &oncall.Board{Rotations: map[string]*rotations.Rotation{"db-primary": notYet},
			Overrides: func(ctx context.Context, rotation string) (*rotations.OverrideSet, error) { return nil, nil }}
	}))
	n := e.open("k")
	pages := e.wait(2, func(p escalation.Page) bool { return p.Reason == escalation.ReasonFallback })
	if pages[0].Channel != "#db-alerts" {
		t.Fatalf("fallback page = %+v", pages[0])
	}
	if !e.log.contains("level=ERROR") || !e.log.contains("nobody to page") {
		t.Fatalf("no error logged for an incident nobody can own:\n%s", e.log)
	}
	tl := e.timeline(n)
	if countEvents(tl, incident.EventNote) == 0 {
		t.Fatalf("the timeline does not say why:\n%s", describe(tl))
	}
}

func TestUnknownServicePagesFallback(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, nil))
	if _, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "billing", DedupKey: "k",
		Summary: "x", Severity: incident.SevInfo, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	pages := e.wait(1, must)
	if pages[0].Reason != escalation.ReasonFallback || pages[0].Service != "billing" {
		t.Fatalf("pages = %+v", pages)
	}
}

// A page held back by a chat failure waits out its backoff only while the
// chat fails: the next page this runner delivers (the chat answers again)
// makes it due at once, rather than up to RetryMax after the outage ended.
// A rate limit's Retry-After is still honoured.
func TestChatRecoveryExpeditesHeldPages(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		expedited bool
	}{
		{"a chat server error", errors.New("chat.postMessage: slack server error: 503 Service Unavailable"), true},
		{"a rate limit's Retry-After", escalation.RetryAfter(errors.New("ratelimited"), time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var failed atomic.Bool
			e.rec.Before = func(ctx context.Context, p escalation.Page) error {
				if p.Incident == 1 && failed.CompareAndSwap(false, true) {
					return tc.err
				}
				return nil
			}
			// A backoff of an hour: without the expedite, the held page
			// would not come again within the test.
			e.start(e.runner(testPolicy(hour, hour, 0, 0), nil, func(o *escalation.Options) { o.RetryMin, o.RetryMax = hour, hour }))
			first := e.open("held")
			e.eventually("the held page's failure recorded", func() bool {
				_, st, err := e.svc.LoadEscalation(e.ctx, first)
				return err == nil && st.Failures == 1
			})
			second := e.open("goes through")
			e.wait(1, func(p escalation.Page) bool { return p.Incident == second })
			if !tc.expedited {
				// Its commit done, the second page's expedite has run.
				e.eventually("the second page's commit", func() bool {
					return countEvents(e.timeline(second), incident.EventPaged) > 0
				})
				due, err := e.srv.Client().ZScore(e.ctx, e.svc.JobsKey(), incident.PageJob(first)).Result()
				if err != nil || time.UnixMilli(int64(due)).Before(time.Now().Add(time.Minute)) {
					t.Fatalf("the rate-limited page is due at %v (%v), want its Retry-After (an hour, clamped) still ahead", time.UnixMilli(int64(due)), err)
				}
				return
			}
			e.wait(1, func(p escalation.Page) bool { return p.Incident == first })
		})
	}
}

// filterEvents returns tl's events of type typ.
func filterEvents(tl []incident.Event, typ incident.EventType) []incident.Event {
	var out []incident.Event
	for _, ev := range tl {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// The owner's page tells the Pager how long after it the owner is paged
// again if nothing changes (Page.Again: its re-page interval), so a
// gathering Pager can expect it; zero when the next run escalates first.
// (Before, a Pager could not know when a page would be due again.)
func TestPageTellsWhenDueAgain(t *testing.T) {
	cases := []struct {
		name           string
		repage, escape time.Duration
		want           time.Duration
	}{
		{"re-paged before escalating", 10 * time.Second, time.Hour, 10 * time.Second},
		{"escalates before the re-page", time.Hour, 10 * time.Second, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.start(e.runner(testPolicy(tc.repage, tc.escape, 0, 0), nil, nil))
			e.open("k")
			pages := e.wait(1, owner("alice", escalation.ReasonFirst))
			if got := pages[0].Again; got != tc.want {
				t.Fatalf("alice's first page due again after %v, want %v", got, tc.want)
			}
		})
	}
}

// A page refused by a rate limit (a 429) is delayed, never dropped, and
// logged at debug (the Pager logs a refused message once, however many
// pages it named); a page left unsent because its incident is no longer
// triggered is not a failure: not retried, no WARN or ERROR. In the storm
// of issue 14 a 429 on a bundle of 27 "moved on" notices dropped them all
// (`notification not delivered (not retried)`), and resolving incidents
// made 159 `page failed; retrying` WARNs and `page given up` ERRORs.
func TestRefusedPagesDelayedNotDropped(t *testing.T) {
	limited := escalation.RetryAfter(errors.New("rate limit"), 30*time.Millisecond)
	cases := []struct {
		name   string
		page   func(escalation.Page) bool // the page refused, once
		refuse func(e *env, p escalation.Page) error
		want   string // a page recorded afterwards
		quiet  string // a debug line the runner logs instead of a WARN
	}{
		{name: "a moved-on notice refused by a 429 is sent after its Retry-After",
			page:   owner("alice", escalation.ReasonHandoff),
			refuse: func(*env, escalation.Page) error { return fmt.Errorf("bundle of 27 pages: %w", limited) },
			want:   "alice handoff L2", quiet: "page deferred by rate-limit pacing"},
		{name: "a first page refused by a 429 is retried without a WARN",
			page:   owner("alice", escalation.ReasonFirst),
			refuse: func(*env, escalation.Page) error { return fmt.Errorf("bundle of 27 pages: %w", limited) },
			want:   "alice first L1", quiet: "page failed; retrying"},
		{name: "a page of an incident acknowledged meanwhile is not retried",
			page: owner("alice", escalation.ReasonFirst),
			refuse: func(e *env, p escalation.Page) error {
				if _, err := e.svc.Ack(e.ctx, p.Incident, "bob", ""); err != nil {
					return err
				}
				return escalation.Unsent(fmt.Errorf("page %s: %w", p.Key, escalation.ErrNotTriggered))
			},
			quiet: "page not sent: the incident is no longer triggered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var refused atomic.Int32
			e.rec.Before = func(ctx context.Context, p escalation.Page) error {
				if tc.page(p) && refused.Add(1) == 1 {
					return tc.refuse(e, p)
				}
				return nil
			}
			e.start(e.runner(testPolicy(hour, 100*time.Millisecond, 0, 0), nil, nil))
			e.open("k")
			if tc.want != "" {
				pages := e.wait(1, tc.page)
				if got := pageList(filter(pages, tc.page)); got != tc.want {
					t.Fatalf("pages %q, want %q", got, tc.want)
				}
			}
			e.eventually("the runner's note of the refusal", func() bool { return e.log.contains(tc.quiet) })
			for _, line := range strings.Split(e.log.String(), "\n") {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
					t.Errorf("logged %s", line)
				}
			}
			if got := refused.Load(); tc.want == "" && got != 1 {
				t.Errorf("the page was tried %d times, want once", got)
			}
		})
	}
}
