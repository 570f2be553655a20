package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The wiring: an alert shows in /metrics and in /v1/analytics; an ack through the API is counted.
func TestAnalyticsWiring(t *testing.T) {
	a := startApp(t)
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full","severity":"critical"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/alerts/generic", "wrong-token-000000000", `{}`); code != 401 {
		t.Fatalf("refused alert: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`); code != 200 {
		t.Fatalf("ack: %d %v", code, out)
	}
	code, out := a.call(t, "GET", "/v1/analytics?from=1d", apiToken, "")
	if code != 200 || out["totals"].(map[string]any)["opened"] != 1.0 || out["totals"].(map[string]any)["mtta"].(map[string]any)["count"] != 1.0 {
		t.Fatalf("analytics: %d %v", code, out)
	}
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`baton_alerts_received_total{outcome="created",source="generic"} 1`,
		`baton_alerts_received_total{outcome="refused",source="generic"} 1`,
		`baton_incidents_opened_total{service="database"} 1`,
		`baton_acknowledgements_total{via="api"} 1`,
		`baton_intake_duration_seconds_count{source="generic"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}
