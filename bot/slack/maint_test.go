package slack_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// summaries are the maintenance summaries posted in the alerts channel.
func (e *env) summaries() []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range e.fake.Messages(e.alerts.ID) {
		if strings.Contains(m.Text, "Maintenance of payments") {
			out = append(out, m)
		}
	}
	return out
}

// recovery stores the recovery of the alert with dedup key key.
func (e *env) recovery(key string) incident.OpenResult {
	e.t.Helper()
	r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: key,
		Summary: "ok again", Severity: incident.SevCritical, Status: incident.AlertResolved})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// A window started in Slack holds the service's new alerts (stored and
// deduplicated, nobody paged, no channel), shows on /oncall and on the card
// of an incident already open; ended early with /incident maintenance end,
// it posts one summary and what still fires pages and opens its channel;
// what recovered meanwhile never reaches chat.
func TestMaintenanceFromSlack(t *testing.T) {
	e := newEnv(t, defaults())
	before := e.open("payments", "before", "queue backlog")
	e.announced(before)

	reply := e.slash(e.alice, e.alerts.ID, "/incident", "maintenance service=payments 2h db failover drill")
	if !strings.Contains(reply, "payments is in maintenance until") || !strings.Contains(reply, "mw-1") {
		t.Fatalf("start reply: %q", reply)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/oncall", ""); !strings.Contains(r, "payments is in maintenance until") || !strings.Contains(r, "db failover drill") {
		t.Fatalf("/oncall does not show the window: %q", r)
	}
	e.waitFor("the open incident's card to show the window", func() bool {
		return strings.Contains(blocksText(e.card(before)), "in maintenance until")
	})

	firing := e.open("payments", "disk", "disk full")
	e.open("payments", "disk", "disk full") // a repeat, deduplicated
	recovered := e.open("payments", "cpu", "cpu hot")
	if r := e.recovery("cpu"); r.Outcome != incident.OutcomeResolved {
		t.Fatalf("recovery: %+v", r)
	}
	acked := e.open("payments", "mem", "memory high")
	if _, err := e.svc.Ack(e.ctx, acked, "bob", "looking"); err != nil { // as through the API
		t.Fatal(err)
	}
	if r := e.slash(e.alice, e.alerts.ID, "/incident", "maintenance"); !strings.Contains(r, "mw-1") {
		t.Fatalf("listing: %q", r)
	}
	e.idle()
	if n := e.dmsAbout(e.alice, firing, "") + e.dmsAbout(e.alice, recovered, ""); n != 0 {
		t.Fatalf("%d pages during the window", n)
	}
	if r := e.refs(firing); r["ch"] != "" {
		t.Fatalf("a held incident got a channel: %v", r)
	}
	if inc := e.incident(firing); inc.AlertCount != 2 || inc.Held != "mw-1" {
		t.Fatalf("held incident: %+v", inc)
	}

	if r := e.slash(e.bob, e.alerts.ID, "/incident", "maintenance end mw-1"); !strings.Contains(r, "You ended mw-1") {
		t.Fatalf("end reply: %q", r)
	}
	e.waitFor("alice paged about the incident still firing", func() bool { return e.dmsAbout(e.alice, firing, "You are on call") == 1 })
	e.announced(firing)
	e.waitFor("the summary", func() bool { return len(e.summaries()) == 1 })
	e.waitFor("the open card without the window", func() bool {
		return !strings.Contains(blocksText(e.card(before)), "in maintenance until")
	})
	e.idle()
	sum := e.summaries()
	if len(sum) != 1 {
		t.Fatalf("%d summaries", len(sum))
	}
	// A recovery is not an alert that arrived; an incident acknowledged
	// during the window is not "paged now".
	want := []string{"mw-1", "started by Alice", "db failover drill", "was ended by Bob", "4 alerts arrived in 3 incidents",
		fmt.Sprintf("Still firing, paged now: INC-%d (2 alerts).", firing),
		fmt.Sprintf("Acknowledged during the window, nobody paged: INC-%d (1 alert).", acked),
		fmt.Sprintf("Resolved during the window: INC-%d (1 alert).", recovered)}
	for _, w := range want {
		if !strings.Contains(sum[0].Text, w) {
			t.Fatalf("the summary lacks %q:\n%s", w, sum[0].Text)
		}
	}
	if n := e.dmsAbout(e.alice, acked, "") + e.dmsAbout(e.bob, acked, ""); n != 0 {
		t.Fatalf("%d pages about the incident acknowledged during the window", n)
	}
	if r := e.refs(recovered); r["ch"] != "" || e.dmsAbout(e.alice, recovered, "") != 0 {
		t.Fatalf("the incident that recovered during the window reached chat: %v", r)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/incident", "maintenance end mw-1"); !strings.Contains(r, "ended already") {
		t.Fatalf("ending twice: %q", r)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/incident", "maintenance end mw-9"); r != "There is no maintenance window mw-9." {
		t.Fatalf("ending an unknown window: %q", r)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/incident", "maintenance service=nope 1h"); !strings.Contains(r, `There is no service "nope"`) {
		t.Fatalf("a window of an unknown service: %q", r)
	}
}

