package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

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
	// A seal key, so that raw payloads are kept and /raw answers them.
	sealKey := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
		"BATON_PRIVACY_SEAL_KEYS=" + sealKey})
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
		{"raw", "GET", "/v1/incidents/1/raw?by=alice", apiToken, "", 200},
		{"raw without who", "GET", "/v1/incidents/1/raw", apiToken, "", 400},
		{"raw of an unknown incident", "GET", "/v1/incidents/99/raw?by=alice", apiToken, "", 404},
		{"get, the read in its timeline", "GET", "/v1/incidents/1", apiToken, "", 200},
		{"ack", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice","note":"looking"}`, 200},
		{"ack again", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`, 409},
		{"escalate", "POST", "/v1/incidents/1/escalate", apiToken, `{"by":"alice","note":"needs the DBA"}`, 200},
		{"page someone in", "POST", "/v1/incidents/1/page", apiToken, `{"person":"carol","by":"alice","reason":"needs the DBA"}`, 200},
		{"page an unknown person in", "POST", "/v1/incidents/1/page", apiToken, `{"person":"zed","by":"alice"}`, 404},
		{"page into an unknown incident", "POST", "/v1/incidents/99/page", apiToken, `{"person":"carol","by":"alice"}`, 404},
		{"page with a bad body", "POST", "/v1/incidents/1/page", apiToken, `{"person":1}`, 422},
		{"resolve", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice","note":"rolled back"}`, 200},
		{"page into a resolved incident", "POST", "/v1/incidents/1/page", apiToken, `{"person":"carol","by":"alice"}`, 409},
		{"start maintenance", "POST", "/v1/maintenance", apiToken, `{"service":"payments","duration":"2h","reason":"failover drill","by":"alice"}`, 201},
		{"start maintenance again", "POST", "/v1/maintenance", apiToken, `{"service":"payments","duration":"1h","by":"alice"}`, 409},
		{"maintenance over a day", "POST", "/v1/maintenance", apiToken, `{"service":"database","duration":"25h","by":"alice"}`, 422},
		{"maintenance of an unknown service", "POST", "/v1/maintenance", apiToken, `{"service":"nope","duration":"1h","by":"alice"}`, 404},
		{"maintenance with a bad body", "POST", "/v1/maintenance", apiToken, `{"service":"database","duration":"soon","by":"alice"}`, 400},
		{"list maintenance", "GET", "/v1/maintenance", apiToken, "", 200},
		{"end maintenance", "DELETE", "/v1/maintenance/mw-1?by=bob", apiToken, "", 200},
		{"end maintenance again", "DELETE", "/v1/maintenance/mw-1?by=bob", apiToken, "", 409},
		{"end an unknown window", "DELETE", "/v1/maintenance/mw-99?by=bob", apiToken, "", 404},
		{"end without who", "DELETE", "/v1/maintenance/mw-1", apiToken, "", 400},
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
		{"heartbeats", "GET", "/v1/heartbeats", apiToken, "", 200},
		{"beat", "POST", "/v1/heartbeats/nightly-backup", "change-me-heartbeat-token", "", 202},
		{"beat of an unknown heartbeat", "POST", "/v1/heartbeats/nope", "change-me-heartbeat-token", "", 404},
		{"heartbeats after a beat", "GET", "/v1/heartbeats", apiToken, "", 200},
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

// schemaKeywords are the keys a Schema Object may hold in OpenAPI 3.1
// (JSON Schema 2020-12 plus OpenAPI's own); x- extensions are allowed too.
var schemaKeywords = map[string]bool{
	"$ref": true, "$id": true, "$schema": true, "$comment": true, "$defs": true, "$anchor": true, "$dynamicRef": true, "$dynamicAnchor": true,
	"type": true, "format": true, "title": true, "description": true, "default": true, "examples": true, "example": true,
	"enum": true, "const": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"properties": true, "patternProperties": true, "additionalProperties": true, "unevaluatedProperties": true, "propertyNames": true,
	"required": true, "dependentRequired": true, "dependentSchemas": true, "minProperties": true, "maxProperties": true,
	"items": true, "prefixItems": true, "unevaluatedItems": true, "contains": true, "minContains": true, "maxContains": true,
	"minItems": true, "maxItems": true, "uniqueItems": true,
	"minLength": true, "maxLength": true, "pattern": true, "contentMediaType": true, "contentEncoding": true, "contentSchema": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true, "if": true, "then": true, "else": true,
	"discriminator": true, "xml": true, "externalDocs": true,
}

// TestOpenAPIStrictSchemas parses docs/openapi.yaml strictly: no key is
// there twice, no value is null (an unquoted description holding ", " in
// a flow mapping turns its tail into a key of its own with no value), and
// every Schema Object holds only OpenAPI 3.1's schema keywords. A
// validator ignores unknown keys, so without this a description cut in
// two passes every other test.
func TestOpenAPIStrictSchemas(t *testing.T) {
	raw, err := os.ReadFile("docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	checkOpenAPINode(t, &doc, "", false)
}

// checkOpenAPINode walks n at path; schema says n is a Schema Object.
func checkOpenAPINode(t *testing.T, n *yaml.Node, path string, schema bool) {
	t.Helper()
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkOpenAPINode(t, c, path, schema)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			checkOpenAPINode(t, c, fmt.Sprintf("%s[%d]", path, i), schema)
		}
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			at := path + "/" + k
			if seen[k] {
				t.Errorf("docs/openapi.yaml line %d: %s is there twice", n.Content[i].Line, at)
			}
			seen[k] = true
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				t.Errorf("docs/openapi.yaml line %d: %s has no value (an unquoted text with \", \" in a flow mapping?)", n.Content[i].Line, at)
			}
			if schema && !schemaKeywords[k] && !strings.HasPrefix(k, "x-") {
				t.Errorf("docs/openapi.yaml line %d: %q is not a schema keyword (in %s)", n.Content[i].Line, k, path)
			}
			var childSchema bool
			switch {
			case schema && (k == "properties" || k == "patternProperties" || k == "$defs" || k == "dependentSchemas"):
				// a map of names to schemas
				for j := 0; j+1 < len(v.Content); j += 2 {
					checkOpenAPINode(t, v.Content[j+1], at+"/"+v.Content[j].Value, true)
				}
				continue
			case schema && (k == "enum" || k == "const" || k == "default" || k == "examples" || k == "example" || k == "required"):
				continue // values, not schemas
			case schema:
				childSchema = v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode // items, allOf, not, additionalProperties…
			case k == "schema" || (path == "/components/schemas"):
				childSchema = true
			}
			checkOpenAPINode(t, v, at, childSchema)
		}
	}
}
