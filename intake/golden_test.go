package intake

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testNow is the receive time every parser test uses.
var testNow = time.Date(2025, 11, 24, 14, 3, 15, 0, time.UTC)

// goldenNow is the receive time of TestGolden: after every payload's own
// time, so that each SourceTime in the golden files is the source's.
var goldenNow = time.Date(2025, 11, 24, 14, 45, 0, 0, time.UTC)

// firingNow is when tests that send a recovery after its firing alert
// receive the firing one: before the recovery's endsAt in testdata
// (a firing alert's source time is its receive time).
var firingNow = time.Date(2025, 11, 24, 14, 5, 0, 0, time.UTC)

// readTestdata returns testdata/<name>.json.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseCloudWatch runs the SNS path the handler runs, minus the signature.
func parseCloudWatch(body []byte, now time.Time) (incident.Alert, string, error) {
	m, err := ParseSNS(body)
	if err != nil {
		return incident.Alert{}, "", err
	}
	return ParseCloudWatchAlarm(m, now)
}

// checkGolden compares got, as indented JSON, with testdata/golden/<name>.json,
// or rewrites that file under -update.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep URLs and "->" readable in the golden files
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./intake -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file (run go test ./intake -update if the change is intended)\n--- got\n%s\n--- want\n%s", name, b, want)
	}
}

// TestGolden parses every payload under testdata and compares the alert with
// its golden file. The table also pins the fields that matter most, so that
// a wrong golden file written by -update still fails here.
func TestGolden(t *testing.T) {
	type parser func([]byte, time.Time) (incident.Alert, string, error)
	sumo := func(b []byte, now time.Time) (incident.Alert, string, error) {
		a, err := ParseSumoLogic(b, now)
		return a, "", err
	}
	generic := func(b []byte, now time.Time) (incident.Alert, string, error) {
		a, err := ParseGeneric(b, now)
		return a, "", err
	}
	cases := []struct {
		name     string
		parse    parser
		dedup    string
		severity incident.Severity
		status   incident.AlertStatus
		summary  string
		service  string
		state    string // CloudWatch NewStateValue
		source   string // SourceTime, RFC 3339
	}{
		{"sumologic-monitor-critical", sumo, "sumologic:monitor:0000000000A1B2C3", incident.SevCritical, incident.AlertFiring,
			"Checkout API 5xx rate: Greater than or equal to 50.0 within 5 minutes", "", "", "2025-11-24T14:03:10Z"},
		{"sumologic-monitor-warning", sumo, "sumologic:monitor:0000000000A1B2C3", incident.SevWarning, incident.AlertFiring,
			"Checkout API 5xx rate: Greater than or equal to 20.0 within 5 minutes", "", "", "2025-11-24T13:53:10Z"},
		{"sumologic-monitor-missingdata", sumo, "sumologic:monitor:0000000000D4E5F6", incident.SevWarning, incident.AlertFiring,
			"Orders DB replication lag: missing data", "", "", "2025-11-24T14:01:44Z"},
		{"sumologic-monitor-resolved-critical", sumo, "sumologic:monitor:0000000000A1B2C3", incident.SevCritical, incident.AlertResolved,
			"Checkout API 5xx rate", "", "", "2025-11-24T14:21:10Z"},
		{"sumologic-pascal-critical", sumo, "sumologic:monitor:payments gateway latency p99", incident.SevWarning, incident.AlertFiring,
			"Payments gateway latency p99", "payments", "", ""},
		{"sumologic-snake-critical", sumo, "sumologic:monitor:0000000000B7C8D9", incident.SevCritical, incident.AlertFiring,
			"login failures spike: Greater than 200 within 10 minutes", "identity", "", "2025-11-24T14:02:55Z"},
		{"sumologic-snake-resolved-critical", sumo, "sumologic:monitor:0000000000B7C8D9", incident.SevCritical, incident.AlertResolved,
			"Login failures spike", "identity", "", "2025-11-24T14:40:55Z"},
		{"sumologic-search-legacy", sumo, "sumologic:search:nightly billing export errors", incident.SevWarning, incident.AlertFiring,
			"Nightly billing export errors", "", "", "2025-11-24T02:00:41Z"},
		{"sumologic-search-modern", sumo, "sumologic:search:disk usage above 90% on build agents", incident.SevInfo, incident.AlertFiring,
			"Disk usage above 90% on build agents", "ci", "", "2025-11-24T14:00:12Z"},
		{"generic-alert", generic, "generic:6ade1bd752f79388", incident.SevWarning, incident.AlertFiring,
			"Checkout success rate below 97% for 10 minutes", "checkout", "", ""},
		{"generic-resolved-minimal", generic, "generic:6ade1bd752f79388", incident.SevCritical, incident.AlertResolved,
			"Checkout success rate below 97% for 10 minutes", "", "", ""},
		{"generic-recovery-no-summary", generic, "d1", incident.SevCritical, incident.AlertResolved, "", "database", "", ""},
		{"sns-cloudwatch-alarm", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-5xx-high",
			incident.SevCritical, incident.AlertFiring,
			"checkout-api-5xx-high: Threshold Crossed: 2 out of the last 3 datapoints [61.0 (24/11/25 14:02:00), 38.0 (24/11/25 14:01:00)] were greater than or equal to the threshold (25.0) (mini…",
			"", "ALARM", "2025-11-24T14:03:12.345Z"},
		{"sns-cloudwatch-ok", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-5xx-high",
			incident.SevCritical, incident.AlertResolved,
			"checkout-api-5xx-high: Threshold Crossed: 3 datapoints [2.0 (24/11/25 14:22:00), 0.0 (24/11/25 14:21:00), 1.0 (24/11/25 14:20:00)] were not greater than or equal to the threshold (25…",
			"", "OK", "2025-11-24T14:23:12.118Z"},
		{"sns-cloudwatch-insufficient-data", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-5xx-high",
			incident.SevWarning, incident.AlertFiring,
			"checkout-api-5xx-high: Insufficient Data: 3 datapoints were unknown.", "", "INSUFFICIENT_DATA", "2025-11-24T14:10:12.902Z"},
		{"sns-cloudwatch-metric-math", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:eu-west-1:123456789012:alarm:payments-api-error-rate",
			incident.SevCritical, incident.AlertFiring, "payments-api-error-rate: Threshold Crossed: 1 out of the last 1 datapoints [7.5 (24/11/25 14:01:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transitio…", "", "ALARM", "2025-11-24T14:02:03.911Z"},
		{"sns-cloudwatch-anomaly", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-queue-depth-anomaly",
			incident.SevCritical, incident.AlertFiring, "orders-queue-depth-anomaly: Thresholds Crossed: 3 out of the last 3 datapoints [1840.0 (24/11/25 13:58:00), 1702.0 (24/11/25 13:53:00), 1655.0 (24/11/25 13:48:00)] were greater than the u…", "", "ALARM", "2025-11-24T14:00:41.207Z"},
		{"sns-cloudwatch-composite", parseCloudWatch, "cloudwatch:arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-degraded",
			incident.SevCritical, incident.AlertFiring, "checkout-degraded: arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-api-5xx-high transitioned to ALARM at Monday 24 November, 2025 14:03:12 UTC", "", "ALARM", "2025-11-24T14:03:13.59Z"},
	}
	seen := map[string]bool{"sns-subscription-confirmation": true} // TestGoldenSNSConfirmation
	for _, b := range batchGoldens {
		seen[b.name] = true // TestGoldenBatches
	}
	for _, tc := range cases {
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			a, state, err := tc.parse(readTestdata(t, tc.name), goldenNow)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if a.DedupKey != tc.dedup {
				t.Errorf("DedupKey = %q, want %q", a.DedupKey, tc.dedup)
			}
			if a.Severity != tc.severity || a.Status != tc.status {
				t.Errorf("Severity, Status = %s, %s; want %s, %s", a.Severity, a.Status, tc.severity, tc.status)
			}
			if a.Summary != tc.summary {
				t.Errorf("Summary = %q\nwant      %q", a.Summary, tc.summary)
			}
			if a.Service != tc.service {
				t.Errorf("Service = %q, want %q", a.Service, tc.service)
			}
			if state != tc.state {
				t.Errorf("state = %q, want %q", state, tc.state)
			}
			if !a.ReceivedAt.Equal(goldenNow) {
				t.Errorf("ReceivedAt = %v, want %v", a.ReceivedAt, goldenNow)
			}
			wantSrc := goldenNow
			if tc.source != "" {
				wantSrc, _ = time.Parse(time.RFC3339Nano, tc.source)
			}
			if !a.SourceTime.Equal(wantSrc) {
				t.Errorf("SourceTime = %v, want %v", a.SourceTime, wantSrc)
			}
			checkGolden(t, tc.name, a)
		})
	}

	// Every payload under testdata has a case: a new file cannot go untested.
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !seen[name] {
			t.Errorf("testdata/%s.json has no case in TestGolden", name)
		}
	}
	// And every golden file has a payload.
	goldens, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range goldens {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !seen[name] {
			t.Errorf("testdata/golden/%s.json is stale: no payload of that name", name)
		}
	}
}

