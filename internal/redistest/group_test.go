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

// TestSentinelCrashRestart is the chaos suite's Redis fault on a Sentinel
// group, twice: the master killed, the replica promoted, the killed node
// back as a replica in sync; then the new master killed and the first one
// promoted again. Every write the replica acknowledged (WAIT) before a
// crash is read after it.
func TestSentinelCrashRestart(t *testing.T) {
	s := StartSentinel(t)
	c := s.Client()
	ctx := Ctx(t)
	first := s.MasterAddr()
	want := first
	for round := range 2 {
		key := fmt.Sprintf("before-%d", round)
		if err := c.Set(ctx, key, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		// Replication is asynchronous: a write the replica has not
		// received is lost with the master. WAIT until it has.
		if n, err := c.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
			t.Fatalf("round %d: WAIT 1 = %d, %v", round, n, err)
		}
		killed, err := s.CrashMaster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if killed != want {
			t.Fatalf("round %d: killed %s, the master was %s", round, killed, want)
		}
		now, err := s.AwaitFailover(ctx, killed)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RestartKilled(ctx); err != nil {
			t.Fatal(err)
		}
		n := redis.NewClient(&redis.Options{Addr: killed})
		info, err := n.Info(ctx, "replication").Result()
		n.Close()
		if err != nil || infoField(info, "role") != "slave" || infoField(info, "master_link_status") != "up" {
			t.Fatalf("round %d: the restarted %s: role %q, link %q, %v", round, killed,
				infoField(info, "role"), infoField(info, "master_link_status"), err)
		}
		waitWrite(t, c, fmt.Sprintf("after-%d", round))
		for r := 0; r <= round; r++ {
			if v, err := c.Get(ctx, fmt.Sprintf("before-%d", r)).Result(); err != nil || v != "1" {
				t.Fatalf("round %d: before-%d = %q, %v", round, r, v, err)
			}
		}
		want = now
	}
	if want != first {
		t.Fatalf("after two failovers the master is %s, want the first one, %s, again", want, first)
	}
}

// TestClusterCrashRestart: the master of {inc}'s slot killed leaves that
// slot unserved; restarted on its port and directory it serves it again,
// with every key its append-only file kept.
func TestClusterCrashRestart(t *testing.T) {
	c := StartCluster(t)
	cc := c.Client()
	ctx := Ctx(t)
	for i := range 20 {
		if err := cc.Set(ctx, fmt.Sprintf("{inc}:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Crash once the writes are in the file (see waitAOFWritten).
	owner, err := cc.MasterForKey(ctx, "{inc}")
	if err != nil {
		t.Fatal(err)
	}
	waitAOFWritten(t, owner)
	killed, err := c.CrashMasterOf(ctx, "{inc}")
	if err != nil {
		t.Fatal(err)
	}
	if owner.Options().Addr != killed {
		t.Fatalf("killed %s, not the master of {inc}", killed)
	}
	if err := cc.Set(ctx, "{inc}:down", 1, 0).Err(); err == nil {
		t.Fatal("a write to {inc} succeeded with its master killed")
	}
	if err := c.RestartKilled(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a write to {inc} after the restart", func(ctx context.Context) error {
		return cc.Set(ctx, "{inc}:up", 1, 0).Err()
	})
	for i := range 20 {
		if n, err := cc.Get(ctx, fmt.Sprintf("{inc}:%d", i)).Int(); err != nil || n != i {
			t.Fatalf("{inc}:%d = %d, %v after the restart", i, n, err)
		}
	}
}
