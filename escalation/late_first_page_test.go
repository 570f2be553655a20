package escalation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
)

// A level's first page that reaches the person late (the chat down, or
// the replica that began it killed and its job taken over a lease later)
// is decided as of its first attempt. Its escalate_after used to count
// from that decision, so the next level was paged about half a second after
// the first real page: the person had no real chance to acknowledge. It
// counts from the delivery: the next level comes escalate_after after the
// first page actually went out.
func TestLateFirstPageGetsTheWholeEscalationDelay(t *testing.T) {
	const (
		escalate = 2 * time.Second
		late     = 1500 * time.Millisecond // how late the first page goes out, < escalate
	)
	cases := []struct {
		name string
		// start starts the runners; it returns what to do once the
		// incident is open (nil: nothing).
		start func(e *env, p escalation.Policy, d *deliveries) (opened func())
	}{
		{"the chat answers 503 for 1.5 s: retried as of the first attempt", func(e *env, p escalation.Policy, d *deliveries) func() {
			var mu sync.Mutex
			var firstTry time.Time
			d.rec.Before = func(_ context.Context, pg escalation.Page) error {
				mu.Lock()
				defer mu.Unlock()
				if firstTry.IsZero() {
					firstTry = time.Now()
				}
				// The outage, acted out by the clock: every attempt within
				// it fails with an outcome the chat leaves unknown.
				if time.Since(firstTry) < late {
					return errors.New("chat.postMessage: slack server error: 503 Service Unavailable")
				}
				return nil
			}
			e.start(e.runner(p, nil, func(o *escalation.Options) { o.Pager, o.MaxAttempts = d.pager, 1000 }))
			return nil
		}},
		{"the replica dies before its post: taken over a lease (1.5 s) later", func(e *env, p escalation.Policy, d *deliveries) func() {
			clientA := e.srv.Client()
			died := make(chan struct{})
			var once sync.Once
			die := func() { once.Do(func() { _ = clientA.Close(); close(died) }) }
			stopA := e.start(e.runner(p, e.node(clientA), func(o *escalation.Options) {
				o.Lease = late
				o.Pager = &diePager{inner: d.pager, at: crashBeforePost, die: die}
			}))
			return func() {
				<-died // the first page is marked sending, not posted: killed
				stopA()
				e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Pager = d.pager }))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, escalate, 0, 0) // alice, then bob
			d := newDeliveries("recorder")
			opened := tc.start(e, p, d)
			e.open("late")
			if opened != nil {
				opened()
			}
			e.eventually("alice's first page", func() bool { return d.firsts() == 1 })
			e.eventually("the escalation to bob", func() bool { return d.rec.Count(owner("bob", escalation.ReasonEscalated)) == 1 })
			var first, escalated escalation.Page
			for _, pg := range d.rec.Pages() {
				switch {
				case pg.Person == "alice" && pg.Reason == escalation.ReasonFirst:
					first = pg
				case pg.Person == "bob" && pg.Reason == escalation.ReasonEscalated:
					escalated = pg
				}
			}
			sent, up := d.rec.SentAt(first.Key)[0], d.rec.SentAt(escalated.Key)[0]
			if delay := sent.Sub(first.At); delay < late-100*time.Millisecond {
				t.Fatalf("the first page went out %v after its decision: the outage was not acted out", delay)
			}
			if gap := up.Sub(sent); !notBefore(sent, up, escalate) {
				t.Fatalf("bob paged %v after alice's first page reached her (%v after its decision); want at least escalate_after %v",
					gap, sent.Sub(first.At), escalate)
			}
		})
	}
}
