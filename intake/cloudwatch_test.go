package intake

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

// alarmMessage returns an SNS notification carrying the alarm of
// testdata/sns-cloudwatch-alarm.json changed by edit (nil values delete keys).
func alarmMessage(t *testing.T, edit map[string]any) SNSMessage {
	t.Helper()
	m := loadSNS(t, "sns-cloudwatch-alarm")
	var alarm map[string]any
	if err := json.Unmarshal([]byte(m.Message), &alarm); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		if v == nil {
			delete(alarm, k)
		} else {
			alarm[k] = v
		}
	}
	b, err := json.Marshal(alarm)
	if err != nil {
		t.Fatal(err)
	}
	m.Message = string(b)
	return m
}

func TestParseCloudWatchAlarmErrors(t *testing.T) {
	cases := []struct {
		name    string
		message func(t *testing.T) SNSMessage
		field   string
		msg     string
	}{
		{"confirmation", func(t *testing.T) SNSMessage { return loadSNS(t, "sns-subscription-confirmation") },
			"Type", `must be Notification for a CloudWatch alarm (got "SubscriptionConfirmation")`},
		{"plain text message", func(t *testing.T) SNSMessage {
			m := loadSNS(t, "sns-cloudwatch-alarm")
			m.Message = "Disk is full on db-1"
			return m
		}, "Message", "must hold a CloudWatch alarm state change as a JSON object, not plain text"},
		{"array message", func(t *testing.T) SNSMessage {
			m := loadSNS(t, "sns-cloudwatch-alarm")
			m.Message = `[{"AlarmName": "x"}]`
			return m
		}, "Message", "not an array"},
		{"broken JSON message", func(t *testing.T) SNSMessage {
			m := loadSNS(t, "sns-cloudwatch-alarm")
			m.Message = `{"AlarmName": "x", "NewStateValue": "ALARM"`
			return m
		}, "Message", "is not valid JSON: unexpected end of input at byte 43"},
		{"not an alarm", func(t *testing.T) SNSMessage {
			m := loadSNS(t, "sns-cloudwatch-alarm")
			m.Message = `{"Records": [{"eventSource": "aws:s3"}]}`
			return m
		}, "Message.AlarmName", "is required; the message is not a CloudWatch alarm state change"},
		{"no new state", func(t *testing.T) SNSMessage { return alarmMessage(t, map[string]any{"NewStateValue": nil}) },
			"Message.NewStateValue", "is required"},
		{"unknown new state", func(t *testing.T) SNSMessage { return alarmMessage(t, map[string]any{"NewStateValue": "BROKEN"}) },
			"Message.NewStateValue", `must be ALARM, OK or INSUFFICIENT_DATA (got "BROKEN")`},
		{"alarm name as number", func(t *testing.T) SNSMessage { return alarmMessage(t, map[string]any{"AlarmName": 42}) },
			"Message.AlarmName", "must be a string, not a number"},
		{"blank alarm name", func(t *testing.T) SNSMessage { return alarmMessage(t, map[string]any{"AlarmName": " \t"}) },
			"Message.AlarmName", "is required"},
		{"dimensions as object", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"Trigger": map[string]any{"Dimensions": map[string]any{"name": "x"}}})
		}, "Message.Trigger.Dimensions", "must be a JSON array, not an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, state, err := ParseCloudWatchAlarm(tc.message(t), testNow)
			if err == nil {
				t.Fatalf("accepted: %q %+v", state, a)
			}
			wantInputError(t, err, tc.field, tc.msg)
		})
	}
}

