package redisstore

import (
	"encoding/json"
	"testing"
)

// The small scanner reads what encoding/json reads, whatever the key
// order cjson chose, and hands anything unusual to encoding/json.
func TestDecodeEntry(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"paged", `{"type":"paged","at":1774310400000,"by":"baton","person":"alice","level":2,"note":"first"}`},
		{"keys reordered", `{"note":"escalated","person":"bob","level":3,"type":"paged","by":"baton","at":1774310400123}`},
		{"fallback page: no person", `{"by":"baton","type":"paged","at":1774310400000,"level":1,"note":"fallback #web-alerts"}`},
		{"no level", `{"type":"escalated","at":1774310400000,"by":"carol","person":"dan"}`},
		{"level last", `{"type":"escalated","at":1774310400000,"person":"dan","level":2}`},
		{"escaped note", `{"type":"paged","note":"said \"at\":1 and \"level\":9","at":1774310400000,"person":"erin","level":1}`},
		{"exponent", `{"type":"paged","at":1.7743104e+12,"person":"frank","level":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEntry(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			var want entry
			var loose struct {
				Type   string  `json:"type"`
				At     float64 `json:"at"`
				Person string  `json:"person"`
				Level  int     `json:"level"`
			}
			if err := json.Unmarshal([]byte(tc.raw), &loose); err != nil {
				t.Fatal(err)
			}
			want = entry{Type: loose.Type, At: int64(loose.At), Person: loose.Person, Level: loose.Level}
			if got != want {
				t.Errorf("decodeEntry = %+v, want %+v", got, want)
			}
			if typ := entryType(tc.raw); typ != want.Type {
				t.Errorf("entryType = %q, want %q", typ, want.Type)
			}
		})
	}
}
