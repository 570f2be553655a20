package incident_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func newService(t *testing.T, opts ...incident.StoreOption) (*incident.Store, *redis.Client, context.Context) {
	t.Helper()
	srv := redistest.Start(t)
	c := srv.Client()
	s := incident.NewStore(c, "test:", opts...)
	now := t0
	var mu sync.Mutex
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	return s, c, redistest.Ctx(t)
}

func alert(key string) incident.Alert {
	return incident.Alert{
		Source: "generic", Service: "database", DedupKey: key, Summary: "disk full on db-1",
		Severity: incident.SevWarning, Status: incident.AlertFiring, ReceivedAt: t0,
		Links: []incident.Link{{Text: "query", URL: "https://example.com/q"}},
	}
}

func mustOpen(t *testing.T, s *incident.Store, ctx context.Context, a incident.Alert) incident.OpenResult {
	t.Helper()
	r, err := s.Open(ctx, a)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return r
}

func TestOpenCreatesIncidentWithPageJobDueNow(t *testing.T) {
	s, c, ctx := newService(t)
	r := mustOpen(t, s, ctx, alert("k1"))
	if !r.Created || r.Number != 1 || r.AlertCount != 1 || r.Outcome != incident.OutcomeCreated {
		t.Fatalf("first open = %+v, want created INC-1 with count 1", r)
	}
	inc, tl, err := s.Get(ctx, r.Number)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != incident.StatusTriggered || inc.Title != "disk full on db-1" || inc.Service != "database" ||
		!inc.Created.Equal(t0) || len(inc.Links) != 1 || inc.Severity != incident.SevWarning {
		t.Fatalf("stored incident = %+v", inc)
	}
	if len(tl) != 1 || tl[0].Type != incident.EventOpened || !tl[0].At.Equal(t0) || tl[0].By != "generic" {
		t.Fatalf("timeline = %+v, want one opened event", tl)
	}
	due, err := c.ZRangeWithScores(ctx, s.JobsKey(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Member != "page:1" || int64(due[0].Score) != t0.UnixMilli() {
		t.Fatalf("jobs = %+v, want page:1 due at the alert's arrival", due)
	}
}

func TestOpenDedup(t *testing.T) {
	s, _, ctx := newService(t)
	first := mustOpen(t, s, ctx, alert("k1"))
	crit := alert("k1")
	crit.Severity = incident.SevCritical
	crit.ReceivedAt = t0.Add(2 * time.Minute)
	again := mustOpen(t, s, ctx, crit)
	if again.Created || again.Number != first.Number || again.AlertCount != 2 || again.Outcome != incident.OutcomeRepeated {
		t.Fatalf("repeat = %+v, want INC-%d count 2 not created", again, first.Number)
	}
	other := alert("k1")
	other.Service = "payments"
	if r := mustOpen(t, s, ctx, other); !r.Created || r.Number == first.Number {
		t.Fatalf("same key on another service = %+v, want a new incident", r)
	}
	inc, tl, _ := s.Get(ctx, first.Number)
	if inc.Severity != incident.SevCritical {
		t.Errorf("severity after a critical repeat = %s, want critical", inc.Severity)
	}
	if !inc.LastSeen.Equal(t0.Add(2*time.Minute)) || !inc.FirstSeen.Equal(t0) {
		t.Errorf("first/last seen = %v/%v", inc.FirstSeen, inc.LastSeen)
	}
	if len(tl) != 2 || tl[1].Type != incident.EventRepeated {
		t.Errorf("timeline = %+v, want opened then repeated", tl)
	}
}

func TestThousandIdenticalAlertsOneIncident(t *testing.T) {
	s, c, ctx := newService(t)
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := s.Open(ctx, alert("storm")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	open, err := s.List(ctx, incident.FilterOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].AlertCount != 1000 {
		t.Fatalf("open incidents = %+v, want one with alert_count 1000", open)
	}
	// Repeats within a minute of each other leave a single timeline line.
	if n, _ := c.LLen(ctx, "test:{inc}:i:1:t").Result(); n != 1 {
		t.Fatalf("timeline length after a storm = %d, want 1", n)
	}
}

func TestResolvedKeyOpensNewIncident(t *testing.T) {
	s, _, ctx := newService(t)
	first := mustOpen(t, s, ctx, alert("k1"))
	if _, err := s.Resolve(ctx, first.Number, "alice", "fixed"); err != nil {
		t.Fatal(err)
	}
	next := mustOpen(t, s, ctx, alert("k1"))
	if !next.Created || next.Number == first.Number {
		t.Fatalf("after resolve the same key gave %+v, want a new incident", next)
	}
}

func TestRecoveryAlert(t *testing.T) {
	s, c, ctx := newService(t)
	rec := alert("k1")
	rec.Status = incident.AlertResolved
	if r := mustOpen(t, s, ctx, rec); r.Outcome != incident.OutcomeNoOpenIncident || r.Number != 0 {
		t.Fatalf("recovery with nothing open = %+v", r)
	}
	if n, _ := c.Exists(ctx, "test:{inc}:seq").Result(); n != 0 {
		t.Fatal("a recovery with nothing open allocated an incident number")
	}
	// The alert fires after that recovery (an older one would be superseded
	// by it: TestRecoveryOvertakesAlert), and recovers once more.
	fire := alert("k1")
	fire.ReceivedAt = t0.Add(time.Minute)
	first := mustOpen(t, s, ctx, fire)
	rec.ReceivedAt = t0.Add(2 * time.Minute)
	r := mustOpen(t, s, ctx, rec)
	if r.Outcome != incident.OutcomeResolved || r.Number != first.Number || r.Status != incident.StatusResolved {
		t.Fatalf("recovery = %+v, want INC-%d resolved", r, first.Number)
	}
	inc, tl, _ := s.Get(ctx, first.Number)
	if inc.Status != incident.StatusResolved || inc.Resolved.IsZero() {
		t.Fatalf("incident after recovery = %+v", inc)
	}
	if last := tl[len(tl)-1]; last.Type != incident.EventResolved || last.By != "generic" {
		t.Fatalf("last event = %+v, want resolved by the source", last)
	}
	if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != 0 {
		t.Fatalf("%d jobs left after recovery, want 0", n)
	}
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(ctx context.Context, s *incident.Store, n int64)
		act     func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error)
		wantErr error
		say     string // the refusal's sentence (incident.ErrorMessage)
		want    incident.Status
		owner   string
		jobs    []string
	}{
		{
			name: "ack a triggered incident",
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Ack(ctx, n, "alice", "")
			},
			want: incident.StatusAcknowledged, owner: "alice",
		},
		{
			name:  "ack twice",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Ack(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Ack(ctx, n, "bob", "")
			},
			wantErr: incident.ErrAlreadyAcknowledged, say: "INC-1 is already acknowledged by alice.", want: incident.StatusAcknowledged, owner: "alice",
		},
		{
			name:  "ack a resolved incident",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Resolve(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Ack(ctx, n, "bob", "")
			},
			wantErr: incident.ErrAlreadyResolved, say: "INC-1 is already resolved.", want: incident.StatusResolved, owner: "alice",
		},
		{
			name:  "resolve a resolved incident",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Resolve(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Resolve(ctx, n, "bob", "")
			},
			wantErr: incident.ErrAlreadyResolved, say: "INC-1 is already resolved.", want: incident.StatusResolved, owner: "alice",
		},
		{
			name:  "resolve an acknowledged incident keeps its owner",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Ack(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Resolve(ctx, n, "bob", "rolled back")
			},
			want: incident.StatusResolved, owner: "alice",
		},
		{
			name:  "assign re-triggers and pages the new owner",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Ack(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Assign(ctx, n, "bob", "alice")
			},
			want: incident.StatusTriggered, owner: "bob", jobs: []string{"page:1"},
		},
		{
			name:  "assign to the current owner",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Ack(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Assign(ctx, n, "alice", "alice")
			},
			wantErr: incident.ErrSameOwner, say: "INC-1 is already assigned to alice.", want: incident.StatusAcknowledged, owner: "alice",
		},
		{
			name:  "assign a resolved incident",
			setup: func(ctx context.Context, s *incident.Store, n int64) { s.Resolve(ctx, n, "alice", "") },
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Assign(ctx, n, "bob", "alice")
			},
			wantErr: incident.ErrAlreadyResolved, say: "INC-1 is already resolved.", want: incident.StatusResolved, owner: "alice",
		},
		{
			name: "ack an unknown incident",
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Ack(ctx, 99, "alice", "")
			},
			wantErr: incident.ErrNotFound, say: "There is no INC-99.", want: incident.StatusTriggered, jobs: []string{"page:1"},
		},
		{
			name: "note on a triggered incident changes nothing else",
			act: func(ctx context.Context, s *incident.Store, n int64) (incident.Incident, error) {
				return s.Note(ctx, n, "bob", "looking")
			},
			want: incident.StatusTriggered, jobs: []string{"page:1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t)
			n := mustOpen(t, s, ctx, alert("k")).Number
			if tc.setup != nil {
				tc.setup(ctx, s, n)
			}
			before, _ := c.LLen(ctx, "test:{inc}:i:1:t").Result()
			_, err := tc.act(ctx, s, n)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := incident.ErrorMessage(err); got != tc.say {
				t.Fatalf("sentence %q, want %q", got, tc.say)
			}
			inc, tl, _ := s.Get(ctx, n)
			if inc.Status != tc.want || inc.Owner != tc.owner {
				t.Fatalf("after: status %s owner %q, want %s %q", inc.Status, inc.Owner, tc.want, tc.owner)
			}
			if tc.wantErr != nil && int64(len(tl)) != before {
				t.Fatalf("a refused transition wrote the timeline: %d -> %d events", before, len(tl))
			}
			if tc.wantErr == nil && int64(len(tl)) != before+1 {
				t.Fatalf("timeline grew %d -> %d, want one event", before, len(tl))
			}
			jobs, _ := c.ZRange(ctx, s.JobsKey(), 0, -1).Result()
			if len(jobs) != len(tc.jobs) || (len(jobs) > 0 && jobs[0] != tc.jobs[0]) {
				t.Fatalf("jobs = %v, want %v", jobs, tc.jobs)
			}
			open, _ := s.List(ctx, incident.FilterOpen, 0)
			if isOpen := len(open) == 1; isOpen != (tc.want != incident.StatusResolved) {
				t.Fatalf("open index holds %d incidents with status %s", len(open), tc.want)
			}
		})
	}
}

