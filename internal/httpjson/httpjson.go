// Package httpjson writes baton's JSON replies: a JSON body with a status,
// and errors as {"error": "sentence"}. The API (internal/httpapi) and the
// alert webhooks (intake) both answer this way.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write writes v as the JSON body with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Error writes {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}
