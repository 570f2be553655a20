//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelGroup is a master, its replicas (-chaos.sentinel_replicas, 1 by
// default) and three sentinels on loopback, the master group named "baton".
// crash kills whichever node is master now; recover waits until the
// sentinels have promoted a replica and starts the
// killed node again (the sentinels make it a replica of the new master).
type sentinelGroup struct {
	nodes     []*redisNode // data nodes: [0] starts as master
	sentinels []*redisNode
	killed    *redisNode
	oldMaster string
}

const sentinelMaster = "baton"

func startSentinel(ctx context.Context, t *testing.T) (topology, error) {
	g := &sentinelGroup{}
	m := newRedisNode(t, "redis-a")
	_, mport, _ := strings.Cut(m.addr, ":")
	g.nodes = []*redisNode{m}
	for i := range max(*replicasFlag, 1) {
		r := newRedisNode(t, fmt.Sprintf("redis-%c", 'b'+i))
		r.args = []string{"--replicaof", "127.0.0.1", mport}
		g.nodes = append(g.nodes, r)
	}
	for _, n := range g.nodes {
		if err := n.start(ctx); err != nil {
			return g, err
		}
	}
	for i := range 3 {
		s := newRedisNode(t, fmt.Sprintf("sentinel-%d", i))
		_, port, _ := strings.Cut(s.addr, ":")
		conf := filepath.Join(s.dir, "sentinel.conf")
		body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
			"sentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 4000\nsentinel parallel-syncs %s 1\n",
			port, s.dir, filepath.Join(s.dir, "redis.log"), sentinelMaster, mport, sentinelMaster, sentinelMaster, sentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return g, err
		}
		if err := g.startSentinelProc(ctx, s, conf); err != nil {
			return g, err
		}
		g.sentinels = append(g.sentinels, s)
	}
	// The replicas in sync before baton writes.
	deadline := time.Now().Add(15 * time.Second)
	for _, r := range g.nodes[1:] {
		for {
			info := nodeDo(ctx, r.addr, func(c *redis.Client) string { return c.Info(ctx, "replication").Val() })
			if strings.Contains(info, "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				return g, fmt.Errorf("sentinel: replica %s never synced: %s", r.addr, info)
			}
			<-time.After(100 * time.Millisecond)
		}
	}
	return g, nil
}

// startSentinelProc runs `redis-server conf --sentinel` (a sentinel rewrites
// its own config file) and waits for PING.
func (g *sentinelGroup) startSentinelProc(ctx context.Context, s *redisNode, conf string) error {
	cmd := exec.Command("redis-server", conf, "--sentinel")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	exited := s.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd = cmd
	return waitPong(ctx, s.addr, exited, time.Now().Add(10*time.Second))
}

func (g *sentinelGroup) name() string { return "sentinel" }

func (g *sentinelGroup) redisYAML() string {
	var addrs []string
	for _, s := range g.sentinels {
		addrs = append(addrs, s.addr)
	}
	// Replication is asynchronous: without a wait for the replica, a
	// failover loses alerts already answered 202 (-chaos.wait_replicas=0
	// shows it).
	return fmt.Sprintf("  master_name: %s\n  addrs: [%s]\n  wait_replicas: %d\n", sentinelMaster, strings.Join(addrs, ", "), *waitFlag)
}

// master asks a sentinel for the master's address.
func (g *sentinelGroup) master(ctx context.Context) (string, error) {
	var lastErr error
	for _, s := range g.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.addr})
		addr, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
		sc.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("sentinel: no master known: %v", lastErr)
}

func (g *sentinelGroup) crash(ctx context.Context) error {
	addr, err := g.master(ctx)
	if err != nil {
		return err
	}
	for _, n := range g.nodes {
		if n.addr == addr {
			n.kill()
			g.killed, g.oldMaster = n, addr
			return nil
		}
	}
	return fmt.Errorf("sentinel: master %s is none of ours", addr)
}

// recover waits (up to 30 s) for a new master that answers as one, then
// restarts the killed node without --replicaof, and waits (up to 30 s)
// until the sentinels have made it a replica of the new master and it is
// in sync.
func (g *sentinelGroup) recover(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		addr, err := g.master(ctx)
		if err == nil && addr != g.oldMaster {
			role := nodeDo(ctx, addr, func(c *redis.Client) string {
				r, _ := c.Do(ctx, "ROLE").Slice()
				if len(r) > 0 {
					s, _ := r[0].(string)
					return s
				}
				return ""
			})
			if role == "master" {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentinel: no failover from %s within 30s", g.oldMaster)
		}
		<-time.After(100 * time.Millisecond)
	}
	if g.killed == nil {
		return nil
	}
	n := g.killed
	n.args = nil
	if err := n.start(ctx); err != nil {
		return err
	}
	g.killed = nil
	// Back means redundant again: the restarted node a replica in sync, so
	// that the next failover has an up-to-date replica to promote.
	deadline = time.Now().Add(30 * time.Second)
	for {
		info := nodeDo(ctx, n.addr, func(c *redis.Client) string { return c.Info(ctx, "replication").Val() })
		if strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentinel: %s not a replica in sync within 30s", n.addr)
		}
		<-time.After(100 * time.Millisecond)
	}
}

func (g *sentinelGroup) stop() {
	for _, n := range append(append([]*redisNode{}, g.sentinels...), g.nodes...) {
		n.kill()
	}
}

// cluster is three masters (no replicas) made one Redis Cluster with
// `redis-cli --cluster create`. crash kills the master that holds the slot
// of baton's {inc} hash tag; recover starts it again on its port and
// directory (its nodes.conf and AOF), and waits for cluster_state:ok.
type cluster struct {
	nodes  []*redisNode
	killed *redisNode
}

func startCluster(ctx context.Context, t *testing.T) (topology, error) {
	c := &cluster{}
	var addrs []string
	for i := range 3 {
		n := newRedisNode(t, fmt.Sprintf("cluster-%d", i), "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		if err := n.start(ctx); err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, n)
		addrs = append(addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		return c, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return c, c.waitOK(ctx)
}

// waitOK waits until every node says cluster_state:ok.
func (c *cluster) waitOK(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, n := range c.nodes {
			info := nodeDo(ctx, n.addr, func(c *redis.Client) string { return c.ClusterInfo(ctx).Val() })
			if !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("cluster: not ok within 30s")
		}
		<-time.After(100 * time.Millisecond)
	}
}

func (c *cluster) name() string { return "cluster" }

func (c *cluster) redisYAML() string {
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.addr)
	}
	return fmt.Sprintf("  addrs: [%s]\n", strings.Join(addrs, ", "))
}

func (c *cluster) crash(ctx context.Context) error {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].addr}})
	defer cc.Close()
	m, err := cc.MasterForKey(ctx, "{inc}")
	if err != nil {
		return err
	}
	addr := m.Options().Addr
	for _, n := range c.nodes {
		if n.addr == addr {
			n.kill()
			c.killed = n
			return nil
		}
	}
	return fmt.Errorf("cluster: master %s of {inc} is none of ours", addr)
}

func (c *cluster) recover(ctx context.Context) error {
	if c.killed != nil {
		if err := c.killed.start(ctx); err != nil {
			return err
		}
		c.killed = nil
	}
	return c.waitOK(ctx)
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		n.kill()
	}
}

// nodeDo runs f on a client of one node and closes the client.
func nodeDo(_ context.Context, addr string, f func(*redis.Client) string) string {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return f(c)
}
