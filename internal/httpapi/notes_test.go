package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// The note sent with ack, resolve and escalate is kept on the timeline
// event of that transition. An escalation's event is written by the page
// job (a real runner here), with baton's reason first and the caller's
// note after incident.EscalationNoteSep.
func TestTransitionNotesReachTheTimeline(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	wake := escalation.NewWakeup()
	store := incident.NewStore(rs.Client(), "t:", incident.WithOnJobDue(wake.Notify))
	store.Unbatched = true

	l1, err := escalation.NewLevel([]string{"user:alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := escalation.NewLevel([]string{"user:bob"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := escalation.Lookup([]escalation.Service{{Name: "db", Policy: "p"}},
		[]escalation.Policy{{Name: "p", RepageEvery: time.Hour, Levels: []escalation.Level{l1, l2}}})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	runner, err := escalation.NewRunner(escalation.Options{Incidents: store, Wakeup: wake, Pager: &escalation.LogPager{Log: quiet},
		Policies: pols, PollInterval: 10 * time.Millisecond, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- runner.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-ran })

	srv := httptest.NewServer(openapitest.Wrap(t, httpapi.New(httpapi.Options{Token: token, Incidents: store, Escalate: runner.Escalate})))
	t.Cleanup(srv.Close)

	long := strings.Repeat("é", incident.MaxNote+200)
	cut := strings.Repeat("é", incident.MaxNote-1) + "…"
	tests := []struct {
		name  string
		calls []string // "op body", in order, on a fresh incident; the last one's event is checked
		event incident.EventType
		by    string
		note  string // the caller's note on the event ("" when none)
	}{
		{"ack with a note", []string{`ack {"by":"alice","note":"looking at db-1"}`}, incident.EventAcknowledged, "alice", "looking at db-1"},
		{"ack without a note", []string{`ack {"by":"alice"}`}, incident.EventAcknowledged, "alice", ""},
		{"resolve with a note", []string{`resolve {"by":"alice","note":"rolled back 4.2"}`}, incident.EventResolved, "alice", "rolled back 4.2"},
		{"escalate with a note", []string{`escalate {"by":"carol","note":"needs the DBA"}`}, incident.EventEscalated, "carol", "needs the DBA"},
		{"escalate an acknowledged incident with a note", []string{`ack {"by":"alice"}`, `escalate {"by":"alice","note":"out of my depth"}`},
			incident.EventEscalated, "alice", "out of my depth"},
		{"escalate without a note", []string{`escalate {"by":"carol"}`}, incident.EventEscalated, "carol", ""},
		{"a long note is cut", []string{fmt.Sprintf(`ack {"by":"alice","note":%q}`, long)}, incident.EventAcknowledged, "alice", cut},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: fmt.Sprint("k", i),
				Summary: "disk full", Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
				t.Fatal(err)
			}
			n := int64(i + 1)
			// The first page (alice, level 1) comes before anything else.
			waitEvent(t, store, n, func(e incident.Event) bool { return e.Type == incident.EventPaged })
			for _, c := range tc.calls {
				op, body, _ := strings.Cut(c, " ")
				if status, out := call(t, srv, "POST", fmt.Sprintf("/v1/incidents/%d/%s", n, op), body); status != 200 {
					t.Fatalf("%s: %d %v", op, status, out)
				}
			}
			e := waitEvent(t, store, n, func(e incident.Event) bool { return e.Type == tc.event && e.By == tc.by })
			got := e.Note
			if tc.event == incident.EventEscalated {
				reason, note := incident.SplitEscalationNote(e.Note)
				if want := "escalated by " + tc.by; !strings.HasPrefix(reason, want) {
					t.Fatalf("escalated event's reason %q, want it to start with %q", reason, want)
				}
				if e.Person != "bob" || e.Level != 2 {
					t.Fatalf("escalated event %+v, want bob at level 2", e)
				}
				got = note
			}
			if got != tc.note {
				t.Fatalf("%s event's note %q, want %q (event %+v)", tc.event, got, tc.note, e)
			}
		})
	}
}

// waitEvent waits until incident n's timeline has an event matching match
// and returns it.
func waitEvent(t *testing.T, store *incident.Store, n int64, match func(incident.Event) bool) incident.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_, tl, err := store.Get(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tl {
			if match(e) {
				return e
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("INC-%d: no such event in %+v", n, tl)
		case <-tick.C:
		}
	}
}
