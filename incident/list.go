package incident

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A listing walks one sorted set in one direction: the open incidents by
// creation ms, oldest first, or the resolved ones by resolution ms, newest
// first. Redis orders members of equal score by their bytes, so a position
// is (score, member): the cursor names the last incident returned, and the
// next page starts after it. Because the position is a value, not an
// offset, it is stable under concurrent writes: an incident opened during
// the walk lands after every existing one (its score is now) and is seen at
// the end; one resolved during the walk drops out of the open set and is
// simply not returned; nothing is returned twice.

// cursorVersion prefixes every cursor, so a future format can refuse an old one.
const cursorVersion = "c1"

// listCursor is a decoded cursor: the set walked ("open" or "resolved")
// and the position of the last incident returned.
type listCursor struct {
	set    string
	score  float64
	member string
}

func (c listCursor) encode() string {
	raw := cursorVersion + "|" + c.set + "|" + strconv.FormatFloat(c.score, 'f', -1, 64) + "|" + c.member
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// errBadCursor is the refusal of a cursor baton did not give (or gave for
// another listing): Invalid, with the sentence a caller reads.
func errBadCursor() error {
	return Errorf(Invalid, "The cursor is not one baton gave for this listing; list again without a cursor.")
}

func decodeCursor(s, set string) (listCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return listCursor{}, errBadCursor()
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != cursorVersion || parts[1] != set {
		return listCursor{}, errBadCursor()
	}
	score, err := strconv.ParseFloat(parts[2], 64)
	if err != nil {
		return listCursor{}, errBadCursor()
	}
	if n, err := strconv.ParseInt(parts[3], 10, 64); err != nil || n < 1 || strconv.FormatInt(n, 10) != parts[3] {
		return listCursor{}, errBadCursor()
	}
	return listCursor{set: set, score: score, member: parts[3]}, nil
}

// after reports whether z comes after the cursor's position in the walk.
func (c listCursor) after(z redis.Z, desc bool) bool {
	m, _ := z.Member.(string)
	if z.Score != c.score {
		return (z.Score > c.score) != desc
	}
	return (m > c.member) != desc && m != c.member
}

// filterBatch is how many incidents a filtered listing reads at a time.
const filterBatch = 256

// ListPage returns up to limit incidents matching f (0 means 100), after
// cursor ("" for the first page), in List's order, and the cursor of the
// next page ("" when there is none). It reads only what the page needs: the
// positions of limit+1 incidents (one more, to know whether a next page
// exists) and the limit incidents themselves; a status filter (triggered,
// acknowledged) reads further in batches until the page is full or the set
// ends. A cursor that is not one ListPage returned for the same set (open
// or resolved) is an *Error of code Invalid.
func (s *Store) ListPage(ctx context.Context, f Filter, limit int, cursor string) ([]Incident, string, error) {
	if limit <= 0 {
		limit = 100
	}
	set, key, desc := "open", s.k.open, false
	if f == FilterResolved {
		set, key, desc = "resolved", s.k.resolved, true
	}
	var pos *listCursor
	if cursor != "" {
		c, err := decodeCursor(cursor, set)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", f, err)
		}
		pos = &c
	}
	filtered := f == FilterTriggered || f == FilterAcknowledged
	out := make([]Incident, 0, min(limit, 1000))
	for {
		need := limit - len(out)
		// One position more than the page needs: whether a next page
		// exists. A filter reads in larger batches, as it may skip many.
		count := need + 1
		if filtered {
			count = max(count, filterBatch)
		}
		zs, err := s.positions(ctx, key, desc, pos, count)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", f, err)
		}
		// Without a filter every incident read is returned: read only the
		// page's. With one, read the whole batch, as some may be skipped.
		read := zs
		if !filtered {
			read = zs[:min(len(zs), need)]
		}
		incs, err := s.read(ctx, read)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", f, err)
		}
		for i, inc := range incs {
			pos = &listCursor{set: set, score: read[i].Score, member: read[i].Member.(string)}
			if inc.Number == 0 || (f == FilterTriggered && inc.Status != StatusTriggered) ||
				(f == FilterAcknowledged && inc.Status != StatusAcknowledged) {
				continue // resolved or gone meanwhile, or filtered out
			}
			out = append(out, inc)
			if len(out) == limit {
				// A next page may exist when positions follow this one.
				if i < len(read)-1 || len(zs) > len(read) {
					return out, pos.encode(), nil
				}
				return out, "", nil
			}
		}
		if len(zs) < count {
			return out, "", nil // the set ended
		}
	}
}

// positions returns up to count members of key with their scores, in walk
// order, after pos (from the start when nil). Members tied with pos's score
// that come before it are skipped here; there are few (incidents created in
// one millisecond), so the loop rarely runs twice.
func (s *Store) positions(ctx context.Context, key string, desc bool, pos *listCursor, count int) ([]redis.Z, error) {
	if count < 1 {
		count = 1
	}
	from := "-inf"
	if pos != nil {
		from = strconv.FormatFloat(pos.score, 'f', -1, 64)
	}
	var out []redis.Z
	for offset := int64(0); ; {
		var zs []redis.Z
		var err error
		if desc {
			upper := "+inf"
			if pos != nil {
				upper = from
			}
			zs, err = s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: upper, Offset: offset, Count: int64(count)}).Result()
		} else {
			zs, err = s.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: from, Max: "+inf", Offset: offset, Count: int64(count)}).Result()
		}
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			if pos == nil || pos.after(z, desc) {
				out = append(out, z)
			}
		}
		if len(out) >= count || len(zs) < count {
			return out[:min(len(out), count)], nil
		}
		offset += int64(len(zs))
	}
}

