package intake

import (
	"context"
	"testing"

	"github.com/batonhq/baton/incident"
)

// Issue 14's break test: a generic recovery that names its alert by
// dedup_key, {"service":"database","dedup_key":"d1","status":"resolved"},
// was refused with 400 "summary is required". A recovery needs no summary
// (it ends an incident; it never titles one); it needs something that names
// its alert, a dedup_key or the summary it fired with. Through the real
// handler (the answers and accepted requests checked against
// docs/openapi.yaml) to a real redis-server.
func TestGenericRecoveryWithoutSummary(t *testing.T) {
	e := newIntakeEnv(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		body    string
		code    int
		outcome string // the 202's outcome, or the start of the 400's error
	}{
		{"the alert fires", `{"service": "database", "dedup_key": "d1", "summary": "replication lag 40 s"}`, 202, "created"},
		{"its recovery, without a summary, resolves it", string(readTestdata(t, "generic-recovery-no-summary")), 202, "resolved"},
		{"a recovery of nothing open, without a summary", `{"service": "database", "dedup_key": "d2", "status": "RESOLVED"}`, 202, "no_open_incident"},
		{"a recovery with a blank summary", `{"service": "database", "dedup_key": "d3", "summary": " ", "status": "resolved"}`, 202, "no_open_incident"},
		{"a recovery with an empty summary", `{"service": "database", "dedup_key": "d3", "summary": "", "status": "resolved"}`, 202, "no_open_incident"},
		{"a recovery named by its summary alone", `{"service": "database", "summary": "replication lag 40 s", "status": "resolved"}`, 202, "no_open_incident"},
		{"a recovery naming nothing", `{"service": "database", "status": "resolved"}`, 400,
			`field "dedup_key": is required for a recovery without a summary`},
		{"a firing alert still needs one", `{"service": "database", "dedup_key": "d4"}`, 400, `field "summary": is required`},
		{"a refusal names the recovery by its dedup key", `{"service": "web", "dedup_key": "d5", "status": "resolved"}`, 422,
			`alert "d5" names service "web", which is not in services`},
	}
	for _, st := range steps {
		code, out := e.do(t, request{path: "generic", token: genericToken, body: st.body})
		got, _ := out["outcome"].(string)
		if code >= 400 {
			got, _ = out["error"].(string)
		}
		if code != st.code || len(got) < len(st.outcome) || got[:len(st.outcome)] != st.outcome {
			t.Fatalf("%s: %d %v, want %d %q", st.name, code, out, st.code, st.outcome)
		}
	}
	inc, _, err := e.store.Get(ctx, 1)
	if err != nil || inc.Status != incident.StatusResolved || inc.Title != "replication lag 40 s" {
		t.Fatalf("INC-1 after its recovery: %+v %v", inc, err)
	}
}
