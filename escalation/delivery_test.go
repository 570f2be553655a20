package escalation_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/incident"
)

// Where a replica dies around a page's send.
type crashPoint int

const (
	// After the page was recorded "sending" and before the Pager call:
	// nothing was delivered.
	crashBeforePost crashPoint = iota
	// After the Pager delivered the page and before the runner recorded
	// "sent" (or committed).
	crashAfterPost
	// After "sent" was recorded and before the commit.
	crashBeforeCommit
)

// deliveries is the chat every replica pages through: a Recorder (which can
// check its own record when checking is set) or a LogPager writing to a
// log that is counted.
type deliveries struct {
	rec      *escalationtest.Recorder
	checking *escalationtest.Checking
	log      *logBuffer
	pager    escalation.Pager
}

func newDeliveries(kind string) *deliveries {
	d := &deliveries{rec: &escalationtest.Recorder{}, log: &logBuffer{}}
	switch kind {
	case "checking":
		d.checking = &escalationtest.Checking{Recorder: d.rec}
		d.pager = d.checking
	case "recorder":
		d.pager = d.rec
	case "log":
		d.pager = &escalation.LogPager{Log: slog.New(slog.NewTextHandler(d.log, nil))}
	}
	return d
}

// firsts counts the first pages to alice delivered.
func (d *deliveries) firsts() int {
	if _, ok := d.pager.(*escalation.LogPager); ok {
		return strings.Count(d.log.String(), "msg=page incident=1 person=alice channel=\"\" reason=first")
	}
	return d.rec.Count(owner("alice", escalation.ReasonFirst))
}

// diePager is the dying replica's Pager: at its first page it dies where
// the case says (its Redis connection closed: a dead process gives nothing
// back), after delivering through the shared chat or before.
type diePager struct {
	inner escalation.Pager
	at    crashPoint
	die   func()
	once  sync.Once
}

func (p *diePager) Page(ctx context.Context, pg escalation.Page) error {
	switch p.at {
	case crashBeforePost:
		p.once.Do(p.die)
		return errors.New("killed before the post")
	case crashAfterPost:
		err := p.inner.Page(ctx, pg)
		p.once.Do(p.die)
		return err
	}
	return p.inner.Page(ctx, pg)
}

// dieStore is the dying replica's store: it dies right before the commit.
type dieStore struct {
	escalation.Store
	die func()
}

func (s dieStore) Commit(ctx context.Context, j incident.Job, c incident.Commit) (bool, error) {
	s.die()
	return s.Store.Commit(ctx, j, c)
}

// A replica dies around its first page; two others, on the same Redis,
// race for the job once its lease runs out. The page is delivered exactly
// once, and the timeline records it once. A crash after the post is
// spared a double only by a pager that can check (the chat); one before
// the commit by the record alone (the log pager too); one before the post
// must not lose the page.
func TestReplicaDiesAroundAPage(t *testing.T) {
	hour := time.Hour
	cases := []struct {
		name   string
		pager  string // "checking", "recorder", "log"
		at     crashPoint
		checks int // delivery checks the survivors made
	}{
		{"between post and record, the pager checks", "checking", crashAfterPost, 1},
		{"between record and commit, the log pager", "log", crashBeforeCommit, 0},
		{"between record and commit, the pager checks", "checking", crashBeforeCommit, 0},
		{"before the post, the pager checks", "checking", crashBeforePost, 1},
		{"before the post, the log pager", "log", crashBeforePost, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(hour, hour, 0, 0)
			d := newDeliveries(tc.pager)

			clientA := e.srv.Client()
			died := make(chan struct{})
			die := func() { _ = clientA.Close(); close(died) }
			var once sync.Once
			dieOnce := func() { once.Do(die) }
			nodeA := e.node(clientA)
			a := e.runner(p, nodeA, func(o *escalation.Options) {
				o.Lease = 300 * time.Millisecond
				o.Pager = &diePager{inner: d.pager, at: tc.at, die: dieOnce}
				if tc.at == crashBeforeCommit {
					o.Incidents = dieStore{Store: nodeA.svc, die: dieOnce}
				}
			})
			stopA := e.start(a)
			n := e.open("k")
			<-died
			stopA()

			for range 2 {
				other := e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Pager = d.pager })
				e.start(other)
			}
			e.eventually("the re-run's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			settle()
			if got := d.firsts(); got != 1 {
				t.Fatalf("first page delivered %d times, want once\nlog:\n%s", got, e.log)
			}
			if got := countEvents(e.timeline(n), incident.EventPaged); got != 1 {
				t.Fatalf("timeline records %d pages, want 1:\n%s", got, describe(e.timeline(n)))
			}
			if d.checking != nil {
				if got := len(d.checking.Checks()); got != tc.checks {
					t.Fatalf("%d delivery checks, want %d", got, tc.checks)
				}
			}
		})
	}
}

