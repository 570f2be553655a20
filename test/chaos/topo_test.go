//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/redistest"
)

// topology is the Redis baton runs on in one chaos run: its config section,
// and the fault "Redis goes away and comes back". Its processes are
// internal/redistest's (data nodes with AOF on, appendfsync everysec) and
// are killed when the test ends.
type topology interface {
	// name is how the table names the variant: single, sentinel, cluster.
	name() string
	// redisYAML is the redis: section of baton's config (without the prefix).
	redisYAML() string
	// crash kills the server that holds baton's keys with SIGKILL; recover
	// brings the topology back to a state where baton can write (for a
	// single node: the same node restarted on its port and directory).
	// Both return their errors: the fault schedule's goroutine calls them.
	crash(ctx context.Context) error
	recover(ctx context.Context) error
}

// startTopology starts the named topology, or fails the test.
func startTopology(t *testing.T, name string) topology {
	t.Helper()
	switch name {
	case "single":
		return single{redistest.StartDurable(t)}
	case "sentinel":
		return &sentinelGroup{s: redistest.StartSentinelReplicas(t, *replicasFlag)}
	case "cluster":
		return cluster{redistest.StartCluster(t)}
	}
	t.Fatalf("unknown -chaos.topology %q", name)
	return nil
}

// single is one redis-server with AOF on; crash kills it, recover starts it
// again on its port and directory, with what its AOF kept.
type single struct{ s *redistest.Server }

func (single) name() string                        { return "single" }
func (s single) redisYAML() string                 { return fmt.Sprintf("  addr: %s\n", s.s.Addr) }
func (s single) crash(context.Context) error       { s.s.Stop(); return nil }
func (s single) recover(ctx context.Context) error { return s.s.Relaunch(ctx) }

// sentinelGroup is a master, its replicas (-chaos.sentinel_replicas, 1 by
// default) and three Sentinels, the master group named "baton". crash kills whichever node is master now; recover
// waits until the Sentinels have promoted the other and starts the killed
// node again, returning once it is a replica in sync.
type sentinelGroup struct {
	s         *redistest.Sentinel
	oldMaster string
}

func (*sentinelGroup) name() string { return "sentinel" }

func (g *sentinelGroup) redisYAML() string {
	// Replication is asynchronous: without a wait for the replica, a
	// failover loses alerts already answered 202 (-chaos.wait_replicas=0
	// shows it).
	return fmt.Sprintf("  master_name: %s\n  addrs: [%s]\n  wait_replicas: %d\n", g.s.MasterName, strings.Join(g.s.SentinelAddrs, ", "), *waitFlag)
}

func (g *sentinelGroup) crash(ctx context.Context) error {
	old, err := g.s.CrashMaster(ctx)
	g.oldMaster = old
	return err
}

func (g *sentinelGroup) recover(ctx context.Context) error {
	if _, err := g.s.AwaitFailover(ctx, g.oldMaster); err != nil {
		return err
	}
	return g.s.RestartKilled(ctx)
}

// cluster is three masters (no replicas) made one Redis Cluster. crash
// kills the master that holds the slot of baton's {inc} hash tag; recover
// starts it again on its port and directory (its nodes.conf and AOF) and
// waits for cluster_state:ok.
type cluster struct{ c *redistest.Cluster }

func (cluster) name() string { return "cluster" }

func (c cluster) redisYAML() string {
	return fmt.Sprintf("  addrs: [%s]\n", strings.Join(c.c.Addrs, ", "))
}

func (c cluster) crash(ctx context.Context) error {
	_, err := c.c.CrashMasterOf(ctx, "{inc}")
	return err
}

func (c cluster) recover(ctx context.Context) error { return c.c.RestartKilled(ctx) }
