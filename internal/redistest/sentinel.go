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
}

// StartSentinel starts the group and returns once the replica is in sync
// and every Sentinel knows the replica and the two other Sentinels, so a
// failover can be forced at once. It fails the test (never skips it) when
// redis-server is missing. It takes about three seconds: the Sentinels
// find each other through hello messages sent every two.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	bin := serverBinary(tb)
	// A master waits five seconds (repl-diskless-sync-delay) for more
	// replicas before a full sync; there is only ever one here.
	dataArgs := append([]string{"--repl-diskless-sync-delay", "0"}, durableArgs...)
	master := startNode(tb, bin, func(string, string) (redisproc.Config, error) {
		return redisproc.Config{Args: dataArgs}, nil
	})
	_, mport, _ := net.SplitHostPort(master.addr)
	replica := startNode(tb, bin, func(string, string) (redisproc.Config, error) {
		return redisproc.Config{Args: append([]string{"--replicaof", "127.0.0.1", mport}, dataArgs...)}, nil
	})
	s := &Sentinel{MasterName: SentinelMaster, tb: tb, data: []*node{master, replica}}
	waitFor(tb, 10*time.Second, "the replica in sync with the master", func(ctx context.Context) error {
		return replicaInSync(ctx, replica)
	})
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
			if err := sentinelKnowsAll(ctx, sn); err != nil {
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
		return fmt.Errorf("master_link_status %q", st)
	}
	return nil
}

// sentinelKnowsAll is nil when Sentinel n knows one replica and two other
// Sentinels of the master.
func sentinelKnowsAll(ctx context.Context, n *node) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: n.addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer c.Close()
	replicas, err := c.Replicas(ctx, SentinelMaster).Result()
	if err != nil {
		return err
	}
	others, err := c.Sentinels(ctx, SentinelMaster).Result()
	if err != nil {
		return err
	}
	if len(replicas) != 1 || len(others) != 2 {
		return fmt.Errorf("knows %d replicas and %d other sentinels", len(replicas), len(others))
	}
	return nil
}

// MasterAddr is the master's host:port as the first Sentinel that answers
// tells it.
func (s *Sentinel) MasterAddr() string {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var lastErr error
	for _, sn := range s.sentinels {
		addr, err := masterOf(ctx, sn)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	s.tb.Fatalf("redistest: no Sentinel tells the master: %v", lastErr)
	return ""
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
// address. The killed master stays down.
func (s *Sentinel) KillMaster() string {
	s.tb.Helper()
	old := s.MasterAddr()
	for _, n := range s.data {
		if n.addr == old {
			n.kill()
		}
	}
	return s.awaitNewMaster(old)
}

// awaitNewMaster waits until every Sentinel names a master other than old
// and that master answers as one, and returns its address.
func (s *Sentinel) awaitNewMaster(old string) string {
	s.tb.Helper()
	var now string
	waitFor(s.tb, 20*time.Second, "a new master named by every Sentinel", func(ctx context.Context) error {
		for _, sn := range s.sentinels {
			addr, err := masterOf(ctx, sn)
			if err != nil {
				return err
			}
			if addr == old {
				return fmt.Errorf("sentinel %s still names %s", sn.addr, old)
			}
			now = addr
		}
		c := redis.NewClient(&redis.Options{Addr: now, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		defer c.Close()
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if role := infoField(info, "role"); role != "master" {
			return errors.New("the promoted node says role " + role)
		}
		return nil
	})
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
