package intake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

// hostileURL would end a Slack link early and mention everyone.
const hostileURL = "https://example.com/x> <!channel> <@U0HOSTILE> <https://example.com/y"

// TestControlCharactersRefused: a dedup key or service name with a control
// character is refused with 400 naming the field, in every source, and
// nothing is stored.
func TestControlCharactersRefused(t *testing.T) {
	e := newIntakeEnv(t)
	cwWith := func(id string, edit map[string]any) string {
		return signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) {
			m.MessageId = id
			m.Message = alarmMessage(t, edit).Message
		})
	}
	tests := []struct {
		name string
		req  request
		says string
	}{
		{"generic dedup_key with NUL", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"x","dedup_key":"k\u0000"}`}, `field "dedup_key": must not contain control characters such as NUL, CR or LF (found U+0000 at character 2)`},
		{"generic dedup_key with CRLF", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"x","dedup_key":"a\r\nSet-Cookie: x"}`}, `field "dedup_key": must not contain control characters such as NUL, CR or LF (found U+000D at character 2)`},
		{"generic dedup_key ending in LF", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"x","dedup_key":"z\n"}`}, `field "dedup_key": must not contain control characters such as NUL, CR or LF (found U+000A at character 2)`},
		{"generic dedup_key starting with CRLF", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"x","dedup_key":" \r\nz"}`}, `field "dedup_key": must not contain control characters`},
		{"generic service ending in a tab", request{path: "generic", token: genericToken,
			body: `{"service":"checkout\t","summary":"x"}`}, `field "service": must not contain control characters`},
		{"generic dedup_key ending in NEL", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"x","dedup_key":"z\u0085"}`}, `field "dedup_key": must not contain control characters`},
		{"Sumo monitor Id ending in CR", request{path: "sumologic?service=checkout", token: sumoToken,
			body: `{"Name":"x","TriggerType":"Critical","Id":"H1\r"}`}, `field "Id": must not contain control characters`},
		{"CloudWatch AlarmArn ending in LF", request{path: "cloudwatch", token: cwToken,
			body: cwWith("cc-3", map[string]any{"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout\n"})}, `field "Message.AlarmArn": must not contain control characters`},
		{"generic service with LF", request{path: "generic", token: genericToken,
			body: `{"service":"check\nout","summary":"x"}`}, `field "service": must not contain control characters`},
		{"query service with CR", request{path: "generic?service=" + url.QueryEscape("checkout\r"), token: genericToken,
			body: `{"summary":"x"}`}, "query parameter ?service= must not contain control characters such as NUL, CR or LF (found U+000D at character 9)"},
		{"Sumo dedup_key with NUL", request{path: "sumologic?service=checkout", token: sumoToken,
			body: `{"Name":"x","TriggerType":"Critical","dedup_key":"\u0000"}`}, `field "dedup_key": must not contain control characters`},
		{"Sumo service with tab", request{path: "sumologic", token: sumoToken,
			body: `{"Name":"x","TriggerType":"Critical","service":"check\tout"}`}, `field "service": must not contain control characters`},
		{"Sumo monitor Id with LF", request{path: "sumologic?service=checkout", token: sumoToken,
			body: `{"Name":"x","TriggerType":"Critical","Id":"00A\n1"}`}, `field "Id": must not contain control characters`},
		{"CloudWatch AlarmArn with NUL", request{path: "cloudwatch", token: cwToken,
			body: cwWith("cc-1", map[string]any{"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout\u0000"})}, `field "Message.AlarmArn": must not contain control characters`},
		{"CloudWatch AlarmName with CRLF and no ARN", request{path: "cloudwatch", token: cwToken,
			body: cwWith("cc-2", map[string]any{"AlarmArn": nil, "AlarmName": "checkout\r\nhigh"})}, `field "Message.AlarmName": must not contain control characters`},
		{"Alertmanager fingerprint ending in CR", request{path: "alertmanager", token: amToken,
			body: amBodyWith(amAlertJSON("ok"), amAlertJSON(`fp\r`))}, `field "alerts[1].fingerprint": must not contain control characters`},
		{"Grafana service label with NUL", request{path: "grafana", token: grafanaToken,
			body: amBodyWith(amAlertJSON("fp", `"labels":{"alertname":"x","service":"check\u0000out"}`))}, `field "alerts[0].labels.service": must not contain control characters`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.rdb)
			code, out := e.do(t, tc.req)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; reply %v", code, out)
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tc.says) {
				t.Errorf("error %q does not say %q", msg, tc.says)
			}
			if after := snapshot(t, e.rdb); len(after) != len(before) {
				t.Errorf("Redis changed: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

// TestHostileLinksKeepTheAlert: a link that would smuggle markup into chat
// costs the link, never the alert: it is stored without it, with a note.
func TestHostileLinksKeepTheAlert(t *testing.T) {
	e := newIntakeEnv(t)
	hostile, _ := json.Marshal(hostileURL)
	tests := []struct {
		name  string
		req   request
		links []incident.Link
	}{
		{"generic links", request{path: "generic", token: genericToken,
			body: `{"service":"checkout","summary":"disk full","links":[{"text":"graph","url":` + string(hostile) + `},{"text":"runbook","url":"https://runbooks.example.com/disk?a=1&b=2"}]}`},
			[]incident.Link{{Text: "runbook", URL: "https://runbooks.example.com/disk?a=1&b=2"}}},
		{"Sumo QueryURL", request{path: "sumologic?service=database", token: sumoToken,
			body: `{"Name":"db errors","TriggerType":"Critical","QueryURL":` + string(hostile) + `,"SourceURL":"https://service.sumologic.com/ui/#/monitor/1"}`},
			[]incident.Link{{Text: "monitor", URL: "https://service.sumologic.com/ui/#/monitor/1"}}},
		{"Alertmanager generatorURL", request{path: "alertmanager?service=database", token: amToken,
			body: amBodyWith(amAlertJSON("h1", `"generatorURL":`+string(hostile), `"annotations":{"summary":"x","runbook_url":"https://runbooks.example.com/x"}`))},
			[]incident.Link{{Text: "runbook", URL: "https://runbooks.example.com/x"}}},
		{"Grafana panelURL", request{path: "grafana?service=database", token: grafanaToken,
			body: amBodyWith(amAlertJSON("h2", `"generatorURL":""`, `"panelURL":`+string(hostile), `"dashboardURL":"https://grafana.example.com/d/1"`))},
			[]incident.Link{{Text: "dashboard", URL: "https://grafana.example.com/d/1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.req.path, "alertmanager") || strings.HasPrefix(tc.req.path, "grafana") {
				// A list of replies: the first alert's.
				code, replies, msg := e.postBatch(t, tc.req.path, tc.req.token, tc.req.body)
				if code != http.StatusAccepted || len(replies) != 1 {
					t.Fatalf("status %d, want 202; %v %s", code, replies, msg)
				}
				inc, _, err := e.store.Get(context.Background(), replies[0].Incident)
				if err != nil {
					t.Fatal(err)
				}
				if len(inc.Links) != len(tc.links) || inc.Links[0] != tc.links[0] {
					t.Errorf("links = %+v, want %+v", inc.Links, tc.links)
				}
				return
			}
			code, out := e.do(t, tc.req)
			if code != http.StatusAccepted {
				t.Fatalf("status %d, want 202; reply %v", code, out)
			}
			n, _ := out["incident"].(float64)
			inc, _, err := e.store.Get(context.Background(), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if len(inc.Links) != len(tc.links) || inc.Links[0] != tc.links[0] {
				t.Errorf("links = %+v, want %+v", inc.Links, tc.links)
			}
			for _, l := range inc.Links {
				if strings.ContainsAny(l.URL, "<>| ") {
					t.Errorf("a stored link holds markup: %q", l.URL)
				}
			}
		})
	}
}
