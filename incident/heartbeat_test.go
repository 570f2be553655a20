package incident_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

var nightly = incident.Heartbeat{Name: "nightly-backup", Service: "database", Interval: time.Hour, Grace: 5 * time.Minute}

// claimHeartbeat claims the due jobs at now and returns the heartbeat job
// among them (failing when there is none).
func claimHeartbeat(t *testing.T, s *incident.Store, ctx context.Context, now time.Time, token string) incident.Job {
	t.Helper()
	jobs, _, err := s.ClaimJobs(ctx, now, 10*time.Second, 10, token)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == incident.JobHeartbeat {
			if j.Name != nightly.Name || j.Number != 0 {
				t.Fatalf("claimed %+v, want the job of %s", j, nightly.Name)
			}
			return j
		}
	}
	t.Fatalf("no heartbeat job due at %s (claimed %+v)", now, jobs)
	return incident.Job{}
}

func beat(t *testing.T, s *incident.Store, ctx context.Context, at time.Time) incident.BeatResult {
	t.Helper()
	r, err := s.Beat(ctx, nightly, at)
	if err != nil {
		t.Fatalf("beat: %v", err)
	}
	return r
}

func check(t *testing.T, s *incident.Store, ctx context.Context, j incident.Job, at time.Time) incident.HeartbeatCheck {
	t.Helper()
	c, err := s.CheckHeartbeat(ctx, j, nightly, at)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return c
}

func listOne(t *testing.T, s *incident.Store, ctx context.Context, at time.Time) incident.HeartbeatStatus {
	t.Helper()
	l, err := s.Heartbeats(ctx, []incident.Heartbeat{nightly}, at)
	if err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	return l[0]
}

