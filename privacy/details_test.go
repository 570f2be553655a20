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
