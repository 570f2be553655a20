package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

func TestEveryChangeEnqueuesTheChatJob(t *testing.T) {
	s, c, ctx := newService(t)
	due := func(n int64) (time.Time, bool) {
		t.Helper()
		sc, err := c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(n)).Result()
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(sc)).UTC(), true
	}
	clear := func(n int64) { c.ZRem(ctx, s.ChatJobsKey(), incident.ChatJob(n)) }

	n := mustOpen(t, s, ctx, alert("k")).Number
	if d, ok := due(n); !ok || !d.Equal(t0) {
		t.Fatalf("after create: chat job due %v (%v), want at creation", d, ok)
	}
	if pd, _, _ := s.JobCounts(ctx); pd != 1 {
		t.Fatalf("page queue holds %d jobs, want only page:%d (chat jobs live apart)", pd, n)
	}

	// A repeat enqueues it when none waits, and leaves a waiting one alone.
	clear(n)
	mustOpen(t, s, ctx, alert("k"))
	if _, ok := due(n); !ok {
		t.Fatal("a repeat enqueued no chat job")
	}
	later := t0.Add(time.Minute)
	if err := c.ZAdd(ctx, s.ChatJobsKey(), redisZ(later, incident.ChatJob(n))).Err(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, s, ctx, alert("k"))
	if d, _ := due(n); !d.Equal(later) {
		t.Fatalf("a repeat moved the throttled chat job to %v, want it left at %v", d, later)
	}

	// Transitions bring a later job forward (LT) and never push one back.
	steps := []struct {
		name string
		do   func() error
	}{
		{"note", func() error { _, err := s.Note(ctx, n, "bob", "looking"); return err }},
		{"ack", func() error { _, err := s.Ack(ctx, n, "alice", ""); return err }},
		{"escalate", func() error { _, err := s.Escalate(ctx, n, "dave", ""); return err }},
		{"assign", func() error { _, err := s.Assign(ctx, n, "erin", "dave"); return err }},
		{"resolve", func() error { _, err := s.Resolve(ctx, n, "erin", "fixed"); return err }},
	}
	for _, st := range steps {
		far := t0.Add(24 * time.Hour)
		c.ZAdd(ctx, s.ChatJobsKey(), redisZ(far, incident.ChatJob(n)))
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if d, _ := due(n); !d.Before(far) {
			t.Fatalf("%s left the chat job at %v; want it due now", st.name, d)
		}
	}
	// A refused transition enqueues nothing.
	clear(n)
	if _, err := s.Ack(ctx, n, "alice", ""); !errors.Is(err, incident.ErrAlreadyResolved) {
		t.Fatalf("ack of a resolved incident: %v", err)
	}
	if _, ok := due(n); ok {
		t.Fatal("a refused ack enqueued a chat job")
	}

	// A recovery from the source enqueues it too.
	m := mustOpen(t, s, ctx, alert("r")).Number
	clear(m)
	rec := alert("r")
	rec.Status = incident.AlertResolved
	mustOpen(t, s, ctx, rec)
	if _, ok := due(m); !ok {
		t.Fatal("a source recovery enqueued no chat job")
	}
}

func TestCommitOfAStepEnqueuesTheChatJob(t *testing.T) {
	s, c, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	c.ZRem(ctx, s.ChatJobsKey(), incident.ChatJob(n))
	jobs, _, err := s.ClaimJobs(ctx, t0, time.Minute, 1, "r:1")
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	// Only failures: no step, no redraw.
	ok, err := s.Commit(ctx, jobs[0], incident.Commit{Rev: 0, Failures: 1,
		Schedule: []incident.Scheduled{{Member: jobs[0].Member, Due: t0}}})
	if err != nil || !ok {
		t.Fatalf("commit failures: %v %v", ok, err)
	}
	if n, _ := c.ZCard(ctx, s.ChatJobsKey()).Result(); n != 0 {
		t.Fatal("a failures-only commit enqueued a chat job")
	}
	jobs, _, _ = s.ClaimJobs(ctx, t0, time.Minute, 1, "r:2")
	ok, err = s.Commit(ctx, jobs[0], incident.Commit{Rev: 0,
		Step: &incident.Step{Owner: "alice", Level: 1, LevelAt: t0, PagedAt: t0}})
	if err != nil || !ok {
		t.Fatalf("commit step: %v %v", ok, err)
	}
	if _, err := c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(n)).Result(); err != nil {
		t.Fatalf("a step (new owner) enqueued no chat job: %v", err)
	}
}

