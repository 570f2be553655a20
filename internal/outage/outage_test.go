package outage_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/outage"
)

// lines is a slog handler's output, one record per line, safe for
// concurrent writers.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newLogger() (*slog.Logger, *lines) {
	out := &lines{}
	h := slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return slog.New(h), out
}

// step is one event for a Log: a failure or a success, at an offset from
// the start.
type step struct {
	at   time.Duration
	fail bool
}

func fails(from, to, every time.Duration) []step {
	var s []step
	for at := from; at <= to; at += every {
		s = append(s, step{at: at, fail: true})
	}
	return s
}

// flaps fails at every whole second from from to to and succeeds half a
// second after each failure.
func flaps(from, to time.Duration) []step {
	var s []step
	for at := from; at <= to; at += time.Second {
		s = append(s, step{at: at, fail: true}, step{at: at + 500*time.Millisecond})
	}
	return s
}

func TestLogOncePerOutage(t *testing.T) {
	errDown := errors.New("dial tcp 127.0.0.1:6390: connect: connection refused")
	tests := []struct {
		name  string
		steps []step
		want  []string // one fragment per expected line, in order
	}{
		{"no failure, no line", []step{{at: 0}, {at: time.Second}}, nil},
		{"one failure then back", []step{{at: 0, fail: true}, {at: time.Second}},
			[]string{"level=ERROR msg=\"redis unavailable", "level=INFO msg=\"redis answers again\" dependency=redis down_for=1s failures=1"}},
		{"a thousand failures in 10s: one line", fails(0, 10*time.Second, 10*time.Millisecond),
			[]string{"level=ERROR"}},
		{"a minute of failures: a line per 30s with the count", fails(0, 61*time.Second, 100*time.Millisecond),
			[]string{"level=ERROR", "level=WARN msg=\"redis still unavailable\" dependency=redis err=\"dial tcp 127.0.0.1:6390: connect: connection refused\" route=/x failures=300 down_for=30s",
				"level=WARN msg=\"redis still unavailable\" dependency=redis err=\"dial tcp 127.0.0.1:6390: connect: connection refused\" route=/x failures=300 down_for=1m0s"}},
		{"two outages an interval apart: each has its first line and its back line",
			append(append(append(fails(0, time.Second, 100*time.Millisecond), step{at: 2 * time.Second}),
				fails(32*time.Second, 33*time.Second, 100*time.Millisecond)...), step{at: 34 * time.Second}, step{at: 35 * time.Second}),
			[]string{"level=ERROR", "failures=11", "level=ERROR", "failures=11"}},
		{"flapping for 15 s (a read answered between refused writes): one ERROR, one back",
			flaps(0, 15*time.Second),
			[]string{"level=ERROR", "level=INFO msg=\"redis answers again\" dependency=redis down_for=500ms failures=1"}},
		{"flapping for 70 s: a WARN and a back per interval, the last back said after the interval",
			append(flaps(0, 69*time.Second), step{at: 100 * time.Second}),
			[]string{"level=ERROR",
				"level=INFO msg=\"redis answers again\" dependency=redis down_for=500ms failures=1",
				"level=WARN msg=\"redis still unavailable\" dependency=redis err=\"dial tcp 127.0.0.1:6390: connect: connection refused\" route=/x failures=30 down_for=30s",
				"level=INFO msg=\"redis answers again\" dependency=redis down_for=30.5s failures=30",
				"level=WARN msg=\"redis still unavailable\" dependency=redis err=\"dial tcp 127.0.0.1:6390: connect: connection refused\" route=/x failures=30 down_for=1m0s",
				"level=INFO msg=\"redis answers again\" dependency=redis down_for=1m0.5s failures=30",
				"level=INFO msg=\"redis answers again\" dependency=redis down_for=1m9.5s failures=9"}},
		{"a failure an interval after the outage ended starts a new one",
			[]step{{at: 0, fail: true}, {at: time.Second}, {at: 31 * time.Second, fail: true}, {at: 32 * time.Second}},
			[]string{"level=ERROR", "failures=1", "level=ERROR", "failures=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, out := newLogger()
			start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			now := start
			l := outage.New(log, "redis", 30*time.Second, func() time.Time { return now })
			for _, s := range tc.steps {
				now = start.Add(s.at)
				if s.fail {
					l.Failed(errDown, "route", "/x")
				} else {
					l.OK()
				}
			}
			got := out.all()
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, frag := range tc.want {
				if !strings.Contains(got[i], frag) {
					t.Errorf("line %d = %s\nwant it to contain %s", i, got[i], frag)
				}
			}
			if tc.want != nil && !strings.Contains(got[0], "127.0.0.1:6390") {
				t.Errorf("the first line lacks the detail: %s", got[0])
			}
		})
	}
}

func TestNilLogDoesNothing(t *testing.T) {
	var l *outage.Log
	l.Failed(errors.New("x"))
	l.OK()
	if l.Down() {
		t.Fatal("a nil Log is down")
	}
}

func TestClientLogRateLimitsPerFormat(t *testing.T) {
	tests := []struct {
		name  string
		calls func(c *outage.ClientLog, tick func(time.Duration))
		want  []string
	}{
		{"one line", func(c *outage.ClientLog, _ func(time.Duration)) {
			c.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 5, errors.New("dial tcp 127.0.0.1:1: refused"))
		}, []string{`level=WARN msg="go-redis says" component=go-redis line="redis: connection pool: failed to dial after 5 attempts: dial tcp 127.0.0.1:1: refused"`}},
		{"the same format 100 times in 10s, then after 30s", func(c *outage.ClientLog, tick func(time.Duration)) {
			for i := range 100 {
				c.Printf(context.Background(), "failed to dial after %d attempts", i)
				tick(100 * time.Millisecond)
			}
			tick(30 * time.Second)
			c.Printf(context.Background(), "failed to dial after %d attempts", 7)
		}, []string{"line=\"failed to dial after 0 attempts\"", "line=\"failed to dial after 7 attempts\" suppressed=99"}},
		{"pre-formatted lines keyed without their numbers", func(c *outage.ClientLog, _ func(time.Duration)) {
			c.Printf(context.Background(), "%s", "conn[1] unrelaxed")
			c.Printf(context.Background(), "%s", "conn[2] unrelaxed")
			c.Printf(context.Background(), "%s", "pool closed")
		}, []string{"conn[1] unrelaxed", "pool closed"}},
		{"credentials in a URL are masked", func(c *outage.ClientLog, _ func(time.Duration)) {
			c.Printf(context.Background(), "bad url %s", "redis://baton:s3cret@10.0.0.1:6379/0")
		}, []string{`line="bad url redis://***@10.0.0.1:6379/0"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, out := newLogger()
			now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			c := outage.NewClientLog(log, "go-redis", 30*time.Second, func() time.Time { return now })
			tc.calls(c, func(d time.Duration) { now = now.Add(d) })
			got := out.all()
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, frag := range tc.want {
				if !strings.Contains(got[i], frag) {
					t.Errorf("line %d = %s\nwant it to contain %s", i, got[i], frag)
				}
			}
			if strings.Contains(strings.Join(got, "\n"), "s3cret") {
				t.Error("a password reached the log")
			}
		})
	}
}
