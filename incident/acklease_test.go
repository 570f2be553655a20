package incident_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// RenewAckLease and HandBack against a real Redis: only the owner of an
// acknowledged incident renews or hands back; everyone and everything else
// changes nothing. Renewing is idempotent (the later time is kept).
func TestAckLeaseStore(t *testing.T) {
	s, c, ctx := newService(t)
	r, err := s.Open(ctx, alert("lease"))
	if err != nil {
		t.Fatal(err)
	}
	n := r.Number
	at := t0.Add(time.Hour)
	member := incident.AckTimeoutJob(n)
	due := func() float64 {
		v, err := c.ZScore(ctx, s.JobsKey(), member).Result()
		if err != nil {
			return -1
		}
		return v
	}

	// Triggered: nothing to renew or hand back.
	if ok, err := s.RenewAckLease(ctx, n, "alice", at); ok || err != nil {
		t.Fatalf("renew a triggered incident: %v %v", ok, err)
	}
	if err := s.HandBack(ctx, n, "alice", at); incident.ErrorCode(err) != incident.Invalid {
		t.Fatalf("hand back a triggered incident: %v", err)
	}
	if _, err := s.Ack(ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		person  string
		n       int64
		at      time.Time
		renewed bool
		leaseAt time.Time // after the call
	}{
		{"someone else", "bob", n, at, false, time.Time{}},
		{"nobody", "", n, at, false, time.Time{}},
		{"another incident", "alice", n + 7, at, false, time.Time{}},
		{"the owner", "alice", n, at, true, at},
		{"the owner again: idempotent", "alice", n, at, true, at},
		{"an older time keeps the later one", "alice", n, at.Add(-time.Minute), true, at},
		{"later", "alice", n, at.Add(time.Minute), true, at.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.RenewAckLease(ctx, tc.n, tc.person, tc.at)
			if err != nil || ok != tc.renewed {
				t.Fatalf("renewed %v, %v; want %v", ok, err, tc.renewed)
			}
			_, st, err := s.LoadEscalation(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if !st.LeaseAt.Equal(tc.leaseAt) || !st.HandedBack.IsZero() {
				t.Fatalf("lease at %v (handed back %v), want %v", st.LeaseAt, st.HandedBack, tc.leaseAt)
			}
		})
	}

	if err := s.AckLeaseWarnBegin(ctx, n, at); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := s.LoadEscalation(ctx, n); !st.LeaseWarnBegan.Equal(at) || !st.LeaseWarned.IsZero() {
		t.Fatalf("began %v, warned %v", st.LeaseWarnBegan, st.LeaseWarned)
	}
	if err := s.AckLeaseWarned(ctx, n, at); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := s.LoadEscalation(ctx, n); !st.LeaseWarned.Equal(at) {
		t.Fatalf("warned %v", st.LeaseWarned)
	}

	// Hand back: refused to anyone but the owner, then the job is due now.
	before := due()
	back := at.Add(2 * time.Minute)
	for _, who := range []string{"bob", ""} {
		if err := s.HandBack(ctx, n, who, back); incident.ErrorCode(err) != incident.Invalid {
			t.Fatalf("hand back by %q: %v", who, err)
		}
	}
	if err := s.HandBack(ctx, n+7, "alice", back); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("hand back an unknown incident: %v", err)
	}
	if got := due(); got != before {
		t.Fatalf("a refused hand back moved the job: %v → %v", before, got)
	}
	if err := s.HandBack(ctx, n, "alice", back); err != nil {
		t.Fatal(err)
	}
	if got := due(); got != float64(back.UnixMilli()) {
		t.Fatalf("after the hand back the job is due at %v, want %v", got, back.UnixMilli())
	}
	if _, st, _ := s.LoadEscalation(ctx, n); !st.HandedBack.Equal(back) {
		t.Fatalf("handed back %v", st.HandedBack)
	}
}