func TestChatQueueClaimAndRelease(t *testing.T) {
	s, c, ctx := newService(t)
	a := mustOpen(t, s, ctx, alert("a")).Number
	b := mustOpen(t, s, ctx, alert("b")).Number

	// The page queue never hands out chat jobs, nor the chat queue pages.
	pages, _, _ := s.ClaimJobs(ctx, t0, time.Minute, 10, "p:1")
	for _, j := range pages {
		if j.Kind != incident.JobPage {
			t.Fatalf("page claim returned %+v", j)
		}
	}
	jobs, _, err := s.ClaimChatJobs(ctx, t0, time.Minute, 10, "c:1")
	if err != nil || len(jobs) != 2 || jobs[0].Kind != incident.JobChat || jobs[0].Number != a || jobs[1].Number != b {
		t.Fatalf("chat claim = %+v, %v", jobs, err)
	}
	if d, f, _ := s.ChatJobCounts(ctx); d != 0 || f != 2 {
		t.Fatalf("chat counts %d/%d, want 0 due, 2 in flight", d, f)
	}
	if ok, _ := s.RenewJob(ctx, jobs[0], t0, time.Minute); !ok {
		t.Fatal("could not renew a chat job's lease")
	}

	// While a's job ran, a transition re-queued it due now. It is not
	// claimed a second time while the first run holds it (two runs would
	// both post the card): it waits for the lease deadline...
	if _, err := s.Ack(ctx, a, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := s.ClaimChatJobs(ctx, t0.Add(time.Second), time.Minute, 10, "c:2"); len(again) != 0 {
		t.Fatalf("claimed %+v while its first run holds it", again)
	}
	sc, _ := c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(a)).Result()
	if int64(sc) != t0.Add(time.Minute).UnixMilli() {
		t.Fatalf("re-queued chat job due %v, want at the lease deadline", time.UnixMilli(int64(sc)))
	}
	// ... and the holder's release makes it due at once, whatever it asked for.
	if ok, _ := s.ReleaseJob(ctx, jobs[0], t0.Add(time.Hour)); !ok {
		t.Fatal("release refused")
	}
	sc, _ = c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(a)).Result()
	if int64(sc) >= t0.Add(time.Minute).UnixMilli() {
		t.Fatalf("chat job of INC-%d postponed to %v by its own release", a, time.UnixMilli(int64(sc)))
	}
	// With nothing re-queued, the release schedules it.
	if ok, _ := s.ReleaseJob(ctx, jobs[1], t0.Add(time.Hour)); !ok {
		t.Fatal("release refused")
	}
	sc, _ = c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(b)).Result()
	if int64(sc) != t0.Add(time.Hour).UnixMilli() {
		t.Fatalf("chat job of INC-%d due %v, want in an hour", b, time.UnixMilli(int64(sc)))
	}
	if d, f, _ := s.ChatJobCounts(ctx); d != 2 || f != 0 {
		t.Fatalf("chat counts %d/%d, want 2 due, 0 in flight", d, f)
	}
	// ScheduleChat brings it forward, never back.
	s.ScheduleChat(ctx, b, t0.Add(2*time.Hour))
	if sc, _ = c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(b)).Result(); int64(sc) != t0.Add(time.Hour).UnixMilli() {
		t.Fatal("ScheduleChat postponed a chat job")
	}
	s.ScheduleChat(ctx, b, t0)
	if sc, _ = c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(b)).Result(); int64(sc) != t0.UnixMilli() {
		t.Fatal("ScheduleChat did not bring a chat job forward")
	}
}

