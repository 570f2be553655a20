// Package httpjson writes baton's JSON replies: a JSON body with a status,
// and errors as {"error": "sentence"}. The API (internal/httpapi) and the
// alert webhooks (intake) both answer this way.
package httpjson

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
)

// Write writes v as the JSON body with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = contentType
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

// TrailingDataError is Decode's error for a body with more after its one
// JSON value ({...} {"x":1}); Offset is the byte, from 1, where it starts.
type TrailingDataError struct{ Offset int64 }

func (e *TrailingDataError) Error() string {
	return fmt.Sprintf("more data after the JSON value, at byte %d", e.Offset)
}

// Decode is the API's one strict reading of a JSON request body into v: no
// field v does not name (encoding/json's "unknown field" error), and
// nothing but white space after the one value (a *TrailingDataError).
// Every API route that takes a JSON body reads it through here.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	end := dec.InputOffset()
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), r))
	if err != nil {
		return err
	}
	for i, b := range rest {
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return &TrailingDataError{Offset: end + int64(i) + 1}
		}
	}
	return nil
}

// contentType is the Content-Type of every reply, shared: net/http only
// reads a header's values, and Set or Add on the map replace or copy the
// slice, never write into it.
var contentType = []string{"application/json"}

// WriteBody writes body, already JSON, with status: Write's answer for a
// caller that encoded the value itself.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = contentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
