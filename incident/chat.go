package incident

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the store side of the chat mirror: a second job queue whose
// jobs say "make incident n's chat (channel, card, notice, thread) match its
// state", and a few small records the chat adapter keeps per incident.
//
// Why a queue of its own, not more members in the jobs zset: a claim takes
// the earliest due members, and at an equal due time "chat:" sorts before
// "page:". In an alert storm the cosmetic work (channels, cards) would then be
// claimed ahead of the pages, and while Slack's rate limits hold it back, it
// would sit in the page workers. With two queues the runner claims pages and
// chat work separately, with separate worker budgets: a page never waits
// behind a card redraw (DESIGN: "pages must jump the queue").
//
// Keys (all in the {inc} slot; the Lua scripts derive the chat queue's name
// from the jobs key, so Cluster sees one slot):
//
//	<prefix>{inc}:chat          zset: "chat:<n>" by due ms
//	<prefix>{inc}:chatinflight  zset: claimed chat jobs by lease deadline ms
//	<prefix>{inc}:leases        hash: shared with the page queue (members differ)
//	<prefix>{inc}:i:<n>:c       hash: the chat adapter's references for incident n
//	<prefix>{inc}:l:<ref>       string: incident number of a chat reference (a channel,
//	                            a message), so a reaction or a command there finds it
//
// Every state change enqueues "chat:<n>" due now in the same script as the
// change (open.lua, transition.lua, commit.lua), with ZADD LT: an earlier
// due time is never postponed, a later one (a throttled thread reply, the
// archive) is brought forward. A repeat of an alert uses ZADD NX instead, so a
// storm of repeats never brings a throttled update forward: one chat job per
// incident whatever the alert rate.
//
// One due time is not a plan but a limit: a 429's Retry-After. The runner
// gives such a job back with HoldJob, which records the hold in
// <prefix>{inc}:holds; the claim script moves a held member back to the end
// of its hold instead of claiming it, so no ZADD LT re-queue brings it
// forward. The change's redraw is not lost, only deferred to the hold's end.

// JobChat is the kind of the chat queue's jobs.
const JobChat JobKind = "chat"

// ChatJob is the member of incident n's chat job.
func ChatJob(n int64) string { return string(JobChat) + ":" + strconv.FormatInt(n, 10) }

func (k keys) slot() string            { return strings.TrimSuffix(k.jobs, "jobs") }
func (k keys) chatQueue() string       { return k.slot() + "chat" }
func (k keys) chatInflight() string    { return k.slot() + "chatinflight" }
func (k keys) chatRefs(n int64) string { return k.incident(n) + ":c" }
func (k keys) chatLink(ref string) string {
	return k.slot() + "l:" + ref
}

// urgentOf returns the urgent index of the queue of kind's jobs: the page
// queue's, or for the chat queue, which has no urgent index (its priority,
// live incidents first, is read from the incidents: ClaimChatJobs), a key in the same
// slot that no script writes (its scripts still name one).
func (k keys) urgentOf(kind JobKind) string {
	if kind == JobChat {
		return k.slot() + "chaturgent"
	}
	return k.urgent
}

// queueKeys returns the due and in-flight zsets of the queue j belongs to.
func (k keys) queueKeys(kind JobKind) (due, inflight string) {
	if kind == JobChat {
		return k.chatQueue(), k.chatInflight()
	}
	return k.jobs, k.inflight
}

// ChatJobsKey is the sorted set of due chat jobs.
func (s *Store) ChatJobsKey() string { return s.k.chatQueue() }

// ClaimChatJobs is ClaimJobs for the chat queue: it claims up to max chat
// jobs due at now under a lease until now+lease. Renew, release and the
// lease rules are those of the page queue (RenewJob and ReleaseJob know a
// chat job by its kind), with one difference: one incident's chat job runs
// once at a time. A chat job re-queued while it runs is not claimed again
// until its holder releases it (which makes it due at once) or its lease
// runs out; two syncs of one incident at once would both post its card.
//
// Live first: among the due chat jobs (the first 512 by due time), those of
// incidents not resolved are claimed before those of resolved incidents,
// each group by due time. After a storm whose incidents were resolved
// before chat caught up with them, a new incident's channel and card, and
// the redraws of what people act on, do not wait behind the resolved
// incidents' catch-up (their channels and cards, for the record), which
// still runs, after the live work.
func (s *Store) ClaimChatJobs(ctx context.Context, now time.Time, lease time.Duration, max int, token string) (jobs []Job, next time.Time, err error) {
	return s.claim(ctx, s.k.chatQueue(), s.k.chatInflight(), s.k.urgentOf(JobChat), true, false, s.k.base, now, lease, max, token)
}

