package intake

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/privacy"
)

// TestRedactBeforeCut: a summary is redacted whole before it is cut to
// length, so a value straddling the cut leaves nothing of itself in the
// title (found by breakpriv: an Alertmanager summary of 1041 characters
// ended "jane.roe@examp…", and CloudWatch cuts the reason at 160).
func TestRedactBeforeCut(t *testing.T) {
	red, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	secret := " for jane.roe@example.org, SSN 219-09-9999"
	tests := []struct {
		name  string
		parse func(t *testing.T) incident.Alert
		field string // "" for the summary, else a detail cut to length
	}{
		{"cloudwatch reason cut at 160", func(t *testing.T) incident.Alert {
			m := snsFile(t, "testdata/sns-cloudwatch-alarm.json")
			reason := strings.Repeat("r", 140) + secret
			m.Message = regexp.MustCompile(`"NewStateReason":"[^"]*"`).ReplaceAllString(m.Message, `"NewStateReason":"`+reason+`"`)
			a, _, err := parseCloudWatchAlarm(m, now, red)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}, ""},
		{"alertmanager summary of 1041 characters", func(t *testing.T) incident.Alert {
			summary := strings.Repeat("s", maxSummary-20) + secret
			body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "alerts": []any{map[string]any{
				"status": "firing", "fingerprint": "0123abcd", "labels": map[string]any{"alertname": "LabFeed"}, "annotations": map[string]any{"summary": summary},
			}}})
			as, err := parseAlerts(amAlertmanager, body, now, Severities{}, nil, red)
			if err != nil {
				t.Fatal(err)
			}
			return as[0]
		}, ""},
		{"sumo logic name past 1024", func(t *testing.T) incident.Alert {
			var obj map[string]any
			b, err := os.ReadFile("testdata/sumologic-monitor-critical.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			obj["Name"] = strings.Repeat("n", maxSummary-20) + secret
			b, _ = json.Marshal(obj)
			a, err := parseSumoLogic(b, now, red)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}, ""},
		{"cloudwatch metric label cut at 200", func(t *testing.T) incident.Alert {
			m := snsFile(t, "testdata/sns-cloudwatch-metric-math.json")
			label := strings.Repeat("l", 180) + secret
			m.Message = strings.Replace(m.Message, `"Label":"Error rate (%)"`, `"Label":"`+label+`"`, 1)
			a, _, err := parseCloudWatchAlarm(m, now, red)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}, "metrics"},
		{"sumo logic results text cut at 2048", func(t *testing.T) incident.Alert {
			var obj map[string]any
			b, err := os.ReadFile("testdata/sumologic-monitor-critical.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			obj["ResultsJson"] = strings.Repeat("x", 2030) + secret
			b, _ = json.Marshal(obj)
			a, err := parseSumoLogic(b, now, red)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}, "results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := red.Redact(tt.parse(t))
			got := a.Summary
			if tt.field != "" {
				b, _ := json.Marshal(a.Details[tt.field])
				got = string(b)
			}
			if !strings.Contains(got, "…") {
				t.Fatalf("the %q text was not cut: %q", tt.field, got)
			}
			for _, v := range []string{"jane", "219-0"} {
				if strings.Contains(got, v) {
					t.Errorf("%q keeps part of the patient data (%s): …%q", tt.field, v, got[len(got)-80:])
				}
			}
		})
	}
}

