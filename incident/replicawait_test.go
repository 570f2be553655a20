package incident_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// sentinelClient is a failover client for s whose read timeout exceeds
// the replica waits of these tests.
func sentinelClient(t *testing.T, s *redistest.Sentinel) *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs,
		DialTimeout: time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pauseReplica makes the replica stop applying its master's stream (and
// answer no one) for d: CLIENT PAUSE ALL. What the master sends meanwhile
// waits unapplied in the replica's input buffer, which the replica drops
// if it loses its master before the pause ends.
func pauseReplica(t *testing.T, s *redistest.Sentinel, d time.Duration) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.ReplicaAddr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Do(context.Background(), "client", "pause", d.Milliseconds(), "all").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE on the replica: %v", err)
	}
}

// openRetrying opens a after a failover: the client finds the new master
// once the Sentinels announce it; until then calls fail.
func openRetrying(t *testing.T, st *incident.Store, a incident.Alert) incident.OpenResult {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := st.Open(ctx, a)
		cancel()
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("open after the failover: %v", err)
		}
	}
}

// TestReplicaWaitKeepsAnsweredAlertsThroughFailover is the 202 promise on
// Sentinel: alerts the store accepted (intake answers 202 exactly then)
// while the replica lagged, the master killed right after the answers, a
// failover. With a wait for one replica every accepted alert is on the new
// master and no incident number is issued again; without it the lag is
// certain (the replica is paused, CLIENT PAUSE) and so is the loss.
func TestReplicaWaitKeepsAnsweredAlertsThroughFailover(t *testing.T) {
	const alerts = 40
	cases := []struct {
		name     string
		wait     int
		wantLoss bool
	}{
		{name: "wait for one replica: every accepted alert survives", wait: 1},
		{name: "no wait: alerts accepted while the replica lagged are lost", wait: 0, wantLoss: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := redistest.StartSentinel(t)
			rdb := sentinelClient(t, s)
			st := incident.NewStore(rdb, "t:", incident.WithReplicaWait(tc.wait, 5*time.Second))
			t.Cleanup(st.Close)
			// After the failover the new master has no replica (the old
			// master stays dead): the checks read and open without a wait.
			probe := incident.NewStore(rdb, "t:")
			t.Cleanup(probe.Close)
			ctx := redistest.Ctx(t)
			mustOpen(t, st, ctx, alert("warm-up")) // the script cached, the connection made

			pauseReplica(t, s, 1500*time.Millisecond)
			type accepted struct {
				n   int64
				key string
			}
			var (
				mu  sync.Mutex
				got []accepted
				wg  sync.WaitGroup
			)
			for i := range alerts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("k%d", i)
					r, err := st.Open(ctx, alert(key))
					if err != nil {
						return // a 503: the sender retries; no promise made
					}
					mu.Lock()
					got = append(got, accepted{r.Number, key})
					mu.Unlock()
				}()
			}
			wg.Wait()
			if len(got) != alerts {
				t.Fatalf("%d of %d alerts accepted; the test needs them all", len(got), alerts)
			}
			s.KillMaster()

			issued := map[int64]bool{1: true}
			lost := 0
			for _, a := range got {
				issued[a.n] = true
				inc, _, err := getRetrying(t, probe, a.n)
				if errors.Is(err, incident.ErrNotFound) || err == nil && inc.DedupKey != a.key {
					lost++
				} else if err != nil {
					t.Fatalf("get INC-%d: %v", a.n, err)
				}
			}
			again := 0
			for i := range alerts {
				if r := openRetrying(t, probe, alert(fmt.Sprintf("after%d", i))); issued[r.Number] {
					again++
				}
			}
			if (lost > 0) != tc.wantLoss || (again > 0) != tc.wantLoss {
				t.Errorf("after the failover: %d of %d accepted alerts lost, %d numbers issued again; want loss: %v", lost, alerts, again, tc.wantLoss)
			}
			t.Logf("%d of %d accepted alerts lost, %d numbers issued again", lost, alerts, again)
		})
	}
}

// getRetrying reads incident n, retrying errors other than not-found
// while the client finds the new master.
func getRetrying(t *testing.T, st *incident.Store, n int64) (incident.Incident, []incident.Event, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		inc, evs, err := st.Get(ctx, n)
		cancel()
		if err == nil || errors.Is(err, incident.ErrNotFound) || time.Now().After(deadline) {
			return inc, evs, err
		}
	}
}

