package incident

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/viewed.lua
var viewedSrc string

var viewedScript = redis.NewScript(auditSrc + viewedSrc)

// SealedPayload is one sealed raw payload kept with an incident
// (WithSealTTL): when it was received and its envelope, which the store
// cannot open (package privacy can).
type SealedPayload struct {
	ReceivedAt time.Time
	Envelope   string
}

// MaxSealedPayloads is how many sealed payloads an incident keeps, the
// newest (open.lua trims the list to it).
const MaxSealedPayloads = 50

// SealedPayloads returns incident n's sealed raw payloads received less
// than the seal TTL ago (WithSealTTL), newest first; none (and no error)
// when there are none, or all are older. An incident that does not exist
// is an error wrapping ErrNotFound.
func (s *Store) SealedPayloads(ctx context.Context, n int64) ([]SealedPayload, error) {
	pipe := s.rdb.Pipeline()
	ex := pipe.Exists(ctx, s.k.incident(n))
	list := pipe.LRange(ctx, s.k.raw(n), 0, MaxSealedPayloads-1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("sealed payloads of INC-%d: %w", n, err)
	}
	if ex.Val() == 0 {
		return nil, fmt.Errorf("sealed payloads of INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	if s.sealTTL <= 0 {
		return nil, nil
	}
	cutoff := s.Now().Add(-s.sealTTL).UnixMilli()
	var out []SealedPayload
	for _, e := range list.Val() {
		ms, env, ok := strings.Cut(e, " ")
		at, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil || at <= cutoff {
			continue
		}
		out = append(out, SealedPayload{ReceivedAt: time.UnixMilli(at).UTC(), Envelope: env})
	}
	return out, nil
}

// RawViewed records that by read opened sealed payloads of incident n: a
// raw_viewed timeline event (By = by, Note = note) and an audit stream
// entry, in one step. The caller records before it shows anything, so
// every look is in the timeline. An incident that does not exist is an
// error wrapping ErrNotFound.
func (s *Store) RawViewed(ctx context.Context, n int64, by, note string) error {
	ok, err := s.eval(ctx, viewedScript, []string{s.k.incident(n), s.k.timeline(n), s.k.events},
		n, s.Now().UnixMilli(), by, note, s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries).Int()
	if err != nil {
		return fmt.Errorf("raw viewed INC-%d: %w", n, err)
	}
	if ok == 0 {
		return fmt.Errorf("raw viewed INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	return nil
}