// TestGoldenSNSConfirmation pins how a subscription confirmation decodes.
func TestGoldenSNSConfirmation(t *testing.T) {
	m, err := ParseSNS(readTestdata(t, "sns-subscription-confirmation"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "SubscriptionConfirmation" || !strings.HasPrefix(m.SubscribeURL, "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription") || m.Token == "" {
		t.Errorf("unexpected confirmation: %+v", m)
	}
	if _, _, err := ParseCloudWatchAlarm(m, testNow); err == nil {
		t.Error("ParseCloudWatchAlarm accepted a SubscriptionConfirmation")
	}
	checkGolden(t, "sns-subscription-confirmation", m)
}

// TestSumoDedupAcrossLifecycle checks the promise the incident store relies
// on: every alert of one monitor, whatever its trigger and template, carries
// one dedup key, and distinct monitors carry distinct keys.
func TestSumoDedupAcrossLifecycle(t *testing.T) {
	groups := [][]string{
		{"sumologic-monitor-warning", "sumologic-monitor-critical", "sumologic-monitor-resolved-critical"},
		{"sumologic-snake-critical", "sumologic-snake-resolved-critical"},
		{"sumologic-monitor-missingdata"},
		{"sumologic-search-legacy"},
	}
	var all []string
	for _, g := range groups {
		var keys []string
		for _, name := range g {
			a, err := ParseSumoLogic(readTestdata(t, name), testNow)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			keys = append(keys, a.DedupKey)
		}
		for i := range keys {
			if keys[i] != keys[0] {
				t.Errorf("%s has dedup key %q, %s has %q; one monitor must be one incident", g[i], keys[i], g[0], keys[0])
			}
		}
		if slices.Contains(all, keys[0]) {
			t.Errorf("dedup key %q shared by two monitors", keys[0])
		}
		all = append(all, keys[0])
	}
}
