package bot

import (
	"context"
	"errors"
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
// new call; the Pager remembers in memory when each key was first asked,
// so the read another replica made meanwhile answers it. Replicas' clocks
// differ by NTP's skew at most: a read could be taken as that much fresher
// than it is, far less than a page's send takes to settle.

// sharedReadTTL is how long a read is kept; checks a minute old have had
// their answer.
const sharedReadTTL = time.Minute

// sharedReadAt is the field of a kept read holding when it began (no
// message key starts with "@").
const sharedReadAt = "@at"

// lastRead is the hash of the newest read of channel kept for checks.
func (s *state) lastRead(channel string) string { return s.base + "read:" + channel }

// checkFrom is when this process first asked whether key was delivered,
// remembered until it has its answer (or for sharedReadTTL).
func (p *Pager) checkFrom(key string) time.Time {
	now := p.c.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.asked == nil {
		p.asked = map[string]time.Time{}
	}
	for k, at := range p.asked {
		if now.Sub(at) > sharedReadTTL {
			delete(p.asked, k)
		}
	}
	at, ok := p.asked[key]
	if !ok {
		at = now
		p.asked[key] = at
	}
	return at
}

// answered forgets when key was first asked: it has its answer.
func (p *Pager) answered(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.asked, key)
}

// sharedRead answers a check of key in channel from the newest kept read,
// if it began no earlier than from: ok false when there is none (or Redis
// failed: the check reads itself).
func (p *Pager) sharedRead(ctx context.Context, channel, key string, from time.Time) (ts string, ok bool) {
	v, err := p.c.st.rdb.HMGet(ctx, p.c.st.lastRead(channel), sharedReadAt, key).Result()
	if err != nil || len(v) != 2 {
		if err != nil && !errors.Is(err, redis.Nil) {
			p.c.log.Debug("bot: a kept history read not looked up; reading", "err", err)
		}
		return "", false
	}
	s, _ := v[0].(string)
	began, err := strconv.ParseInt(s, 10, 64)
	if err != nil || time.UnixMicro(began).Before(from) {
		return "", false
	}
	ts, _ = v[1].(string)
	return ts, true
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
