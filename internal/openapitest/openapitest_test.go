package openapitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/batonhq/baton/internal/openapitest"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// The checker reports what differs from docs/openapi.yaml, and only that.
// noType marks a case's body as sent without a Content-Type.
const noType = "\x00untyped:"

// alertReply is an intake answer as described.
const alertReply = `{"incident":1,"created":true,"alert_count":1,"outcome":"created","status":"triggered"}`

func TestCheckerReportsDrift(t *testing.T) {
	incident := `{"number":1,"ref":"INC-1","service":"db","title":"t","severity":"critical","status":"acknowledged","owner":"alice","level":1,"alert_count":1,"source":"generic","dedup_key":"k","first_seen":"2026-11-24T09:00:00Z","last_seen":"2026-11-24T09:00:00Z","created":"2026-11-24T09:00:00Z","acknowledged":"2026-11-24T09:01:00Z"}`
	cases := []struct {
		name         string
		method, path string
		body         string
		status       int
		answer       string
		want         string // a fragment of the one error expected; "" for none
	}{
		{"a described answer", "GET", "/healthz", "", 200, `{"status":"ok"}`, ""},
		{"a field of the wrong type", "GET", "/healthz", "", 200, `{"status":1}`, "does not match"},
		{"a field the document does not have", "GET", "/healthz", "", 200, `{"status":"ok","uptime":3}`, "does not match"},
		{"an undocumented status", "GET", "/healthz", "", 418, `{"error":"teapot"}`, "does not match"},
		{"an error without its sentence", "GET", "/v1/incidents/1", "", 404, `{}`, "does not match"},
		{"an incident as described", "POST", "/v1/incidents/1/ack", `{"by":"alice"}`, 200, incident, ""},
		{"an accepted request the document forbids", "POST", "/v1/incidents/1/ack", `{"by":"alice","extra":1}`, 200, incident, "does not allow it"},
		{"a refused request is not held to the document", "POST", "/v1/incidents/1/ack", `{"by":""}`, 400, `{"error":"field \"by\" must name the person acting"}`, ""},
		{"a route the document lacks", "GET", "/v1/secret", "", 200, `{}`, "not in docs/openapi.yaml"},
		{"no such route, answered 404", "GET", "/v1/secret", "", 404, `{"error":"no route"}`, ""},
		{"a generic alert as baton takes it", "POST", "/v1/alerts/generic", `{"summary":"disk full","severity":" Warning ","status":"RESOLVED","links":[{"text":"no url"}],"timestamp":"soon"}`, 202, alertReply, ""},
		{"a generic alert the schema forbids, accepted", "POST", "/v1/alerts/generic", `{"summary":"disk full","severity":5}`, 202, alertReply, "GenericAlert does not allow it"},
		{"a generic alert without a Content-Type is checked as JSON", "POST", "/v1/alerts/generic", noType + `{"severity":"critical"}`, 202, alertReply, "GenericAlert does not allow it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			h := openapitest.Wrap(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if c.status == 401 {
					w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.answer))
			}))
			body, untyped := strings.CutPrefix(c.body, noType)
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer t")
			if body != "" && !untyped {
				req.Header.Set("Content-Type", "application/json")
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			switch {
			case c.want == "" && len(rec.errors) > 0:
				t.Fatalf("reported %q", rec.errors)
			case c.want != "" && (len(rec.errors) != 1 || !strings.Contains(rec.errors[0], c.want)):
				t.Fatalf("reported %q, want one error with %q", rec.errors, c.want)
			}
		})
	}
}