func TestConcurrentTransitionsOneWinner(t *testing.T) {
	s, _, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("k")).Number
	race := func(op func(by string) error, wantLoser error) {
		t.Helper()
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := op("p" + string(rune('a'+g%26)))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, wantLoser):
					losses.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || losses.Load() != 49 {
			t.Fatalf("wins %d losses %d, want exactly 1 and 49", wins.Load(), losses.Load())
		}
	}
	race(func(by string) error { _, err := s.Ack(ctx, n, by, ""); return err }, incident.ErrAlreadyAcknowledged)
	race(func(by string) error { _, err := s.Resolve(ctx, n, by, ""); return err }, incident.ErrAlreadyResolved)
	_, tl, _ := s.Get(ctx, n)
	var acks, resolves int
	for _, e := range tl {
		switch e.Type {
		case incident.EventAcknowledged:
			acks++
		case incident.EventResolved:
			resolves++
		}
	}
	if acks != 1 || resolves != 1 {
		t.Fatalf("timeline has %d acks and %d resolves, want 1 each", acks, resolves)
	}
}

func TestListFilters(t *testing.T) {
	s, _, ctx := newService(t)
	a := mustOpen(t, s, ctx, alert("a")).Number
	b := mustOpen(t, s, ctx, alert("b")).Number
	c := mustOpen(t, s, ctx, alert("c")).Number
	s.Ack(ctx, b, "alice", "")
	s.Resolve(ctx, c, "alice", "")
	tests := []struct {
		f    incident.Filter
		want []int64
	}{
		{incident.FilterOpen, []int64{a, b}},
		{incident.FilterTriggered, []int64{a}},
		{incident.FilterAcknowledged, []int64{b}},
		{incident.FilterResolved, []int64{c}},
	}
	for _, tc := range tests {
		t.Run(string(tc.f), func(t *testing.T) {
			got, err := s.List(ctx, tc.f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d incidents, want %v", len(got), tc.want)
			}
			for i := range got {
				if got[i].Number != tc.want[i] {
					t.Fatalf("got INC-%d at %d, want INC-%d", got[i].Number, i, tc.want[i])
				}
			}
		})
	}
	if _, err := incident.ParseFilter("closed"); err == nil {
		t.Fatal("ParseFilter accepted closed")
	}
}

