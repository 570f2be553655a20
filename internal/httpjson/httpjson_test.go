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
	}{
		{"a value", func(w http.ResponseWriter) { Write(w, http.StatusAccepted, map[string]int{"incident": 4}) },
			http.StatusAccepted, `{"incident":4}` + "\n"},
		{"an error sentence", func(w http.ResponseWriter) { Error(w, http.StatusConflict, "INC-4 is already resolved.") },
			http.StatusConflict, `{"error":"INC-4 is already resolved."}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec)
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}
