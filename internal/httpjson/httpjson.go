// Package httpjson writes baton's JSON replies: a JSON body with a status,
// and errors as {"error": "sentence"}. The API (internal/httpapi) and the
// alert webhooks (intake) both answer this way.
package httpjson

import (
	"encoding/json"
	"net/http"
	"reflect"
)

// Write writes v as the JSON body with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// RetryAfter is the Retry-After, in seconds, of a 503 whose writer set
// none: the incident store was unavailable, and a retry a few seconds
// later is the sender's best move (docs/openapi.yaml's Unavailable).
const RetryAfter = "5"

// Error writes {"error": msg} with status. A 503 carries Retry-After
// (RetryAfter unless the caller set its own).
func Error(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", RetryAfter)
	}
	Write(w, status, map[string]string{"error": msg})
}

var numberType = reflect.TypeFor[json.Number]()

// Want describes the JSON a Go type takes, for sentences such as "must be
// a string": "a string", "true or false", "a whole number", "a number",
// "a JSON object", "a JSON array", else "a different type".
func Want(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	if t == numberType {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return "a different type"
}