func TestOpenRejectsIncompleteAlert(t *testing.T) {
	s, c, ctx := newService(t)
	for name, a := range map[string]incident.Alert{
		"no service":   {DedupKey: "k", Summary: "x", Severity: incident.SevInfo},
		"no dedup key": {Service: "database", Summary: "x", Severity: incident.SevInfo},
		"bad severity": {Service: "database", DedupKey: "k", Summary: "x", Severity: "urgent"},
	} {
		if _, err := s.Open(ctx, a); err == nil {
			t.Errorf("%s: Open accepted it", name)
		}
	}
	if n, _ := c.DBSize(ctx).Result(); n != 0 {
		t.Fatalf("refused alerts left %d keys", n)
	}
}

func TestOpenDeliveryOnce(t *testing.T) {
	s, c, ctx := newService(t)
	first, err := s.OpenDelivery(ctx, alert("k"), "msg-1")
	if err != nil || !first.Created {
		t.Fatalf("first delivery = %+v, %v", first, err)
	}
	again, err := s.OpenDelivery(ctx, alert("k"), "msg-1")
	if err != nil || again.Outcome != incident.OutcomeDuplicate || again.Number != first.Number {
		t.Fatalf("replayed delivery = %+v, %v; want duplicate of INC-%d", again, err, first.Number)
	}
	inc, _, _ := s.Get(ctx, first.Number)
	if inc.AlertCount != 1 {
		t.Fatalf("alert_count after a replay = %d, want 1", inc.AlertCount)
	}
	other, _ := s.OpenDelivery(ctx, alert("k"), "msg-2")
	if other.Outcome != incident.OutcomeRepeated || other.AlertCount != 2 {
		t.Fatalf("a new delivery of the same alert = %+v, want repeated count 2", other)
	}
	ttl, _ := c.PTTL(ctx, "test:{inc}:d:msg-1").Result()
	if ttl < 23*time.Hour {
		t.Fatalf("delivery marker ttl = %v, want about a day", ttl)
	}
}

