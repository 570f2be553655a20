package escalation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// claimPageHook is an incident store whose ClaimPage (the hand-off's claim)
// runs before first and tells after what it answered.
type claimPageHook struct {
	*incident.Store
	before func(n int64)
	after  func(ok bool, err error)
}

func (h claimPageHook) ClaimPage(ctx context.Context, n int64, now time.Time, lease time.Duration, token string) (incident.Job, incident.Incident, incident.EscalationState, bool, error) {
	if h.before != nil {
		h.before(n)
	}
	j, inc, st, ok, err := h.Store.ClaimPage(ctx, n, now, lease, token)
	if h.after != nil {
		h.after(ok, err)
	}
	return j, inc, st, ok, err
}

// started waits until r's Run has begun handing off (it logs that it started
// once the hand-off is on).
func (e *env) started() {
	e.t.Helper()
	e.eventually("the runner to start", func() bool { return e.log.contains("escalation runner started") })
}

// Issue 15 item 2: the page job of an incident opened in this process goes
// from the Open straight to this process's runner (one round trip claims it
// and reads the incident), not through a wake-up of the claim loop; every
// first page is still sent exactly once when another replica claims the job
// first or polls alongside. The runners poll once an hour, so only the
// hand-off or a wake-up can claim a job at once.
func TestOpenHandsTheFirstPageToTheRunner(t *testing.T) {
	hour := func(o *escalation.Options) { o.PollInterval = time.Hour }
	t.Run("one process: its runner claims the new incident's job from the Open", func(t *testing.T) {
		e := newEnv(t)
		r := e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, hour)
		e.start(r)
		e.started()
		n := e.open("k")
		pages := e.wait(1, owner("alice", escalation.ReasonFirst))
		if pages[0].Incident != n {
			t.Fatalf("paged about INC-%d, want INC-%d", pages[0].Incident, n)
		}
		e.eventually("the first page committed", func() bool { return countEvents(e.timeline(n), incident.EventPaged) == 1 })
		if got := r.Counters().Snapshot().HandedOff; got != 1 {
			t.Fatalf("%d page jobs handed off, want 1 (the Open's)", got)
		}
		if due, inFlight := e.jobs(); due != 1 || inFlight != 0 {
			t.Fatalf("jobs: %d due, %d in flight; want the re-page due and nothing held", due, inFlight)
		}
	})
	t.Run("another replica claimed the job first: the hand-off does nothing", func(t *testing.T) {
		e := newEnv(t)
		other := e.node(e.srv.Client())
		answered := make(chan bool, 1)
		store := claimPageHook{Store: e.svc,
			before: func(int64) {
				// The other replica's claim loop gets there first.
				jobs, _, err := other.svc.ClaimJobs(e.ctx, time.Now(), time.Minute, 10, "other:1")
				if err != nil || len(jobs) != 1 {
					t.Errorf("the other replica claimed %v, %v; want the page job", jobs, err)
				}
			},
			after: func(ok bool, err error) {
				if err != nil {
					t.Error(err)
				}
				answered <- ok
			}}
		r := e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, func(o *escalation.Options) { hour(o); o.Incidents = store })
		e.start(r)
		e.started()
		e.open("k")
		select {
		case ok := <-answered:
			if ok {
				t.Fatal("the hand-off claimed a job another replica holds")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no hand-off")
		}
		if got := r.Counters().Snapshot().HandedOff; got != 0 {
			t.Fatalf("%d page jobs handed off, want 0", got)
		}
		if due, inFlight := e.jobs(); due != 0 || inFlight != 1 {
			t.Fatalf("jobs: %d due, %d in flight; want the page job held by the other replica alone", due, inFlight)
		}
		if ps := e.rec.Pages(); len(ps) != 0 {
			t.Fatalf("paged %s; the job is the other replica's", pageList(ps))
		}
	})
	t.Run("a second replica polling alongside: each first page once", func(t *testing.T) {
		e := newEnv(t)
		p := testPolicy(time.Hour, time.Hour, 0, 0)
		r := e.runner(p, nil, hour)
		other := e.node(e.srv.Client())
		r2 := e.runner(p, other, func(o *escalation.Options) { o.PollInterval = time.Millisecond })
		e.start(r)
		e.start(r2)
		e.started()
		const incidents = 40
		for i := range incidents {
			e.open("k" + strings.Repeat("x", i))
		}
		e.wait(incidents, owner("alice", escalation.ReasonFirst))
		e.eventually("every first page committed", func() bool {
			due, inFlight := e.jobs()
			return due == incidents && inFlight == 0
		})
		per := map[int64]int{}
		for _, pg := range e.rec.Pages() {
			per[pg.Incident]++
		}
		if len(per) != incidents {
			t.Fatalf("%d incidents paged, want %d", len(per), incidents)
		}
		for n, c := range per {
			if c != 1 {
				t.Fatalf("INC-%d paged %d times, want once", n, c)
			}
		}
		t.Logf("handed off %d of %d; the polling replica ran the rest", r.Counters().Snapshot().HandedOff, incidents)
	})
}
