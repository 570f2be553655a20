package intake

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// batchGolden is one Alertmanager or Grafana payload under testdata and
// what its alerts must be (the golden file holds the whole list).
type batchGolden struct {
	name  string
	parse func([]byte, time.Time, Severities) ([]incident.Alert, error)
	want  []goldenAlert
}

type goldenAlert struct {
	dedup    string
	severity incident.Severity
	status   incident.AlertStatus
	summary  string
	name     string
	source   string // SourceTime, RFC 3339; "" for the receive time (every firing alert)
	links    int
}

var batchGoldens = []batchGolden{
	{"alertmanager-firing", ParseAlertmanager, []goldenAlert{
		{"5d4d0a2f4e7c7a1b", incident.SevCritical, incident.AlertFiring, "Instance db-1.example.org:9100 down", "InstanceDown", "", 3},
		{"a1c0f3d9b2e86e55", incident.SevCritical, incident.AlertFiring, "Instance db-2.example.org:9100 down", "InstanceDown", "", 3},
	}},
	{"alertmanager-resolved", ParseAlertmanager, []goldenAlert{
		{"5d4d0a2f4e7c7a1b", incident.SevCritical, incident.AlertResolved, "Instance db-1.example.org:9100 down", "InstanceDown", "", 3},
	}},
	{"alertmanager-probe-failure", ParseAlertmanager, []goldenAlert{
		{"1a30ba71cca2921f", incident.SevCritical, incident.AlertFiring, "BlackBox Probe Failure: https://server.example.org", "ProbeFailure", "", 2},
	}},
	{"alertmanager-no-summary", ParseAlertmanager, []goldenAlert{
		{"ae5e4a0d2c1b3f60", incident.SevCritical, incident.AlertFiring, "Test: dc=eu-west-1, instance=localhost:9090, job=prometheus24", "Test", "", 2},
	}},
	{"grafana-firing", ParseGrafana, []goldenAlert{
		{"c6eadffa33fcdf37", incident.SevCritical, incident.AlertFiring, "This alert was triggered for zone us-1", "High memory usage", "", 4},
		{"bc97ff14869b13e3", incident.SevCritical, incident.AlertFiring, "This alert was triggered for zone eu-1", "High CPU usage", "", 4},
	}},
	{"grafana-resolved", ParseGrafana, []goldenAlert{
		{"c6eadffa33fcdf37", incident.SevWarning, incident.AlertResolved, "High memory usage: team=blue, zone=us-1", "High memory usage", "", 5},
	}},
}

// TestGoldenBatches parses every Alertmanager and Grafana payload under
// testdata and compares its alerts with the golden file; the table pins
// the fields that matter, so a wrong golden file written by -update still
// fails here.
func TestGoldenBatches(t *testing.T) {
	for _, tc := range batchGoldens {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := tc.parse(readTestdata(t, tc.name), goldenNow, DefaultSeverities)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(alerts) != len(tc.want) {
				t.Fatalf("%d alerts, want %d", len(alerts), len(tc.want))
			}
			for i, w := range tc.want {
				a := alerts[i]
				if a.DedupKey != w.dedup || a.Severity != w.severity || a.Status != w.status || a.Summary != w.summary || a.Name != w.name {
					t.Errorf("alerts[%d] = %q %s %s %q %q\nwant          %q %s %s %q %q", i,
						a.DedupKey, a.Severity, a.Status, a.Summary, a.Name, w.dedup, w.severity, w.status, w.summary, w.name)
				}
				want := goldenNow
				if w.source != "" {
					want, _ = time.Parse(time.RFC3339Nano, w.source)
				}
				if !a.SourceTime.Equal(want) {
					t.Errorf("alerts[%d].SourceTime = %v, want %v", i, a.SourceTime, want)
				}
				if len(a.Links) != w.links {
					t.Errorf("alerts[%d] has %d links, want %d: %v", i, len(a.Links), w.links, a.Links)
				}
				if src := strings.SplitN(tc.name, "-", 2)[0]; a.Source != src {
					t.Errorf("alerts[%d].Source = %q, want %q", i, a.Source, src)
				}
			}
			checkGolden(t, tc.name, alerts)
		})
	}
}

// amBodyWith is a valid Alertmanager body whose alerts are the given JSON
// objects.
func amBodyWith(alerts ...string) string {
	return `{"version":"4","status":"firing","receiver":"baton","groupKey":"{}:{}","alerts":[` + strings.Join(alerts, ",") + `]}`
}

