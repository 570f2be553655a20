package slack

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// Slack's Block Kit limits (a header's text 150 characters, a section's or
// a context element's 3,000) say "characters" without the unit. Counted
// in UTF-16 code units, which is never fewer than runes, a text that fits
// fits either way; counted in runes, an emoji title could be twice the
// limit in UTF-16. Every text of these messages, with emoji and CJK titles
// at the edge, fits in UTF-16 units and is valid UTF-8 (no surrogate pair
// split), and the cut keeps whole graphemes.
func TestTextLimitsUTF16(t *testing.T) {
	emoji := strings.Repeat("🔥", 3100)     // two units each
	skin := strings.Repeat("👍🏽", 1600)     // four units a grapheme
	extB := strings.Repeat("𠀋", 3100)      // CJK Extension B: two units each
	cjk := strings.Repeat("日本語のタイトル", 400) // BMP: one unit each
	card := func(title string) []slack.Block {
		return cardBlocks(&bot.Card{Number: 7, Ref: "INC-7", Title: title, Service: "payments",
			Severity: incident.SevCritical, Status: incident.StatusTriggered})
	}
	bundle := func(title string) []slack.Block {
		b := &bot.Bundle{ID: "b0123456789abcdef"}
		for i := 1; i <= 60; i++ {
			b.Entries = append(b.Entries, bot.BundleEntry{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i), Title: title,
				Service: "payments", Severity: incident.SevCritical, Status: incident.StatusTriggered, Level: 1})
		}
		return bundleBlocks(b)
	}
	notices := func(title string) []slack.Block {
		var ns []bot.Notice
		for i := 1; i <= 60; i++ {
			ns = append(ns, bot.Notice{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i), Title: title,
				Service: "payments", Severity: incident.SevCritical, Channel: "C0001"})
		}
		return noticesBlocks(ns)
	}
	notice := func(title string) []slack.Block {
		return noticeBlocks(&bot.Notice{Number: 7, Ref: "INC-7", Title: title, Service: "payments", Severity: incident.SevCritical})
	}
	summary := func(title string) []slack.Block {
		return summaryBlocks(&bot.Summary{Title: title, Lines: []string{title}, Footer: title})
	}
	cases := []struct {
		name   string
		blocks []slack.Block
	}{
		{"card header, emoji title", card(emoji)},
		{"card header, skin-toned emoji title", card(skin)},
		{"card header, CJK Extension B title", card(extB)},
		{"card header, CJK title", card(cjk)},
		{"bundle of 60, emoji titles", bundle(emoji)},
		{"bundle of 60, CJK Extension B titles", bundle(extB)},
		{"notices of 60, emoji titles", notices(emoji)},
		{"notices of 60, skin-toned emoji titles", notices(skin)},
		{"a notice, emoji title", notice(emoji)},
		{"a notice, CJK title", notice(cjk)},
		{"summary, emoji title and line", summary(emoji)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what, s string, limit int) {
				t.Helper()
				if n := text.UTF16Len(s); n > limit {
					t.Errorf("%s of %d UTF-16 units (%d runes), Slack takes %d", what, n, utf8.RuneCountInString(s), limit)
				}
				if !utf8.ValidString(s) {
					t.Errorf("%s is not valid UTF-8: a character was split", what)
				}
				if strings.Contains(s, "👍…") || strings.Contains(s, "👍\n") {
					t.Errorf("%s splits a skin-toned emoji from its tone", what)
				}
			}
			for _, bl := range tc.blocks {
				switch x := bl.(type) {
				case *slack.HeaderBlock:
					check("a header", x.Text.Text, maxHeader)
				case *slack.SectionBlock:
					if x.Text != nil {
						check("a section", x.Text.Text, maxText)
					}
				case *slack.ContextBlock:
					for _, el := range x.ContextElements.Elements {
						if tx, ok := el.(*slack.TextBlockObject); ok {
							check("a context element", tx.Text, maxText)
						}
					}
				}
			}
		})
	}
}
