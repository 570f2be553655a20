package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
)

// Gathering: one bundle per target per message slot, whichever replica a
// page's job runs on.
//
// Each replica's Pager batches its own pages to a target in memory
// (coalesce.Group, bundle.go); with several replicas, each would post its
// own bundle to the same person in the same second. So a replica's batch
// does not post at once: it is offered in Redis, and one replica at a time
// (whoever holds the target's turn, a short lock) takes every page offered
// for the target, by any replica, and posts them as one message:
//
//	P chat:C:gather:{<target>}       hash: page key → the page (escalation.Page, JSON): offered, not taken
//	P chat:C:gather:{<target>}:turn  string: the replica whose turn it is to take and post (a token), PX turnLease, renewed while it runs
//	P chat:C:gather:{<target>}:next  string: unix ms until which the next message to target gathers (hold)
//	P chat:C:gather:{<target>}:out   hash: page key → "<turn token>|<deadline unix ms>": taken into a post
//	P chat:C:gather:{<target>}:res   hash: page key → that post's outcome for the page (gatherResult, JSON)
//	P chat:C:gather:{<target>}:back  hash: incident → unix ms when its page to target is due again (awaitBack)
//	P chat:C:gather:{<target>}:new   hash: page key → unix ms until which a page of news is expected (newsFirst)
//
// All seven share one hash tag, so the take script works on Redis Cluster.
//
//  1. offer: the batch's pages go into the gather hash (clearing any
//     out/res left of an earlier attempt of the same page);
//  2. every poll (gatherPoll; one loop per process and target, gatherLoop,
//     for all its pages), the replica reads its pages' outcomes; a
//     page taken by another replica waits for the outcome that replica
//     writes; a page still offered tries to take the target's turn;
//  3. the turn's holder, while the target is busy, waits out the rest of
//     its window and gatherLag (for the other replicas' pages released by
//     the same window; after a quiet spell it waits for nothing), then
//     takes in one script (takeScript)
//     every page offered, marking each taken (out), posts them as one
//     message (a lone page as the ordinary card, several as a Bundle:
//     saveBundle records bkey:<page key> before the post, as before), and
//     writes each page's outcome (res): the bundle's id and time, or the
//     post's error (a 429 or the pacer's Defer hands every page back: each
//     job retries as it would after its own refused post);
//  4. each replica returns its pages' outcomes to their jobs, which commit
//     exactly as if they had posted (the same bundle id and time).
//
// The turn is a short lease (turnLease), renewed while its holder runs
// (holdTurn); a holder that cannot renew it stops its posts before the
// lease can run out. A taker that dies (or loses its turn: Redis lost the
// key) leaves its pages' outcome unknown: the waiting replicas, seeing its
// turn gone with no outcome written, wait gatherGrace more (for a post
// already on the wire to land) and return an ordinary error (not Unsent),
// so each job's next run asks the delivery check first (found: sent; not
// found: sent again). A dead taker thus delays its pages by one lease and
// the grace (3 s), not by its whole deadline (turnTTL, which still bounds
// a live one). The delivery check itself answers "not known yet" while
// the page is taken by a live turn (inFlight), so a post still waiting for
// its rate-limit slot is not doubled by a check that runs before it. A
// page is never lost, and never doubled while the check can see the
// message.

// gatherPoll is how often a replica whose pages wait in Redis looks for
// their outcome or the target's turn (once for all its pages to a target).
const gatherPoll = 10 * time.Millisecond

// gatherGrace is how long past a taker's deadline, or past the end of its
// turn with no outcome written, its outcome is waited for before the
// delivery check decides: a post its taker sent just before it stopped
// lands within it.
const gatherGrace = time.Second

// turnLease is how long a target's turn lives in Redis without a renewal;
// its holder renews it every turnLease/4 (holdTurn) and stops its posts
// when it cannot, before the lease runs out. A holder killed mid-turn
// leaves the target to the other replicas after at most this long.
const turnLease = 2 * time.Second

// gatherTTL is how long the gather keys live after their last write.
const gatherTTL = 2 * time.Minute

func (s *state) gather(target string) string     { return s.base + "gather:{" + target + "}" }
func (s *state) gatherTurn(target string) string { return s.gather(target) + ":turn" }
func (s *state) gatherNext(target string) string { return s.gather(target) + ":next" }
func (s *state) gatherOut(target string) string  { return s.gather(target) + ":out" }
func (s *state) gatherRes(target string) string  { return s.gather(target) + ":res" }
func (s *state) gatherBack(target string) string { return s.gather(target) + ":back" }
func (s *state) gatherNew(target string) string  { return s.gather(target) + ":new" }

