package bot

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Delivery checks share their history reads across replicas. The Pager
// keeps the newest read of each channel in Redis for a minute (every key
// the channel's newest recentPages messages carry, and when the read
// began), and a check answers from it when that read began after the check
// did: as fresh as a read of its own. After a chat outage the pages with
// no recorded outcome are spread over the replicas; one read of a person's
// DM then answers every replica's checks of that DM, where each replica
// read it itself (three replicas, six people: eighteen reads of a method
// Slack allows about fifty times a minute for the whole app, each page's
// check queued behind them).
//
// A deferred check (its read waits for a rate-limit slot) comes back as a
// new call, often on another replica; when each key was first asked is
// kept in Redis too (until it has its answer, or for a minute), so the read
// made meanwhile by any replica answers it. Kept in one process only, a
// check that moved was new again wherever it landed, just after the read
// it waited for, and chased the DM's reads (a 20.7 s page gap in the chaos
// short form). A read in flight is announced as well (when it began): a
// check that comes back while a read that began after it is under way, on
// any replica, waits for that read's answer instead of booking a read of
// its own behind it (a page decided 2.6 s and one read later in the chaos
// short form). Replicas' clocks differ by NTP's skew at most: a read could
// be taken as that much fresher than it is, far less than a page's send
// takes to settle.

// sharedReadTTL is how long a read is kept; checks a minute old have had
// their answer.
const sharedReadTTL = time.Minute

// sharedReadAt is the field of a kept read holding when it began (no
// message key starts with "@").
const sharedReadAt = "@at"

// lastRead is the hash of the newest read of channel kept for checks;
// askedKey the string holding when key was first checked there (unix µs).
// Both carry the channel as hash tag, for sharedReadScript on a Cluster.
func (s *state) lastRead(channel string) string { return s.base + "read:{" + channel + "}" }
func (s *state) askedKey(channel, key string) string {
	return s.base + "asked:{" + channel + "}:" + key
}

// readingKey is the string holding when a read of channel in flight began
// (unix µs), so that checks which began no later wait for its answer
// rather than book a read of their own.
func (s *state) readingKey(channel string) string { return s.base + "reading:{" + channel + "}" }

// readingTTL bounds how long a read in flight is announced: a replica that
// dies mid-read does not hold the checks of its channel past it.
const readingTTL = 5 * time.Second

// joinFor is how long a check waits for another read in flight (that began
// after the check did) to be kept before it reads itself: a read waits for
// its slot up to the page's MaxWait, and its call takes well under a
// second.
const joinFor = 3 * time.Second

// joinEvery is how often a check waiting for a read in flight looks for it.
const joinEvery = 50 * time.Millisecond

// sharedReadScript records when a key was first checked (if not yet) and
// answers from the channel's kept read if it began no earlier: {1, message
// id or ""}; {2} when no kept read answers but a read in flight began no
// earlier (its answer will); else {0}.
var sharedReadScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local from = tonumber(redis.call('GET', KEYS[1]))
local v = redis.call('HMGET', KEYS[2], '` + sharedReadAt + `', ARGV[3])
local at = tonumber(v[1])
if at and from and at >= from then
  return {1, v[2] or ''}
end
local r = tonumber(redis.call('GET', KEYS[3]))
if r and from and r >= from then
  return {2}