// amAlertJSON is one valid alert, firing; change replaces one of its
// "key":value pairs (by key) or, with a new key, adds it.
func amAlertJSON(fp string, change ...string) string {
	fields := []string{`"status":"firing"`, `"labels":{"alertname":"DiskFull","instance":"db-1"}`, `"annotations":{"summary":"disk full on db-1"}`,
		`"startsAt":"2025-11-24T14:00:00Z"`, `"endsAt":"0001-01-01T00:00:00Z"`, `"generatorURL":"http://prometheus:9090/graph"`, `"fingerprint":"` + fp + `"`}
	for _, c := range change {
		key, _, _ := strings.Cut(c, ":")
		replaced := false
		for i, f := range fields {
			if strings.HasPrefix(f, key+":") {
				fields[i], replaced = c, true
			}
		}
		if !replaced {
			fields = append(fields, c)
		}
	}
	return "{" + strings.Join(fields, ",") + "}"
}

// TestAlertmanagerBadRequests: every refusal names the field, so the
// sender can fix it; one bad alert refuses the whole body.
func TestAlertmanagerBadRequests(t *testing.T) {
	ok := amAlertJSON("aa")
	many := make([]string, incident.MaxBatch+1)
	for i := range many {
		many[i] = amAlertJSON(fmt.Sprint(i))
	}
	tests := []struct {
		name  string
		body  string
		field string
		want  string
	}{
		{"empty body", ``, "", "body is empty"},
		{"an array", `[]`, "", "must be a JSON object, not an array"},
		{"not JSON", `{"alerts":`, "", "not valid JSON"},
		{"trailing data", amBodyWith(ok) + `{}`, "", "after top-level value"},
		{"no alerts", `{"version":"4"}`, "alerts", "is required"},
		{"alerts not a list", `{"alerts":{}}`, "alerts", "must be an array of alerts, not an object"},
		{"alerts empty", amBodyWith(), "alerts", "is empty"},
		{"too many alerts", amBodyWith(many...), "alerts", "holds 1001 alerts, more than the 1000"},
		{"another version", `{"version":"5","alerts":[` + ok + `]}`, "version", `must be "4"`},
		{"version a number", `{"version":4,"alerts":[` + ok + `]}`, "version", `must be "4"`},
		{"truncatedAlerts not a number", `{"truncatedAlerts":"x","alerts":[` + ok + `]}`, "truncatedAlerts", "whole number"},
		{"alert not an object", amBodyWith(ok, `"x"`), "alerts[1]", "must be an object, not a string"},
		{"fingerprint empty", amBodyWith(ok, ok, amAlertJSON("")), "alerts[2].fingerprint", "is empty"},
		{"fingerprint blank", amBodyWith(amAlertJSON("  ")), "alerts[0].fingerprint", "is empty"},
		{"fingerprint absent", amBodyWith(`{"status":"firing","labels":{"alertname":"x"}}`), "alerts[0].fingerprint", "is empty"},
		{"fingerprint a number", amBodyWith(amAlertJSON("x", `"fingerprint":12`)), "alerts[0].fingerprint", "must be a string, not a number"},
		{"fingerprint with a line break", amBodyWith(amAlertJSON(`a\nb`)), "alerts[0].fingerprint", "control characters"},
		{"status unknown", amBodyWith(amAlertJSON("x", `"status":"pending"`)), "alerts[0].status", `must be firing or resolved (got "pending")`},
		{"status absent", amBodyWith(`{"fingerprint":"x","labels":{"alertname":"x"}}`), "alerts[0].status", "is required: firing or resolved"},
		{"status empty", amBodyWith(amAlertJSON("x", `"status":" "`)), "alerts[0].status", "is required: firing or resolved"},
		{"fingerprint of 300,000 characters", amBodyWith(ok, amAlertJSON(strings.Repeat("f", 300_000))), "alerts[1].fingerprint", "is 300000 bytes long; baton accepts at most 256"},
		{"commonLabels not an object", `{"commonLabels":[1],"alerts":[` + ok + `]}`, "commonLabels", "must be an object of strings, not an array"},
		{"labels not an object", amBodyWith(amAlertJSON("x", `"labels":["a"]`)), "alerts[0].labels", "must be an object of strings, not an array"},
		{"label not a string", amBodyWith(amAlertJSON("x", `"labels":{"alertname":"x","severity":3}`)), "alerts[0].labels.severity", "must be a string, not a number"},
		{"annotation an object", amBodyWith(amAlertJSON("x", `"annotations":{"summary":{"a":1}}`)), "alerts[0].annotations.summary", "must be a string, not an object"},
		{"no title", amBodyWith(amAlertJSON("x", `"labels":{"instance":"a"}`, `"annotations":{}`)), "alerts[0].labels.alertname", "is required when there is no summary annotation"},
		{"service with a line break", amBodyWith(amAlertJSON("x", `"labels":{"alertname":"x","service":"db\r"}`)), "alerts[0].labels.service", "control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parsers := []func([]byte, time.Time, Severities) ([]incident.Alert, error){ParseAlertmanager, ParseGrafana}
			if tc.field == "version" {
				parsers = parsers[:1] // Grafana's version is not checked
			}
			for _, parse := range parsers {
				_, err := parse([]byte(tc.body), testNow, DefaultSeverities)
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want an *InputError", err)
				}
				if ie.Field != tc.field || !strings.Contains(ie.Msg, tc.want) {
					t.Fatalf("got field %q: %s\nwant field %q saying %q", ie.Field, ie.Msg, tc.field, tc.want)
				}
			}
		})
	}
}

