package demo

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// fakeIncidents is an in-memory Incidents for the story's tests.
type fakeIncidents struct {
	mu  sync.Mutex
	inc map[int64]incident.Incident
	tl  map[int64][]incident.Event
}

func (f *fakeIncidents) List(_ context.Context, flt incident.Filter, _ int) ([]incident.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []incident.Incident
	for _, i := range f.inc {
		if (flt == incident.FilterResolved) == (i.Status == incident.StatusResolved) {
			out = append(out, i)
		}
	}
	slices.SortFunc(out, func(a, b incident.Incident) int { return cmp.Compare(a.Number, b.Number) })
	return out, nil
}

func (f *fakeIncidents) Get(_ context.Context, n int64) (incident.Incident, []incident.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inc[n], append([]incident.Event(nil), f.tl[n]...), nil
}

func (f *fakeIncidents) add(inc incident.Incident, events ...incident.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inc == nil {
		f.inc, f.tl = map[int64]incident.Incident{}, map[int64][]incident.Event{}
	}
	f.inc[inc.Number] = inc
	f.tl[inc.Number] = append(f.tl[inc.Number], events...)
}

var clock = time.Date(2026, 11, 24, 14, 3, 0, 0, time.UTC)

func newStory(out *bytes.Buffer, inc Incidents) *Story {
	return &Story{Out: out, Incidents: inc, Now: func() time.Time { return clock },
		SlackPeople: map[string]string{"U0BOB": "bob"}}
}

