package incident

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/text"
)

// Paging someone into an incident. A person asked for (PageIn) is paged
// with the incident's card, apart from its owner, and paged again on the
// incident's policy re-page schedule until they acknowledge their page
// (AckPageIn): then they are a responder; the owner stays the owner. Each
// person's pages are one due job, "pagein:<n>:<person>" in the jobs zset,
// run by the escalation runner (escalation/job_pagein.go), which stops once
// the incident is resolved or the page acknowledged.
//
// Keys: <prefix>{inc}:i:<n>:pi, a hash per incident (see lua/pagein.lua).

// JobPageIn is the job kind of a person paged into an incident.
const JobPageIn JobKind = "pagein"

// PageInJob is the member of person's page-in job on incident n.
func PageInJob(n int64, person string) string {
	return string(JobPageIn) + ":" + strconv.FormatInt(n, 10) + ":" + person
}

// Timeline events of paging someone in.
const (
	// EventPagedIn: By paged Person into the incident; Note is the reason.
	EventPagedIn EventType = "paged_in"
	// EventPageAcknowledged: Person acknowledged the page they were paged
	// in with; they are a responder now.
	EventPageAcknowledged EventType = "page_acknowledged"
	// EventHeld: the incident opened while its service's maintenance
	// window was active; Note names the window. Nobody is paged until it ends.
	EventHeld EventType = "held"
	// EventReleased: the window that held the incident ended while it was
	// still open; its first page and its channel follow.
	EventReleased EventType = "released"
)

var (
	//go:embed lua/pagein.lua
	pageinSrc string
	//go:embed lua/pageinend.lua
	pageinEndSrc string
	pageinScript = redis.NewScript(auditSrc + pageinEndSrc + pageinSrc)
)

func (k keys) pageIns(n int64) string { return k.incident(n) + ":pi" }

func (s *Store) pageinCall(ctx context.Context, op string, n int64, person string, now time.Time, by, arg string) ([]any, error) {
	return s.eval(ctx, pageinScript,
		[]string{s.k.incident(n), s.k.timeline(n), s.k.pageIns(n), s.k.jobs, s.k.events},
		op, n, now.UnixMilli(), person, s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries, by, arg).Slice()
}

// PageIn pages person into incident n on behalf of by, with reason (at
// most MaxNote characters) on the paged_in timeline event: their first page
// is due now. Paging in someone whose page-in is pending (not yet
// acknowledged) changes nothing and returns the incident as it is, so a
// repeated request (a double click, a retry, two replicas) pages nobody
// twice; one whose page-in was acknowledged or failed is paged in afresh. Refusals are *Error: ErrNotFound, ErrAlreadyResolved, and
// AlreadyAssigned when person owns the incident. The caller checks that
// person and by exist.
func (s *Store) PageIn(ctx context.Context, n int64, person, by, reason string, now time.Time) (Incident, error) {
	if person == "" {
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, Errorf(Invalid, "Say whom to page into INC-%d.", n))
	}
	reply, err := s.pageinCall(ctx, "add", n, person, now, by, text.Truncate(reason, MaxNote))
	if err != nil {
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, err)
	}
	switch fmt.Sprint(reply[0]) {
	case "ok":
	case "not_found":
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, NewError(NotFound, n, ""))
	case "already_resolved":
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, NewError(AlreadyResolved, n, ""))
	case "held": // {'held', window, until ms}
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, heldError("page", n, fmt.Sprint(reply[1:2]...), fmt.Sprint(reply[2:3]...)))
	case "owner":
		return Incident{}, fmt.Errorf("page into INC-%d: %w", n, &Error{Code: AlreadyAssigned, Incident: n, Person: person,
			Message: fmt.Sprintf("%s owns INC-%d already; they are paged as its owner.", person, n)})
	default:
		return Incident{}, fmt.Errorf("page into INC-%d: unexpected script reply %v", n, reply)
	}
	s.jobDue()
	inc, _, err := s.Get(ctx, n)
	return inc, err
}

// PageInStep is what the runner is to do for one run of a page-in job
// (BeginPageIn).
type PageInStep struct {
	// Send: page the person now, with Count (1 for the first page).
	// Otherwise Stop says why not (resolved, acked, gone).
	Send  bool
	Stop  string
	Count int
	// Unknown: a page with this Count began before and its outcome went
	// unrecorded (a crash, a failed record): look for it before sending.
	Unknown bool
	Service string
	Status  Status
	Owner   string
}

