package slack_test

import (
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/rotations"
)

// An incoming person whose DM does not open (a deactivated account): the
// pre-shift warning that says so goes to the outgoing person and the
// alerts channel, and is not sent to the person it says cannot be DMed:
// the check's own attempt is the only one, and the step ends.
func TestPreshiftWarningSkipsTheUnDMablePerson(t *testing.T) {
	e, clk, at := shiftEnv(t, []string{"alice", "carol"}, "carol", rotations.HandoffPolicy{PreshiftCheck: 2 * time.Second})
	var opens atomic.Int32
	e.fake.InjectFaults(func(method string, p url.Values) (fakeslack.Fault, bool) {
		if method == "conversations.open" && strings.Contains(p.Get("users"), e.carol.ID) {
			opens.Add(1)
			return fakeslack.SlackError("user_disabled"), true
		}
		return fakeslack.Fault{}, false
	})
	e.restart()
	clk.set(at.Add(-2*time.Second + 100*time.Millisecond))
	e.waitFor("the alerts channel warned", func() bool {
		return len(e.containing(e.alerts.ID, "Pre-shift check of db")) == 1
	})
	e.waitFor("alice (outgoing) warned", func() bool { return len(e.dmsWith(e.alice, "Pre-shift check of db")) == 1 })
	if m := e.dmsWith(e.alice, "Pre-shift check of db")[0]; !strings.Contains(m.Text, "carol, on call") || !strings.Contains(m.Text, "a DM does not open") {
		t.Fatalf("warning: %q", m.Text)
	}
	e.stepDone(incident.ShiftJob("preshift:db:" + strconv.FormatInt(at.Unix(), 10)))
	e.idle()
	if n := opens.Load(); n != 1 {
		t.Fatalf("carol's DM was tried %d times; want once, by the check (not again to tell her she cannot be DMed)", n)
	}
}
