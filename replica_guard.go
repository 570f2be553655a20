package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// escalation.replica_id must be unique among the running replicas: a
// replica started under an id gives back at once the job leases held
// under it (incident.Store.ExpireLeasesOf), taking them from a live
// replica that has the same id. Nothing refuses a duplicate at start,
// since a replica restarted after kill -9 must not wait for its dead run
// to be forgotten; instead each replica with an id watches for another
// live one (replicaGuard):
//
//   - every replicaBeatEvery it writes its own random instance token to
//     <prefix>replica:<id>:beat (TTL three beats) and reads what the key
//     held before (one script call);
//   - the first beat may find the token of a previous run (killed, its key
//     not yet expired), which is not told; any later beat that finds a
//     token other than its own found one written after its first beat, so
//     by another live process with the same id: an ERROR naming the id (at
//     most once per replicaSaidEvery), and baton_replica_id_shared reads 1
//     until no other token has been found for replicaSharedFor.
//
// Both live processes find each other's token within about two beats.

// Defaults of the guard; AppOptions.ReplicaBeatEvery shortens the beat for tests.
const (
	replicaBeatEvery = time.Second
	replicaSaidEvery = time.Minute
)

// beatScript writes ARGV[1] to KEYS[1] with a TTL of ARGV[2] ms and
// returns what the key held before ("" when nothing).
var beatScript = redis.NewScript(`
local was = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return was or ''
`)

// replicaGuard tells when another live process uses this replica's
// escalation.replica_id (see above).
type replicaGuard struct {
	rdb   redis.UniversalClient
	id    string
	key   string
	token string
	log   *slog.Logger
	now   func() time.Time
	every time.Duration

	beats atomic.Int64 // beats that reached Redis

	mu     sync.Mutex
	seenAt time.Time // when another instance's token was last found
	saidAt time.Time // when that was last logged
}

// newReplicaGuard builds the guard of replica id on rdb (keys under
// prefix), its gauge registered on reg; nil when id is "" (a random id per
// process cannot be shared).
func newReplicaGuard(rdb redis.UniversalClient, prefix, id string, reg prometheus.Registerer, log *slog.Logger, o AppOptions) *replicaGuard {
	if id == "" {
		return nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	g := &replicaGuard{
		rdb: rdb, id: id, key: prefix + "replica:" + id + ":beat", token: hex.EncodeToString(b[:]),
		log: log, now: o.Now, every: replicaBeatEvery,
	}
	if o.ReplicaBeatEvery > 0 {
		g.every = o.ReplicaBeatEvery
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "baton_replica_id_shared",
		Help: "1 while another running baton on the same Redis uses this replica's escalation.replica_id (found within the last minute); give each replica its own.",
	}, func() float64 {
		if g.shared() {
			return 1
		}
		return 0
	}))
	return g
}

// sharedFor is how long a duplicate found keeps baton_replica_id_shared at 1.
func (g *replicaGuard) sharedFor() time.Duration { return max(replicaSaidEvery, 10*g.every) }

// shared says whether another instance's token was found recently.
func (g *replicaGuard) shared() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.seenAt.IsZero() && g.now().Sub(g.seenAt) < g.sharedFor()
}

// run beats until ctx ends.
func (g *replicaGuard) run(ctx context.Context) {
	t := time.NewTicker(g.every)
	defer t.Stop()
	for {
		g.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat writes this instance's token and tells a duplicate found. A
// failure is the outage log's to tell.
func (g *replicaGuard) beat(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	was, err := beatScript.Run(cctx, g.rdb, []string{g.key}, g.token, (3 * g.every).Milliseconds()).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return
	}
	first := g.beats.Add(1) == 1
	if first || was == "" || was == g.token {
		return // on the first beat, a token found may be a previous run's
	}
	now := g.now()
	g.mu.Lock()
	g.seenAt = now
	say := g.saidAt.IsZero() || now.Sub(g.saidAt) >= replicaSaidEvery
	if say {
		g.saidAt = now
	}
	g.mu.Unlock()
	if say {
		g.log.Error("another running baton uses this replica's escalation.replica_id on the same Redis: each takes the other's page jobs when it restarts. "+
			"Give each replica its own escalation.replica_id", "replica", g.id, "key", g.key)
	}
}
