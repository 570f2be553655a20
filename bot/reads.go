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

// sharedReadScript records when a key was first checked (if not yet) and
// answers from the channel's kept read if it began no earlier:
// {1, message id or ""} or {0}.
var sharedReadScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local from = tonumber(redis.call('GET', KEYS[1]))
local v = redis.call('HMGET', KEYS[2], '` + sharedReadAt + `', ARGV[3])
local at = tonumber(v[1])
if at and from and at >= from then
  return {1, v[2] or ''}
end
return {0}
`)

// sharedRead answers a check of key in channel from the newest kept read,
// if it began no earlier than the key was first checked (by any replica);
// ok false when there is none, or Redis failed (the check reads itself).
func (p *Pager) sharedRead(ctx context.Context, channel, key string) (ts string, ok bool) {
	st := p.c.st
	v, err := sharedReadScript.Run(ctx, st.rdb, []string{st.askedKey(channel, key), st.lastRead(channel)},
		p.c.now().UnixMicro(), sharedReadTTL.Milliseconds(), key).Slice()
	if err != nil {
		p.c.log.Debug("bot: a kept history read not looked up; reading", "err", err)
		return "", false
	}
	if len(v) < 1 || v[0] != int64(1) {
		return "", false
	}
	if len(v) > 1 {
		ts, _ = v[1].(string)
	}
	return ts, true
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
