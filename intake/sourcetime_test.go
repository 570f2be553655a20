package intake

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// srcNow is the receive time of the source time tests: 07:30 on the day of
// the examples in issue 12.
var srcNow = time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)

func TestSumoSourceTime(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 24, h, m, s, 0, time.UTC) }
	cases := []struct {
		name   string
		fields string // JSON members after Name and TriggerType
		want   time.Time
	}{
		{"Sumo's own format in UTC", `"TriggerTime": "11/24/2026 07:21:00 AM UTC"`, at(7, 21, 0)},
		{"afternoon", `"TriggerTime": "11/24/2026 12:05:09 PM UTC"`, srcNow}, // ahead of srcNow: not trusted
		{"GMT", `"TriggerTime": "11/24/2026 07:20:00 AM GMT"`, at(7, 20, 0)},
		{"numeric offset", `"TriggerTime": "11/24/2026 08:20:00 AM +0100"`, at(7, 20, 0)},
		{"RFC 3339 from a custom template", `"TriggerTime": "2026-11-24T07:20:30Z"`, at(7, 20, 30)},
		{"epoch ms in TriggerTime", `"TriggerTime": "1795504800000"`, time.UnixMilli(1795504800000).UTC()},
		{"TriggerTimeEnd when TriggerTime is absent", `"TriggerTimeEnd": "1795504800000"`, time.UnixMilli(1795504800000).UTC()},
		{"TriggerTimeEnd as a number", `"TriggerTimeEnd": 1795504800000`, time.UnixMilli(1795504800000).UTC()},
		{"TriggerTime wins over TriggerTimeEnd", `"TriggerTime": "11/24/2026 07:21:00 AM UTC", "TriggerTimeEnd": "1795504800000"`, at(7, 21, 0)},
		{"a zone with no fixed offset is not trusted", `"TriggerTime": "11/24/2026 07:21:00 AM PST"`, srcNow},
		{"an unreadable TriggerTime falls to TriggerTimeEnd", `"TriggerTime": "yesterday", "TriggerTimeEnd": "1795504800000"`, time.UnixMilli(1795504800000).UTC()},
		{"unresolved variable", `"TriggerTime": ""`, srcNow},
		{"absent", ``, srcNow},
		{"nonsense", `"TriggerTime": "{{TriggerTime}}"`, srcNow},
		{"far in the future", `"TriggerTime": "11/24/2030 07:21:00 AM UTC"`, srcNow},
		{"within the allowed clock skew ahead", `"TriggerTime": "11/24/2026 07:33:00 AM UTC"`, at(7, 33, 0)},
		{"epoch zero", `"TriggerTimeEnd": "0"`, srcNow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"Name": "Checkout API 5xx rate", "TriggerType": "ResolvedCritical"`
			if tc.fields != "" {
				body += ", " + tc.fields
			}
			a, err := ParseSumoLogic([]byte(body+"}"), srcNow)
			if err != nil {
				t.Fatal(err)
			}
			if !a.SourceTime.Equal(tc.want) || !a.ReceivedAt.Equal(srcNow) {
				t.Errorf("SourceTime = %v, ReceivedAt = %v; want %v, %v", a.SourceTime, a.ReceivedAt, tc.want, srcNow)
			}
		})
	}
}

func TestCloudWatchSourceTime(t *testing.T) {
	cases := []struct {
		name string
		sct  any // StateChangeTime; nil leaves it out
		want time.Time
	}{
		{"CloudWatch's format", "2026-11-24T07:20:00.000+0000", time.Date(2026, 11, 24, 7, 20, 0, 0, time.UTC)},
		{"milliseconds kept", "2026-11-24T07:20:00.345+0000", time.Date(2026, 11, 24, 7, 20, 0, 345e6, time.UTC)},
		{"another offset", "2026-11-24T08:20:00.000+0100", time.Date(2026, 11, 24, 7, 20, 0, 0, time.UTC)},
		{"RFC 3339", "2026-11-24T07:20:00Z", time.Date(2026, 11, 24, 7, 20, 0, 0, time.UTC)},
		{"absent", nil, srcNow},
		{"empty", "", srcNow},
		{"unreadable", "24/11/26 07:20", srcNow},
		{"far ahead", "2027-01-01T00:00:00.000+0000", srcNow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := map[string]any{"AlarmName": "checkout-api-5xx-high", "NewStateValue": "OK", "OldStateValue": "ALARM"}
			if tc.sct != nil {
				msg["StateChangeTime"] = tc.sct
			}
			b, _ := json.Marshal(msg)
			a, _, err := ParseCloudWatchAlarm(SNSMessage{Type: snsNotification, Message: string(b)}, srcNow)
			if err != nil {
				t.Fatal(err)
			}
			if !a.SourceTime.Equal(tc.want) {
				t.Errorf("SourceTime = %v, want %v", a.SourceTime, tc.want)
			}
		})
	}
}

func TestGenericSourceTime(t *testing.T) {
	cases := []struct {
		name      string
		timestamp string // raw JSON; "" leaves it out
		want      time.Time
	}{
		{"RFC 3339", `"2026-11-24T07:20:00Z"`, time.Date(2026, 11, 24, 7, 20, 0, 0, time.UTC)},
		{"RFC 3339 with an offset and fraction", `"2026-11-24T08:20:00.250+01:00"`, time.Date(2026, 11, 24, 7, 20, 0, 250e6, time.UTC)},
		{"Unix seconds", `1795504800`, time.Unix(1795504800, 0).UTC()},
		{"Unix seconds with a fraction", `1795504800.5`, time.UnixMilli(1795504800500).UTC()},
		{"Unix milliseconds", `1795504800123`, time.UnixMilli(1795504800123).UTC()},
		{"absent", ``, srcNow},
		{"null", `null`, srcNow},
		{"not a time", `"soon"`, srcNow},
		{"an object", `{"at": 1}`, srcNow},
		{"negative", `-5`, srcNow},
		{"far ahead", `"2030-01-01T00:00:00Z"`, srcNow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"summary": "disk full on db-1", "status": "resolved"`
			if tc.timestamp != "" {
				body += `, "timestamp": ` + tc.timestamp
			}
			a, err := ParseGeneric([]byte(body+"}"), srcNow)
			if err != nil {
				t.Fatalf("a bad timestamp must not refuse the alert: %v", err)
			}
			if !a.SourceTime.Equal(tc.want) || a.Status != incident.AlertResolved {
				t.Errorf("SourceTime = %v, want %v", a.SourceTime, tc.want)
			}
		})
	}
}
