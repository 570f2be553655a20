package escalation_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// hb is a heartbeat of the "database" service with timings in tens of
// milliseconds.
var hb = incident.Heartbeat{Name: "cron", Service: "database", Interval: 200 * time.Millisecond, Grace: 100 * time.Millisecond}

func withHeartbeat(o *escalation.Options) {
	o.Heartbeats = func(name string) (incident.Heartbeat, bool) { return hb, name == hb.Name }
}

// heartbeatIncident returns the open incident of hb (0 when none).
func (e *env) heartbeatIncident() incident.Incident {
	e.t.Helper()
	list, err := e.svc.List(e.ctx, incident.FilterOpen, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, inc := range list {
		if inc.DedupKey == incident.HeartbeatDedupKey(hb.Name) {
			return inc
		}
	}
	return incident.Incident{}
}

// The deadline is a due job in Redis: a runner stopped after a beat and
// another started before the deadline (or only after it) open the incident
// as the first would have; it pages the owner like any alert, and the next
// beat resolves it.
func TestHeartbeatDeadlineSurvivesRestarts(t *testing.T) {
	cases := []struct {
		name string
		// restartAt is when, after the beat, the second runner starts.
		restartAt time.Duration
		// late bounds how long after the deadline the incident may open.
		late time.Duration
	}{
		{"restarted before the deadline", 50 * time.Millisecond, 500 * time.Millisecond},
		{"no runner at the deadline: the next one opens it when it starts", hb.Window() + 200*time.Millisecond, hb.Window() + time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, time.Hour, 0, 0)
			stop := e.start(e.runner(p, nil, withHeartbeat))
			b, err := e.svc.Beat(e.ctx, hb, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			beatAt := *b.Status.LastBeat
			stop()
			// A second process: its own client, store and wake-up.
			nd := e.node(e.srv.Client())
			// The restart happens at restartAt after the beat: the scenario's
			// timing, not a wait for a result.
			time.Sleep(time.Until(beatAt.Add(tc.restartAt)))
			if inc := e.heartbeatIncident(); inc.Number != 0 {
				t.Fatalf("INC-%d opened with no runner", inc.Number)
			}
			e.start(e.runner(p, nd, withHeartbeat))
			pages := e.wait(1, owner("alice", escalation.ReasonFirst))
			inc := e.heartbeatIncident()
			deadline := beatAt.Add(hb.Window())
			if inc.Number != pages[0].Incident || inc.Created.Before(deadline) || inc.Created.Sub(deadline) > tc.late {
				t.Fatalf("incident %+v opened %s after the deadline (beat %s), want within %s; page %+v",
					inc, inc.Created.Sub(deadline), beatAt, tc.late, pages[0])
			}
			if _, err := e.svc.Beat(e.ctx, hb, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := e.svc.Get(e.ctx, inc.Number); got.Status != incident.StatusResolved {
				t.Fatalf("INC-%d is %s after the beat", inc.Number, got.Status)
			}
		})
	}
}

// Beats in time never open an incident; the runner keeps the deadline
// moving, and stopping the beats opens one a window after the last.
func TestHeartbeatBeatsInTimeOpenNothing(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, withHeartbeat))
	tick := time.NewTicker(hb.Interval / 2)
	defer tick.Stop()
	var last time.Time
	for range 10 { // 1 s of beats, each well within the window
		<-tick.C
		r, err := e.svc.Beat(e.ctx, hb, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		last = *r.Status.LastBeat
		if inc := e.heartbeatIncident(); inc.Number != 0 {
			t.Fatalf("INC-%d opened while beats came in time:\n%s", inc.Number, e.log)
		}
	}
	e.wait(1, owner("alice", escalation.ReasonFirst))
	if inc := e.heartbeatIncident(); inc.Created.Before(last.Add(hb.Window())) {
		t.Fatalf("opened %s after the last beat, before its window %s", inc.Created.Sub(last), hb.Window())
	}
	if n := len(e.rec.Pages()); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
}

// A heartbeat no longer configured has its deadline job dropped.
func TestHeartbeatNotConfiguredIsDropped(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Beat(e.ctx, hb, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.start(e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, nil))
	e.eventually("the job dropped", func() bool { d, f := e.jobs(); return d == 0 && f == 0 })
	if inc := e.heartbeatIncident(); inc.Number != 0 {
		t.Fatalf("INC-%d opened for a heartbeat not configured", inc.Number)
	}
	if !e.log.contains("not configured") {
		t.Fatalf("no log line:\n%s", e.log)
	}
}
