package slack

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
)

// Limit is a Web API method's rate limit: PerMinute calls a minute
// sustained, bursts of up to Burst; PerChannel keeps one limit per channel
// (chat.postMessage: about one message a second in each channel).
type Limit struct {
	PerMinute  float64
	Burst      int
	PerChannel bool
}

// SlackLimits are Slack's published tiers for the methods baton calls
// (INTEGRATION.md): the default pacing. Slack tolerates short bursts; the
// burst sizes are a guess at "short", kept below what Slack allows.
func SlackLimits() map[string]Limit {
	tier2 := Limit{PerMinute: 20, Burst: 3}
	tier3 := Limit{PerMinute: 50, Burst: 5}
	tier4 := Limit{PerMinute: 100, Burst: 10}
	return map[string]Limit{
		"chat.postMessage":             {PerMinute: 60, Burst: 3, PerChannel: true},
		"chat.update":                  tier3,
		"chat.postEphemeral":           tier4,
		"files.getUploadURLExternal":   tier4,
		"files.completeUploadExternal": tier4,
		"conversations.create":         tier2,
		"conversations.archive":        tier2,
		"conversations.invite":         tier3,
		"conversations.open":           tier3,
		"conversations.history":        tier3,
		"pins.add":                     tier2,
		"users.lookupByEmail":          tier3,
		"users.info":                   tier4,
	}
}

// Budget keeps the pacing state in Redis so that every replica of baton
// spends one Slack budget: each method's (and, for chat.postMessage, each
// channel's) send times, the slots held for deferred jobs, and the
// Retry-After of a 429 that any replica received.
type Budget struct {
	// Redis is the store the replicas share (single node, Sentinel or
	// Cluster: each limiter's keys share one hash tag).
	Redis redis.UniversalClient
	// Prefix starts every key (redis.prefix), e.g. "baton:".
	Prefix string
	// Timeout bounds each Redis round trip of the pacer; past it, or on any
	// Redis error, the call and those of the next second are paced by this
	// process alone (see pacer). Default 250ms.
	Timeout time.Duration
	// Log reports the budget becoming unreachable and coming back; nil
	// logs nothing.
	Log *slog.Logger
}

// pacer spaces the bot's calls so that Slack has no reason to refuse them:
// a GCRA (virtual scheduling) limiter per method, or per method and channel,
// slightly slower than the limit, that hands out send times. A call whose
// send time is further away than its caller accepts (bot.Pacing.MaxWait) is
// not made: the slot stays reserved for its ticket and the caller gets
// escalation.Defer, so the job runner reschedules the job for that slot and
// the worker is free meanwhile. A 429 from Slack blocks the method until its
// Retry-After has passed and voids the reservations made before it, so no
// call is sent into a limit Slack has just announced.
//
// With a Budget the state lives in Redis (budget.lua) and all replicas pace
// against it: one budget per method and channel for the whole deployment,
// tickets claimable by whichever replica runs the job next, and a 429 seen
// by one replica holding back all. Without one, or while Redis does not
// answer within Budget.Timeout, the process paces alone with the same
// rules in memory: it fails towards sending (N replicas may then send up to
// N times the rate, as before the shared budget), and Slack's 429s, still
// recorded here, protect what is left. After a failure Redis is asked again
// only a second later (retryEvery), so paging waits on Redis for the budget
// at most one timeout a second. The memory keeps what Redis last answered
// for each limiter, so pacing alone starts from the shared budget as it
// was; and every booking in Redis hands it this process's state, which
// Redis takes where it is later, so what was sent in memory during an
// outage (or before a Redis that came back empty) is not spent again.
type pacer struct {
	limits map[string]Limit
	now    func() time.Time
	shared *sharedBudget // nil: per process only

	mu   sync.Mutex
	keys map[string]*paceState
}

type paceState struct {
	tat     time.Time            // theoretical arrival time of the next call (GCRA)
	blocked time.Time            // no call before this (a 429's Retry-After)
	held    map[string]time.Time // ticket → reserved send time
}

// safety is how much slower than the published limit the pacer goes, and
// how many burst slots it leaves unused: scheduling noise between pacing a
// call and its arrival at Slack must not make it arrive early.
const safety = 1.1

// heldFor is how long a limiter's keys in Redis outlive the last time they
// name.
const heldFor = time.Minute

// lateGrace is how late a job may come back for the slot reserved for its
// ticket: the slot is its own until lateFor past its time, then void, and
// the job books again at the current rate. So the jobs whose slots passed
// while every replica was down do not all send at once when they come back
// (at most lateFor/interval+1 late slots meet), while a job the runner
// starts a little late under load keeps its place in the queue rather than
// going to its back (budget.lua).
const lateGrace = 2 * time.Second

