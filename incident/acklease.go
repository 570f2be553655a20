package incident

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The ack lease (escalation's AckLeaseDue, policy ack_lease): an
// acknowledgement lasts a while, and every sign of work by the owner (a
// message in the incident's channel, a button) renews it. The store keeps
// three fields on the incident hash, read into EscalationState:
//
//	lease_at    ms of the owner's latest renewal (RenewAckLease)
//	lease_warn  the lease base ms (max(ack_at, lease_at)) whose "still on
//	            it?" DM was sent (AckLeaseWarned)
//	lease_wbeg  the lease base ms whose DM began to be sent
//	            (AckLeaseWarnBegin): equal to the base with lease_warn not,
//	            the DM's outcome went unrecorded (a crash)
//	lease_back  ms the owner handed the incident back (HandBack)
//
// The deadlines are the "acktimeout:<n>" job's: queued by the ack
// (WithAckTimeout), never later than the warning or the expiry, it
// recomputes both from these fields each time it runs.

var (
	//go:embed lua/acklease.lua
	ackLeaseSrc    string
	ackLeaseScript = redis.NewScript(ackLeaseSrc)
)

func (s *Store) ackLeaseCall(ctx context.Context, op string, n int64, person string, now time.Time, base string) (string, error) {
	reply, err := s.eval(ctx, ackLeaseScript, []string{s.k.incident(n), s.k.jobs},
		op, n, now.UnixMilli(), person, base).StringSlice()
	if err != nil {
		return "", err
	}
	if len(reply) == 0 {
		return "", fmt.Errorf("unexpected script reply %v", reply)
	}
	return reply[0], nil
}

// RenewAckLease renews the ack lease of incident n at now on behalf of
// person: only when n is acknowledged and person owns it (renewed true);
// anyone else, or an incident in any other state, changes nothing (renewed
// false, no error). Renewing is idempotent: the later time is kept. No
// message text reaches the store. Errors are Redis's.
func (s *Store) RenewAckLease(ctx context.Context, n int64, person string, now time.Time) (renewed bool, err error) {
	r, err := s.ackLeaseCall(ctx, "renew", n, person, now, "")
	if err != nil {
		return false, fmt.Errorf("renew lease INC-%d: %w", n, err)
	}
	return r == "ok", nil
}

// HandBack is the owner giving acknowledged incident n back ("Hand it
// back"): its "acktimeout:<n>" job is made due now, and re-triggers it and
// pages the owner as an expired lease does. Refusals are *Error:
// ErrNotFound; Invalid when n is not acknowledged or person is not its
// owner (nothing changes).
func (s *Store) HandBack(ctx context.Context, n int64, person string, now time.Time) error {
	r, err := s.ackLeaseCall(ctx, "back", n, person, now, "")
	if err != nil {
		return fmt.Errorf("hand back INC-%d: %w", n, err)
	}
	switch r {
	case "ok":
		s.jobDue()
		return nil
	case "not_found":
		return fmt.Errorf("hand back INC-%d: %w", n, NewError(NotFound, n, ""))
	case "not_acked":
		return fmt.Errorf("hand back INC-%d: %w", n, &Error{Code: Invalid, Incident: n,
			Message: fmt.Sprintf("INC-%d is not acknowledged, so there is nothing to hand back; nothing changed.", n)})
	case "not_owner":
		return fmt.Errorf("hand back INC-%d: %w", n, &Error{Code: Invalid, Incident: n,
			Message: fmt.Sprintf("Only INC-%d's owner can hand it back; nothing changed.", n)})
	}
	return fmt.Errorf("hand back INC-%d: unexpected script reply %q", n, r)
}

// AckLeaseWarned records that the "still on it?" DM of incident n's lease
// with base base (EscalationState.LeaseBase) was sent, so the job that runs
// again before the expiry does not send it twice. Errors are Redis's; a
// missing incident is not one.
func (s *Store) AckLeaseWarned(ctx context.Context, n int64, base time.Time) error {
	if _, err := s.ackLeaseCall(ctx, "warned", n, "", base, strconv.FormatInt(base.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("lease warned INC-%d: %w", n, err)
	}
	return nil
}

// AckLeaseWarnBegin records that the "still on it?" DM of incident n's
// lease with base base is about to be sent: a run that finds it recorded
// and the DM not marked sent (EscalationState.LeaseWarnBegan equal to the
// base, LeaseWarned not) looks for the DM before sending it again. Errors
// are Redis's; a missing incident is not one.
func (s *Store) AckLeaseWarnBegin(ctx context.Context, n int64, base time.Time) error {
	if _, err := s.ackLeaseCall(ctx, "begin", n, "", base, strconv.FormatInt(base.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("lease warning begins INC-%d: %w", n, err)
	}
	return nil
}
