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

// Email jobs. An email to a person about an incident (a policy level's
// notify: [chat, email] or email_after, or a chat page that failed for good;
// package escalation decides which) is a due job of its own in the jobs
// zset, beside the incident's page job:
//
//	email:<n>:<tag>   one email about incident n; the tag is the
//	                  escalation package's (why, when, level, person) and
//	                  makes the member the same when a page job run again
//	                  asks for the same email.
//
// It is claimed under a lease like every job there (urgent: before any
// re-page), so a restart neither loses it nor, beyond at-least-once,
// doubles it. Its record lives beside the incident:
//
//	<prefix>{inc}:i:<n>:mail  hash: <member> → failed attempts so far;
//	                          <member>#sent → "1" once the SMTP server took it.
//	                          Expires EmailRecordTTL after its last write.
//
// The job ends with Commit (an "emailed" event in the timeline, or a
// page_failed one and a dead letter when it is given up), which drops it.

// JobEmail is the job kind of an email: "email:<n>:<tag>".
const JobEmail JobKind = "email"

// EventEmailed: the incident's page went out by email too. Person is to
// whom (never the address), Level the level, Note why ("with the page",
// "unacknowledged 10m", "chat page failed").
const EventEmailed EventType = "emailed"

// EmailRecordTTL is how long an email's record (attempts, sent mark) is
// kept after its last write: far longer than any retry of the email.
const EmailRecordTTL = 24 * time.Hour

// EmailJob is the member of incident n's email job with tag (no ':').
func EmailJob(n int64, tag string) string {
	return string(JobEmail) + ":" + strconv.FormatInt(n, 10) + ":" + tag
}

// parseEmailJob reads "email:<n>:<tag>" after the kind: n and the tag.
func parseEmailJob(rest string) (int64, string, bool) {
	num, tag, ok := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	return n, tag, ok && err == nil && tag != ""
}

var (
	//go:embed lua/email.lua
	emailSrc    string
	emailScript = redis.NewScript(emailSrc)
)

func (k keys) mail(n int64) string { return k.incident(n) + ":mail" }

// ScheduleEmail queues email job member (EmailJob) of incident n due at
// due, urgent, unless it was already sent, is queued or is running: asking
// twice for the same email (a page job run again) sends it once. It
// reports whether it queued it. Errors are Redis's.
func (s *Store) ScheduleEmail(ctx context.Context, n int64, member string, due time.Time) (bool, error) {
	v, err := s.emailOp(ctx, n, "schedule", member, "", msArg(due))
	if err != nil {
		return false, fmt.Errorf("schedule %s: %w", member, err)
	}
	return v == 1, nil
}

// EmailRecord returns what is recorded of email job j: whether it was
// sent and how many attempts failed so far. Errors are Redis's.
func (s *Store) EmailRecord(ctx context.Context, j Job) (sent bool, failures int, err error) {
	v, err := s.rdb.HMGet(ctx, s.k.mail(j.Number), j.Member, j.Member+"#sent").Result()
	if err != nil {
		return false, 0, fmt.Errorf("read %s: %w", j.Member, err)
	}
	if f, ok := v[0].(string); ok {
		failures, _ = strconv.Atoi(f)
	}
	m, _ := v[1].(string)
	return m == "1", failures, nil
}

// EmailSent marks email job j sent, right after the SMTP server took it
// and before the job is committed: a run after a crash in between finds
// it sent and does not send it again. Errors are Redis's.
func (s *Store) EmailSent(ctx context.Context, j Job) error {
	if _, err := s.emailOp(ctx, j.Number, "sent", j.Member, "", ""); err != nil {
		return fmt.Errorf("mark %s sent: %w", j.Member, err)
	}
	return nil
}

// EmailFailed counts one more failed attempt at email job j and gives it
// back due at due (urgent), in one step; it returns the attempts so far,
// or ok false (nothing changed) when j's lease was no longer its. Errors
// are Redis's.
func (s *Store) EmailFailed(ctx context.Context, j Job, due time.Time) (attempts int, ok bool, err error) {
	v, err := s.emailOp(ctx, j.Number, "failed", j.Member, j.Token, msArg(due))
	if err != nil {
		return 0, false, fmt.Errorf("retry %s: %w", j.Member, err)
	}
	if v < 0 {
		return 0, false, nil
	}
	return int(v), true, nil
}

func (s *Store) emailOp(ctx context.Context, n int64, op, member, token, due string) (int64, error) {
	if op != "sent" && due == "" {
		return 0, errors.New("no due time")
	}
	return s.eval(ctx, emailScript, []string{s.k.mail(n), s.k.jobs, s.k.inflight, s.k.leases, s.k.urgent},
		op, member, token, due, EmailRecordTTL.Milliseconds()).Int64()
}
