package intake

import (
	"net/http"
	"testing"
)

// SNS may deliver one message twice. The replay changes nothing and is
// answered with the incident the first delivery reached, as it is now: its
// number, its real alert count and its status.
func TestSNSReplayAnswersTheIncident(t *testing.T) {
	e := newIntakeEnv(t)
	message := func(file, id string) string {
		return signedSNS(t, file, func(m *SNSMessage) { m.MessageId = id })
	}
	steps := []struct {
		name     string
		body     string
		status   int
		outcome  string
		incident float64
		count    float64
		state    string // the incident's status in the reply; "" when there is none
	}{
		{"alarm", message("sns-cloudwatch-alarm", "m1"), 202, "created", 1, 1, "triggered"},
		{"the alarm again", message("sns-cloudwatch-alarm", "m1"), 200, "duplicate_delivery", 1, 1, "triggered"},
		{"the same alarm, a new message", message("sns-cloudwatch-alarm", "m2"), 202, "repeated", 1, 2, "triggered"},
		{"the first message a third time", message("sns-cloudwatch-alarm", "m1"), 200, "duplicate_delivery", 1, 2, "triggered"},
		{"recovery", message("sns-cloudwatch-ok", "m3"), 202, "resolved", 1, 3, "resolved"},
		{"the recovery again", message("sns-cloudwatch-ok", "m3"), 200, "duplicate_delivery", 1, 3, "resolved"},
		{"a recovery with nothing open", message("sns-cloudwatch-ok", "m4"), 202, "no_open_incident", 0, 0, ""},
		{"that recovery again", message("sns-cloudwatch-ok", "m4"), 200, "duplicate_delivery", 0, 0, ""},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			code, out, _ := e.post(t, "cloudwatch", "Bearer "+cwToken, step.body)
			if code != step.status || out["outcome"] != step.outcome {
				t.Fatalf("%d %v, want %d with outcome %s", code, out, step.status, step.outcome)
			}
			state, _ := out["status"].(string)
			if out["incident"] != step.incident || out["alert_count"] != step.count || state != step.state {
				t.Fatalf("answered incident %v alert_count %v status %q, want %v, %v, %q",
					out["incident"], out["alert_count"], state, step.incident, step.count, step.state)
			}
			if code == http.StatusOK && out["created"] != false {
				t.Fatalf("a replay answered created %v", out["created"])
			}
		})
	}
}