// openHeartbeatIncidents lists the open incidents of the heartbeat's dedup key.
func openHeartbeatIncidents(t *testing.T, s *incident.Store, ctx context.Context) []int64 {
	t.Helper()
	list, err := s.List(ctx, incident.FilterOpen, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, inc := range list {
		if inc.DedupKey == incident.HeartbeatDedupKey(nightly.Name) {
			out = append(out, inc.Number)
		}
	}
	return out
}

// A heartbeat's whole life: waiting, up, missed (an incident opens and its
// page job is due), beat (resolved), missed again (a second incident: the
// recovery remembered for an hour does not supersede it).
func TestHeartbeatMissedOpensAndBeatResolves(t *testing.T) {
	s, c, ctx := newService(t)
	if st := listOne(t, s, ctx, t0); st.State != incident.HeartbeatWaiting || st.LastBeat != nil || st.Due != nil {
		t.Fatalf("before any beat: %+v", st)
	}
	b := beat(t, s, ctx, t0)
	if b.Status.State != incident.HeartbeatUp || !b.Status.LastBeat.Equal(t0) || !b.Status.Due.Equal(t0.Add(nightly.Window())) || b.Recovered != nil {
		t.Fatalf("first beat: %+v", b)
	}
	due, err := c.ZScore(ctx, s.JobsKey(), incident.HeartbeatJob(nightly.Name)).Result()
	if err != nil || int64(due) != t0.Add(nightly.Window()).UnixMilli() {
		t.Fatalf("deadline job due %v (%v), want %s", due, err, t0.Add(nightly.Window()))
	}
	// Not due yet: nothing to claim.
	if jobs, _, _ := s.ClaimJobs(ctx, t0.Add(time.Hour), time.Second, 10, "r:1"); len(jobs) != 0 {
		t.Fatalf("claimed before the deadline: %+v", jobs)
	}

	missAt := t0.Add(nightly.Window() + time.Second)
	if st := listOne(t, s, ctx, missAt); st.State != incident.HeartbeatMissed {
		t.Fatalf("listing past the deadline, before the job ran: %+v", st)
	}
	j := claimHeartbeat(t, s, ctx, missAt, "r:2")
	got := check(t, s, ctx, j, missAt)
	if got.Outcome != "opened" || !got.Opened.Created || got.Opened.Number == 0 {
		t.Fatalf("deadline: %+v", got)
	}
	n := got.Opened.Number
	inc, _, err := s.Get(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if inc.DedupKey != "heartbeat:nightly-backup" || inc.Service != "database" || inc.Source != "heartbeat" ||
		!strings.Contains(inc.Title, "nightly-backup") || !strings.Contains(inc.Title, "2026-11-24 09:00:00 UTC") {
		t.Fatalf("incident %+v", inc)
	}
	if _, err := c.ZScore(ctx, s.JobsKey(), incident.PageJob(n)).Result(); err != nil {
		t.Fatalf("the incident's page job is not due: %v", err)
	}
	if _, err := c.ZScore(ctx, s.JobsKey(), incident.HeartbeatJob(nightly.Name)).Result(); err == nil {
		t.Fatal("the deadline job is still queued after the incident opened")
	}
	if st := listOne(t, s, ctx, missAt); st.State != incident.HeartbeatMissed || st.Incident != n {
		t.Fatalf("listing after the miss: %+v", st)
	}

	// The next beat resolves it.
	beatAt := missAt.Add(10 * time.Minute)
	b = beat(t, s, ctx, beatAt)
	if b.Recovered == nil || b.Recovered.Outcome != incident.OutcomeResolved || b.Recovered.Number != n {
		t.Fatalf("beat after the miss: %+v", b)
	}
	if inc, _, _ := s.Get(ctx, n); inc.Status != incident.StatusResolved {
		t.Fatalf("INC-%d is %s after the beat", n, inc.Status)
	}
	if st := listOne(t, s, ctx, beatAt); st.State != incident.HeartbeatUp || !st.LastBeat.Equal(beatAt) {
		t.Fatalf("listing after the beat: %+v", st)
	}

	// Missed again: a new incident, not taken for one the recovery overtook.
	miss2 := beatAt.Add(nightly.Window())
	j = claimHeartbeat(t, s, ctx, miss2, "r:3")
	got = check(t, s, ctx, j, miss2)
	if got.Outcome != "opened" || !got.Opened.Created || got.Opened.Number == n {
		t.Fatalf("second miss: %+v", got)
	}
}

// The deadline job as it meets each state: claimed early (config grew the
// window), after a beat it did not know of, after a lost lease, for a
// heartbeat that never beat.
func TestHeartbeatCheckOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) (incident.Job, time.Time)
		outcome incident.CheckOutcome
		queued  bool // the deadline job is queued again afterwards
	}{
		{"never beat: dropped", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) (incident.Job, time.Time) {
			// A job left from a heartbeat whose state is gone (a flushed key).
			if err := c.ZAdd(ctx, s.JobsKey(), redisZ(t0, incident.HeartbeatJob(nightly.Name))).Err(); err != nil {
				t.Fatal(err)
			}
			return claimHeartbeat(t, s, ctx, t0, "r:1"), t0
		}, "waiting", false},
		{"a beat came after the claim", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) (incident.Job, time.Time) {
			beat(t, s, ctx, t0)
			at := t0.Add(nightly.Window())
			j := claimHeartbeat(t, s, ctx, at, "r:1")
			beat(t, s, ctx, at.Add(-time.Second)) // the sender's clock is a second behind: the beat still counts
			return j, at
		}, "up", true},
		{"the lease ran out and another runner holds it", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) (incident.Job, time.Time) {
			beat(t, s, ctx, t0)
			at := t0.Add(nightly.Window())
			j := claimHeartbeat(t, s, ctx, at, "r:1")
			jobs, _, err := s.ClaimJobs(ctx, at.Add(time.Minute), time.Second, 10, "r:2") // r:1's 10 s lease ran out
			if err != nil || len(jobs) != 1 {
				t.Fatalf("reclaim: %v %v", jobs, err)
			}
			return j, at.Add(time.Minute)
		}, "lost", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			j, at := tc.setup(t, s, c, ctx)
			got := check(t, s, ctx, j, at)
			if got.Outcome != tc.outcome {
				t.Fatalf("outcome %+v, want %s", got, tc.outcome)
			}
			if open := openHeartbeatIncidents(t, s, ctx); len(open) != 0 {
				t.Fatalf("incidents opened: %v", open)
			}
			_, err := c.ZScore(ctx, s.JobsKey(), j.Member).Result()
			if queued := err == nil; queued != tc.queued && tc.outcome != "lost" {
				t.Fatalf("queued %v, want %v", queued, tc.queued)
			}
		})
	}
}

// A beat racing the deadline: run the deadline's check and a beat at once,
// many times. Whichever Redis runs first, once both returned no incident of
// the heartbeat is open, and each round's deadline either opened an incident
// the beat then resolved, or saw the beat and opened nothing.
func TestHeartbeatBeatRacingTheDeadlineLeavesNothingOpen(t *testing.T) {
	s, _, ctx := newService(t)
	at := t0
	beat(t, s, ctx, at)
	opened := 0
	for round := range 60 {
		at = at.Add(nightly.Window())
		j := claimHeartbeat(t, s, ctx, at, "r:"+string(rune('a'+round%26)))
		var wg sync.WaitGroup
		var got incident.HeartbeatCheck
		var cerr, berr error
		wg.Add(2)
		go func() { defer wg.Done(); got, cerr = s.CheckHeartbeat(ctx, j, nightly, at) }()
		go func() { defer wg.Done(); _, berr = s.Beat(ctx, nightly, at) }()
		wg.Wait()
		if cerr != nil || berr != nil {
			t.Fatalf("round %d: check %v, beat %v", round, cerr, berr)
		}
		if got.Outcome == "opened" {
			opened++
		} else if got.Outcome != "up" {
			t.Fatalf("round %d: check %+v", round, got)
		}
		if open := openHeartbeatIncidents(t, s, ctx); len(open) != 0 {
			t.Fatalf("round %d (check %s): incidents %v stay open after the beat", round, got.Outcome, open)
		}
	}
	t.Logf("60 rounds: the deadline opened (and the beat resolved) %d times, saw the beat first %d times", opened, 60-opened)
}

