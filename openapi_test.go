package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// pathParam is a {name} in a route; routes are compared without the names
// (the mux's GET /v1/rotations/{file} is the document's, whatever it
// calls the segment).
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func normaliseRoute(r string) string { return pathParam.ReplaceAllString(r, "{}") }

// TestOpenAPIRoutes: every route the App registers is described in
// docs/openapi.yaml, and every route described there is registered.
func TestOpenAPIRoutes(t *testing.T) {
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=127.0.0.1:1", "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	server, ok := app.Handler.(*httpapi.Server)
	if !ok {
		t.Fatalf("App.Handler is %T, not the API server", app.Handler)
	}
	registered := map[string]bool{}
	for _, r := range server.Routes() {
		registered[normaliseRoute(r)] = true
	}
	described := map[string]bool{}
	for _, op := range openapitest.Operations(t) {
		described[normaliseRoute(op)] = true
	}
	if len(registered) < 10 {
		t.Fatalf("only %d routes registered: %v", len(registered), server.Routes())
	}
	for r := range registered {
		if !described[r] {
			t.Errorf("route %q is served but not described in docs/openapi.yaml", r)
		}
	}
	for r := range described {
		if !registered[r] {
			t.Errorf("docs/openapi.yaml describes %q, which baton does not serve", r)
		}
	}
}

// TestOpenAPIServed: GET /v1/openapi.yaml answers the file in the
// repository, without a token.
func TestOpenAPIServed(t *testing.T) {
	a := startApp(t)
	resp, err := http.Get(a.url + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	want, err := os.ReadFile("docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("GET /v1/openapi.yaml: %d, %d bytes; want 200 and docs/openapi.yaml's %d bytes", resp.StatusCode, len(got), len(want))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type %q, want application/yaml", ct)
	}
}

// TestOpenAPIEveryRoute calls every route of a served App (real Redis) at
// least once, through the checker, so that each one's answers are held to
// docs/openapi.yaml even where no other test calls it; then checks that
// every operation of the document was exercised.
func TestOpenAPIEveryRoute(t *testing.T) {
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	checker := openapitest.Wrap(t, app.Handler)
	app.Handler = checker
	a := &testApp{url: serveApp(t, app), redis: rs}

	calls := []struct {
		name                string
		method, path, token string
		body                string
		status              int
	}{
		{"health", "GET", "/healthz", "", "", 200},
		{"ready", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
		{"spec", "GET", "/v1/openapi.yaml", "", "", 200},
		{"alert", "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1","severity":"critical","links":[{"text":"graph","url":"https://example.com/g"}]}`, 202},
		{"alert again", "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1","severity":"critical"}`, 202},
		{"alert without a service", "POST", "/v1/alerts/generic", genToken, `{"summary":"no service"}`, 422},
		{"alert with a bad token", "POST", "/v1/alerts/generic", "nope", `{}`, 401},
		{"alert to an unknown source", "POST", "/v1/alerts/nagios", genToken, `{}`, 404},
		{"list", "GET", "/v1/incidents?status=open&limit=10", apiToken, "", 200},
		{"list bad limit", "GET", "/v1/incidents?limit=0", apiToken, "", 400},
		{"get", "GET", "/v1/incidents/INC-1", apiToken, "", 200},
		{"get unknown", "GET", "/v1/incidents/99", apiToken, "", 404},
		{"ack", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice","note":"looking"}`, 200},
		{"ack again", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`, 409},
		{"escalate", "POST", "/v1/incidents/1/escalate", apiToken, `{"by":"alice","note":"needs the DBA"}`, 200},
		{"resolve", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice","note":"rolled back"}`, 200},
		{"resolve bad body", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":`, 400},
		{"oncall all", "GET", "/v1/oncall", apiToken, "", 200},
		{"oncall service", "GET", "/v1/oncall?service=database&at=2026-11-24T09:00:00Z", apiToken, "", 200},
		{"oncall unknown service", "GET", "/v1/oncall?service=nope", apiToken, "", 404},
		{"feed", "GET", "/v1/rotations/db-primary.ics", apiToken, "", 200},
		{"create override", "POST", "/v1/rotations/db-primary/overrides", apiToken, `{"person":"bob","from":"2030-01-01T09:00:00Z","until":"2030-01-01T17:00:00Z"}`, 201},
		{"list overrides", "GET", "/v1/rotations/db-primary/overrides", apiToken, "", 200},
		{"delete unknown override", "DELETE", "/v1/rotations/db-primary/overrides/nope", apiToken, "", 404},
		{"analytics", "GET", "/v1/analytics?from=7d", apiToken, "", 200},
		{"analytics bad parameter", "GET", "/v1/analytics?colour=red", apiToken, "", 400},
		{"chart", "GET", "/v1/analytics/chart.png?width=400&height=300", apiToken, "", 200},
		{"no route", "GET", "/v2/nothing", apiToken, "", 404},
	}
	var overrideID string
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, a.url+c.path, strings.NewReader(c.body))
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s = %d, want %d: %.300s", c.name, c.method, c.path, resp.StatusCode, c.status, raw)
		}
		if c.name == "create override" {
			if m := regexp.MustCompile(`"id":"([^"]+)"`).FindSubmatch(raw); m != nil {
				overrideID = string(m[1])
			}
		}
	}
	if overrideID == "" {
		t.Fatal("the override was not created")
	}
	req, _ := http.NewRequest("DELETE", a.url+"/v1/rotations/db-primary/overrides/"+overrideID, nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("delete override: %d", resp.StatusCode)
	}

	seen := checker.Seen()
	var missing []string
	for _, op := range openapitest.Operations(t) {
		if !slices.Contains(seen, op) {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations of docs/openapi.yaml no request exercised: %v", missing)
	}
}
