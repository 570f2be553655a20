package intake

import (
	"testing"
	"time"

	"github.com/batonhq/baton/privacy"
)

// A generic alert without a dedup_key gets "generic:" + 16 hex digits of
// SHA-256 over its summary as sent: the hash is taken before redaction, so
// GET /v1/incidents/{n} shows a hash of the raw summary (an SSN is 10^9
// guesses away: the summary's template is in the title next to it), and
// two alerts whose summaries differ only in patient data open separate
// incidents, although their stored titles are the same and docs/privacy.md
// says keys differing only in patient data share one.
func TestBreakGenericDedupKeyHashesRawSummary(t *testing.T) {
	red, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var keys []string
	for _, ssn := range []string{"219-09-9999", "219-09-9998"} {
		a, err := ParseGeneric([]byte(`{"service":"database","summary":"lab feed stuck for patient `+ssn+`"}`), now)
		if err != nil {
			t.Fatal(err)
		}
		a = red.Redact(a)
		keys = append(keys, a.DedupKey)
	}
	if keys[0] != keys[1] {
		t.Errorf("dedup keys %q and %q differ only by a hash of the unredacted summary (the SSN)", keys[0], keys[1])
	}
}

