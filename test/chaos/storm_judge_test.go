//go:build chaos

package chaos

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// TestStormFigures checks the storm benchmark's definitions on hand-made
// records: what tells an incident (any INC-<n> in a DM to its owner, in the
// text, the blocks or the attachments), what is a duplicate, what is never
// told, and how calls and 429s are counted.
func TestStormFigures(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	post := func(ms int, channel, text, blocks string) fakeslack.Call {
		resp, _ := json.Marshal(map[string]any{"ok": true, "channel": channel, "ts": "1.0"})
		return fakeslack.Call{Method: "chat.postMessage", At: at(ms), OK: true, Status: 200, Response: resp,
			Params: url.Values{"channel": {channel}, "text": {text}, "blocks": {blocks}}}
	}
	limited := fakeslack.Call{Method: "chat.postMessage", At: at(50), Status: 429, Error: "ratelimited"}
	dm := map[string]string{"DA": "UA", "DB": "UB"}
	owner := map[int64]string{1: "UA", 2: "UA", 3: "UA", 4: "UB"}
	deliveries := func() []delivery {
		var ds []delivery
		for n := int64(1); n <= 4; n++ {
			ds = append(ds, delivery{Incident: n, At: at(0), Answered: at(10), Status: 202})
		}
		return ds
	}
	tests := []struct {
		name      string
		calls     []fakeslack.Call
		told      []time.Duration // sorted
		never     []int64
		dups      []int64
		calls429  int
		callCount int
	}{
		{"one page each", []fakeslack.Call{
			post(100, "DA", "You are on call for INC-1.", ""), post(200, "DA", "You are on call for INC-2.", ""),
			post(300, "DA", "You are on call for INC-3.", ""), post(400, "DB", "You are on call for INC-4.", ""),
		}, []time.Duration{90 * time.Millisecond, 190 * time.Millisecond, 290 * time.Millisecond, 390 * time.Millisecond}, nil, nil, 0, 4},
		{"a bundle names three, in its blocks", []fakeslack.Call{
			post(500, "DA", "3 incidents are paging you", `[{"type":"section","text":{"type":"mrkdwn","text":"*INC-1* x"}},{"type":"section","text":{"type":"mrkdwn","text":"*INC-2* y"}},{"type":"context","elements":[{"type":"mrkdwn","text":"Also: INC-3"}]}]`),
			post(600, "DB", "You are on call for INC-4.", ""), limited,
		}, []time.Duration{490 * time.Millisecond, 490 * time.Millisecond, 490 * time.Millisecond, 590 * time.Millisecond}, nil, nil, 1, 3},
		{"INC-1 and INC-12 are different incidents; another person's DM and a channel tell nobody", []fakeslack.Call{
			post(100, "DA", "You are on call for INC-12.", ""), post(150, "DB", "INC-1 for your information", ""),
			post(170, "C1", "INC-2 opened", ""), post(200, "DB", "You are on call for INC-4.", ""),
		}, []time.Duration{190 * time.Millisecond}, []int64{1, 2, 3}, nil, 0, 4},
		{"named twice before the re-page: a duplicate; a re-page on time is not", []fakeslack.Call{
			post(100, "DA", "You are on call for INC-1.", ""), post(900, "DA", "You are on call for INC-1.", ""),
			post(200, "DA", "You are on call for INC-2.", ""), post(200+60_000, "DA", "Reminder: INC-2 is still unacknowledged", ""),
			post(300, "DA", "INC-3", ""), post(400, "DB", "INC-4", ""),
		}, []time.Duration{90 * time.Millisecond, 190 * time.Millisecond, 290 * time.Millisecond, 390 * time.Millisecond}, nil, []int64{1}, 0, 6},
		{"recorded before the 202 was read: 0; after the deadline: never", []fakeslack.Call{
			post(5, "DA", "INC-1", ""), post(200, "DA", "INC-2", ""), post(300, "DA", "INC-3", ""), post(70_000, "DB", "INC-4", ""),
		}, []time.Duration{0, 190 * time.Millisecond, 290 * time.Millisecond}, []int64{4}, nil, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := stormResult(deliveries(), owner, tellingsOf(tc.calls, dm), tc.calls, time.Minute, at(60_000))
			if !slices.Equal(f.told, tc.told) || !slices.Equal(f.never, tc.never) || !slices.Equal(f.duplicates, tc.dups) ||
				f.rateLimits != tc.calls429 || f.calls != len(tc.calls) {
				t.Fatalf("told %v never %v duplicates %v 429s %d calls %d", f.told, f.never, f.duplicates, f.rateLimits, f.calls)
			}
		})
	}
	// Quantiles count the never-told as longer than any.
	f := stormFigures{incidents: 4, told: []time.Duration{1, 2, 3}}
	if d, ok := f.quantile(0.5); !ok || d != 2 {
		t.Fatalf("p50 %v %v", d, ok)
	}
	if _, ok := f.quantile(1); ok {
		t.Fatal("max of a storm with a never-told incident is a figure")
	}
}
