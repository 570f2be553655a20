package bot

import (
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestStateOnRedisTopologies: the chat side's own keys (people, channel
// ids, events seen) work on a Redis Cluster and behind Sentinel, and across a
// Sentinel failover. Each is a one-key command, so any slot will do.
func TestStateOnRedisTopologies(t *testing.T) {
	cases := []struct {
		name  string
		start func(t *testing.T) (redis.UniversalClient, func() string)
	}{
		{"cluster of three masters", func(t *testing.T) (redis.UniversalClient, func() string) {
			return redistest.StartCluster(t).Client(), nil
		}},
		{"sentinel group", func(t *testing.T) (redis.UniversalClient, func() string) {
			s := redistest.StartSentinel(t)
			return s.Client(), s.Failover
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb, failover := tc.start(t)
			ctx := redistest.Ctx(t)
			st := newState(rdb, "baton:", "slack")
			if err := st.remember(ctx, "alice", "U1"); err != nil {
				t.Fatal(err)
			}
			if id, err := st.hget(ctx, st.people(), "p:alice"); err != nil || id != "U1" {
				t.Fatalf("alice's chat id = %q, %v", id, err)
			}
			if err := st.rdb.HSet(ctx, st.channels(), "#alerts", "C1").Err(); err != nil {
				t.Fatal(err)
			}
			if first, err := st.first(ctx, "Ev1"); err != nil || !first {
				t.Fatalf("first sight of Ev1 = %v, %v", first, err)
			}
			if failover != nil {
				failover()
			}
			// After a failover the client follows the new master: the
			// marks written before are there, and new writes go on.
			if id, err := st.hget(ctx, st.channels(), "#alerts"); err != nil || id != "C1" {
				t.Fatalf("#alerts id = %q, %v", id, err)
			}
			if first, err := st.first(ctx, "Ev1"); err != nil || first {
				t.Fatalf("second sight of Ev1 = %v, %v; want not first", first, err)
			}
			// The client switches on the Sentinels' +switch-master message,
			// which may come a moment after the failover: retry for a few
			// seconds, as the runner does with a job that failed.
			deadline := time.Now().Add(5 * time.Second)
			for err := st.remember(ctx, "bob", "U2"); err != nil; err = st.remember(ctx, "bob", "U2") {
				if time.Now().After(deadline) {
					t.Fatalf("write after the failover: %v", err)
				}
				time.Sleep(50 * time.Millisecond) // retrying the write asserted, not a synchronisation
			}
			if person, err := st.hget(ctx, st.people(), "u:U2"); err != nil || person != "bob" {
				t.Fatalf("U2 = %q, %v", person, err)
			}
		})
	}
}
