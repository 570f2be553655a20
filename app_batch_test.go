package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// endsAtRE is a dated endsAt in testdata (not the zero time of a firing alert).
var endsAtRE = regexp.MustCompile(`"endsAt": "20[0-9-]+T[^"]*"`)

// TestBatchSourcesPage: an Alertmanager and a Grafana notification, sent
// to the real App from config.yaml (its tokens, its epoch guard), open one
// incident per alert whose owner is paged (the logging pager, read back on
// the timeline), and their recoveries resolve them. A firing alert's
// source time is when baton received it, so the recovery's endsAt (a date
// in testdata) is set to now: after the firing, as it would be.
func TestBatchSourcesPage(t *testing.T) {
	for _, tc := range []struct{ source, token, firing, resolved string }{
		{"alertmanager", "change-me-alertmanager-token", "alertmanager-firing", "alertmanager-resolved"},
		{"grafana", "change-me-grafana-token", "grafana-firing", "grafana-resolved"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			a := startApp(t)
			who, _, _, err := onCallNow(t, "db-primary")
			if err != nil {
				t.Fatal(err)
			}
			post := func(name string) []map[string]any {
				t.Helper()
				body, err := os.ReadFile("intake/testdata/" + name + ".json")
				if err != nil {
					t.Fatal(err)
				}
				body = endsAtRE.ReplaceAll(body, []byte(`"endsAt": "`+time.Now().UTC().Format(time.RFC3339Nano)+`"`))
				req, _ := http.NewRequest("POST", a.url+"/v1/alerts/"+tc.source+"?service=database", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+tc.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var out []map[string]any
				if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &out) != nil {
					t.Fatalf("%s: %d %s", name, resp.StatusCode, raw)
				}
				return out
			}
			if out := post(tc.firing); len(out) != 2 || out[0]["outcome"] != "created" || out[1]["outcome"] != "created" {
				t.Fatalf("firing: %v", out)
			}
			for _, n := range []int{1, 2} {
				waitTimeline(t, a, n, func(e map[string]any) bool { return e["type"] == "paged" && e["person"] == who })
			}
			if out := post(tc.resolved); len(out) != 1 || out[0]["outcome"] != "resolved" || out[0]["incident"] != 1.0 {
				t.Fatalf("resolved: %v", out)
			}
			if _, out := a.call(t, "GET", "/v1/incidents/1", apiToken, ""); out["status"] != "resolved" {
				t.Fatalf("INC-1 after the recovery: %v", out)
			}
			if _, out := a.call(t, "GET", "/v1/incidents/2", apiToken, ""); out["status"] != "triggered" {
				t.Fatalf("INC-2 after INC-1's recovery: %v", out)
			}
		})
	}
}
