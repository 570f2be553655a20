package escalation

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Pager delivers pages: a DM to a person, or a post in a channel for a
// fallback page. The bot implements it over chat. The runner records each
// page's Key as sending before the call and sent after it, so Page is
// called again with the same Page.Key only when an earlier call's outcome
// went unrecorded (a crash in between, a failed record, an error) and, if
// the Pager is a DeliveryChecker, the check did not find it delivered. An
// error makes the runner retry with backoff; an error with a RetryAfter
// hint sets the delay; a Permanent error is not retried. A Pager returns a
// RetryAfter or Defer error only when the page was certainly not delivered
// (the chat refused the call, or it was not made), and marks an error with
// Unsent when it came before any attempt to deliver: the runner then
// retries without a delivery check.
type Pager interface {
	Page(ctx context.Context, p Page) error
}

// RetryAfterError is an error that says how long to wait before trying
// again, as a chat API's rate limit does (Slack's 429 Retry-After).
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// RetryAfter wraps err with a retry-after hint.
func RetryAfter(err error, d time.Duration) error { return &retryAfterError{err: err, d: d} }

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.d }

var _ RetryAfterError = (*retryAfterError)(nil)

// Permanent marks err as one that retrying cannot fix (the person has no
// chat account, the channel does not exist): the page is dead-lettered at
// once and the fallback paged.
func Permanent(err error) error { return &permanentError{err} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// LogPager writes each page to a log instead of chat (never the title, which
// comes from the alert body): baton serve uses it
// when no chat is configured, so the escalation story can be followed in the
// log and through the API. Fallback pages log at error level.
//
// It is not a DeliveryChecker: the runner's record alone keeps its pages
// single. A page recorded sent is never logged again; a page recorded
// sending but not sent (the process died, or lost Redis, between writing
// the line and recording it) is logged again by the next run, so a
// page's line appears at most once per such crash more, never zero times.
type LogPager struct {
	Log *slog.Logger
}

var _ Pager = LogPager{}

// Page logs p.
func (l LogPager) Page(ctx context.Context, p Page) error {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	if p.Reason == ReasonFallback {
		level = slog.LevelError
	}
	log.Log(ctx, level, "page", "incident", p.Incident, "person", p.Person, "channel", p.Channel,
		"reason", string(p.Reason), "level", p.Level, "round", p.Round, "owner", p.Owner,
		"service", p.Service, "why", p.Why, "key", p.Key)
	return nil
}
