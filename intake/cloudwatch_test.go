package intake

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
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
		{"alarm ARN with NUL", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"AlarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:x\u0000"})
		}, "Message.AlarmArn", "must not contain control characters such as NUL, CR or LF (found U+0000"},
		{"alarm name with CRLF and no ARN", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"AlarmArn": nil, "AlarmName": "db\r\nhigh"})
		}, "Message.AlarmName", "(found U+000D at character 3)"},
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

// TestCloudWatchMetricsAndChildren pins what metric-math, anomaly-detection
// and composite alarms keep in their details (the golden files hold the
// whole alerts), and that the lists are bounded and read leniently.
func TestCloudWatchMetricsAndChildren(t *testing.T) {
	long := strings.Repeat("x", 500)
	many := make([]any, 8)
	for i := range many {
		many[i] = map[string]any{"Id": fmt.Sprintf("m%d", i), "MetricStat": map[string]any{"Metric": map[string]any{
			"Namespace": "AWS/SQS", "MetricName": long, "Dimensions": []any{map[string]any{"Name": "QueueName", "Value": long}}}, "Stat": "Sum"}}
	}
	cases := []struct {
		name  string
		msg   func(t *testing.T) SNSMessage
		check func(t *testing.T, d map[string]any)
	}{
		{"metric math names its metrics", func(t *testing.T) SNSMessage { return loadSNS(t, "sns-cloudwatch-metric-math") }, func(t *testing.T, d map[string]any) {
			ms, _ := d["metrics"].([]any)
			if len(ms) != 3 {
				t.Fatalf("metrics = %#v", d["metrics"])
			}
			e1, m1 := ms[0].(map[string]any), ms[1].(map[string]any)
			if e1["expression"] != "100 * errors / invocations" || e1["return_data"] != true {
				t.Errorf("metrics[0] = %#v", e1)
			}
			if m1["namespace"] != "AWS/Lambda" || m1["metric"] != "Errors" || m1["stat"] != "Sum" ||
				m1["dimensions"].(map[string]any)["FunctionName"] != "payments-api" || m1["return_data"] != nil {
				t.Errorf("metrics[1] = %#v", m1)
			}
		}},
		{"anomaly detection names its band", func(t *testing.T) SNSMessage { return loadSNS(t, "sns-cloudwatch-anomaly") }, func(t *testing.T, d map[string]any) {
			if d["threshold_metric_id"] != "ad1" {
				t.Errorf("threshold_metric_id = %#v", d["threshold_metric_id"])
			}
			if ms, _ := d["metrics"].([]any); len(ms) != 2 || ms[0].(map[string]any)["metric"] != "ApproximateNumberOfMessagesVisible" {
				t.Errorf("metrics = %#v", d["metrics"])
			}
		}},
		{"composite names its triggering children", func(t *testing.T) SNSMessage { return loadSNS(t, "sns-cloudwatch-composite") }, func(t *testing.T, d map[string]any) {
			cs, _ := d["triggering_children"].([]any)
			if len(cs) != 1 || cs[0].(map[string]any)["alarm"] != "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-api-5xx-high" ||
				cs[0].(map[string]any)["state"] != "ALARM" || cs[0].(map[string]any)["timestamp"] != "2025-11-24T14:03:12.345+0000" {
				t.Errorf("triggering_children = %#v", d["triggering_children"])
			}
			if d["alarm_rule"] == nil {
				t.Error("alarm_rule lost")
			}
		}},
		{"a long composite rule is cut and the children stay", func(t *testing.T) SNSMessage {
			var rule []string
			for i := range 50 {
				rule = append(rule, fmt.Sprintf(`ALARM("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-child-%02d")`, i))
			}
			return alarmMessage(t, map[string]any{"AlarmRule": strings.Join(rule, " OR "),
				"TriggeringChildren": []any{map[string]any{"Arn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-child-07",
					"State": map[string]any{"Value": "ALARM", "Timestamp": "2025-11-24T14:03:12.345+0000"}}}})
		}, func(t *testing.T, d map[string]any) {
			if r, _ := d["alarm_rule"].(string); utf8.RuneCountInString(r) != maxAlarmRule || !strings.HasSuffix(r, text.Ellipsis) {
				t.Errorf("alarm_rule of %d characters", utf8.RuneCountInString(r))
			}
			if cs, _ := d["triggering_children"].([]any); len(cs) != 1 {
				t.Errorf("triggering_children = %#v (details %#v)", d["triggering_children"], d)
			}
		}},
		{"children as plain ARNs, the documented schema", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"TriggeringChildren": []any{"arn:aws:cloudwatch:us-east-1:1:alarm:a", 7, nil, map[string]any{"Arn": []any{}}}})
		}, func(t *testing.T, d map[string]any) {
			if cs, _ := d["triggering_children"].([]any); len(cs) != 1 || cs[0].(map[string]any)["alarm"] != "arn:aws:cloudwatch:us-east-1:1:alarm:a" {
				t.Errorf("triggering_children = %#v", d["triggering_children"])
			}
		}},
		{"long lists are cut and counted, long strings truncated", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"Trigger": map[string]any{"Metrics": many}})
		}, func(t *testing.T, d map[string]any) {
			ms, _ := d["metrics"].([]any)
			if len(ms) != maxCWListed || d["metrics_total"] != 8 {
				t.Fatalf("%d metrics, metrics_total = %#v", len(ms), d["metrics_total"])
			}
			m := ms[0].(map[string]any)
			if name := m["metric"].(string); utf8.RuneCountInString(name) != maxCWText || !strings.HasSuffix(name, text.Ellipsis) {
				t.Errorf("metric name of %d characters: %q", utf8.RuneCountInString(name), name)
			}
			if v := m["dimensions"].(map[string]any)["QueueName"].(string); utf8.RuneCountInString(v) != maxCWText {
				t.Errorf("dimension value of %d characters", utf8.RuneCountInString(v))
			}
		}},
		{"surprises in the lists do not cost the alarm", func(t *testing.T) SNSMessage {
			return alarmMessage(t, map[string]any{"TriggeringChildren": "nope", "Trigger": map[string]any{"Metrics": []any{1, "x", map[string]any{"Id": 5}, map[string]any{"Id": "ok", "ReturnData": "yes"}}}})
		}, func(t *testing.T, d map[string]any) {
			if d["metrics"] != nil || d["triggering_children"] != nil {
				t.Errorf("metrics = %#v, triggering_children = %#v", d["metrics"], d["triggering_children"])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _, err := ParseCloudWatchAlarm(tc.msg(t), testNow)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a.Details)
		})
	}
}
