package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/redis/go-redis/v9"
)

func rev(t *testing.T, s *incident.Store, n int64) int64 {
	t.Helper()
	_, r, err := s.Revision(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func redisZ(due time.Time, member string) redis.Z {
	return redis.Z{Score: float64(due.UnixMilli()), Member: member}
}

func TestEveryTransitionButNoteBumpsRev(t *testing.T) {
	s, _, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	steps := []struct {
		name string
		do   func() error
		bump bool
	}{
		{"note", func() error { _, err := s.Note(ctx, n, "bob", "looking"); return err }, false},
		{"repeat alert", func() error { _, err := s.Open(ctx, alert("k")); return err }, false},
		{"ack", func() error { _, err := s.Ack(ctx, n, "alice", ""); return err }, true},
		{"escalate", func() error { _, err := s.Escalate(ctx, n, "dave", ""); return err }, true},
		{"assign", func() error { _, err := s.Assign(ctx, n, "erin", "dave"); return err }, true},
		{"refused ack twice", func() error {
			s.Ack(ctx, n, "erin", "")
			_, err := s.Ack(ctx, n, "erin", "")
			if !errors.Is(err, incident.ErrAlreadyAcknowledged) {
				return err
			}
			return nil
		}, true}, // the first ack bumps; the refused one must not
		{"source recovery", func() error {
			rec := alert("k")
			rec.Status = incident.AlertResolved
			_, err := s.Open(ctx, rec)
			return err
		}, true},
	}
	for _, st := range steps {
		before := rev(t, s, n)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := rev(t, s, n)
		if bumped := after == before+1; bumped != st.bump || after > before+1 {
			t.Fatalf("%s: rev %d -> %d, want a bump: %v", st.name, before, after, st.bump)
		}
	}
}

func TestAckSchedulesAckTimeout(t *testing.T) {
	s, c, ctx := newService(t, incident.WithAckTimeout(func(service string) time.Duration {
		if service == "database" {
			return 4 * time.Hour
		}
		return 0
	}))
	n := mustOpen(t, s, ctx, alert("k")).Number
	inc, err := s.Ack(ctx, n, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := c.ZRangeWithScores(ctx, s.JobsKey(), 0, -1).Result()
	_, st, _ := s.LoadEscalation(ctx, n)
	if len(jobs) != 1 || jobs[0].Member != incident.AckTimeoutJob(n) ||
		int64(jobs[0].Score) != inc.Acknowledged.Add(4*time.Hour).UnixMilli() || !st.AckAt.Equal(inc.Acknowledged) {
		t.Fatalf("jobs after ack = %+v, ack_at %v; want acktimeout:%d due 4h after the ack", jobs, st.AckAt, n)
	}
	// Resolve cancels it.
	if _, err := s.Resolve(ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != 0 {
		t.Fatalf("%d jobs left after resolve", n)
	}
	// Another service's policy has no timeout: no job.
	other := alert("k2")
	other.Service = "payments"
	m := mustOpen(t, s, ctx, other).Number
	c.ZRem(ctx, s.JobsKey(), incident.PageJob(m))
	s.Ack(ctx, m, "bob", "")
	if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != 0 {
		t.Fatalf("%d jobs after acking an incident whose policy has no ack timeout", n)
	}
}

// Who asked for an escalation is kept in a hash field under Redis's 64-byte
// listpack limit: the cut never splits a UTF-8 character.
func TestPendingByIsCutWholeCharacters(t *testing.T) {
	tests := []struct {
		name, by, want string
	}{
		{"short id", "dave", "dave"},
		{"ascii over the limit", strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{"two-byte characters across the limit", strings.Repeat("é", 40), strings.Repeat("é", 31)},
		{"a four-byte emoji across the limit", strings.Repeat("a", 61) + "🚨", strings.Repeat("a", 61)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, ctx := newService(t)
			n := mustOpen(t, s, ctx, alert("k")).Number
			s.Ack(ctx, n, "alice", "")
			if _, err := s.Escalate(ctx, n, tc.by, ""); err != nil {
				t.Fatal(err)
			}
			_, st, err := s.LoadEscalation(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if st.PendingBy != tc.want || !utf8.ValidString(st.PendingBy) {
				t.Fatalf("pend_by = %q (%d bytes), want %q", st.PendingBy, len(st.PendingBy), tc.want)
			}
		})
	}
}

func TestEscalateTransition(t *testing.T) {
	s, c, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	s.Ack(ctx, n, "alice", "")
	inc, err := s.Escalate(ctx, n, "dave", "")
	if err != nil {
		t.Fatal(err)
	}
	_, st, _ := s.LoadEscalation(ctx, n)
	if inc.Status != incident.StatusTriggered || inc.Owner != "alice" || st.Pending != incident.PendingEscalate || st.PendingBy != "dave" {
		t.Fatalf("after escalate: %+v, state %+v", inc, st)
	}
	jobs, _ := c.ZRange(ctx, s.JobsKey(), 0, -1).Result()
	if len(jobs) != 1 || jobs[0] != incident.PageJob(n) {
		t.Fatalf("jobs = %v, want the page job due now", jobs)
	}
	s.Resolve(ctx, n, "alice", "")
	if _, err := s.Escalate(ctx, n, "dave", ""); !errors.Is(err, incident.ErrAlreadyResolved) {
		t.Fatalf("escalate a resolved incident: %v", err)
	}
	if _, err := s.Escalate(ctx, 99, "dave", ""); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("escalate a missing incident: %v", err)
	}
}

func TestOnJobDueCalledWhenAJobIsDueNow(t *testing.T) {
	var calls atomic.Int32
	s, _, ctx := newService(t, incident.WithOnJobDue(func() { calls.Add(1) }))
	expect := func(what string, want int32) {
		t.Helper()
		if got := calls.Swap(0); got != want {
			t.Fatalf("%s: OnJobDue called %d times, want %d", what, got, want)
		}
	}
	n := mustOpen(t, s, ctx, alert("k")).Number
	expect("new incident", 1)
	mustOpen(t, s, ctx, alert("k"))
	expect("repeat", 0)
	s.Ack(ctx, n, "alice", "")
	expect("ack", 0)
	s.Assign(ctx, n, "bob", "alice")
	expect("assign", 1)
	s.Escalate(ctx, n, "bob", "")
	expect("escalate", 1)
	s.Assign(ctx, n, "bob", "alice")
	expect("refused assign", 0)
}

func TestClaimRenewRelease(t *testing.T) {
	s, c, ctx := newService(t)
	for _, k := range []string{"a", "b", "c"} {
		mustOpen(t, s, ctx, alert(k)) // page:1..3 due at t0
	}
	c.ZAdd(ctx, s.JobsKey(), redisZ(t0.Add(time.Hour), "page:4"))

	jobs, next, err := s.ClaimJobs(ctx, t0, time.Minute, 2, "r1:1")
	if err != nil || len(jobs) != 2 || jobs[0].Member != "page:1" || jobs[0].Kind != incident.JobPage ||
		jobs[0].Number != 1 || !jobs[0].Due.Equal(t0) || jobs[0].Token != "r1:1" {
		t.Fatalf("claim = %+v, %v", jobs, err)
	}
	if !next.Equal(t0) {
		t.Fatalf("next due = %v, want page:3's %v", next, t0)
	}
	more, next, _ := s.ClaimJobs(ctx, t0, time.Minute, 10, "r2:1")
	// next: the leases run out in a minute, before page:4 is due in an hour.
	if len(more) != 1 || more[0].Member != "page:3" || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second claim = %+v next %v; want only page:3, next at the first lease deadline", more, next)
	}
	if none, _, _ := s.ClaimJobs(ctx, t0.Add(30*time.Second), time.Minute, 10, "r3:1"); len(none) != 0 {
		t.Fatalf("claimed %+v while every due job is leased", none)
	}
	// Renewal is for the holder only.
	if ok, _ := s.RenewJob(ctx, jobs[0], t0.Add(30*time.Second), time.Minute); !ok {
		t.Fatal("the holder could not renew its lease")
	}
	stale := jobs[1]
	stale.Token = "r9:9"
	if ok, _ := s.RenewJob(ctx, stale, t0, time.Minute); ok {
		t.Fatal("a stranger renewed a lease")
	}
	if ok, _ := s.ReleaseJob(ctx, stale, time.Time{}); ok {
		t.Fatal("a stranger released a lease")
	}
	// Past the first lease: page:2 (not renewed) and page:3 come back, page:1 (renewed) does not.
	back, _, _ := s.ClaimJobs(ctx, t0.Add(61*time.Second), time.Minute, 10, "r4:1")
	var got []string
	for _, j := range back {
		got = append(got, j.Member)
	}
	if strings.Join(got, ",") != "page:2,page:3" {
		t.Fatalf("reclaimed %v, want page:2,page:3", got)
	}
	// The old holder's release is refused now; the new holder's works.
	if ok, _ := s.ReleaseJob(ctx, jobs[1], time.Time{}); ok {
		t.Fatal("a runner whose lease ran out released the job")
	}
	if ok, _ := s.ReleaseJob(ctx, back[0], t0.Add(2*time.Hour)); !ok {
		t.Fatal("the holder could not release")
	}
	if sc, _ := c.ZScore(ctx, s.JobsKey(), "page:2").Result(); int64(sc) != t0.Add(2*time.Hour).UnixMilli() {
		t.Fatalf("released page:2 due %v, want in two hours", sc)
	}
	due, inFlight, _ := s.JobCounts(ctx)
	if due != 2 || inFlight != 2 {
		t.Fatalf("counts %d due / %d in flight, want 2 / 2", due, inFlight)
	}
}

func TestCommit(t *testing.T) {
	s, c, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	claim := func(token string) incident.Job {
		t.Helper()
		c.ZAdd(ctx, s.JobsKey(), redisZ(t0, incident.PageJob(n)))
		jobs, _, err := s.ClaimJobs(ctx, t0.Add(time.Hour), time.Minute, 1, token)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		return jobs[0]
	}
	paged := incident.Event{Type: incident.EventPaged, At: t0, Person: "alice", By: "baton", Level: 1, Note: "first"}
	step := &incident.Step{Owner: "alice", Level: 1, LevelAt: t0, PagedAt: t0}

	j := claim("r1:1")
	ok, err := s.Commit(ctx, j, incident.Commit{Rev: 0, Step: step, Facts: []incident.Event{paged},
		Schedule: []incident.Scheduled{{Member: j.Member, Due: t0.Add(5 * time.Minute)}}})
	if err != nil || !ok {
		t.Fatalf("commit = %v, %v", ok, err)
	}
	inc, st, _ := s.LoadEscalation(ctx, n)
	if inc.Owner != "alice" || inc.Level != 1 || st.Rev != 1 || !st.PagedAt.Equal(t0) {
		t.Fatalf("after commit: %+v %+v", inc, st)
	}
	if sc, _ := c.ZScore(ctx, s.JobsKey(), j.Member).Result(); int64(sc) != t0.Add(5*time.Minute).UnixMilli() {
		t.Fatalf("rescheduled at %v", sc)
	}
	if due, inFlight, _ := s.JobCounts(ctx); due != 1 || inFlight != 0 {
		t.Fatalf("counts %d/%d after commit", due, inFlight)
	}

	// A decision made at rev 1, then an ack: the commit is void. The page it
	// sent is recorded with the escalation it belongs to, the position moves
	// forward, nothing is scheduled.
	j = claim("r1:2")
	s.Ack(ctx, n, "alice", "")
	esc := &incident.Step{Owner: "bob", Level: 2, LevelAt: t0.Add(15 * time.Minute), PagedAt: t0.Add(15 * time.Minute)}
	bobPaged := incident.Event{Type: incident.EventPaged, At: t0.Add(15 * time.Minute), Person: "bob", By: "baton", Level: 2, Note: "escalated"}
	ok, err = s.Commit(ctx, j, incident.Commit{Rev: 1, Step: esc, Facts: []incident.Event{bobPaged},
		Events:   []incident.Event{{Type: incident.EventEscalated, Person: "bob", By: "baton", Level: 2}},
		Schedule: []incident.Scheduled{{Member: j.Member, Due: t0.Add(time.Hour)}},
		Dead:     &incident.DeadLetter{Job: j.Member, Incident: n, Person: "carol", Reason: "notify", Error: "x", At: t0}})
	if err != nil || ok {
		t.Fatalf("stale commit = %v, %v; want refused", ok, err)
	}
	inc, st, _ = s.LoadEscalation(ctx, n)
	_, tl, _ := s.Get(ctx, n)
	last := tl[len(tl)-1]
	if inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" || inc.Level != 2 || st.Rev != 2 ||
		last.Type != incident.EventPaged || last.Person != "bob" || countType(tl, incident.EventEscalated) != 1 {
		t.Fatalf("after a stale commit: %+v %+v\ntimeline %+v", inc, st, tl)
	}
	if due, inFlight, _ := s.JobCounts(ctx); due != 0 || inFlight != 0 {
		t.Fatalf("a stale commit left %d due / %d in flight", due, inFlight)
	}
	if dead, _ := s.ListDead(ctx); len(dead) != 1 {
		t.Fatalf("dead letters = %+v", dead)
	}

	// A stale step behind the stored position does not move it back.
	j = claim("r1:3")
	ok, _ = s.Commit(ctx, j, incident.Commit{Rev: 0, Step: step})
	if _, st, _ = s.LoadEscalation(ctx, n); ok || st.Level != 2 {
		t.Fatalf("a stale level-1 step moved the level to %d (applied %v)", st.Level, ok)
	}

	// Failures are counted without a transition; a step clears them.
	j = claim("r1:4")
	if ok, _ := s.Commit(ctx, j, incident.Commit{Rev: 2, Failures: 3}); !ok {
		t.Fatal("failure commit refused")
	}
	if _, st, _ = s.LoadEscalation(ctx, n); st.Failures != 3 || st.Rev != 2 {
		t.Fatalf("after a failure: %+v", st)
	}
	j = claim("r1:5")
	s.Commit(ctx, j, incident.Commit{Rev: 2, Step: esc})
	if _, st, _ = s.LoadEscalation(ctx, n); st.Failures != 0 || st.Rev != 3 {
		t.Fatalf("after a step: %+v", st)
	}
	// Every value of the hash stays short enough for Redis's compact encoding.
	if enc, _ := c.ObjectEncoding(ctx, "test:{inc}:i:1").Result(); enc != "listpack" && enc != "ziplist" {
		t.Fatalf("incident hash encoding = %s, want listpack", enc)
	}
}

func TestListDeadNewestFirst(t *testing.T) {
	s, _, ctx := newService(t)
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(time.Minute)} {
		n := mustOpen(t, s, ctx, alert(string(rune('a'+i)))).Number
		jobs, _, _ := s.ClaimJobs(ctx, t0.Add(2*time.Hour), time.Minute, 1, "r")
		if _, err := s.Commit(ctx, jobs[0], incident.Commit{Rev: 0, Dead: &incident.DeadLetter{
			Job: jobs[0].Member, Incident: n, Person: "alice", Reason: "first", Error: "boom", Attempts: 5, At: at}}); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := s.ListDead(ctx)
	if err != nil || len(dead) != 3 || !dead[0].At.Equal(t0.Add(time.Hour)) || !dead[2].At.Equal(t0) {
		t.Fatalf("dead = %+v, %v", dead, err)
	}
}

func countType(tl []incident.Event, typ incident.EventType) int {
	n := 0
	for _, e := range tl {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// The note given with a manual escalation waits for the page job
// (EscalationState.PendingNote). A transition that overtakes the escalation
// writes it as a note event by whoever asked, so it is never lost; a
// committed step that consumes the escalation drops it.
func TestEscalationNoteIsKept(t *testing.T) {
	tests := []struct {
		name     string
		then     func(ctx context.Context, s *incident.Store, n int64) error
		pending  string // PendingNote afterwards
		noteEvts int    // note events by dave carrying "need the DBA"
	}{
		{"waits for the page job", func(context.Context, *incident.Store, int64) error { return nil }, "need the DBA", 0},
		{"an ack writes it as a note", func(ctx context.Context, s *incident.Store, n int64) error {
			_, err := s.Ack(ctx, n, "alice", "")
			return err
		}, "", 1},
		{"a resolve writes it as a note", func(ctx context.Context, s *incident.Store, n int64) error {
			_, err := s.Resolve(ctx, n, "alice", "")
			return err
		}, "", 1},
		{"a recovery from the source writes it as a note", func(ctx context.Context, s *incident.Store, n int64) error {
			rec := alert("k")
			rec.Status = incident.AlertResolved
			rec.ReceivedAt = t0.Add(time.Minute)
			r, err := s.Open(ctx, rec)
			if err == nil && r.Outcome != incident.OutcomeResolved {
				err = fmt.Errorf("recovery outcome %q, want resolved", r.Outcome)
			}
			return err
		}, "", 1},
		{"an assign writes it as a note", func(ctx context.Context, s *incident.Store, n int64) error {
			_, err := s.Assign(ctx, n, "bob", "alice")
			return err
		}, "", 1},
		{"another escalation writes it as a note and waits with its own", func(ctx context.Context, s *incident.Store, n int64) error {
			_, err := s.Escalate(ctx, n, "erin", "second thoughts")
			return err
		}, "second thoughts", 1},
		{"a committed step consumes it", func(ctx context.Context, s *incident.Store, n int64) error {
			_, st, err := s.LoadEscalation(ctx, n)
			if err != nil {
				return err
			}
			jobs, _, err := s.ClaimJobs(ctx, time.Now().Add(time.Hour), time.Minute, 1, "r:1")
			if err != nil || len(jobs) != 1 {
				return fmt.Errorf("claim: %v %v", jobs, err)
			}
			ok, err := s.Commit(ctx, jobs[0], incident.Commit{Rev: st.Rev, Step: &incident.Step{Owner: "bob", Level: 2}})
			if err == nil && !ok {
				err = errors.New("commit refused")
			}
			return err
		}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, ctx := newService(t)
			n := mustOpen(t, s, ctx, alert("k")).Number
			if _, err := s.Escalate(ctx, n, "dave", "need the DBA"); err != nil {
				t.Fatal(err)
			}
			if err := tc.then(ctx, s, n); err != nil {
				t.Fatal(err)
			}
			_, st, err := s.LoadEscalation(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if st.PendingNote != tc.pending {
				t.Fatalf("pending note %q, want %q", st.PendingNote, tc.pending)
			}
			_, tl, _ := s.Get(ctx, n)
			notes := 0
			for _, e := range tl {
				if e.Type == incident.EventNote && e.By == "dave" && e.Note == "need the DBA" {
					notes++
				}
			}
			if notes != tc.noteEvts {
				t.Fatalf("%d note events by dave, want %d: %+v", notes, tc.noteEvts, tl)
			}
		})
	}
}
