package escalation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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

// Bundle names the message a page went out in together with other pages
// (to the same person, due at about the same time): one direct message
// for many incidents. The zero Bundle means the page went alone.
type Bundle struct {
	// ID names the bundle (the same for every page in it; at most 64
	// characters); the runner writes it into each page's "paged" event.
	ID string
	// At is when the bundle was sent: the "paged" events of its pages all
	// carry it, so they line up across incidents.
	At time.Time
	// Chats are the chats the page went to, when the Pager delivers in
	// several (bot.Multi); the runner writes them into the "paged" event.
	Chats []string
}

// BundlingPager is a Pager that may deliver a page in one message with
// other pages due for the same recipient (a bundle). The runner calls
// PageBundled instead of Page when its Pager has it, and records the
// bundle in the page's timeline event. Its errors are Page's; a page whose
// bundle failed gets the bundle's error (a bundle refused by a rate limit
// was certainly not delivered, for any of its pages).
type BundlingPager interface {
	Pager
	PageBundled(ctx context.Context, p Page) (Bundle, error)
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
// It is a DeliveryChecker over its own memory: it remembers the Keys of the
// last LogPagerMemory pages it logged (oldest forgotten first), so a page
// whose "sent" record could not be written (Redis refusing writes, as
// under OOM, or unreachable after the line) is found delivered by this
// process and not logged again. A page logged by another process (which
// then died before recording it) is not known here and is logged again:
// one extra line per such crash, never zero. The zero value works; use it
// through a pointer. It is safe for concurrent use.
type LogPager struct {
	Log *slog.Logger

	mu   sync.Mutex
	seen map[string]struct{}
	ring []string // the keys in seen, oldest at next once full
	next int
}

// LogPagerMemory is how many page Keys a LogPager remembers (about 100 KiB).
const LogPagerMemory = 10000

var (
	_ Pager           = (*LogPager)(nil)
	_ DeliveryChecker = (*LogPager)(nil)
)

// Page logs p and remembers its Key.
func (l *LogPager) Page(ctx context.Context, p Page) error {
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
	l.remember(p.Key)
	return nil
}

// Delivered reports whether this LogPager logged a page with p's Key
// among the last LogPagerMemory it logged. It never fails.
func (l *LogPager) Delivered(_ context.Context, p Page) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.seen[p.Key]
	return ok, nil
}

func (l *LogPager) remember(key string) {
	if key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[string]struct{})
	}
	if _, ok := l.seen[key]; ok {
		return
	}
	if len(l.ring) < LogPagerMemory {
		l.ring = append(l.ring, key)
	} else {
		delete(l.seen, l.ring[l.next])
		l.ring[l.next] = key
		l.next = (l.next + 1) % LogPagerMemory
	}
	l.seen[key] = struct{}{}
}

// PartlyDelivered marks err, returned by a Pager that delivers a page in
// several chats, as the failure of some chats only: the page is in chats
// (one or more) and err is another chat's failure, which the runner
// retries as it would the error alone. When that chat's retries run out
// the page counts as delivered in chats (its "paged" event names them, a
// note names the failure) instead of being given up: the person has it,
// so the fallback is not paged. A Permanent err has no such retries and
// should not be marked (a Pager returns nil then).
func PartlyDelivered(err error, chats []string) error {
	return &partlyDeliveredError{err: err, chats: chats}
}

type partlyDeliveredError struct {
	err   error
	chats []string
}

func (e *partlyDeliveredError) Error() string { return e.err.Error() }
func (e *partlyDeliveredError) Unwrap() error { return e.err }

// DeliveredIn reports the chats a PartlyDelivered err says have the page;
// ok is false for any other error.
func DeliveredIn(err error) (chats []string, ok bool) {
	var p *partlyDeliveredError
	if errors.As(err, &p) && len(p.chats) > 0 {
		return p.chats, true
	}
	return nil, false
}
