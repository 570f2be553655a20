package privacy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

// TestRedactNumbersAndKeys: a number under a key that names a rule (a DB
// row's ssn, mrn, dob, card as integers) is replaced by the rule's
// replacement, a map key holding patient data is redacted itself, and
// counts, sizes and values stay (breakpriv: only strings were redacted).
func TestRedactNumbersAndKeys(t *testing.T) {
	r := mustNew(t, Config{Rules: []RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}}})
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"ssn as a number", map[string]any{"ssn": float64(219099999)}, map[string]any{"ssn": "[ssn]"}},
		{"ssn as json.Number", map[string]any{"patient_ssn": json.Number("219099999")}, map[string]any{"patient_ssn": "[ssn]"}},
		{"mrn as a number", map[string]any{"mrn": float64(48291234)}, map[string]any{"mrn": "[mrn]"}},
		{"card as a number", map[string]any{"card": float64(4111111111111111)}, map[string]any{"card": "[card]"}},
		{"card number under any key", map[string]any{"x": int64(4111111111111111)}, map[string]any{"x": "[card]"}},
		{"dob as a number", map[string]any{"dob": float64(19610704)}, map[string]any{"dob": "[dob]"}},
		{"birthDate camel case", map[string]any{"birthDate": int64(19610704)}, map[string]any{"birthDate": "[dob]"}},
		{"phone as a number", map[string]any{"phoneNumber": int64(4155550132)}, map[string]any{"phoneNumber": "[phone]"}},
		{"configured rule's name as key", map[string]any{"member_id": int64(12345678), "member": int64(12345678)},
			map[string]any{"member_id": "[member-id]", "member": "[member-id]"}},
		{"email as a key", map[string]any{"jane.roe@example.org": "a key holding an e-mail"}, map[string]any{"[email]": "a key holding an e-mail"}},
		{"ssn as a nested key", map[string]any{"rows": []any{map[string]any{"219-09-9999": true}}}, map[string]any{"rows": []any{map[string]any{"[ssn]": true}}}},
		{"two keys redacted alike both kept", map[string]any{"a@example.org": int64(1), "b@example.org": int64(1)},
			map[string]any{"[email]": int64(1), "[email] (2)": int64(1)}},
		{"results row with timestamps", map[string]any{"results": []any{map[string]any{"birthDate": "1961-07-04T00:00:00Z", "dob": "1961-07-04T00:00:00Z"}}},
			map[string]any{"results": []any{map[string]any{"birthDate": "[dob]", "dob": "[dob]"}}}},
		{"typed []string list (dropped_links)", map[string]any{"dropped_links": []string{`got "mailto:jane.roe@example.org"`, `got "ehr.example/patients/219-09-9999"`, "ok"}},
			map[string]any{"dropped_links": []string{`got "mailto:[email]"`, `got "ehr.example/patients/[ssn]"`, "ok"}}},
		{"typed map[string]string", map[string]any{"m": map[string]string{"k": "219-09-9999"}}, map[string]any{"m": map[string]string{"k": "[ssn]"}}},
		{"camelCase string values", map[string]any{"patientMrn": "00123456", "memberSsn": "219099999", "patientPhone": "5558675309"},
			map[string]any{"patientMrn": "[mrn]", "memberSsn": "[ssn]", "patientPhone": "[phone]"}},
		{"list under a phone key", map[string]any{"phone": []any{"5558675309"}, "phones": []any{"555 867 5309"}},
			map[string]any{"phone": []any{"[phone]"}, "phones": []any{"[phone]"}}},

		// must stay
		{"counts and values", map[string]any{"num_results": int64(2), "cardinality": float64(5), "patient_ssn_count": int64(3),
			"member_count": int64(10), "took_ms": int64(1763992690000), "value": 137.5, "threshold": float64(50)}, nil},
		{"epoch ms under a plain key", map[string]any{"TriggerTimeStart": int64(1763992690000)}, nil},
		{"keys without patient data", map[string]any{"labels": map[string]any{"alertname": "X", "instance": "ip-10-0-12-34:9100"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.in
			}
			got := r.Redact(incident.Alert{Source: "generic", Details: tt.in}).Details
			if !reflect.DeepEqual(got, want) {
				t.Errorf("details\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

// TestRedactKeysKeepFields: keep_fields still keeps a top-level key and
// its value as they are.
func TestRedactKeysKeepFields(t *testing.T) {
	r := mustNew(t, Config{KeepFields: map[string][]string{"sumologic": {"TriggerValue"}}})
	got := r.Redact(incident.Alert{Source: "sumologic", Details: map[string]any{"TriggerValue": float64(4111111111111111)}})
	if got.Details["TriggerValue"] != float64(4111111111111111) {
		t.Errorf("a keep_fields number was redacted: %v", got.Details)
	}
	b, _ := json.Marshal(got.Details)
	if !strings.Contains(string(b), "TriggerValue") {
		t.Errorf("a keep_fields key was redacted: %s", b)
	}
}

// TestRedactLongField: a string longer than MaxFieldBytes is cut before
// the rules run, at a point that leaves no part of a value behind, so the
// cost of one field is bounded (found by breakpriv: a 1 MB string cost
// 0.3 s outside the parse slot).
func TestRedactLongField(t *testing.T) {
	r := mustNew(t, Config{})
	pad := func(n int, unit string) string { return strings.Repeat(unit, n/len(unit)+1)[:n] }
	tests := []struct {
		name    string
		in      string
		gone    []string // must not be in the result, not even in part
		kept    string   // must be in the result
		wantCut bool
	}{
		{"a megabyte of words", pad(1<<20, "lab feed stuck ") + " jane.roe@example.org", []string{"jane"}, "lab feed stuck", true},
		{"a labelled ssn straddling the cut", pad(MaxFieldBytes-12, "lab feed ") + " SSN 219 09 9999 more", []string{"219", " 09"}, "lab feed", true},
		{"an e-mail straddling the cut", pad(MaxFieldBytes-8, "lab feed ") + " for jane.roe@example.org", []string{"jane", "roe"}, "lab feed", true},
		{"a line break near the cut", pad(MaxFieldBytes-100, "x") + "\nphone 415 555 0132 " + pad(200, "y"), []string{"415", "0132"}, "xxx", true},
		{"no space at all", pad(2*MaxFieldBytes, "7"), nil, "777", true},
		{"under the limit", pad(MaxFieldBytes, "lab feed "), nil, "lab feed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.String(tt.in)
			if len(got) > MaxFieldBytes {
				t.Errorf("%d bytes redacted, more than %d", len(got), MaxFieldBytes)
			}
			if cut := strings.HasSuffix(got, "…"); cut != tt.wantCut {
				t.Errorf("cut %v, want %v: …%q", cut, tt.wantCut, got[max(0, len(got)-40):])
			}
			tail := got[max(0, len(got)-200):]
			for _, g := range tt.gone {
				if strings.Contains(tail, g) {
					t.Errorf("%q stays: …%q", g, tail)
				}
			}
			if !strings.Contains(got, tt.kept) {
				t.Errorf("%q is gone", tt.kept)
			}
		})
	}
}
