package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/analyticstest"
	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

const prefix = "t:"

// layout names the keys the seeder writes, as the incident store does.
var layout = incident.NewLayout(prefix)

// replay acts out the fixture through the incident store's own scripts, in
// time order, so the stream and hashes are exactly what baton writes:
// each incident opened by its first alert and its repeats, paged (a
// runner's commit of "paged" facts), escalated to its highest level,
// acknowledged and resolved at the fixture's times.
func replay(t *testing.T, ctx context.Context, svc *incident.Store, fx *analyticstest.Fixture) {
	t.Helper()
	type action struct {
		at time.Time
		do func() error
	}
	var acts []action
	num := map[int64]int64{} // fixture number → store number
	byN := map[int64]analyticstest.Incident{}
	for _, inc := range fx.Incidents {
		byN[inc.N] = inc
		alert := incident.Alert{Source: "generic", Service: inc.Service, DedupKey: fmt.Sprintf("fx-%d", inc.N),
			Summary: fmt.Sprintf("fixture %d", inc.N), Severity: incident.Severity(inc.Severity), Status: incident.AlertFiring}
		for k := range inc.Alerts {
			a := alert
			a.ReceivedAt = inc.Created.Add(time.Duration(k) * time.Second)
			acts = append(acts, action{a.ReceivedAt, func() error {
				res, err := svc.Open(ctx, a)
				if k == 0 {
					num[inc.N] = res.Number
				}
				return err
			}})
		}
		// The highest level, as a runner's step leaves it on the hash.
		acts = append(acts, action{inc.Created.Add(30 * time.Second), func() error {
			return commit(ctx, svc, num[inc.N], &incident.Step{Status: incident.StatusTriggered, Owner: inc.Owner, Level: inc.MaxLevel}, nil)
		}})
		if inc.AckAfter > 0 {
			acts = append(acts, action{inc.Created.Add(inc.AckAfter), func() error {
				_, err := svc.Ack(ctx, num[inc.N], inc.Owner, "")
				return err
			}})
		}
		if inc.ResolveAfter > 0 {
			acts = append(acts, action{inc.Created.Add(inc.ResolveAfter), func() error {
				_, err := svc.Resolve(ctx, num[inc.N], inc.Owner, "")
				return err
			}})
		}
	}
	for _, p := range fx.Pages {
		acts = append(acts, action{p.At, func() error {
			return commit(ctx, svc, num[p.Incident], nil, []incident.Event{{Type: incident.EventPaged, At: p.At, Person: p.Person, By: "baton", Level: p.Level}})
		}})
	}
	slices.SortStableFunc(acts, func(a, b action) int { return a.at.Compare(b.at) })
	for _, a := range acts {
		svc.Now = func() time.Time { return a.at }
		if err := a.do(); err != nil {
			t.Fatalf("replay at %s: %v", a.at, err)
		}
	}
}

// commit records facts and an escalation position the way a runner whose
// decision went stale does: the facts are appended and the position moves
// forward whatever the incident's revision.
func commit(ctx context.Context, svc *incident.Store, n int64, step *incident.Step, facts []incident.Event) error {
	j := incident.Job{Member: incident.PageJob(n), Kind: incident.JobPage, Number: n, Token: "replay"}
	_, err := svc.Commit(ctx, j, incident.Commit{Rev: -1, Step: step, Facts: facts})
	return err
}

// TestFixtureFromRedis computes the fixture's report from what the
// incident store wrote and checks it against the hand-computed figures.
func TestFixtureFromRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := redistest.Ctx(t)
	fx := analyticstest.Load(t)
	svc := incident.NewStore(rdb, prefix)
	svc.Unbatched = true
	t.Cleanup(svc.Close)
	replay(t, ctx, svc, fx)

	for _, pageSize := range []int{5000, 7} { // 7: many pages and pipelines
		t.Run(strconv.Itoa(pageSize), func(t *testing.T) {
			st := redisstore.New(rdb, prefix)
			st.PageSize = pageSize
			r, err := analytics.Build(ctx, st, fx.Query())
			if err != nil {
				t.Fatal(err)
			}
			analyticstest.CheckReport(t, r, analyticstest.Want(fx.Zone))
		})
	}
}

func TestEmptyStream(t *testing.T) {
	srv := redistest.Start(t)
	ctx := redistest.Ctx(t)
	q := analytics.Query{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	r, err := analytics.Build(ctx, redisstore.New(srv.Client(), prefix), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.Opened != 0 || r.Pages != 0 || len(r.Buckets) != 1 {
		t.Errorf("report of an empty store = %+v", r)
	}
}

// countReads counts the incident hashes the store reads.
type countReads struct{ hashes atomic.Int64 }

func (c *countReads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (c *countReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == "hmget" {
				c.hashes.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// A year of hourly incidents whose "created" runs up to 3 minutes ahead
// of or behind their numbers' order (replicas with skewed clocks), and a
// few long ones opened before the period that page during it. A week's
// report counts exactly the incidents created in the week and the pages
// sent in it, and reads the hashes of that week (plus the margin and the
// long ones), not the year.
func TestScanReadsOnlyThePeriod(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := redistest.Ctx(t)
	start := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	q := analytics.Query{From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)}
	skews := []time.Duration{0, 3 * time.Minute, -3 * time.Minute, 90 * time.Second, -time.Second}
	var incs []seedIncident
	wantOpened, wantPages := 0, 0
	in := func(t time.Time) bool { return !t.Before(q.From) && t.Before(q.To) }
	for h := range 365 * 24 {
		created := start.Add(time.Duration(h)*time.Hour + skews[h%len(skews)])
		inc := seedIncident{created: created, service: "api", severity: "warning", owner: "alice", alerts: 1,
			pages: []seedPage{{at: created, person: "alice", level: 1}}, ackAfter: time.Minute, resolveAfter: 10 * time.Minute}
		if h%1000 == 7 { // a long one: paged daily for two weeks, then resolved
			inc.ackAfter = 0
			inc.resolveAfter = 14 * 24 * time.Hour
			for d := 1; d < 14; d++ {
				inc.pages = append(inc.pages, seedPage{at: created.Add(time.Duration(d) * 24 * time.Hour), person: "bob", level: 2})
			}
		}
		if in(created) {
			wantOpened++
		}
		for _, p := range inc.pages {
			if in(p.at) {
				wantPages++
			}
		}
		incs = append(incs, inc)
	}
	writeIncidents(t, ctx, rdb, incs)

	counter := &countReads{}
	rdb.AddHook(counter)
	st := redisstore.New(rdb, prefix)
	st.PageSize = 50
	a, err := analytics.NewAccumulator(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Scan(ctx, q.From, q.To, a); err != nil {
		t.Fatal(err)
	}
	r := a.Report()
	if r.Opened != wantOpened || r.Pages != wantPages {
		t.Errorf("opened %d, pages %d; want %d, %d", r.Opened, r.Pages, wantOpened, wantPages)
	}
	if r.Pages <= 168 {
		t.Errorf("no page of a long incident opened before the week was counted (%d pages)", r.Pages)
	}
	t.Logf("read %d incident hashes for a week of %d incidents and %d pages", counter.hashes.Load(), wantOpened, wantPages)
	if n := counter.hashes.Load(); n > 168+4+2 {
		t.Errorf("read %d incident hashes for a week of 168 incidents", n)
	}
}
