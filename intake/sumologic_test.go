package intake

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

// wantInputError fails unless err is an *InputError for field whose message
// contains msg.
func wantInputError(t *testing.T, err error, field, msg string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error = %v (%T), want *InputError", err, err)
	}
	if ie.Field != field {
		t.Errorf("Field = %q, want %q (error: %v)", ie.Field, field, err)
	}
	if !strings.Contains(ie.Msg, msg) {
		t.Errorf("Msg = %q, want it to contain %q", ie.Msg, msg)
	}
}

func TestParseSumoLogicErrors(t *testing.T) {
	cases := []struct {
		name, body, field, msg string
	}{
		{"truncated JSON", `{"Name": "disk full", "TriggerType": "Crit`, "", "body is not valid JSON: unexpected end of input at byte 42"},
		{"syntax error", `{"Name": "disk full",}`, "", "body is not valid JSON: invalid character '}' looking for beginning of object key string at byte 22"},
		{"trailing data", `{"Name": "disk full"} {}`, "", "body is not valid JSON: invalid character '{' after top-level value"},
		{"empty body", ``, "", "body is empty"},
		{"whitespace body", " \n", "", "body is empty"},
		{"array body", `[{"Name": "disk full"}]`, "", "body must be a JSON object, not an array"},
		{"null body", `null`, "", "body must be a JSON object, not null"},
		{"string body", `"Critical"`, "", "body must be a JSON object, not a string"},
		{"unknown trigger type", `{"Name": "disk full", "TriggerType": "Urgent"}`, "TriggerType", `must be one of Critical, Warning, MissingData, ResolvedCritical, ResolvedWarning, ResolvedMissingData (got "Urgent")`},
		{"trigger type as number", `{"Name": "disk full", "trigger_type": 2}`, "trigger_type", `must be a string, not a number; put the variable in quotes, as in "trigger_type": "{{TriggerType}}"`},
		{"name as object", `{"Name": {"first": "disk"}, "TriggerType": "Critical"}`, "Name", "must be a string, not an object"},
		{"name as boolean", `{"name": true}`, "name", "must be a string, not a boolean"},
		{"name as array", `{"SearchName": ["a"]}`, "SearchName", "must be a string, not an array"},
		{"results count as object", `{"Name": "x", "NumQueryResults": {}}`, "NumQueryResults", "must be a string, not an object"},
		{"id as number", `{"Name": "x", "TriggerType": "Critical", "Id": 123}`, "Id", "must be a string, not a number"},
		{"monitor without name", `{"TriggerType": "Critical", "Query": "error"}`, "Name", `is required; add "Name": "{{Name}}"`},
		{"blank name", `{"Name": "  \n ", "TriggerType": "Critical"}`, "Name", "is required"},
		{"unresolved name", `{"Name": "", "SearchName": ""}`, "Name", "is required"},
		{"no known key", `{"alert": "disk full", "level": "high"}`, "Name", "is required"},
		{"bad severity", `{"Name": "x", "TriggerType": "Critical", "severity": "urgent"}`, "severity", `must be one of critical, warning, info (got "urgent")`},
		{"bad severity on search", `{"SearchName": "x", "SEVERITY": "P1"}`, "SEVERITY", `(got "P1")`},
		{"duplicate spelling", `{"Name": "a", "name": "b", "TriggerType": "Critical"}`, "Name", `is given twice, also as "name"`},
		{"dedup key with NUL", `{"Name": "x", "dedup_key": "a\u0000b"}`, "dedup_key", "must not contain control characters such as NUL, CR or LF (found U+0000 at character 2)"},
		{"dedup key with CRLF", `{"Name": "x", "DedupKey": "a\r\nb"}`, "DedupKey", "(found U+000D at character 2)"},
		{"service with LF", `{"Name": "x", "Service": "pay\nments"}`, "Service", "(found U+000A at character 4)"},
		{"monitor id with CR", `{"Name": "x", "TriggerType": "Critical", "Id": "00A\r1"}`, "Id", "(found U+000D at character 4)"},
		{"duplicate snake and camel", `{"Name": "a", "trigger_type": "Critical", "TriggerType": "Warning"}`, "TriggerType", `also as "trigger_type"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseSumoLogic([]byte(tc.body), testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			wantInputError(t, err, tc.field, tc.msg)
		})
	}
}

func TestInputErrorSentence(t *testing.T) {
	cases := []struct {
		name string
		err  *InputError
		want string
	}{
		{"field", &InputError{Field: "severity", Msg: `must be one of critical, warning, info (got "urgent")`},
			`field "severity": must be one of critical, warning, info (got "urgent")`},
		{"body", &InputError{Msg: "body is not valid JSON: unexpected end of input at byte 42"},
			"body is not valid JSON: unexpected end of input at byte 42"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	_, err := ParseSumoLogic([]byte(`{"Name": "x", "TriggerType": "Critical", "severity": "urgent"}`), testNow)
	if want := `field "severity": must be one of critical, warning, info (got "urgent")`; err == nil || err.Error() != want {
		t.Errorf("ParseSumoLogic error = %v, want %s", err, want)
	}
}

// TestParseSumoLogicKeySpellings feeds one payload under every spelling a
// customer template might use and expects the same alert each time.
func TestParseSumoLogicKeySpellings(t *testing.T) {
	fields := [][2]string{
		{"Id", "0000000000A1B2C3"},
		{"Name", "Checkout API 5xx rate"},
		{"Description", "5xx from checkout"},
		{"TriggerType", "Warning"},
		{"TriggerCondition", "Greater than 20"},
		{"QueryURL", "https://service.sumologic.com/ui/#/search/1"},
		{"AlertResponseUrl", "https://service.sumologic.com/ui/#/alert/2"},
		{"NumQueryResults", "3"},
		{"ResultsJson", `[{"_count":"3"}]`},
	}
	snake := map[string]string{
		"Id": "id", "Name": "name", "Description": "description", "TriggerType": "trigger_type",
		"TriggerCondition": "trigger_condition", "QueryURL": "query_url", "AlertResponseUrl": "alert_response_url",
		"NumQueryResults": "num_query_results", "ResultsJson": "results_json",
	}
	spellings := []struct {
		name string
		key  func(string) string
	}{
		{"Sumo variables", func(k string) string { return k }},
		{"lower case", strings.ToLower},
		{"upper case", strings.ToUpper},
		{"snake case", func(k string) string { return snake[k] }},
		{"upper snake case", func(k string) string { return strings.ToUpper(snake[k]) }},
		{"camel case", func(k string) string { return strings.ToLower(k[:1]) + k[1:] }},
	}
	build := func(key func(string) string) []byte {
		m := map[string]string{}
		for _, f := range fields {
			m[key(f[0])] = f[1]
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want, err := ParseSumoLogic(build(spellings[0].key), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if want.Severity != incident.SevWarning || want.DedupKey != "sumologic:monitor:0000000000A1B2C3" || len(want.Links) != 2 || want.Details["results"] == nil {
		t.Fatalf("reference alert is wrong: %+v", want)
	}
	for _, sp := range spellings[1:] {
		t.Run(sp.name, func(t *testing.T) {
			got, err := ParseSumoLogic(build(sp.key), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseSumoLogicTriggerTypes(t *testing.T) {
	cases := []struct {
		trigger string
		sev     incident.Severity
		status  incident.AlertStatus
		missing bool
	}{
		{"Critical", incident.SevCritical, incident.AlertFiring, false},
		{"Warning", incident.SevWarning, incident.AlertFiring, false},
		{"MissingData", incident.SevWarning, incident.AlertFiring, true},
		{"Missing Data", incident.SevWarning, incident.AlertFiring, true},
		{"ResolvedCritical", incident.SevCritical, incident.AlertResolved, false},
		{"ResolvedWarning", incident.SevWarning, incident.AlertResolved, false},
		{"ResolvedMissingData", incident.SevWarning, incident.AlertResolved, true},
		{"Normal", incident.SevInfo, incident.AlertResolved, false},
		{"critical", incident.SevCritical, incident.AlertFiring, false},
		{"RESOLVED_WARNING", incident.SevWarning, incident.AlertResolved, false},
		{" Warning ", incident.SevWarning, incident.AlertFiring, false},
	}
	for _, tc := range cases {
		t.Run(tc.trigger, func(t *testing.T) {
			body := `{"Id": "00000000000468D5", "Name": "Queue depth", "TriggerType": "` + tc.trigger + `", "TriggerCondition": "Greater than 100"}`
			a, err := ParseSumoLogic([]byte(body), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if a.Severity != tc.sev || a.Status != tc.status {
				t.Errorf("Severity, Status = %s, %s; want %s, %s", a.Severity, a.Status, tc.sev, tc.status)
			}
			if a.DedupKey != "sumologic:monitor:00000000000468D5" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
			if _, noted := a.Details["note"]; noted != tc.missing {
				t.Errorf("missing-data note present = %v, want %v", noted, tc.missing)
			}
			if want := tc.missing || tc.status == incident.AlertResolved; want == strings.Contains(a.Summary, "Greater than 100") {
				t.Errorf("Summary = %q: the condition belongs only in firing, non-missing-data summaries", a.Summary)
			}
		})
	}
}

func TestParseSumoLogicFields(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, a incident.Alert)
	}{
		{"dedup_key overrides", `{"Name": "x", "TriggerType": "Critical", "Id": "1", "dedup_key": "db-primary-down"}`, func(t *testing.T, a incident.Alert) {
			if a.DedupKey != "db-primary-down" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
		}},
		{"blank dedup_key is ignored", `{"Name": "x", "TriggerType": "Critical", "Id": "1", "DedupKey": "  "}`, func(t *testing.T, a incident.Alert) {
			if a.DedupKey != "sumologic:monitor:1" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
		}},
		{"monitor without Id dedups on the name", `{"Name": "  Disk Full  ", "TriggerType": "Critical"}`, func(t *testing.T, a incident.Alert) {
			if a.DedupKey != "sumologic:monitor:disk full" || a.Name != "Disk Full" {
				t.Errorf("DedupKey, Name = %q, %q", a.DedupKey, a.Name)
			}
		}},
		{"severity overrides the trigger", `{"Name": "x", "TriggerType": "Critical", "severity": " Info "}`, func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevInfo {
				t.Errorf("Severity = %s", a.Severity)
			}
		}},
		{"empty severity keeps the trigger's", `{"Name": "x", "TriggerType": "Critical", "severity": ""}`, func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevCritical {
				t.Errorf("Severity = %s", a.Severity)
			}
		}},
		{"search severity from the payload", `{"SearchName": "Nightly Job", "severity": "critical"}`, func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevCritical || a.Status != incident.AlertFiring || a.DedupKey != "sumologic:search:nightly job" {
				t.Errorf("got %s %s %q", a.Severity, a.Status, a.DedupKey)
			}
		}},
		{"search name wins over Name for searches", `{"SearchName": "Legacy", "Name": "Modern"}`, func(t *testing.T, a incident.Alert) {
			if a.Name != "Legacy" {
				t.Errorf("Name = %q", a.Name)
			}
		}},
		{"Name wins over SearchName for monitors", `{"SearchName": "Legacy", "Name": "Modern", "TriggerType": "Warning"}`, func(t *testing.T, a incident.Alert) {
			if a.Name != "Modern" {
				t.Errorf("Name = %q", a.Name)
			}
		}},
		{"unquoted results are taken as JSON", `{"Name": "x", "ResultsJson": [{"host": "a", "n": 12345678901234567890}]}`, func(t *testing.T, a incident.Alert) {
			rows, ok := a.Details["results"].([]any)
			if !ok || len(rows) != 1 || rows[0].(map[string]any)["n"] != json.Number("12345678901234567890") {
				t.Errorf("results = %#v", a.Details["results"])
			}
		}},
		{"broken results are kept as text", `{"Name": "x", "ResultsJson": "[{\"host\": \"a\""}`, func(t *testing.T, a incident.Alert) {
			if a.Details["results"] != `[{"host": "a"` {
				t.Errorf("results = %#v", a.Details["results"])
			}
		}},
		{"empty results are left out", `{"Name": "x", "ResultsJson": "", "AggregateResultsJson": null}`, func(t *testing.T, a incident.Alert) {
			if _, ok := a.Details["results"]; ok {
				t.Errorf("results = %#v", a.Details["results"])
			}
			if _, ok := a.Details["aggregate_results"]; ok {
				t.Errorf("aggregate_results = %#v", a.Details["aggregate_results"])
			}
		}},
		{"numbers are tolerated where Sumo sends numbers", `{"Name": "x", "NumQueryResults": 17, "TriggerValue": 98.5, "TriggerTimeStart": 1626189692042}`, func(t *testing.T, a incident.Alert) {
			if a.Details["num_results"] != int64(17) || a.Details["trigger_value"] != "98.5" || a.Details["trigger_time_start"] != "1626189692042" {
				t.Errorf("details = %#v", a.Details)
			}
		}},
		{"a non-numeric count is kept as text", `{"Name": "x", "NumRawResults": "many"}`, func(t *testing.T, a incident.Alert) {
			if a.Details["num_results"] != "many" {
				t.Errorf("num_results = %#v", a.Details["num_results"])
			}
		}},
		{"links only for http URLs", `{"Name": "x", "QueryURL": "javascript:alert(1)", "AlertResponseUrl": "/ui/alert/1", "SourceURL": "", "Playbook": "Restart the pod"}`, func(t *testing.T, a incident.Alert) {
			if len(a.Links) != 0 {
				t.Errorf("Links = %+v", a.Links)
			}
			if a.Details["playbook"] != "Restart the pod" {
				t.Errorf("playbook = %#v", a.Details["playbook"])
			}
		}},
		{"hostile URLs are dropped with a note, the alert kept", `{"Name": "x", "TriggerType": "Critical",
			"QueryURL": "https://example.com/x> <!channel> <@U0HOSTILE> <https://example.com/y",
			"AlertResponseUrl": "https://service.sumologic.com/ui/#/alert/1|click", "SourceURL": "https://service.sumologic.com/ui/#/monitor/2"}`, func(t *testing.T, a incident.Alert) {
			if len(a.Links) != 1 || a.Links[0] != (incident.Link{Text: "monitor", URL: "https://service.sumologic.com/ui/#/monitor/2"}) {
				t.Errorf("Links = %+v", a.Links)
			}
			notes, _ := a.Details["dropped_links"].([]string)
			if len(notes) != 2 || !strings.HasPrefix(notes[0], "QueryURL: must not contain spaces") || !strings.HasPrefix(notes[1], "AlertResponseUrl: must not contain") {
				t.Errorf("dropped_links = %q", notes)
			}
		}},
		{"legacy query URL", `{"SearchName": "x", "SearchQueryUrl": "https://service.sumologic.com/ui/#/search/9"}`, func(t *testing.T, a incident.Alert) {
			if len(a.Links) != 1 || a.Links[0] != (incident.Link{Text: "query", URL: "https://service.sumologic.com/ui/#/search/9"}) {
				t.Errorf("Links = %+v", a.Links)
			}
		}},
		{"escaped strings decode", `{"Name": "Checkout \"EU\"\n5xx \u00e9", "TriggerType": "Critical"}`, func(t *testing.T, a incident.Alert) {
			if a.Name != `Checkout "EU" 5xx é` {
				t.Errorf("Name = %q", a.Name)
			}
		}},
		{"a short condition joins the summary", `{"Name": "Queue", "TriggerType": "Critical", "TriggerCondition": "Greater than 10"}`, func(t *testing.T, a incident.Alert) {
			if a.Summary != "Queue: Greater than 10" {
				t.Errorf("Summary = %q", a.Summary)
			}
		}},
		{"a long condition stays in details", `{"Name": "Queue", "TriggerType": "Critical", "TriggerCondition": "` + strings.Repeat("x", maxConditionInSummary+1) + `"}`, func(t *testing.T, a incident.Alert) {
			if a.Summary != "Queue" {
				t.Errorf("Summary = %q", a.Summary)
			}
		}},
		{"a huge name is cut", `{"Name": "` + strings.Repeat("é", 2000) + `"}`, func(t *testing.T, a incident.Alert) {
			if n := len([]rune(a.Summary)); n != maxSummary {
				t.Errorf("summary has %d characters", n)
			}
		}},
		{"unknown keys and the body stay out of details", `{"Name": "x", "TriggerType": "Critical", "ticket": "PAY-1", "Query": "error"}`, func(t *testing.T, a incident.Alert) {
			want := map[string]any{"trigger_type": "Critical", "query": "error"}
			if !reflect.DeepEqual(a.Details, want) {
				t.Errorf("Details = %#v, want %#v", a.Details, want)
			}
		}},
		{"alert name differing from Name is kept", `{"Name": "x", "AlertName": "x on host-7"}`, func(t *testing.T, a incident.Alert) {
			if a.Details["alert_name"] != "x on host-7" {
				t.Errorf("alert_name = %#v", a.Details["alert_name"])
			}
		}},
		{"service routes", `{"Name": "x", "SERVICE": " database "}`, func(t *testing.T, a incident.Alert) {
			if a.Service != "database" || a.Source != "sumologic" {
				t.Errorf("Service, Source = %q, %q", a.Service, a.Source)
			}
		}},
		{"null values are absent", `{"Name": "x", "Id": null, "TriggerType": null}`, func(t *testing.T, a incident.Alert) {
			if a.DedupKey != "sumologic:search:x" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseSumoLogic([]byte(tc.body), testNow)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}