// A delivery check that fails, or a pager that cannot check, sends the
// page again: a double page is better than a lost one.
func TestUncheckablePageIsSentAgain(t *testing.T) {
	cases := []struct {
		name     string
		pager    string
		checkErr func(check int) error // the n-th check's error (1-based)
		firsts   int                   // deliveries of the first page
		checks   int
		warning  string
	}{
		{name: "the check fails for good", pager: "checking",
			checkErr: func(int) error { return escalation.Permanent(errors.New("missing_scope")) },
			firsts:   2, checks: 1, warning: "sending it again"},
		{name: "the pager cannot check", pager: "recorder", firsts: 2, warning: "sending it again"},
		{name: "the check fails for now, then finds the page", pager: "checking",
			checkErr: func(n int) error {
				if n == 1 {
					return errors.New("history: 503 Service Unavailable")
				}
				return nil
			},
			firsts: 1, checks: 2, warning: "checking again"},
		{name: "the check keeps failing: the attempt before giving up sends it", pager: "checking",
			checkErr: func(int) error { return errors.New("history: 503 Service Unavailable") },
			// MaxAttempts 4: attempts 1 and 2 hold the page, the third sends it.
			firsts: 2, checks: 3, warning: "sending it again"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, time.Hour, 0, 0)
			d := newDeliveries(tc.pager)
			if d.checking != nil && tc.checkErr != nil {
				var mu sync.Mutex
				n := 0
				d.checking.BeforeCheck = func(context.Context, escalation.Page) error {
					mu.Lock()
					defer mu.Unlock()
					n++
					return tc.checkErr(n)
				}
			}
			clientA := e.srv.Client()
			died := make(chan struct{})
			var once sync.Once
			die := func() { once.Do(func() { _ = clientA.Close(); close(died) }) }
			a := e.runner(p, e.node(clientA), func(o *escalation.Options) {
				o.Lease = 300 * time.Millisecond
				o.Pager = &diePager{inner: d.pager, at: crashAfterPost, die: die}
			})
			stopA := e.start(a)
			n := e.open("k")
			<-died
			stopA()
			e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) {
				o.Pager = d.pager
				o.MaxAttempts = 4
			}))
			e.eventually("the re-run's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			if got := d.firsts(); got != tc.firsts {
				t.Fatalf("first page delivered %d times, want %d", got, tc.firsts)
			}
			if d.checking != nil {
				if got := len(d.checking.Checks()); got != tc.checks {
					t.Fatalf("%d delivery checks, want %d", got, tc.checks)
				}
			}
			if !e.log.contains(tc.warning) {
				t.Fatalf("no %q in the log:\n%s", tc.warning, e.log)
			}
			if dead, err := e.svc.ListDead(e.ctx); err != nil || len(dead) != 0 {
				t.Fatalf("dead letters %+v (%v), want none", dead, err)
			}
		})
	}
}

// A page the chat refused (a rate limit), or that failed before the chat
// call (Unsent), is certainly not delivered: its retry sends it without
// asking the chat. One that failed otherwise (a
// timeout: maybe delivered) is checked before it is sent again.
func TestFailedPageRetryChecksOnlyWhenUnknown(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		checks int
	}{
		{"rate limited", escalation.RetryAfter(errors.New("429"), 10*time.Millisecond), 0},
		{"deferred by pacing", escalation.Defer(10 * time.Millisecond), 0},
		{"failed before the post", escalation.Unsent(errors.New("no DM channel")), 0},
		{"timed out", context.DeadlineExceeded, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := newDeliveries("checking")
			var once sync.Once
			d.rec.Before = func(ctx context.Context, p escalation.Page) error {
				var err error
				once.Do(func() { err = tc.err })
				return err
			}
			e.start(e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, func(o *escalation.Options) { o.Pager = d.pager }))
			n := e.open("k")
			e.eventually("the page's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			if got := d.firsts(); got != 1 {
				t.Fatalf("first page delivered %d times, want once", got)
			}
			if got := len(d.checking.Checks()); got != tc.checks {
				t.Fatalf("%d delivery checks, want %d", got, tc.checks)
			}
		})
	}
}

// A delivery check refused by a rate limit holds the page until the check
// can be made: it is neither sent again blind nor given up.
func TestRateLimitedCheckHoldsThePage(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"deferred by pacing", escalation.Defer(20 * time.Millisecond)},
		{"rate limited", escalation.RetryAfter(errors.New("429"), 20*time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, time.Hour, 0, 0)
			d := newDeliveries("checking")
			var once sync.Once
			d.checking.BeforeCheck = func(context.Context, escalation.Page) error {
				var err error
				once.Do(func() { err = tc.err })
				return err
			}
			clientA := e.srv.Client()
			died := make(chan struct{})
			var dieOnce sync.Once
			die := func() { dieOnce.Do(func() { _ = clientA.Close(); close(died) }) }
			stopA := e.start(e.runner(p, e.node(clientA), func(o *escalation.Options) {
				o.Lease = 300 * time.Millisecond
				o.Pager = &diePager{inner: d.pager, at: crashAfterPost, die: die}
			}))
			n := e.open("k")
			<-died
			stopA()
			e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Pager = d.pager }))
			e.eventually("the re-run's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			if got := d.firsts(); got != 1 {
				t.Fatalf("first page delivered %d times, want once", got)
			}
			if got := len(d.checking.Checks()); got != 2 {
				t.Fatalf("%d delivery checks, want 2 (one refused, one made)", got)
			}
			if dead, err := e.svc.ListDead(e.ctx); err != nil || len(dead) != 0 {
				t.Fatalf("dead letters %v, %v", dead, err)
			}
		})
	}
}

