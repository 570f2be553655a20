package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

var _ httpapi.Incidents = (*incident.Store)(nil)

// call sends an authorised request and decodes the JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %s, body not JSON: %v", method, path, resp.Status, err)
	}
	return resp.StatusCode, out
}

// Each outcome of the store is its status and its sentence, the same
// sentence chat shows.
func TestIncidentOutcomes(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	for _, key := range []string{"a", "b"} {
		if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: key, Summary: "disk full",
			Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(openapitest.Wrap(t, httpapi.New(httpapi.Options{Token: token, Incidents: store, Escalate: store.Escalate})))
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, path, body string
		status                   int
		say                      string // the error's sentence; "" for a success
	}{
		{"get", "GET", "/v1/incidents/1", "", 200, ""},
		{"get an unknown incident", "GET", "/v1/incidents/99", "", 404, "There is no INC-99."},
		{"ack an unknown incident", "POST", "/v1/incidents/99/ack", `{"by":"alice"}`, 404, "There is no INC-99."},
		{"ack", "POST", "/v1/incidents/1/ack", `{"by":"alice"}`, 200, ""},
		{"ack again", "POST", "/v1/incidents/1/ack", `{"by":"bob"}`, 409, "INC-1 is already acknowledged by alice."},
		{"resolve", "POST", "/v1/incidents/1/resolve", `{"by":"alice"}`, 200, ""},
		{"resolve again", "POST", "/v1/incidents/1/resolve", `{"by":"bob"}`, 409, "INC-1 is already resolved."},
		{"ack a resolved incident", "POST", "/v1/incidents/1/ack", `{"by":"bob"}`, 409, "INC-1 is already resolved."},
		{"escalate a resolved incident", "POST", "/v1/incidents/1/escalate", `{"by":"bob"}`, 409, "INC-1 is already resolved."},
		{"escalate an unknown incident", "POST", "/v1/incidents/99/escalate", `{"by":"bob"}`, 404, "There is no INC-99."},
		{"list with an unknown status", "GET", "/v1/incidents?status=closed", "", 400,
			`The status filter "closed" is not one of open, triggered, acknowledged, resolved.`},
		{"list with a cursor baton did not give", "GET", "/v1/incidents?cursor=bm90IGEgY3Vyc29y", "", 400,
			"The cursor is not one baton gave for this listing; list again without a cursor."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := call(t, srv, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("%d %v, want %d", status, out, tc.status)
			}
			if got, _ := out["error"].(string); got != tc.say {
				t.Fatalf("error %q, want %q", got, tc.say)
			}
		})
	}

	t.Run("redis down", func(t *testing.T) {
		rs.Stop()
		status, out := call(t, srv, "POST", "/v1/incidents/2/ack", `{"by":"alice"}`)
		want := "The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."
		if status != http.StatusServiceUnavailable || out["error"] != want {
			t.Fatalf("%d %v, want 503 with %q", status, out, want)
		}
	})
}

// GET /v1/incidents pages: next_cursor fetches the next page as ?cursor=,
// the last page has none, and every incident comes once.
func TestListPagesWithCursor(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	const open = 25
	for i := range open {
		if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: fmt.Sprint("k", i), Summary: "disk full",
			Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(openapitest.Wrap(t, httpapi.New(httpapi.Options{Token: token, Incidents: store})))
	t.Cleanup(srv.Close)

	seen := map[float64]bool{}
	var sizes []int
	path := "/v1/incidents?limit=10"
	for page := 0; page < 10; page++ {
		status, out := call(t, srv, "GET", path, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", path, status, out)
		}
		list, _ := out["incidents"].([]any)
		sizes = append(sizes, len(list))
		for _, v := range list {
			n := v.(map[string]any)["number"].(float64)
			if seen[n] {
				t.Fatalf("INC-%v returned twice", n)
			}
			seen[n] = true
		}
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/v1/incidents?limit=10&cursor=" + url.QueryEscape(next)
	}
	if fmt.Sprint(sizes) != "[10 10 5]" || len(seen) != open {
		t.Errorf("pages of %v, %d incidents; want [10 10 5] and %d", sizes, len(seen), open)
	}
}
