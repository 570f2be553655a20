package incident_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/redis/go-redis/v9"
)

// at720 is the source time of the examples in issue 12: a Critical at 07:20
// whose ResolvedCritical at 07:21 arrives first.
var at720 = time.Date(2026, 11, 24, 7, 20, 0, 0, time.UTC)

// step is one alert sent to Open and what Open must answer.
type step struct {
	service  string // "" is "database"
	key      string // "" is "k1"
	resolved bool
	src      time.Duration // source time after at720; -1 sends no source time
	recv     time.Duration // receive time after at720
	delivery string

	outcome     incident.Outcome
	number      int64
	recoveredAt time.Duration // for superseded: the recovery's source time after at720
}

func (st step) alert() incident.Alert {
	a := alert("k1")
	if st.key != "" {
		a.DedupKey = st.key
	}
	if st.service != "" {
		a.Service = st.service
	}
	if st.resolved {
		a.Status = incident.AlertResolved
	}
	a.ReceivedAt = at720.Add(st.recv)
	if st.src >= 0 {
		a.SourceTime = at720.Add(st.src)
	}
	return a
}

func TestRecoveryOvertakesAlert(t *testing.T) {
	fire := func(src time.Duration, out incident.Outcome, n int64) step {
		return step{src: src, recv: 10 * time.Minute, outcome: out, number: n}
	}
	recovery := func(src time.Duration, out incident.Outcome, n int64) step {
		return step{resolved: true, src: src, recv: 10 * time.Minute, outcome: out, number: n}
	}
	superseded := func(src, rec time.Duration, n int64) step {
		return step{src: src, recv: 10 * time.Minute, outcome: incident.OutcomeSuperseded, number: n, recoveredAt: rec}
	}
	cases := []struct {
		name  string
		steps []step
		open  int // open incidents at the end
		jobs  int // due page/escalation jobs at the end
	}{
		{
			name: "recovery 07:21 before critical 07:20: nothing opens",
			steps: []step{
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				superseded(0, time.Minute, 0),
			},
		},
		{
			name: "then critical 07:22 opens",
			steps: []step{
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				superseded(0, time.Minute, 0),
				fire(2*time.Minute, incident.OutcomeCreated, 1),
			},
			open: 1, jobs: 1,
		},
		{
			name: "firing at the recovery's very time is superseded",
			steps: []step{
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				superseded(time.Minute, time.Minute, 0),
			},
		},
		{
			name: "a recovery that resolved remembers itself: a stale duplicate does not reopen",
			steps: []step{
				fire(0, incident.OutcomeCreated, 1),
				recovery(time.Minute, incident.OutcomeResolved, 1),
				superseded(0, time.Minute, 1),
				superseded(30*time.Second, time.Minute, 1),
				fire(2*time.Minute, incident.OutcomeCreated, 2),
			},
			open: 1, jobs: 1,
		},
		{
			name: "the newest recovery wins over an older one arriving late",
			steps: []step{
				recovery(5*time.Minute, incident.OutcomeNoOpenIncident, 0),
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				superseded(3*time.Minute, 5*time.Minute, 0),
				fire(6*time.Minute, incident.OutcomeCreated, 1),
			},
			open: 1, jobs: 1,
		},
		{
			name: "a later recovery with nothing open keeps the incident an earlier one resolved",
			steps: []step{
				fire(0, incident.OutcomeCreated, 1),
				recovery(time.Minute, incident.OutcomeResolved, 1),
				recovery(2*time.Minute, incident.OutcomeNoOpenIncident, 0),
				superseded(90*time.Second, 2*time.Minute, 1),
			},
		},
		{
			name: "without source times the receive times are compared",
			steps: []step{
				{resolved: true, src: -1, recv: time.Minute, outcome: incident.OutcomeNoOpenIncident},
				{src: -1, recv: time.Minute, outcome: incident.OutcomeSuperseded, recoveredAt: time.Minute},
				{src: -1, recv: 2 * time.Minute, outcome: incident.OutcomeCreated, number: 1},
			},
			open: 1, jobs: 1,
		},
		{
			name: "another service's recovery changes nothing",
			steps: []step{
				{service: "checkout", resolved: true, src: time.Minute, recv: time.Minute, outcome: incident.OutcomeNoOpenIncident},
				fire(0, incident.OutcomeCreated, 1),
			},
			open: 1, jobs: 1,
		},
		{
			name: "another dedup key's recovery changes nothing",
			steps: []step{
				{key: "k2", resolved: true, src: time.Minute, recv: time.Minute, outcome: incident.OutcomeNoOpenIncident},
				fire(0, incident.OutcomeCreated, 1),
			},
			open: 1, jobs: 1,
		},
		{
			name: "an open incident opened after the recovery takes a stale repeat as superseded, not as a count",
			steps: []step{
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				fire(2*time.Minute, incident.OutcomeCreated, 1),
				superseded(0, time.Minute, 0),
				fire(3*time.Minute, incident.OutcomeRepeated, 1),
			},
			open: 1, jobs: 1,
		},
		{
			name: "a superseded SNS delivery replayed is a duplicate",
			steps: []step{
				recovery(time.Minute, incident.OutcomeNoOpenIncident, 0),
				{src: 0, recv: time.Minute, delivery: "sns:m1", outcome: incident.OutcomeSuperseded, recoveredAt: time.Minute},
				{src: 0, recv: time.Minute, delivery: "sns:m1", outcome: incident.OutcomeDuplicate},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			for i, st := range tc.steps {
				r, err := s.OpenDelivery(ctx, st.alert(), st.delivery)
				if err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				if r.Outcome != st.outcome || r.Number != st.number {
					t.Fatalf("step %d = %+v, want %s INC-%d", i+1, r, st.outcome, st.number)
				}
				if st.outcome == incident.OutcomeSuperseded {
					if want := at720.Add(st.recoveredAt); !r.RecoveredAt.Equal(want) {
						t.Errorf("step %d: RecoveredAt = %v, want %v", i+1, r.RecoveredAt, want)
					}
					if r.Created || r.AlertCount != 0 {
						t.Errorf("step %d: superseded reported %+v", i+1, r)
					}
				}
			}
			open, err := s.List(ctx, incident.FilterOpen, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != tc.open {
				t.Errorf("%d open incidents, want %d", len(open), tc.open)
			}
			if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != int64(tc.jobs) {
				t.Errorf("%d due jobs, want %d", n, tc.jobs)
			}
		})
	}
}

// recoveryKeys returns the recovery memory keys in Redis with their TTLs.
func recoveryKeys(t *testing.T, c *redis.Client, ctx context.Context) map[string]time.Duration {
	t.Helper()
	keys, err := c.Keys(ctx, "test:{inc}:r:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Duration{}
	for _, k := range keys {
		out[k] = c.PTTL(ctx, k).Val()
	}
	return out
}

func TestRecoveryMemoryIsBounded(t *testing.T) {
	s, c, ctx := newService(t)
	rec := step{resolved: true, src: time.Minute, recv: time.Minute}
	// A storm of recoveries of one key is one key; each restarts the hour.
	for range 500 {
		if _, err := s.Open(ctx, rec.alert()); err != nil {
			t.Fatal(err)
		}
	}
	// 20 distinct keys are 20 keys.
	for i := range 20 {
		st := rec
		st.key = fmt.Sprintf("other-%d", i)
		if _, err := s.Open(ctx, st.alert()); err != nil {
			t.Fatal(err)
		}
	}
	keys := recoveryKeys(t, c, ctx)
	if len(keys) != 21 {
		t.Fatalf("%d recovery keys after recoveries of 21 distinct alerts, want 21", len(keys))
	}
	for k, ttl := range keys {
		if ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("%s expires in %v, want about an hour", k, ttl)
		}
	}
	// Firing alerts and stale ones never create or extend the memory.
	if _, err := s.Open(ctx, step{key: "never-recovered", src: 0, recv: time.Minute}.alert()); err != nil {
		t.Fatal(err)
	}
	if err := c.PExpire(ctx, "test:{inc}:r:"+digest("database", "k1"), time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Open(ctx, step{src: 0, recv: time.Minute}.alert()); err != nil || r.Outcome != incident.OutcomeSuperseded {
		t.Fatalf("stale alert: %+v, %v", r, err)
	}
	keys = recoveryKeys(t, c, ctx)
	if len(keys) != 21 {
		t.Fatalf("%d recovery keys after firing alerts, want still 21", len(keys))
	}
	if ttl := keys["test:{inc}:r:"+digest("database", "k1")]; ttl > time.Minute {
		t.Errorf("a superseded alert extended the memory to %v", ttl)
	}
	// Once the memory is gone (as after its hour), the alert opens again.
	if err := c.Del(ctx, "test:{inc}:r:"+digest("database", "k1")).Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Open(ctx, step{src: 0, recv: time.Minute}.alert()); err != nil || r.Outcome != incident.OutcomeCreated {
		t.Fatalf("alert after the memory expired: %+v, %v", r, err)
	}
}

func TestSupersededAlertsAreAudited(t *testing.T) {
	s, c, ctx := newService(t)
	if _, err := s.Open(ctx, step{resolved: true, src: time.Minute, recv: time.Minute}.alert()); err != nil {
		t.Fatal(err)
	}
	// 100 stale alerts in the same minute: all counted, one stream entry.
	for range 100 {
		if r, err := s.Open(ctx, step{src: 0, recv: 2 * time.Minute}.alert()); err != nil || r.Outcome != incident.OutcomeSuperseded {
			t.Fatalf("stale alert: %+v, %v", r, err)
		}
	}
	// A minute later, one more entry.
	if _, err := s.Open(ctx, step{src: 0, recv: 3 * time.Minute}.alert()); err != nil {
		t.Fatal(err)
	}
	key := "test:{inc}:r:" + digest("database", "k1")
	if n, _ := c.HGet(ctx, key, "superseded").Int(); n != 101 {
		t.Errorf("superseded count = %d, want 101", n)
	}
	msgs, err := c.XRange(ctx, "test:{inc}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, m := range msgs {
		if m.Values["type"] == string(incident.OutcomeSuperseded) {
			got = append(got, m.Values)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d superseded stream entries, want 2 (one a minute): %v", len(got), got)
	}
	want := map[string]any{
		"type": "superseded_by_recovery", "n": "0", "by": "generic", "service": "database",
		"at":          fmt.Sprint(at720.Add(2 * time.Minute).UnixMilli()),
		"source_time": fmt.Sprint(at720.UnixMilli()), "recovered_at": fmt.Sprint(at720.Add(time.Minute).UnixMilli()),
		"count": "1",
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("stream entry = %v\nwant           %v", got[0], want)
	}
	if got[1]["count"] != "101" {
		t.Errorf("second entry's count = %v, want 101", got[1]["count"])
	}
	if n, _ := c.Exists(ctx, "test:{inc}:seq").Result(); n != 0 {
		t.Error("a superseded alert allocated an incident number")
	}
}

// TestRecoveryRacesAlertThroughBatches sends, for many keys at once, a
// firing alert and the recovery that follows it at the source, in both
// orders and concurrently, so that Open's batcher pipelines them together.
// Whatever order Redis sees, nothing is left open and no page is due.
func TestRecoveryRacesAlertThroughBatches(t *testing.T) {
	s, c, ctx := newService(t)
	const keys = 300
	var wg sync.WaitGroup
	outcomes := make(chan incident.Outcome, 2*keys)
	for i := range keys {
		fire := step{key: fmt.Sprintf("race-%d", i), src: 0, recv: time.Minute}
		rec := fire
		rec.resolved, rec.src = true, time.Minute
		first, second := fire, rec
		if i%2 == 1 {
			first, second = rec, fire
		}
		for _, st := range []step{first, second} {
			wg.Go(func() {
				r, err := s.Open(ctx, st.alert())
				if err != nil {
					t.Error(err)
					return
				}
				outcomes <- r.Outcome
			})
		}
	}
	wg.Wait()
	close(outcomes)
	seen := map[incident.Outcome]int{}
	for o := range outcomes {
		seen[o]++
	}
	if seen[incident.OutcomeCreated] != seen[incident.OutcomeResolved] ||
		seen[incident.OutcomeSuperseded] != seen[incident.OutcomeNoOpenIncident] ||
		seen[incident.OutcomeCreated]+seen[incident.OutcomeSuperseded] != keys {
		t.Fatalf("outcomes %v: every created alert must be resolved, every other one superseded", seen)
	}
	open, err := s.List(ctx, incident.FilterOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Fatalf("%d incidents left open", len(open))
	}
	if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != 0 {
		t.Fatalf("%d page jobs due for conditions that are over", n)
	}
}

// digest is the store's name for (service, dedup key) in its keys.
func digest(service, key string) string {
	sum := sha1.Sum([]byte(service + "\n" + key))
	return hex.EncodeToString(sum[:])
}

// at1030 is the firing source time of the late-recovery examples: an alert
// firing at 10:30 whose recovery from an earlier flap (10:25) arrives after it.
var at1030 = time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)

func TestLateOlderRecoveryDoesNotResolve(t *testing.T) {
	// lstep is one alert: its source time is an offset from 10:30, and it
	// is received at 10:31 (all after every source time).
	type lstep struct {
		resolved bool
		src      time.Duration
		delivery string
		hdelSrc  bool // before sending, drop the incident's src field (an incident stored before it existed)

		outcome incident.Outcome
		number  int64
		count   int64
		status  incident.Status
	}
	fire := func(src time.Duration, out incident.Outcome, count int64) lstep {
		return lstep{src: src, outcome: out, number: 1, count: count, status: incident.StatusTriggered}
	}
	recovery := func(src time.Duration, out incident.Outcome, count int64) lstep {
		st := incident.StatusResolved
		if out == incident.OutcomeStaleRecovery {
			st = incident.StatusTriggered
		}
		return lstep{resolved: true, src: src, outcome: out, number: 1, count: count, status: st}
	}
	cases := []struct {
		name   string
		steps  []lstep
		open   int // open incidents at the end
		stale  int // stale_recovery audit entries
		memory bool
	}{
		{
			name: "firing 10:30 then recovery 10:25: stale, still open",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				recovery(-5*time.Minute, incident.OutcomeStaleRecovery, 2),
			},
			open: 1, stale: 1,
		},
		{
			name: "firing 10:30 then recovery 10:30: the recovery wins",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				recovery(0, incident.OutcomeResolved, 2),
			},
			memory: true,
		},
		{
			name: "firing 10:20, repeat 10:30, recovery 10:25: stale",
			steps: []lstep{
				fire(-10*time.Minute, incident.OutcomeCreated, 1),
				fire(0, incident.OutcomeRepeated, 2),
				recovery(-5*time.Minute, incident.OutcomeStaleRecovery, 3),
			},
			open: 1, stale: 1,
		},
		{
			name: "firing 10:30, an older repeat 10:20 keeps the latest, recovery 10:25: stale",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				fire(-10*time.Minute, incident.OutcomeRepeated, 2),
				recovery(-5*time.Minute, incident.OutcomeStaleRecovery, 3),
			},
			open: 1, stale: 1,
		},
		{
			name: "an incident stored without src: the recovery resolves as before",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				{resolved: true, src: -5 * time.Minute, hdelSrc: true, outcome: incident.OutcomeResolved, number: 1, count: 2, status: incident.StatusResolved},
			},
			memory: true,
		},
		{
			name: "a stale recovery is not remembered: an older firing alert repeats, a newer recovery resolves",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				recovery(-5*time.Minute, incident.OutcomeStaleRecovery, 2),
				fire(-2*time.Minute, incident.OutcomeRepeated, 3),
				recovery(5*time.Minute, incident.OutcomeResolved, 4),
			},
			stale: 1, memory: true,
		},
		{
			name: "a stale recovery's SNS delivery replayed is a duplicate",
			steps: []lstep{
				fire(0, incident.OutcomeCreated, 1),
				{resolved: true, src: -5 * time.Minute, delivery: "sns:m1", outcome: incident.OutcomeStaleRecovery, number: 1, count: 2, status: incident.StatusTriggered},
				{resolved: true, src: -5 * time.Minute, delivery: "sns:m1", outcome: incident.OutcomeDuplicate, number: 1, count: 2, status: incident.StatusTriggered},
			},
			open: 1, stale: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			for i, st := range tc.steps {
				if st.hdelSrc {
					if err := c.HDel(ctx, "test:{inc}:i:1", "src").Err(); err != nil {
						t.Fatal(err)
					}
				}
				a := alert("k1")
				if st.resolved {
					a.Status = incident.AlertResolved
				}
				a.SourceTime = at1030.Add(st.src)
				a.ReceivedAt = at1030.Add(time.Minute)
				r, err := s.OpenDelivery(ctx, a, st.delivery)
				if err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				if r.Outcome != st.outcome || r.Number != st.number || r.AlertCount != st.count || r.Status != st.status {
					t.Fatalf("step %d = %+v, want %s INC-%d count %d %s", i+1, r, st.outcome, st.number, st.count, st.status)
				}
			}
			inc, _, err := s.Get(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if last := tc.steps[len(tc.steps)-1]; inc.AlertCount != last.count || inc.Status != last.status {
				t.Errorf("INC-1 is %s with %d alerts, want %s with %d", inc.Status, inc.AlertCount, last.status, last.count)
			}
			open, err := s.List(ctx, incident.FilterOpen, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != tc.open {
				t.Errorf("%d open incidents, want %d", len(open), tc.open)
			}
			// An open incident keeps its page job; a resolved one has none.
			if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != int64(tc.open) {
				t.Errorf("%d due jobs, want %d", n, tc.open)
			}
			msgs, err := c.XRange(ctx, "test:{inc}:events", "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			var stale []map[string]any
			for _, m := range msgs {
				if m.Values["type"] == string(incident.OutcomeStaleRecovery) {
					stale = append(stale, m.Values)
				}
			}
			if len(stale) != tc.stale {
				t.Errorf("%d stale_recovery audit entries, want %d: %v", len(stale), tc.stale, stale)
			}
			for _, v := range stale {
				want := map[string]any{
					"type": "stale_recovery", "n": "1", "by": "generic", "service": "database",
					"at":          fmt.Sprint(at1030.Add(time.Minute).UnixMilli()),
					"source_time": fmt.Sprint(at1030.Add(-5 * time.Minute).UnixMilli()),
					"firing_at":   fmt.Sprint(at1030.UnixMilli()),
				}
				if fmt.Sprint(v) != fmt.Sprint(want) {
					t.Errorf("stale entry = %v\nwant          %v", v, want)
				}
			}
			if got := len(recoveryKeys(t, c, ctx)) == 1; got != tc.memory {
				t.Errorf("recovery remembered = %v, want %v", got, tc.memory)
			}
		})
	}
}
