package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// A bad request body is described in a person's words: no Go type names.
func TestJSONProblem(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `nope`, "it is not valid JSON (invalid character"},
		{"a number", `9`, "it must be a JSON object, not number"},
		{"a number then junk", `9z`, "it must be a JSON object, not number"},
		{"wrong kind of field", `{"by":5}`, `field "by" must be a string, not number`},
		{"unknown field", `{"who":"alice"}`, `it has field "who", which this request does not take`},
		{"empty", ``, "it is empty"},
		{"cut short", `{"by":"al`, "it ends in the middle of a value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body transitionBody
			dec := json.NewDecoder(strings.NewReader(tc.body))
			dec.DisallowUnknownFields()
			err := dec.Decode(&body)
			if err == nil {
				t.Fatal("decoded without an error")
			}
			got := jsonProblem(err)
			if !strings.Contains(got, tc.want) || strings.Contains(got, "httpapi.") || strings.Contains(got, "Go value") {
				t.Fatalf("jsonProblem = %q, want it to say %q and name no Go type", got, tc.want)
			}
		})
	}
}
