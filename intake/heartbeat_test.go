package intake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestHeartbeatRoute: every refusal of POST /v1/heartbeats/{name} is a
// specific sentence and records nothing; a beat, with or without a body,
// is 202 {"name","state","last_beat"}.
func TestHeartbeatRoute(t *testing.T) {
	const token = "heartbeat-token-0123456789"
	hb := incident.Heartbeat{Name: "cron", Service: "database", Interval: time.Hour, Grace: time.Minute}
	store := incident.NewStore(redistest.Start(t).Client(), "test:")
	t.Cleanup(store.Close)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	RegisterHeartbeats(mux, HeartbeatOptions{Token: token, Heartbeats: map[string]incident.Heartbeat{hb.Name: hb},
		MaxBodyBytes: 1024, Store: store, Now: func() time.Time { return now }})
	closed := http.NewServeMux()
	RegisterHeartbeats(closed, HeartbeatOptions{Heartbeats: map[string]incident.Heartbeat{hb.Name: hb}, Store: store})

	cases := []struct {
		name   string
		mux    *http.ServeMux
		path   string
		auth   string
		body   string
		status int
		says   string
	}{
		{"no credentials", mux, "/v1/heartbeats/cron", "", "", 401, "missing credentials"},
		{"wrong token", mux, "/v1/heartbeats/cron", "Bearer nope", "", 401, "wrong credentials"},
		{"unknown name without the token", mux, "/v1/heartbeats/other", "", "", 401, "missing credentials"},
		{"unknown name", mux, "/v1/heartbeats/other", "Bearer " + token, "", 404, `no heartbeat named \"other\" is configured`},
		{"a body over the limit", mux, "/v1/heartbeats/cron", "Bearer " + token, strings.Repeat("x", 1025), 413, "larger than the limit of 1024 bytes"},
		{"the route closed (no token configured)", closed, "/v1/heartbeats/cron", "Bearer " + token, "", 401, "intake.tokens.heartbeat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			tc.mux.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.says) {
				t.Fatalf("%d %s, want %d saying %q", rec.Code, rec.Body, tc.status, tc.says)
			}
			if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("a 401 without a challenge")
			}
			l, err := store.Heartbeats(t.Context(), []incident.Heartbeat{hb}, now)
			if err != nil || l[0].State != incident.HeartbeatWaiting {
				t.Fatalf("a refused beat changed the heartbeat: %+v %v", l, err)
			}
		})
	}
	for _, body := range []string{"", `{"status":"ok"}`, "not json at all"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/heartbeats/cron", strings.NewReader(body))
		req.Header.Set("Authorization", "bearer  "+token)
		mux.ServeHTTP(rec, req)
		var reply map[string]any
		if rec.Code != 202 || json.Unmarshal(rec.Body.Bytes(), &reply) != nil || len(reply) != 3 ||
			reply["name"] != "cron" || reply["state"] != "up" || reply["last_beat"] != "2026-11-30T09:00:00Z" {
			t.Fatalf("beat with body %q: %d %s", body, rec.Code, rec.Body)
		}
	}
}
