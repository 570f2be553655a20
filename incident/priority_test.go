package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

// backlog queues n routine page jobs (numbers from 1000), due an hour before t0.
func backlog(t *testing.T, c *redis.Client, s *incident.Store, ctx context.Context, n int) {
	t.Helper()
	zs := make([]redis.Z, 0, n)
	for i := range n {
		zs = append(zs, redisZ(t0.Add(-time.Hour), incident.PageJob(int64(1000+i))))
	}
	if err := c.ZAdd(ctx, s.JobsKey(), zs...).Err(); err != nil {
		t.Fatal(err)
	}
}

func urgentKey(s *incident.Store) string { return strings.TrimSuffix(s.JobsKey(), "jobs") + "urgent" }

func claimOne(t *testing.T, s *incident.Store, ctx context.Context, at time.Time, token string) incident.Job {
	t.Helper()
	jobs, _, err := s.ClaimJobs(ctx, at, time.Minute, 1, token)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim at t0%+v: %+v, %v", at.Sub(t0), jobs, err)
	}
	return jobs[0]
}

// TestClaimUrgentFirst: which job the next claim takes when routine jobs
// have waited longer than an urgent one.
func TestClaimUrgentFirst(t *testing.T) {
	tests := []struct {
		name string
		// setup queues what the case needs beside a backlog of 100 overdue
		// routine re-pages, and returns when to claim.
		setup      func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) time.Time
		byDueOnly  bool
		want       string
		wantUrgent bool
	}{
		{
			name: "a new incident's first page before overdue re-pages",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("new"))
				return t0
			},
			want: "page:1", wantUrgent: true,
		},
		{
			name:      "by due time alone (ByDueOnly): the oldest re-page first",
			byDueOnly: true,
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("new"))
				return t0
			},
			want: "page:1000",
		},
		{
			name: "an assigned owner's page before overdue re-pages",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				n := mustOpen(t, s, ctx, alert("a")).Number
				j := claimOne(t, s, ctx, t0, "r:1")
				if _, err := s.Commit(ctx, j, incident.Commit{Schedule: []incident.Scheduled{{Member: j.Member, Due: t0.Add(time.Hour)}}}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Assign(ctx, n, "bob", "alice"); err != nil {
					t.Fatal(err)
				}
				return t0.Add(time.Minute) // the store's test clock moves on a second a call
			},
			want: "page:1", wantUrgent: true,
		},
		{
			name: "an acknowledgement timeout before overdue re-pages",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				n := mustOpen(t, s, ctx, alert("a")).Number
				if _, err := s.Ack(ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
				return t0.Add(time.Hour + time.Minute)
			},
			want: "acktimeout:1", wantUrgent: true,
		},
		{
			name: "a re-page committed as routine waits its turn",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("a"))
				j := claimOne(t, s, ctx, t0, "r:1")
				if _, err := s.Commit(ctx, j, incident.Commit{Schedule: []incident.Scheduled{{Member: j.Member, Due: t0}}}); err != nil {
					t.Fatal(err)
				}
				return t0
			},
			want: "page:1000",
		},
		{
			name: "a re-page turns urgent at its UrgentAt (the escalation it becomes)",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("a"))
				j := claimOne(t, s, ctx, t0, "r:1")
				if _, err := s.Commit(ctx, j, incident.Commit{Schedule: []incident.Scheduled{
					{Member: j.Member, Due: t0.Add(time.Minute), UrgentAt: t0.Add(2 * time.Minute)}}}); err != nil {
					t.Fatal(err)
				}
				return t0.Add(2 * time.Minute)
			},
			want: "page:1", wantUrgent: true,
		},
		{
			name: "an urgent job given back for later stays urgent",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("a"))
				j := claimOne(t, s, ctx, t0, "r:1")
				if _, err := s.ReleaseJob(ctx, j, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
				return t0.Add(time.Second)
			},
			want: "page:1", wantUrgent: true,
		},
		{
			name: "a job whose lease ran out comes back urgent",
			setup: func(t *testing.T, s *incident.Store, _ *redis.Client, ctx context.Context) time.Time {
				mustOpen(t, s, ctx, alert("a"))
				claimOne(t, s, ctx, t0, "dead:1") // never renewed nor released
				return t0.Add(2 * time.Minute)
			},
			want: "page:1", wantUrgent: true,
		},
		{
			name: "stale index entries (a resolved incident's, a job no longer queued) are skipped and dropped",
			setup: func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context) time.Time {
				n := mustOpen(t, s, ctx, alert("a")).Number
				if _, err := s.Resolve(ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
				c.ZAdd(ctx, urgentKey(s), redisZ(t0, "page:77"))
				return t0
			},
			want: "page:1000",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t, incident.WithAckTimeout(func(string) time.Duration { return time.Hour }))
			s.ByDueOnly = tc.byDueOnly
			backlog(t, c, s, ctx, 100)
			at := tc.setup(t, s, c, ctx)
			j := claimOne(t, s, ctx, at, "r:2")
			if j.Member != tc.want || j.Urgent != tc.wantUrgent {
				t.Fatalf("claimed %s (urgent %v), want %s (urgent %v)", j.Member, j.Urgent, tc.want, tc.wantUrgent)
			}
			if !tc.byDueOnly {
				// Nothing in the index that is not a due job's or in flight.
				left, _ := c.ZRange(ctx, urgentKey(s), 0, -1).Result()
				for _, m := range left {
					if _, err := c.ZScore(ctx, s.JobsKey(), m).Result(); err != nil {
						t.Errorf("urgent index keeps %s, which is not queued (%v)", m, err)
					}
				}
			}
		})
	}
}

// The claim's loop over the urgent index ends however many stale entries
// it holds, and still fills the claim.
func TestClaimSkipsManyStaleUrgentEntries(t *testing.T) {
	s, c, ctx := newService(t)
	backlog(t, c, s, ctx, 10)
	zs := make([]redis.Z, 0, 500)
	for i := range 500 {
		zs = append(zs, redisZ(t0.Add(-time.Minute), fmt.Sprintf("page:%d", 5000+i)))
	}
	c.ZAdd(ctx, urgentKey(s), zs...)
	jobs, _, err := s.ClaimJobs(ctx, t0, time.Minute, 4, "r:1")
	if err != nil || len(jobs) != 4 || jobs[0].Member != "page:1000" {
		t.Fatalf("claim = %+v, %v", jobs, err)
	}
	if n, _ := c.ZCard(ctx, urgentKey(s)).Result(); n != 0 {
		t.Fatalf("%d stale entries left in the urgent index", n)
	}
}