// news reports whether pg tells its reader of an incident they were not
// told of yet (a first page, an escalation, an assignment, a retrigger, a
// fallback), as against a reminder (ReasonRepeat) or a page that only
// tells (notify, handoff: "moved on"). A target's message goes to news
// first: a turn whose pages are all reminders and notices waits while a
// page of news for the target is on its way (expectNews).
func news(pg escalation.Page) bool {
	switch pg.Reason {
	case escalation.ReasonRepeat, escalation.ReasonNotify, escalation.ReasonHandoff:
		return false
	}
	return true
}

// newsSlack is how long past its expected offer a page of news is waited
// for by a turn holding only reminders and notices: past it, they go.
const newsSlack = time.Second

// expectNews records in gatherNew that the pages of news keys are on
// their way to target, due to be offered by until (plus newsSlack): while
// such an entry lives and no page of news is offered, a turn leaves the
// reminders and notices offered for the target waiting (newsFirst). The
// entry goes when the page is offered (gathered), or expires.
func (p *Pager) expectNews(ctx context.Context, target string, until time.Time, keys ...string) {
	if len(keys) == 0 {
		return
	}
	c := p.c
	fields := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		fields = append(fields, k, until.Add(newsSlack).UnixMilli())
	}
	_, err := c.st.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.HSet(ctx, c.st.gatherNew(target), fields...)
		pp.PExpire(ctx, c.st.gatherNew(target), gatherTTL)
		return nil
	})
	if err != nil {
		c.log.Debug("bot: pages of news not announced; reminders may go before them", "err", err)
	}
}

// newsFirst reports whether the turn's holder should leave the pages
// offered for target waiting: none of them is news, and a page of news
// for the target is on its way (gatherNew, not expired). Expired entries
// are removed. On an error it answers false: the pages go.
func (p *Pager) newsFirst(ctx context.Context, target string) bool {
	c := p.c
	var offered, coming *redis.MapStringStringCmd
	_, err := c.st.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
		offered = pp.HGetAll(ctx, c.st.gather(target))
		coming = pp.HGetAll(ctx, c.st.gatherNew(target))
		return nil
	})
	if err != nil || len(coming.Val()) == 0 || len(offered.Val()) == 0 {
		return false
	}
	now := c.now()
	waiting := false
	var stale []string
	for k, v := range coming.Val() {
		ms, _ := strconv.ParseInt(v, 10, 64)
		if now.After(time.UnixMilli(ms)) {
			stale = append(stale, k)
			continue
		}
		if _, there := offered.Val()[k]; !there {
			waiting = true
		}
	}
	if len(stale) > 0 {
		_ = c.st.rdb.HDel(ctx, c.st.gatherNew(target), stale...).Err()
	}
	if !waiting {
		return false
	}
	for _, raw := range offered.Val() {
		var pg escalation.Page
		if json.Unmarshal([]byte(raw), &pg) != nil || news(pg) {
			return false
		}
	}
	return true
}

// backWait is how long at most a turn's holder, past the target's window
// and gatherLag, waits for the pages of earlier messages that were due
// again within the window (escalation.Page.Again) and are not offered
// yet: their jobs run late in a storm, and a page that misses the message
// goes alone a window later.
const backWait = 500 * time.Millisecond

// awaitBack waits, for at most backWait, until every incident whose page
// to target was due again by now (recorded in gatherBack when its last
// message went, within the last window) is offered again. An incident
// acknowledged meanwhile is not paged again: its entry is waited for once,
// and forgotten once it is older than the window.
func (p *Pager) awaitBack(ctx context.Context, target string) {
	c := p.c
	now := c.now()
	back, err := c.st.rdb.HGetAll(ctx, c.st.gatherBack(target)).Result()
	if err != nil || len(back) == 0 {
		return
	}
	want := map[string]bool{}
	var stale []string
	for inc, v := range back {
		ms, _ := strconv.ParseInt(v, 10, 64)
		due := time.UnixMilli(ms)
		switch {
		case due.Before(now.Add(-c.bundleWindow - backWait)):
			stale = append(stale, inc)
		case !due.After(now) && due.After(now.Add(-c.bundleWindow)):
			want[inc] = true
		}
	}
	if len(stale) > 0 {
		_ = c.st.rdb.HDel(ctx, c.st.gatherBack(target), stale...).Err()
	}
	if len(want) == 0 {
		return
	}
	deadline := time.NewTimer(backWait)
	defer deadline.Stop()
	tick := time.NewTicker(gatherPoll)
	defer tick.Stop()
	for {
		offered, err := c.st.rdb.HVals(ctx, c.st.gather(target)).Result()
		if err != nil {
			return
		}
		for _, raw := range offered {
			var pg escalation.Page
			if json.Unmarshal([]byte(raw), &pg) == nil {
				delete(want, strconv.FormatInt(pg.Incident, 10))
			}
		}
		if len(want) == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			c.log.Debug("bot: pages due again not offered in time; the message goes without them", "target", target, "missing", len(want))
			return
		case <-ctx.Done():
			return
		}
	}
}

