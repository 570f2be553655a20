package escalation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
)

// leaseBound is the bound on a lease: the longest a job of a runner
// that died may stay silent. The runner's default must keep to it.
const leaseBound = 10 * time.Second

// production sets a runner's lease and poll back to their defaults (the
// harness shortens them), so a test measures what a deployment gets.
func production(o *escalation.Options) { o.Lease, o.PollInterval = 0, 0 }

// A runner killed (kill -9) while it sends a re-page leaves the job in
// flight under its lease; another replica must page again within one
// re-page interval plus one lease of the previous page, not later.
func TestDeadRunnersRepageWithinIntervalPlusLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const repage = 2 * time.Second
	p := testPolicy(repage, time.Hour, 0, 0)

	recA := &escalationtest.Recorder{}
	entered := make(chan struct{})
	var once sync.Once
	recA.Before = func(ctx context.Context, pg escalation.Page) error {
		if pg.Reason == escalation.ReasonRepeat {
			once.Do(func() { close(entered) })
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	// A has a Redis connection of its own, lost with it: a dead process
	// renews nothing and gives nothing back.
	clientA := e.srv.Client()
	a := e.runner(p, e.node(clientA), func(o *escalation.Options) { production(o); o.Pager = recA })
	stopA := e.start(a)
	n := e.open("k")
	<-entered
	_ = clientA.Close()
	stopA()
	first := recA.Pages()
	if len(first) != 1 || first[0].Reason != escalation.ReasonFirst {
		t.Fatalf("runner A pages: %q", pageList(first))
	}

	e.start(e.runner(p, e.node(e.srv.Client()), production))
	bound := repage + leaseBound
	ctx, cancel := context.WithTimeout(e.ctx, bound+3*time.Second)
	defer cancel()
	pages, err := e.rec.WaitMatch(ctx, 1, func(pg escalation.Page) bool { return pg.Incident == n && pg.Reason.MustDeliver() })
	if err != nil {
		t.Fatalf("no page from the surviving runner within %v of the last one: %v\nlog:\n%s", bound+3*time.Second, err, e.log)
	}
	// Delivery times, not decision instants (B decides A's step as of when
	// A began it).
	gap := e.rec.SentAt(pages[0].Key)[0].Sub(recA.SentAt(first[0].Key)[0])
	t.Logf("gap between pages across the dead runner: %v (re-page %v + lease bound %v)", gap, repage, leaseBound)
	// A few hundred ms for the claim and the load on a busy machine.
	if gap > bound+500*time.Millisecond {
		t.Fatalf("pages %v apart across the dead runner, want at most %v + %v", gap, repage, leaseBound)
	}
}

// Redis goes away for 3 s while a job is between its page and its commit:
// the commit and the release fail, and the job must run again about as
// soon as Redis is back, not when its lease runs out.
func TestJobInterruptedByRedisOutageRunsWhenRedisIsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := testPolicy(time.Second, time.Hour, 0, 0)
	entered, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.rec.Before = func(ctx context.Context, pg escalation.Page) error {
		if pg.Reason == escalation.ReasonRepeat {
			once.Do(func() { close(entered); <-proceed })
		}
		return nil
	}
	e.start(e.runner(p, nil, production))
	n := e.open("k")
	<-entered
	// The server keeps what it held (a snapshot in its directory, which it
	// loads when it starts again), as a durable Redis does.
	c := e.srv.Client()
	if err := c.Save(e.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	e.srv.Stop()
	down := time.Now()
	close(proceed) // the re-page is delivered; its commit meets no Redis
	// go-redis retries the commit and the release for a while: the job is
	// interrupted once its release has failed too.
	e.eventually("the job failing with redis down", func() bool { return e.log.contains("could not release the job") })
	<-time.After(time.Until(down.Add(3 * time.Second))) // the outage lasts 3 s: the scenario, not synchronisation
	e.srv.Restart()
	back := time.Now()

	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	pages, err := e.rec.WaitMatch(ctx, 3, func(pg escalation.Page) bool { return pg.Incident == n && pg.Reason.MustDeliver() })
	if err != nil {
		t.Fatalf("the interrupted job did not run within 5 s of redis being back: %v; pages %q\nlog:\n%s", err, pageList(pages), e.log)
	}
	// When it was delivered again (its At is the decision's instant, as of
	// the interrupted run's begin).
	sent := e.rec.SentAt(pages[len(pages)-1].Key)
	last := sent[len(sent)-1]
	if !last.After(back) {
		t.Fatalf("the job ran again at %v, before redis was back at %v", last, back)
	}
	after := last.Sub(back)
	t.Logf("job ran again %v after redis was back", after)
	if after > 2*time.Second {
		t.Fatalf("the interrupted job ran %v after redis was back, want about a second", after)
	}
}

// A replica killed mid-page and started again under the same replica id
// (escalation.replica_id) gives back at once the job its previous run
// held: the page comes again within the restart, not after the lease.
// With a random id per process (the default) the lease still decides.
func TestRestartedReplicaTakesBackItsJobs(t *testing.T) {
	cases := []struct {
		name         string
		idA, idAgain string
		repaged      bool
	}{
		{"the same replica id", "replica-a", "replica-a", true},
		{"another replica id", "replica-a", "replica-b", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := testPolicy(time.Hour, time.Hour, 0, 0)
			recA := &escalationtest.Recorder{}
			entered := make(chan struct{})
			var once sync.Once
			recA.Before = func(ctx context.Context, pg escalation.Page) error {
				once.Do(func() { close(entered) })
				<-ctx.Done()
				return ctx.Err()
			}
			clientA := e.srv.Client()
			// An hour's lease: only the restart can bring the job back in time.
			a := e.runner(p, e.node(clientA), func(o *escalation.Options) { o.Pager = recA; o.Lease = time.Hour; o.ReplicaID = tc.idA })
			stopA := e.start(a)
			n := e.open("k")
			<-entered
			_ = clientA.Close() // killed: nothing given back
			stopA()
			e.start(e.runner(p, e.node(e.srv.Client()), func(o *escalation.Options) { o.Lease = time.Hour; o.ReplicaID = tc.idAgain }))
			if !tc.repaged {
				e.eventually("the new runner's first claim", func() bool { return e.log.contains("escalation runner started") })
				if _, inFlight := e.jobs(); inFlight != 1 {
					t.Fatalf("%d jobs in flight, want the dead run's one, under its lease", inFlight)
				}
				return
			}
			e.wait(1, func(pg escalation.Page) bool { return pg.Incident == n && pg.Reason == escalation.ReasonFirst })
			if !e.log.contains("gave back the jobs a previous run of this replica held") {
				t.Fatalf("no line saying so:\n%s", e.log)
			}
		})
	}
}
