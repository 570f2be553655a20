package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
)

// A person paged into an incident is reached the same ways a page reaches
// its owner: on a level with notify: [chat, email], each page-in (the first
// and the reminders) is emailed too, and the emails stop once they
// acknowledged their page.
func TestPageInIsEmailedLikeAPage(t *testing.T) {
	e, sink := emailEnv(t, func(l *escalation.Level) { l.NotifyEmail = true }, func(c *envConfig) { c.repage = 300 * time.Millisecond })
	n := e.openSensitive()
	ch, _ := e.announced(n)
	e.waitFor("alice's first page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	if r := e.slash(e.alice, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged") {
		t.Fatalf("ack: %q", r)
	}
	if r := e.slash(e.alice, ch, "/incident", "page @bob need eyes"); !strings.Contains(r, "Paging Bob into INC-") {
		t.Fatalf("page reply: %q", r)
	}
	e.waitFor("bob's page-in emailed, then a reminder too", func() bool { return len(emailsTo(sink, "bob@example.com")) >= 2 })
	m := emailsTo(sink, "bob@example.com")[0]
	if !strings.Contains(m.Subject, "INC-"+itoa(n)+" ") || !strings.Contains(m.Body, "paged into INC-"+itoa(n)) || strings.Contains(m.Body, "Jane Roe") {
		t.Fatalf("the page-in's email: %q\n%s", m.Subject, m.Body)
	}
	dms := e.dms(e.bob)
	last := dms[len(dms)-1]
	e.must(e.fake.SendBlockAction(e.bob.ID, last.Channel, last.TS, "baton_ackpage", itoa(n)))
	e.waitFor("bob's page acknowledged", func() bool {
		inc := e.incident(n)
		return len(inc.PagedIn) == 1 && inc.PagedIn[0].Acked
	})
	e.idle()
	sent := len(emailsTo(sink, "bob@example.com"))
	e.idle()
	if got := len(emailsTo(sink, "bob@example.com")); got != sent {
		t.Fatalf("bob got %d more emails after acknowledging his page", got-sent)
	}
	if len(e.events(n, "emailed")) < 2 {
		t.Fatalf("the timeline has %d emailed events", len(e.events(n, "emailed")))
	}
}
