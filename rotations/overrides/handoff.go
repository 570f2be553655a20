package overrides

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/rotations"
)

// Accepted handoffs. A handoff of a rotation with handoff_accept has a
// record, and, while the incoming person has not taken the pager, a hold:
// an ordinary override (By rotations.OverrideByHandoff) putting the
// outgoing person on call from the handoff to the end of the incoming
// shift. Because the hold is an override, the escalation engine, /oncall,
// `baton oncall`, GET /v1/oncall and the calendar feed all name who
// actually holds the pager. Taking the pager cuts the hold at that second
// (or deletes it, taken before it began).
//
// Keys, per rotation NAME (the overrides' hash tag, so one script updates
// the record and the hold together):
//
//	P rot:{NAME}:handoff:<unix s>  hash: outgoing, incoming, until (unix s),
//	                               override (the hold's ID, "" without one),
//	                               state pending|accepted, accepted_at, by, told
//
// A record is kept HandoffKeep after the end of its shift (by the clock of
// the run that began it).

// HandoffKeep is how long a handoff's record outlives its shift.
const HandoffKeep = 7 * 24 * time.Hour

// Handoff outcomes checked with errors.Is.
var (
	// ErrNoHandoff: no handoff was recorded at that instant.
	ErrNoHandoff = errors.New("no such handoff")
	// ErrNotIncoming: someone else than the incoming person tried to take the pager.
	ErrNotIncoming = errors.New("only the incoming person can take the pager")
)

// Handoff is a handoff's record.
type Handoff struct {
	Rotation string
	// At is the handoff instant (whole seconds); Until the end of the
	// incoming shift.
	At, Until time.Time
	Outgoing  string
	Incoming  string
	// Override is the hold's override ID; "" when there is no hold.
	Override string
	Accepted bool
	// AcceptedAt and By: when and by whom the pager was taken.
	AcceptedAt time.Time
	By         string
	// Told: the secondary and the alerts channel were told it was not taken.
	Told bool
}

func (s *Store) handoffKey(rotation string, at time.Time) string {
	return s.prefix + "rot:{" + rotation + "}:handoff:" + strconv.FormatInt(at.Unix(), 10)
}

// beginScript writes a handoff's record and, when asked, its hold, unless
// the record exists (a job run again): then it changes nothing.
// KEYS: record, overrides hash, seq. ARGV: outgoing, incoming, until, hold
// JSON ("" for none), seconds to keep it.
var beginScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local id = ''
if ARGV[4] ~= '' then
  id = tostring(redis.call('INCR', KEYS[3]))
  redis.call('HSET', KEYS[2], id, ARGV[4])
