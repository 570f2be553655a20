package bot_test

import (
	"testing"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
)

// Any button the acknowledged owner presses on the incident renews their
// ack lease, before it acts (here an Acknowledge pressed again, say on an
// older re-page); the same button pressed by someone else renews nothing.
func TestOwnersButtonRenewsTheLease(t *testing.T) {
	_, ctx, store, b := newExecBot(t)
	r, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring})
	if err != nil {
		t.Fatal(err)
	}
	n := r.Number
	if _, err := store.Ack(ctx, n, "alice", ""); err != nil {
		t.Fatal(err)
	}
	leaseAt := func() bool {
		_, st, err := store.LoadEscalation(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return !st.LeaseAt.IsZero()
	}
	tests := []struct {
		name, user string
		renewed    bool
	}{
		{"bob's click", "UBOB", false},
		{"alice's click", "UALICE", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.Executor().Action(ctx, tc.user, bot.ActionAck, n)
			if got := leaseAt(); got != tc.renewed {
				t.Fatalf("renewed %v, want %v", got, tc.renewed)
			}
		})
	}
}
