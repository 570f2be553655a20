package slack_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// groupPayments groups every alert of payments for five minutes.
func groupPayments(service string) incident.Grouping {
	if service == "payments" {
		return incident.Grouping{Window: 5 * time.Minute}
	}
	return incident.Grouping{}
}

// The storm of issue 14 with grouping on: 20 alerts of one service with
// distinct dedup keys within a second are one incident, one page to its
// owner, one channel, one card and one notice.
func TestGroupedStormOnePage(t *testing.T) {
	cfg := defaults()
	cfg.storeOpts = []incident.StoreOption{incident.WithGrouping(groupPayments)}
	e := newEnv(t, cfg)
	const alerts = 20
	outcomes := make([]incident.OpenResult, alerts)
	errs := make([]error, alerts)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range alerts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], errs[i] = e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments",
				DedupKey: fmt.Sprintf("storm-%d", i), Summary: fmt.Sprintf("Storm alert %d", i),
				Severity: incident.SevCritical, Status: incident.AlertFiring})
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the 20 alerts took %v to store; the storm is within a second", d)
	}
	created := 0
	for i, r := range outcomes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.Number != 1 {
			t.Fatalf("alert %d went to INC-%d (%s); every alert belongs to INC-1", i, r.Number, r.Outcome)
		}
		switch r.Outcome {
		case incident.OutcomeCreated:
			created++
		case incident.OutcomeGrouped:
		default:
			t.Fatalf("alert %d: outcome %s", i, r.Outcome)
		}
	}
	if created != 1 {
		t.Fatalf("%d alerts created an incident, want 1", created)
	}
	e.waitFor("alice paged", func() bool { return e.dmsAbout(e.alice, 1, "You are on call") > 0 })
	e.announced(1)
	e.idle()
	pages := 0
	for _, u := range []fakeslack.User{e.alice, e.bob, e.carol} {
		for _, m := range e.dms(u) {
			if strings.Contains(m.Text, "You are on call") {
				pages++
			}
		}
	}
	if pages != 1 {
		t.Errorf("%d pages, want 1", pages)
	}
	for _, c := range []struct {
		method string
		want   int
	}{{"conversations.create", 1}, {"pins.add", 1}} {
		if got := len(e.calls(c.method, nil)); got != c.want {
			t.Errorf("%d %s calls, want %d", got, c.method, c.want)
		}
	}
	if got := len(e.fake.Messages(e.alerts.ID)); got != 1 {
		t.Errorf("%d notices in the alerts channel, want 1", got)
	}
	list, err := e.svc.List(e.ctx, incident.FilterOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].AlertCount != alerts || list[0].Grouped != alerts-1 {
		t.Fatalf("open incidents %+v; want INC-1 alone with %d alerts, %d grouped", list, alerts, alerts-1)
	}
}

// An alert that joins a grouped incident gets a line in the incident's
// thread (the repeat reply, at most one per RepeatEvery) that says so.
func TestGroupedAlertThreadLine(t *testing.T) {
	cfg := defaults()
	cfg.repeatEvery = 300 * time.Millisecond
	cfg.storeOpts = []incident.StoreOption{incident.WithGrouping(groupPayments)}
	e := newEnv(t, cfg)
	n := e.open("payments", "disk", "Disk full")
	ch, card := e.announced(n)
	if got := e.open("payments", "cpu", "CPU high"); got != n {
		t.Fatalf("the second alert went to INC-%d, want INC-%d", got, n)
	}
	e.waitFor("a thread reply", func() bool { return len(e.fake.Replies(ch, card)) > 0 })
	e.idle()
	replies := e.fake.Replies(ch, card)
	if len(replies) != 1 {
		t.Fatalf("%d thread replies, want 1", len(replies))
	}
	const want = "1 more alert joined (1 grouped into this incident; 2 alerts in all, repeats and recoveries included), the last at "
	if !strings.HasPrefix(replies[0].Text, want) {
		t.Fatalf("thread reply %q, want it to start %q", replies[0].Text, want)
	}
	if !strings.Contains(blocksText(e.card(n)), "*Alerts*\\n2,") {
		t.Fatalf("the card does not count both alerts: %s", blocksText(e.card(n)))
	}
	// A recovery of one of its alerts is not a join; a later join is.
	r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: "disk", Summary: "Disk full",
		Severity: incident.SevCritical, Status: incident.AlertResolved})
	if err != nil || r.Outcome != incident.OutcomeAlertRecovered {
		t.Fatalf("the recovery of disk: %+v, %v", r, err)
	}
	e.waitFor("a second thread reply", func() bool { return len(e.fake.Replies(ch, card)) > 1 })
	if got := e.open("payments", "mem", "Memory low"); got != n {
		t.Fatalf("the third alert went to INC-%d, want INC-%d", got, n)
	}
	e.waitFor("a third thread reply", func() bool { return len(e.fake.Replies(ch, card)) > 2 })
	e.idle()
	replies = e.fake.Replies(ch, card)
	for i, want := range []string{
		"1 more alert joined (1 grouped into this incident; 2 alerts in all, repeats and recoveries included), the last at ",
		"1 more repeat or recovery of its alerts (3 in all), the last at ",
		"1 more alert joined (2 grouped into this incident; 4 alerts in all, repeats and recoveries included), the last at ",
	} {
		if len(replies) != 3 || !strings.HasPrefix(replies[i].Text, want) {
			t.Fatalf("thread replies %+v; want 3, reply %d starting %q", replies, i, want)
		}
	}
}
