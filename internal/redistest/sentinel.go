package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the Sentinels of StartSentinel monitor.
const SentinelMaster = "baton"

// sentinelConfig is the config file of one Sentinel. A master is judged
// down after a second without an answer (production uses tens of seconds),
// so a killed master fails over within a few seconds.
const sentinelConfig = `sentinel monitor %[1]s 127.0.0.1 %[2]s 2
sentinel down-after-milliseconds %[1]s 1000
sentinel failover-timeout %[1]s 5000
sentinel parallel-syncs %[1]s 1
`

// Sentinel is a Redis Sentinel group on loopback: a master, one replica and
// three Sentinels (quorum 2), all real processes, the data nodes with the
// append-only file on (appendfsync everysec). Its processes are killed when
// the test ends.
type Sentinel struct {
	// MasterName is the name the Sentinels know the master by
	// (SentinelMaster): redis.master_name in baton's config.
	MasterName string
	// SentinelAddrs are the three Sentinels' host:port: redis.addrs.
	SentinelAddrs []string

	tb        testing.TB
	data      []*node // the master and the replica, in start order
	sentinels []*node
	// dataCfg is a data node's config without --replicaof (RestartKilled
	// adds the master the Sentinels name when it restarts a killed node).
	dataCfg redisproc.Config
}

// StartSentinel starts the group and returns once the replica is in sync
// and every Sentinel knows the replica and the two other Sentinels, so a
// failover can be forced at once. It fails the test (never skips it) when
// redis-server is missing. It takes about three seconds: the Sentinels
// find each other through hello messages sent every two.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	return StartSentinelReplicas(tb, 1)
}

// StartSentinelReplicas is StartSentinel with replicas replicas of the
// master (at least 1): with two, a failover leaves the new master one to
// replicate to at once (what redis.wait_replicas: 1 waits for).
func StartSentinelReplicas(tb testing.TB, replicas int) *Sentinel {
	tb.Helper()
	replicas = max(replicas, 1)
	bin := serverBinary(tb)
	// A master waits five seconds (repl-diskless-sync-delay) for more
	// replicas before a full sync; there is only ever one here.
	dataArgs := append([]string{"--repl-diskless-sync-delay", "0"}, durableArgs...)
	master := startNode(tb, bin, func(string, string) (redisproc.Config, error) {
		return redisproc.Config{Args: dataArgs}, nil
	})
	_, mport, _ := net.SplitHostPort(master.addr)
	s := &Sentinel{MasterName: SentinelMaster, tb: tb, data: []*node{master}, dataCfg: redisproc.Config{Args: dataArgs}}
	for range replicas {
		replica := startNode(tb, bin, func(string, string) (redisproc.Config, error) {
			return redisproc.Config{Args: append([]string{"--replicaof", "127.0.0.1", mport}, dataArgs...)}, nil
		})
		s.data = append(s.data, replica)
		waitFor(tb, 10*time.Second, "the replica in sync with the master", func(ctx context.Context) error {
			return replicaInSync(ctx, replica)
		})
	}
	for i := 0; i < 3; i++ {
		sn := startNode(tb, bin, func(dir, _ string) (redisproc.Config, error) {
			file, err := writeFile(dir, "sentinel.conf", fmt.Sprintf(sentinelConfig, SentinelMaster, mport))
			return redisproc.Config{File: file, Args: []string{"--sentinel"}}, err
		})
		s.sentinels = append(s.sentinels, sn)
		s.SentinelAddrs = append(s.SentinelAddrs, sn.addr)
	}
	waitFor(tb, 15*time.Second, "every Sentinel knowing the replica and the other two", func(ctx context.Context) error {
		for _, sn := range s.sentinels {
			if err := sentinelKnowsAll(ctx, sn, replicas); err != nil {
				return fmt.Errorf("sentinel %s: %w", sn.addr, err)
			}
		}
		return nil
	})
	return s
}

// replicaInSync is nil when n is a replica whose link to its master is up.
func replicaInSync(ctx context.Context, n *node) error {
	c := n.client()
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if st := infoField(info, "master_link_status"); st != "up" {
		return fmt.Errorf("role %q, master %s:%s, master_link_status %q", infoField(info, "role"),
			infoField(info, "master_host"), infoField(info, "master_port"), st)
	}
	return nil
}

// sentinelKnowsAll is nil when Sentinel n knows the replicas and two other
// Sentinels of the master.
func sentinelKnowsAll(ctx context.Context, n *node, replicas int) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: n.addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer c.Close()
	known, err := c.Replicas(ctx, SentinelMaster).Result()
	if err != nil {
		return err
	}
	others, err := c.Sentinels(ctx, SentinelMaster).Result()
	if err != nil {
		return err
	}
	if len(known) != replicas || len(others) != 2 {
		return fmt.Errorf("knows %d replicas and %d other sentinels", len(known), len(others))
	}
	return nil
}

// MasterAddr is the master's host:port as the first Sentinel that answers
// tells it.
func (s *Sentinel) MasterAddr() string {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	addr, err := s.masterAddr(ctx)
	if err != nil {
		s.tb.Fatal(err)
	}
	return addr
}