// A window's end is a due job: the runner restarted between setting the
// window and reaching its end, the end still comes, once — one summary, the
// alert still firing paged and announced, the recovered one silent.
func TestMaintenanceEndsOnItsOwnAcrossARestart(t *testing.T) {
	e := newEnv(t, defaults())
	if _, err := e.svc.StartMaintenance(e.ctx, "payments", 600*time.Millisecond, false, "alice", "deploy", time.Now()); err != nil {
		t.Fatal(err)
	}
	firing := e.open("payments", "disk", "disk full")
	recovered := e.open("payments", "cpu", "cpu hot")
	e.recovery("cpu")
	if inc := e.incident(firing); inc.Held == "" {
		t.Fatalf("not held: %+v", inc)
	}
	e.restart()

	e.waitFor("alice paged after the window", func() bool { return e.dmsAbout(e.alice, firing, "You are on call") == 1 })
	e.announced(firing)
	e.waitFor("the summary", func() bool { return len(e.summaries()) == 1 })
	e.idle()
	if s := e.summaries(); len(s) != 1 || !strings.Contains(s[0].Text, "ran out") ||
		!strings.Contains(s[0].Text, fmt.Sprintf("Resolved during the window: INC-%d (1 alert)", recovered)) {
		t.Fatalf("summaries: %+v", s)
	}
	if r := e.refs(recovered); r["ch"] != "" {
		t.Fatalf("the recovered incident got a channel: %v", r)
	}
	// After the window the service pages at once.
	after := e.open("payments", "later", "after the window")
	e.waitFor("a page at once after the window", func() bool { return e.dmsAbout(e.alice, after, "You are on call") == 1 })
}

// A person paged into an incident is DMed with the card, re-paged on the
// policy's schedule (across a restart of the runner) until they press
// "Acknowledge my page"; they become a responder, the owner stays the
// owner, the timeline and the card say so, and the pages stop.
func TestPageSomeoneIn(t *testing.T) {
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
	e.waitFor("carol's first page-in", func() bool { return e.dmsAbout(e.carol, n, "Alice paged you into") == 1 })
	e.waitFor("carol re-paged", func() bool { return e.dmsAbout(e.carol, n, "Reminder: you were paged into") >= 1 })
	e.restart()
	before := e.dmsAbout(e.carol, n, "Reminder")
	e.waitFor("carol re-paged after the restart", func() bool { return e.dmsAbout(e.carol, n, "Reminder") >= before+2 })

	dms := e.dms(e.carol)
	last := dms[len(dms)-1]
	if !strings.Contains(blocksText(last), "baton_ackpage") {
		t.Fatalf("the page-in has no acknowledge button: %s", blocksText(last))
	}
	e.must(e.fake.SendBlockAction(e.carol.ID, last.Channel, last.TS, "baton_ackpage", strconv.FormatInt(n, 10)))
	e.waitFor("carol's page acknowledged", func() bool {
		inc := e.incident(n)
		return len(inc.PagedIn) == 1 && inc.PagedIn[0].Acked
	})
	e.idle()
	pages := len(e.dms(e.carol))
	inc, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Owner != "alice" || inc.Status != incident.StatusAcknowledged {
		t.Fatalf("the owner changed: %+v", inc)
	}
	var types []string
	for _, ev := range tl {
		if ev.Type == incident.EventPagedIn || ev.Type == incident.EventPageAcknowledged {
			types = append(types, fmt.Sprintf("%s %s by %s: %s", ev.Type, ev.Person, ev.By, ev.Note))
		}
	}
	if strings.Join(types, "; ") != "paged_in carol by alice: need db eyes; page_acknowledged carol by carol: " {
		t.Fatalf("timeline: %q", types)
	}
	e.waitFor("the card to show the responder", func() bool {
		b := blocksText(e.card(n))
		return strings.Contains(b, "Responders") && strings.Contains(b, "paged in by Alice")
	})
	e.idle()
	if got := len(e.dms(e.carol)); got != pages {
		t.Fatalf("carol got %d more DMs after acknowledging", got-pages)
	}
	if r := e.slash(e.carol, ch, "/incident", "page @alice"); !strings.Contains(r, "already assigned to Alice") {
		t.Fatalf("paging the owner in: %q", r)
	}
	if r := e.slash(e.carol, ch, "/incident", "page @dave"); !strings.Contains(r, "Dave cannot be reached in slack") {
		t.Fatalf("paging in someone without a Slack account: %q", r)
	}
	if r := e.slash(e.carol, ch, "/incident", "page @zed"); !strings.Contains(r, "baton does not know @zed") {
		t.Fatalf("paging in a stranger: %q", r)
	}
	if inc := e.incident(n); len(inc.PagedIn) != 1 {
		t.Fatalf("a refused page-in was stored: %+v", inc.PagedIn)
	}
}