// TestReplicaWaitCoversEveryPromisedWrite: on a Redis with no replica,
// WAIT 1 can never be satisfied, so each write a promise rests on must fail
// with ErrNotReplicated when the store waits for one replica, and succeed
// when it does not wait. A write path that skipped the wait would pass with
// the wait on and fail this test.
func TestReplicaWaitCoversEveryPromisedWrite(t *testing.T) {
	type fixture struct {
		st  *incident.Store
		n   int64 // an open incident
		rev int64 // its escalation revision
		job incident.Job
		rdb *redis.Client
	}
	ops := []struct {
		name string
		do   func(ctx context.Context, f fixture) error
	}{
		{"open (one call)", func(ctx context.Context, f fixture) error {
			_, err := f.st.Open(ctx, alert("new"))
			return err
		}},
		{"open (a batch)", func(ctx context.Context, f fixture) error {
			errs := make(chan error, 20)
			for i := range 20 {
				go func() { _, err := f.st.Open(ctx, alert(fmt.Sprintf("b%d", i))); errs <- err }()
			}
			accepted, failed := 0, error(nil)
			for range 20 {
				switch err := <-errs; {
				case err == nil:
					accepted++
				case failed == nil || !errors.Is(err, incident.ErrNotReplicated):
					failed = err
				}
			}
			if accepted > 0 && accepted < 20 {
				return fmt.Errorf("%d of 20 accepted, the others: %w", accepted, failed)
			}
			return failed
		}},
		{"open with a delivery id", func(ctx context.Context, f fixture) error {
			_, err := f.st.OpenDelivery(ctx, alert("sns"), "msg-1")
			return err
		}},
		{"open after SCRIPT FLUSH (the script's source sent)", func(ctx context.Context, f fixture) error {
			if err := f.rdb.ScriptFlush(ctx).Err(); err != nil {
				return err
			}
			_, err := f.st.Open(ctx, alert("flushed"))
			return err
		}},
		{"begin page after SCRIPT FLUSH", func(ctx context.Context, f fixture) error {
			if err := f.rdb.ScriptFlush(ctx).Err(); err != nil {
				return err
			}
			_, err := f.st.BeginPage(ctx, f.n, f.rev, "p2", time.Now())
			return err
		}},
		{"ack", func(ctx context.Context, f fixture) error {
			_, err := f.st.Ack(ctx, f.n, "alice", "")
			return err
		}},
		{"resolve", func(ctx context.Context, f fixture) error {
			_, err := f.st.Resolve(ctx, f.n, "alice", "")
			return err
		}},
		{"begin page", func(ctx context.Context, f fixture) error {
			_, err := f.st.BeginPage(ctx, f.n, f.rev, "p1", time.Now())
			return err
		}},
		{"end page", func(ctx context.Context, f fixture) error {
			return f.st.EndPage(ctx, f.n, f.rev, "p1", incident.PageSent)
		}},
		{"set chat refs", func(ctx context.Context, f fixture) error {
			err := f.st.SetChatRefs(ctx, f.n, map[string]string{"channel": "C1", "card": ""})
			// Waited for or not, the write stands on the master.
			if refs, rerr := f.st.ChatRefs(ctx, f.n); rerr != nil || refs["channel"] != "C1" {
				return fmt.Errorf("chat refs after the write: %v, %v (write: %w)", refs, rerr, err)
			}
			return err
		}},
		{"link chat", func(ctx context.Context, f fixture) error {
			err := f.st.LinkChat(ctx, "slack:C1/1.2", f.n, time.Hour)
			if got, lerr := f.st.ChatLink(ctx, "slack:C1/1.2"); lerr != nil || got != f.n {
				return fmt.Errorf("chat link after the write: %d, %v (write: %w)", got, lerr, err)
			}
			return err
		}},
		{"commit", func(ctx context.Context, f fixture) error {
			_, err := f.st.Commit(ctx, f.job, incident.Commit{Rev: f.rev})
			return err
		}},
	}
	for _, wait := range []int{0, 1} {
		for _, op := range ops {
			t.Run(fmt.Sprintf("wait %d/%s", wait, op.name), func(t *testing.T) {
				plain, c, ctx := newService(t)
				t.Cleanup(plain.Close)
				n := mustOpen(t, plain, ctx, alert("open")).Number
				_, es, err := plain.LoadEscalation(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				jobs, _, err := plain.ClaimJobs(ctx, t0.Add(time.Hour), time.Minute, 1, "r1:1")
				if err != nil || len(jobs) != 1 {
					t.Fatalf("claim: %v, %d jobs", err, len(jobs))
				}
				if _, err := plain.BeginPage(ctx, n, es.Rev, "p1", time.Now()); err != nil { // EndPage ends a begun page
					t.Fatal(err)
				}
				st := incident.NewStore(c, "test:", incident.WithReplicaWait(wait, 20*time.Millisecond))
				st.Now = plain.Now
				t.Cleanup(st.Close)
				err = op.do(ctx, fixture{st: st, n: n, rev: es.Rev, job: jobs[0], rdb: c})
				if wait == 0 && err != nil {
					t.Fatalf("without a wait: %v", err)
				}
				if wait == 1 && !errors.Is(err, incident.ErrNotReplicated) {
					t.Fatalf("waiting for a replica that does not exist: got %v, want ErrNotReplicated", err)
				}
			})
		}
	}
}
