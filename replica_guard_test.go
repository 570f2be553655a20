package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
)

// guardedApp is one in-process `baton serve` with a replica id, which
// the test may stop before its end.
type guardedApp struct {
	*topologyApp
	stop func()
}

// startGuardedApp serves the example config against rs as replica id,
// with a heartbeat every 50 ms.
func startGuardedApp(t *testing.T, rs *redistest.Server, id string) *guardedApp {
	t.Helper()
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true", "BATON_ESCALATION_REPLICA_ID=" + id})
	if err != nil {
		t.Fatal(err)
	}
	log := newOutput()
	app, err := NewAppWith(cfg, newLogger(log, "info"), AppOptions{PollInterval: 20 * time.Millisecond, ReplicaBeatEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		app.Close()
	}
	t.Cleanup(stop)
	return &guardedApp{topologyApp: &topologyApp{app: app, url: "http://" + ln.Addr().String(), log: log}, stop: stop}
}

// waitBeats waits until a has written its heartbeat n times, for at most 20 s.
func (a *guardedApp) waitBeats(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for a.app.guard.beats.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats written in 20 s, want %d", a.app.guard.beats.Load(), n)
		}
		time.Sleep(10 * time.Millisecond) // the next beat
	}
}

// sharedIDErrors is a's ERROR lines about its replica id being shared.
func (a *guardedApp) sharedIDErrors() []string {
	var out []string
	for _, l := range levelLines(a.log, "ERROR") {
		if strings.Contains(l, "escalation.replica_id") {
			out = append(out, l)
		}
	}
	return out
}

// TestReplicaIDSharedByTwoLiveProcesses: two replicas running with the
// same escalation.replica_id on one Redis each log one ERROR naming the id
// (at most once a minute) and show baton_replica_id_shared 1; a replica
// restarted under the id of a stopped one (its heartbeat still in Redis,
// no longer renewed, as after kill -9) and replicas with their own ids
// say nothing and show 0.
func TestReplicaIDSharedByTwoLiveProcesses(t *testing.T) {
	tests := []struct {
		name       string
		idA, idB   string
		restart    bool // A stops before B starts
		wantErrors bool
	}{
		{name: "same id, both running", idA: "baton-0", idB: "baton-0", wantErrors: true},
		{name: "same id, restarted after the first stopped", idA: "baton-0", idB: "baton-0", restart: true},
		{name: "own ids", idA: "baton-0", idB: "baton-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			ctx := redistest.Ctx(t)
			a := startGuardedApp(t, rs, tc.idA)
			a.waitBeats(t, 3)
			if tc.restart {
				a.stop()
				// As after kill -9, the dead run's heartbeat is still there
				// when the new run starts.
				key := "baton:replica:" + tc.idA + ":beat"
				if ok, err := rs.Client().PExpire(ctx, key, time.Minute).Result(); err != nil || !ok {
					t.Fatalf("the stopped run's heartbeat %s: %v, %v", key, ok, err)
				}
			}
			b := startGuardedApp(t, rs, tc.idB)
			running := []*guardedApp{b}
			if !tc.restart {
				running = append(running, a)
			}
			if tc.wantErrors {
				for i, r := range running {
					if !r.log.waitFor(t, "its own escalation.replica_id", nil) {
						t.Fatalf("replica %d: no ERROR naming the shared id; log:\n%s", i, r.log.String())
					}
				}
			}
			for _, r := range running {
				r.waitBeats(t, r.app.guard.beats.Load()+20) // a second of beats on both
			}
			want, wantMetric := 0, "baton_replica_id_shared 0"
			if tc.wantErrors {
				want, wantMetric = 1, "baton_replica_id_shared 1"
			}
			for i, r := range running {
				if got := r.sharedIDErrors(); len(got) != want {
					t.Errorf("replica %d: %d ERRORs about the replica id, want %d:\n%s", i, len(got), want, strings.Join(got, "\n"))
				} else if want == 1 && !strings.Contains(got[0], "replica="+tc.idA) {
					t.Errorf("replica %d: the ERROR does not name the replica id %s: %s", i, tc.idA, got[0])
				}
				if got := r.metric(t, "baton_replica_id_shared"); got != wantMetric {
					t.Errorf("replica %d: %q, want %q", i, got, wantMetric)
				}
			}
		})
	}
}