// TestAlertmanagerAlerts pins the rules of one alert: severity mapping,
// source times, titles, links and bounds.
func TestAlertmanagerAlerts(t *testing.T) {
	sev := Severities{Labels: map[string]incident.Severity{"p1": incident.SevCritical, "warning": incident.SevWarning}, Default: incident.SevInfo}
	tests := []struct {
		name  string
		alert string
		check func(t *testing.T, a incident.Alert)
	}{
		{"severity label mapped, any case", amAlertJSON("x", `"labels":{"alertname":"x","severity":" P1 "}`), func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevCritical {
				t.Errorf("severity %s, want critical", a.Severity)
			}
		}},
		{"unknown severity takes the default", amAlertJSON("x", `"labels":{"alertname":"x","severity":"urgent"}`), func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevInfo {
				t.Errorf("severity %s, want the default, info", a.Severity)
			}
		}},
		{"no severity takes the default", amAlertJSON("x"), func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevInfo {
				t.Errorf("severity %s, want the default, info", a.Severity)
			}
		}},
		{"resolved: received now, endsAt kept in the details", amAlertJSON("x", `"status":"resolved"`, `"endsAt":"2025-11-24T14:02:00Z"`), func(t *testing.T, a incident.Alert) {
			if a.Status != incident.AlertResolved || !a.SourceTime.Equal(testNow) || a.Details["ends_at"] != "2025-11-24T14:02:00Z" {
				t.Errorf("%s at %v, details %v", a.Status, a.SourceTime, a.Details)
			}
		}},
		{"resolved without endsAt: now", amAlertJSON("x", `"status":"resolved"`), func(t *testing.T, a incident.Alert) {
			if !a.SourceTime.Equal(testNow) {
				t.Errorf("source time %v, want now", a.SourceTime)
			}
		}},
		{"firing: now is the source time, startsAt kept in details", amAlertJSON("x", `"startsAt":"2025-11-24T13:40:00Z"`), func(t *testing.T, a incident.Alert) {
			if !a.SourceTime.Equal(testNow) || a.Details["starts_at"] != "2025-11-24T13:40:00Z" {
				t.Errorf("source time %v, starts_at %v", a.SourceTime, a.Details["starts_at"])
			}
		}},
		{"fingerprint of 256 characters", amAlertJSON(strings.Repeat("f", 256)), func(t *testing.T, a incident.Alert) {
			if len(a.DedupKey) != 256 {
				t.Errorf("dedup key of %d", len(a.DedupKey))
			}
		}},
		{"startsAt far ahead: now", amAlertJSON("x", `"startsAt":"2099-01-01T00:00:00Z"`), func(t *testing.T, a incident.Alert) {
			if !a.SourceTime.Equal(testNow) {
				t.Errorf("source time %v, want now", a.SourceTime)
			}
		}},
		{"service label", amAlertJSON("x", `"labels":{"alertname":"x","service":" checkout "}`), func(t *testing.T, a incident.Alert) {
			if a.Service != "checkout" {
				t.Errorf("service %q", a.Service)
			}
		}},
		{"summary folded to one line", amAlertJSON("x", `"annotations":{"summary":"  disk\nfull  "}`), func(t *testing.T, a incident.Alert) {
			if a.Summary != "disk full" {
				t.Errorf("summary %q", a.Summary)
			}
		}},
		{"unsafe links dropped with a note", amAlertJSON("x", `"generatorURL":"javascript:alert(1)"`, `"annotations":{"summary":"s","runbook_url":"https://r.example/x> <!channel>"}`), func(t *testing.T, a incident.Alert) {
			if len(a.Links) != 0 {
				t.Errorf("links %v kept", a.Links)
			}
			notes, _ := a.Details["dropped_links"].([]string)
			if len(notes) != 2 || !strings.HasPrefix(notes[0], "alerts[0].generatorURL: ") || !strings.HasPrefix(notes[1], "alerts[0].annotations.runbook_url: ") {
				t.Errorf("dropped_links %q", notes)
			}
		}},
		{"labels bounded, wanted ones read anyway", func() string {
			var b strings.Builder
			b.WriteString(`"labels":{`)
			for i := range 200 {
				fmt.Fprintf(&b, `"l%03d":"%s",`, i, strings.Repeat("v", 20))
			}
			b.WriteString(`"alertname":"Late","service":"checkout"}`)
			return amAlertJSON("x", b.String(), `"annotations":{}`)
		}(), func(t *testing.T, a incident.Alert) {
			labels, _ := a.Details["labels"].(map[string]any)
			if a.Name != "Late" || a.Service != "checkout" || len(labels) > maxLabels || a.Details["labels_not_kept"] == nil {
				t.Errorf("name %q service %q, %d labels kept, not kept %v", a.Name, a.Service, len(labels), a.Details["labels_not_kept"])
			}
			// The labels baton reads stay in the details too, after the
			// bound: a grouping by details.labels.service still works.
			if labels["service"] != "checkout" || labels["alertname"] != "Late" {
				t.Errorf("service %v, alertname %v not kept", labels["service"], labels["alertname"])
			}
			if n := labelBytes(labels); n > maxLabelBytes {
				t.Errorf("%d bytes of labels kept, more than %d", n, maxLabelBytes)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := ParseAlertmanager([]byte(amBodyWith(tc.alert)), testNow, sev)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, alerts[0])
		})
	}
}