// A refused open (the epoch marker changed) leaves a beat and a check
// without effect.
func TestHeartbeatRefusedOnAnotherEpoch(t *testing.T) {
	epoch := "e1"
	var mu sync.Mutex
	s, c, ctx := newService(t, incident.WithEpoch(func() string { mu.Lock(); defer mu.Unlock(); return epoch }))
	if err := c.Set(ctx, s.EpochKey(), "e1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	beat(t, s, ctx, t0)
	at := t0.Add(nightly.Window())
	j := claimHeartbeat(t, s, ctx, at, "r:1")
	mu.Lock()
	epoch = "e0"
	mu.Unlock()
	if _, err := s.CheckHeartbeat(ctx, j, nightly, at); !errors.Is(err, incident.ErrEpochChanged) {
		t.Fatalf("check on another epoch: %v", err)
	}
	if st := listOne(t, s, ctx, at); st.Incident != 0 || openHeartbeatIncidents(t, s, ctx) != nil {
		t.Fatalf("the refused check changed something: %+v", st)
	}
	mu.Lock()
	epoch = "e1"
	mu.Unlock()
	if got := check(t, s, ctx, j, at); got.Outcome != "opened" {
		t.Fatalf("the job was not j's any more after the refusal: %+v", got)
	}
	mu.Lock()
	epoch = "e0"
	mu.Unlock()
	if _, err := s.Beat(ctx, nightly, at.Add(time.Minute)); !errors.Is(err, incident.ErrEpochChanged) {
		t.Fatalf("beat on another epoch: %v", err)
	}
	if st := listOne(t, s, ctx, at.Add(time.Minute)); st.State != incident.HeartbeatMissed || !st.LastBeat.Equal(t0) {
		t.Fatalf("the refused beat changed the heartbeat: %+v", st)
	}
}

func TestHeartbeatAlert(t *testing.T) {
	last := time.Date(2026, 11, 30, 3, 4, 5, 0, time.FixedZone("X", 3600))
	cases := []struct {
		name   string
		status incident.AlertStatus
		want   []string
		src    time.Time
	}{
		{"missed", incident.AlertFiring, []string{"Heartbeat nightly-backup missed", "last seen 2026-11-30 02:04:05 UTC", "every 1h", "grace 5m"}, last.Add(nightly.Window())},
		{"recovered", incident.AlertResolved, []string{"nightly-backup"}, t0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := incident.HeartbeatAlert(nightly, last, tc.status, t0)
			for _, w := range tc.want {
				if !strings.Contains(a.Summary, w) {
					t.Errorf("summary %q lacks %q", a.Summary, w)
				}
			}
			if a.DedupKey != "heartbeat:nightly-backup" || a.Service != "database" || a.Status != tc.status || !a.SourceTime.Equal(tc.src) || !a.Severity.Valid() {
				t.Fatalf("alert %+v", a)
			}
		})
	}
}

// A heartbeat moved to another service while missed: its beat still
// resolves the incident opened for the old one.
func TestHeartbeatBeatResolvesAfterItsServiceChanged(t *testing.T) {
	s, _, ctx := newService(t)
	beat(t, s, ctx, t0)
	at := t0.Add(nightly.Window())
	got := check(t, s, ctx, claimHeartbeat(t, s, ctx, at, "r:1"), at)
	if got.Outcome != "opened" {
		t.Fatalf("deadline: %+v", got)
	}
	moved := nightly
	moved.Service = "payments"
	r, err := s.Beat(ctx, moved, at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r.Recovered == nil || r.Recovered.Outcome != incident.OutcomeResolved || r.Recovered.Number != got.Opened.Number {
		t.Fatalf("beat after the move: %+v", r)
	}
	if open := openHeartbeatIncidents(t, s, ctx); len(open) != 0 {
		t.Fatalf("still open: %v", open)
	}
}

// A beat from a replica whose clock is behind the one that decided the
// miss still resolves the incident (its time is raised to the miss), and
// the heartbeat's next miss still opens a new incident.
func TestHeartbeatBeatWithAClockBehindTheMiss(t *testing.T) {
	s, _, ctx := newService(t)
	beat(t, s, ctx, t0)
	miss := t0.Add(nightly.Window())
	got := check(t, s, ctx, claimHeartbeat(t, s, ctx, miss, "r:1"), miss)
	if got.Outcome != incident.CheckOpened {
		t.Fatalf("deadline: %+v", got)
	}
	behind := miss.Add(-10 * time.Minute)
	b := beat(t, s, ctx, behind)
	if b.Recovered == nil || b.Recovered.Outcome != incident.OutcomeResolved || !b.Status.LastBeat.Equal(miss) {
		t.Fatalf("a beat 10 min behind the miss: %+v (recovered %+v)", b.Status, b.Recovered)
	}
	next := miss.Add(nightly.Window())
	got = check(t, s, ctx, claimHeartbeat(t, s, ctx, next, "r:2"), next)
	if got.Outcome != incident.CheckOpened || !got.Opened.Created {
		t.Fatalf("the next miss: %+v", got)
	}
}