// TestStoryTellsTheTimeline: each timeline event becomes one line, told
// once, with no alert text.
func TestStoryTellsTheTimeline(t *testing.T) {
	db := incident.Incident{Number: 3, Service: "database", Severity: incident.SevCritical, Source: "sumologic",
		Status: incident.StatusTriggered, Title: "SECRET alert body"}
	tests := []struct {
		name  string
		event incident.Event
		want  string
	}{
		{"opened", incident.Event{Type: incident.EventOpened, By: "sumologic"}, "INC-3 opened: service database, critical, from sumologic"},
		{"first page", incident.Event{Type: incident.EventPaged, Person: "alice", Level: 1, Note: "first"}, "INC-3: alice paged (DM), level 1"},
		{"re-page", incident.Event{Type: incident.EventPaged, Person: "alice", Level: 1, Note: "repeat"}, "INC-3: alice re-paged, not acknowledged yet"},
		{"escalated", incident.Event{Type: incident.EventEscalated, Person: "bob", Level: 2, Note: "not acknowledged within 20s at level 1"},
			"INC-3 escalated to bob (level 2): not acknowledged within 20s at level 1"},
		{"escalated page", incident.Event{Type: incident.EventPaged, Person: "bob", Level: 2, Note: "escalated"}, "INC-3: bob paged (DM) after the escalation, level 2"},
		{"handoff", incident.Event{Type: incident.EventPaged, Person: "alice", Level: 2, Note: "handoff"}, "INC-3: alice told the incident moved on"},
		{"fallback", incident.Event{Type: incident.EventPaged, Note: "fallback #db-alerts: nobody on call"}, "INC-3: nobody could be paged: fallback #db-alerts: nobody on call"},
		{"page failed", incident.Event{Type: incident.EventPageFailed, Person: "alice", Note: "ratelimited"}, "INC-3 page to alice failed: ratelimited"},
		{"acknowledged", incident.Event{Type: incident.EventAcknowledged, By: "carol"}, "INC-3 acknowledged by carol"},
		{"reassigned", incident.Event{Type: incident.EventReassigned, Person: "dave", By: "carol"}, "INC-3 reassigned to dave by carol"},
		{"baton note", incident.Event{Type: incident.EventNote, By: "baton", Note: "level 2 skipped: nobody on call"}, "INC-3 note: level 2 skipped: nobody on call"},
		{"person note keeps its text out", incident.Event{Type: incident.EventNote, By: "bob", Note: "SECRET"}, "INC-3 note added by bob"},
		{"repeated is told by the webhook", incident.Event{Type: incident.EventRepeated, By: "sumologic"}, ""},
		{"resolved", incident.Event{Type: incident.EventResolved, By: "sumologic"}, "INC-3 resolved by sumologic"},
		{"paged in", incident.Event{Type: incident.EventPagedIn, Person: "bob", By: "carol", Note: "SECRET"},
			"INC-3: bob paged in by carol (a responder; the owner stays the owner): DMed until they acknowledge their page"},
		{"page acknowledged", incident.Event{Type: incident.EventPageAcknowledged, Person: "bob"}, "INC-3: bob acknowledged their page: a responder now, no more pages to them"},
		{"held", incident.Event{Type: incident.EventHeld, Note: "maintenance mw-1"}, "INC-3 held: service database is in maintenance, nobody paged and no channel until the window ends"},
		{"released", incident.Event{Type: incident.EventReleased, Note: "mw-1 ended"}, "INC-3 released: the maintenance window ended with its alert still firing, so it pages now"},
		{"emailed", incident.Event{Type: incident.EventEmailed, Person: "bob", Level: 1, Note: "with the page"}, "INC-3: bob emailed, level 1 (with the page)"},
		{"lease ran out", incident.Event{Type: incident.EventRetriggered, Note: "no word from the owner for 1m (ack_lease 1m)"}, "INC-3 triggered again: no word from the owner for 1m (ack_lease 1m)"},
		{"ack timeout", incident.Event{Type: incident.EventRetriggered}, "INC-3 triggered again: acknowledged too long without a resolve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			inc := &fakeIncidents{}
			inc.add(db, tc.event)
			s := newStory(&out, inc)
			for range 2 { // the second poll tells nothing new
				if err := s.pollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			got := out.String()
			if tc.want == "" {
				if got != "" {
					t.Fatalf("told %q", got)
				}
				return
			}
			if got != "14:03:00  "+tc.want+"\n" {
				t.Fatalf("told %q\nwant %q", got, tc.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Fatalf("alert or note text in the story: %q", got)
			}
		})
	}
}

// TestStoryTellsHeartbeatsAndEmails: an incident a missed heartbeat opened
// is told as such, and each email the demo's SMTP sink took is told once,
// to whom and about which incident, never its subject.
func TestStoryTellsHeartbeatsAndEmails(t *testing.T) {
	var out bytes.Buffer
	inc := &fakeIncidents{}
	inc.add(incident.Incident{Number: 17, Service: "batch", Severity: incident.SevCritical, Source: "heartbeat", Status: incident.StatusTriggered},
		incident.Event{Type: incident.EventOpened, By: "heartbeat"})
	var emails []Email
	s := newStory(&out, inc)
	s.Emails = func() []Email { return emails }
	if err := s.pollOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.tellEmails()
	emails = append(emails, Email{To: []string{"bob@example.com"}, Subject: "INC-4 [critical] SECRET (batch)", Body: "SECRET"})
	s.tellEmails()
	s.tellEmails()
	want := "14:03:00  INC-17 opened: service batch, critical: a heartbeat was missed (no beat within its interval + grace)\n" +
		"14:03:00  email about INC-4 received by the demo's SMTP sink, to bob@example.com (see Emails on the page)\n"
	if got := out.String(); got != want {
		t.Fatalf("told %q\nwant %q", got, want)
	}
}

// TestStoryTellsEachFoldedRepage: re-pages of one person fold into one
// timeline entry whose count grows; the story tells each new re-page once.
func TestStoryTellsEachFoldedRepage(t *testing.T) {
	db := incident.Incident{Number: 3, Service: "database", Severity: incident.SevCritical, Source: "sumologic", Status: incident.StatusTriggered}
	var out bytes.Buffer
	inc := &fakeIncidents{}
	inc.add(db, incident.Event{Type: incident.EventPaged, Person: "alice", Level: 1, Note: "first"},
		incident.Event{Type: incident.EventPaged, Person: "alice", Level: 1, Note: "repeat", Count: 1})
	s := newStory(&out, inc)
	poll := func() {
		t.Helper()
		if err := s.pollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	for count := int64(2); count <= 3; count++ {
		inc.mu.Lock()
		inc.tl[3][1].Count = count
		inc.mu.Unlock()
		poll()
		poll() // nothing new
	}
	if got := strings.Count(out.String(), "alice re-paged"); got != 3 {
		t.Fatalf("told %d re-pages, want 3:\n%s", got, out.String())
	}
}

func TestStorySaysHowAnAckCame(t *testing.T) {
	var out bytes.Buffer
	inc := &fakeIncidents{}
	s := newStory(&out, inc)
	s.Acted(Action{As: "U0BOB", Kind: "reaction", Channel: "C1", Reaction: "white_check_mark"})
	inc.add(incident.Incident{Number: 1, Status: incident.StatusAcknowledged},
		incident.Event{Type: incident.EventAcknowledged, By: "bob"})
	if err := s.pollOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := "14:03:00  bob reacted ✅ in C1\n14:03:00  INC-1 acknowledged by bob via ✅\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	// A command's free text stays out of the terminal.
	out.Reset()
	s.Acted(Action{As: "U0BOB", Kind: "command", Channel: "C1", Text: "/incident note SECRET words"})
	if got := out.String(); got != "14:03:00  bob typed /incident note in C1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestStoryIntakeAnswers(t *testing.T) {
	var out bytes.Buffer
	s := newStory(&out, &fakeIncidents{})
	answers := []struct {
		status int
		body   string
	}{
		{202, `{"incident":4,"created":true,"alert_count":1,"outcome":"created"}`},
		{200, `{"incident":4,"alert_count":2,"outcome":"repeated"}`},
		{200, `{"incident":4,"alert_count":3,"outcome":"repeated"}`},
		{401, `{"error":"the token is not the one configured for sumologic"}`},
		// the sentence quotes the alert: printed redacted (breakpriv2)
		{422, `{"error":"alert \"lookup for jane.roe@example.org ssn 219-09-9999\" names service \"nosuch\", which is not in services; nothing was stored"}`},
		{200, `{"incident":4,"outcome":"resolved"}`},
	}
	i := 0
	h := s.Intake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(answers[i].status)
		_, _ = w.Write([]byte(answers[i].body))
	}))
	for i = range answers {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/alerts/sumologic", strings.NewReader("SECRET")))
		if rec.Code != answers[i].status || rec.Body.String() != answers[i].body {
			t.Fatalf("the answer was changed: %d %s", rec.Code, rec.Body)
		}
	}
	// Other routes pass untold.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/incidents", nil))
	want := strings.Join([]string{
		"14:03:00  alert received from sumologic → INC-4 opened",
		// The first repeat is told at once, the next within two seconds waits.
		"14:03:00  alert repeated from sumologic ×1 → deduplicated into INC-4 (now 2 alerts, still one incident)",
		"14:03:00  alert from sumologic refused (401): the token is not the one configured for sumologic",
		`14:03:00  alert from sumologic refused (422): alert "lookup for [email] ssn [ssn]" names service "nosuch", which is not in services; nothing was stored`,
		"14:03:00  recovery received from sumologic → INC-4 resolves",
	}, "\n") + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	clock = clock.Add(3 * time.Second)
	defer func() { clock = clock.Add(-3 * time.Second) }()
	s.mu.Lock()
	s.flushRepeatLocked(4, s.repeats[4], "")
	s.mu.Unlock()
	if !strings.HasSuffix(out.String(), "alert repeated ×1 → deduplicated into INC-4 (now 3 alerts, still one incident)\n") {
		t.Fatalf("the held repeat was not told: %s", out.String())
	}
}
