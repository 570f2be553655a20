package slack_test

import (
	"testing"
	"time"
)

// The owner's activity that is not a plain message renews the ack lease
// too: an /incident note in the channel, a file shared there, a thread
// reply also sent to the channel. Each arrives before the lease's warning
// and pushes it back, so no "still on it?" DM comes while they work.
func TestAckLeaseRenewedByNotesAndFiles(t *testing.T) {
	tests := []struct {
		name string
		act  func(e *env, ch string)
	}{
		{"an /incident note", func(e *env, ch string) { e.slash(e.alice, ch, "/incident", "note still digging") }},
		{"a file shared", func(e *env, ch string) {
			if _, _, err := e.fake.PostSubtypeAsUser(e.alice.ID, ch, "file_share", "graph"); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"a thread reply sent to the channel", func(e *env, ch string) {
			if _, _, err := e.fake.PostSubtypeAsUser(e.alice.ID, ch, "thread_broadcast", "update"); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := leaseEnv(t, 3*time.Second, time.Hour)
			n, ch := e.ackedByAlice()
			before := e.escalationState(n).LeaseAt
			tc.act(e, ch)
			e.waitFor("the lease renewed", func() bool {
				at := e.escalationState(n).LeaseAt
				return !at.IsZero() && at.After(before)
			})
			if len(e.stillOnIt(e.alice, n)) != 0 {
				t.Fatal("asked whether still on it while working")
			}
		})
	}
}
