package intake

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
)

// seedTestdata adds every testdata/<prefix>*.json payload to the corpus.
func seedTestdata(f *testing.F, prefix string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", prefix, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkParsed enforces what every parser promises: an alert the store can
// use, or an *InputError the sender can read. Parsing is also deterministic,
// whatever the order of map iteration inside.
func checkParsed(t *testing.T, source string, body []byte, a incident.Alert, err error, again func() (incident.Alert, error)) {
	t.Helper()
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is %T, want *InputError", err, err)
		}
		if ie.Error() == "" {
			t.Fatal("empty error message")
		}
		if _, err2 := again(); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("second parse: %v, first: %v", err2, err)
		}
		return
	}
	switch {
	case a.DedupKey == "":
		t.Fatal("empty DedupKey")
	case a.Summary == "" && a.Status != incident.AlertResolved:
		t.Fatal("empty Summary on a firing alert (only a recovery, which titles nothing, may have none)")
	case strings.ContainsAny(a.Summary, "\n\r"):
		t.Fatalf("Summary spans lines: %q", a.Summary)
	case utf8.RuneCountInString(a.Summary) > maxSummary:
		t.Fatalf("Summary has %d characters", utf8.RuneCountInString(a.Summary))
	case !a.Severity.Valid():
		t.Fatalf("Severity %q", a.Severity)
	case a.Status != incident.AlertFiring && a.Status != incident.AlertResolved:
		t.Fatalf("Status %q", a.Status)
	case a.Source != source:
		t.Fatalf("Source %q, want %q", a.Source, source)
	case !a.ReceivedAt.Equal(testNow):
		t.Fatalf("ReceivedAt %v", a.ReceivedAt)
	case a.SourceTime.IsZero() || a.SourceTime.After(testNow.Add(maxSourceAhead)):
		t.Fatalf("SourceTime %v: absent or too far ahead of the receive time", a.SourceTime)
	}
	for _, l := range a.Links {
		if !httpURL(l.URL) || strings.ContainsAny(l.URL, "<>| \r\n\x00") || incident.CheckLinkURL(l.URL) != nil {
			t.Fatalf("link %q is not a safe http URL", l.URL)
		}
	}
	if checkOneLine("dedup_key", a.DedupKey) != nil || checkOneLine("service", a.Service) != nil {
		t.Fatalf("control character accepted in DedupKey %q or Service %q", a.DedupKey, a.Service)
	}
	enc, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("alert does not marshal: %v", err)
	}
	// Bounded: a parser never makes an alert much bigger than what it was
	// given (JSON escaping may grow a string up to 6× for \u00XX; the
	// fixed fields and defaults add a little).
	if limit := 6*len(body) + 4096; len(enc) > limit {
		t.Fatalf("alert is %d bytes from a %d-byte body", len(enc), len(body))
	}
	b, err := again()
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("second parse differs:\n%+v\n%+v (%v)", a, b, err)
	}
}

