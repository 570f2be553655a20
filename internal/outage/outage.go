// Package outage logs a dependency's failures once per outage rather than
// once per request. During a Redis outage every webhook call, API call and
// readiness probe fails the same way; one ERROR line with the detail says
// everything an operator needs, the rest is noise that hides other lines.
//
// A Log writes, per outage:
//   - the first failure at ERROR, with the error's detail (addresses
//     included: the log is the operator's, never a client's);
//   - while failures go on, at most one WARN line per interval, with how many
//     failures there were since the last line;
//   - one INFO line when a success follows failures ("back"), with how long
//     the outage lasted and how many requests failed in it.
//
// It damps flapping (a Redis that answers reads and refuses writes, or
// comes and goes): a failure within one interval after an outage ended
// continues that outage (counted, at most one WARN line per interval, no
// new ERROR line), and "back" is said at most once per interval; a "back"
// held back is said by the first success an interval after the last one,
// with the failures since.
//
// ClientLog does the same job for go-redis's own messages (redis.SetLogger).
//
// Both are safe for concurrent use.
package outage

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultEvery is the shortest gap between two "still failing" lines of one
// outage, and between two lines of one go-redis message.
const DefaultEvery = 30 * time.Second

// Log reports failures of one dependency (named by what, e.g. "redis") to a
// slog.Logger once per outage. The zero value is not usable; build one with
// New. A nil *Log does nothing, so optional wiring stays simple.
type Log struct {
	log   *slog.Logger
	what  string
	every time.Duration
	now   func() time.Time

	// busy mirrors down || backDue for OK's fast path: OK runs after every
	// Redis command, so when nothing failed it must not take the lock.
	busy atomic.Bool

	mu       sync.Mutex
	down     bool
	since    time.Time // first failure of the outage
	lastLine time.Time // when the last ERROR or WARN line of this outage was written
	unlogged int       // failures since the last line
	total    int       // failures in this outage not yet reported by a "back" line
	ended    time.Time // when the last outage ended (a success after failures)
	lastBack time.Time // when the last "back" line was written
	backDue  bool      // an outage ended without its "back" line (held back by the interval)
}

// New returns a Log for the dependency what (a short lowercase name used in
// the lines: "redis"). every is the shortest gap between two "still failing"
// lines (DefaultEvery if ≤ 0); now is the clock (time.Now if nil).
func New(log *slog.Logger, what string, every time.Duration, now func() time.Time) *Log {
	if every <= 0 {
		every = DefaultEvery
	}
	if now == nil {
		now = time.Now
	}
	return &Log{log: log, what: what, every: every, now: now}
}

// Failed records one failed request. The first failure of an outage is
// logged at ERROR with err and attrs (slog key-value pairs, such as
// "route", "/readyz"); later ones are counted and logged at most once per
// interval at WARN, with the count and the latest err. A failure within an
// interval after the last outage ended continues that outage (a flap): it
// is counted like a later failure, not logged at ERROR again.
func (l *Log) Failed(err error, attrs ...any) {
	if l == nil {
		return
	}
	now := l.now()
	l.mu.Lock()
	l.total++
	l.unlogged++
	first := false
	if !l.down {
		flap := l.backDue || (!l.ended.IsZero() && now.Sub(l.ended) < l.every)
		if !flap {
			first, l.since, l.total, l.unlogged = true, now, 1, 1
		}
		l.down = true
		l.busy.Store(true)
	}
	if !first && now.Sub(l.lastLine) < l.every {
		l.mu.Unlock()
		return
	}
	n, since := l.unlogged, l.since
	l.unlogged, l.lastLine = 0, now
	l.mu.Unlock()

	args := append([]any{"dependency", l.what, "err", errString(err)}, attrs...)
	if first {
		l.log.Error(l.what+" unavailable; requests fail until it answers (repeats are counted, not logged)", args...)
		return
	}
	args = append(args, "failures", n, "down_for", now.Sub(since).Round(time.Millisecond).String())
	l.log.Warn(l.what+" still unavailable", args...)
}

// OK records a request that the dependency answered. After failures it logs
// one INFO line: the dependency is back, how long it was down and how many
// requests failed meanwhile; at most one such line per interval (a later
// one waits for a success an interval after it). Otherwise it costs one
// atomic load.
func (l *Log) OK() {
	if l == nil || !l.busy.Load() {
		return
	}
	now := l.now()
	l.mu.Lock()
	if l.down {
		l.down, l.ended, l.backDue = false, now, true
	}
	if !l.backDue || (!l.lastBack.IsZero() && now.Sub(l.lastBack) < l.every) {
		l.mu.Unlock()
		return
	}
	downFor, total := l.ended.Sub(l.since), l.total
	l.backDue, l.lastBack, l.total, l.unlogged = false, now, 0, 0
	l.busy.Store(false)
	l.mu.Unlock()
	l.log.Info(l.what+" answers again", "dependency", l.what,
		"down_for", downFor.Round(time.Millisecond).String(), "failures", total)
}

// Down reports whether the last request recorded failed.
func (l *Log) Down() bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ClientLog routes a client library's printf-style log lines (go-redis's
// internal.Logging: Printf(ctx, format, v...)) into slog at WARN, with
// the source in "component". Each distinct format is written at most once
// per interval; the lines held back are counted in the next one
// ("suppressed"). Credentials in URLs (scheme://user:password@) are masked.
type ClientLog struct {
	log       *slog.Logger
	component string
	every     time.Duration
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]*clientLine
}

type clientLine struct {
	last       time.Time
	suppressed int
}

// NewClientLog returns a ClientLog writing to log with "component" set to
// component (e.g. "go-redis"). every is the shortest gap between two lines
// of one format (DefaultEvery if ≤ 0); now is the clock (time.Now if nil).
func NewClientLog(log *slog.Logger, component string, every time.Duration, now func() time.Time) *ClientLog {
	if every <= 0 {
		every = DefaultEvery
	}
	if now == nil {
		now = time.Now
	}
	return &ClientLog{log: log, component: component, every: every, now: now, seen: map[string]*clientLine{}}
}

// maxFormats bounds the formats remembered; past it the table starts over
// (a library has a few dozen formats, so this is never reached in practice).
const maxFormats = 256

// Printf writes one library line, unless a line of the same format was
// written less than the interval ago; it implements go-redis's
// internal.Logging.
func (c *ClientLog) Printf(ctx context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	key := format
	if format == "%s" || format == "%v" {
		// go-redis pre-formats some lines: key them by their text with
		// the numbers (connection ids, counts) taken out.
		key = digits.ReplaceAllString(msg, "#")
	}
	now := c.now()
	c.mu.Lock()
	ln, ok := c.seen[key]
	if !ok {
		if len(c.seen) >= maxFormats {
			clear(c.seen)
		}
		ln = &clientLine{}
		c.seen[key] = ln
	}
	if ok && now.Sub(ln.last) < c.every {
		ln.suppressed++
		c.mu.Unlock()
		return
	}
	suppressed := ln.suppressed
	ln.last, ln.suppressed = now, 0
	c.mu.Unlock()

	if ctx == nil {
		ctx = context.Background()
	}
	args := []any{"component", c.component, "line", userinfo.ReplaceAllString(msg, "$1***@")}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	c.log.WarnContext(ctx, c.component+" says", args...)
}

var (
	digits   = regexp.MustCompile(`[0-9]+`)
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@`)
)
