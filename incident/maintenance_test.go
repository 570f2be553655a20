package incident_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// A window holds new incidents of its service: stored and deduplicated, no
// page job and no chat job; its end queues both for what still fires, and
// the summary counts what arrived.
func TestMaintenanceHoldsThenReleases(t *testing.T) {
	s, c, ctx := newService(t)
	m, err := s.StartMaintenance(ctx, "database", 2*time.Hour, false, "dana", "failover drill", t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "mw-1" || !m.Until.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("started %+v", m)
	}
	if _, err := s.StartMaintenance(ctx, "database", time.Hour, false, "dana", "", t0); incident.ErrorCode(err) != incident.AlreadyAssigned {
		t.Fatalf("a second window on the same service: %v", err)
	}
	a := mustOpen(t, s, ctx, alert("disk"))
	mustOpen(t, s, ctx, alert("disk")) // a repeat
	b := mustOpen(t, s, ctx, alert("cpu"))
	rec := alert("cpu")
	rec.Status = incident.AlertResolved
	rec.SourceTime = t0.Add(time.Hour)
	if r := mustOpen(t, s, ctx, rec); r.Outcome != incident.OutcomeResolved {
		t.Fatalf("recovery: %+v", r)
	}
	other := alert("x")
	other.Service = "web"
	o := mustOpen(t, s, ctx, other) // another service pages as always

	jobs, _ := c.ZRange(ctx, s.JobsKey(), 0, -1).Result()
	chats, _ := c.ZRange(ctx, s.ChatJobsKey(), 0, -1).Result()
	if strings.Join(jobs, ",") != "page:3,maintenance:mw-1" || strings.Join(chats, ",") != "chat:3" {
		t.Fatalf("during the window: jobs %v, chat jobs %v; want only the other service's", jobs, chats)
	}
	inc, tl, _ := s.Get(ctx, a.Number)
	if inc.Held != "mw-1" || inc.AlertCount != 2 || tl[len(tl)-1].Type != incident.EventHeld {
		t.Fatalf("held incident %+v %+v", inc, tl)
	}
	list, err := s.Maintenances(ctx, t0.Add(time.Minute))
	if err != nil || len(list) != 1 || list[0].Alerts != 3 || list[0].By != "dana" { // the recovery is no alert
		t.Fatalf("listed %+v %v", list, err)
	}

	// Its job, run early, changes nothing.
	if end, err := s.EndMaintenance(ctx, m.ID, "", t0.Add(time.Hour)); err != nil || !end.Early {
		t.Fatalf("early end: %+v %v", end, err)
	}
	end, err := s.EndMaintenance(ctx, m.ID, "", t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sum := end.Summary
	if sum.Service != "database" || sum.Alerts != 3 || len(sum.Incidents) != 2 ||
		sum.Incidents[0] != (incident.HeldIncident{Number: a.Number, Alerts: 2, Status: incident.StatusTriggered}) ||
		sum.Incidents[1] != (incident.HeldIncident{Number: b.Number, Alerts: 1, Status: incident.StatusResolved}) {
		t.Fatalf("summary %+v", sum)
	}
	jobs, _ = c.ZRange(ctx, s.JobsKey(), 0, -1).Result()
	chats, _ = c.ZRange(ctx, s.ChatJobsKey(), 0, -1).Result()
	if !strings.Contains(strings.Join(jobs, ","), "page:1") || strings.Contains(strings.Join(jobs, ","), "page:2") ||
		!strings.Contains(strings.Join(chats, ","), "chat:1") || strings.Contains(strings.Join(chats, ","), "chat:2") {
		t.Fatalf("after the end: jobs %v, chat jobs %v; want INC-1 paged and announced, INC-2 not", jobs, chats)
	}
	if inc, _, _ := s.Get(ctx, a.Number); inc.Held != "" {
		t.Fatalf("still held after the end: %+v", inc)
	}
	again, err := s.EndMaintenance(ctx, m.ID, "dana", t0.Add(3*time.Hour))
	if err != nil || !again.Already || again.Posted || again.Summary.Alerts != 3 {
		t.Fatalf("ending again: %+v %v", again, err)
	}
	if err := s.MaintenancePosted(ctx, m.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.EndMaintenance(ctx, m.ID, "", t0.Add(3*time.Hour)); !again.Posted {
		t.Fatalf("posted not recorded: %+v", again)
	}
	// After the window, the service pages at once again.
	if r := mustOpen(t, s, ctx, alert("new")); r.Created {
		if inc, _, _ := s.Get(ctx, r.Number); inc.Held != "" {
			t.Fatalf("held after the window: %+v", inc)
		}
	}
	_ = o
	// Who started and ended it is in the audit stream.
	entries, err := c.XRange(ctx, "test:{inc}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range entries {
		if typ := e.Values["type"]; typ == "maintenance_started" || typ == "maintenance_ended" {
			seen = append(seen, typ.(string)+" by "+e.Values["by"].(string))
		}
	}
	if strings.Join(seen, "; ") != "maintenance_started by dana; maintenance_ended by " {
		t.Fatalf("audit: %q", seen)
	}
}

// The bounds and the refusals of a window, each with its code.
func TestMaintenanceBounds(t *testing.T) {
	s, _, ctx := newService(t)
	for _, tc := range []struct {
		name   string
		d      time.Duration
		long   bool
		reason string
		code   incident.Code
	}{
		{"no time at all", 0, false, "", incident.Unprocessable},
		{"a day is the most", 24*time.Hour + time.Minute, false, "", incident.Unprocessable},
		{"longer when long", 48 * time.Hour, true, "", ""},
		{"never beyond two weeks", 15 * 24 * time.Hour, true, "", incident.Unprocessable},
		{"a reason of 201 characters", time.Hour, false, strings.Repeat("r", 201), incident.Invalid},
		{"exactly a day", 24 * time.Hour, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := strings.ReplaceAll(tc.name, " ", "-")
			_, err := s.StartMaintenance(ctx, svc, tc.d, tc.long, "dana", tc.reason, t0)
			if incident.ErrorCode(err) != tc.code {
				t.Fatalf("code %q (%v), want %q", incident.ErrorCode(err), err, tc.code)
			}
			if tc.code != "" {
				if l, _ := s.Maintenances(ctx, t0); len(l) > 0 && l[len(l)-1].Service == svc {
					t.Fatal("a refused window was stored")
				}
			}
		})
	}
	for d, want := range map[time.Duration]string{
		24*time.Hour + time.Second:  "A maintenance window longer than 24h must be asked for as long (got 24h0m1s)",
		-2 * time.Hour:              "A maintenance window lasts at least 1m (got -2h).",
		336*time.Hour + time.Second: "(got 336h0m1s)",
	} {
		if msg := incident.ErrorMessage(incident.CheckMaintenance(d, false, "")); !strings.Contains(msg, want) {
			t.Errorf("CheckMaintenance(%s): %q, want %q", d, msg, want)
		}
	}
	first, err := s.StartMaintenance(ctx, "database", time.Hour, false, "dana", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartMaintenance(ctx, "database", time.Hour, false, "dana", "", t0); incident.ErrorMessage(err) !=
		"database is already in maintenance ("+first.ID+") until "+incident.WindowTime(t0.Add(time.Hour))+"; end it first." {
		t.Fatalf("a second window: %v", err)
	}
	if err := incident.CheckMaintenance(59*time.Second, false, ""); incident.ErrorCode(err) != incident.Unprocessable {
		t.Fatalf("59s passed the callers' check: %v", err)
	}
	if _, err := s.EndMaintenance(ctx, "mw-999", "dana", t0); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("ending an unknown window: %v", err)
	}
}

// An alert racing the window's end is never lost: whichever Redis runs
// first, the incident ends up with its page due.
func TestMaintenanceEndRacingAnAlert(t *testing.T) {
	for i := range 20 {
		s, c, ctx := newService(t)
		m, err := s.StartMaintenance(ctx, "database", time.Hour, false, "dana", "", t0)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var opened incident.OpenResult
		wg.Add(2)
		go func() { defer wg.Done(); opened, _ = s.Open(ctx, alert("race")) }()
		go func() { defer wg.Done(); _, _ = s.EndMaintenance(ctx, m.ID, "dana", t0.Add(time.Minute)) }()
		wg.Wait()
		if !opened.Created {
			t.Fatalf("run %d: %+v", i, opened)
		}
		if _, err := c.ZScore(ctx, s.JobsKey(), incident.PageJob(opened.Number)).Result(); err != nil {
			t.Fatalf("run %d: INC-%d has no page due: %v", i, opened.Number, err)
		}
	}
}

// Paging in someone already paged in (not yet acknowledged) is a repeat:
// requests at once, as from two replicas, leave one paged_in event and one
// page-in job, and the page count as it was.
func TestPageInTwiceIsOnePageIn(t *testing.T) {
	s, c, ctx := newService(t)
	n := mustOpen(t, s, ctx, alert("disk")).Number
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.PageIn(ctx, n, "gus", "dana", "need the DBA", t0)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	step, err := s.BeginPageIn(ctx, n, "gus", t0)
	if err != nil || !step.Send || step.Count != 1 {
		t.Fatalf("first page: %+v %v", step, err)
	}
	if err := s.PageInSent(ctx, n, "gus", 1, t0); err != nil {
		t.Fatal(err)
	}
	inc, err := s.PageIn(ctx, n, "gus", "dana", "again", t0.Add(50*time.Millisecond))
	if err != nil || len(inc.PagedIn) != 1 || inc.PagedIn[0].Pages != 1 {
		t.Fatalf("a repeat after the first page: %+v %v", inc.PagedIn, err)
	}
	_, tl, _ := s.Get(ctx, n)
	pagedIn := 0
	for _, ev := range tl {
		if ev.Type == incident.EventPagedIn {
			pagedIn++
		}
	}
	jobs, _ := c.ZRangeWithScores(ctx, s.JobsKey(), 0, -1).Result()
	pageIns := 0
	for _, j := range jobs {
		if strings.HasPrefix(j.Member.(string), "pagein:") {
			pageIns++
		}
	}
	if pagedIn != 1 || pageIns != 1 {
		t.Fatalf("%d paged_in events and %d page-in jobs, want 1 and 1", pagedIn, pageIns)
	}
}

// A window asked for as long says so where it is shown: the answer to its
// start, the list, its summary and the audit entry of its start.
func TestMaintenanceLongIsEchoed(t *testing.T) {
	s, c, ctx := newService(t)
	m, err := s.StartMaintenance(ctx, "database", 48*time.Hour, true, "dana", "migration", t0)
	if err != nil || !m.Long {
		t.Fatalf("start: %+v %v", m, err)
	}
	if l, err := s.Maintenances(ctx, t0); err != nil || len(l) != 1 || !l[0].Long {
		t.Fatalf("list: %+v %v", l, err)
	}
	end, err := s.EndMaintenance(ctx, m.ID, "dana", t0.Add(time.Hour))
	if err != nil || !end.Summary.Long {
		t.Fatalf("summary: %+v %v", end.Summary, err)
	}
	entries, err := c.XRange(ctx, "test:{inc}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Values["type"] == "maintenance_started" && e.Values["long"] != "1" {
			t.Fatalf("audit entry of the start: %v", e.Values)
		}
	}
}