func FuzzParseSumoLogic(f *testing.F) {
	seedTestdata(f, "sumologic-")
	f.Add([]byte(`{"Name": "a", "name": "b", "NAME": "c", "TriggerType": "Critical"}`))
	f.Add([]byte(`{"name": "x", "results_json": [1, {"a": 2}], "num_query_results": -1e400}`))
	f.Add([]byte(`{"SearchName": "\u0000\u2028", "severity": "INFO", "dedup_key": " "}`))
	f.Add([]byte(`{"Name": "x", "TriggerType": "Critical", "Id": "a\u0000b", "QueryURL": "https://example.com/x> <!channel>"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseSumoLogic(body, testNow)
		checkParsed(t, "sumologic", body, a, err, func() (incident.Alert, error) { return ParseSumoLogic(body, testNow) })
	})
}

func FuzzParseGeneric(f *testing.F) {
	seedTestdata(f, "generic-")
	f.Add([]byte(`{"summary": "a", "links": [{"url": "https://a.example"}, {"url": 1}]}`))
	f.Add([]byte(`{"summary": "a", "details": {"n": 1e400}} `))
	f.Add([]byte(`{"summary": "\ud800", "severity": "Warning", "status": "RESOLVED"}`))
	f.Add([]byte(`{"dedup_key": " d1 ", "summary": " ", "status": " resolved "}`))
	f.Add([]byte(`{"summary": "a", "dedup_key": "k\r\n", "links": [{"url": "https://example.com/x> <!channel>"}, {"url": "https://a.example/|"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseGeneric(body, testNow)
		checkParsed(t, "generic", body, a, err, func() (incident.Alert, error) { return ParseGeneric(body, testNow) })
	})
}

func FuzzParseSNSCloudWatch(f *testing.F) {
	seedTestdata(f, "sns-")
	f.Add([]byte(`{"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "{\"AlarmName\":\"a\",\"NewStateValue\":\"OK\"}", "Timestamp": "t", "SignatureVersion": "1", "Signature": "s", "SigningCertURL": "u"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		parse := func() (incident.Alert, error) {
			m, err := ParseSNS(body)
			if err != nil {
				return incident.Alert{}, err
			}
			a, state, err := ParseCloudWatchAlarm(m, testNow)
			if err == nil && state != cwAlarmState && state != cwOK && state != cwInsufficientData {
				t.Fatalf("state %q", state)
			}
			return a, err
		}
		a, err := parse()
		checkParsed(t, "cloudwatch", body, a, err, parse)
	})
}

// fuzzBatch checks every alert of an Alertmanager or Grafana body as
// checkParsed checks one, and that a refusal refuses the whole body.
func fuzzBatch(t *testing.T, source string, body []byte, parse func([]byte, time.Time, Severities) ([]incident.Alert, error)) {
	alerts, err := parse(body, testNow, DefaultSeverities)
	if err != nil {
		if alerts != nil {
			t.Fatalf("alerts %v returned with the error %v", alerts, err)
		}
		checkParsed(t, source, body, incident.Alert{}, err, func() (incident.Alert, error) {
			_, err := parse(body, testNow, DefaultSeverities)
			return incident.Alert{}, err
		})
		return
	}
	if len(alerts) == 0 || len(alerts) > incident.MaxBatch {
		t.Fatalf("%d alerts", len(alerts))
	}
	again, err := parse(body, testNow, DefaultSeverities)
	if err != nil || len(again) != len(alerts) {
		t.Fatalf("second parse: %d alerts, %v", len(again), err)
	}
	for i := range alerts {
		// Each alert is bounded by the body as a whole.
		checkParsed(t, source, body, alerts[i], nil, func() (incident.Alert, error) { return again[i], nil })
	}
}

func FuzzParseAlertmanager(f *testing.F) {
	seedTestdata(f, "alertmanager-")
	f.Add([]byte(amBodyWith(amAlertJSON("a"), amAlertJSON("b", `"status":"resolved"`))))
	f.Add([]byte(amBodyWith(amAlertJSON(`\u2028`, `"labels":{"alertname":"\u0000","service":"a\u0085"}`))))
	f.Add([]byte(`{"alerts":[{"status":"firing","fingerprint":"x","labels":{"alertname":"a","alertname":"b"},"generatorURL":"https://example.com/x> <!channel>"}],"truncatedAlerts":7}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBatch(t, "alertmanager", body, ParseAlertmanager) })
}

func FuzzParseGrafana(f *testing.F) {
	seedTestdata(f, "grafana-")
	f.Add([]byte(amBodyWith(amAlertJSON("a", `"values":{"B":1e400}`, `"panelURL":"https://a.example/|"`))))
	f.Add([]byte(`{"orgId":{"a":1},"alerts":[{"status":"resolved","fingerprint":"x","annotations":{"summary":" "},"labels":{"alertname":"a","grafana_folder":"f"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBatch(t, "grafana", body, ParseGrafana) })
}

// FuzzPerAlertBodies: for any batch body Alertmanager's parser accepts,
// the per-alert bodies sealed with each alert are nil (the whole body is
// then sealed) or one per alert, each JSON whose alerts array holds
// exactly that alert's entry and which parses to that one alert.
func FuzzPerAlertBodies(f *testing.F) {
	seedTestdata(f, "alertmanager-")
	seedTestdata(f, "grafana-")
	f.Add([]byte(amBodyWith(amAlertJSON("a"), amAlertJSON("b", `"status":"resolved"`))))
	f.Add([]byte(` { "alerts" : [ ` + amAlertJSON("a") + ` , ` + amAlertJSON("b") + ` ] , "Alerts": 1 } `))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := ParseAlertmanager(body, testNow, Severities{})
		if err != nil {
			return
		}
		per := perAlertBodies(body, len(alerts))
		if per == nil {
			return
		}
		if len(per) != len(alerts) {
			t.Fatalf("%d bodies for %d alerts", len(per), len(alerts))
		}
		for i, b := range per {
			one, err := ParseAlertmanager(b, testNow, Severities{})
			if err != nil || len(one) != 1 {
				t.Fatalf("body %d does not parse to one alert (%v): %s", i, err, b)
			}
			if one[0].DedupKey != alerts[i].DedupKey {
				t.Fatalf("body %d holds alert %q, want %q", i, one[0].DedupKey, alerts[i].DedupKey)
			}
		}
	})
}
