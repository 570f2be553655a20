package incident_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

// nodeEntries is how many entries one stream node holds: '~' trimming
// removes whole nodes, so up to this many more than the cap may stay.
func nodeEntries(t *testing.T, c *redis.Client, ctx context.Context) int64 {
	t.Helper()
	v, err := c.ConfigGet(ctx, "stream-node-max-entries").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(v["stream-node-max-entries"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// auditWriters are the three scripts that append to the audit stream, each
// driven once on a fresh incident: open.lua, transition.lua, commit.lua.
var auditWriters = []struct {
	name  string
	write func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, i int)
}{
	{"open", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, i int) {
		mustOpen(t, s, ctx, alert(fmt.Sprint("open-", i)))
	}},
	{"transition (note)", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, i int) {
		if _, err := s.Note(ctx, 1, "alice", "still looking"); err != nil {
			t.Fatal(err)
		}
	}},
	{"commit (a page)", func(t *testing.T, s *incident.Store, c *redis.Client, ctx context.Context, i int) {
		c.ZAdd(ctx, s.JobsKey(), redisZ(t0, incident.PageJob(1)))
		jobs, _, err := s.ClaimJobs(ctx, t0.Add(time.Hour), time.Minute, 1, fmt.Sprint("tok", i))
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		fact := incident.Event{Type: incident.EventPaged, At: t0, Person: fmt.Sprint("p", i), By: "baton", Level: 1, Note: "first"}
		if _, err := s.Commit(ctx, jobs[0], incident.Commit{Rev: -1, Facts: []incident.Event{fact}}); err != nil {
			t.Fatal(err)
		}
	}},
}

// The audit stream is capped by count: every script that appends to it trims
// it to the newest MaxEntries (within one stream node).
func TestAuditStreamTrimmedByCount(t *testing.T) {
	const maxEntries, writes = 200, 600
	for _, w := range auditWriters {
		t.Run(w.name, func(t *testing.T) {
			s, c, ctx := newService(t, incident.WithAuditRetention(incident.AuditRetention{MaxEntries: maxEntries}))
			events := incident.NewLayout("test:").Events()
			mustOpen(t, s, ctx, alert("first"))
			for i := range writes {
				w.write(t, s, c, ctx, i)
			}
			n, err := c.XLen(ctx, events).Result()
			if err != nil {
				t.Fatal(err)
			}
			if limit := maxEntries + nodeEntries(t, c, ctx); n > limit {
				t.Errorf("after %d writes the stream holds %d entries, more than %d (the cap plus one node)", writes, n, limit)
			}
			if n < maxEntries {
				t.Errorf("the stream holds %d entries, fewer than the cap %d: trimmed too much", n, maxEntries)
			}
		})
	}
}

// The audit stream is capped by age: entries older than MaxAge by the Redis
// server's clock are gone after the next append (within one stream node);
// younger ones stay.
func TestAuditStreamTrimmedByAge(t *testing.T) {
	const old = 300
	for _, w := range auditWriters {
		t.Run(w.name, func(t *testing.T) {
			s, c, ctx := newService(t, incident.WithAuditRetention(incident.AuditRetention{MaxAge: 24 * time.Hour}))
			events := incident.NewLayout("test:").Events()
			now, err := c.Time(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			// Entries written two days ago, and some an hour ago.
			for i := range old {
				id := fmt.Sprintf("%d-%d", now.Add(-48*time.Hour).UnixMilli(), i+1)
				c.XAdd(ctx, &redis.XAddArgs{Stream: events, ID: id, Values: []any{"type", "opened"}})
			}
			for i := range 10 {
				id := fmt.Sprintf("%d-%d", now.Add(-time.Hour).UnixMilli(), i+1)
				c.XAdd(ctx, &redis.XAddArgs{Stream: events, ID: id, Values: []any{"type", "recent"}})
			}
			mustOpen(t, s, ctx, alert("first"))
			w.write(t, s, c, ctx, 0)

			cut := strconv.FormatInt(now.Add(-24*time.Hour).UnixMilli(), 10)
			expired, err := c.XRange(ctx, events, "-", "("+cut).Result()
			if err != nil {
				t.Fatal(err)
			}
			if limit := nodeEntries(t, c, ctx); int64(len(expired)) >= limit {
				t.Errorf("%d of %d entries older than a day are still there (at most a node, %d, may stay)", len(expired), old, limit)
			}
			recent, err := c.XRange(ctx, events, cut, "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			kept := 0
			for _, e := range recent {
				if typ, _ := e.Values["type"].(string); strings.EqualFold(typ, "recent") {
					kept++
				}
			}
			if kept != 10 {
				t.Errorf("%d of the 10 entries from an hour ago are kept, want all", kept)
			}
		})
	}
}
