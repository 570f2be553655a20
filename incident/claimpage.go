package incident

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/claimpage.lua
	claimPageSrc    string
	claimPageScript = redis.NewScript(claimPageSrc)
)

// WithOnCreated gives the store a function to call, instead of WithOnJobDue's,
// after Open (or OpenDelivery) created incident n: the wiring passes
// escalation.Wakeup.Opened, which hands the new incident's page job to the
// runner of this process (ClaimPage) instead of waking its claim loop. f must
// not block. OpenBatch and every other transition still call WithOnJobDue's.
func WithOnCreated(f func(n int64)) StoreOption {
	return func(s *Store) { s.onCreated = f }
}

// created tells the hooks that Open created incident n.
func (s *Store) created(n int64) {
	if s.onCreated != nil {
		s.onCreated(n)
		return
	}
	s.jobDue()
}

// ClaimPage claims incident n's page job for the caller (as ClaimJobs would,
// under a lease until now+lease, identified by token) if it is due at now,
// not in flight and not held, and returns it with the incident and its
// escalation state as LoadEscalation would, all in one round trip: the hand-off
// of a new incident's first page to the runner of the replica that opened it.
// ok is false when the job is not the caller's to run now (another runner
// claimed it, or it is not due); nothing changed then. Only the page job of an
// incident is claimed this way: every other job goes through ClaimJobs.
func (s *Store) ClaimPage(ctx context.Context, n int64, now time.Time, lease time.Duration, token string) (j Job, inc Incident, es EscalationState, ok bool, err error) {
	member := PageJob(n)
	k := s.k
	res, err := claimPageScript.Run(ctx, s.rdb,
		[]string{k.jobs, k.inflight, k.leases, k.holds, k.urgent, k.incident(n), k.static(n), k.pendingNote(n), k.pages(n), k.pageIns(n)},
		member, now.UnixMilli(), now.Add(lease).UnixMilli(), token).Slice()
	if err != nil {
		return Job{}, Incident{}, EscalationState{}, false, fmt.Errorf("claim page INC-%d: %w", n, err)
	}
	if len(res) == 0 {
		return Job{}, Incident{}, EscalationState{}, false, nil
	}
	if len(res) != 8 {
		return Job{}, Incident{}, EscalationState{}, false, fmt.Errorf("claim page INC-%d: unexpected reply %v", n, res)
	}
	urgent, _ := res[1].(int64)
	j = Job{Member: member, Kind: JobPage, Number: n, Due: time.UnixMilli(scoreMs(res[0])), Token: token, Urgent: urgent == 1}
	str := func(v any) string { s, _ := v.(string); return s }
	h := flatHash(res[2])
	if len(h) == 0 {
		// The job of an incident that is gone: claimed now, so the caller
		// releases it as a runner that claimed it through ClaimJobs would.
		return j, Incident{}, EscalationState{}, true, fmt.Errorf("claim page INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	es = decodeEscalation(h)
	if es.Pending == PendingEscalate {
		es.PendingNote = str(res[4])
	}
	if rev, at := str(res[5]), str(res[6]); rev == strconv.FormatInt(es.Rev, 10) && at != "" {
		es.StepBegan = msTime(at)
	}
	inc = decodeIncident(n, h, str(res[3]))
	inc.PagedIn = decodePageIns(flatHash(res[7]))
	return j, inc, es, true, nil
}

// flatHash is a Lua HGETALL reply as a map.
func flatHash(v any) map[string]string {
	list, _ := v.([]any)
	h := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		v, _ := list[i+1].(string)
		h[k] = v
	}
	return h
}