// masterAddr is MasterAddr returning its error.
func (s *Sentinel) masterAddr(ctx context.Context) (string, error) {
	var lastErr error
	for _, sn := range s.sentinels {
		addr, err := masterOf(ctx, sn)
		if err == nil {
			return addr, nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("redistest: no Sentinel tells the master: %w", lastErr)
}

// masterOf asks Sentinel n for the master's address.
func masterOf(ctx context.Context, n *node) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: n.addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("get-master-addr-by-name: %q", hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Client is a go-redis failover client for the group, as baton builds one
// from redis.master_name and redis.addrs; closed when the test ends.
func (s *Sentinel) Client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Failover asks a Sentinel to fail over (SENTINEL FAILOVER, as an operator
// would before maintenance) and waits until every Sentinel names the
// replica as the master and it says it is one. It returns the new
// master's address.
func (s *Sentinel) Failover() string {
	s.tb.Helper()
	old := s.MasterAddr()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.sentinels[0].addr})
	defer c.Close()
	if err := c.Failover(context.Background(), s.MasterName).Err(); err != nil {
		s.tb.Fatalf("redistest: SENTINEL FAILOVER: %v", err)
	}
	return s.awaitNewMaster(old)
}

// KillMaster kills the master (SIGKILL, as a crash would) and waits until
// the Sentinels have agreed it is down and promoted the replica (a few
// seconds: down-after is one second). It returns the new master's
// address. The killed master stays down until RestartKilled.
func (s *Sentinel) KillMaster() string {
	s.tb.Helper()
	ctx := context.Background()
	old, err := s.CrashMaster(ctx)
	if err != nil {
		s.tb.Fatal(err)
	}
	now, err := s.AwaitFailover(ctx, old)
	if err != nil {
		s.tb.Fatal(err)
	}
	return now
}

// CrashMaster kills the node the Sentinels name as master now (SIGKILL, as
// a crash would) and returns its address at once, without waiting for the
// failover (AwaitFailover does). Unlike KillMaster it returns its errors
// (no Sentinel answers; the master named is none of the group's), so any
// goroutine may call it.
func (s *Sentinel) CrashMaster(ctx context.Context) (string, error) {
	old, err := s.masterAddr(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range s.data {
		if n.addr == old {
			n.kill()
			return old, nil
		}
	}
	return "", fmt.Errorf("redistest: the master %s is none of the group's", old)
}

// AwaitFailover waits, for at most 20 seconds, until every Sentinel names a
// master other than old and that node says it is one, and returns its
// address. Any goroutine may call it.
func (s *Sentinel) AwaitFailover(ctx context.Context, old string) (string, error) {
	var now string
	err := poll(ctx, 20*time.Second, "a new master named by every Sentinel", func(ctx context.Context) error {
		var err error
		now, err = s.newMaster(ctx, old)
		return err
	})
	return now, err
}

// RestartKilled starts every killed data node again on its address and
// directory, as a replica of the master the Sentinels name now (a node
// killed while it was the master must not come back claiming to be one:
// an orchestrator restarts it with --replicaof, as this does). Left to the
// Sentinels, a node back as a master is turned into a replica only once
// they have seen it up for 8 s and the master sane, which a loaded machine
// (a master slow to answer looks down for a moment) can put off beyond
// 30 s. It returns once each is a replica in sync (at most 30 seconds), so
// the group can fail over again; a group with no node down is left alone.
// Any goroutine may call it.
func (s *Sentinel) RestartKilled(ctx context.Context) error {
	for _, n := range s.data {
		if n.running() {
			continue
		}
		cfg := s.dataCfg
		master, err := s.namedMaster(ctx)
		if err != nil {
			return err
		}
		if master != n.addr {
			host, port, _ := net.SplitHostPort(master)
			cfg.Args = append([]string{"--replicaof", host, port}, cfg.Args...)
		}
		if err := n.restart(ctx, cfg); err != nil {
			return err
		}
		err = poll(ctx, 30*time.Second, n.addr+" a replica in sync", func(ctx context.Context) error {
			return replicaInSync(ctx, n)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// namedMaster is the master the first Sentinel that answers names.
func (s *Sentinel) namedMaster(ctx context.Context) (string, error) {
	var errs []error
	for _, sn := range s.sentinels {
		addr, err := masterOf(ctx, sn)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("redistest: no Sentinel names the master: %w", errors.Join(errs...))
}

// awaitNewMaster waits until every Sentinel names a master other than old
// and that master answers as one, and returns its address.
func (s *Sentinel) awaitNewMaster(old string) string {
	s.tb.Helper()
	now, err := s.AwaitFailover(context.Background(), old)
	if err != nil {
		s.tb.Fatal(err)
	}
	return now
}

// ReplicaAddr is the host:port of the data node that is not the master
// (as the Sentinels name it): a test may pause it (CLIENT PAUSE … ALL) so
// that the master's writes are not yet applied there when it dies.
func (s *Sentinel) ReplicaAddr() string {
	s.tb.Helper()
	master := s.MasterAddr()
	for _, n := range s.data {
		if n.addr != master {
			return n.addr
		}
	}
	s.tb.Fatalf("redistest: no data node besides the master %s", master)
	return ""
}

// newMaster returns the master every Sentinel names, when it is not old
// and says it is a master.
func (s *Sentinel) newMaster(ctx context.Context, old string) (string, error) {
	var now string
	for _, sn := range s.sentinels {
		addr, err := masterOf(ctx, sn)
		if err != nil {
			return "", err
		}
		if addr == old {
			return "", fmt.Errorf("sentinel %s still names %s", sn.addr, old)
		}
		now = addr
	}
	c := redis.NewClient(&redis.Options{Addr: now, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	if role := infoField(info, "role"); role != "master" {
		return "", errors.New("the promoted node says role " + role)
	}
	return now, nil
}
