package demo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBreak2RefusalLineQuotesTheAlert: docs/demo.md says "The terminal
// never shows an alert's body", and baton's own debug line for a refusal
// is redacted, but the demo's story prints the refusal's sentence as the
// webhook answered it, and that sentence quotes the alert's summary
// (seen with `baton demo`: alert "lookup for jane.roe@example.org ssn
// 219-09-9999" names service "nosuch"...).
func TestBreak2RefusalLineQuotesTheAlert(t *testing.T) {
	var out bytes.Buffer
	s := newStory(&out, &fakeIncidents{})
	h := s.Intake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		_, _ = w.Write([]byte(`{"error":"alert \"lookup for jane.roe@example.org ssn 219-09-9999\" names service \"nosuch\", which is not in services; nothing was stored"}`))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/alerts/generic", strings.NewReader("{}")))
	for _, v := range []string{"jane.roe@example.org", "219-09-9999"} {
		if strings.Contains(out.String(), v) {
			t.Errorf("the demo's terminal shows %q: %s", v, out.String())
		}
	}
}
