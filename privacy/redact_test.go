package privacy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

func mustNew(t testing.TB, c Config) *Redactor {
	t.Helper()
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBuiltinRules: what each built-in rule catches, and what it must
// leave alone (timestamps, incident numbers, metric values, thresholds,
// hostnames, ARNs, ids).
func TestBuiltinRules(t *testing.T) {
	r := mustNew(t, Config{})
	withIP := mustNew(t, Config{IPv4: true})
	tests := []struct {
		name string
		r    *Redactor
		in   string
		want string
	}{
		// caught
		{"ssn dashed", r, "patient 123-45-6789 failed", "patient [ssn] failed"},
		{"ssn labelled, no dashes", r, "SSN: 123456789", "SSN: [ssn]"},
		{"ssn labelled key", r, `patient_ssn="123 45 6789"`, `patient_ssn="[ssn]"`},
		{"ssn social security number", r, "social security number 123-45-6789", "social security number [ssn]"},
		{"dob iso after dob=", r, "lookup dob=1980-02-03 failed", "lookup dob=[dob] failed"},
		{"dob inside a key", r, "patient_dob=1980-02-03", "patient_dob=[dob]"},
		{"dob us slashes", r, "DOB: 02/03/1980", "DOB: [dob]"},
		{"dob date of birth words", r, "date of birth 3 Feb 1980", "date of birth [dob]"},
		{"dob month name", r, "born Feb 3, 1980", "born [dob]"},
		{"dob json key", r, `{"birthDate":"1980-02-03"}`, `{"birthDate":"[dob]"}`},
		{"dob dotted", r, "D.O.B. 03.02.1980", "D.O.B. [dob]"},
		{"dob compact", r, "dob:19800203", "dob:[dob]"},
		{"email", r, "sent to jane.doe+lab@example-health.org today", "sent to [email] today"},
		{"email in url text", r, "user=a.b@c.io", "user=[email]"},
		{"two emails", r, "a@b.co, c@d.co", "[email], [email]"},
		{"phone dashed", r, "call 555-867-5309", "call [phone]"},
		{"phone parenthesis", r, "tel (555) 867-5309.", "tel [phone]."},
		{"phone dotted", r, "555.867.5309", "[phone]"},
		{"phone +1 spaced", r, "cell +1 555 867 5309", "cell [phone]"},
		{"phone e164", r, "whatsapp +447911123456 sent", "whatsapp [phone] sent"},
		{"card visa", r, "card 4111111111111111 declined", "card [card] declined"},
		{"card grouped", r, "card 4111 1111 1111 1111", "card [card]"},
		{"card amex", r, "amex 378282246310005", "amex [card]"},
		{"card mastercard dashed", r, "5555-5555-5555-4444", "[card]"},
		{"mrn labelled", r, "MRN: 00123456 not found", "MRN: [mrn] not found"},
		{"mrn medical record number", r, "medical record number A1234567", "medical record number [mrn]"},
		{"mrn key", r, "patient_mrn=7654321", "patient_mrn=[mrn]"},
		{"ipv4 when configured", withIP, "from 203.0.113.7 denied", "from [ipv4] denied"},
		// dates of birth as timestamps (breakpriv)
		{"dob timestamp after dob=", r, "dob=1961-07-04T00:00:00Z", "dob=[dob]"},
		{"dob timestamp with millis", r, "DOB: 1961-07-04T00:00:00.000Z", "DOB: [dob]"},
		{"dob timestamp json key", r, `"birthDate":"1961-07-04T00:00:00Z"`, `"birthDate":"[dob]"`},
		{"dob date and time with a space", r, "date_of_birth 1961-07-04 00:00:00", "date_of_birth [dob]"},
		{"dob timestamp with offset", r, "dob=1961-07-04T00:00:00+02:00 ok", "dob=[dob] ok"},
		// labelled forms in other wordings (breakpriv)
		{"ssn number spaced", r, "SSN number 219 09 9999", "SSN number [ssn]"},
		{"ssn social security no.", r, "social security no. 219099999", "social security no. [ssn]"},
		{"ssn after a dash", r, "SSN - 219099999", "SSN - [ssn]"},
		{"ssn is", r, "ssn is 219 09 9999", "ssn is [ssn]"},
		{"ssn in parentheses", r, "patient (SSN 219099999)", "patient (SSN [ssn])"},
		{"dob many spaces", r, "DOB:   1961-07-04", "DOB:   [dob]"},
		{"dob is", r, "dob is 1961-07-04", "dob is [dob]"},
		{"dob in parentheses", r, "DOB (1961-07-04)", "DOB ([dob])"},
		{"dob iso slashes", r, "dob 1961/07/04", "dob [dob]"},
		{"dob born on ordinal", r, "patient born on Jul 4th, 1961", "patient born on [dob]"},
		{"dob ordinal day first", r, "date of birth 4th of July 1961", "date of birth [dob]"},
		// documented: an SSN without a label is caught in its dashed form
		// only, and any dashed 3-2-4 number outside the SSA's reserved
		// ranges reads as one (docs/privacy.md)
		{"ssn shaped request id", r, "request 555-12-3456", "request [ssn]"},
		// phone numbers in other groupings (breakpriv)
		{"phone us spaced after tel", r, "Lab feed stuck for patient tel 415 555 0132", "Lab feed stuck for patient tel [phone]"},
		{"phone us spaced after phone:", r, "phone: 415 555 0132", "phone: [phone]"},
		{"phone bare ten digits after a label", r, "phone=5558675309 retried", "phone=[phone] retried"},
		{"phone mobile number key", r, "mobile_number: +1 (415) 555-0132", "mobile_number: [phone]"},
		{"phone cell phone", r, "cell phone 4155550132", "cell phone [phone]"},
		{"phone e164 spaced", r, "+44 7911 123456", "[phone]"},
		{"phone e164 dashed", r, "call +49-30-1234567 now", "call [phone] now"},
		// camelCase and PascalCase keys, bracketed and abbreviated labels (breakpriv2)
		{"mrn camel key", r, "patientMrn=00123456", "patientMrn=[mrn]"},
		{"mrn camel key upper", r, "patientMRN: 00123456", "patientMRN: [mrn]"},
		{"ssn camel key", r, "memberSsn=219099999", "memberSsn=[ssn]"},
		{"ssn camel json key", r, `{"memberSsn":"219099999"}`, `{"memberSsn":"[ssn]"}`},
		{"dob camel key", r, "patientDob=1961-07-04", "patientDob=[dob]"},
		{"dob pascal key", r, "PatientDOB=1961-07-04", "PatientDOB=[dob]"},
		{"phone camel json key", r, `{"patientPhone":"5558675309"}`, `{"patientPhone":"[phone]"}`},
		{"phone camel key with colon", r, "contactPhone: 415 555 0132", "contactPhone: [phone]"},
		{"dob form param", r, "patient[dob]=1961-07-04", "patient[dob]=[dob]"},
		{"phone form param", r, "patient[phone]=5558675309", "patient[phone]=[phone]"},
		{"a replacement is not a label (redaction is stable)", r, "[phone] 0000000000 [ssn] 219099999", "[phone] 0000000000 [ssn] 219099999"},
		{"dob birth_dt", r, "birth_dt=1961-07-04", "birth_dt=[dob]"},
		{"ssn labelled dotted", r, "ssn=219.09.9999", "ssn=[ssn]"},
		// month abbreviations and dotted ISO next to a birth label (breakpriv2)
		{"dob dd-MMM-yyyy", r, "dob 04-Jul-1961", "dob [dob]"},
		{"dob dd-MMM-yyyy json", r, `{"dob":"04-Jul-1961"}`, `{"dob":"[dob]"}`},
		{"dob yyyy-MMM-dd", r, "dob 1961-Jul-04", "dob [dob]"},
		{"dob dd.MMM.yy", r, "DOB: 04.JUL.61", "DOB: [dob]"},
		{"dob dd MMM yyyy", r, "birthdate 04 Jul 1961", "birthdate [dob]"},
		{"dob dotted iso", r, "birthdate 1961.07.04", "birthdate [dob]"},
		// Unicode hyphens, percent-escapes, the 3-7 phone form (breakpriv2)
		{"ssn non-breaking hyphens", r, "patient 219\u201109\u20119999", "patient [ssn]"},
		{"ssn en dashes", r, "patient 219\u201309\u20139999", "patient [ssn]"},
		{"ssn labelled with en dashes", r, "SSN 219\u201309\u20139999", "SSN [ssn]"},
		{"ssn after %20", r, "GET /search?q=SSN%3A%20219-09-9999 200", "GET /search?q=SSN%3A%20[ssn] 200"},
		{"ssn after %3D", r, "GET /search?ssn%3D219-09-9999 200", "GET /search?ssn%3D[ssn] 200"},
		{"email escaped @ in text", r, "GET /lookup?u=jane.roe%40example.org 500", "GET /lookup?u=[email] 500"},
		{"phone 3-7", r, "callback 555-8675309", "callback [phone]"},

		// must not catch
		{"git remote is not an e-mail", r, "deploy failed: git@github.com:acme/claims-api.git", "deploy failed: git@github.com:acme/claims-api.git"},
		{"en dashes in a range", r, "retries 3\u20135, build 2024\u201311", "retries 3\u20135, build 2024\u201311"},
		{"3-7 with a leading 1", r, "order 123-4567890", "order 123-4567890"},
		{"dotted iso date without a birth word", r, "release 2026.07.04 and 04-Jul-1961", "release 2026.07.04 and 04-Jul-1961"},
		{"camel label after a lower-case letter", r, "classname=219099999 hotel=5558675309 readobs=1961-07-04", "classname=219099999 hotel=5558675309 readobs=1961-07-04"},
		{"sumo trigger time", r, "11/24/2025 02:03:10 PM UTC", "11/24/2025 02:03:10 PM UTC"},
		{"iso timestamp", r, "2025-11-24T14:03:10.123Z", "2025-11-24T14:03:10.123Z"},
		{"date without a birth word", r, "deploy on 02/03/1980", "deploy on 02/03/1980"},
		{"word containing dob", r, "adobe=2020-01-01", "adobe=2020-01-01"},
		{"epoch ms", r, "TriggerTimeStart 1763992690000", "TriggerTimeStart 1763992690000"},
		{"epoch ns", r, "1763992690000123456", "1763992690000123456"},
		{"incident number", r, "INC-4111 repeated 12 times", "INC-4111 repeated 12 times"},
		{"metric value and threshold", r, "Greater than or equal to 50.0 within 5 minutes; value 137.0", "Greater than or equal to 50.0 within 5 minutes; value 137.0"},
		{"hostname", r, "ip-10-0-12-34.ec2.internal checkout-api-7f9c8d6b5-x2x4q", "ip-10-0-12-34.ec2.internal checkout-api-7f9c8d6b5-x2x4q"},
		{"aws arn", r, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx"},
		{"sns topic arn", r, "arn:aws:sns:eu-west-1:210987654321:baton-alerts", "arn:aws:sns:eu-west-1:210987654321:baton-alerts"},
		{"ipv4 by default", r, "from 203.0.113.7 denied", "from 203.0.113.7 denied"},
		{"ssn reserved area", r, "000-12-3456 and 666-12-3456 and 900-12-3456", "000-12-3456 and 666-12-3456 and 900-12-3456"},
		{"luhn fails", r, "4111111111111112", "4111111111111112"},
		{"luhn passes without an issuer prefix", r, "1234567812345670", "1234567812345670"},
		{"bare ten digits", r, "count 5558675309", "count 5558675309"},
		{"phone mixed separators", r, "555.867-5309", "555.867-5309"},
		{"phone area code from 1", r, "155-867-5309", "155-867-5309"},
		{"sumo id hex", r, "0000000000A1B2C3", "0000000000A1B2C3"},
		{"uuid", r, "request 9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab", "request 9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab"},
		{"version and port", r, "v1.26.8 on :8080, HTTP 503", "v1.26.8 on :8080, HTTP 503"},
		{"medical records words", r, "medical records service is down", "medical records service is down"},
		{"git ssh url is not text to keep but has no tld", r, "git@github", "git@github"},
		{"ipv4 when configured, not a version", withIP, "v1.2.3.400", "v1.2.3.400"},
		{"ssn label inside a key", r, "ssn_check - 219099999", "ssn_check - 219099999"},
		{"date after is without a birth word", r, "deploy is 1961-07-04", "deploy is 1961-07-04"},
		{"born inside a word", r, "reborn on 1961-07-04", "reborn on 1961-07-04"},
		{"service name with medical records", r, "medical-records-service-v2 is down", "medical-records-service-v2 is down"},
		{"medical_record_sync job", r, "medical_records_sync_v3 failed", "medical_records_sync_v3 failed"},
		{"trace id of 19 digits passing luhn", r, "dd.trace_id=4535233610828831632", "dd.trace_id=4535233610828831632"},
		{"17 digits passing luhn with a visa prefix", r, "id 41111111111111113", "id 41111111111111113"},
		{"phone label inside a word", r, "telemetry 4155550132 events", "telemetry 4155550132 events"},
		{"phone label, too few digits", r, "phone checks 3 of 12", "phone checks 3 of 12"},
		{"semver build metadata", r, "deployed checkout v1.4.2+20261130 to prod", "deployed checkout v1.4.2+20261130 to prod"},
		{"metric delta", r, "queue depth +25000000 in 5m", "queue depth +25000000 in 5m"},
		{"metric delta grouped", r, "queue depth +25 000 000 in 5m", "queue depth +25 000 000 in 5m"},
		{"us digits spaced without a label", r, "values 415 555 0132", "values 415 555 0132"},
		{"sumo query", r, "_sourceCategory=prod/checkout/api status_code>=500 | count by status_code", "_sourceCategory=prod/checkout/api status_code>=500 | count by status_code"},
	}
	caught := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
		if tt.in != tt.want {
			caught++
		}
	}
	if caught < 20 || len(tests)-caught < 20 {
		t.Errorf("the table has %d caught and %d must-not-catch cases; keep at least 20 of each", caught, len(tests)-caught)
	}
}

// TestConfiguredRules: a rule from privacy.rules, with and without a v
// submatch, and the refusals that name the rule.
func TestConfiguredRules(t *testing.T) {
	r := mustNew(t, Config{Rules: []RuleSpec{
		{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"},
		{Name: "claim", Pattern: `claim #(?P<v>[0-9]{6})`},
		{Name: "case", Pattern: `(?i)\bcase[- ]?(?P<v>[0-9]{5})\b`},
		{Name: "either", Pattern: `(?:PX|QY)-[0-9]{4}`},
		{Name: "optional-start", Pattern: `z?[0-9]{3}!`},
	}})
	for in, want := range map[string]string{
		"member M12345678 denied":  "member [member-id] denied",
		"claim #123456 rejected":   "claim #[claim] rejected",
		"M1234567 is too short":    "M1234567 is too short",
		"INC-12 for M12345678 and": "INC-12 for [member-id] and",
		"CASE-12345 reopened":      "CASE-[case] reopened",
		"see case 54321":           "see case [case]",
		"ids PX-1234 and QY-9999":  "ids [either] and [either]",
		"code 123!":                "code [optional-start]",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}

	bad := []struct {
		name string
		spec RuleSpec
		want string
	}{
		{"lookbehind", RuleSpec{Name: "mine", Pattern: `(?<=x)y`}, `rule "mine": the pattern uses (?<=…), a lookaround, which Go regular expressions (RE2) do not have`},
		{"bad regexp", RuleSpec{Name: "mine", Pattern: `[a-`}, `rule "mine": the pattern is not a Go regular expression: error parsing regexp`},
		{"no name", RuleSpec{Pattern: `x`}, "a rule has no name"},
		{"no pattern", RuleSpec{Name: "empty"}, `rule "empty" has no pattern`},
		{"matches empty", RuleSpec{Name: "star", Pattern: `a*`}, `rule "star": the pattern "a*" matches empty text`},
		{"replacement matches", RuleSpec{Name: "loop", Pattern: `\[x\]`, Replace: "[x]"}, `rule "loop": its replacement "[x]" matches its own pattern`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRule(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckRule = %v, want %q", err, tt.want)
			}
			if _, err := New(Config{Rules: []RuleSpec{tt.spec}}); err == nil || !strings.Contains(err.Error(), "privacy.rules[0]") {
				t.Fatalf("New = %v, want the key path privacy.rules[0]", err)
			}
		})
	}
	if _, err := New(Config{MRNPattern: "("}); err == nil || !strings.Contains(err.Error(), "privacy.mrn_pattern") {
		t.Fatalf("a bad mrn pattern: %v", err)
	}
	mrn := mustNew(t, Config{MRNPattern: `\bH(?P<v>[0-9]{7})\b`})
	if got := mrn.String("chart H1234567 locked"); got != "chart H[mrn] locked" {
		t.Errorf("a configured mrn pattern: %q", got)
	}
}

// TestRedactAlert: the fields of an alert that are scanned, the ones kept
// (keep_fields, routing) and the links' query strings.
func TestRedactAlert(t *testing.T) {
	r := mustNew(t, Config{
		Rules:      []RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}},
		KeepFields: map[string][]string{"sumologic": {"TriggerValue"}},
	})
	in := incident.Alert{
		Source: "sumologic", Service: "claims", Name: "Claims for jane@example.com", DedupKey: "sumologic:search:jane@example.com",
		Summary:  "Eligibility failed for M12345678",
		Severity: incident.SevCritical, Status: incident.AlertFiring,
		Details: map[string]any{
			"trigger_value": "123-45-6789",
			"description":   "call 555-867-5309",
			"num_results":   int64(2),
			"results": []any{
				map[string]any{"member_id": "M12345678", "dob": "1980-02-03", "host": "claims-7.prod", "_count": "12"},
				map[string]any{"email": "jane@example.com", "note": "ssn 123-45-6789"},
			},
		},
		Links: []incident.Link{
			{Text: "query", URL: "https://service.sumologic.com/ui/#/search/create?query=member%3DM12345678%20dob%3D1980-02-03&startTime=1763992690000"},
			{Text: "monitor", URL: "https://service.sumologic.com/ui/#/library/monitors/0000000000A1B2C3"},
		},
	}
	orig, _ := json.Marshal(in)
	got := r.Redact(in)
	if after, _ := json.Marshal(in); string(after) != string(orig) {
		t.Fatalf("Redact changed its argument:\n%s\n%s", orig, after)
	}
	if got.Summary != "Eligibility failed for [member-id]" {
		t.Errorf("summary %q", got.Summary)
	}
	if got.DedupKey != "sumologic:search:[email]" {
		t.Errorf("dedup key %q", got.DedupKey)
	}
	if got.Name != in.Name || got.Service != "claims" {
		t.Errorf("routing fields changed: %q %q", got.Name, got.Service)
	}
	if got.Details["trigger_value"] != "123-45-6789" {
		t.Errorf("a keep_fields key was redacted: %v", got.Details["trigger_value"])
	}
	if got.Details["description"] != "call [phone]" || got.Details["num_results"] != int64(2) {
		t.Errorf("details %v", got.Details)
	}
	rows := got.Details["results"].([]any)
	want0 := map[string]any{"member_id": "[member-id]", "dob": "[dob]", "host": "claims-7.prod", "_count": "12"}
	if !reflect.DeepEqual(rows[0], want0) {
		t.Errorf("row 0 = %v, want %v", rows[0], want0)
	}
	want1 := map[string]any{"email": "[email]", "note": "ssn [ssn]"}
	if !reflect.DeepEqual(rows[1], want1) {
		t.Errorf("row 1 = %v, want %v", rows[1], want1)
	}
	if u := got.Links[0].URL; strings.Contains(u, "M12345678") || strings.Contains(u, "1980-02-03") || !strings.Contains(u, "startTime=1763992690000") {
		t.Errorf("query link %q", u)
	}
	if got.Links[1] != in.Links[1] {
		t.Errorf("a link without patient data changed: %v", got.Links[1])
	}

	off := mustNew(t, Config{Off: true})
	if o := off.Redact(in); !reflect.DeepEqual(o, in) {
		t.Errorf("redact: false changed the alert")
	}
}