// labelBytes is the size of kept pairs as sent ("k" and "v", quoted).
func labelBytes(m map[string]any) int {
	n := 0
	for k, v := range m {
		n += len(k) + 2 + len(v.(string)) + 2
	}
	return n
}

// TestAlertmanagerDefaultSeverities: with no intake.severity_labels,
// critical and page page as critical, warning and info as themselves,
// none (kube-prometheus's Watchdog and InfoInhibitor) is info, and
// anything else or nothing is critical.
func TestAlertmanagerDefaultSeverities(t *testing.T) {
	for _, tc := range []struct {
		label string // "" sends none
		want  incident.Severity
	}{
		{"critical", incident.SevCritical},
		{"Page", incident.SevCritical},
		{"warning", incident.SevWarning},
		{"info", incident.SevInfo},
		{"none", incident.SevInfo},
		{"NONE", incident.SevInfo},
		{"high", incident.SevCritical},
		{"", incident.SevCritical},
	} {
		t.Run("severity="+tc.label, func(t *testing.T) {
			labels := `"labels":{"alertname":"Watchdog"}`
			if tc.label != "" {
				labels = `"labels":{"alertname":"Watchdog","severity":"` + tc.label + `"}`
			}
			alerts, err := ParseAlertmanager([]byte(amBodyWith(amAlertJSON("x", labels))), testNow, DefaultSeverities)
			if err != nil {
				t.Fatal(err)
			}
			if alerts[0].Severity != tc.want {
				t.Errorf("severity %s, want %s", alerts[0].Severity, tc.want)
			}
		})
	}
}

