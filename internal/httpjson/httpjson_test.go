package httpjson

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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

// Decode takes exactly one JSON object with known fields, and white space
// around it; anything after it is a *TrailingDataError with its byte.
func TestDecode(t *testing.T) {
	type body struct {
		By string `json:"by"`
	}
	for _, tc := range []struct {
		name, in string
		trailing int64 // 0: no TrailingDataError
		ok       bool
	}{
		{"one object", `{"by":"dana"}`, 0, true},
		{"white space after it", "{\"by\":\"dana\"}\n  \t", 0, true},
		{"a second object", `{"by":"dana"} {"x":1}`, 15, false},
		{"a word after it", `{"by":"dana"}x`, 14, false},
		{"an unknown field", `{"by":"dana","x":1}`, 0, false},
		{"empty", ``, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b body
			err := Decode(strings.NewReader(tc.in), &b)
			var tr *TrailingDataError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Decode: %v", err)
			case !tc.ok && err == nil:
				t.Fatalf("Decode took %q", tc.in)
			case tc.trailing != 0 && (!errors.As(err, &tr) || tr.Offset != tc.trailing):
				t.Fatalf("Decode: %v, want trailing data at byte %d", err, tc.trailing)
			}
		})
	}
}
