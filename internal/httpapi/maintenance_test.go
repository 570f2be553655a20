package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// POST /v1/maintenance's body: each wrong form is its status and sentence.
func TestParseMaintenance(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		say        string
		d          time.Duration
		long       bool
	}{
		{"two hours", `{"service":"db","duration":"2h","reason":"drill","by":"dana"}`, 0, "", 2 * time.Hour, false},
		{"exactly a day", `{"service":"db","duration":"24h","by":"dana"}`, 0, "", 24 * time.Hour, false},
		{"long", `{"service":"db","duration":"72h","by":"dana","long":true}`, 0, "", 72 * time.Hour, true},
		{"minutes and seconds", `{"service":"db","duration":"1m30s","by":"dana"}`, 0, "", 90 * time.Second, false},
		{"not JSON", `{"service":`, 400, "the body must be JSON like", 0, false},
		{"empty", ``, 400, "it is empty", 0, false},
		{"an array", `[]`, 400, "must be a JSON object", 0, false},
		{"unknown field", `{"service":"db","duration":"2h","by":"dana","for":"2h"}`, 400, `has field "for"`, 0, false},
		{"duration a number", `{"service":"db","duration":7200,"by":"dana"}`, 400, `field "duration" must be`, 0, false},
		{"no service", `{"duration":"2h","by":"dana"}`, 400, `field "service"`, 0, false},
		{"no by", `{"service":"db","duration":"2h"}`, 400, `field "by"`, 0, false},
		{"no duration", `{"service":"db","by":"dana"}`, 400, `field "duration" must say how long`, 0, false},
		{"days are not Go durations", `{"service":"db","duration":"2d","by":"dana"}`, 400, `"2d" is not a duration`, 0, false},
		{"under a minute", `{"service":"db","duration":"30s","by":"dana"}`, 422, "at least 1m", 0, false},
		{"negative", `{"service":"db","duration":"-2h","by":"dana"}`, 422, "at least", 0, false},
		{"over a day", `{"service":"db","duration":"25h","by":"dana"}`, 422, `"long": true`, 0, false},
		{"over two weeks even long", `{"service":"db","duration":"337h","by":"dana","long":true}`, 422, "at most 14d", 0, false},
		{"a second over a day, quoted exactly", `{"service":"db","duration":"24h0m1s","by":"dana"}`, 422, "(got 24h0m1s)", 0, false},
		{"a second over two weeks, quoted exactly", `{"service":"db","duration":"336h0m1s","by":"dana","long":true}`, 422, "(got 336h0m1s)", 0, false},
		{"negative, quoted as sent", `{"service":"db","duration":"-2h","by":"dana"}`, 422, "A maintenance window lasts at least 1m (got -2h).", 0, false},
		{"reason too long", `{"service":"db","duration":"1h","by":"dana","reason":"` + strings.Repeat("r", 201) + `"}`, 400, "keep it under 200", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d, long, _, _, st, msg := httpapi.ParseMaintenance([]byte(tc.body))
			if st != tc.status || !strings.Contains(msg, tc.say) {
				t.Fatalf("status %d %q, want %d saying %q", st, msg, tc.status, tc.say)
			}
			if st == 0 && (d != tc.d || long != tc.long) {
				t.Fatalf("read %s long=%v", d, long)
			}
		})
	}
}

// The routes' refusals change nothing: no window, no page-in.
func TestMaintenanceAndPageRoutes(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "a", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	people := map[string]bool{"dana": true, "gus": true}
	api := httpapi.New(httpapi.Options{Token: token, Incidents: store, KnownPerson: func(id string) bool { return people[id] }})
	api.RegisterMaintenance(httpapi.MaintenanceOptions{Store: store, KnownService: func(s string) bool { return s == "db" }})
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		say                      string
	}{
		{"unknown service", "POST", "/v1/maintenance", `{"service":"web","duration":"2h","by":"dana"}`, 404, `no service "web"`},
		{"unknown person", "POST", "/v1/maintenance", `{"service":"db","duration":"2h","by":"zed"}`, 404, `"zed" is not in people`},
		{"over a day", "POST", "/v1/maintenance", `{"service":"db","duration":"48h","by":"dana"}`, 422, "long"},
		{"end a bad id", "DELETE", "/v1/maintenance/3?by=dana", "", 400, "not a maintenance window id"},
		{"end an unknown window", "DELETE", "/v1/maintenance/mw-3?by=dana", "", 404, "no maintenance window mw-3"},
		{"page an unknown person", "POST", "/v1/incidents/1/page", `{"person":"zed","by":"dana"}`, 404, `"zed" is not in people`},
		{"page by an unknown person", "POST", "/v1/incidents/1/page", `{"person":"gus","by":"zed"}`, 404, `"zed" is not in people`},
		{"page without a person", "POST", "/v1/incidents/1/page", `{"by":"dana"}`, 422, `field "person"`},
		{"page, not JSON", "POST", "/v1/incidents/1/page", `gus`, 422, "must be JSON"},
		{"page with an unknown field", "POST", "/v1/incidents/1/page", `{"person":"gus","by":"dana","who":"x"}`, 422, `has field "who"`},
		{"page into an unknown incident", "POST", "/v1/incidents/9/page", `{"person":"gus","by":"dana"}`, 404, "There is no INC-9."},
		{"page into a bad number", "POST", "/v1/incidents/x/page", `{"person":"gus","by":"dana"}`, 400, "not an incident number"},
		{"a window with data after the JSON", "POST", "/v1/maintenance", `{"service":"db","duration":"2h","by":"dana"} {"x":1}`, 400, "more data after the JSON object, at byte 46"},
		{"a page-in with data after the JSON", "POST", "/v1/incidents/1/page", `{"person":"gus","by":"dana"}x`, 422, "more data after the JSON object, at byte 29"},
		{"an ack with data after the JSON", "POST", "/v1/incidents/1/ack", `{"by":"dana"}{}`, 400, "more data after the JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := call(t, srv, tc.method, tc.path, tc.body)
			if st != tc.status || !strings.Contains(out["error"].(string), tc.say) {
				t.Fatalf("%d %v, want %d saying %q", st, out, tc.status, tc.say)
			}
		})
	}
	if list, _ := store.Maintenances(ctx, time.Now()); len(list) != 0 {
		t.Fatalf("a refused request started a window: %+v", list)
	}
	if inc, _, _ := store.Get(ctx, 1); len(inc.PagedIn) != 0 {
		t.Fatalf("a refused request paged someone in: %+v", inc.PagedIn)
	}
	if n, _ := rs.Client().Exists(ctx, "t:{inc}:mw:seq").Result(); n != 0 {
		t.Fatal("a refused request took a window id")
	}
	if st, _ := call(t, srv, "POST", "/v1/incidents/1/page", `{"person":"gus","by":"dana","reason":"eyes"}`); st != http.StatusOK {
		t.Fatalf("page: %d", st)
	}
}

