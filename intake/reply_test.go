package intake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReplyJSONMatchesEncodingJSON: the hand-written reply is byte for byte
// what encoding/json's encoder wrote before (escapes, omitted fields,
// trailing newline).
func TestReplyJSONMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		name  string
		reply Reply
	}{
		{"zero", Reply{}},
		{"repeated", Reply{Incident: 7, AlertCount: 1234, Status: "triggered", Outcome: "repeated", Service: "database"}},
		{"created", Reply{Incident: 1, Created: true, AlertCount: 1, Status: "triggered", Outcome: "created", Service: "db"}},
		{"negative and large numbers", Reply{Incident: -1, AlertCount: 1 << 62, Outcome: "x"}},
		{"duplicate delivery", Reply{Incident: 3, AlertCount: 2, Status: "triggered", Outcome: "duplicate", Service: "db", Message: "this delivery was already stored; nothing changed"}},
		{"superseded", Reply{Incident: 3, Outcome: "superseded_by_recovery", Service: "db", Message: "m", RecoveredAt: "2026-11-30T10:00:00.123Z"}},
		{"quotes and backslashes", Reply{Outcome: `a "quoted" \ word`, Service: `s\"`}},
		{"HTML characters", Reply{Outcome: "ok", Message: "<script>alert('x') & more</script>"}},
		{"control characters", Reply{Outcome: "ok", Message: "a\nb\tc\rd\x00e\x1f\bf\fg\x7f"}},
		{"non-ASCII", Reply{Outcome: "ok", Service: "zürich", Message: "日本 — émoji 🚨"}},
		{"line and paragraph separators", Reply{Outcome: "ok", Message: "a\u2028b\u2029c"}},
		{"invalid UTF-8", Reply{Outcome: "ok", Message: "bad \xff\xfe byte"}},
		{"subscription", Reply{Outcome: "subscription_confirmed", Message: "subscribed to arn:aws:sns:eu-west-1:123456789012:topic"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(tc.reply); err != nil {
				t.Fatal(err)
			}
			if got := tc.reply.appendJSON(nil); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("appendJSON:\n got %q\nwant %q", got, want.Bytes())
			}
			w := httptest.NewRecorder()
			writeReply(w, http.StatusAccepted, tc.reply)
			if w.Code != http.StatusAccepted || w.Header().Get("Content-Type") != "application/json" || !bytes.Equal(w.Body.Bytes(), want.Bytes()) {
				t.Errorf("writeReply: %d %q %q, want 202 application/json %q", w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), want.Bytes())
			}
		})
	}
}
