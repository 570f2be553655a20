package rotations

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/batonhq/baton/internal/text"
)

// MaxOverride is the longest range one override may cover. A longer absence
// is a change to the rotation itself and belongs in config.yaml.
const MaxOverride = 90 * 24 * time.Hour

// Override validation outcomes, checked with errors.Is. ValidateOverride
// wraps them with the offending values.
var (
	// ErrEmptyRange: the override ends before or when it starts.
	ErrEmptyRange = errors.New("override must end after it starts")
	// ErrOverrideTooLong: the override covers more than MaxOverride.
	ErrOverrideTooLong = errors.New("override is longer than 90 days")
	// ErrUnknownPerson: the override names nobody in config.yaml's people.
	ErrUnknownPerson = errors.New("unknown person")
	// ErrUnknownRotation: the override names no configured rotation.
	ErrUnknownRotation = errors.New("unknown rotation")
	// ErrOverrideNotFound: no override with that ID in that rotation. The
	// Redis store returns it from Delete; it lives here so that callers can
	// check it without importing the store.
	ErrOverrideNotFound = errors.New("override not found")
)

// Override puts Person on call in Rotation over [From, Until), in place of
// whoever the rotation has on shift. Where overrides overlap, the one created
// last wins for the overlap.
type Override struct {
	// ID is assigned by the store; unique within the rotation.
	ID       string
	Rotation string
	Person   string
	From     time.Time
	Until    time.Time
	// Created orders overlapping overrides: the newest wins. Ties (same
	// instant) go to the ID that sorts later in natural order (longer, then
	// lexically greater), which for the store's counter IDs is the later one.
	Created time.Time
	// By is who made the override: a person id (chat, or the API's "by"),
	// OverrideByAPI for an API request that named nobody, "" for an override
	// stored before baton kept it. It does not affect who is on call.
	By string
}

// OverrideByAPI is the By of an override made through the HTTP API by a
// request that did not say who makes it.
const OverrideByAPI = "api"

// Known says which people and rotations exist, for ValidateOverride. A nil
// func knows nothing, so every override naming one is rejected.
type Known struct {
	Person   func(id string) bool
	Rotation func(name string) bool
}

// NewKnown returns a Known for a fixed list of person ids and rotation names.
func NewKnown(people []string, rotations []string) Known {
	ps := make(map[string]bool, len(people))
	for _, p := range people {
		ps[p] = true
	}
	rs := make(map[string]bool, len(rotations))
	for _, r := range rotations {
		rs[r] = true
	}
	return Known{
		Person:   func(id string) bool { return ps[id] },
		Rotation: func(name string) bool { return rs[name] },
	}
}

// ValidateOverride checks o before it is stored: From < Until, Until-From at
// most MaxOverride, a known person and a known rotation. It reports every
// problem at once (errors.Join); each wraps one of ErrEmptyRange,
// ErrOverrideTooLong, ErrUnknownPerson, ErrUnknownRotation.
func ValidateOverride(o Override, k Known) error {
	var errs []error
	if !o.From.Before(o.Until) {
		errs = append(errs, fmt.Errorf("%w: from %s, until %s", ErrEmptyRange,
			o.From.Format(time.RFC3339), o.Until.Format(time.RFC3339)))
	} else if d := o.Until.Sub(o.From); d > MaxOverride {
		errs = append(errs, fmt.Errorf("%w: it covers %s", ErrOverrideTooLong, humanDuration(d)))
	}
	if k.Person == nil || !k.Person(o.Person) {
		errs = append(errs, fmt.Errorf("%w %q", ErrUnknownPerson, o.Person))
	}
	if k.Rotation == nil || !k.Rotation(o.Rotation) {
		errs = append(errs, fmt.Errorf("%w %q", ErrUnknownRotation, o.Rotation))
	}
	return errors.Join(errs...)
}

// humanDuration counts whole days and gives the rest exactly in
// internal/text's words ("90 days 1s", "31 days 1h"): the overrun past
// MaxOverride is the point, so the days are not rounded away.
func humanDuration(d time.Duration) string {
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	if rest == 0 {
		return fmt.Sprintf("%d days", days)
	}
	return fmt.Sprintf("%d days %s", days, text.Duration(rest))
}

// newer reports whether a takes precedence over b where both apply.
func newer(a, b *Override) bool {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c > 0
	}
	if len(a.ID) != len(b.ID) {
		return len(a.ID) > len(b.ID)
	}
	return a.ID > b.ID
}

// OverrideSet answers "which override, if any, holds rotation R at instant t"
// in O(log n). It is built once from a list (NewOverrideSet) and is then
// immutable and safe for concurrent use. A nil *OverrideSet holds no
// overrides.
type OverrideSet struct {
	byRotation map[string]*timeline
	n          int
}

// timeline is one rotation's overrides flattened into disjoint intervals:
// over [bounds[i], bounds[i+1]) the override ovs[win[i]] holds, or none when
// win[i] < 0. Before bounds[0] and from bounds[len-1] on, none holds.
// Adjacent intervals never have the same winner.
type timeline struct {
	ovs    []Override
	bounds []time.Time
	win    []int32
}

