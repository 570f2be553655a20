package slack_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Once a person paged in acknowledges their page, none of their page-in
// DMs keeps the "Acknowledge my page" button: the one pressed is redrawn
// through the interaction, and the earlier ones (the first page and the
// reminders) are redrawn in place, each saying they acknowledged.
func TestPageInDMsRedrawnAfterTheirAck(t *testing.T) {
	cfg := defaults()
	cfg.repage = 150 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "db", "db down")
	ch, _ := e.announced(n)
	e.waitFor("alice's first page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	if r := e.slash(e.alice, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged") {
		t.Fatalf("ack: %q", r)
	}
	if r := e.slash(e.alice, ch, "/incident", "page @carol need db eyes"); !strings.Contains(r, "Paging Carol into INC-") {
		t.Fatalf("page reply: %q", r)
	}
	e.waitFor("carol re-paged twice", func() bool { return e.dmsAbout(e.carol, n, "Reminder: you were paged into") >= 2 })
	withButton := func() int {
		k := 0
		for _, m := range e.dms(e.carol) {
			if strings.Contains(blocksText(m), "baton_ackpage") {
				k++
			}
		}
		return k
	}
	dms := e.dms(e.carol)
	last := dms[len(dms)-1]
	e.must(e.fake.SendBlockAction(e.carol.ID, last.Channel, last.TS, "baton_ackpage", strconv.FormatInt(n, 10)))
	e.waitFor("carol's page acknowledged", func() bool {
		inc := e.incident(n)
		return len(inc.PagedIn) == 1 && inc.PagedIn[0].Acked
	})
	e.waitFor("no page-in DM with its button left", func() bool { return withButton() == 0 })
	e.idle()
	for _, m := range e.dms(e.carol) {
		if strings.Contains(m.Text, "paged you into") || strings.Contains(m.Text, "Reminder: you were paged into") {
			t.Fatalf("a page-in DM still asks for an acknowledgement: %q", m.Text)
		}
	}
	if k := e.dmsAbout(e.carol, n, "You acknowledged your page on"); k < 3 {
		t.Fatalf("%d page-in DMs say carol acknowledged; want each of them (at least 3)", k)
	}
}
