// Package redisstore reads analytics facts from baton's Redis: the
// incident hashes and timelines that incident/store.go's Lua scripts
// write. It is an analytics.Source.
//
// Figures are scanned, not rolled up: a report reads the incidents of its
// period (and the previous one) when it is asked for. docs/analytics.md
// says why, and what it costs.
//
// It takes the key names from incident.Layout and knows the fields the
// incident store's scripts write (listed below). Its tests act history out
// through those very scripts, so a change there fails here.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/incident"
)

// Keys read (incident.Layout names them):
//
//	Seq          INCR counter: the highest incident number
//	Incident(n)  hash: service, severity, created, acknowledged (the first), resolved, level, alert_count
//	Timeline(n)  list: the timeline, JSON {type, at (ms), person, level, …}; "paged" and "escalated" are read
//	Open         zset: open incidents by creation ms
//	Resolved     zset: resolved incidents by resolution ms
//
// Incident numbers come from INCR in the same script that stamps
// "created", so numbers and creation times rise together (up to the clock
// skew between replicas): the incidents created in a period are a range
// of numbers, found by binary search.

// hashFields are read from each incident hash, in this order.
var hashFields = []string{"service", "severity", "created", "acknowledged", "resolved", "level", "alert_count"}

// Store is an analytics.Source over baton's Redis. It only reads. Its
// fields may be changed before the first Scan.
type Store struct {
	rdb                 redis.UniversalClient
	keys                incident.Layout
	seq, open, resolved string

	// PageSize is how many incidents one pipeline reads (hash and
	// timeline each): it bounds the memory of a read in flight and how
	// long one round keeps Redis busy.
	PageSize int
	// Workers is how many pipelines run at once, so that Redis serves one
	// while this process decodes another.
	Workers int
	// Skew bounds how far apart the clocks of baton replicas may be: the
	// writer's clock stamps "created", Redis's INCR orders the numbers.
	// The number range is searched 2×Skew wider than the period and then
	// filtered by "created".
	Skew time.Duration
}

var _ analytics.Source = (*Store)(nil)

// New returns a Store reading keys under prefix (config redis.prefix).
func New(rdb redis.UniversalClient, prefix string) *Store {
	l := incident.NewLayout(prefix)
	return &Store{
		rdb: rdb, keys: l, seq: l.Seq(), open: l.Open(), resolved: l.Resolved(),
		PageSize: 500, Workers: 3, Skew: 5 * time.Minute,
	}
}

// batch is what one pipeline read.
type batch struct {
	incidents []analytics.Incident
	pages     []analytics.Page
}

// Scan feeds sink every incident created in [from, to), with its current
// state, and every page sent in [from, to): those of the incidents created
// in it and of the incidents created earlier and not resolved before it.
// The sink is fed from this goroutine only.
func (s *Store) Scan(ctx context.Context, from, to time.Time, sink analytics.Sink) error {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	margin := 2 * s.Skew.Milliseconds()
	last, err := s.rdb.Get(ctx, s.seq).Int64()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", s.seq, err)
	}
	first, err := s.firstCreated(ctx, lo-margin, last)
	if err != nil {
		return err
	}
	end, err := s.firstCreated(ctx, hi+margin, last)
	if err != nil {
		return err
	}
	earlier, err := s.openAt(ctx, lo-margin, first)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []int64)
	go func() {
		defer close(chunks)
		send := func(c []int64) bool {
			select {
			case chunks <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := 0; i < len(earlier); i += s.PageSize {
			if !send(earlier[i:min(i+s.PageSize, len(earlier))]) {
				return
			}
		}
		for n := first; n < end; n += int64(s.PageSize) {
			c := make([]int64, 0, s.PageSize)
			for k := n; k < min(n+int64(s.PageSize), end); k++ {
				c = append(c, k)
			}
			if !send(c) {
				return
			}
		}
	}()
	workers := max(1, s.Workers)
	out := make(chan batch, workers)
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for nums := range chunks {
				b, err := s.read(ctx, nums)
				if err != nil {
					errc <- err
					return
				}
				select {
				case out <- b:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
			errc <- nil
		}()
	}
	var firstErr error
	feed := func(b batch) {
		if firstErr != nil {
			return
		}
		for _, inc := range b.incidents {
			sink.AddIncident(inc)
		}
		for _, p := range b.pages {
			sink.AddPage(p)
		}
	}
	for workers > 0 {
		select {
		case b := <-out:
			feed(b)
		case err := <-errc:
			workers--
			if err != nil && firstErr == nil {
				firstErr = err
				cancel() // the others stop at their next send
			}
		}
	}
	// A worker's last batches may still sit in out's buffer after it said
	// it was done: every worker has finished, so this drains them all.
	for {
		select {
		case b := <-out:
			feed(b)
		default:
			return firstErr
		}
	}
}

// firstCreated returns the smallest incident number, in [1, last+1],
// whose "created" is at or after target, by binary search.
func (s *Store) firstCreated(ctx context.Context, target, last int64) (int64, error) {
	lo, hi := int64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		v, err := s.rdb.HGet(ctx, s.keys.Incident(mid), "created").Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("read INC-%d: %w", mid, err)
		}
		// A missing hash counts as old: incidents are never deleted today,
		// and a retention policy would delete the oldest first.
		if err == nil && v >= target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// openAt returns the incidents numbered below first that were still open
// at since: resolved since then, or open now.
func (s *Store) openAt(ctx context.Context, since, first int64) ([]int64, error) {
	var out []int64
	keep := func(members []string) {
		for _, m := range members {
			if n, err := strconv.ParseInt(m, 10, 64); err == nil && n < first {
				out = append(out, n)
			}
		}
	}
	const page = 10000
	for offset := int64(0); ; offset += page {
		members, err := s.rdb.ZRangeByScore(ctx, s.resolved, &redis.ZRangeBy{
			Min: strconv.FormatInt(since, 10), Max: "+inf", Offset: offset, Count: page}).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.resolved, err)
		}
		keep(members)
		if len(members) < page {
			break
		}
	}
	members, err := s.rdb.ZRangeByScore(ctx, s.open, &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(since, 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.open, err)
	}
	keep(members)
	return out, nil
}

