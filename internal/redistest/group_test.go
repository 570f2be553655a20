package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestStartCluster: keys in every node's slots can be written and read,
// and a Lua script over keys of one hash tag runs on the node that owns it.
func TestStartCluster(t *testing.T) {
	c := StartCluster(t)
	cc := c.Client()
	ctx := Ctx(t)
	owners := map[string]bool{}
	for i := 0; i < 30; i++ {
		k := fmt.Sprintf("k%d", i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
		slot, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		owners[fmt.Sprint(slot*3/16384)] = true
	}
	if len(owners) != 3 {
		t.Fatalf("30 keys fell in the slots of %d masters, want 3", len(owners))
	}
	script := redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])`)
	if n, err := script.Run(ctx, cc, []string{"{t}:a", "{t}:b"}, "x").Int(); err != nil || n != 1 {
		t.Fatalf("script over one hash tag = %d, %v", n, err)
	}
	if err := script.Run(ctx, cc, []string{"a", "b"}, "x").Err(); err == nil {
		t.Fatal("a script over two slots ran; the cluster is not checking slots")
	}
}

// TestSentinelFailover: what was written before a failover is read from the
// new master, and writes go on, for both ways a failover happens.
func TestSentinelFailover(t *testing.T) {
	cases := []struct {
		name     string
		failover func(s *Sentinel) string
	}{
		{"SENTINEL FAILOVER", (*Sentinel).Failover},
		{"master killed", (*Sentinel).KillMaster},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := StartSentinel(t)
			c := s.Client()
			ctx := Ctx(t)
			if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			old := s.MasterAddr()
			now := tc.failover(s)
			if now == old {
				t.Fatalf("master still %s", old)
			}
			waitWrite(t, c, "after")
			if v, err := c.Get(ctx, "before").Result(); err != nil || v != "1" {
				t.Fatalf("before = %q, %v after the failover", v, err)
			}
		})
	}
}

// waitWrite waits until c accepts a write, for at most five seconds: the
// client learns of a new master from the Sentinels' +switch-master.
func waitWrite(t *testing.T, c *redis.Client, key string) {
	t.Helper()
	waitFor(t, 5*time.Second, "a write after the failover", func(ctx context.Context) error {
		return c.Set(ctx, key, "1", 0).Err()
	})
}
