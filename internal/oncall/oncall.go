// Package oncall answers "who is on call": it joins the pure rotation math
// (package rotations) with the overrides stored in Redis and the service →
// rotation mapping from the configuration. The escalation engine (who to
// page), the CLI (`baton oncall`), the HTTP API and the chat commands all
// ask the one Board, so they all give the same answer.
package oncall

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/batonhq/baton/rotations"
)

// Horizon is how far ahead a view lists the next shifts.
const Horizon = 14 * 24 * time.Hour

// FeedDays is how far ahead the iCalendar feed reaches.
const FeedDays = 90

// Errors callers turn into sentences.
var (
	ErrUnknownRotation    = errors.New("no such rotation")
	ErrUnknownService     = errors.New("no such service")
	ErrNoRotation         = errors.New("the service's first escalation level names no rotation")
	ErrServiceAndRotation = errors.New("name a service or a rotation, not both")
)

// OverrideSource loads the overrides in effect for a rotation
// (overrides.Store.Set).
type OverrideSource func(ctx context.Context, rotation string) (*rotations.OverrideSet, error)

// Board is the on-call view of the whole configuration. Set its fields
// before first use and not after; it is then safe for concurrent use.
type Board struct {
	// Rotations by name.
	Rotations map[string]*rotations.Rotation
	// ServiceRotation maps a service to the rotation its first escalation
	// level pages ("" when that level names only people).
	ServiceRotation map[string]string
	// Names maps person ids to display names, for the calendar feed.
	Names map[string]string
	// Overrides loads stored overrides; nil means none.
	Overrides OverrideSource
	// ResolverTTL is how long Resolver reuses the overrides it loaded, so a
	// burst of page jobs does not read the same hash from Redis thousands
	// of times; an override then takes effect for paging within ResolverTTL.
	// 0 reads every time. Views (View, All, Feed) always read afresh: a
	// person who just took a shift sees it at once.
	ResolverTTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedSet
}

type cachedSet struct {
	set *rotations.OverrideSet
	at  time.Time
}

// Resolver answers, for the escalation engine, who the targets of the
// named rotations designate: the rotations with their overrides (cached for
// ResolverTTL). fresh is true when every override set came from the cache,
// false when Redis was read (the engine then re-checks its incident, since
// time passed). An error is Redis's, wrapped with the rotation's name.
func (b *Board) Resolver(ctx context.Context, names []string, now time.Time) (r rotations.Resolver, fresh bool, err error) {
	fresh = true
	var sets map[string]*rotations.OverrideSet
	for _, name := range names {
		if b.Overrides == nil {
			break
		}
		if _, done := sets[name]; done {
			continue
		}
		set, cached, err := b.cachedOverrides(ctx, name, now)
		if err != nil {
			return nil, false, err
		}
		fresh = fresh && cached
		if sets == nil {
			sets = map[string]*rotations.OverrideSet{}
		}
		sets[name] = set
	}
	return rotations.Resolve(b.Rotations, sets), fresh, nil
}

// cachedOverrides returns rotation's overrides; cached is true when no read
// was needed.
func (b *Board) cachedOverrides(ctx context.Context, rotation string, now time.Time) (set *rotations.OverrideSet, cached bool, err error) {
	if b.ResolverTTL > 0 {
		b.mu.Lock()
		e, ok := b.cache[rotation]
		b.mu.Unlock()
		if ok && now.Sub(e.at) < b.ResolverTTL && !now.Before(e.at) {
			return e.set, true, nil
		}
	}
	set, err = b.overrides(ctx, rotation)
	if err != nil {
		return nil, false, err
	}
	if b.ResolverTTL > 0 {
		b.mu.Lock()
		if b.cache == nil {
			b.cache = map[string]cachedSet{}
		}
		b.cache[rotation] = cachedSet{set: set, at: now}
		b.mu.Unlock()
	}
	return set, false, nil
}

// Forget drops rotation's overrides from Resolver's cache, so that the
// next page reads them afresh: called when this process changed them in a
// way paging must see at once (a handoff's pager taken with Take it cuts
// the outgoing person's hold). Other replicas see it within ResolverTTL.
func (b *Board) Forget(rotation string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cache, rotation)
}

// RotationFor resolves a request naming a service or a rotation (exactly one).
func (b *Board) RotationFor(service, rotation string) (*rotations.Rotation, error) {
	switch {
	case service != "" && rotation != "":
		return nil, ErrServiceAndRotation
	case service != "":
		name, ok := b.ServiceRotation[service]
		if !ok {
			return nil, fmt.Errorf("service %q: %w", service, ErrUnknownService)
		}
		if name == "" {
			return nil, fmt.Errorf("service %q: %w", service, ErrNoRotation)
		}
		rotation = name
	}
	r, ok := b.Rotations[rotation]
	if !ok {
		return nil, fmt.Errorf("rotation %q: %w", rotation, ErrUnknownRotation)
	}
	return r, nil
}

func (b *Board) overrides(ctx context.Context, rotation string) (*rotations.OverrideSet, error) {
	if b.Overrides == nil {
		return nil, nil
	}
	ov, err := b.Overrides(ctx, rotation)
	if err != nil {
		return nil, fmt.Errorf("load overrides of %s: %w", rotation, err)
	}
	return ov, nil
}

// View says who is on call in r at at, and the shifts of the next 14 days.
func (b *Board) View(ctx context.Context, r *rotations.Rotation, at time.Time) (rotations.OnCallView, error) {
	ov, err := b.overrides(ctx, r.Name())
	if err != nil {
		return rotations.OnCallView{}, err
	}
	return rotations.View(r, ov, at, Horizon)
}

// All returns the view of every rotation at at, sorted by name. A rotation
// that has not started yet is left out.
func (b *Board) All(ctx context.Context, at time.Time) ([]rotations.OnCallView, error) {
	names := make([]string, 0, len(b.Rotations))
	for n := range b.Rotations {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []rotations.OnCallView{}
	for _, n := range names {
		v, err := b.View(ctx, b.Rotations[n], at)
		if errors.Is(err, rotations.ErrNotStarted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Feed renders the iCalendar feed of r's next 90 days of shifts from now.
func (b *Board) Feed(ctx context.Context, r *rotations.Rotation, now time.Time) ([]byte, error) {
	ov, err := b.overrides(ctx, r.Name())
	if err != nil {
		return nil, err
	}
	return rotations.ICS(r, ov, now, now.AddDate(0, 0, FeedDays), b.Names)
}
