package escalation_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

func TestLeaseWarnBefore(t *testing.T) {
	tests := []struct {
		name  string
		lease time.Duration
		want  time.Duration
	}{
		{"the issue's 30m: five minutes", 30 * time.Minute, 5 * time.Minute},
		{"a day: still five minutes", 24 * time.Hour, 5 * time.Minute},
		{"12m: a sixth", 12 * time.Minute, 2 * time.Minute},
		{"the shortest allowed, 1m: 10s", time.Minute, 10 * time.Second},
		{"a test's 120ms: 20ms", 120 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := escalation.LeaseWarnBefore(tc.lease); got != tc.want {
				t.Fatalf("LeaseWarnBefore(%s) = %s, want %s", tc.lease, got, tc.want)
			}
		})
	}
}

func TestAckLeaseDue(t *testing.T) {
	p := dbPolicy()
	p.AckLease = 30 * time.Minute
	noLease := dbPolicy()
	acked := func() incident.Incident {
		inc := triggered("alice")
		inc.Status = incident.StatusAcknowledged
		return inc
	}
	tests := []struct {
		name string
		inc  incident.Incident
		st   incident.EscalationState
		p    escalation.Policy
		want escalation.LeaseDecision
	}{
		{name: "no lease in the policy", inc: acked(), st: incident.EscalationState{AckAt: ago(time.Hour)}, p: noLease},
		{name: "not acknowledged", inc: triggered("alice"), st: incident.EscalationState{AckAt: ago(time.Hour)}, p: p},
		{name: "fresh ack: wait for the warning", inc: acked(), st: incident.EscalationState{AckAt: ago(time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWait, Base: ago(time.Minute), Expires: ago(time.Minute).Add(30 * time.Minute),
				At: ago(time.Minute).Add(25 * time.Minute)}},
		{name: "warning time: warn, look again at the expiry", inc: acked(), st: incident.EscalationState{AckAt: ago(25 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWarn, Base: ago(25 * time.Minute), Expires: now.Add(5 * time.Minute), At: now.Add(5 * time.Minute)}},
		{name: "warned already: wait for the expiry", inc: acked(),
			st: incident.EscalationState{AckAt: ago(27 * time.Minute), LeaseWarned: ago(27 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWait, Base: ago(27 * time.Minute), Expires: now.Add(3 * time.Minute), At: now.Add(3 * time.Minute)}},
		{name: "expired", inc: acked(), st: incident.EscalationState{AckAt: ago(30 * time.Minute), LeaseWarned: ago(30 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseExpired, Base: ago(30 * time.Minute), Expires: now}},
		{name: "renewed by a message after the warning: the new lease waits", inc: acked(),
			st: incident.EscalationState{AckAt: ago(40 * time.Minute), LeaseWarned: ago(40 * time.Minute), LeaseAt: ago(12 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWait, Base: ago(12 * time.Minute), Expires: now.Add(18 * time.Minute), At: now.Add(13 * time.Minute)}},
		{name: "a renewal's lease warns again (its own base)", inc: acked(),
			st: incident.EscalationState{AckAt: ago(70 * time.Minute), LeaseWarned: ago(70 * time.Minute), LeaseAt: ago(26 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWarn, Base: ago(26 * time.Minute), Expires: now.Add(4 * time.Minute), At: now.Add(4 * time.Minute)}},
		{name: "a renewal older than a new ack counts for nothing", inc: acked(),
			st: incident.EscalationState{AckAt: ago(time.Minute), LeaseAt: ago(50 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWait, Base: ago(time.Minute), Expires: now.Add(29 * time.Minute), At: now.Add(24 * time.Minute)}},
		{name: "handed back", inc: acked(), st: incident.EscalationState{AckAt: ago(5 * time.Minute), HandedBack: ago(time.Second)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseHandedBack, Base: ago(5 * time.Minute), Expires: now.Add(25 * time.Minute)}},
		{name: "handed back under a policy that lost its lease since: still handed back", inc: acked(),
			st: incident.EscalationState{AckAt: ago(5 * time.Minute), HandedBack: ago(time.Second)}, p: noLease,
			want: escalation.LeaseDecision{Step: escalation.LeaseHandedBack, Base: ago(5 * time.Minute), Expires: ago(5 * time.Minute)}},
		{name: "handed back before a new ack: that ack's lease runs", inc: acked(),
			st: incident.EscalationState{AckAt: ago(time.Minute), HandedBack: ago(10 * time.Minute)}, p: p,
			want: escalation.LeaseDecision{Step: escalation.LeaseWait, Base: ago(time.Minute), Expires: now.Add(29 * time.Minute), At: now.Add(24 * time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escalation.AckLeaseDue(tc.inc, tc.st, tc.p, now)
			if got.Step != tc.want.Step || !got.Base.Equal(tc.want.Base) || !got.Expires.Equal(tc.want.Expires) || !got.At.Equal(tc.want.At) {
				t.Fatalf("AckLeaseDue = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAckJobAfter(t *testing.T) {
	svc := []escalation.Service{{Name: "database", Policy: "db-policy"}}
	tests := []struct {
		name           string
		timeout, lease time.Duration
		want           time.Duration
	}{
		{"neither", 0, 0, 0},
		{"ack_timeout only", 4 * time.Hour, 0, 4 * time.Hour},
		{"ack_lease only: its warning", 0, 30 * time.Minute, 25 * time.Minute},
		{"both: the lease's warning comes first", 4 * time.Hour, 30 * time.Minute, 25 * time.Minute},
		{"both: the timeout comes first", 10 * time.Minute, 30 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dbPolicy()
			p.AckTimeout, p.AckLease = tc.timeout, tc.lease
			pols, err := escalation.Lookup(svc, []escalation.Policy{p})
			if err != nil {
				t.Fatal(err)
			}
			if got := pols.AckJobAfter("database"); got != tc.want {
				t.Fatalf("AckJobAfter = %s, want %s", got, tc.want)
			}
			if got := pols.AckJobAfter("nope"); got != 0 {
				t.Fatalf("an unknown service: %s", got)
			}
		})
	}
}

// A re-trigger's page says why (the DM's lead): the lease ran out, the
// owner handed it back, or nothing for an ack timeout.
func TestRetriggerPageSaysWhy(t *testing.T) {
	tests := []struct {
		name, by, want string
	}{
		{"ack timeout", "", ""},
		{"lease ran out", escalation.RetriggerLease, "your acknowledgement ran out with no word from you"},
		{"handed back", escalation.RetriggerHandBack, "you handed it back"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := incident.EscalationState{Level: 2, LevelAt: ago(time.Hour), PagedAt: ago(time.Hour),
				Pending: incident.PendingRetrigger, PendingBy: tc.by}
			plan := escalation.Decide(triggered("bob"), st, dbPolicy(), onCall(everyone), now)
			if len(plan.Pages) != 1 || plan.Pages[0].Person != "bob" || plan.Pages[0].Reason != escalation.ReasonRetriggered ||
				plan.Pages[0].Why != tc.want || plan.Level != 2 || !plan.LevelAt.Equal(now) {
				t.Fatalf("plan %+v", plan)
			}
		})
	}
}