// A person who cannot be reached in chat nor by email is refused a page-in
// (422, naming why, nothing changed); one with email but no chat account is
// paged in and the answer says plainly they cannot be reached in chat.
func TestPageInReach(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "a", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	people := map[string]bool{"dana": true, "gus": true, "erin": true, "zoe": true}
	reach := map[string]httpapi.Reach{
		"gus":  {Chat: "slack", InChat: true},
		"erin": {Chat: "slack", Email: true},
		"zoe":  {Chat: "slack"},
	}
	api := httpapi.New(httpapi.Options{Token: token, Incidents: store, KnownPerson: func(id string) bool { return people[id] }})
	api.RegisterMaintenance(httpapi.MaintenanceOptions{Store: store,
		Reach: func(_ context.Context, p string) httpapi.Reach { return reach[p] }})
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, person string
		status       int
		say          string // in "error" or "warning"
	}{
		{"reachable in chat", "gus", 200, ""},
		{"email only", "erin", 200, "erin cannot be reached in slack (no account found)"},
		{"neither", "zoe", 422, "zoe cannot be reached: no slack account found for them and no email address in people; nothing changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := call(t, srv, "POST", "/v1/incidents/1/page", `{"person":"`+tc.person+`","by":"dana"}`)
			said, _ := out["error"].(string)
			if w, ok := out["warning"].(string); ok {
				said = w
			}
			if st != tc.status || (tc.say == "" && said != "") || !strings.Contains(said, tc.say) {
				t.Fatalf("%d %q, want %d saying %q", st, said, tc.status, tc.say)
			}
		})
	}
	inc, _, _ := store.Get(ctx, 1)
	var got []string
	for _, p := range inc.PagedIn {
		got = append(got, p.Person)
	}
	if strings.Join(got, ",") != "erin,gus" {
		t.Fatalf("paged in %v, want erin and gus (zoe refused)", got)
	}
}

// An incident held by a maintenance window has no channel and pages
// nobody: escalating it, assigning it or paging someone into it is refused
// with 409 and a sentence naming the window and how to end it; nothing
// changes. After the window ends, all three work.
func TestHeldIncidentRefusesPaging(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	now := time.Now()
	m, err := store.StartMaintenance(ctx, "db", 2*time.Hour, false, "dana", "drill", now)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "a", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil || r.Number != 1 {
		t.Fatal(r, err)
	}
	people := map[string]bool{"dana": true, "gus": true}
	api := httpapi.New(httpapi.Options{Token: token, Incidents: store, KnownPerson: func(id string) bool { return people[id] },
		Escalate: store.Escalate})
	api.RegisterMaintenance(httpapi.MaintenanceOptions{Store: store, KnownService: func(s string) bool { return s == "db" }})
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)
	want := "INC-1 is held by maintenance window mw-1 until " + incident.WindowTime(m.Until)
	for _, tc := range []struct{ name, path, body, say string }{
		{"escalate", "/v1/incidents/1/escalate", `{"by":"dana"}`, "To escalate it now, end the window first (/incident maintenance end mw-1, or DELETE /v1/maintenance/mw-1)."},
		{"page in", "/v1/incidents/1/page", `{"person":"gus","by":"dana"}`, "To page someone into it now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := call(t, srv, "POST", tc.path, tc.body)
			msg, _ := out["error"].(string)
			if st != http.StatusConflict || !strings.HasPrefix(msg, want) || !strings.Contains(msg, tc.say) {
				t.Fatalf("%d %q, want 409 saying %q … %q", st, msg, want, tc.say)
			}
		})
	}
	if _, err := store.Assign(ctx, 1, "gus", "dana"); incident.ErrorCode(err) != incident.Held {
		t.Fatalf("assigning a held incident: %v", err)
	}
	inc, tl, _ := store.Get(ctx, 1)
	if inc.Status != incident.StatusTriggered || inc.Owner != "" || len(inc.PagedIn) != 0 || len(tl) != 2 {
		t.Fatalf("a refusal changed the held incident: %+v, %d events", inc, len(tl))
	}
	if st, _ := call(t, srv, "DELETE", "/v1/maintenance/mw-1?by=dana", ""); st != http.StatusOK {
		t.Fatalf("end: %d", st)
	}
	if st, out := call(t, srv, "POST", "/v1/incidents/1/page", `{"person":"gus","by":"dana"}`); st != http.StatusOK {
		t.Fatalf("page in after the window: %d %v", st, out)
	}
}
