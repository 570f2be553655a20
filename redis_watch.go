package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/httpapi"
)

// The durability check at start (durability.go) says nothing about a Redis
// that changes under a running baton: AOF switched off (CONFIG SET
// appendonly no), or a Redis that comes back from a crash empty (lost
// volume, drifted config). The second would let INCR issue INC-1 again to
// another alert while the first INC-1 is still in someone's chat. So each
// replica watches Redis while it serves (redisWatch):
//
//   - the persistence check again every durabilityEvery and right after
//     Redis answers following an outage or on a new connection (a
//     restarted Redis); appendonly no without
//     redis.allow_volatile is an ERROR at each check and /readyz 503;
//   - an epoch marker, <prefix>{inc}:epoch, written (SET when absent) with a
//     random id and the time by the first replica that finds none, and
//     remembered by every replica. When it is later missing or different,
//     Redis lost its data: an ERROR, baton_redis_data_losses_total, /readyz
//     503 for one durability period, and the incident counter is raised to
//     at least the highest incident number this replica saw, in the same
//     script that writes the new epoch.
//
// Intake opens only on the epoch this replica knows: the open script
// itself refuses when the marker is not that one (incident.WithEpoch), the
// replica then checks the epoch (raising the counter) and opens again. So a
// replica never issues a number at or below the highest it saw before a
// loss. Intake keeps accepting alerts after a loss: refusing them would
// lose more, and the counter is safe.

// epochScript compares the epoch marker with the one this replica knows
// (ARGV[1], "" when none yet) and, when it is missing or different, raises
// the counter to at least ARGV[2] (the highest incident number this replica
// saw); when missing it writes ARGV[3] as the new epoch.
// KEYS[1] epoch, KEYS[2] incident counter (both in the {inc} slot).
// Returns {epoch now, counter now, verdict}: "same", "adopted" (this
// replica knew none and found one), "created" (knew none, found none),
// "missing" or "changed" (data lost), "rewound" (the same epoch, but the
// counter below the highest number seen: Redis lost its latest writes;
// raised).
var epochScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(ARGV[2])
if cur and cur == ARGV[1] then
  if seq >= floor then return {cur, seq, 'same'} end
  redis.call('SET', KEYS[2], floor)
  return {cur, floor, 'rewound'}
end
if cur and ARGV[1] == '' then return {cur, seq, 'adopted'} end
if seq < floor then
  redis.call('SET', KEYS[2], floor)
  seq = floor
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[3])
  if ARGV[1] == '' then return {ARGV[3], seq, 'created'} end
  return {ARGV[3], seq, 'missing'}
