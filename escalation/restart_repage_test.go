package escalation_test

import (
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// Issue 14's break test: every replica killed (kill -9) 0.6 s after a
// storm, before the first pages went out, and started again 12 s later:
// the first page went out at the restart, and a reminder followed it one
// second later, because the step taken over is decided as of when the dead
// run began it, and the re-page counted from then. The next re-page is due
// the interval after the page actually went out.
func TestRestartedRunnersFirstPageIsNotFollowedByAReminder(t *testing.T) {
	e := newEnv(t)
	const repage = time.Second
	p := testPolicy(repage, time.Hour, 0, 0)
	d := newDeliveries("checking")
	clientA := e.srv.Client()
	died := make(chan struct{})
	var once sync.Once
	die := func() { once.Do(func() { _ = clientA.Close(); close(died) }) }
	a := e.runner(p, e.node(clientA), func(o *escalation.Options) {
		o.Lease, o.ReplicaID = time.Hour, "replica-a"
		o.Pager = &diePager{inner: d.pager, at: crashBeforePost, die: die}
	})
	stopA := e.start(a)
	n := e.open("k")
	<-died // the first page is marked sending, not posted: killed
	stopA()
	killed := time.Now()
	// Down for longer than the re-page interval (the break test's 12 s,
	// scaled down): this is the outage being acted out, not a wait for a
	// result.
	time.Sleep(2*repage + repage/2)
	restarted := time.Now()
	e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) {
		o.Lease, o.ReplicaID = time.Hour, "replica-a"
		o.Pager = d.pager
	}))
	e.eventually("the first page after the restart", func() bool { return d.firsts() == 1 })
	e.eventually("its commit", func() bool { return countEvents(e.timeline(n), incident.EventPaged) > 0 })
	var first escalation.Page
	for _, pg := range d.rec.Pages() {
		if pg.Reason == escalation.ReasonFirst {
			first = pg
		}
	}
	sent := d.rec.SentAt(first.Key)[0]
	if first.At.After(killed) {
		t.Fatalf("the page was decided at %v, after the kill at %v: the takeover did not decide as of the dead run", first.At, killed)
	}
	var pagedAt time.Time
	for _, ev := range e.timeline(n) {
		if ev.Type == incident.EventPaged && ev.Note == string(escalation.ReasonFirst) {
			pagedAt = ev.At
		}
	}
	if pagedAt.Before(restarted) {
		t.Fatalf("timeline says paged at %v, before the restart at %v: the page went out at %v", pagedAt, restarted, sent)
	}
	due, err := e.srv.Client().ZScore(e.ctx, e.svc.JobsKey(), incident.PageJob(n)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if at := time.UnixMilli(int64(due)); at.Before(sent.Add(repage - 5*time.Millisecond)) {
		t.Fatalf("next re-page due at %v, %v after the first page went out (%v); want %v after it",
			at.Format("15:04:05.000"), at.Sub(sent), sent.Format("15:04:05.000"), repage)
	}
	// And the reminder, when it comes, comes no sooner.
	e.eventually("the reminder", func() bool { return d.rec.Count(owner("alice", escalation.ReasonRepeat)) > 0 })
	for _, pg := range d.rec.Pages() {
		if pg.Reason == escalation.ReasonRepeat {
			if gap := d.rec.SentAt(pg.Key)[0].Sub(sent); gap < repage-5*time.Millisecond {
				t.Fatalf("a reminder %v after the first page, want at least %v", gap, repage)
			}
		}
	}
}
