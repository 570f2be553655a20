package slack

import (
	"context"
	"sync"
	"time"

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
// The pacing is per process: replicas pace independently, and Slack's 429s
// (handled the same way) cover what they send together.
type pacer struct {
	limits map[string]Limit
	now    func() time.Time

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

func newPacer(limits map[string]Limit, now func() time.Time) *pacer {
	return &pacer{limits: limits, now: now, keys: map[string]*paceState{}}
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

// wait blocks until the call may be sent, or returns escalation.Defer when
// that is later than ctx's bot.Pacing allows, or ctx's error.
func (p *pacer) wait(ctx context.Context, method, channel string) error {
	key, l := p.key(method, channel)
	pc, bounded := bot.PacingFrom(ctx)
	for {
		d, deferred := p.reserve(key, l, pc, bounded)
		if deferred {
			return escalation.Defer(d)
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		// A 429 that came in while this call waited for its slot voids the
		// slot: book again, after the Retry-After.
		if !p.blocked(key) {
			return nil
		}
	}
}

// blocked reports whether a 429's Retry-After still holds key back.
func (p *pacer) blocked(key string) bool {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.keys[key]
	return st != nil && now.Before(st.blocked)
}

// reserve books the next send time for key and returns how long until it;
// deferred is true when that is beyond pc.MaxWait (bounded callers only).
func (p *pacer) reserve(key string, l Limit, pc bot.Pacing, bounded bool) (d time.Duration, deferred bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.keys[key]
	if st == nil {
		st = &paceState{held: map[string]time.Time{}}
		p.keys[key] = st
	}
	for t, at := range st.held {
		if now.Sub(at) > time.Minute { // reserved and never claimed
			delete(st.held, t)
		}
	}
	if pc.Ticket != "" {
		if at, ok := st.held[pc.Ticket]; ok {
			d = at.Sub(now)
			if bounded && d > pc.MaxWait {
				return d, true
			}
			delete(st.held, pc.Ticket)
			return d, false
		}
	}
	interval := time.Duration(float64(time.Minute) / l.PerMinute * safety)
	burst := max(1, l.Burst-1)
	tolerance := time.Duration(burst-1) * interval
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

// block records a 429 on key: nothing is sent before retryAfter has passed,
// and the slots reserved before it are void (their holders book again,
// after it, in the order they come back).
func (p *pacer) block(method, channel string, retryAfter time.Duration) {
	key, _ := p.key(method, channel)
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.keys[key]
	if st == nil {
		st = &paceState{held: map[string]time.Time{}}
		p.keys[key] = st
	}
	until := now.Add(retryAfter)
	if until.After(st.blocked) {
		st.blocked = until
	}
	if st.tat.Before(until) {
		st.tat = until
	}
	clear(st.held)
}