// lateFor is how long past its time a held slot stays its ticket's.
func lateFor(interval time.Duration) time.Duration { return max(interval, lateGrace) }

func newPacer(limits map[string]Limit, now func() time.Time, b *Budget) *pacer {
	p := &pacer{limits: limits, now: now, keys: map[string]*paceState{}}
	if b != nil && b.Redis != nil {
		p.shared = newSharedBudget(*b)
	}
	return p
}

// unlimited paces a method with no known limit: only a 429 holds it back.
var unlimited = Limit{PerMinute: 1e9, Burst: 1e6}

// key names the limit a call to method in channel counts against.
func (p *pacer) key(method, channel string) (string, Limit) {
	l, ok := p.limits[method]
	if !ok || l.PerMinute <= 0 {
		return method, unlimited
	}
	if l.PerChannel {
		return method + "|" + channel, l
	}
	return method, l
}

// gcra is a limit's GCRA parameters: the spacing of calls (the published
// rate slowed by safety) and how far ahead of it a burst may run (one burst
// slot is left unused).
func gcra(l Limit) (interval, tolerance time.Duration) {
	interval = time.Duration(float64(time.Minute) / l.PerMinute * safety)
	burst := max(1, l.Burst-1)
	return interval, time.Duration(burst-1) * interval
}

// wait blocks until the call may be sent, or returns escalation.Defer when
// that is later than ctx's bot.Pacing allows, or ctx's error.
func (p *pacer) wait(ctx context.Context, method, channel string) error {
	key, l := p.key(method, channel)
	pc, bounded := bot.PacingFrom(ctx)
	for {
		d, deferred := p.reserve(ctx, key, l, pc, bounded)
		if deferred {
			return escalation.Defer(d)
		}
		if d <= 0 {
			return nil // booked just now, after any Retry-After
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		// A 429 that came in while this call waited for its slot (here or,
		// with a Budget, at another replica) voids the slot: book again,
		// after the Retry-After.
		if !p.blocked(ctx, key) {
			return nil
		}
	}
}

// reserve books the next send time for key and returns how long until it;
// deferred is true when that is beyond pc.MaxWait (bounded callers only).
func (p *pacer) reserve(ctx context.Context, key string, l Limit, pc bot.Pacing, bounded bool) (time.Duration, bool) {
	now := p.now()
	if p.shared.use(now) {
		mine := p.copyOf(key)
		d, deferred, stored, err := p.shared.reserve(ctx, key, l, pc, bounded, now, mine)
		if p.shared.answered(err, now) {
			p.keep(key, stored)
			return d, deferred
		}
	}
	return p.reserveLocal(key, l, pc, bounded, now)
}

// copyOf is this process's own tat and blocked for key: with a Budget, the
// latest that Redis answered, advanced by what was paced in memory since
// (while Redis did not answer). reserve hands it to Redis, which keeps the
// later of its own and this, so that what was sent while Redis was away, or
// before a Redis that came back empty, is not spent again.
func (p *pacer) copyOf(key string) paceTimes {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.keys[key]
	if st == nil {
		return paceTimes{}
	}
	return paceTimes{tat: st.tat, blocked: st.blocked}
}

// keep takes Redis's answer into this process's state for key (the later
// of each time), so that pacing in memory during an outage starts from the
// shared budget as it last was, and copyOf carries it back.
func (p *pacer) keep(key string, t paceTimes) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(key)
	if t.tat.After(st.tat) {
		st.tat = t.tat
	}
	if t.blocked.After(st.blocked) {
		st.blocked = t.blocked
	}
}

// paceTimes is a limiter's GCRA state: the next theoretical arrival time
// and the end of a 429's Retry-After.
type paceTimes struct{ tat, blocked time.Time }

// blocked reports whether a 429's Retry-After still holds key back.
func (p *pacer) blocked(ctx context.Context, key string) bool {
	now := p.now()
	p.mu.Lock()
	st := p.keys[key]
	local := st != nil && now.Before(st.blocked)
	p.mu.Unlock()
	if local || !p.shared.use(now) {
		return local
	}
	until, err := p.shared.blockedUntil(ctx, key)
	return p.shared.answered(err, now) && now.Before(until)
}

// block records a 429 on method (and channel): nothing is sent there before
// retryAfter has passed, and the slots reserved before it are void (their
// holders book again, after it, in the order they come back). It is kept
// in this process and, with a Budget, in Redis for the other replicas.
func (p *pacer) block(ctx context.Context, method, channel string, retryAfter time.Duration) {
	key, _ := p.key(method, channel)
	now := p.now()
	until := now.Add(retryAfter)
	p.blockLocal(key, until)
	if p.shared.use(now) {
		p.shared.answered(p.shared.block(ctx, key, until, now), now)
	}
}