// TestAlertmanagerLabelTitles: an alert without a summary annotation is
// titled by its alertname and the labels that tell it from the other
// alerts of its notification (not in commonLabels), sorted and bounded;
// without commonLabels, or when every label is common (one alert), by all
// its labels but alertname and severity.
func TestAlertmanagerLabelTitles(t *testing.T) {
	kube := `"labels":{"alertname":"KubePodCrashLooping","cluster":"prod","namespace":"payments","pod":"api-1","prometheus":"monitoring/k8s","severity":"warning"}`
	long := `"labels":{"alertname":"Big","a":"` + strings.Repeat("x", 200) + `","b":"` + strings.Repeat("y", 200) + `"}`
	for _, tc := range []struct {
		name   string
		common string // the commonLabels member; "" leaves it out
		labels string
		source string
		want   string
	}{
		{"distinguishing labels only", `"commonLabels":{"alertname":"KubePodCrashLooping","cluster":"prod","namespace":"payments","prometheus":"monitoring/k8s","severity":"warning"}`, kube, "alertmanager",
			"KubePodCrashLooping: pod=api-1"},
		{"a common key with another value distinguishes", `"commonLabels":{"alertname":"KubePodCrashLooping","cluster":"staging"}`, kube, "alertmanager",
			"KubePodCrashLooping: cluster=prod, namespace=payments, pod=api-1, prometheus=monitoring/k8s"},
		{"no commonLabels: all but alertname and severity", "", kube, "alertmanager",
			"KubePodCrashLooping: cluster=prod, namespace=payments, pod=api-1, prometheus=monitoring/k8s"},
		{"every label common (one alert): all", `"commonLabels":{"alertname":"KubePodCrashLooping","cluster":"prod","namespace":"payments","pod":"api-1","prometheus":"monitoring/k8s","severity":"warning"}`, kube, "alertmanager",
			"KubePodCrashLooping: cluster=prod, namespace=payments, pod=api-1, prometheus=monitoring/k8s"},
		{"grafana leaves out grafana_folder", `"commonLabels":{"alertname":"CPU","grafana_folder":"infra"}`, `"labels":{"alertname":"CPU","grafana_folder":"infra","zone":"eu-1","__alert_rule_uid__":"u"}`, "grafana",
			"CPU: zone=eu-1"},
		{"bounded, cut at a label", `"commonLabels":{}`, long, "alertmanager",
			"Big: a=" + strings.Repeat("x", 200) + ", …"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := amBodyWith(amAlertJSON("x", tc.labels, `"annotations":{}`))
			if tc.common != "" {
				body = strings.Replace(body, `"alerts":[`, tc.common+`,"alerts":[`, 1)
			}
			parse := map[string]func([]byte, time.Time, Severities) ([]incident.Alert, error){"alertmanager": ParseAlertmanager, "grafana": ParseGrafana}[tc.source]
			alerts, err := parse([]byte(body), testNow, DefaultSeverities)
			if err != nil {
				t.Fatal(err)
			}
			if alerts[0].Summary != tc.want {
				t.Errorf("title %q\nwant  %q", alerts[0].Summary, tc.want)
			}
			if len(alerts[0].Summary) > maxLabelTitle {
				t.Errorf("title of %d bytes", len(alerts[0].Summary))
			}
		})
	}
}

// TestAlertmanagerGroupingLabelsKept: the labels a service's grouping
// reads (Config.GroupingLabels) and the labels baton reads are kept in
// the details ahead of the others, wherever they come in the order sent,
// within the bound of 32 pairs and 1.5 KiB in all.
func TestAlertmanagerGroupingLabelsKept(t *testing.T) {
	var b strings.Builder
	b.WriteString(`"labels":{"alertname":"Wide",`)
	for i := range 100 {
		fmt.Fprintf(&b, `"a%03d":"%s",`, i, strings.Repeat("v", 30))
	}
	b.WriteString(`"service":"checkout","zone":"eu-1"}`)
	for _, tc := range []struct {
		name  string
		group map[string]bool
		kept  []string
		gone  []string
	}{
		{"zone grouped", map[string]bool{"zone": true}, []string{"alertname", "service", "zone", "a000"}, []string{"a099"}},
		{"no grouping", nil, []string{"alertname", "service", "a000"}, []string{"zone", "a099"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := parseAlerts(amAlertmanager, []byte(amBodyWith(amAlertJSON("x", b.String()))), testNow, DefaultSeverities, tc.group, nil)
			if err != nil {
				t.Fatal(err)
			}
			labels, _ := alerts[0].Details["labels"].(map[string]any)
			for _, k := range tc.kept {
				if _, ok := labels[k]; !ok {
					t.Errorf("label %s not kept", k)
				}
			}
			for _, k := range tc.gone {
				if _, ok := labels[k]; ok {
					t.Errorf("label %s kept past the bound", k)
				}
			}
			if len(labels) > maxLabels || labelBytes(labels) > maxLabelBytes {
				t.Errorf("%d labels, %d bytes kept", len(labels), labelBytes(labels))
			}
			if n, _ := alerts[0].Details["labels_not_kept"].(int); n+len(labels) != 103 {
				t.Errorf("%d kept + %d not kept, want 103", len(labels), n)
			}
		})
	}
}