// TestNoFalsePositiveOnTestdata: every payload the repository keeps as a
// real sample (intake/testdata, testdata, the demo's samples) comes out of the built-in rules
// unchanged: its strings, at every depth, and its URLs.
func TestNoFalsePositiveOnTestdata(t *testing.T) {
	r := mustNew(t, Config{})
	var files []string
	for _, dir := range []string{"../intake/testdata", "../testdata", "../bot/testdata", "../internal/demo/samples"} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".golden")) {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 15 {
		t.Fatalf("found only %d sample files: %v", len(files), files)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		var v any
		if json.Unmarshal(b, &v) == nil {
			collect(v, &texts)
		} else {
			texts = strings.Split(string(b), "\n")
		}
		for _, s := range texts {
			// A JSON string inside a string (Sumo Logic's ResultsJson, an
			// SNS Message) is read as JSON too.
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				var more []string
				collect(inner, &more)
				for _, m := range more {
					check(t, r, p, m)
				}
			}
			check(t, r, p, s)
		}
	}
}

func check(t *testing.T, r *Redactor, file, s string) {
	t.Helper()
	if got := r.String(s); got != s {
		t.Errorf("%s: a false positive:\n  %q\n→ %q", file, s, got)
	}
	if strings.HasPrefix(s, "http") {
		if got := r.URL(s); got != s {
			t.Errorf("%s: a URL changed:\n  %q\n→ %q", file, s, got)
		}
	}
}

func collect(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, e := range x {
			collect(e, out)
		}
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			if s, ok := e.(string); ok {
				*out = append(*out, k+"="+s)
			}
			collect(e, out)
		}
	}
}

// FuzzRedact: any text comes out without panics, and redacting twice
// changes nothing more (a replacement never feeds another rule).
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"dob=1980-02-03 ssn 123-45-6789", "jane@example.com +447911123456", "4111 1111 1111 1111", "MRN: 0012345", "(555) 867-5309"} {
		f.Add(s)
	}
	r := mustNew(f, Config{IPv4: true, Rules: []RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`}}})
	f.Fuzz(func(t *testing.T, s string) {
		once := r.String(s)
		if twice := r.String(once); twice != once {
			t.Fatalf("not stable: %q → %q → %q", s, once, twice)
		}
		_ = r.URL("https://x.example/?q=" + s)
		_ = r.Redact(incident.Alert{Summary: s, Details: map[string]any{s: s, "k": []any{s}}, ReceivedAt: time.Unix(0, 0)})
	})
}
