package demo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
)

// The story tells one line per message sent, not per page: pages that went
// out together as one bundled DM (or one fallback post in an alerts
// channel) are told as one line naming every incident of it.
//
// Every incident of one message has a "paged" event with the same person
// and time (Event.At; for a re-page folded into an earlier run of re-pages,
// Event.Last), so that pair names the message. Each incident's event is
// committed by its own job, so one poll may see some of them and the next
// the rest: a message's pages are held until a poll adds none to them,
// then told as one line. The later events of an incident whose page is
// held (an acknowledgement seen in the same poll) are held with it and told
// after that line.

// pageGroup is the pages of one message held until they are told.
type pageGroup struct {
	person string
	at     time.Time
	pages  []heldPage
	after  []func() // the later events of its incidents, told after it
	grew   bool     // pages were added by the current poll
}

type heldPage struct {
	number int64
	ref    string
	event  incident.Event
	growth bool // a folded run of re-pages grew: one more re-page
}

// maxToldMessages bounds the messages remembered as told (so that a page
// of one seen after its line was printed says it was in the same message).
const maxToldMessages = 256

// maxListed is how many incidents a message's line names; the rest are "…".
const maxListed = 8

// holdPageLocked tells a page now, or holds it with the others of its
// message. A page sent alone (no Bundle) that starts a timeline entry is
// told at once, as before; a bundled page, and a re-page that grew a run
// (whose entry keeps its first page's Bundle, so it may have gone in a
// bundle anyway), is held. Callers hold s.mu.
func (s *Story) holdPageLocked(inc incident.Incident, e incident.Event, growth bool) {
	at := e.At
	if growth {
		at = e.Last
	}
	if !growth && e.Bundle == "" {
		s.tellPagedLocked(inc.Ref(), e)
		return
	}
	key := e.Person + "|" + at.UTC().Format(time.RFC3339Nano)
	if s.held == nil {
		s.held = map[string]*pageGroup{}
	}
	g := s.held[key]
	if g == nil {
		g = &pageGroup{person: e.Person, at: at}
		s.held[key] = g
	}
	g.pages = append(g.pages, heldPage{number: inc.Number, ref: inc.Ref(), event: e, growth: growth})
	g.grew = true
}

// tellAfterHeldLocked tells an event of incident n (tell) now, or, while
// a page of n is held, after the line of the latest message holding one.
func (s *Story) tellAfterHeldLocked(n int64, tell func()) {
	var last *pageGroup
	for _, key := range s.heldKeysLocked() {
		if g := s.held[key]; slices.ContainsFunc(g.pages, func(p heldPage) bool { return p.number == n }) {
			last = g
		}
	}
	if last == nil {
		tell()
		return
	}
	last.after = append(last.after, tell)
}

// flushHeldLocked tells the held messages that the last poll added no
// page to (all of them when all is set), oldest first, and marks the
// others as not grown.
func (s *Story) flushHeldLocked(all bool) {
	for _, key := range s.heldKeysLocked() {
		g := s.held[key]
		if g.grew && !all {
			g.grew = false
			continue
		}
		s.tellHeldLocked(key)
	}
}

// heldKeysLocked are the held messages' keys, oldest message first.
func (s *Story) heldKeysLocked() []string {
	keys := make([]string, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := s.held[a].at.Compare(s.held[b].at); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// tellHeldLocked prints held message key: one page as its own line, as
// told before bundling; several as one line naming every incident.
func (s *Story) tellHeldLocked(key string) {
	g := s.held[key]
	delete(s.held, key)
	if g == nil || len(g.pages) == 0 {
		return
	}
	defer func() {
		for _, tell := range g.after {
			tell()
		}
	}()
	// Told before: pages of this message were told in an earlier line
	// (committed later than the others). A page of an incident it already
	// named is another message (the same person and time: a clock's tie).
	prev, toldBefore := s.toldMsgs[key]
	for _, p := range g.pages {
		if slices.Contains(prev.numbers, p.number) {
			toldBefore, prev = false, toldMsg{}
			break
		}
	}
	for _, p := range g.pages {
		prev.numbers = append(prev.numbers, p.number)
	}
	prev.at = g.at
	s.rememberToldLocked(key, prev)
	if len(g.pages) == 1 && !toldBefore {
		s.tellPagedLocked(g.pages[0].ref, g.pages[0].event)
		return
	}
	slices.SortFunc(g.pages, func(a, b heldPage) int { return cmp.Compare(a.number, b.number) })
	refs := make([]string, 0, min(len(g.pages), maxListed)+1)
	kinds := map[string]int{}
	for i, p := range g.pages {
		if i < maxListed {
			refs = append(refs, p.ref)
		} else if i == maxListed {
			refs = append(refs, "…")
		}
		kind := pageKind(p.event)
		if p.growth {
			kind = "re-page"
		}
		kinds[kind]++
	}
	where := "DM to " + g.person
	if g.person == "" {
		where = "alerts channel (nobody could be paged)"
	}
	what := fmt.Sprintf("%d incidents", len(g.pages))
	if len(g.pages) == 1 {
		what = "1 incident"
	}
	if toldBefore {
		what = strings.Replace(what, " incident", " more incident", 1) + " in the same message"
	}
	s.lineLocked("%s: %s (%s)%s", where, what, strings.Join(refs, ", "), kindsSummary(kinds))
}

// toldMsg is a message told: when it was sent, and the incidents named.
type toldMsg struct {
	at      time.Time
	numbers []int64
}

// rememberToldLocked records message key as told, forgetting the oldest
// past maxToldMessages.
func (s *Story) rememberToldLocked(key string, m toldMsg) {
	if s.toldMsgs == nil {
		s.toldMsgs = map[string]toldMsg{}
	}
	s.toldMsgs[key] = m
	if len(s.toldMsgs) <= maxToldMessages {
		return
	}
	oldest := ""
	for k, t := range s.toldMsgs {
		if oldest == "" || t.at.Before(s.toldMsgs[oldest].at) {
			oldest = k
		}
	}
	delete(s.toldMsgs, oldest)
}

// pageKindOrder is the order a message's kinds of page are summed up in.
var pageKindOrder = []string{"first page", "re-page", "escalated", "new owner", "re-triggered", "notified", "moved on", "fallback", "other"}

// pageKind names why a page came, from its event's note.
func pageKind(e incident.Event) string {
	reason, _, _ := strings.Cut(e.Note, " ")
	switch reason {
	case "first":
		return "first page"
	case "repeat":
		return "re-page"
	case "escalated":
		return "escalated"
	case "assigned":
		return "new owner"
	case "retriggered":
		return "re-triggered"
	case "notify":
		return "notified"
	case "handoff":
		return "moved on"
	case "fallback":
		return "fallback"
	}
	return "other"
}

// kindsSummary is ": 3 first pages, 2 re-pages" for a message of several
// kinds of page, "" for one of a single kind.
func kindsSummary(kinds map[string]int) string {
	if len(kinds) < 2 {
		return ""
	}
	var parts []string
	for _, k := range pageKindOrder {
		n := kinds[k]
		if n == 0 {
			continue
		}
		if n > 1 && strings.HasSuffix(k, "page") {
			k += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	return ": " + strings.Join(parts, ", ")
}