end
redis.call('HSET', KEYS[1], 'outgoing', ARGV[1], 'incoming', ARGV[2], 'until', ARGV[3], 'override', id, 'state', 'pending')
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`)

// BeginHandoff records h (Accepted, Told and Override ignored) with a hold
// for h.Outgoing over [h.At, h.Until) when hold is set, created at now. A
// handoff recorded already is left as it is (created false): running the
// handoff job again sets no second hold. Times are whole seconds.
func (s *Store) BeginHandoff(ctx context.Context, h Handoff, hold bool, now time.Time) (created bool, err error) {
	h.At, h.Until = second(h.At), second(h.Until)
	val := ""
	if hold {
		b, err := json.Marshal(record{Person: h.Outgoing, From: h.At, Until: h.Until, Created: second(now), By: rotations.OverrideByHandoff})
		if err != nil {
			return false, fmt.Errorf("begin handoff of %s: %w", h.Rotation, err)
		}
		val = string(b)
	}
	n, err := beginScript.Run(ctx, s.c, []string{s.handoffKey(h.Rotation, h.At), s.hashKey(h.Rotation), s.seqKey(h.Rotation)},
		h.Outgoing, h.Incoming, h.Until.Unix(), val, int64((max(h.Until.Sub(now), 0)+HandoffKeep)/time.Second)).Int()
	if err != nil {
		return false, fmt.Errorf("begin handoff of %s at %s: %w", h.Rotation, h.At.Format(time.RFC3339), err)
	}
	return n == 1, nil
}

// GetHandoff reads the handoff of rotation at at; ErrNoHandoff when none.
func (s *Store) GetHandoff(ctx context.Context, rotation string, at time.Time) (Handoff, error) {
	m, err := s.c.HGetAll(ctx, s.handoffKey(rotation, second(at))).Result()
	if err != nil {
		return Handoff{}, fmt.Errorf("read handoff of %s: %w", rotation, err)
	}
	if len(m) == 0 {
		return Handoff{}, fmt.Errorf("%s at %s: %w", rotation, second(at).Format(time.RFC3339), ErrNoHandoff)
	}
	until, _ := strconv.ParseInt(m["until"], 10, 64)
	h := Handoff{Rotation: rotation, At: second(at), Until: time.Unix(until, 0).UTC(), Outgoing: m["outgoing"],
		Incoming: m["incoming"], Override: m["override"], Accepted: m["state"] == "accepted", By: m["by"], Told: m["told"] == "1"}
	if ms, err := strconv.ParseInt(m["accepted_at"], 10, 64); err == nil {
		h.AcceptedAt = time.UnixMilli(ms).UTC()
	}
	return h, nil
}

// acceptScript marks a handoff accepted and cuts its hold in one step.
// KEYS: record, overrides hash. ARGV: by, now ms, now as the JSON time of
// the hold's new until, now unix s.
// Returns 0 no record, 1 accepted now, 2 accepted before, 3 not incoming.
var acceptScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'incoming', 'state', 'override')
if not h[1] then return 0 end
if h[2] == 'accepted' then return 2 end
if h[1] ~= ARGV[1] then return 3 end
redis.call('HSET', KEYS[1], 'state', 'accepted', 'accepted_at', ARGV[2], 'by', ARGV[1])
if h[3] and h[3] ~= '' then
  local raw = redis.call('HGET', KEYS[2], h[3])
  if raw then
    local o = cjson.decode(raw)
    if tonumber(ARGV[4]) <= tonumber(ARGV[5]) then
      redis.call('HDEL', KEYS[2], h[3])
    else
      o['until'] = ARGV[3]
      redis.call('HSET', KEYS[2], h[3], cjson.encode(o))
    end
  end
end
return 1
`)

// AcceptHandoff records that by took the pager of rotation's handoff at at,
// at now: the hold ends at now (to the second; deleted when now is not
// after the handoff). already is true when it was taken before (nothing
// changes). Errors wrap ErrNoHandoff or ErrNotIncoming, or are Redis's.
func (s *Store) AcceptHandoff(ctx context.Context, rotation string, at time.Time, by string, now time.Time) (already bool, err error) {
	at, cut := second(at), second(now)
	until, err := json.Marshal(cut)
	if err != nil {
		return false, fmt.Errorf("accept handoff of %s: %w", rotation, err)
	}
	var u string
	_ = json.Unmarshal(until, &u)
	n, err := acceptScript.Run(ctx, s.c, []string{s.handoffKey(rotation, at), s.hashKey(rotation)},
		by, now.UnixMilli(), u, cut.Unix(), at.Unix()).Int()
	if err != nil {
		return false, fmt.Errorf("accept handoff of %s: %w", rotation, err)
	}
	switch n {
	case 0:
		return false, fmt.Errorf("%s at %s: %w", rotation, at.Format(time.RFC3339), ErrNoHandoff)
	case 3:
		return false, fmt.Errorf("%s at %s: %w", rotation, at.Format(time.RFC3339), ErrNotIncoming)
	}
	return n == 2, nil
}

// HandoffTold records that the secondary and the alerts channel were told
// the pager of rotation's handoff at at was not taken.
func (s *Store) HandoffTold(ctx context.Context, rotation string, at time.Time) error {
	if err := s.c.HSet(ctx, s.handoffKey(rotation, second(at)), "told", "1").Err(); err != nil {
		return fmt.Errorf("handoff of %s told: %w", rotation, err)
	}
	return nil
}