// read fetches the incidents at zs in one pipeline; an incident that is
// gone has Number 0.
func (s *Store) read(ctx context.Context, zs []redis.Z) ([]Incident, error) {
	pipe := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(zs))
	sts := make([]*redis.StringCmd, len(zs))
	for i, z := range zs {
		num, _ := z.Member.(string)
		hs[i] = pipe.HGetAll(ctx, s.k.base+num)
		sts[i] = pipe.Get(ctx, s.k.base+num+":s")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]Incident, len(zs))
	for i, z := range zs {
		if len(hs[i].Val()) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(z.Member.(string), 10, 64)
		out[i] = decodeIncident(n, hs[i].Val(), sts[i].Val())
	}
	return out, nil
}

// ListNewest returns up to limit open incidents, newest first (0 means
// 100), and how many incidents are open in all: what a responder asks for
// first (/incident list). One ZCARD and one ZREVRANGE of the open set (and,
// when the list is full, one ZRANGEBYSCORE of the incidents sharing the last
// place's score), and the incidents read in one pipeline; an incident
// resolved meanwhile is left out. Incidents opened in the same millisecond
// (one score; Redis orders their members as bytes, "9" after "10") are
// chosen and put in number order, which is opening order.
func (s *Store) ListNewest(ctx context.Context, limit int) ([]Incident, int64, error) {
	if limit <= 0 {
		limit = 100
	}
	pipe := s.rdb.Pipeline()
	total := pipe.ZCard(ctx, s.k.open)
	newest := pipe.ZRevRangeWithScores(ctx, s.k.open, 0, int64(limit-1))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("list newest: %w", err)
	}
	zs := newest.Val()
	if len(zs) == limit {
		// The last place may be one of several incidents opened in the same
		// millisecond, and Redis ordered those by their members' bytes ("9"
		// before "10"), not by number: take every incident of that score, so
		// the cut below is made in number order.
		low := strconv.FormatFloat(zs[len(zs)-1].Score, 'f', -1, 64)
		ties, err := s.rdb.ZRangeByScoreWithScores(ctx, s.k.open, &redis.ZRangeBy{Min: low, Max: low}).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("list newest: %w", err)
		}
		seen := make(map[string]bool, len(zs))
		for _, z := range zs {
			seen[z.Member.(string)] = true
		}
		for _, z := range ties {
			if !seen[z.Member.(string)] {
				zs = append(zs, z)
			}
		}
		num := func(z redis.Z) int64 { n, _ := strconv.ParseInt(z.Member.(string), 10, 64); return n }
		slices.SortFunc(zs, func(a, b redis.Z) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return cmp.Compare(num(b), num(a))
		})
		zs = zs[:limit]
	}
	incs, err := s.read(ctx, zs)
	if err != nil {
		return nil, 0, fmt.Errorf("list newest: %w", err)
	}
	out := make([]Incident, 0, len(incs))
	for _, inc := range incs {
		if inc.Number != 0 && inc.Status != StatusResolved {
			out = append(out, inc)
		}
	}
	slices.SortFunc(out, func(a, b Incident) int { return cmp.Compare(b.Number, a.Number) })
	return out, total.Val(), nil
}

// ListNewestWhere returns up to limit open incidents for which match says
// true, newest first (0 means 100), and how many open incidents match in
// all: /incident list mine and /incident list triggered. There is no index
// by owner or by status, so it reads the whole open set, newest first, in
// batches of filterBatch (a ZREVRANGE and one pipeline each): a cost in
// the number of open incidents, paid only when someone asks. An incident
// resolved meanwhile is left out.
func (s *Store) ListNewestWhere(ctx context.Context, limit int, match func(Incident) bool) ([]Incident, int64, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Incident
	var total int64
	// prev: the numbers of the batch before, so an incident pushed into
	// this batch by one opened meanwhile is not counted twice.
	prev := map[int64]bool{}
	for start := int64(0); ; start += filterBatch {
		zs, err := s.rdb.ZRevRangeWithScores(ctx, s.k.open, start, start+filterBatch-1).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("list newest where: %w", err)
		}
		incs, err := s.read(ctx, zs)
		if err != nil {
			return nil, 0, fmt.Errorf("list newest where: %w", err)
		}
		seen := make(map[int64]bool, len(incs))
		for _, inc := range incs {
			if inc.Number == 0 || prev[inc.Number] || inc.Status == StatusResolved || !match(inc) {
				continue
			}
			seen[inc.Number] = true
			total++
			out = append(out, inc)
		}
		prev = seen
		// Keep the newest limit (by number, which is opening order: the
		// set orders ties of one millisecond by bytes), so memory stays
		// bounded by limit plus a batch.
		slices.SortFunc(out, func(a, b Incident) int { return cmp.Compare(b.Number, a.Number) })
		out = out[:min(len(out), limit)]
		if len(zs) < filterBatch {
			return out, total, nil
		}
	}
}