// BeginPageIn records that page-in job person on n is about to send its
// next page, and says which (or that it is to stop). Errors are Redis's.
func (s *Store) BeginPageIn(ctx context.Context, n int64, person string, now time.Time) (PageInStep, error) {
	reply, err := s.pageinCall(ctx, "begin", n, person, now, "", "")
	if err != nil {
		return PageInStep{}, fmt.Errorf("begin page-in INC-%d %s: %w", n, person, err)
	}
	if fmt.Sprint(reply[0]) == "stop" {
		return PageInStep{Stop: fmt.Sprint(reply[1])}, nil
	}
	if len(reply) < 6 {
		return PageInStep{}, fmt.Errorf("begin page-in INC-%d %s: unexpected script reply %v", n, person, reply)
	}
	count, _ := reply[1].(int64)
	unknown, _ := reply[2].(int64)
	return PageInStep{Send: true, Count: int(count), Unknown: unknown == 1, Service: fmt.Sprint(reply[3]),
		Status: Status(fmt.Sprint(reply[4])), Owner: fmt.Sprint(reply[5])}, nil
}

// PageInSent records page count of person's page-in on n as delivered at
// now. Errors are Redis's.
func (s *Store) PageInSent(ctx context.Context, n int64, person string, count int, now time.Time) error {
	if _, err := s.pageinCall(ctx, "sent", n, person, now, "", strconv.Itoa(count)); err != nil {
		return fmt.Errorf("page-in sent INC-%d %s: %w", n, person, err)
	}
	return nil
}

// AckPageIn acknowledges person's page-in on incident n: their pages stop
// and they are a responder (the owner stays the owner). Refusals are
// *Error: ErrNotFound for no such incident, Invalid when person was not
// paged in, AlreadyAcknowledged when they acknowledged already,
// AlreadyResolved when the incident was resolved before they did (its
// resolve stopped their page-in).
func (s *Store) AckPageIn(ctx context.Context, n int64, person string, now time.Time) (Incident, error) {
	reply, err := s.pageinCall(ctx, "ack", n, person, now, "", "")
	if err != nil {
		return Incident{}, fmt.Errorf("ack page-in INC-%d: %w", n, err)
	}
	switch fmt.Sprint(reply[0]) {
	case "ok":
	case "not_found":
		return Incident{}, fmt.Errorf("ack page-in INC-%d: %w", n, NewError(NotFound, n, ""))
	case "not_paged":
		return Incident{}, fmt.Errorf("ack page-in INC-%d: %w", n, &Error{Code: Invalid, Incident: n,
			Message: fmt.Sprintf("You were not paged into INC-%d; nothing to acknowledge.", n)})
	case "resolved":
		return Incident{}, fmt.Errorf("ack page-in INC-%d: %w", n, &Error{Code: AlreadyResolved, Incident: n,
			Message: fmt.Sprintf("INC-%d is resolved; your page-in stopped when it was, so there is nothing to acknowledge.", n)})
	case "already_acked":
		return Incident{}, fmt.Errorf("ack page-in INC-%d: %w", n, &Error{Code: AlreadyAcknowledged, Incident: n,
			Message: fmt.Sprintf("You acknowledged your page on INC-%d already.", n)})
	default:
		return Incident{}, fmt.Errorf("ack page-in INC-%d: unexpected script reply %v", n, reply)
	}
	inc, _, err := s.Get(ctx, n)
	return inc, err
}

// PageInFailed records that person's page-in on incident n could not be
// delivered (they cannot be reached; note says why, cut to MaxNote): their
// pages stop, a page_failed timeline event names them, and Get shows them
// Failed. The caller posted it in the fallback channel. A page-in not
// pending (acknowledged, failed already, gone) is left as it is. Errors are
// Redis's.
func (s *Store) PageInFailed(ctx context.Context, n int64, person, note string, now time.Time) error {
	if _, err := s.pageinCall(ctx, "failed", n, person, now, "", text.Truncate(note, MaxNote)); err != nil {
		return fmt.Errorf("page-in failed INC-%d %s: %w", n, person, err)
	}
	return nil
}

// PagedIn is one person paged into an incident, as Get shows it.
type PagedIn struct {
	Person string `json:"person"`
	By     string `json:"by"`
	// Acked: they acknowledged their page (a responder).
	Acked bool `json:"acked"`
	// Failed: their page-in could not be delivered (they cannot be
	// reached); it was posted in the fallback channel and stopped.
	Failed bool `json:"failed,omitempty"`
	// Pages is how many pages they were sent.
	Pages int `json:"pages"`
}

// decodePageIns reads an incident's page-ins hash, by person.
func decodePageIns(h map[string]string) []PagedIn {
	var out []PagedIn
	for f, v := range h {
		if strings.Contains(f, ":") {
			continue
		}
		p := PagedIn{Person: f, By: h[f+":by"], Acked: v == "acked", Failed: v == "failed"}
		p.Pages, _ = strconv.Atoi(h[f+":k"])
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Person < out[j].Person })
	return out
}
