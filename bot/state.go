package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// state is the little the chat side keeps in Redis besides the incidents'
// own chat references (which the incident store keeps): who is who in the
// chat, direct-message channels, the ids of channels configured by name,
// and events already handled. (Which pages were delivered is the escalation
// runner's record, in the incident store.) Keys, for prefix P and chat C:
//
//	P chat:C:people      hash: "p:<person>" → chat user id, "u:<chat user>" → person
//	P chat:C:dm          hash: chat user id → direct-message channel id
//	P chat:C:chan        hash: a channel as configured (a name) → its id, learnt from a post there
//	P chat:C:seen:<id>   string: an event or envelope handled, for an hour
//	P chat:C:bundle:<id> hash: a bundle of pages as posted, and its messages (bundle.go)
//	P chat:C:bkey:<key>  string: the bundle a page key went out in
//	P chat:C:bmsg        hash: "<channel>/<msg>" → the bundle that message is
//	P chat:C:read:{<ch>} hash: the newest delivery-check read of a channel, for a minute: "@at" → when
//	                     it began (unix µs), every key its messages carry → that message's id (reads.go)
//	P chat:C:asked:{<ch>}:<key> string: when a page key was first checked there, until answered (reads.go)
//	P chat:C:redraw:{<ch>/<msg>} hash: a bundle message's pending redraw: "at" → when (unix ms),
//	                     "by" → the digest a run draws it with (settle.go)
//	P chat:C:takeit:<rotation> string: the rotation's latest Take it question, "<handoff s>|<ch>/<msg>" (shift.go)
//
// Any number of replicas share them; every write is idempotent.
type state struct {
	rdb  redis.UniversalClient
	base string
}

func newState(rdb redis.UniversalClient, prefix, chat string) *state {
	return &state{rdb: rdb, base: prefix + "chat:" + chat + ":"}
}

func (s *state) people() string { return s.base + "people" }
func (s *state) dms() string    { return s.base + "dm" }

// bundle is the hash of bundle id; bundleKey the bundle of a page key;
// bundleMsgs the hash of bundles by message.
func (s *state) bundle(id string) string     { return s.base + "bundle:" + id }
func (s *state) bundleKey(key string) string { return s.base + "bkey:" + key }
func (s *state) bundleMsgs() string          { return s.base + "bmsg" }

// channels is the hash of channel ids by the name a page was posted to.
func (s *state) channels() string { return s.base + "chan" }

// seenTTL is how long a handled event is remembered; Slack redelivers within
// minutes.
const seenTTL = time.Hour

func (s *state) hget(ctx context.Context, key, field string) (string, error) {
	v, err := s.rdb.HGet(ctx, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", field, err)
	}
	return v, nil
}

// remember records person ↔ chat user id.
func (s *state) remember(ctx context.Context, person, chatID string) error {
	if err := s.rdb.HSet(ctx, s.people(), "p:"+person, chatID, "u:"+chatID, person).Err(); err != nil {
		return fmt.Errorf("remember chat id of %s: %w", person, err)
	}
	return nil
}

// First reports whether this is the first time id was seen (by any replica
// in the last hour): true exactly once per id.
func (s *state) first(ctx context.Context, id string) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.base+"seen:"+id, 1, seenTTL).Result()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", id, err)
	}
	return ok, nil
}

// seen reports whether id was recorded by first (by any replica in the
// last hour), without recording it.
func (s *state) seen(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.base+"seen:"+id).Result()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", id, err)
	}
	return n == 1, nil
}