func snsFile(t *testing.T, file string) SNSMessage {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSNS(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRedactGenericDedupKey: a generic alert's default dedup key hashes
// the redacted summary, so it holds no hash of patient data and two
// summaries differing only in patient data share an incident; with
// redaction off the summary as sent is hashed, as before (found by
// breakpriv).
func TestRedactGenericDedupKey(t *testing.T) {
	on, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	off, err := privacy.New(privacy.Config{Off: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	key := func(t *testing.T, red *privacy.Redactor, summary string) string {
		a, err := parseGeneric([]byte(`{"service":"database","summary":"`+summary+`"}`), now, red)
		if err != nil {
			t.Fatal(err)
		}
		return red.Redact(a).DedupKey
	}
	tests := []struct {
		name     string
		red      *privacy.Redactor
		a, b     string
		wantSame bool
	}{
		{"patient data only differs: one incident", on, "lab feed stuck for patient 219-09-9999", "lab feed stuck for patient 219-09-9998", true},
		{"e-mails differ: one incident", on, "no reply from jane.roe@example.org", "no reply from john.doe@example.org", true},
		{"other text differs: two incidents", on, "lab feed stuck", "lab feed slow", false},
		{"redaction off: hashed as sent", off, "lab feed stuck for patient 219-09-9999", "lab feed stuck for patient 219-09-9998", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := key(t, tt.red, tt.a), key(t, tt.red, tt.b)
			if (ka == kb) != tt.wantSame {
				t.Errorf("keys %q and %q: same %v, want %v", ka, kb, ka == kb, tt.wantSame)
			}
		})
	}
	// A summary without patient data keeps the key it always had.
	plain, _ := ParseGeneric([]byte(`{"service":"database","summary":"lab feed stuck"}`), now)
	if k := key(t, on, "lab feed stuck"); k != plain.DedupKey {
		t.Errorf("key %q, was %q", k, plain.DedupKey)
	}
}

// TestRawPerAlertBodies: a batch body is split into one body per alert,
// each the body as sent with only that alert's entry in "alerts".
func TestRawPerAlertBodies(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int
		want []string // nil: not split
	}{
		{"two alerts", `{"version":"4","alerts":[{"a":1},{"b":2}],"groupKey":"g"}`, 2,
			[]string{`{"version":"4","alerts":[{"a":1}],"groupKey":"g"}`, `{"version":"4","alerts":[{"b":2}],"groupKey":"g"}`}},
		{"spaces kept", "{ \"alerts\" : [ {\"a\":1} , {\"b\":2} ] }", 2,
			[]string{"{ \"alerts\" : [{\"a\":1}] }", "{ \"alerts\" : [{\"b\":2}] }"}},
		{"key in another case, the last one read", `{"alerts":[1,2],"Alerts":[{"a":1},{"b":2}]}`, 2,
			[]string{`{"alerts":[1,2],"Alerts":[{"a":1}]}`, `{"alerts":[1,2],"Alerts":[{"b":2}]}`}},
		{"count differs", `{"alerts":[{"a":1},{"b":2}]}`, 3, nil},
		{"no alerts array", `{"alerts":{}}`, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := perAlertBodies([]byte(tt.body), tt.n)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("split into %q, want nil", got)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d bodies, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("body %d = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestRedactDroppedLinks: a link baton refuses (mailto:, tel:, no scheme)
// is quoted in details.dropped_links, a []string; the redactor walks it,
// so no e-mail, SSN or phone number in it reaches the store (found by
// breakpriv2).
func TestRedactDroppedLinks(t *testing.T) {
	red, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, url, gone string }{
		{"mailto", "mailto:jane.roe@example.org", "jane.roe@example.org"},
		{"no scheme", "ehr.example/patients/219-09-9999", "219-09-9999"},
		{"tel", "tel:+15558675309", "5558675309"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"service":"checkout","summary":"notify failed","links":[{"text":"x","url":"` + tt.url + `"}]}`
			a, err := parseGeneric([]byte(body), testNow, red)
			if err != nil {
				t.Fatal(err)
			}
			a = red.Redact(a)
			if _, ok := a.Details["dropped_links"]; !ok {
				t.Fatalf("no dropped_links: %v", a.Details)
			}
			if got := fmt.Sprint(a.Details); strings.Contains(got, tt.gone) {
				t.Errorf("details hold %q: %s", tt.gone, got)
			}
		})
	}
}

// TestRedactSumoDedupKeyBeforeLowercase: a Sumo Logic search's or
// monitor's dedup key is its name lowercased; the name is redacted first,
// so a case-sensitive configured rule (docs/privacy.md's \bM[0-9]{8}\b)
// still matches and the member id does not reach the store as
// "m12345678" (found by breakpriv2).
func TestRedactSumoDedupKeyBeforeLowercase(t *testing.T) {
	red, err := privacy.New(privacy.Config{Rules: []privacy.RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, body string }{
		{"search", `{"Name":"member M12345678 failed eligibility","Description":"x","service":"checkout"}`},
		{"monitor without an Id", `{"Name":"member M12345678 failed eligibility","Id":"","TriggerType":"Critical","MonitorType":"Logs","service":"checkout"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseSumoLogic([]byte(tt.body), testNow, red)
			if err != nil {
				t.Fatal(err)
			}
			a = red.Redact(a)
			if k := strings.ToLower(a.DedupKey); strings.Contains(k, "m12345678") || !strings.Contains(k, "[member-id]") {
				t.Errorf("dedup key %q (summary %q)", a.DedupKey, a.Summary)
			}
		})
	}
}