// NewOverrideSet indexes list, which may mix rotations. Overrides with an
// empty range (Until not after From) are ignored. Building costs
// O(n log n).
func NewOverrideSet(list []Override) *OverrideSet {
	s := &OverrideSet{byRotation: map[string]*timeline{}}
	groups := map[string][]Override{}
	for _, o := range list {
		if o.From.Before(o.Until) {
			groups[o.Rotation] = append(groups[o.Rotation], o)
			s.n++
		}
	}
	for name, ovs := range groups {
		s.byRotation[name] = buildTimeline(ovs)
	}
	return s
}

// Len returns the number of overrides in the set (empty ranges excluded).
func (s *OverrideSet) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// newestHeap is a binary max-heap of indexes into ovs, newest on top. It is
// written out rather than using container/heap to avoid boxing every index
// in an interface (one allocation per push at 10,000 overrides).
type newestHeap struct {
	ovs []Override
	idx []int32
}

func (h *newestHeap) less(i, j int) bool { return newer(&h.ovs[h.idx[i]], &h.ovs[h.idx[j]]) }

func (h *newestHeap) push(x int32) {
	h.idx = append(h.idx, x)
	for i := len(h.idx) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.idx[i], h.idx[p] = h.idx[p], h.idx[i]
		i = p
	}
}

func (h *newestHeap) pop() {
	n := len(h.idx) - 1
	h.idx[0] = h.idx[n]
	h.idx = h.idx[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && h.less(c+1, c) {
			c++
		}
		if !h.less(c, i) {
			return
		}
		h.idx[i], h.idx[c] = h.idx[c], h.idx[i]
		i = c
	}
}

// buildTimeline sweeps the boundaries in time order with a heap of the
// overrides that have begun, newest on top; overrides that have ended are
// dropped lazily when they reach the top.
func buildTimeline(ovs []Override) *timeline {
	slices.SortFunc(ovs, func(a, b Override) int { return a.From.Compare(b.From) })
	points := make([]time.Time, 0, 2*len(ovs))
	for _, o := range ovs {
		points = append(points, o.From, o.Until)
	}
	slices.SortFunc(points, time.Time.Compare)
	points = slices.CompactFunc(points, time.Time.Equal)

	tl := &timeline{ovs: ovs}
	h := &newestHeap{ovs: ovs}
	next := 0
	for i, p := range points {
		for next < len(ovs) && !ovs[next].From.After(p) {
			h.push(int32(next))
			next++
		}
		for len(h.idx) > 0 && !ovs[h.idx[0]].Until.After(p) {
			h.pop()
		}
		w := int32(-1)
		if len(h.idx) > 0 {
			w = h.idx[0]
		}
		if i == len(points)-1 {
			w = -1 // nothing holds after the last boundary
		}
		if n := len(tl.win); n > 0 && tl.win[n-1] == w {
			continue // same winner as the interval before: extend it
		}
		tl.bounds = append(tl.bounds, p)
		tl.win = append(tl.win, w)
	}
	// tl.win's last entry is -1 (the open interval after the last boundary);
	// drop it so that len(win) == len(bounds)-1.
	tl.win = tl.win[:len(tl.win)-1]
	return tl
}

// lookup returns the override holding rotation at t (ok false when none) and
// the interval [from, until) over which that answer stays the same. hasFrom
// and hasUntil are false where the interval is unbounded.
func (s *OverrideSet) lookup(rotation string, t time.Time) (o *Override, from, until time.Time, hasFrom, hasUntil bool) {
	if s == nil {
		return nil, time.Time{}, time.Time{}, false, false
	}
	tl := s.byRotation[rotation]
	if tl == nil {
		return nil, time.Time{}, time.Time{}, false, false
	}
	// i is the last boundary at or before t.
	i := sort.Search(len(tl.bounds), func(i int) bool { return tl.bounds[i].After(t) }) - 1
	if i >= 0 {
		from, hasFrom = tl.bounds[i], true
	}
	if i+1 < len(tl.bounds) {
		until, hasUntil = tl.bounds[i+1], true
	}
	if i >= 0 && i < len(tl.win) && tl.win[i] >= 0 {
		o = &tl.ovs[tl.win[i]]
	}
	return o, from, until, hasFrom, hasUntil
}

// At returns the override holding rotation at instant t, newest first where
// several overlap, and whether there is one. It costs O(log n).
func (s *OverrideSet) At(rotation string, t time.Time) (Override, bool) {
	o, _, _, _, _ := s.lookup(rotation, t)
	if o == nil {
		return Override{}, false
	}
	return *o, true
}

// List returns rotation's overrides ordered by From, then creation (oldest
// first).
func (s *OverrideSet) List(rotation string) []Override {
	if s == nil || s.byRotation[rotation] == nil {
		return nil
	}
	out := slices.Clone(s.byRotation[rotation].ovs)
	slices.SortStableFunc(out, func(a, b Override) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		switch {
		case newer(&a, &b):
			return 1
		case newer(&b, &a):
			return -1
		}
		return 0
	})
	return out
}

// OverrideByHandoff is the By of a hold: the override baton sets at a
// handoff of a rotation with handoff_accept, keeping the outgoing person on
// call until the incoming one takes the pager (rotations/overrides,
// Store.BeginHandoff).
const OverrideByHandoff = "handoff"