// read fetches the hashes and timelines of nums in one pipeline.
func (s *Store) read(ctx context.Context, nums []int64) (batch, error) {
	pipe := s.rdb.Pipeline()
	hashes := make([]*redis.SliceCmd, len(nums))
	timelines := make([]*redis.StringSliceCmd, len(nums))
	for i, n := range nums {
		hashes[i] = pipe.HMGet(ctx, s.keys.Incident(n), hashFields...)
		timelines[i] = pipe.LRange(ctx, s.keys.Timeline(n), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return batch{}, fmt.Errorf("read incidents: %w", err)
	}
	b := batch{incidents: make([]analytics.Incident, 0, len(nums))}
	for i, n := range nums {
		v := hashes[i].Val()
		if len(v) != len(hashFields) || v[2] == nil {
			continue // no such incident
		}
		inc := analytics.Incident{
			Number:       n,
			Service:      str(v[0]),
			Severity:     str(v[1]),
			Created:      ms(v[2]),
			Acknowledged: ms(v[3]),
			Resolved:     ms(v[4]),
			MaxLevel:     int(num(v[5])),
			Alerts:       num(v[6]),
		}
		for _, raw := range timelines[i].Val() {
			typ := entryType(raw)
			if typ != "paged" && typ != "escalated" {
				continue
			}
			e, err := decodeEntry(raw)
			if err != nil {
				return batch{}, fmt.Errorf("read INC-%d timeline: %w", n, err)
			}
			// The hash keeps the current level; a policy that looped back
			// to level 1 has been higher. The timeline remembers.
			inc.MaxLevel = max(inc.MaxLevel, e.Level)
			if typ == "paged" {
				b.pages = append(b.pages, foldedPages(analytics.Page{Incident: n, Service: inc.Service, Person: e.Person}, e)...)
			}
		}
		b.incidents = append(b.incidents, inc)
	}
	return b, nil
}

// entry is the part of a timeline entry a report uses.
type entry struct {
	Type   string
	At     int64
	Person string
	Level  int
	// Count and Last: a run of re-pages folded into one entry (count pages,
	// the first at At, the latest at Last); Count 0 is one page.
	Count int64
	Last  int64
}

// foldedPages is the pages one paged entry stands for, p with each time.
// A folded run of re-pages keeps only its first and latest times; re-pages
// are sent at a fixed interval, so the ones between are placed evenly
// between the two.
func foldedPages(p analytics.Page, e entry) []analytics.Page {
	if e.Count <= 1 || e.Last <= e.At {
		p.At = time.UnixMilli(e.At)
		return []analytics.Page{p}
	}
	out := make([]analytics.Page, e.Count)
	step := float64(e.Last-e.At) / float64(e.Count-1)
	for i := range out {
		p.At = time.UnixMilli(e.At + int64(float64(i)*step))
		out[i] = p
	}
	return out
}

// entryType finds the "type" of a timeline entry without decoding it:
// most entries (opened, repeated, acknowledged, notes) are skipped, and
// decoding every one would cost more than the rest of the report.
// cjson writes `"type":"paged"` with no spaces, in any position.
func entryType(raw string) string {
	_, rest, ok := strings.Cut(raw, `"type":"`)
	if !ok {
		return ""
	}
	typ, _, _ := strings.Cut(rest, `"`)
	return typ
}

// decodeEntry reads a paged or escalated entry. Their fields are ids and
// integers, so a small scanner does; anything unusual (an escape, a
// number it cannot read) goes to encoding/json.
func decodeEntry(raw string) (entry, error) {
	if !strings.Contains(raw, `\`) {
		at, err := strconv.ParseInt(field(raw, `"at":`, ",}"), 10, 64)
		level := 0
		if l := field(raw, `"level":`, ",}"); l != "" && err == nil {
			level, err = strconv.Atoi(l)
		}
		var count, last int64
		if c := field(raw, `"count":`, ",}"); c != "" && err == nil {
			count, err = strconv.ParseInt(c, 10, 64)
		}
		if l := field(raw, `"last":`, ",}"); l != "" && err == nil {
			last, err = strconv.ParseInt(l, 10, 64)
		}
		if err == nil {
			return entry{Type: entryType(raw), At: at, Person: field(raw, `"person":"`, `"`), Level: level, Count: count, Last: last}, nil
		}
	}
	// Lua numbers are doubles: cjson may write a large one as 1.77e+12.
	var e struct {
		Type   string  `json:"type"`
		At     float64 `json:"at"`
		Person string  `json:"person"`
		Level  float64 `json:"level"`
		Count  float64 `json:"count"`
		Last   float64 `json:"last"`
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return entry{}, err
	}
	return entry{Type: e.Type, At: int64(e.At), Person: e.Person, Level: int(e.Level), Count: int64(e.Count), Last: int64(e.Last)}, nil
}

// field returns what follows key in raw up to the first byte of stop.
func field(raw, key, stop string) string {
	_, rest, ok := strings.Cut(raw, key)
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, stop); i >= 0 {
		return rest[:i]
	}
	return rest
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int64 {
	n, _ := strconv.ParseInt(str(v), 10, 64)
	return n
}

func ms(v any) time.Time {
	n := num(v)
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
