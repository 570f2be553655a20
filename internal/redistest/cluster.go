package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster on loopback: three masters (no replicas), each
// a real redis-server with the append-only file on, its 16384 slots split
// by `redis-cli --cluster create`. Its processes are killed when the test
// ends.
type Cluster struct {
	// Addrs are the masters' host:port: redis.addrs in baton's config.
	Addrs []string

	tb    testing.TB
	nodes []*node
}

// StartCluster starts three cluster nodes, creates the cluster with
// redis-cli and returns once every node says cluster_state:ok and knows all
// three masters. It fails the test (never skips it) when redis-server or
// redis-cli is missing. Each node's cluster bus gets its own free port
// (--cluster-port), not port+10000, which may be taken or out of range.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin := serverBinary(tb)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatalf("redistest: redis-cli not found on PATH (apt-get install redis-tools); Redis Cluster tests create the cluster with it: %v", err)
	}
	c := &Cluster{tb: tb}
	for i := 0; i < 3; i++ {
		n := startNode(tb, bin, func(dir, _ string) (redisproc.Config, error) {
			bus, err := redisproc.FreeAddr()
			if err != nil {
				return redisproc.Config{}, fmt.Errorf("find a free cluster bus port: %w", err)
			}
			_, busPort, _ := net.SplitHostPort(bus)
			return redisproc.Config{Args: append([]string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-port", busPort,
				"--cluster-node-timeout", "2000",
			}, durableArgs...)}, nil
		})
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out.String())
	}
	waitFor(tb, 15*time.Second, "cluster_state:ok on every node, three masters known", func(ctx context.Context) error {
		for _, n := range c.nodes {
			if err := clusterOK(ctx, n); err != nil {
				return fmt.Errorf("node %s: %w", n.addr, err)
			}
		}
		return nil
	})
	return c
}

// clusterOK is nil when node n says the cluster is ok and knows three
// masters.
func clusterOK(ctx context.Context, n *node) error {
	c := n.client()
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if st := infoField(info, "cluster_state"); st != "ok" {
		return fmt.Errorf("cluster_state %q", st)
	}
	if k := infoField(info, "cluster_known_nodes"); k != "3" {
		return fmt.Errorf("cluster_known_nodes %q", k)
	}
	return nil
}

// Client is a go-redis cluster client for the cluster, as baton builds one
// from several redis.addrs; closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
