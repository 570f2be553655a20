package incident_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

// commandCounter counts the commands a client sends, pipelined ones each.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// openMany opens n incidents, 200 to a millisecond (so the walk meets
// ties of equal score), and returns their numbers.
func openMany(t *testing.T, s *incident.Store, ctx context.Context, n int) []int64 {
	t.Helper()
	nums := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				a := alert(fmt.Sprint("many-", i))
				a.ReceivedAt = t0.Add(time.Duration(i/200) * time.Millisecond)
				r, err := s.Open(ctx, a)
				if err != nil {
					errs <- err
					return
				}
				nums[i] = r.Number
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return nums
}

// Listing the first open incident reads a handful of commands, not every
// open incident: the work is O(limit), counted in Redis commands.
func TestListReadsOnlyThePage(t *testing.T) {
	s, c, ctx := newService(t)
	openMany(t, s, ctx, 20_000)
	var counter commandCounter
	c.AddHook(&counter)
	for _, limit := range []int{1, 10} {
		before := counter.n.Load()
		list, err := s.List(ctx, incident.FilterOpen, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != limit {
			t.Fatalf("limit %d: %d incidents", limit, len(list))
		}
		// One range read, then the hash and the static blob of each.
		if cmds, bound := counter.n.Load()-before, int64(1+2*limit+2); cmds > bound {
			t.Errorf("List(open, limit %d) with 20,000 open sent %d Redis commands, want at most %d", limit, cmds, bound)
		}
	}
}

// Walking the cursors returns every incident exactly once, in order, even
// while incidents are opened and resolved during the walk; a cursor from
// another listing or not from baton is refused.
func TestListPageWalk(t *testing.T) {
	s, _, ctx := newService(t)
	nums := openMany(t, s, ctx, 20_000)
	// Resolve every 7th so the resolved listing has ties too.
	for i := 0; i < len(nums); i += 7 {
		if _, err := s.Resolve(ctx, nums[i], "alice", ""); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(t *testing.T, f incident.Filter, limit int, during func(page int)) []int64 {
		t.Helper()
		var got []int64
		var prev time.Time
		cursor := ""
		for page := 0; ; page++ {
			list, next, err := s.ListPage(ctx, f, limit, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) > limit {
				t.Fatalf("page %d has %d incidents, limit %d", page, len(list), limit)
			}
			for _, inc := range list {
				got = append(got, inc.Number)
				// Open: oldest created first; resolved: newest resolved first.
				at, late := inc.Created, inc.Created.Before(prev)
				if f == incident.FilterResolved {
					at, late = inc.Resolved, !prev.IsZero() && inc.Resolved.After(prev)
				}
				if late {
					t.Fatalf("INC-%d (%v) comes after one at %v: out of order", inc.Number, at, prev)
				}
				prev = at
			}
			if next == "" {
				return got
			}
			if during != nil {
				during(page)
			}
			cursor = next
		}
	}
	once := func(t *testing.T, got []int64) map[int64]bool {
		t.Helper()
		seen := map[int64]bool{}
		for _, n := range got {
			if seen[n] {
				t.Fatalf("INC-%d returned twice", n)
			}
			seen[n] = true
		}
		return seen
	}

	t.Run("open, while others open and resolve", func(t *testing.T) {
		var resolvedDuring []int64
		got := walk(t, incident.FilterOpen, 777, func(page int) {
			// A new incident (created later than every other) and a resolve
			// of one not yet reached.
			a := alert(fmt.Sprint("during-", page))
			a.ReceivedAt = t0.Add(time.Hour)
			mustOpen(t, s, ctx, a)
			n := nums[len(nums)-1-page*3]
			if _, err := s.Resolve(ctx, n, "bob", ""); err == nil {
				resolvedDuring = append(resolvedDuring, n)
			}
		})
		seen := once(t, got)
		gone := map[int64]bool{}
		for _, n := range resolvedDuring {
			gone[n] = true
		}
		for i, n := range nums {
			if i%7 == 0 || gone[n] {
				continue
			}
			if !seen[n] {
				t.Errorf("INC-%d (open all along) was not returned", n)
			}
		}
		for i, n := range nums {
			if i%7 == 0 && seen[n] {
				t.Errorf("INC-%d (resolved before the walk) was returned", n)
			}
		}
	})
	t.Run("resolved, newest first", func(t *testing.T) {
		got := walk(t, incident.FilterResolved, 333, nil)
		seen := once(t, got)
		for i, n := range nums {
			if i%7 == 0 && !seen[n] {
				t.Errorf("INC-%d (resolved) was not returned", n)
			}
		}
	})
	t.Run("triggered only", func(t *testing.T) {
		if _, err := s.Ack(ctx, nums[1], "alice", ""); err != nil {
			t.Fatal(err)
		}
		got := walk(t, incident.FilterTriggered, 1000, nil)
		seen := once(t, got)
		if seen[nums[1]] {
			t.Errorf("the acknowledged INC-%d is listed as triggered", nums[1])
		}
		acked := walk(t, incident.FilterAcknowledged, 1, nil)
		if len(acked) != 1 || acked[0] != nums[1] {
			t.Errorf("acknowledged = %v, want [%d]", acked, nums[1])
		}
	})
	t.Run("bad cursors", func(t *testing.T) {
		_, openCursor, err := s.ListPage(ctx, incident.FilterOpen, 1, "")
		if err != nil || openCursor == "" {
			t.Fatalf("first page: cursor %q, %v", openCursor, err)
		}
		for _, bad := range []struct {
			name   string
			f      incident.Filter
			cursor string
		}{
			{"not base64", incident.FilterOpen, "!!!"},
			{"not a cursor", incident.FilterOpen, "aGVsbG8"},
			{"an open cursor for the resolved listing", incident.FilterResolved, openCursor},
		} {
			_, _, err := s.ListPage(ctx, bad.f, 10, bad.cursor)
			if err == nil || incident.ErrorCode(err) != incident.Invalid {
				t.Errorf("%s: err = %v, want code Invalid", bad.name, err)
			}
		}
	})
}

// ListNewest chooses the newest by number among incidents opened in the same
// millisecond: Redis orders equal scores by their members' bytes ("9" after
// "10"), so a cut by ZREVRANGE alone left INC-10 out and put INC-5 in.
func TestListNewestTies(t *testing.T) {
	cases := []struct {
		name   string
		open   int     // incidents opened
		perMs  int     // this many share each millisecond
		limit  int     //
		first  int64   // newest listed
		last   int64   // oldest listed
		remove []int64 // resolved before the list
	}{
		{name: "all in one millisecond", open: 25, perMs: 25, limit: 20, first: 25, last: 6},
		{name: "ties across the cut", open: 25, perMs: 10, limit: 20, first: 25, last: 6},
		{name: "no ties", open: 25, perMs: 1, limit: 20, first: 25, last: 6},
		{name: "fewer than the limit", open: 12, perMs: 12, limit: 20, first: 12, last: 1},
		{name: "a resolved one is left out", open: 25, perMs: 25, limit: 20, first: 24, last: 5, remove: []int64{25}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, ctx := newService(t)
			for i := range tc.open {
				a := alert(fmt.Sprint("tie-", i))
				a.ReceivedAt = t0.Add(time.Duration(i/tc.perMs) * time.Millisecond)
				mustOpen(t, s, ctx, a)
			}
			for _, n := range tc.remove {
				if _, err := s.Resolve(ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
			}
			list, total, err := s.ListNewest(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(tc.open - len(tc.remove)); total != want {
				t.Fatalf("total %d, want %d", total, want)
			}
			var got []int64
			for _, inc := range list {
				got = append(got, inc.Number)
			}
			if len(got) == 0 || got[0] != tc.first || got[len(got)-1] != tc.last {
				t.Fatalf("listed %v, want INC-%d down to INC-%d", got, tc.first, tc.last)
			}
			for i := 1; i < len(got); i++ {
				if got[i] != got[i-1]-1 {
					t.Fatalf("listed %v: not every number, newest first", got)
				}
			}
		})
	}
}

// TestListNewestWhere: /incident list mine and triggered read the open set
// through a filter, newest first, counting every match, across batches.
func TestListNewestWhere(t *testing.T) {
	cases := []struct {
		name        string
		open, acked int // incidents opened; of them, the oldest acked acknowledged
		limit       int
		triggered   bool
		first, last int64
		total       int64
	}{
		{name: "every open one", open: 30, limit: 20, first: 30, last: 11, total: 30},
		{name: "triggered leaves the acknowledged out", open: 30, acked: 25, limit: 20, triggered: true, first: 30, last: 26, total: 5},
		{name: "more than a batch", open: 300, acked: 10, limit: 20, triggered: true, first: 300, last: 281, total: 290},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, ctx := newService(t)
			for i := range tc.open {
				mustOpen(t, s, ctx, alert(fmt.Sprint("where-", i)))
			}
			for n := int64(1); n <= int64(tc.acked); n++ {
				if _, err := s.Ack(ctx, n, "bob", ""); err != nil {
					t.Fatal(err)
				}
			}
			list, total, err := s.ListNewestWhere(ctx, tc.limit, func(inc incident.Incident) bool {
				return !tc.triggered || inc.Status == incident.StatusTriggered
			})
			if err != nil {
				t.Fatal(err)
			}
			if total != tc.total {
				t.Fatalf("total %d, want %d", total, tc.total)
			}
			if len(list) == 0 || list[0].Number != tc.first || list[len(list)-1].Number != tc.last {
				t.Fatalf("listed %d incidents, want INC-%d down to INC-%d", len(list), tc.first, tc.last)
			}
		})
	}
}