end
return {cur, seq, 'changed'}
`)

// Defaults of the watch; AppOptions can shorten them for tests.
const (
	// durabilityEvery is how often a serving replica re-reads Redis's
	// persistence settings.
	durabilityEvery = time.Minute
	// epochEvery is how often it compares the epoch marker (one script
	// call) and reads the counter; also bounds how stale its highest seen
	// number may be.
	epochEvery = 5 * time.Second
)

// Sentences of /readyz for the conditions the watch finds.
const (
	notReadyVolatile = "not ready: Redis does not persist writes (appendonly no), so alerts accepted now would be lost if it restarts; see the log"
	notReadyDataLost = "not ready: Redis lost its data; incidents opened before are gone from it; see the log"
)

// redisWatch is one replica's watch over its Redis (see above). Its methods
// are safe for concurrent use: check and verify serialise on mu.
type redisWatch struct {
	rdb      redis.UniversalClient
	cfg      RedisConfig
	log      *slog.Logger
	now      func() time.Time
	epochKey string
	seqKey   string
	readyKey string
	every    time.Duration // persistence check
	epochEv  time.Duration // epoch check
	losses   prometheus.Counter

	kick  chan struct{} // a check is wanted now (Redis answers again)
	down  atomic.Bool   // a command failed to reach Redis since the last answer
	epoch *epochHolder  // the epoch marker and highest number this replica knows; the store reads both

	mu        sync.Mutex // serialises checks; guards the fields below
	volatile  bool       // the last persistence check refused the Redis
	saidAt    time.Time  // when the refusal was last logged
	lostUntil time.Time  // /readyz reports the data loss until then
}

// epochHolder is the epoch marker a replica knows ("" before its first
// check) and the highest incident number it saw, shared by the watch,
// which writes them, and the incident store, which requires the epoch on
// every open (incident.WithEpoch) and numbers new incidents above the
// highest (incident.WithNumberFloor).
type epochHolder struct {
	v       atomic.Pointer[string]
	highest atomic.Int64
}

// get returns the epoch known, "" when none yet.
func (e *epochHolder) get() string {
	if p := e.v.Load(); p != nil {
		return *p
	}
	return ""
}

func (e *epochHolder) set(s string) { e.v.Store(&s) }

// newRedisWatch builds the watch over the store's Redis and keys and hooks
// it into rdb (the first answer after a failure kicks a check). Its data
// loss counter is registered on reg.
func newRedisWatch(st *stores, ep *epochHolder, cfg RedisConfig, reg prometheus.Registerer, log *slog.Logger, o AppOptions) *redisWatch {
	w := &redisWatch{
		rdb: st.rdb, cfg: cfg, log: log, now: o.Now, epoch: ep,
		epochKey: st.incidents.EpochKey(),
		seqKey:   st.incidents.SeqKey(),
		readyKey: cfg.Prefix + "{inc}:ready",
		every:    durabilityEvery, epochEv: epochEvery,
		losses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "baton_redis_data_losses_total",
			Help: "Times this replica found that Redis lost its data (its epoch marker missing or changed) or its latest writes (the incident counter gone back).",
		}),
		kick: make(chan struct{}, 1),
	}
	if o.RedisCheckEvery > 0 {
		w.every = o.RedisCheckEvery
	}
	if o.EpochCheckEvery > 0 {
		w.epochEv = o.EpochCheckEvery
	}
	reg.MustRegister(w.losses)
	st.rdb.AddHook(watchHook{w})
	return w
}

// watchHook feeds the watch from every command the client runs.
type watchHook struct{ w *redisWatch }

var _ redis.Hook = watchHook{}

func (h watchHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err == nil {
			// A new connection may reach a new Redis (a restart breaks
			// every old one, and go-redis retries a command on a new
			// connection without its caller seeing the failure): check.
			h.w.wantCheck()
		}
		return c, err
	}
}

func (h watchHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.w.saw(ctx, err)
		return err
	}
}

func (h watchHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.w.saw(ctx, err)
		return err
	}
}

// saw records one command's fate: the first answer after a failure to
// reach Redis asks for a check at once.
func (w *redisWatch) saw(ctx context.Context, err error) {
	if answered(err) {
		if w.down.Swap(false) {
			w.wantCheck()
		}
		return
	}
	if ctx.Err() != nil {
		return // the caller gave up; Redis may be fine
	}
	w.down.Store(true)
}

// wantCheck asks run for both checks now; requests made while one is
// pending are one.
func (w *redisWatch) wantCheck() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run checks until ctx ends: the epoch every epochEv, the persistence
// every `every`, both at once when asked (wantCheck: Redis answers after
// an outage, a new connection, a data loss found).
func (w *redisWatch) run(ctx context.Context) {
	epochT := time.NewTicker(w.epochEv)
	defer epochT.Stop()
	persistT := time.NewTicker(w.every)
	defer persistT.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-epochT.C:
			_ = w.verify(ctx) // a failure is the outage log's to tell
		case <-persistT.C:
			w.checkPersistence(ctx)
		case <-w.kick:
			_ = w.verify(ctx)
			w.checkPersistence(ctx)
		}
	}
}

// checkPersistence re-runs the durability check of start-up: a refusal
// (appendonly no without redis.allow_volatile) makes /readyz answer 503
// and is an ERROR when found and again at most once per `every` while it
// lasts (checks also run on every new connection); its end is one INFO
// line. Other findings were said at start and are not repeated.
func (w *redisWatch) checkPersistence(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ps := readPersistence(cctx, w.rdb, w.cfg)
	for _, p := range ps {
		if p.AOF == "" {
			return // unreadable now (an outage?): keep the last verdict
		}
	}
	_, refusal := judgeDurability(ps, w.cfg.AllowVolatile)
	now := w.now()
	w.mu.Lock()
	was := w.volatile
	w.volatile = refusal != nil
	say := refusal != nil && (!was || now.Sub(w.saidAt) >= w.every)
	if say {
		w.saidAt = now
	}
	w.mu.Unlock()
	switch {
	case say:
		w.log.Error("redis stopped persisting writes; /readyz answers 503 until it does", "err", refusal)
	case was && refusal == nil:
		w.log.Info("redis persists writes again")
	}
}

// verify compares the epoch marker with the one this replica knows (see
// epochScript) and, on a loss, says so and raises the counter.
func (w *redisWatch) verify(ctx context.Context) error { return w.check(ctx, "", true) }

// ensure is verify unless the epoch known is no longer stale: not the one
// an open was refused with (stale; "" before the first check). Opens
// refused together run one check.
func (w *redisWatch) ensure(ctx context.Context, stale string) error {
	return w.check(ctx, stale, false)
}

func (w *redisWatch) check(ctx context.Context, stale string, force bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !force && w.epoch.get() != stale {
		return nil // another open's check got here first
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	fresh := newEpoch(w.now())
	res, err := epochScript.Run(cctx, w.rdb, []string{w.epochKey, w.seqKey}, w.epoch.get(), w.epoch.highest.Load(), fresh).Slice()
	if err != nil {
		return fmt.Errorf("check redis epoch: %w", err)
	}
	if len(res) != 3 {
		return fmt.Errorf("check redis epoch: %d replies", len(res))
	}
	cur, _ := res[0].(string)
	seq, _ := res[1].(int64)
	verdict, _ := res[2].(string)
	w.see(seq)
	known := w.epoch.get()
	w.epoch.set(cur)
	switch verdict {
	case "created":
		w.log.Info("redis epoch marker written", "key", w.epochKey, "epoch", cur)
	case "missing", "changed":
		// A Redis that lost its data may have lost its settings too.
		w.wantCheck()
		w.losses.Inc()
		w.lostUntil = w.now().Add(w.every)
		w.log.Error("Redis lost its data: its epoch marker is "+verdict+"; incidents, timelines and due pages stored before are gone from it. "+
			"Incident numbers go on from the highest this replica saw, so none is issued twice; intake keeps accepting alerts. "+
			"Check the Redis's persistence (appendonly yes, its volume) and restore from a backup if there is one",
			"key", w.epochKey, "was", known, "now", cur, "counter", seq)
	case "rewound":
		w.losses.Inc()
		w.log.Error("Redis lost its latest writes: the incident counter was below the highest incident number this replica saw; "+
			"raised to it, so no number is issued twice. Alerts and changes of the last moments before a Redis crash or failover may be gone: "+
			"appendfsync always, or redis.wait_replicas behind Sentinel, narrows that", "counter", seq)
	}
	return nil
}

// see raises the highest incident number seen to n.
func (w *redisWatch) see(n int64) {
	for {
		h := w.epoch.highest.Load()
		if n <= h || w.epoch.highest.CompareAndSwap(h, n) {
			return
		}
	}
}

// newEpoch is a random id with the time it was written.
func newEpoch(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + " " + now.UTC().Format(time.RFC3339)
}

// writable is the write probe of /readyz and of baton_redis_up: a tiny
// SET with a TTL on the incident store's slot, which fails on a Redis that
// answers PING but refuses writes (out of memory with noeviction, a
// read-only replica, a refused login).
func (w *redisWatch) writable(ctx context.Context) error {
	if err := w.rdb.Set(ctx, w.readyKey, strconv.FormatInt(w.now().UnixMilli(), 10), 10*time.Second).Err(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// ready is /readyz's check: Redis takes a write (a tiny SET with a TTL
// on the incident store's slot, so a Redis out of memory, read-only or
// refusing the login is not ready), persists writes unless volatility is
// allowed, and did not lose its data within the last durability period.
func (w *redisWatch) ready(ctx context.Context) error {
	if err := w.writable(ctx); err != nil {
		return fmt.Errorf("readyz %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.volatile:
		return httpapi.NotReady(notReadyVolatile)
	case w.now().Before(w.lostUntil):
		return httpapi.NotReady(notReadyDataLost)
	}
	return nil
}

// guardedIntake is the incident store as intake sees it: every number it
// opens raises the highest seen, and an open refused because the epoch
// changed (incident.ErrEpochChanged: Redis lost its data, or another
// replica found that first) checks the epoch, which raises the counter,
// and opens again once.
type guardedIntake struct {
	store *incident.Store
	watch *redisWatch
}

var _ intake.Store = guardedIntake{}

// OpenDelivery opens (or adds to) an incident on the epoch this replica
// knows; a check that fails leaves the refusal, a 503 (retry).
func (g guardedIntake) OpenDelivery(ctx context.Context, a incident.Alert, deliveryID string) (incident.OpenResult, error) {
	if g.watch.epoch.get() == "" {
		// Redis did not answer at start: learn the epoch first.
		if err := g.watch.ensure(ctx, ""); err != nil {
			return incident.OpenResult{}, err
		}
	}
	known := g.watch.epoch.get()
	res, err := g.store.OpenDelivery(ctx, a, deliveryID)
	if errors.Is(err, incident.ErrEpochChanged) {
		if verr := g.watch.ensure(ctx, known); verr != nil {
			return res, err
		}
		res, err = g.store.OpenDelivery(ctx, a, deliveryID)
	}
	if err == nil {
		g.watch.see(res.Number)
	}
	return res, err
}

var _ intake.HeartbeatStore = guardedIntake{}

// Beat records a heartbeat's beat on the epoch this replica knows (a beat
// of a missed heartbeat resolves its incident through open.lua, which
// checks the epoch): refused for a changed epoch, it is sent again once
// after the epoch check.
func (g guardedIntake) Beat(ctx context.Context, h incident.Heartbeat, now time.Time) (incident.BeatResult, error) {
	if g.watch.epoch.get() == "" {
		if err := g.watch.ensure(ctx, ""); err != nil {
			return incident.BeatResult{}, err
		}
	}
	known := g.watch.epoch.get()
	res, err := g.store.Beat(ctx, h, now)
	if errors.Is(err, incident.ErrEpochChanged) {
		if verr := g.watch.ensure(ctx, known); verr != nil {
			return res, err
		}
		res, err = g.store.Beat(ctx, h, now)
	}
	return res, err
}

// OpenBatch stores the alerts of one request on the epoch this replica
// knows, as OpenDelivery: one refused for a changed epoch (nothing of it
// stored) is sent again once after the epoch check.
func (g guardedIntake) OpenBatch(ctx context.Context, alerts []incident.Alert) ([]incident.OpenResult, error) {
	if g.watch.epoch.get() == "" {
		if err := g.watch.ensure(ctx, ""); err != nil {
			return nil, err
		}
	}
	known := g.watch.epoch.get()
	res, err := g.store.OpenBatch(ctx, alerts)
	if errors.Is(err, incident.ErrEpochChanged) {
		if verr := g.watch.ensure(ctx, known); verr != nil {
			return res, err
		}
		res, err = g.store.OpenBatch(ctx, alerts)
	}
	if err == nil {
		for _, r := range res {
			g.watch.see(r.Number)
		}
	}
	return res, err
}

// scrapeProbe is what /metrics reads from Redis at each scrape
// (metrics.Store): baton_redis_up is 1 only when Redis takes the write
// /readyz proves, so a Redis that answers PING but refuses writes (intake
// answering 503) shows as down.
type scrapeProbe struct {
	watch *redisWatch
	store *incident.Store
}

// Ping is the write probe (redisWatch.writable).
func (p scrapeProbe) Ping(ctx context.Context) error { return p.watch.writable(ctx) }

// overdueGrace is how long past its due time a job waits before
// baton_jobs_overdue counts it: longer than a claim takes when runners work.
const overdueGrace = 30 * time.Second

// CountOverdue counts the jobs due more than overdueGrace ago that no
// runner has started, on the App's clock.
func (p scrapeProbe) CountOverdue(ctx context.Context) (int64, error) {
	return p.store.CountOverdue(ctx, p.watch.now().Add(-overdueGrace))
}

// CountDead counts the dead letters kept.
func (p scrapeProbe) CountDead(ctx context.Context) (int64, error) { return p.store.CountDead(ctx) }
