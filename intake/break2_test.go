package intake

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/privacy"
)

// TestBreak2SumoDedupKeyLowercasedBeforeRedaction: a Sumo Logic search's
// dedup key is its name lowercased, and only then redacted, so a
// case-sensitive configured rule (docs/privacy.md's own example,
// \bM[0-9]{8}\b for member ids) no longer matches it: the member id
// reaches Redis and GET /v1/incidents/{n} as "m12345678" (seen through
// baton demo), though the title reads [member-id].
func TestBreak2SumoDedupKeyLowercasedBeforeRedaction(t *testing.T) {
	red, err := privacy.New(privacy.Config{Rules: []privacy.RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"Name":"member M12345678 failed eligibility","Description":"x","service":"checkout"}`,
		`{"Name":"member M12345678 failed eligibility","Id":"","TriggerType":"Critical","MonitorType":"Logs","service":"checkout"}`,
	} {
		a, err := parseSumoLogic([]byte(body), testNow, red)
		if err != nil {
			t.Fatal(err)
		}
		a = red.Redact(a)
		if strings.Contains(strings.ToLower(a.Summary), "m12345678") {
			t.Errorf("summary %q", a.Summary)
		}
		if strings.Contains(strings.ToLower(a.DedupKey), "m12345678") {
			t.Errorf("dedup key %q holds the member id (summary %q)", a.DedupKey, a.Summary)
		}
	}
}