// stallStore is a replica cut off from Redis for its lease renewals whose
// first load stalls until released: its lease runs out while it is alive.
type stallStore struct {
	escalation.Store
	loaded  chan struct{} // closed when the first load has returned and stalls
	release chan struct{}
	once    sync.Once
}

func (s *stallStore) LoadEscalation(ctx context.Context, n int64) (incident.Incident, incident.EscalationState, error) {
	inc, st, err := s.Store.LoadEscalation(ctx, n)
	s.once.Do(func() { close(s.loaded); <-s.release })
	return inc, st, err
}

func (s *stallStore) RenewJob(context.Context, incident.Job, time.Time, time.Duration) (bool, error) {
	return false, errors.New("partitioned")
}

// Two replicas race for one job after a lease expiry: the first stalls
// after loading the incident (its lease renewals fail), the second takes
// the job over and pages; when the first wakes up with the decision it
// had made, it finds the page recorded sent and does not page again.
func TestReplicasRacingAfterLeaseExpiryPageOnce(t *testing.T) {
	cases := []struct {
		name  string
		pager string
	}{
		{"log pager", "log"},
		{"checking pager", "checking"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, time.Hour, 0, 0)
			d := newDeliveries(tc.pager)
			nodeA := e.node(e.srv.Client())
			stall := &stallStore{Store: nodeA.svc, loaded: make(chan struct{}), release: make(chan struct{})}
			e.start(e.runner(p, nodeA, func(o *escalation.Options) {
				o.Lease = 300 * time.Millisecond
				o.Incidents = stall
				o.Pager = d.pager
			}))
			n := e.open("k")
			<-stall.loaded
			e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Pager = d.pager }))
			e.eventually("the second replica's page", func() bool { return d.firsts() == 1 })
			e.eventually("its commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			close(stall.release)
			e.eventually("the first replica's stale run to end", func() bool {
				return e.log.contains("already delivered by an earlier run") || d.firsts() > 1
			})
			settle()
			if got := d.firsts(); got != 1 {
				t.Fatalf("first page delivered %d times, want once\nlog:\n%s", got, e.log)
			}
		})
	}
}

// A replica that takes a step over after its runner died around a page
// decides it as of when that page began: the timeline says when it was
// delivered, and the next re-page counts from then, not from the takeover
// a lease later (which left an unacknowledged incident silent for the
// interval plus the lease plus the takeover's own delay).
func TestTakeoverKeepsTheRepageSchedule(t *testing.T) {
	cases := []struct {
		name  string
		pager string
		at    crashPoint
	}{
		{"died between post and record, found by the check", "checking", crashAfterPost},
		{"died between record and commit", "recorder", crashBeforeCommit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			const repage = 10 * time.Second
			p := testPolicy(repage, time.Hour, 0, 0)
			d := newDeliveries(tc.pager)
			clientA := e.srv.Client()
			died := make(chan struct{})
			var once sync.Once
			die := func() { once.Do(func() { _ = clientA.Close(); close(died) }) }
			var posted time.Time
			nodeA := e.node(clientA)
			a := e.runner(p, nodeA, func(o *escalation.Options) {
				o.Lease = 1500 * time.Millisecond
				o.Pager = &diePager{inner: pagerFunc(func(ctx context.Context, pg escalation.Page) error {
					posted = time.Now()
					return d.pager.Page(ctx, pg)
				}), at: tc.at, die: die}
				if tc.at == crashBeforeCommit {
					o.Incidents = dieStore{Store: nodeA.svc, die: die}
				}
			})
			stopA := e.start(a)
			n := e.open("k")
			<-died
			stopA()
			e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Pager = d.pager }))
			e.eventually("the takeover's commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
			if got := d.firsts(); got != 1 {
				t.Fatalf("first page delivered %d times, want once", got)
			}
			var pagedAt time.Time
			for _, ev := range e.timeline(n) {
				if ev.Type == incident.EventPaged {
					pagedAt = ev.At
				}
			}
			// The page began (and was timed) right before it was posted; the
			// takeover came at least a lease (1.5 s) later.
			if pagedAt.After(posted) {
				t.Fatalf("timeline says paged at %v, after the post at %v: the takeover's time", pagedAt, posted)
			}
			due, err := e.srv.Client().ZScore(e.ctx, e.svc.JobsKey(), incident.PageJob(n)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := pagedAt.Add(repage).UnixMilli(); int64(due) != want {
				t.Fatalf("next re-page due at %v, want %v (the page's time + %v)", time.UnixMilli(int64(due)), time.UnixMilli(want), repage)
			}
		})
	}
}

// pagerFunc is a Pager written as a function.
type pagerFunc func(ctx context.Context, p escalation.Page) error

func (f pagerFunc) Page(ctx context.Context, p escalation.Page) error { return f(ctx, p) }