func TestDetailsKeptAndCapped(t *testing.T) {
	s, _, ctx := newService(t)
	a := alert("small")
	a.Details = map[string]any{"query": "_sourceCategory=prod", "results": []any{map[string]any{"count": 3.0}}}
	n := mustOpen(t, s, ctx, a).Number
	d, err := s.Details(ctx, n)
	if err != nil || d["query"] != "_sourceCategory=prod" {
		t.Fatalf("details = %v, %v", d, err)
	}
	big := alert("big")
	big.Details = map[string]any{"raw": string(make([]byte, 10000))}
	n = mustOpen(t, s, ctx, big).Number
	d, _ = s.Details(ctx, n)
	if _, ok := d["truncated"]; !ok || d["raw"] != nil {
		t.Fatalf("10 KB of details were kept as %v, want a truncation note", d)
	}
	if _, err := s.Details(ctx, 999); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("details of a missing incident: %v", err)
	}
}

// Open calls from many goroutines travel in pipelines; each must still get
// its own answer, and a Redis that forgot the script (restart) must not lose one.
func TestBatchedOpenAnswersEachCaller(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	s := incident.NewStore(c, "test:")
	defer s.Close()
	ctx := redistest.Ctx(t)
	var wg sync.WaitGroup
	nums := make([]int64, 200)
	for i := range nums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Open(ctx, alert("key-"+strconv.Itoa(i)))
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = r.Number
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, n := range nums {
		if n < 1 || n > 200 || seen[n] {
			t.Fatalf("caller %d got INC-%d (duplicate or out of range)", i, n)
		}
		seen[n] = true
	}
	// SCRIPT FLUSH is what a restarted Redis looks like to EVALSHA.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Open(ctx, alert("after-flush-"+strconv.Itoa(i))); err != nil {
				t.Errorf("open after SCRIPT FLUSH: %v", err)
			}
		}()
	}
	wg.Wait()
	open, _ := s.List(ctx, incident.FilterOpen, 1000)
	if len(open) != 250 {
		t.Fatalf("%d open incidents, want 250", len(open))
	}
	s.Close()
	if _, err := s.Open(ctx, alert("closed")); err == nil {
		t.Fatal("Open after Close succeeded")
	}
}

// Layout names the very keys the scripts write, for readers that scan them.
func TestLayoutNamesTheStoredKeys(t *testing.T) {
	s, c, ctx := newService(t)
	l := incident.NewLayout("test:")
	if _, err := s.Open(ctx, alert("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, alert("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, 2, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Get(ctx, l.Seq()).Int64(); err != nil || n != 2 {
		t.Errorf("%s = %d, %v; want 2", l.Seq(), n, err)
	}
	if v, err := c.HGet(ctx, l.Incident(1), "created").Int64(); err != nil || v <= 0 {
		t.Errorf("%s created = %d, %v", l.Incident(1), v, err)
	}
	if n, err := c.LLen(ctx, l.Timeline(1)).Result(); err != nil || n != 1 {
		t.Errorf("%s has %d entries, %v; want the opened event", l.Timeline(1), n, err)
	}
	if _, err := c.ZScore(ctx, l.Open(), "1").Result(); err != nil {
		t.Errorf("INC-1 not in %s: %v", l.Open(), err)
	}
	if _, err := c.ZScore(ctx, l.Resolved(), "2").Result(); err != nil {
		t.Errorf("INC-2 not in %s: %v", l.Resolved(), err)
	}
}