end
return {0}
`)

// readState is what sharedRead found for a check.
type readState int

const (
	readNone     readState = iota // no kept read answers, none in flight that would
	readAnswered                  // a kept read answers
	readInFlight                  // a read in flight, begun no earlier than the check, will
)

// sharedRead answers a check of key in channel from the newest kept read,
// if it began no earlier than the key was first checked (by any replica);
// readNone when there is none, or Redis failed (the check reads itself).
func (p *Pager) sharedRead(ctx context.Context, channel, key string) (ts string, rs readState) {
	st := p.c.st
	v, err := sharedReadScript.Run(ctx, st.rdb,
		[]string{st.askedKey(channel, key), st.lastRead(channel), st.readingKey(channel)},
		p.c.now().UnixMicro(), sharedReadTTL.Milliseconds(), key).Slice()
	if err != nil {
		p.c.log.Debug("bot: a kept history read not looked up; reading", "err", err)
		return "", readNone
	}
	if len(v) < 1 {
		return "", readNone
	}
	switch v[0] {
	case int64(1):
		if len(v) > 1 {
			ts, _ = v[1].(string)
		}
		return ts, readAnswered
	case int64(2):
		return "", readInFlight
	}
	return "", readNone
}

// joinRead answers a check of key from the kept reads, waiting up to
// joinFor for a read in flight that began after the check did (on any
// replica): a check that comes back while such a read is under way takes
// its answer instead of booking a read of its own after it. ok false: no
// read answers it; the check reads.
func (p *Pager) joinRead(ctx context.Context, channel, key string) (ts string, ok bool) {
	ts, rs := p.sharedRead(ctx, channel, key)
	if rs != readInFlight {
		return ts, rs == readAnswered
	}
	p.joins.Add(1)
	defer p.joins.Add(-1)
	t := time.NewTimer(joinEvery)
	defer t.Stop()
	for waited := time.Duration(0); waited < joinFor; waited += joinEvery {
		select {
		case <-ctx.Done():
			return "", false
		case <-t.C:
		}
		if ts, rs = p.sharedRead(ctx, channel, key); rs != readInFlight {
			return ts, rs == readAnswered
		}
		t.Reset(joinEvery)
	}
	return "", false
}

// reading announces a read of channel that began at began; readDone
// withdraws it (unless a later read announced itself since). Failures
// only cost other checks a read.
func (p *Pager) reading(ctx context.Context, channel string, began time.Time) {
	if err := p.c.st.rdb.Set(ctx, p.c.st.readingKey(channel), began.UnixMicro(), readingTTL).Err(); err != nil {
		p.c.log.Debug("bot: a history read in flight not announced", "channel", channel, "err", err)
	}
}

// readClaimed is what a claimed read announces until it begins: later than
// any check's start, so that every check coming meanwhile, on any replica,
// waits for it (its read begins after they did, and answers them).
const readClaimed = "9000000000000000" // unix µs, the year 2255

// claimRead announces that this process is about to read channel, unless a
// read of it is announced already (in flight or claimed, on any replica):
// false then. Checked and announced in one step, so that checks of one
// channel on two replicas that find no read to join at the same moment do
// not both read it (a slot of the method's budget spent twice on the same
// answer). The read's Send announces when it really began. A claim whose
// read never starts (the check's ctx ended) lapses after readingTTL, and a
// check waits for it no longer than joinFor. A Redis failure counts as
// claimed: the check reads, as without sharing.
func (p *Pager) claimRead(ctx context.Context, channel string) bool {
	ok, err := p.c.st.rdb.SetNX(ctx, p.c.st.readingKey(channel), readClaimed, readingTTL).Result()
	if err != nil {
		p.c.log.Debug("bot: a history read not claimed; reading", "channel", channel, "err", err)
		return true
	}
	return ok
}

var readDoneScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

func (p *Pager) readDone(ctx context.Context, channel string, began time.Time) {
	err := readDoneScript.Run(ctx, p.c.st.rdb, []string{p.c.st.readingKey(channel)}, strconv.FormatInt(began.UnixMicro(), 10)).Err()
	if err != nil {
		p.c.log.Debug("bot: a history read in flight not withdrawn", "channel", channel, "err", err)
	}
}

// answered forgets when key was first checked in channel: it has its
// answer, and a later check of it (after another uncertain send) must not
// take a read from before that send. A failure leaves it for
// sharedReadTTL.
func (p *Pager) answered(ctx context.Context, channel, key string) {
	if err := p.c.st.rdb.Del(ctx, p.c.st.askedKey(channel, key)).Err(); err != nil {
		p.c.log.Warn("bot: a delivery check's start not cleared; the next check of this page within a minute may trust an older read", "key", key, "err", err)
	}
}

// keepRead stores a read of channel that began at began, found being every
// key its messages carry. A failure only costs other checks a read.
func (p *Pager) keepRead(ctx context.Context, channel string, began time.Time, found map[string]string) {
	k := p.c.st.lastRead(channel)
	fields := make([]any, 0, 2+2*len(found))
	fields = append(fields, sharedReadAt, strconv.FormatInt(began.UnixMicro(), 10))
	for key, ts := range found {
		fields = append(fields, key, ts)
	}
	_, err := p.c.st.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, k)
		pipe.HSet(ctx, k, fields...)
		pipe.PExpire(ctx, k, sharedReadTTL)
		return nil
	})
	if err != nil {
		p.c.log.Debug("bot: a history read not kept for other checks", "channel", channel, "err", err)
	}
}