func TestParseCloudWatchAlarm(t *testing.T) {
	cases := []struct {
		name  string
		edit  map[string]any
		topic string
		check func(t *testing.T, a incident.Alert, state string)
	}{
		{"dedup without an ARN", map[string]any{"AlarmArn": nil}, "", func(t *testing.T, a incident.Alert, _ string) {
			if a.DedupKey != "cloudwatch:123456789012:us-east-1:checkout-api-5xx-high" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
		}},
		{"region from the topic when the ARN is missing", map[string]any{"AlarmArn": nil},
			"arn:aws:sns:eu-west-1:123456789012:alarms", func(t *testing.T, a incident.Alert, _ string) {
				if a.Details["region"] != "eu-west-1" || !strings.Contains(a.Links[0].URL, "region=eu-west-1#") {
					t.Errorf("region %v, link %v", a.Details["region"], a.Links)
				}
			}},
		{"no region anywhere: no link", map[string]any{"AlarmArn": nil}, "not-an-arn", func(t *testing.T, a incident.Alert, _ string) {
			if len(a.Links) != 0 || a.DedupKey != "cloudwatch:123456789012:US East (N. Virginia):checkout-api-5xx-high" {
				t.Errorf("Links %v, DedupKey %q", a.Links, a.DedupKey)
			}
		}},
		{"region code given as Region", map[string]any{"AlarmArn": nil, "Region": "ap-southeast-2"}, "not-an-arn", func(t *testing.T, a incident.Alert, _ string) {
			if len(a.Links) != 1 || !strings.Contains(a.Links[0].URL, "region=ap-southeast-2#") {
				t.Errorf("Links %v", a.Links)
			}
			if _, ok := a.Details["region_name"]; ok {
				t.Errorf("region_name repeated: %v", a.Details)
			}
		}},
		{"china partition console", map[string]any{"AlarmArn": "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:x"}, "", func(t *testing.T, a incident.Alert, _ string) {
			if want := "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/checkout-api-5xx-high"; a.Links[0].URL != want {
				t.Errorf("link %q, want %q", a.Links[0].URL, want)
			}
		}},
		{"alarm name escaped in the link", map[string]any{"AlarmName": "High CPU / web#1 ?"}, "", func(t *testing.T, a incident.Alert, _ string) {
			want := "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/High%20CPU%20%2F%20web%231%20%3F"
			if a.Links[0].URL != want || a.Name != "High CPU / web#1 ?" {
				t.Errorf("link %q, want %q; Name %q", a.Links[0].URL, want, a.Name)
			}
		}},
		{"OK after INSUFFICIENT_DATA resolves a warning", map[string]any{"NewStateValue": "OK", "OldStateValue": "INSUFFICIENT_DATA"}, "", func(t *testing.T, a incident.Alert, state string) {
			if a.Status != incident.AlertResolved || a.Severity != incident.SevWarning || state != "OK" {
				t.Errorf("got %s %s %q", a.Status, a.Severity, state)
			}
		}},
		{"no reason", map[string]any{"NewStateReason": nil}, "", func(t *testing.T, a incident.Alert, _ string) {
			if a.Summary != "checkout-api-5xx-high: ALARM" {
				t.Errorf("Summary = %q", a.Summary)
			}
		}},
		{"multi-line reason", map[string]any{"NewStateReason": "line one\nline two"}, "", func(t *testing.T, a incident.Alert, _ string) {
			if a.Summary != "checkout-api-5xx-high: line one line two" {
				t.Errorf("Summary = %q", a.Summary)
			}
		}},
		{"composite alarm", map[string]any{"Trigger": nil, "AlarmRule": `ALARM("a") OR ALARM("b")`}, "", func(t *testing.T, a incident.Alert, _ string) {
			if a.Details["alarm_rule"] != `ALARM("a") OR ALARM("b")` || a.Details["metric"] != nil {
				t.Errorf("details %v", a.Details)
			}
		}},
		{"odd threshold is dropped, alarm kept", map[string]any{"Trigger": map[string]any{"MetricName": "m", "Threshold": "high"}}, "", func(t *testing.T, a incident.Alert, _ string) {
			if _, ok := a.Details["threshold"]; ok || a.Details["metric"] != "m" {
				t.Errorf("details %v", a.Details)
			}
		}},
		{"null description", map[string]any{"AlarmDescription": nil}, "", func(t *testing.T, a incident.Alert, _ string) {
			if _, ok := a.Details["description"]; ok {
				t.Errorf("details %v", a.Details)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := alarmMessage(t, tc.edit)
			if tc.topic != "" {
				m.TopicArn = tc.topic
			}
			a, state, err := ParseCloudWatchAlarm(m, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if a.Source != "cloudwatch" || !a.ReceivedAt.Equal(testNow) {
				t.Errorf("Source %q, ReceivedAt %v", a.Source, a.ReceivedAt)
			}
			tc.check(t, a, state)
		})
	}
}
