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
// chat, direct-message channels, pages already delivered and events already
// handled. Keys, for prefix P and chat C:
//
//	P chat:C:people      hash: "p:<person>" → chat user id, "u:<chat user>" → person
//	P chat:C:dm          hash: chat user id → direct-message channel id
//	P chat:C:sent:<key>  string: a page delivered (escalation.Page.Key), for a day
//	P chat:C:seen:<id>   string: an event or envelope handled, for an hour
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

// sentTTL is how long a delivered page is remembered: longer than any lease
// after which its job could run again.
const sentTTL = 24 * time.Hour

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

// sent reports whether the page with this key was delivered.
func (s *state) sent(ctx context.Context, key string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.base+"sent:"+key).Result()
	if err != nil {
		return false, fmt.Errorf("check page %s: %w", key, err)
	}
	return n == 1, nil
}

func (s *state) markSent(ctx context.Context, key string) error {
	if err := s.rdb.Set(ctx, s.base+"sent:"+key, 1, sentTTL).Err(); err != nil {
		return fmt.Errorf("mark page %s: %w", key, err)
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