// reserveLocal is reserve on this process's own state.
func (p *pacer) reserveLocal(key string, l Limit, pc bot.Pacing, bounded bool, now time.Time) (d time.Duration, deferred bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(key)
	interval, tolerance := gcra(l)
	for t, at := range st.held {
		if now.Sub(at) > lateFor(interval) { // void: claimed late, or never (budget.lua)
			delete(st.held, t)
		}
	}
	if pc.Ticket != "" {
		if at, ok := st.held[pc.Ticket]; ok {
			d = at.Sub(now)
			if bounded && d > pc.MaxWait {
				if !pc.Yield {
					return d, true
				}
				// A ticket that yields now (its incident was resolved
				// since it booked) gives its slot up to the next call
				// that books, and waits as any yielding call.
				delete(st.held, pc.Ticket)
				st.held[freeSlot(at)] = at
			} else {
				delete(st.held, pc.Ticket)
				return d, false
			}
		}
	}
	if bounded && pc.Yield {
		if d, wait := yieldWait(st.tat, st.blocked, now, interval, tolerance); wait {
			return d, true
		}
	} else if t, at, ok := firstFree(st.held); ok {
		// A slot given up by a yielding ticket: taken before a new one.
		delete(st.held, t)
		d = at.Sub(now)
		if bounded && d > pc.MaxWait {
			if pc.Ticket != "" {
				st.held[pc.Ticket] = at
			}
			return d, true
		}
		return d, false
	}
	if st.tat.Before(now) {
		st.tat = now
	}
	at := st.tat.Add(-tolerance)
	if at.Before(now) {
		at = now
	}
	if at.Before(st.blocked) {
		at = st.blocked
		st.tat = st.blocked.Add(tolerance)
	}
	st.tat = st.tat.Add(interval)
	d = at.Sub(now)
	if bounded && d > pc.MaxWait {
		if pc.Ticket != "" {
			st.held[pc.Ticket] = at
		}
		return d, true
	}
	return d, false
}

// freePrefix begins the held set's entries of slots given up (freeSlot):
// no ticket begins with it.
const freePrefix = "~"

// freeSlot is the held set's entry of a slot at at given up by the ticket
// that held it, for the next call that books without yielding.
func freeSlot(at time.Time) string { return freePrefix + strconv.FormatInt(at.UnixMicro(), 10) }

// firstFree returns the earliest slot given up in held, if any.
func firstFree(held map[string]time.Time) (ticket string, at time.Time, ok bool) {
	for t, a := range held {
		if strings.HasPrefix(t, freePrefix) && (!ok || a.Before(at)) {
			ticket, at, ok = t, a, true
		}
	}
	return ticket, at, ok
}

// yieldWait is how long a Yield call waits before it may book on a limit
// at tat, blocked: until booking leaves the next slot free now (tat no
// further ahead than the tolerance less one interval) and no 429 holds the
// limit back. wait false: it books now, as any call.
func yieldWait(tat, blocked, now time.Time, interval, tolerance time.Duration) (time.Duration, bool) {
	ready := tat.Add(interval - tolerance)
	if ready.Before(blocked) {
		ready = blocked
	}
	if !ready.After(now) {
		return 0, false
	}
	return ready.Sub(now), true
}

// blockLocal is block on this process's own state.
func (p *pacer) blockLocal(key string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(key)
	if until.After(st.blocked) {
		st.blocked = until
	}
	if st.tat.Before(until) {
		st.tat = until
	}
	clear(st.held)
}

// state is key's local state, made on first use. Callers hold p.mu.
func (p *pacer) state(key string) *paceState {
	st := p.keys[key]
	if st == nil {
		st = &paceState{held: map[string]time.Time{}}
		p.keys[key] = st
	}
	return st
}

// sharedBudget is the pacer's state in Redis. Each limiter has two keys
// under one hash tag (so a script touching both works on Redis Cluster):
//
//	<prefix>pace:{<method>[|<channel>]}        hash: tat, blocked (unix µs)
//	<prefix>pace:{<method>[|<channel>]}:held   sorted set: ticket → reserved send time (unix µs)
//	<prefix>pace:{<method>[|<channel>]}:free   sorted set: send times given up by a yielding ticket (unix µs)
//
// Both expire a minute after the last time they speak of. The times are the
// replicas' own clocks (the pacer's now), so replicas' clock skew shifts a
// slot by that much; safety's 10% margin is far larger than NTP's skew.
type sharedBudget struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	down    atomic.Bool  // the last round trip failed (logged once per outage)
	retryAt atomic.Int64 // unix µs: after a failure, Redis is not asked again before this
}

