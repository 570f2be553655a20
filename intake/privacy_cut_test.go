package intake

import (
	"encoding/json"
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
		}},
		{"alertmanager summary of 1041 characters", func(t *testing.T) incident.Alert {
			summary := strings.Repeat("s", maxSummary-20) + secret
			body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "alerts": []any{map[string]any{
				"status": "firing", "fingerprint": "0123abcd", "labels": map[string]any{"alertname": "LabFeed"}, "annotations": map[string]any{"summary": summary},
			}}})
			as, err := parseAlerts(amAlertmanager, body, now, Severities{}, red)
			if err != nil {
				t.Fatal(err)
			}
			return as[0]
		}},
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
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := red.Redact(tt.parse(t))
			if !strings.HasSuffix(a.Summary, "…") {
				t.Fatalf("the summary was not cut: %q", a.Summary)
			}
			for _, v := range []string{"jane", "219-0"} {
				if strings.Contains(a.Summary, v) {
					t.Errorf("summary keeps part of the patient data (%s): …%q", v, a.Summary[len(a.Summary)-60:])
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
