package intake

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

func TestParseGenericErrors(t *testing.T) {
	long := strings.Repeat("é", maxSummary+1)
	cases := []struct {
		name, body, field, msg string
	}{
		{"truncated JSON", `{"summary": "disk full"`, "", "body is not valid JSON: unexpected end of input at byte 23"},
		{"syntax error", `{"summary": "disk full",}`, "", "body is not valid JSON: invalid character '}' looking for beginning of object key string at byte 25"},
		{"two objects", `{"summary": "a"} {"summary": "b"}`, "", "body has more data after the JSON object, at byte 18"},
		{"trailing garbage", `{"summary": "a"} x`, "", "body has more data after the JSON object"},
		{"empty body", ``, "", "body is empty; send a JSON object"},
		{"array body", `[{"summary": "a"}]`, "", "body must be a JSON object, not an array"},
		{"null body", `null`, "", "body must be a JSON object, not null"},
		{"number body", `42`, "", "body must be a JSON object, not a number"},
		{"a word that starts like null", `nope`, "", "body is not valid JSON: invalid character 'o' in literal null (expecting 'u') at byte 2"},
		{"a word that starts like true", `tx`, "", "body is not valid JSON: invalid character 'x' in literal true (expecting 'r') at byte 2"},
		{"a minus that is no number", `-x`, "", "body is not valid JSON: invalid character 'x' in numeric literal at byte 2"},
		{"an unterminated string", `"unterminated`, "", "body is not valid JSON: unexpected end of input"},
		{"not JSON", `summary=disk+full`, "", "body is not valid JSON: invalid character 's' looking for beginning of value at byte 1"},
		{"missing summary", `{"severity": "critical"}`, "summary", "is required"},
		{"blank summary", `{"summary": " \n\t "}`, "summary", "is required"},
		{"summary too long", `{"summary": "` + long + `"}`, "summary", "must be at most 1024 characters (got 1025)"},
		{"summary as number", `{"summary": 42}`, "summary", "must be a string, not a number (at byte 14)"},
		{"summary as object", `{"summary": {"text": "x"}}`, "summary", "must be a string, not an object"},
		{"unknown severity", `{"summary": "a", "severity": "urgent"}`, "severity", `must be one of critical, warning, info (got "urgent")`},
		{"severity as number", `{"summary": "a", "severity": 1}`, "severity", "must be a string, not a number"},
		{"unknown status", `{"summary": "a", "status": "open"}`, "status", `must be firing or resolved (got "open")`},
		{"status as boolean", `{"summary": "a", "status": true}`, "status", "must be a string, not a boolean"},
		{"details as array", `{"summary": "a", "details": ["x"]}`, "details", "must be a JSON object, not an array"},
		{"details as string", `{"summary": "a", "details": "x"}`, "details", "must be a JSON object, not a string"},
		{"dedup key as number", `{"summary": "a", "dedup_key": 7}`, "dedup_key", "must be a string, not a number"},
		{"dedup key with NUL", `{"summary": "a", "dedup_key": "db\u0000x"}`, "dedup_key", "must not contain control characters such as NUL, CR or LF (found U+0000 at character 3)"},
		{"dedup key with CRLF", `{"summary": "a", "dedup_key": "db\r\nx"}`, "dedup_key", "must not contain control characters such as NUL, CR or LF (found U+000D at character 3)"},
		{"dedup key with a line separator", `{"summary": "a", "dedup_key": "db\u2028x"}`, "dedup_key", "(found U+2028 at character 3)"},
		{"service with LF", `{"summary": "a", "service": "pay\nments"}`, "service", "must not contain control characters such as NUL, CR or LF (found U+000A at character 4)"},
		{"service with DEL", `{"summary": "a", "service": "pay\u007f"}`, "service", "(found U+007F at character 4)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseGeneric([]byte(tc.body), testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			wantInputError(t, err, tc.field, tc.msg)
		})
	}
}

