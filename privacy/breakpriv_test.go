package privacy

// Failing tests found by trying issue 17 as a user (branch breakpriv).
// Each names the patient data that reaches chat, the API or Redis, or the
// operational text that is wrongly redacted. They are meant to fail until
// the redactor is fixed.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
)

// Only string values are redacted: a JSON number under a labelled key
// (a DB row's ssn, mrn, dob, card as integers) and every map key stay, and
// Alertmanager/Grafana label keys also go into the title ("dbX: [email]=1"
// was right, but the label key stays in the stored labels).
func TestBreakNumbersAndKeys(t *testing.T) {
	r := mustNew(t, Config{})
	a := incident.Alert{Source: "generic", Details: map[string]any{
		"ssn":                  float64(219099999),
		"mrn":                  float64(48291234),
		"card":                 float64(4111111111111111),
		"dob":                  float64(19610704),
		"jane.roe@example.org": "a key holding an e-mail",
		"rows":                 []any{map[string]any{"219-09-9999": true}},
	}}
	b, _ := json.Marshal(r.Redact(a).Details)
	for _, v := range []string{"219099999", "48291234", "4111111111111111", "19610704", "jane.roe@example.org", "219-09-9999"} {
		if strings.Contains(string(b), v) {
			t.Errorf("details keep %s: %s", v, b)
		}
	}
}