// recordBack records, for the pages items just delivered to target at at,
// when each incident's page is due again (gatherBack), and forgets those
// not due again.
func (p *Pager) recordBack(ctx context.Context, target string, at time.Time, items []*pageItem, errs []error) {
	c := p.c
	var fields []any
	var gone []string
	var last time.Duration
	for i, it := range items {
		inc := strconv.FormatInt(it.pg.Incident, 10)
		if errors.Is(errs[i], errNoLongerDue) {
			gone = append(gone, inc)
			continue
		}
		if errs[i] != nil {
			continue // refused: its job pages again, expected as before
		}
		if it.pg.Again <= 0 {
			gone = append(gone, inc)
			continue
		}
		fields = append(fields, inc, at.Add(it.pg.Again).UnixMilli())
		last = max(last, it.pg.Again)
	}
	if len(fields) == 0 && len(gone) == 0 {
		return
	}
	_, err := c.st.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		if len(gone) > 0 {
			pp.HDel(ctx, c.st.gatherBack(target), gone...)
		}
		if len(fields) > 0 {
			pp.HSet(ctx, c.st.gatherBack(target), fields...)
			pp.PExpire(ctx, c.st.gatherBack(target), last+2*c.bundleWindow+backWait)
		}
		return nil
	})
	if err != nil {
		c.log.Debug("bot: pages due again not recorded", "err", err)
	}
}

// turnTTL is how long a target's turn is held at most: the wait for more
// pages (the rest of the target's window, at most PageMaxWait, gatherLag
// and backWait), the post's wait for its rate-limit slot and the post
// itself.
func (p *Pager) turnTTL() time.Duration {
	return p.gatherLag() + backWait + 2*p.c.pageMaxWait + turnPost
}

// turnPost is what a turn allows for the post itself (and the records
// around it) after its wait for a rate-limit slot.
const turnPost = 5 * time.Second

// gatherLag is how long the turn's holder waits before it takes the
// offered pages while the target is busy (a message to it within the
// window): the other replicas' pages released by the same window
// (pageHold) come within it. A fifth of the bundle window (200 ms at
// Slack's pace). After a quiet spell there is no wait: a lone page goes at
// once, as a post of its own would, and pages due at the same instant on
// other replicas go in the next message, a window later.
func (p *Pager) gatherLag() time.Duration {
	return p.c.bundleWindow / 5
}

// pageHold is the pages group's Hold: until the later of this process's
// window after its last message to target (hold) and the one the last
// message by any replica set in Redis (gatherNext).
func (p *Pager) pageHold(target string) time.Duration {
	d := p.hold(target)
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	v, err := p.c.st.rdb.Get(ctx, p.c.st.gatherNext(target)).Int64()
	if err == nil {
		d = max(d, time.UnixMilli(v).Sub(p.c.now()))
	}
	return d
}

// gatherResult is a page's outcome as its taker writes it for the
// replica that offered it.
type gatherResult struct {
	Bundle string `json:"b,omitempty"`
	At     int64  `json:"at,omitempty"` // unix ms
	Err    string `json:"e,omitempty"`
	// What the error was: Permanent, Unsent, refused for d (a 429's
	// Retry-After, or the pacer's Defer), the incident no longer due.
	Perm    bool  `json:"p,omitempty"`
	Unsent  bool  `json:"u,omitempty"`
	Retry   int64 `json:"r,omitempty"` // ms
	Defer   bool  `json:"d,omitempty"`
	NoLonge bool  `json:"n,omitempty"`
}