func TestChatRefsAndLinks(t *testing.T) {
	s, c, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	if m, err := s.ChatRefs(ctx, n); err != nil || len(m) != 0 {
		t.Fatalf("refs of a new incident: %v %v", m, err)
	}
	if err := s.SetChatRefs(ctx, n, map[string]string{"ch": "C0001", "card": "1700000000.000100"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChatRefs(ctx, n, map[string]string{"card": "", "dig": "abc"}); err != nil {
		t.Fatal(err)
	}
	m, _ := s.ChatRefs(ctx, n)
	if len(m) != 2 || m["ch"] != "C0001" || m["dig"] != "abc" {
		t.Fatalf("refs = %v", m)
	}
	if err := s.SetChatRefs(ctx, n, map[string]string{"x": strings.Repeat("a", 64)}); err == nil {
		t.Fatal("a 64-byte value was accepted")
	}
	if enc, _ := c.ObjectEncoding(ctx, "test:{inc}:i:1:c").Result(); enc != "listpack" {
		t.Fatalf("chat refs hash encoded as %q, want listpack", enc)
	}

	if _, err := s.ChatLink(ctx, "slack:C0001"); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("unknown link: %v", err)
	}
	if err := s.LinkChat(ctx, "slack:C0001", n, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ChatLink(ctx, "slack:C0001"); err != nil || got != n {
		t.Fatalf("link = %d, %v", got, err)
	}
	if err := s.LinkChat(ctx, "slack:D1/1.2", n, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := c.TTL(ctx, "test:{inc}:l:slack:D1/1.2").Result(); ttl <= 0 {
		t.Fatalf("ttl of a message link = %v", ttl)
	}
}

// A chat job held by its chat API's 429 (HoldJob) is not claimed before the
// Retry-After ends, even though every change re-queues it due now (ZADD LT)
// while it runs or while it waits; the change's redraw happens once the
// hold ends, and the hold is gone after that run.
func TestHeldChatJobWaitsOutItsHold(t *testing.T) {
	s, c, ctx := newService(t)
	a := mustOpen(t, s, ctx, alert("a")).Number
	score := func() time.Time {
		t.Helper()
		sc, err := c.ZScore(ctx, s.ChatJobsKey(), incident.ChatJob(a)).Result()
		if err != nil {
			t.Fatalf("chat job of INC-%d not queued: %v", a, err)
		}
		return time.UnixMilli(int64(sc)).UTC()
	}
	claim := func(at time.Time, token string) []incident.Job {
		t.Helper()
		jobs, _, err := s.ClaimChatJobs(ctx, at, time.Minute, 10, token)
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	jobs := claim(t0.Add(time.Minute), "c:1")
	if len(jobs) != 1 {
		t.Fatalf("claim = %+v", jobs)
	}
	// A change while the sync runs, then the sync's 429: held for an hour.
	if _, err := s.Note(ctx, a, "bob", "looking"); err != nil {
		t.Fatal(err)
	}
	until := t0.Add(time.Hour)
	if ok, err := s.HoldJob(ctx, jobs[0], until); !ok || err != nil {
		t.Fatalf("hold = %v, %v", ok, err)
	}
	if got := score(); !got.Equal(until) {
		t.Fatalf("held chat job due %v, want at the end of the hold %v (a change while it ran must not bring it forward)", got, until)
	}
	// A change while it waits re-queues it due now; the claim keeps the hold.
	if _, err := s.Ack(ctx, a, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if got := score(); !got.Before(until) {
		t.Fatalf("the ack did not re-queue the chat job (due %v)", got)
	}
	again, next, err := s.ClaimChatJobs(ctx, t0.Add(10*time.Minute), time.Minute, 10, "c:2")
	if err != nil || len(again) != 0 {
		t.Fatalf("claimed %+v (%v) during the hold", again, err)
	}
	if !next.Equal(until) || !score().Equal(until) {
		t.Fatalf("after a claim during the hold: next %v, due %v; want both %v", next, score(), until)
	}
	// When the hold ends, it runs: once, with the incident as it is then.
	jobs = claim(until, "c:3")
	if len(jobs) != 1 || jobs[0].Number != a {
		t.Fatalf("claim at the end of the hold = %+v", jobs)
	}
	// That run took the hold away: a later release is brought forward by a
	// change as usual.
	if ok, _ := s.ReleaseJob(ctx, jobs[0], until.Add(time.Hour)); !ok {
		t.Fatal("release refused")
	}
	if _, err := s.Note(ctx, a, "bob", "still looking"); err != nil {
		t.Fatal(err)
	}
	if jobs = claim(until.Add(time.Minute), "c:4"); len(jobs) != 1 {
		t.Fatalf("claim after a change, the hold over: %+v", jobs)
	}
	if n, _ := c.HLen(ctx, "test:{inc}:holds").Result(); n != 0 {
		t.Fatalf("%d holds left", n)
	}
}

// Live first (issue 14's storm): the chat claim takes the jobs of incidents
// not resolved before those of resolved incidents, however long the
// resolved ones have waited; the resolved ones are still claimed after, by
// due time.
func TestChatClaimTakesLiveIncidentsFirst(t *testing.T) {
	cases := []struct {
		name     string
		resolved int                                                         // resolved incidents whose jobs wait ahead
		live     func(ctx context.Context, s *incident.Store, n int64) error // what happens to the live incident after it opens
	}{
		{"a new incident (triggered)", 5, func(context.Context, *incident.Store, int64) error { return nil }},
		{"an acknowledged incident", 5, func(ctx context.Context, s *incident.Store, n int64) error {
			_, err := s.Ack(ctx, n, "alice", "")
			return err
		}},
		// The scan reads the due jobs 16 at a time: the live one is on its third page.
		{"a new incident behind 40 resolved ones", 40, func(context.Context, *incident.Store, int64) error { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			var resolved []int64
			for i := range tc.resolved {
				n := mustOpen(t, s, ctx, alert("old"+strings.Repeat("x", i))).Number
				if _, err := s.Resolve(ctx, n, "alice", "fixed"); err != nil {
					t.Fatal(err)
				}
				resolved = append(resolved, n)
			}
			live := mustOpen(t, s, ctx, alert("new")).Number
			if err := tc.live(ctx, s, live); err != nil {
				t.Fatal(err)
			}
			// The resolved incidents' catch-up waited longer.
			for i, n := range resolved {
				c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0.Add(time.Duration(i-100)*time.Second), incident.ChatJob(n)))
			}
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0, incident.ChatJob(live)))

			jobs, _, err := s.ClaimChatJobs(ctx, t0, time.Minute, 1, "c:1")
			if err != nil || len(jobs) != 1 || jobs[0].Number != live {
				t.Fatalf("first claim = %+v, %v; want INC-%d's chat job before the resolved incidents'", jobs, err, live)
			}
			rest, _, err := s.ClaimChatJobs(ctx, t0, time.Minute, 100, "c:2")
			if err != nil || len(rest) != len(resolved) {
				t.Fatalf("second claim = %+v, %v; want the %d resolved incidents' jobs", rest, err, len(resolved))
			}
			for i, j := range rest {
				if j.Number != resolved[i] {
					t.Fatalf("second claim %d: INC-%d, want INC-%d (by due time)", i, j.Number, resolved[i])
				}
			}
		})
	}
}

// TestDropChatJobs: a runner with no chat drops the due chat jobs in
// batches, and leaves what a claim would leave: jobs not yet due, a job
// another replica runs, a job held by a 429.
func TestDropChatJobs(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, job string)
		dropped  bool
		dueAfter time.Time // where a kept job is due
	}{
		{"due now: dropped", func(*testing.T, *incident.Store, *redis.Client, context.Context, string) {}, true, time.Time{}},
		{"due later: kept", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, job string) {
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0.Add(time.Minute), job))
		}, false, t0.Add(time.Minute)},
		{"in flight on a replica with a chat, re-queued: kept until its lease ends", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, job string) {
			if jobs, _, err := s.ClaimChatJobs(ctx, t0, 30*time.Second, 1, "other:1"); err != nil || len(jobs) != 1 {
				t.Fatalf("claim = %v, %v", jobs, err)
			}
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0, job))
		}, false, t0.Add(30 * time.Second)},
		{"held by a 429, re-queued: kept until the hold ends", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, job string) {
			jobs, _, err := s.ClaimChatJobs(ctx, t0, 30*time.Second, 1, "other:1")
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim = %v, %v", jobs, err)
			}
			if ok, err := s.HoldJob(ctx, jobs[0], t0.Add(20*time.Second)); !ok || err != nil {
				t.Fatalf("hold = %v, %v", ok, err)
			}
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0, job))
		}, false, t0.Add(20 * time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			n := mustOpen(t, s, ctx, alert("drop")).Number
			job := incident.ChatJob(n)
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0, job))
			tc.setup(t, s, c, ctx, job)
			dropped, more, err := s.DropChatJobs(ctx, t0, 10)
			if err != nil || more {
				t.Fatalf("DropChatJobs = %d, %v, %v; want no error, no more", dropped, more, err)
			}
			if got := dropped == 1; got != tc.dropped {
				t.Fatalf("dropped %d, want dropped=%v", dropped, tc.dropped)
			}
			score, err := c.ZScore(ctx, s.ChatJobsKey(), job).Result()
			switch {
			case tc.dropped && err != redis.Nil:
				t.Fatalf("the job is still queued (due %v, %v)", score, err)
			case !tc.dropped && (err != nil || int64(score) != tc.dueAfter.UnixMilli()):
				t.Fatalf("the job is due at %v (%v), want %v", time.UnixMilli(int64(score)).UTC(), err, tc.dueAfter)
			}
		})
	}

	t.Run("a backlog in batches", func(t *testing.T) {
		s, c, ctx := newService(t)
		for i := range 25 {
			c.ZAdd(ctx, s.ChatJobsKey(), redisZ(t0, incident.ChatJob(int64(i+1))))
		}
		var batches []int
		for more := true; more; {
			dropped, m, err := s.DropChatJobs(ctx, t0, 10)
			if err != nil {
				t.Fatal(err)
			}
			batches, more = append(batches, dropped), m
		}
		if fmt.Sprint(batches) != "[10 10 5]" {
			t.Fatalf("batches dropped = %v, want [10 10 5]", batches)
		}
		if n, _ := c.ZCard(ctx, s.ChatJobsKey()).Result(); n != 0 {
			t.Fatalf("%d chat jobs left", n)
		}
	})
}