// retryEvery is how long after a failed round trip the pacer paces alone
// before it asks Redis again: during an outage a call pays the timeout at
// most once in that time, not on every call.
const retryEvery = time.Second

// use reports whether the budget is to be asked at now: there is one, and
// no failure in the last retryEvery.
func (s *sharedBudget) use(now time.Time) bool {
	return s != nil && now.UnixMicro() >= s.retryAt.Load()
}

//go:embed budget.lua
var budgetLua string

// budgetScript reserves (ARGV[1] "r") or blocks (ARGV[1] "b"); budget.lua
// explains its arguments and answers.
var budgetScript = redis.NewScript(budgetLua)

func newSharedBudget(b Budget) *sharedBudget {
	if b.Timeout <= 0 {
		b.Timeout = 250 * time.Millisecond
	}
	if b.Log == nil {
		b.Log = slog.New(slog.DiscardHandler)
	}
	return &sharedBudget{rdb: b.Redis, prefix: b.Prefix, timeout: b.Timeout, log: b.Log}
}

func (s *sharedBudget) keys(key string) []string {
	k := s.prefix + "pace:{" + key + "}"
	return []string{k, k + ":held", k + ":free"}
}

// answered reports whether err is nil, logging the budget's outage once
// when it begins and once when it ends; after an error, the budget is not
// used for retryEvery.
func (s *sharedBudget) answered(err error, now time.Time) bool {
	if err == nil {
		if s.down.CompareAndSwap(true, false) {
			s.log.Info("slack: rate budget in Redis back; pacing with the other replicas again")
		}
		return true
	}
	s.retryAt.Store(now.Add(retryEvery).UnixMicro())
	if !s.down.Swap(true) {
		s.log.Warn("slack: rate budget in Redis unreachable; pacing this replica alone until it answers", "err", err)
	}
	return false
}

// us is t in unix microseconds; dus is d in microseconds, rounded up.
func us(t time.Time) int64        { return t.UnixMicro() }
func dus(d time.Duration) int64   { return int64(math.Ceil(float64(d) / float64(time.Microsecond))) }
func fromUS(v int64) time.Time    { return time.UnixMicro(v) }
func usDur(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// ctx is the round trip's context: ctx's values, not its cancellation (a
// 429 is recorded even when its caller has gone), and the timeout.
func (s *sharedBudget) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
}

// reserve books a send time in Redis (budget.lua), first raising the stored
// state to mine where mine is later; it answers the wait, whether it is
// deferred, and the state stored after the call.
func (s *sharedBudget) reserve(ctx context.Context, key string, l Limit, pc bot.Pacing, bounded bool, now time.Time, mine paceTimes) (time.Duration, bool, paceTimes, error) {
	interval, tolerance := gcra(l)
	maxWait := int64(-1)
	if bounded {
		maxWait = max(0, dus(pc.MaxWait))
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	yield := 0
	if bounded && pc.Yield {
		yield = 1
	}
	v, err := budgetScript.Run(ctx, s.rdb, s.keys(key), "r", us(now), dus(interval), dus(tolerance), pc.Ticket, maxWait, dus(heldFor),
		usOrZero(mine.tat), usOrZero(mine.blocked), yield, dus(lateFor(interval))).Int64Slice()
	if err != nil {
		return 0, false, paceTimes{}, fmt.Errorf("rate budget: %w", err)
	}
	if len(v) != 4 {
		return 0, false, paceTimes{}, fmt.Errorf("rate budget: %d values answered, want 4", len(v))
	}
	return usDur(v[0]), v[1] == 1, paceTimes{tat: fromUS(v[2]), blocked: fromUSOrZero(v[3])}, nil
}

// usOrZero is us(t), or 0 for the zero time (nothing known);
// fromUSOrZero is its inverse.
func usOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return us(t)
}

func fromUSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromUS(v)
}

func (s *sharedBudget) block(ctx context.Context, key string, until, now time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := budgetScript.Run(ctx, s.rdb, s.keys(key), "b", us(now), us(until), dus(heldFor)).Err(); err != nil {
		return fmt.Errorf("rate budget: %w", err)
	}
	return nil
}

func (s *sharedBudget) blockedUntil(ctx context.Context, key string) (time.Time, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.rdb.HGet(ctx, s.keys(key)[0], "blocked").Int64()
	switch {
	case err == redis.Nil:
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("rate budget: %w", err)
	}
	return fromUS(v), nil
}