// TestParseGenericDropsBadLinks: a bad link never costs the alert; it is
// left out and named in details["dropped_links"].
func TestParseGenericDropsBadLinks(t *testing.T) {
	hostile := "https://example.com/x> <!channel> <@U0HOSTILE> <https://example.com/y"
	cases := []struct {
		name, body string
		links      []incident.Link
		notes      []string
	}{
		{"links as object", `{"summary": "a", "links": {"url": "https://x.example"}}`, nil,
			[]string{"links: must be a JSON array, not an object"}},
		{"link as string", `{"summary": "a", "links": [{"url": "https://a.example"}, "https://b.example"]}`,
			[]incident.Link{{URL: "https://a.example"}}, []string{`links[1]: must be an object such as {"text": "runbook", "url": "https://..."}, not a string`}},
		{"link as null", `{"summary": "a", "links": [null]}`, nil, []string{"links[0]: must be an object such as"}},
		{"link without url", `{"summary": "a", "links": [{"text": "runbook"}]}`, nil, []string{"links[0].url: is required"}},
		{"relative url", `{"summary": "a", "links": [{"url": "/runbooks/db"}]}`, nil,
			[]string{`links[0].url: must be an absolute http or https URL (got "/runbooks/db")`}},
		{"ftp url", `{"summary": "a", "links": [{"url": "ftp://files.example.com/x"}]}`, nil, []string{"links[0].url: must be an absolute http or https URL"}},
		{"javascript url", `{"summary": "a", "links": [{"url": "javascript:alert(1)"}]}`, nil, []string{"links[0].url: must be an absolute http or https URL"}},
		{"url with a space", `{"summary": "a", "links": [{"url": "https://exa mple.com/%zz"}]}`, nil,
			[]string{"links[0].url: must not contain spaces, control characters, <, > or |"}},
		{"hostile url", `{"summary": "a", "links": [{"text": "graph", "url": "` + hostile + `"}, {"url": "https://ok.example/q?a=1&b=2"}]}`,
			[]incident.Link{{URL: "https://ok.example/q?a=1&b=2"}}, []string{"links[0].url: must not contain spaces, control characters, <, > or |"}},
		{"url with a pipe", `{"summary": "a", "links": [{"url": "https://example.com/a|b"}]}`, nil, []string{"links[0].url: must not contain"}},
		{"url with CRLF", `{"summary": "a", "links": [{"url": "https://example.com/a\r\nb"}]}`, nil, []string{"links[0].url: must not contain"}},
		{"url as number", `{"summary": "a", "links": [{"url": 1}]}`, nil, []string{"links[0].url: must be a string, not a number"}},
		{"link text as array", `{"summary": "a", "links": [{"text": ["x"], "url": "https://a.example"}]}`, nil, []string{"links[0].text: must be a string, not an array"}},
		{"the sender's own dropped_links is kept", `{"summary": "a", "details": {"dropped_links": 3}, "links": [{"url": "x"}]}`, nil, []string{"links[0].url: must be"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseGeneric([]byte(tc.body), testNow)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(a.Links) != len(tc.links) {
				t.Fatalf("Links = %+v, want %+v", a.Links, tc.links)
			}
			for i := range tc.links {
				if a.Links[i].URL != tc.links[i].URL {
					t.Errorf("Links[%d] = %+v, want %+v", i, a.Links[i], tc.links[i])
				}
			}
			key := "dropped_links"
			if _, own := a.Details["baton_dropped_links"]; own {
				key = "baton_dropped_links"
				if a.Details["dropped_links"] != json.Number("3") {
					t.Errorf("the sender's dropped_links = %#v", a.Details["dropped_links"])
				}
			}
			notes, _ := a.Details[key].([]string)
			if len(notes) != len(tc.notes) {
				t.Fatalf("details[%s] = %#v, want %q", key, a.Details[key], tc.notes)
			}
			for i, want := range tc.notes {
				if !strings.HasPrefix(notes[i], want) {
					t.Errorf("note %d = %q, want prefix %q", i, notes[i], want)
				}
			}
		})
	}
}

func TestParseGeneric(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, a incident.Alert)
	}{
		{"defaults", `{"summary": "disk full on db-1"}`, func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevCritical || a.Status != incident.AlertFiring || a.Source != "generic" {
				t.Errorf("got %s %s %q", a.Severity, a.Status, a.Source)
			}
			if !strings.HasPrefix(a.DedupKey, "generic:") || len(a.DedupKey) != len("generic:")+16 {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
			if a.Details != nil || a.Links != nil {
				t.Errorf("Details, Links = %v, %v", a.Details, a.Links)
			}
		}},
		{"given dedup key", `{"summary": "disk full", "dedup_key": " db-1/disk "}`, func(t *testing.T, a incident.Alert) {
			if a.DedupKey != "db-1/disk" {
				t.Errorf("DedupKey = %q", a.DedupKey)
			}
		}},
		{"severity and status in any case", `{"summary": "a", "severity": "INFO", "status": "Resolved"}`, func(t *testing.T, a incident.Alert) {
			if a.Severity != incident.SevInfo || a.Status != incident.AlertResolved {
				t.Errorf("got %s %s", a.Severity, a.Status)
			}
		}},
		{"summary becomes one line", `{"summary": "  disk\nfull\t on  db-1 "}`, func(t *testing.T, a incident.Alert) {
			if a.Summary != "disk full on db-1" {
				t.Errorf("Summary = %q", a.Summary)
			}
		}},
		{"longest summary", `{"summary": "` + strings.Repeat("é", maxSummary) + `"}`, func(t *testing.T, a incident.Alert) {
			if n := len([]rune(a.Summary)); n != maxSummary {
				t.Errorf("summary has %d characters", n)
			}
		}},
		{"unknown fields are ignored", `{"summary": "a", "priority": "P1", "tags": {"team": "db"}}`, func(t *testing.T, a incident.Alert) {
			if a.Details != nil {
				t.Errorf("Details = %v", a.Details)
			}
		}},
		{"empty details are dropped", `{"summary": "a", "details": {}, "links": []}`, func(t *testing.T, a incident.Alert) {
			if a.Details != nil || a.Links != nil {
				t.Errorf("Details, Links = %v, %v", a.Details, a.Links)
			}
		}},
		{"detail numbers are exact", `{"summary": "a", "details": {"id": 9007199254740993}}`, func(t *testing.T, a incident.Alert) {
			if a.Details["id"] != json.Number("9007199254740993") {
				t.Errorf("id = %#v", a.Details["id"])
			}
		}},
		{"http link", `{"summary": "a", "links": [{"text": " graph ", "url": "http://grafana.internal:3000/d/x"}]}`, func(t *testing.T, a incident.Alert) {
			if len(a.Links) != 1 || a.Links[0] != (incident.Link{Text: "graph", URL: "http://grafana.internal:3000/d/x"}) {
				t.Errorf("Links = %+v", a.Links)
			}
		}},
		{"same summary, same key", `{"summary": "disk full on db-1", "service": " db "}`, func(t *testing.T, a incident.Alert) {
			b, err := ParseGeneric([]byte(`{"summary": "disk full on db-1", "status": "resolved"}`), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if a.DedupKey != b.DedupKey || a.Service != "db" {
				t.Errorf("DedupKey %q vs %q; Service %q", a.DedupKey, b.DedupKey, a.Service)
			}
			c, err := ParseGeneric([]byte(`{"summary": "disk full on db-2"}`), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if c.DedupKey == a.DedupKey {
				t.Errorf("different summaries share %q", a.DedupKey)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseGeneric([]byte(tc.body), testNow)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}
