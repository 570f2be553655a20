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
	if err := c.awaitOK(context.Background(), 15*time.Second); err != nil {
		tb.Fatal(err)
	}
	return c
}

// awaitOK waits, for at most within, until every node says
// cluster_state:ok and knows three masters.
func (c *Cluster) awaitOK(ctx context.Context, within time.Duration) error {
	return poll(ctx, within, "cluster_state:ok on every node, three masters known", func(ctx context.Context) error {
		for _, n := range c.nodes {
			if err := clusterOK(ctx, n); err != nil {
				return fmt.Errorf("node %s: %w", n.addr, err)
			}
		}
		return nil
	})
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

// CrashMasterOf kills the master that holds key's slot (SIGKILL, as a crash
// would) and returns its address. The cluster has no replicas, so that
// slot stays unserved (cluster_state:fail once the others notice) until
// RestartKilled. Any goroutine may call it.
func (c *Cluster) CrashMasterOf(ctx context.Context, key string) (string, error) {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer cc.Close()
	m, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return "", fmt.Errorf("redistest: the master of %q: %w", key, err)
	}
	addr := m.Options().Addr
	for _, n := range c.nodes {
		if n.addr == addr {
			n.kill()
			return addr, nil
		}
	}
	return "", fmt.Errorf("redistest: the master %s of %q is none of the cluster's", addr, key)
}

// RestartKilled starts every killed node again on its address, bus port and
// directory (its nodes.conf and append-only file), and returns once every
// node says cluster_state:ok and knows three masters (at most 30 seconds).
// Any goroutine may call it.
func (c *Cluster) RestartKilled(ctx context.Context) error {
	for _, n := range c.nodes {
		if err := n.restart(ctx, n.cfg); err != nil {
			return err
		}
	}
	return c.awaitOK(ctx, 30*time.Second)
}
