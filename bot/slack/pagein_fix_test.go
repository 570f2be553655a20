package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// timelineTypes are incident n's timeline events of the given types, as
// "type person by: note".
func (e *env) timelineTypes(n int64, types ...incident.EventType) []string {
	e.t.Helper()
	_, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range tl {
		for _, t := range types {
			if ev.Type == t {
				out = append(out, fmt.Sprintf("%s %s by %s: %s", ev.Type, ev.Person, ev.By, ev.Note))
			}
		}
	}
	return out
}

// A page-in of a person who cannot be reached in chat (dave has no Slack
// account; the API lets it through for a person with email) is not silent:
// it is posted once in the service's alerts channel, the timeline says
// page_failed naming dave, paged_in shows it failed, and the pages stop.
func TestPageInUndeliverableGoesToTheFallback(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "db", "db down")
	e.announced(n)
	if _, err := e.svc.PageIn(e.ctx, n, "dave", "alice", "need the DBA", time.Now()); err != nil {
		t.Fatal(err)
	}
	e.runner.Wake()
	fallback := func() int {
		c := 0
		for _, m := range e.fake.Messages(e.alerts.ID) {
			if strings.Contains(m.Text, fmt.Sprintf("A page-in for INC-%d could not be delivered", n)) {
				c++
			}
		}
		return c
	}
	e.waitFor("the page-in posted in the alerts channel", func() bool { return fallback() == 1 })
	e.waitFor("the page-in recorded as failed", func() bool {
		inc := e.incident(n)
		return len(inc.PagedIn) == 1 && inc.PagedIn[0].Failed
	})
	got := e.timelineTypes(n, incident.EventPageFailed)
	if len(got) != 1 || !strings.HasPrefix(got[0], "page_failed dave by baton: page-in of dave could not be delivered") {
		t.Fatalf("timeline: %q", got)
	}
	e.idle()
	if c := fallback(); c != 1 {
		t.Fatalf("%d fallback posts, want 1", c)
	}
	if inc := e.incident(n); inc.PagedIn[0].Pages != 0 || inc.Owner != "alice" {
		t.Fatalf("after the failed page-in: %+v", inc)
	}
}
