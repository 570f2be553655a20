package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
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

// pageInDMs counts user's page-in DMs (first and reminders) about n.
func (e *env) pageInDMs(user fakeslack.User, n int64) int {
	return e.dmsAbout(user, n, "paged you into") + e.dmsAbout(user, n, "Reminder: you were paged into")
}

// A person paged in who comes to own the incident is paged as its owner,
// not reminded of their page-in as well: escalation making bob the owner
// ends his page-in (acked, its reminders stop), and so does carol
// acknowledging the incident herself.
func TestOwningEndsThePageIn(t *testing.T) {
	cfg := defaults()
	cfg.repage = 150 * time.Millisecond
	cfg.escalate = 900 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "db", "db down")
	ch, _ := e.announced(n)
	if _, err := e.svc.PageIn(e.ctx, n, "bob", "alice", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	e.runner.Wake()
	e.waitFor("bob's page-in reminded", func() bool { return e.dmsAbout(e.bob, n, "Reminder: you were paged into") >= 1 })
	e.waitFor("escalation to bob", func() bool { return e.incident(n).Owner == "bob" })
	pagedIn := func(p string) incident.PagedIn {
		for _, x := range e.incident(n).PagedIn {
			if x.Person == p {
				return x
			}
		}
		return incident.PagedIn{}
	}
	e.waitFor("bob's page-in ended", func() bool { return pagedIn("bob").Acked })
	before := e.pageInDMs(e.bob, n)
	owner := e.dmsAbout(e.bob, n, "still unacknowledged and yours")
	e.waitFor("bob re-paged twice as the owner", func() bool { return e.dmsAbout(e.bob, n, "still unacknowledged and yours") >= owner+2 })
	if got := e.pageInDMs(e.bob, n); got != before {
		t.Fatalf("bob got %d page-in reminders after owning INC-%d", got-before, n)
	}

	if _, err := e.svc.PageIn(e.ctx, n, "carol", "bob", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	e.runner.Wake()
	e.waitFor("carol's page-in", func() bool { return e.pageInDMs(e.carol, n) >= 1 })
	if r := e.slash(e.carol, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged") {
		t.Fatalf("carol's ack: %q", r)
	}
	e.waitFor("carol's page-in ended", func() bool { return pagedIn("carol").Acked })
	e.idle()
	before = e.pageInDMs(e.carol, n)
	e.runner.Wake()
	e.idle()
	if got := e.pageInDMs(e.carol, n); got != before {
		t.Fatalf("carol got %d page-in reminders after acknowledging INC-%d", got-before, n)
	}
	got := e.timelineTypes(n, incident.EventPageAcknowledged)
	if strings.Join(got, "; ") != "page_acknowledged bob by bob: owns the incident; page_acknowledged carol by carol: owns the incident" {
		t.Fatalf("timeline: %q", got)
	}
}