var (
	//go:embed lua/dropchat.lua
	dropChatSrc    string
	dropChatScript = redis.NewScript(dropChatSrc)
)

// DropChatJobs removes up to max chat jobs due at now, for a runner with no
// chat to keep up to date (no chat adapter is configured): what claiming
// each and giving it back without a due time did, in one call instead of
// two round trips a job. A job in flight (a replica with a chat runs it) or
// held by a 429 is not dropped but moved to its lease's or hold's end, as a
// claim would. It returns how many it dropped and whether max due jobs were
// looked at (more may be due: call again).
func (s *Store) DropChatJobs(ctx context.Context, now time.Time, max int) (dropped int, more bool, err error) {
	if max <= 0 {
		max = 1
	}
	res, err := dropChatScript.Run(ctx, s.rdb, []string{s.k.chatQueue(), s.k.chatInflight(), s.k.holds}, now.UnixMilli(), max).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("drop chat jobs: %w", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("drop chat jobs: unexpected reply %v", res)
	}
	return int(res[0]), res[1] == 1, nil
}

// ScheduleChat makes incident n's chat job due at due, or earlier if it
// already is (ZADD LT). The scripts enqueue it on every state change; this is
// for callers that want a redraw for another reason.
func (s *Store) ScheduleChat(ctx context.Context, n int64, due time.Time) error {
	err := s.rdb.ZAddLT(ctx, s.k.chatQueue(), redis.Z{Score: float64(due.UnixMilli()), Member: ChatJob(n)}).Err()
	if err != nil {
		return fmt.Errorf("schedule chat INC-%d: %w", n, err)
	}
	return nil
}

// ChatJobCounts returns how many chat jobs wait and how many are in flight.
func (s *Store) ChatJobCounts(ctx context.Context) (due, inFlight int64, err error) {
	pipe := s.rdb.Pipeline()
	d := pipe.ZCard(ctx, s.k.chatQueue())
	f := pipe.ZCard(ctx, s.k.chatInflight())
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("count chat jobs: %w", err)
	}
	return d.Val(), f.Val(), nil
}

// MaxChatRefBytes bounds a chat reference value, so the hash stays a compact
// listpack (Redis converts a hash with a value of 64 bytes or more).
const MaxChatRefBytes = 63

// ChatRefs returns the chat adapter's references for incident n (empty when
// it has none yet).
func (s *Store) ChatRefs(ctx context.Context, n int64) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.chatRefs(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("chat refs INC-%d: %w", n, err)
	}
	return m, nil
}

// SetChatRefs writes fields of incident n's chat references; an empty value
// deletes the field. A value longer than MaxChatRefBytes is refused with an
// *Error of code Invalid.
func (s *Store) SetChatRefs(ctx context.Context, n int64, fields map[string]string) error {
	var set []any
	var del []string
	for f, v := range fields {
		if len(v) > MaxChatRefBytes {
			return fmt.Errorf("set chat refs INC-%d: %w", n, Errorf(Invalid, "The chat reference %s is %d bytes; at most %d fit.", f, len(v), MaxChatRefBytes))
		}
		if v == "" {
			del = append(del, f)
		} else {
			set = append(set, f, v)
		}
	}
	var cmds [][]any
	if len(set) > 0 {
		cmds = append(cmds, append([]any{"hset", s.k.chatRefs(n)}, set...))
	}
	if len(del) > 0 {
		c := []any{"hdel", s.k.chatRefs(n)}
		for _, f := range del {
			c = append(c, f)
		}
		cmds = append(cmds, c)
	}
	if err := s.multi(ctx, cmds); err != nil {
		return fmt.Errorf("set chat refs INC-%d: %w", n, err)
	}
	return nil
}

// LinkChat records that the chat reference ref (an adapter's name for a
// channel or a message) belongs to incident n, for ttl (0: for good).
func (s *Store) LinkChat(ctx context.Context, ref string, n int64, ttl time.Duration) error {
	if err := s.setWait(ctx, s.k.chatLink(ref), n, ttl); err != nil {
		return fmt.Errorf("link %s to INC-%d: %w", ref, n, err)
	}
	return nil
}

// ChatLink returns the incident a chat reference belongs to, or an error
// wrapping ErrNotFound.
func (s *Store) ChatLink(ctx context.Context, ref string) (int64, error) {
	v, err := s.rdb.Get(ctx, s.k.chatLink(ref)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("chat link %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("chat link %s: %w", ref, err)
	}
	return v, nil
}