// encodeResult is the outcome of a page: err, else the bundle it went in.
func encodeResult(err error, b escalation.Bundle) gatherResult {
	if err == nil {
		r := gatherResult{Bundle: b.ID}
		if !b.At.IsZero() {
			r.At = b.At.UnixMilli()
		}
		return r
	}
	r := gatherResult{Err: err.Error(), Perm: escalation.IsPermanent(err), Unsent: escalation.IsUnsent(err),
		NoLonge: errors.Is(err, errNoLongerDue)}
	if d, ok := escalation.IsDeferred(err); ok {
		r.Defer, r.Retry = true, max(d.Milliseconds(), 1)
	} else if ra := escalation.RetryAfterError(nil); errors.As(err, &ra) {
		r.Retry = max(ra.RetryAfter().Milliseconds(), 1)
	}
	return r
}

// decode is the outcome as the page's own job gets it.
func (r gatherResult) decode() (escalation.Bundle, error) {
	if r.Err == "" {
		b := escalation.Bundle{ID: r.Bundle}
		if r.At != 0 {
			b.At = time.UnixMilli(r.At)
		}
		return b, nil
	}
	err := errors.New(r.Err)
	if r.NoLonge {
		err = fmt.Errorf("%s: %w", strings.TrimSuffix(r.Err, ": "+errNoLongerDue.Error()), errNoLongerDue)
	}
	switch {
	case r.Defer:
		err = escalation.Defer(time.Duration(r.Retry) * time.Millisecond)
	case r.Retry > 0:
		err = escalation.RetryAfter(err, time.Duration(r.Retry)*time.Millisecond)
	}
	if r.Perm {
		err = escalation.Permanent(err)
	}
	if r.Unsent {
		err = escalation.Unsent(err)
	}
	return escalation.Bundle{}, err
}

// errTakerSilent: the replica that took a page into its post wrote no
// outcome before its deadline. The page may or may not have been
// delivered: the job's delivery check decides.
var errTakerSilent = errors.New("the replica that took the page into its message did not say how it went")

