package incident

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/redistest"
)

// TestCoalescePlan is the coalescing decision: which calls of a batch go
// as one script call.
func TestCoalescePlan(t *testing.T) {
	f := func(dk, merge string) callKind { return callKind{dk: dk, merge: merge} }
	r := func(dk string) callKind { return callKind{dk: dk} }
	cases := []struct {
		name  string
		kinds []callKind
		want  [][]int
	}{
		{"one call", []callKind{f("a", "m")}, [][]int{{0}}},
		{"duplicates merge", []callKind{f("a", "m"), f("a", "m"), f("a", "m")}, [][]int{{0, 1, 2}}},
		{"other keys in between: merged at the first's place",
			[]callKind{f("a", "m"), f("b", "m"), f("a", "m"), f("b", "m")}, [][]int{{0, 2}, {1, 3}}},
		{"a recovery splits its key's run", []callKind{f("a", "m"), f("a", "m"), r("a"), f("a", "m"), f("a", "m")},
			[][]int{{0, 1}, {2}, {3, 4}}},
		{"a recovery of another key splits nothing", []callKind{f("a", "m"), r("b"), f("a", "m")}, [][]int{{0, 2}, {1}}},
		{"recoveries never merge", []callKind{r("a"), r("a")}, [][]int{{0}, {1}}},
		{"other arguments (source, epoch, group) do not merge and end the run",
			[]callKind{f("a", "m"), f("a", "n"), f("a", "m")}, [][]int{{0}, {1}, {2}}},
		{"a call of no key merges with nothing", []callKind{f("", ""), f("", "")}, [][]int{{0}, {1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := coalescePlan(tc.kinds); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("plan %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMergeKind: what of an open.lua call decides whether it merges.
func TestMergeKind(t *testing.T) {
	s := NewStore(nil, "p:", WithGrouping(func(string) Grouping { return Grouping{Window: time.Hour, By: []string{"details.host"}} }),
		WithSealTTL(time.Hour))
	a := Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "x", Severity: SevWarning, Status: AlertFiring,
		ReceivedAt: time.UnixMilli(1000), Details: map[string]any{"host": "h1"}}
	kind := func(a Alert, id string) callKind {
		k, args, err := s.openCall(a, id)
		if err != nil {
			t.Fatal(err)
		}
		return mergeKind(k, args)
	}
	base := kind(a, "")
	if base.dk == "" || base.merge == "" {
		t.Fatalf("a firing alert: %+v", base)
	}
	same := []struct {
		name string
		edit func(*Alert)
		id   string
	}{
		{"another receive time", func(a *Alert) { a.ReceivedAt = time.UnixMilli(2000) }, ""},
		{"another source time", func(a *Alert) { a.SourceTime = time.UnixMilli(5) }, ""},
		{"another summary", func(a *Alert) { a.Summary = "y" }, ""},
		{"another severity", func(a *Alert) { a.Severity = SevCritical }, ""},
		{"a delivery id", func(*Alert) {}, "sns-1"},
		{"a sealed payload", func(a *Alert) { a.Sealed = "env" }, ""},
	}
	for _, tc := range same {
		b := a
		tc.edit(&b)
		if got := kind(b, tc.id); got != base {
			t.Errorf("%s: %+v, want it to merge with %+v", tc.name, got, base)
		}
	}
	other := []struct {
		name string
		edit func(*Alert)
	}{
		{"another source", func(a *Alert) { a.Source = "sumologic" }},
		{"another group", func(a *Alert) { a.Details = map[string]any{"host": "h2"} }},
		{"another key", func(a *Alert) { a.DedupKey = "k2" }},
	}
	for _, tc := range other {
		b := a
		tc.edit(&b)
		if got := kind(b, ""); got.merge == base.merge && got.dk == base.dk {
			t.Errorf("%s: %+v merges with %+v", tc.name, got, base)
		}
	}
	r := a
	r.Status = AlertResolved
	if got := kind(r, ""); got.merge != "" || got.dk != base.dk {
		t.Errorf("a recovery: %+v, want its key and no merge", got)
	}
}

// step is one alert of a coalescing case, with its delivery id.
type step struct {
	a  Alert
	id string
}

// TestCoalescedBatchIsOpenInOrder: a batch whose duplicates the batcher
// merges leaves Redis exactly as the same alerts opened one by one, in the
// order the batcher sends them (each key's calls in batch order), and
// answers each caller as that would have: same replies, same keys and
// values (incidents, timelines, jobs, delivery markers, recovery memory,
// maintenance counts, sealed payloads, the audit stream).
func TestCoalescedBatchIsOpenInOrder(t *testing.T) {
	at := func(key string, recv, src int, mod ...func(*Alert)) Alert {
		a := Alert{Source: "generic", Service: "database", DedupKey: key, Summary: "disk full", Severity: SevWarning,
			Status: AlertFiring, ReceivedAt: t0c.Add(time.Duration(recv) * time.Second), SourceTime: t0c.Add(time.Duration(src) * time.Second),
			Details: map[string]any{"host": "db-1"}}
		for _, m := range mod {
			m(&a)
		}
		return a
	}
	rec := func(a *Alert) { a.Status = AlertResolved }
	sev := func(s Severity) func(*Alert) { return func(a *Alert) { a.Severity = s } }
	src := func(s string) func(*Alert) { return func(a *Alert) { a.Source = s } }
	sealed := func(s string) func(*Alert) { return func(a *Alert) { a.Sealed = s } }
	host := func(h string) func(*Alert) { return func(a *Alert) { a.Details = map[string]any{"host": h} } }
	title := func(s string) func(*Alert) { return func(a *Alert) { a.Summary = s } }
	rep := func(n int, s step) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = s
			out[i].a.ReceivedAt = s.a.ReceivedAt.Add(time.Duration(i) * time.Millisecond)
		}
		return out
	}
	grouped := func(string) Grouping { return Grouping{Window: time.Hour, By: []string{"details.host"}} }
	cases := []struct {
		name     string
		opts     []StoreOption
		before   []step // opened one by one first, in both stores
		maint    bool   // a maintenance window of the service is active
		batch    []step
		merged   int // how many script calls the batch must take at most
		outcomes []Outcome
	}{
		{name: "a storm opens one incident", batch: rep(5, step{a: at("a", 1, 1)}), merged: 1,
			outcomes: []Outcome{OutcomeCreated, OutcomeRepeated, OutcomeRepeated, OutcomeRepeated, OutcomeRepeated}},
		{name: "repeats of an incident open before", before: []step{{a: at("a", 0, 0)}}, batch: rep(4, step{a: at("a", 1, 1)}), merged: 1},
		{name: "SNS redeliveries inside the batch count once",
			batch:    []step{{at("a", 1, 1), "m1"}, {at("a", 1, 1), "m2"}, {at("a", 1, 1), "m1"}, {at("a", 2, 2), "m3"}, {at("a", 2, 2), "m2"}, {at("a", 2, 2), "m1"}},
			merged:   1,
			outcomes: []Outcome{OutcomeCreated, OutcomeRepeated, OutcomeDuplicate, OutcomeRepeated, OutcomeDuplicate, OutcomeDuplicate}},
		{name: "a delivery id seen before the batch", before: []step{{at("a", 0, 0), "p1"}},
			batch: []step{{at("a", 1, 1), "p1"}, {at("a", 1, 1), "n1"}, {at("a", 1, 1), "p1"}}, merged: 1,
			outcomes: []Outcome{OutcomeDuplicate, OutcomeRepeated, OutcomeDuplicate}},
		{name: "a recovery splits the run", batch: []step{{a: at("a", 1, 1)}, {a: at("a", 2, 2)}, {a: at("a", 3, 3, rec)}, {a: at("a", 4, 4)}, {a: at("a", 5, 5)}},
			merged:   3,
			outcomes: []Outcome{OutcomeCreated, OutcomeRepeated, OutcomeResolved, OutcomeCreated, OutcomeRepeated}},
		{name: "interleaved keys", batch: []step{{a: at("a", 1, 1)}, {a: at("b", 1, 1)}, {a: at("a", 2, 2)}, {a: at("b", 2, 2)}, {a: at("a", 3, 3)}}, merged: 2},
		{name: "older than a remembered recovery: superseded, one by one",
			before:   []step{{a: at("a", 0, 100, rec)}},
			batch:    []step{{a: at("a", 101, 50)}, {a: at("a", 101, 150)}, {a: at("a", 102, 90)}, {a: at("a", 103, 200)}, {a: at("a", 104, 100)}},
			merged:   1,
			outcomes: []Outcome{OutcomeSuperseded, OutcomeCreated, OutcomeSuperseded, OutcomeRepeated, OutcomeSuperseded}},
		{name: "severity rises, the source time is the newest",
			batch: []step{{a: at("a", 1, 10)}, {a: at("a", 2, 30, sev(SevCritical))}, {a: at("a", 3, 20, sev(SevInfo))}}, merged: 1},
		{name: "the repeated line at most a minute",
			batch:  []step{{a: at("a", 1, 1)}, {a: at("a", 31, 31)}, {a: at("a", 62, 62)}, {a: at("a", 63, 63)}, {a: at("a", 125, 125)}, {a: at("a", 126, 126)}},
			merged: 1},
		{name: "held by maintenance", maint: true, batch: rep(4, step{a: at("a", 1, 1)}), merged: 1},
		{name: "grouped alerts", opts: []StoreOption{WithGrouping(grouped)},
			batch:    []step{{a: at("a", 1, 1)}, {a: at("b", 1, 1)}, {a: at("a", 2, 5)}, {a: at("b", 2, 4)}, {a: at("c", 3, 3, host("db-2"))}, {a: at("a", 3, 6)}},
			merged:   3,
			outcomes: []Outcome{OutcomeCreated, OutcomeGrouped, OutcomeRepeated, OutcomeRepeated, OutcomeCreated, OutcomeRepeated}},
		{name: "sealed payloads: the newest 50 kept", opts: []StoreOption{WithSealTTL(time.Hour)},
			batch: func() []step {
				var out []step
				for i := range 60 {
					out = append(out, step{a: at("a", 1+i, 1+i, sealed("env-"+strconv.Itoa(i)))})
				}
				out[7].a.Sealed = ""
				return out
			}(), merged: 1},
		{name: "another source is another run", batch: []step{{a: at("a", 1, 1)}, {a: at("a", 2, 2, src("sumologic"))}, {a: at("a", 3, 3)}}, merged: 3},
		{name: "the first alert's title opens the incident", batch: []step{{a: at("a", 1, 1, title("first"))}, {a: at("a", 2, 2, title("second"))}, {a: at("a", 3, 3, title("second"))}}, merged: 1},
		{name: "a stale recovery between firings", before: []step{{a: at("a", 0, 10)}},
			batch:  []step{{a: at("a", 1, 20)}, {a: at("a", 2, 5, rec)}, {a: at("a", 3, 30)}},
			merged: 3, outcomes: []Outcome{OutcomeRepeated, OutcomeStaleRecovery, OutcomeRepeated}},
	}
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := redistest.Ctx(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			one := NewStore(c, fmt.Sprintf("one%d:", i), tc.opts...)
			one.Unbatched = true
			co := NewStore(c, fmt.Sprintf("co%d:", i), tc.opts...)
			t.Cleanup(one.Close)
			t.Cleanup(co.Close)
			for _, s := range []*Store{one, co} {
				if tc.maint {
					if _, err := s.StartMaintenance(ctx, "database", 2*time.Hour, false, "dana", "", t0c); err != nil {
						t.Fatal(err)
					}
				}
				for _, st := range tc.before {
					if _, err := s.OpenDelivery(ctx, st.a, st.id); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The reference: each alert opened alone, one after the other,
			// in the order the batcher sends them (a merged run at the place
			// of its first call; each key's calls in their order).
			kinds := make([]callKind, len(tc.batch))
			for j, st := range tc.batch {
				k, args, err := co.openCall(st.a, st.id)
				if err != nil {
					t.Fatal(err)
				}
				kinds[j] = mergeKind(k, args)
			}
			want := make([]OpenResult, len(tc.batch))
			for _, u := range coalescePlan(kinds) {
				for _, j := range u {
					r, err := one.OpenDelivery(ctx, tc.batch[j].a, tc.batch[j].id)
					if err != nil {
						t.Fatal(err)
					}
					want[j] = r
				}
			}
			for _, sc := range []*redis.Script{openScript, coalesceScript} {
				if err := sc.Load(ctx, c).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			got := execBatch(t, co, tc.batch)
			if n := scriptCalls(t, c); n != int64(tc.merged) {
				t.Errorf("the batch of %d took %d script calls, want %d", len(tc.batch), n, tc.merged)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("coalesced replies\n%+v\nwant (one by one)\n%+v", got, want)
			}
			if tc.outcomes != nil {
				var oc []Outcome
				for _, r := range got {
					oc = append(oc, r.Outcome)
				}
				if !slices.Equal(oc, tc.outcomes) {
					t.Errorf("outcomes %v, want %v", oc, tc.outcomes)
				}
			}
			a, b := dumpKeys(t, c, fmt.Sprintf("one%d:", i)), dumpKeys(t, c, fmt.Sprintf("co%d:", i))
			if !reflect.DeepEqual(a, b) {
				for k, v := range a {
					if !reflect.DeepEqual(v, b[k]) {
						t.Errorf("%s\none by one: %v\ncoalesced:  %v", k, v, b[k])
					}
				}
				for k, v := range b {
					if _, ok := a[k]; !ok {
						t.Errorf("%s only coalesced: %v", k, v)
					}
				}
			}
		})
	}
}

// t0c is the coalescing cases' clock.
var t0c = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// execBatch sends steps as one batch through s's batcher, as concurrent
// Open calls gathered together would go, and returns each caller's reply.
func execBatch(t *testing.T, s *Store, steps []step) []OpenResult {
	t.Helper()
	b := s.opener()
	calls := make([]*scriptCall, len(steps))
	for i, st := range steps {
		k, args, err := s.openCall(st.a, st.id)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = &scriptCall{keys: k, args: args, kind: mergeKind(k, args), done: make(chan struct{})}
	}
	b.exec(calls)
	out := make([]OpenResult, len(calls))
	for i, c := range calls {
		<-c.done
		if c.err != nil {
			t.Fatalf("call %d: %v", i, c.err)
		}
		r, err := openResult(c.res)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		out[i] = r
	}
	return out
}

// scriptCalls is how many script calls Redis ran since CONFIG RESETSTAT.
func scriptCalls(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		for _, cmd := range []string{"cmdstat_evalsha:", "cmdstat_eval:"} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), cmd); ok {
				f, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
				v, _ := strconv.ParseInt(f, 10, 64)
				n += v
			}
		}
	}
	return n
}