// A ✅ on a page-in DM from the person paged in acknowledges their
// page-in, as its button does (the owner stays the owner, and they are
// told); resolving the incident stops a page-in that was never
// acknowledged, and its old button then says the incident is resolved;
// paging into a resolved incident is refused.
func TestPageInStopsOnResolve(t *testing.T) {
	cfg := defaults()
	cfg.repage = 100 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "db", "db down")
	ch, _ := e.announced(n)
	e.slash(e.alice, ch, "/incident", fmt.Sprintf("page #%d @bob", n))
	e.slash(e.alice, ch, "/incident", fmt.Sprintf("page #%d @carol", n))
	e.waitFor("bob re-paged", func() bool { return e.dmsAbout(e.bob, n, "Reminder") >= 1 })
	e.waitFor("carol paged in", func() bool { return e.dmsAbout(e.carol, n, "paged you into") >= 1 })
	dms := e.dms(e.bob)
	id, err := e.fake.AddReaction(e.bob.ID, dms[0].Channel, dms[0].TS, "white_check_mark")
	if err != nil {
		t.Fatal(err)
	}
	e.handled(id)
	e.waitFor("bob told his page-in is acknowledged", func() bool {
		for _, m := range e.fake.Ephemerals(e.bob.ID) {
			if strings.Contains(m.Text, fmt.Sprintf("You acknowledged your page on INC-%d", n)) {
				return true
			}
		}
		return false
	})
	inc := e.incident(n)
	if inc.Owner != "alice" || inc.Status != incident.StatusTriggered || len(inc.PagedIn) != 2 || !inc.PagedIn[0].Acked || inc.PagedIn[1].Acked {
		t.Fatalf("after bob's ✅ on his page-in: %+v", inc)
	}
	e.slash(e.alice, ch, "/incident", "resolve fixed")
	e.idle()
	// An old "Acknowledge my page" pressed after the resolve says so.
	carolDMs := e.dms(e.carol)
	id, err = e.fake.SendBlockAction(e.carol.ID, carolDMs[0].Channel, carolDMs[0].TS, "baton_ackpage", strconv.FormatInt(n, 10))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.answer(id); r != fmt.Sprintf("INC-%d is resolved; your page-in stopped when it was, so there is nothing to acknowledge.", n) {
		t.Fatalf("an old page-in button after the resolve: %q", r)
	}
	bob, carol := len(e.dms(e.bob)), len(e.dms(e.carol))
	if r := e.slash(e.alice, e.alerts.ID, "/incident", fmt.Sprintf("page #%d @dave", n)); !strings.Contains(r, "already resolved") && !strings.Contains(r, "cannot be reached") {
		t.Fatalf("paging into a resolved incident: %q", r)
	}
	if r := e.slash(e.bob, e.alerts.ID, "/incident", fmt.Sprintf("page #%d @carol", n)); !strings.Contains(r, "already resolved") {
		t.Fatalf("paging into a resolved incident: %q", r)
	}
	e.idle()
	if len(e.dms(e.bob)) != bob || len(e.dms(e.carol)) != carol {
		t.Fatalf("pages after the resolve: bob %d → %d, carol %d → %d", bob, len(e.dms(e.bob)), carol, len(e.dms(e.carol)))
	}
}
