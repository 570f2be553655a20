package main

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations/overrides"
)

// stores is everything baton keeps, all in one Redis: the incident store
// (incidents, timelines, dedup, due jobs), the overrides of rotations, and
// the read side that analytics scans.
type stores struct {
	rdb       redis.UniversalClient
	incidents *incident.Store
	overrides *overrides.Store
	reports   *redisstore.Store
}

// newStores connects nothing yet (go-redis dials on first use). The
// incident store reads the one clock, arms the policies' ack timeouts when
// an incident is acknowledged, signals wake when it makes a job due, and
// waits for redis.wait_replicas replicas after each write an answer rests on, and
// opens incidents only on the epoch marker in epoch, numbered above the
// highest number the replica saw (redis_watch.go), and groups alerts as
// services[].grouping says (docs/grouping.md); each acknowledgement and
// resolution it stores is told to onTransition (the metrics' MTTA and MTTR
// histograms).
func newStores(cfg *Config, d *domain, wake *escalation.Wakeup, epoch *epochHolder, onTransition func(string, incident.Incident), now func() time.Time) *stores {
	rdb := newRedis(cfg.Redis)
	inc := incident.NewStore(rdb, cfg.Redis.Prefix,
		incident.WithAckTimeout(d.policies.AckJobAfter), incident.WithOnJobDue(wake.Notify), incident.WithOnCreated(wake.Opened),
		incident.WithAuditRetention(cfg.auditRetention()), cfg.replicaWait(), incident.WithEpoch(epoch.get), incident.WithNumberFloor(epoch.highest.Load),
		incident.WithGrouping(d.grouping), incident.WithOnTransition(onTransition), incident.WithSealTTL(sealTTL(cfg, d)))
	inc.Now = now
	ovs := overrides.New(rdb, cfg.Redis.Prefix)
	ovs.Known = d.known()
	return &stores{rdb: rdb, incidents: inc, overrides: ovs, reports: redisstore.New(rdb, cfg.Redis.Prefix)}
}

// sealTTL is how long the store keeps sealed raw payloads: privacy.seal_ttl
// when there is a key to seal with, else 0 (none kept).
func sealTTL(cfg *Config, d *domain) time.Duration {
	if d.sealer == nil {
		return 0
	}
	return cfg.Privacy.SealTTL
}

// close stops the incident store's batching and releases the Redis client.
func (s *stores) close() error {
	s.incidents.Close()
	return s.rdb.Close()
}

// newRedis builds the client the config asks for: one addr is a single node,
// several a cluster, master_name a Sentinel failover group.
func newRedis(c RedisConfig) redis.UniversalClient {
	addrs := c.Addrs
	if len(addrs) == 0 {
		addrs = []string{c.Addr}
	}
	opts := &redis.UniversalOptions{
		Addrs:      addrs,
		MasterName: c.MasterName,
		Username:   c.Username,
		Password:   c.Password,
		DB:         c.DB,
		// Intake answers 503 rather than hanging when Redis is slow or gone.
		DialTimeout:  2 * time.Second,
		ReadTimeout:  redisReadTimeout, // above redis.wait_timeout
		WriteTimeout: 2 * time.Second,
	}
	if c.TLS {
		// Checked by Validate; a CA file unreadable since is a TLS
		// failure on dial, reported as Redis being unavailable.
		t, err := redisTLS(c)
		if err != nil {
			t = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
		}
		opts.TLSConfig = t
	}
	return redis.NewUniversalClient(opts)
}