// dumpKeys is every key under prefix (named without it) with its type,
// content and whether it expires; a stream's entries without their ids.
func dumpKeys(t *testing.T, c *redis.Client, prefix string) map[string]any {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		typ := c.Type(ctx, k).Val()
		var v any
		switch typ {
		case "string":
			v = c.Get(ctx, k).Val()
		case "hash":
			v = c.HGetAll(ctx, k).Val()
		case "list":
			v = c.LRange(ctx, k, 0, -1).Val()
		case "zset":
			v = c.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "set":
			m := c.SMembers(ctx, k).Val()
			sort.Strings(m)
			v = m
		case "stream":
			var vals []map[string]any
			for _, m := range c.XRange(ctx, k, "-", "+").Val() {
				vals = append(vals, m.Values)
			}
			v = vals
		}
		out[strings.TrimPrefix(k, prefix)] = []any{typ, v, c.PTTL(ctx, k).Val() > 0}
	}
	return out
}

// TestCoalescedDuplicatesAcrossInstances: 1,000 concurrent duplicates of one
// key through 3 stores (3 baton instances) on one Redis: one incident with
// alert_count 1,000, exactly one caller told created, every caller a
// distinct count in 1..1,000, in fewer script calls than alerts (merged);
// then 300 concurrent deliveries of 10 SNS MessageIds (30 each) count 10.
func TestCoalescedDuplicatesAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	ctx := redistest.Ctx(t)
	var stores []*Store
	for range 3 {
		c := redis.NewClient(&redis.Options{Addr: srv.Client().Options().Addr})
		t.Cleanup(func() { _ = c.Close() })
		s := NewStore(c, "test:")
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	c := srv.Client()
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a := Alert{Source: "generic", Service: "database", DedupKey: "storm", Summary: "disk full", Severity: SevWarning, Status: AlertFiring}
	const n = 1000
	type reply struct {
		r   OpenResult
		err error
	}
	run := func(n int, open func(i int) (OpenResult, error)) []reply {
		out := make([]reply, n)
		start := make(chan struct{})
		done := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				r, err := open(i)
				out[i] = reply{r, err}
				done <- struct{}{}
			}()
		}
		close(start)
		for range n {
			<-done
		}
		return out
	}
	replies := run(n, func(i int) (OpenResult, error) { return stores[i%3].Open(ctx, a) })
	seen := map[int64]bool{}
	created := 0
	for i, r := range replies {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.r.Number != 1 || r.r.AlertCount < 1 || r.r.AlertCount > n || seen[r.r.AlertCount] {
			t.Fatalf("caller %d: %+v (count repeated or out of 1..%d)", i, r.r, n)
		}
		seen[r.r.AlertCount] = true
		if r.r.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d callers were told created, want 1", created)
	}
	inc, _, err := stores[0].Get(ctx, 1)
	if err != nil || inc.AlertCount != n {
		t.Fatalf("INC-1 alert_count %d, %v; want %d", inc.AlertCount, err, n)
	}
	calls := scriptCalls(t, c)
	t.Logf("%d alerts in %d script calls", n, calls)
	if calls >= n {
		t.Fatalf("%d alerts took %d script calls: nothing was merged", n, calls)
	}

	// SNS redeliveries: each MessageId counts once, whichever instance and
	// batch its deliveries reach.
	replies = run(300, func(i int) (OpenResult, error) {
		return stores[i%3].OpenDelivery(ctx, a, "msg-"+strconv.Itoa(i%10))
	})
	first := 0
	for i, r := range replies {
		if r.err != nil {
			t.Fatalf("delivery %d: %v", i, r.err)
		}
		switch r.r.Outcome {
		case OutcomeRepeated:
			first++
		case OutcomeDuplicate:
		default:
			t.Fatalf("delivery %d: %+v", i, r.r)
		}
	}
	inc, _, err = stores[0].Get(ctx, 1)
	if err != nil || inc.AlertCount != n+10 || first != 10 {
		t.Fatalf("after 10 MessageIds delivered 30 times each: alert_count %d (want %d), %d first deliveries (want 10), %v",
			inc.AlertCount, n+10, first, err)
	}
}

// TestCoalescedBatchOnCluster: a merged call's KEYS (the first alert's and
// every alert's delivery marker) are all in the {inc} slot, so a Redis
// Cluster runs it.
func TestCoalescedBatchOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	cl := redistest.StartCluster(t)
	s := NewStore(cl.Client(), "test:")
	t.Cleanup(s.Close)
	a := Alert{Source: "generic", Service: "database", DedupKey: "storm", Summary: "disk full", Severity: SevWarning,
		Status: AlertFiring, ReceivedAt: t0c}
	got := execBatch(t, s, []step{{a, "m1"}, {a, ""}, {a, "m1"}, {a, "m2"}})
	var counts []int64
	var outcomes []Outcome
	for _, r := range got {
		counts, outcomes = append(counts, r.AlertCount), append(outcomes, r.Outcome)
	}
	if !slices.Equal(counts, []int64{1, 2, 2, 3}) ||
		!slices.Equal(outcomes, []Outcome{OutcomeCreated, OutcomeRepeated, OutcomeDuplicate, OutcomeRepeated}) {
		t.Fatalf("counts %v outcomes %v", counts, outcomes)
	}
}