// takeScript takes the turn holder's pages: if KEYS[2] (the turn) still
// holds ARGV[1], every page offered in KEYS[1] (at most ARGV[4]) leaves it
// and is marked in KEYS[3] as taken by turn ARGV[1] until ARGV[3] (ARGV[2]
// is unused). Returns the pages taken, key and page alternately; nil when
// the turn is lost.
var takeScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
local all = redis.call('HGETALL', KEYS[1])
local max = tonumber(ARGV[4])
local out = {}
for i = 1, #all, 2 do
  if #out >= 2 * max then break end
  out[#out + 1] = all[i]
  out[#out + 1] = all[i + 1]
  redis.call('HDEL', KEYS[1], all[i])
  redis.call('HSET', KEYS[3], all[i], ARGV[1] .. '|' .. ARGV[3])
end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return out
`)

// renewScript extends a turn to ARGV[2] ms if it is still ARGV[1]'s
// (1), else answers 0.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// releaseScript ends a turn if it is still ARGV[1]'s.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// withdrawScript takes pages back from the gather hash; it answers, per
// page, whether it was still offered (1: withdrawn, never sent).
var withdrawScript = redis.NewScript(`
local out = {}
for i, k in ipairs(ARGV) do out[i] = redis.call('HDEL', KEYS[1], k) end
return out
`)

// gatherLoop is the one loop per process and target that reads, for
// every page this process has offered for the target, its outcome, and
// takes the target's turn when a page is still offered (see gathered). Its
// pages' callers wait on their gatherWait, so a storm of pages to one
// person costs one Redis read per gatherPoll, not one per page.
type gatherLoop struct {
	mu    sync.Mutex
	waits map[string]*gatherWait // page key → its waiting caller
}

// gatherWait is one page waiting in a gatherLoop for its outcome.
type gatherWait struct {
	it     *pageItem
	done   chan struct{} // closed when err and bundle are set
	err    error
	bundle escalation.Bundle
	// lostAt is when the loop first saw the page taken by a turn that
	// no longer holds the target, with no outcome written (zero: not seen).
	lostAt time.Time
}

// finish gives w its outcome, unless its caller already left. Call with
// l.mu held.
func (l *gatherLoop) finish(key string, err error, b escalation.Bundle) {
	w, ok := l.waits[key]
	if !ok {
		return
	}
	delete(l.waits, key)
	w.err, w.bundle = err, b
	close(w.done)
}

// gathered offers items (this replica's pages for target) in Redis and
// waits until each went out in whichever replica's message took it (see
// above). Every item gets its page's outcome; those delivered have
// it.bundle set.
func (p *Pager) gathered(ctx context.Context, target string, items []*pageItem) []error {
	c := p.c
	errs := make([]error, len(items))
	left := map[string]int{}
	fields := make([]any, 0, 2*len(items))
	keys := make([]string, 0, len(items))
	for i, it := range items {
		raw, err := json.Marshal(it.pg)
		if err != nil {
			errs[i] = escalation.Unsent(fmt.Errorf("offer page %s: %w", it.pg.Key, err))
			continue
		}
		left[it.pg.Key] = i
		keys = append(keys, it.pg.Key)
		fields = append(fields, it.pg.Key, raw)
	}
	if len(keys) == 0 {
		return errs
	}
	_, err := c.st.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.HDel(ctx, c.st.gatherOut(target), keys...)
		pp.HDel(ctx, c.st.gatherRes(target), keys...)
		pp.HDel(ctx, c.st.gatherNew(target), keys...)
		pp.HSet(ctx, c.st.gather(target), fields...)
		pp.PExpire(ctx, c.st.gather(target), gatherTTL)
		return nil
	})
	if err != nil {
		for _, i := range left {
			errs[i] = escalation.Unsent(fmt.Errorf("offer page %s: %w", items[i].pg.Key, err))
		}
		return errs
	}
	waits := map[string]*gatherWait{}
	for k, i := range left {
		waits[k] = &gatherWait{it: items[i], done: make(chan struct{})}
	}
	l := p.joinLoop(target, waits)
	for k, w := range waits {
		i := left[k]
		select {
		case <-w.done:
			errs[i], items[i].bundle = w.err, w.bundle
			delete(left, k)
			continue
		case <-ctx.Done():
		}
		break
	}
	if len(left) == 0 {
		return errs
	}
	// The caller gave up: take its pages out of the loop (those whose
	// outcome came meanwhile keep it) and back from Redis.
	gone := map[string]int{}
	l.mu.Lock()
	for k, i := range left {
		w := waits[k]
		select {
		case <-w.done:
			errs[i], items[i].bundle = w.err, w.bundle
		default:
			delete(l.waits, k)
			gone[k] = i
		}
	}
	l.mu.Unlock()
	if len(gone) > 0 {
		p.withdraw(target, gone, items, errs, ctx.Err())
	}
	return errs
}

// joinLoop adds waits to target's gatherLoop, starting it if none runs.
func (p *Pager) joinLoop(target string, waits map[string]*gatherWait) *gatherLoop {
	p.gmu.Lock()
	defer p.gmu.Unlock()
	l, ok := p.gloops[target]
	if !ok {
		if p.gloops == nil {
			p.gloops = map[string]*gatherLoop{}
		}
		l = &gatherLoop{waits: map[string]*gatherWait{}}
		p.gloops[target] = l
		go p.runLoop(target, l)
	}
	l.mu.Lock()
	for k, w := range waits {
		if old, ok := l.waits[k]; ok {
			// The same page again (its job ran again while the
			// earlier caller still waits): the earlier one has no say.
			old.err = fmt.Errorf("page %s: offered again", k)
			close(old.done)
		}
		l.waits[k] = w
	}
	l.mu.Unlock()
	return l
}

// runLoop is target's gatherLoop: every gatherPoll (at once after a turn)
// it reads its pages' outcomes and, while one is still offered, tries to
// take the target's turn; it ends when no page waits.
func (p *Pager) runLoop(target string, l *gatherLoop) {
	c := p.c
	ctx := context.Background()
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		<-tick.C
		p.gmu.Lock()
		l.mu.Lock()
		if len(l.waits) == 0 {
			delete(p.gloops, target)
			l.mu.Unlock()
			p.gmu.Unlock()
			return
		}
		keys := make([]string, 0, len(l.waits))
		mine := make(map[string]*pageItem, len(l.waits))
		for k, w := range l.waits {
			keys = append(keys, k)
			mine[k] = w.it
		}
		l.mu.Unlock()
		p.gmu.Unlock()
		offered, err := p.outcomes(ctx, target, keys, l)
		if errors.Is(err, redis.ErrClosed) {
			// This process is going away: whatever became of its pages,
			// their delivery checks decide.
			l.mu.Lock()
			for _, k := range keys {
				l.finish(k, fmt.Errorf("page %s: %w", k, err), escalation.Bundle{})
			}
			l.mu.Unlock()
			tick.Reset(0)
			continue
		}
		if err != nil {
			c.log.Debug("bot: reading gathered pages' outcome failed; polling again", "err", err)
		}
		if offered && err == nil {
			token := newToken()
			ok, err := c.st.rdb.SetNX(ctx, c.st.gatherTurn(target), token, turnLease).Result()
			if err == nil && ok {
				// The turn's post is paced as the page that took it
				// would be (one of this process's, its ticket).
				ticket := slices.Min(keys)
				if p.turn(WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: "page:" + ticket}), target, token, mine) {
					tick.Reset(0)
					continue
				}
			}
		}
		tick.Reset(gatherPoll)
	}
}

// outcomes reads the outcome of the pages keys (waiting in l) and hands
// each that has one to its caller; offered reports whether any is still
// offered (not yet taken).
func (p *Pager) outcomes(ctx context.Context, target string, keys []string, l *gatherLoop) (offered bool, err error) {
	c := p.c
	var res, out *redis.SliceCmd
	var turn *redis.StringCmd
	// One transaction: a taker writes its outcome before it ends its
	// turn, so a page found taken with no outcome by a turn gone is one
	// whose taker stopped without writing it.
	_, err = c.st.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		res = pp.HMGet(ctx, c.st.gatherRes(target), keys...)
		out = pp.HMGet(ctx, c.st.gatherOut(target), keys...)
		turn = pp.Get(ctx, c.st.gatherTurn(target))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	now := c.now()
	var done []string
	l.mu.Lock()
	for j, k := range keys {
		if s, ok := res.Val()[j].(string); ok {
			var r gatherResult
			if err := json.Unmarshal([]byte(s), &r); err != nil {
				r = gatherResult{Err: "unreadable outcome: " + err.Error()}
			}
			b, err := r.decode()
			l.finish(k, err, b)
			done = append(done, k)
			continue
		}
		s, taken := out.Val()[j].(string)
		if !taken {
			offered = true
			continue
		}
		by, dl, _ := strings.Cut(s, "|")
		ms, _ := strconv.ParseInt(dl, 10, 64)
		gone := false
		if w, ok := l.waits[k]; ok && by != turn.Val() {
			if w.lostAt.IsZero() {
				w.lostAt = now
			}
			gone = now.Sub(w.lostAt) >= gatherGrace
		}
		if gone || now.After(time.UnixMilli(ms).Add(gatherGrace)) {
			if w, ok := l.waits[k]; ok {
				c.log.Warn("bot: a page's message went unanswered by the replica that took it; its delivery check decides", "incident", w.it.pg.Incident)
			}
			l.finish(k, fmt.Errorf("page %s: %w", k, errTakerSilent), escalation.Bundle{})
			done = append(done, k)
		}
	}
	l.mu.Unlock()
	if len(done) > 0 {
		_, _ = c.st.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
			pp.HDel(ctx, c.st.gatherRes(target), done...)
			pp.HDel(ctx, c.st.gatherOut(target), done...)
			return nil
		})
	}
	return offered, nil
}

// withdraw takes back the pages in left when their callers gave up: those
// still offered were never sent (Unsent cause); those taken already get an
// ordinary error, so their delivery check decides.
func (p *Pager) withdraw(target string, left map[string]int, items []*pageItem, errs []error, cause error) {
	c := p.c
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	keys := make([]any, 0, len(left))
	for k := range left {
		keys = append(keys, k)
	}
	got, err := withdrawScript.Run(ctx, c.st.rdb, []string{c.st.gather(target)}, keys...).Int64Slice()
	for j, k := range keys {
		i := left[k.(string)]
		if err == nil && got[j] == 1 {
			errs[i] = escalation.Unsent(cause)
		} else {
			errs[i] = fmt.Errorf("page %s: %w", k, cause)
		}
	}
}

// turn is this replica's turn to post to target: it takes every page
// offered for it (mine are this replica's own, ready to post), posts them
// as one message, writes each page's outcome and ends the turn. Its posts
// run on their own deadline (turnTTL), not its callers': other replicas'
// pages depend on them; and only while it holds the turn (holdTurn). It
// reports whether it took any page (false: the pages offered wait, as for
// news on its way, or the take failed).
func (p *Pager) turn(ctx context.Context, target, token string, mine map[string]*pageItem) bool {
	c := p.c
	ttl := p.turnTTL()
	deadline := c.now().Add(ttl)
	base := context.WithoutCancel(ctx)
	ctx, cancel := context.WithDeadline(base, time.Now().Add(ttl))
	defer cancel()
	held := make(chan struct{})
	go p.holdTurn(ctx, cancel, target, token, held)
	defer func() {
		cancel()
		<-held
		rctx, rcancel := context.WithTimeout(base, time.Second)
		defer rcancel()
		if err := releaseScript.Run(rctx, c.st.rdb, []string{c.st.gatherTurn(target)}, token).Err(); err != nil {
			c.log.Debug("bot: a gather turn not released; it expires", "err", err)
		}
	}()
	// The target's window, by any replica, may still run (pages offered
	// before a message went, or before a 429): wait for its end, within
	// the turn's own wait for a slot, so the pages due meanwhile gather.
	var lag time.Duration
	if v, err := c.st.rdb.Get(ctx, c.st.gatherNext(target)).Int64(); err == nil {
		lag = p.gatherLag() + min(max(time.UnixMilli(v).Sub(c.now()), 0), p.c.pageMaxWait)
	}
	if lag > 0 {
		t := time.NewTimer(lag)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	// The pages of earlier messages due again within the window are
	// waited for (their jobs may be late): they join this message.
	if lag > 0 {
		p.awaitBack(ctx, target)
	}
	// News first: reminders and "moved on" notices do not take the
	// target's message while a page of news for it is on its way; they
	// join its message, or wait for the next.
	if p.newsFirst(ctx, target) {
		c.log.Debug("bot: reminders and notices wait for the pages of news on their way", "target", target)
		return false
	}
	take := newToken()
	raw, err := takeScript.Run(ctx, c.st.rdb,
		[]string{c.st.gather(target), c.st.gatherTurn(target), c.st.gatherOut(target)},
		token, take, deadline.UnixMilli(), MaxBundle, gatherTTL.Milliseconds()).StringSlice()
	if err != nil || len(raw) == 0 {
		if err != nil && !errors.Is(err, redis.Nil) {
			c.log.Debug("bot: taking gathered pages failed; polling again", "err", err)
		}
		return false
	}
	results := map[string]gatherResult{}
	var items []*pageItem
	for j := 0; j+1 < len(raw); j += 2 {
		key := raw[j]
		if it, ok := mine[key]; ok {
			items = append(items, it)
			continue
		}
		var pg escalation.Page
		if err := json.Unmarshal([]byte(raw[j+1]), &pg); err != nil {
			results[key] = encodeResult(escalation.Unsent(fmt.Errorf("gathered page %s unreadable: %w", key, err)), escalation.Bundle{})
			continue
		}
		card, refs, err := p.card(ctx, pg)
		if err != nil {
			results[key] = encodeResult(escalation.Unsent(err), escalation.Bundle{})
			continue
		}
		items = append(items, &pageItem{pg: pg, card: card, refs: refs})
	}
	if len(items) > 0 {
		postAt := c.now()
		errs := p.post(ctx, target, items)
		p.recordBack(ctx, target, postAt, items, errs)
		p.expectRefused(ctx, target, items, errs)
		p.logRefused(target, len(items), firstErr(errs))
		p.sent(target, firstErr(errs))
		p.shareNext(ctx, target)
		for i, it := range items {
			results[it.pg.Key] = encodeResult(errs[i], it.bundle)
		}
	}
	fields := make([]any, 0, 2*len(results))
	done := make([]string, 0, len(results))
	for k, r := range results {
		b, _ := json.Marshal(r)
		fields = append(fields, k, b)
		done = append(done, k)
	}
	// The outcome is written even when the turn was lost meanwhile (it is
	// the truth, and a waiter still polling takes it); the pages leave the
	// offer hash too, should Redis have lost the take.
	wctx, wcancel := context.WithTimeout(base, time.Second)
	defer wcancel()
	_, err = c.st.rdb.TxPipelined(wctx, func(pp redis.Pipeliner) error {
		pp.HDel(wctx, c.st.gather(target), done...)
		pp.HSet(wctx, c.st.gatherRes(target), fields...)
		pp.PExpire(wctx, c.st.gatherRes(target), gatherTTL)
		return nil
	})
	if err != nil {
		// The waiting replicas time out and their delivery checks decide;
		// this replica's own pages do too.
		c.log.Warn("bot: gathered pages' outcome not recorded; their delivery checks decide", "err", err)
	}
	return true
}

// errInFlight: the page is taken into a message by a turn that still
// holds its target; whether it went is not known yet.
var errInFlight = errors.New("its message is being sent by the replica whose turn it is")

// inFlight answers errInFlight (wrapped, as a RetryAfter of gatherGrace:
// the runner asks again then, without counting a failed attempt) while
// the page key to target is taken into a message by a turn that still
// holds the target (gather.go): its delivery check asks again later, rather than read a history the
// post has not reached yet and send it a second time. Redis errors answer
// nil: the check goes on as before.
func (p *Pager) inFlight(ctx context.Context, target, key string) error {
	if !p.bundles() {
		return nil
	}
	c := p.c
	var out, turn *redis.StringCmd
	_, err := c.st.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		out = pp.HGet(ctx, c.st.gatherOut(target), key)
		turn = pp.Get(ctx, c.st.gatherTurn(target))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil
	}
	by, _, _ := strings.Cut(out.Val(), "|")
	if by != "" && by == turn.Val() {
		return escalation.RetryAfter(fmt.Errorf("check page %s: %w", key, errInFlight), gatherGrace)
	}
	return nil
}

// holdTurn renews target's turn (token) every turnLease/4 while ctx
// lives, and closes held when it stops. When the turn is no longer the
// token's (Redis lost the key, or it expired), or a quarter lease before
// it would run out unrenewed (Redis does not answer), it cancels the
// turn's posts: the waiting replicas take a turn gone as its taker
// stopped (outcomes), and a post must not go out after that.
func (p *Pager) holdTurn(ctx context.Context, cancel context.CancelFunc, target, token string, held chan<- struct{}) {
	defer close(held)
	c := p.c
	every := turnLease / 4
	renewed := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, rcancel := context.WithTimeout(ctx, every)
		n, err := renewScript.Run(rctx, c.st.rdb, []string{c.st.gatherTurn(target)}, token, turnLease.Milliseconds()).Int()
		rcancel()
		switch {
		case err == nil && n == 1:
			renewed = time.Now()
			continue
		case err == nil:
			c.log.Warn("bot: a gather turn was lost while its message was being sent; its pages' delivery checks decide", "target", target)
		case time.Since(renewed) < turnLease-every:
			continue // Redis may answer the next renewal in time
		default:
			c.log.Warn("bot: a gather turn could not be renewed; its message is not sent", "target", target, "err", err)
		}
		cancel()
		return
	}
}

// expectRefused records the pages of news among items that a rate limit
// refused (a 429's Retry-After, the pacer's Defer) as on their way back
// (expectNews): their jobs offer them again after the delay, and the
// reminders and notices offered meanwhile wait for them.
func (p *Pager) expectRefused(ctx context.Context, target string, items []*pageItem, errs []error) {
	var keys []string
	var delay time.Duration
	for i, it := range items {
		d, ok := escalation.IsDeferred(errs[i])
		var ra escalation.RetryAfterError
		if !ok && errors.As(errs[i], &ra) {
			d, ok = ra.RetryAfter(), true
		}
		if ok && news(it.pg) {
			keys = append(keys, it.pg.Key)
			delay = max(delay, d)
		}
	}
	p.expectNews(ctx, target, p.c.now().Add(delay+rejoin+backWait), keys...)
}

// logRefused logs a message of n pages to target that the chat's rate
// limit refused (a 429): once per message, however many incidents it
// named; the runner logs each page's retry at debug.
func (p *Pager) logRefused(target string, n int, err error) {
	var ra escalation.RetryAfterError
	if _, deferred := escalation.IsDeferred(err); deferred || !errors.As(err, &ra) {
		return
	}
	p.c.log.Warn("bot: page message refused by the chat's rate limit; its pages are retried after the Retry-After",
		"target", target, "pages", n, "retry_in", ra.RetryAfter(), "err", err)
}

// shareNext records in Redis until when the next message to target
// gathers, as sent recorded it in this process, for every replica's hold.
func (p *Pager) shareNext(ctx context.Context, target string) {
	p.mu.Lock()
	next, ok := p.nextPost[target]
	p.mu.Unlock()
	if !ok {
		return
	}
	ttl := max(next.Sub(p.c.now()), 0) + time.Second
	if err := p.c.st.rdb.Set(ctx, p.c.st.gatherNext(target), next.UnixMilli(), ttl).Err(); err != nil {
		p.c.log.Debug("bot: a target's next gathering time not shared", "err", err)
	}
}

// newToken is a random id for a turn or a take.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
