package bot

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/escalation"
)

// A fallback bundle says why nobody could be paged: one reason in its lead
// when every page shares it, else each incident its own (break test of
// issue 14: it said no reason at all, while a lone fallback page did).
func TestFallbackBundleExplain(t *testing.T) {
	ghost := "page to ghost could not be delivered: ghost: no slack user with email ghost@example.com"
	cases := []struct {
		name   string
		whys   []string
		lead   string
		whyOf  []string // each entry's Why after
		reason string
	}{
		{name: "shared", whys: []string{ghost, ghost, ghost}, reason: ghost,
			lead:  "Nobody could be paged for 3 incidents (" + ghost + "). Whoever takes one, acknowledge it.",
			whyOf: []string{"nobody could be paged", "nobody could be paged", "nobody could be paged"}},
		{name: "different", whys: []string{ghost, "page to dave could not be delivered: rate limited"},
			lead:  "Nobody could be paged for 2 incidents. Whoever takes one, acknowledge it.",
			whyOf: []string{"nobody could be paged: " + ghost, "nobody could be paged: page to dave could not be delivered: rate limited"}},
		{name: "one without a reason", whys: []string{ghost, ""},
			lead:  "Nobody could be paged for 2 incidents. Whoever takes one, acknowledge it.",
			whyOf: []string{"nobody could be paged: " + ghost, "nobody could be paged"}},
		{name: "a long reason is cut", whys: []string{strings.Repeat("x", 300), strings.Repeat("x", 300)}, reason: strings.Repeat("x", maxReason-1) + "…",
			lead:  "Nobody could be paged for 2 incidents (" + strings.Repeat("x", maxReason-1) + "…). Whoever takes one, acknowledge it.",
			whyOf: []string{"nobody could be paged", "nobody could be paged"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := Bundle{Fallback: true}
			var items []*pageItem
			for i, w := range tc.whys {
				it := &pageItem{pg: escalation.Page{Incident: int64(i + 1), Reason: escalation.ReasonFallback, Why: w, Key: "k"}}
				it.card.Status = "triggered"
				items = append(items, it)
				b.Entries = append(b.Entries, it.entry())
			}
			b.explain(items)
			if b.Reason != tc.reason {
				t.Errorf("reason %q, want %q", b.Reason, tc.reason)
			}
			if got := b.Lead(); got != tc.lead {
				t.Errorf("lead %q\nwant %q", got, tc.lead)
			}
			for i, e := range b.Entries {
				if e.Why != tc.whyOf[i] {
					t.Errorf("entry %d why %q, want %q", i, e.Why, tc.whyOf[i])
				}
			}
		})
	}
}
