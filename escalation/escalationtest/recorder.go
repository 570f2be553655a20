// Package escalationtest has a recording Pager for tests of code that pages.
package escalationtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/batonhq/baton/escalation"
)

// Recorder is an escalation.Pager that remembers every page it delivers.
// It is safe for concurrent use.
type Recorder struct {
	// Before, when set, runs before a page is recorded; an error fails the
	// page (it is not recorded). Tests use it to block or to fail pages.
	// Set it before the Recorder is used.
	Before func(ctx context.Context, p escalation.Page) error

	mu      sync.Mutex
	pages   []escalation.Page
	sent    map[string][]time.Time // page key → when each copy was recorded
	changed chan struct{}          // closed and replaced on every recorded page
}

var _ escalation.Pager = (*Recorder)(nil)

// Page implements escalation.Pager.
func (r *Recorder) Page(ctx context.Context, p escalation.Page) error {
	if r.Before != nil {
		if err := r.Before(ctx, p); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pages = append(r.pages, p)
	if r.sent == nil {
		r.sent = map[string][]time.Time{}
	}
	r.sent[p.Key] = append(r.sent[p.Key], time.Now())
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	return nil
}

// SentAt returns when each page with key was delivered (recorded), in
// order, by the wall clock. A Page's At is the instant of its decision,
// which for a step taken over after a crash is when the first run began
// it; SentAt is when this copy arrived.
func (r *Recorder) SentAt(key string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.sent[key]...)
}

// Pages returns a copy of the pages delivered so far, in order.
func (r *Recorder) Pages() []escalation.Page {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]escalation.Page(nil), r.pages...)
}

// Count returns how many delivered pages match.
func (r *Recorder) Count(match func(escalation.Page) bool) int {
	n := 0
	for _, p := range r.Pages() {
		if match(p) {
			n++
		}
	}
	return n
}

// WaitFunc waits until done(pages so far) is true or ctx ends, and returns
// the pages it last saw.
func (r *Recorder) WaitFunc(ctx context.Context, done func([]escalation.Page) bool) ([]escalation.Page, error) {
	for {
		r.mu.Lock()
		pages := append([]escalation.Page(nil), r.pages...)
		if done(pages) {
			r.mu.Unlock()
			return pages, nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return pages, fmt.Errorf("escalationtest: gave up waiting with %d page(s) recorded: %w", len(pages), context.Cause(ctx))
		}
	}
}

// Wait waits until at least n pages were delivered or ctx ends.
func (r *Recorder) Wait(ctx context.Context, n int) ([]escalation.Page, error) {
	return r.WaitFunc(ctx, func(p []escalation.Page) bool { return len(p) >= n })
}

// WaitMatch waits until at least n delivered pages match or ctx ends.
func (r *Recorder) WaitMatch(ctx context.Context, n int, match func(escalation.Page) bool) ([]escalation.Page, error) {
	return r.WaitFunc(ctx, func(ps []escalation.Page) bool {
		c := 0
		for _, p := range ps {
			if match(p) {
				c++
			}
		}
		return c >= n
	})
}

// Checking is a Recorder that is also an escalation.DeliveryChecker: a page
// counts as delivered when a page with its Key was recorded, as a chat's
// history would show it. It is safe for concurrent use.
type Checking struct {
	*Recorder
	// BeforeCheck, when set, runs before each check; an error fails the
	// check (a chat whose history cannot be read, or a rate limit). Set it
	// before use.
	BeforeCheck func(ctx context.Context, p escalation.Page) error

	mu     sync.Mutex
	checks []escalation.Page
}

var _ escalation.DeliveryChecker = (*Checking)(nil)

// Delivered implements escalation.DeliveryChecker.
func (c *Checking) Delivered(ctx context.Context, p escalation.Page) (bool, error) {
	c.mu.Lock()
	c.checks = append(c.checks, p)
	c.mu.Unlock()
	if c.BeforeCheck != nil {
		if err := c.BeforeCheck(ctx, p); err != nil {
			return false, err
		}
	}
	return c.Count(func(q escalation.Page) bool { return q.Key == p.Key }) > 0, nil
}

// Checks returns the pages asked about so far, in order.
func (c *Checking) Checks() []escalation.Page {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]escalation.Page(nil), c.checks...)
}
