// Package coalesce sends items that share a key together: the first item
// for a key goes out at once, alone; items for the same key that arrive
// while a send for it is in flight (which includes the time it waits for a
// rate-limit slot) wait and go out together in the next send. So a lone
// item gets no added latency, and a burst for one key costs one send per
// slot instead of one per item (group commit). The chat side uses it to
// bundle the pages due for one person into one message, and the notices
// for one alerts channel into one notice.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// Group coalesces the items of each key into batches and hands each batch
// to Send, one batch per key at a time. The zero value is not usable: set
// Send. A Group is safe for concurrent use.
type Group[T any] struct {
	// Send delivers one batch of a key's items (never empty, at most Max)
	// and returns one error per item, in order: nil for an item delivered.
	// A shorter slice leaves the rest nil. Its context is cancelled only
	// when the contexts of all the batch's callers are done, and carries
	// the values of the first caller's.
	Send func(ctx context.Context, key string, items []T) []error
	// Max bounds a batch; items beyond it wait for the next one. Zero or
	// less: no bound.
	Max int
	// Hold, when set, is asked before each batch of a key is taken: how
	// long to let more items gather first (0 or less: take it now). The
	// Pager holds a person's next bundle until about a second after the
	// last message to their DM, the chat's pace in one channel, so the
	// pages due meanwhile go together instead of one alone and the rest in
	// the next slot. It should be short (a second); items may withdraw
	// meanwhile.
	Hold func(key string) time.Duration

	mu   sync.Mutex
	keys map[string]*queue[T]
}

type queue[T any] struct {
	waiting []*call[T]
}

type call[T any] struct {
	ctx  context.Context
	item T
	err  error
	done chan struct{}
}

// Do queues item under key and waits until the batch it went out in was
// sent, returning the item's error from Send. If ctx ends before its batch
// was taken, the item is withdrawn (it is never sent) and Do returns
// ctx's error; once taken, Do waits for the send's outcome.
func (g *Group[T]) Do(ctx context.Context, key string, item T) error {
	c := &call[T]{ctx: ctx, item: item, done: make(chan struct{})}
	g.mu.Lock()
	if g.keys == nil {
		g.keys = map[string]*queue[T]{}
	}
	q, busy := g.keys[key]
	if !busy {
		q = &queue[T]{}
		g.keys[key] = q
	}
	q.waiting = append(q.waiting, c)
	g.mu.Unlock()
	if !busy {
		go g.drain(key, q)
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	for i, w := range q.waiting {
		if w == c {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			g.mu.Unlock()
			return ctx.Err()
		}
	}
	g.mu.Unlock()
	<-c.done // taken into a batch already: its outcome is the item's
	return c.err
}

// Pending reports how many items wait for a batch under key (not counting
// a batch in flight).
func (g *Group[T]) Pending(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if q := g.keys[key]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// drain sends q's batches until none waits, then forgets the key.
func (g *Group[T]) drain(key string, q *queue[T]) {
	for {
		if g.Hold != nil && g.pending(key, q) {
			if d := g.Hold(key); d > 0 {
				time.Sleep(d) // the items wait anyway; a withdrawn one is simply not taken
			}
		}
		g.mu.Lock()
		n := len(q.waiting)
		if n == 0 {
			delete(g.keys, key)
			g.mu.Unlock()
			return
		}
		if g.Max > 0 && n > g.Max {
			n = g.Max
		}
		batch := make([]*call[T], n)
		copy(batch, q.waiting[:n])
		q.waiting = append(q.waiting[:0], q.waiting[n:]...)
		g.mu.Unlock()
		g.send(key, batch)
	}
}

// pending reports whether items wait in q (drain holds only for them).
func (g *Group[T]) pending(key string, q *queue[T]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(q.waiting) > 0
}

func (g *Group[T]) send(key string, batch []*call[T]) {
	ctx, cancel := joined(batch)
	defer cancel()
	items := make([]T, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	var errs []error
	func() {
		defer func() {
			if v := recover(); v != nil {
				errs = nil
				for range batch {
					errs = append(errs, &PanicError{Value: v})
				}
			}
		}()
		errs = g.Send(ctx, key, items)
	}()
	for i, c := range batch {
		if i < len(errs) {
			c.err = errs[i]
		}
		close(c.done)
	}
}

// PanicError is the error of every item of a batch whose Send panicked.
type PanicError struct{ Value any }

// Error says that the send panicked (Value is what it panicked with).
func (e *PanicError) Error() string { return "coalesce: send panicked" }

// joined returns a context with the first call's values that is cancelled
// once every call's context is done.
func joined[T any](batch []*call[T]) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var mu sync.Mutex
	left := len(batch)
	stops := make([]func() bool, 0, len(batch))
	for _, c := range batch {
		stops = append(stops, context.AfterFunc(c.ctx, func() {
			mu.Lock()
			left--
			last := left == 0
			mu.Unlock()
			if last {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
