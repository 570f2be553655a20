package redisstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics"
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
		{"folded re-pages", `{"type":"paged","at":1774310400000,"by":"baton","person":"alice","level":1,"note":"repeat","count":1000,"last":1774312398000}`},
		{"folded, keys reordered", `{"count":3,"last":1774310404000,"note":"repeat","type":"paged","at":1774310400000,"person":"bob","level":2}`},
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
				Count  int64   `json:"count"`
				Last   int64   `json:"last"`
			}
			if err := json.Unmarshal([]byte(tc.raw), &loose); err != nil {
				t.Fatal(err)
			}
			want = entry{Type: loose.Type, At: int64(loose.At), Person: loose.Person, Level: loose.Level, Count: loose.Count, Last: loose.Last}
			if got != want {
				t.Errorf("decodeEntry = %+v, want %+v", got, want)
			}
			if typ := entryType(tc.raw); typ != want.Type {
				t.Errorf("entryType = %q, want %q", typ, want.Type)
			}
		})
	}
}

// A folded run of re-pages counts as every page it stands for, spread from
// its first to its latest time; an entry that is not folded is one page.
func TestFoldedPages(t *testing.T) {
	cases := []struct {
		name       string
		e          entry
		n          int
		first, end int64
	}{
		{"one page", entry{At: 1000}, 1, 1000, 1000},
		{"a run of one re-page", entry{At: 1000, Count: 1, Last: 1000}, 1, 1000, 1000},
		{"a run of 1,000 re-pages every 2 s", entry{At: 0, Count: 1000, Last: 999 * 2000}, 1000, 0, 999 * 2000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := foldedPages(analytics.Page{Person: "alice"}, c.e)
			if len(got) != c.n {
				t.Fatalf("%d pages, want %d", len(got), c.n)
			}
			if a, z := got[0].At.UnixMilli(), got[len(got)-1].At.UnixMilli(); a != c.first || z != c.end {
				t.Errorf("pages from %d to %d, want %d to %d", a, z, c.first, c.end)
			}
			if c.n > 2 {
				if d := got[1].At.Sub(got[0].At); d != 2*time.Second {
					t.Errorf("pages %v apart, want 2s", d)
				}
			}
		})
	}
}
