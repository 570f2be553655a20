package incident

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the record of pages being delivered: what the escalation
// runner writes around each Pager call so that a page whose job runs again
// (its runner died, or its commit failed) is not sent twice.
//
//	<prefix>{inc}:i:<n>:pg   hash: "#rev" → the revision of the step whose
//	                         pages are recorded; "#at" → unix ms when its
//	                         earliest page still marked began;
//	                         <page key> → sending | sent.
//	                         Expires PageRecordTTL after its last write.
//
// The record lives beside the incident under the store's {inc} hash tag,
// not in a chat adapter's keys: it is the runner's, whatever the Pager (the
// log pager has no keys of its own). It holds the pages of one step only: a
// page key names the revision it was decided at, and once a step at a later
// revision records a page, no run can decide the earlier keys again (the
// earlier step was committed, which moved the revision, or refused because
// it had moved). So the record's size is bounded by one step's pages per
// open incident, and a resolved incident's record is gone a day later.

// PageMark is what the store has recorded of one page's delivery.
type PageMark string

// Page marks.
const (
	// PageUnsent: nothing recorded; no run has begun to send the page.
	PageUnsent PageMark = ""
	// PageSending: a run began to send the page and recorded no outcome:
	// it died in between, could not reach Redis afterwards, or the send
	// failed in a way that leaves its outcome unknown (a timeout).
	PageSending PageMark = "sending"
	// PageSent: the page was delivered.
	PageSent PageMark = "sent"
	// PageStale: a step of the incident at a later revision has recorded
	// pages; the step asking was decided on an out-of-date incident.
	PageStale PageMark = "stale"
)

// PageRecordTTL is how long a page record is kept after its last write:
// far longer than any lease or retry after which the same step could run
// again.
const PageRecordTTL = 24 * time.Hour

var (
	//go:embed lua/page.lua
	pageSrc    string
	pageScript = redis.NewScript(pageSrc)
)

func (k keys) pages(n int64) string { return k.incident(n) + ":pg" }

// BeginPage records that the page with key, decided by incident n's
// escalation step at revision rev, is about to be sent, and returns what was
// recorded before. PageUnsent: the page is now marked sending and the caller
// sends it. PageSending: an earlier run began and recorded no outcome (the
// mark stays). PageSent: it was delivered. PageStale: a later step has begun
// pages; nothing was written. at is the caller's clock: the step's begin
// time (EscalationState.StepBegan) is the first page's at. Errors are
// Redis's.
func (s *Store) BeginPage(ctx context.Context, n, rev int64, key string, at time.Time) (PageMark, error) {
	return s.page(ctx, n, rev, key, "begin", at)
}

// EndPage records the outcome of a send begun with BeginPage: PageSent when
// the page was delivered, PageUnsent when it certainly was not (the sending
// mark is removed, so the next run sends without asking whether it was
// delivered). Any other mark is an error. A stale step's outcome is not
// recorded. Errors are Redis's.
func (s *Store) EndPage(ctx context.Context, n, rev int64, key string, m PageMark) error {
	op := ""
	switch m {
	case PageSent:
		op = "sent"
	case PageUnsent:
		op = "forget"
	default:
		return fmt.Errorf("end page %s: cannot record %q", key, m)
	}
	_, err := s.page(ctx, n, rev, key, op, time.Time{})
	return err
}

func (s *Store) page(ctx context.Context, n, rev int64, key, op string, at time.Time) (PageMark, error) {
	prev, err := s.eval(ctx, pageScript, []string{s.k.pages(n)},
		strconv.FormatInt(rev, 10), key, op, PageRecordTTL.Milliseconds(), at.UnixMilli()).Text()
	if err != nil {
		return "", fmt.Errorf("record page %s: %w", key, err)
	}
	return PageMark(prev), nil
}
