package httpjson

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestReplies(t *testing.T) {
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter)
		wantStatus int
		wantBody   string
		retryAfter string
	}{
		{"a value", func(w http.ResponseWriter) { Write(w, http.StatusAccepted, map[string]int{"incident": 4}) },
			http.StatusAccepted, `{"incident":4}` + "\n", ""},
		{"an error sentence", func(w http.ResponseWriter) { Error(w, http.StatusConflict, "INC-4 is already resolved.") },
			http.StatusConflict, `{"error":"INC-4 is already resolved."}` + "\n", ""},
		{"a 503 says when to retry", func(w http.ResponseWriter) { Error(w, http.StatusServiceUnavailable, "unavailable") },
			http.StatusServiceUnavailable, `{"error":"unavailable"}` + "\n", RetryAfter},
		{"a 503 keeps the caller's Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			Error(w, http.StatusServiceUnavailable, "busy")
		}, http.StatusServiceUnavailable, `{"error":"busy"}` + "\n", "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec)
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if ra := rec.Header().Get("Retry-After"); ra != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", ra, tc.retryAfter)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}
