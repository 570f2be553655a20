package discord

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// Discord counts its limits (content 2,000, embed description 4,096, title
// 256) in Unicode code points: its API is Python 3 and measures a string's
// len (discord/discord-api-docs#1315, answered by Discord). So rendering
// cuts in runes and uses the whole budget: 2,000 emoji of content is 2,000,
// though 4,000 UTF-16 units. The cut never splits a character or a
// grapheme (a skin-toned emoji keeps its tone).
func TestLimitsInRunes(t *testing.T) {
	emoji := strings.Repeat("🔥", 5000)
	skin := strings.Repeat("👍🏽", 3000)
	cjk := strings.Repeat("𠀋日本", 2000)
	type field struct {
		what  string
		s     string
		limit int
	}
	cases := []struct {
		name   string
		fields func() []field
		full   bool // the text fills its limit exactly (each character a grapheme)
	}{
		{name: "content, emoji", full: true, fields: func() []field {
			out := render(bot.Message{Text: emoji})
			return []field{{"content", out.Content, maxContent}}
		}},
		{name: "content, CJK with Extension B", full: true, fields: func() []field {
			out := render(bot.Message{Text: cjk})
			return []field{{"content", out.Content, maxContent}}
		}},
		{name: "content, skin-toned emoji", fields: func() []field {
			out := render(bot.Message{Text: skin})
			return []field{{"content", out.Content, maxContent}}
		}},
		{name: "card title, emoji", full: true, fields: func() []field {
			c := &bot.Card{Number: 7, Ref: "INC-7", Title: emoji, Service: "payments", Severity: incident.SevCritical, Status: incident.StatusTriggered}
			out := render(bot.Message{Text: "page", Card: c})
			return []field{{"title", out.Embeds[0].Title, maxTitle}}
		}},
		{name: "summary description, emoji", full: true, fields: func() []field {
			out := render(bot.Message{Text: "stats", Summary: &bot.Summary{Title: emoji, Lines: []string{emoji}}})
			return []field{{"title", out.Embeds[0].Title, maxTitle}, {"description", out.Embeds[0].Description, maxDescription}}
		}},
		{name: "bundle description, emoji titles", fields: func() []field {
			b := &bot.Bundle{ID: "b0123456789abcdef"}
			for i := 1; i <= 60; i++ {
				b.Entries = append(b.Entries, bot.BundleEntry{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i), Title: emoji,
					Service: "payments", Severity: incident.SevCritical, Status: incident.StatusTriggered})
			}
			out := render(bot.Message{Text: b.Text(), Bundle: b})
			return []field{{"description", out.Embeds[0].Description, maxDescription}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range tc.fields() {
				n := utf8.RuneCountInString(f.s)
				if n > f.limit {
					t.Errorf("%s of %d characters, Discord takes %d", f.what, n, f.limit)
				}
				if tc.full && n != f.limit {
					t.Errorf("%s of %d characters (%d UTF-16 units), want the whole %d: Discord counts code points", f.what, n, text.UTF16Len(f.s), f.limit)
				}
				if !utf8.ValidString(f.s) {
					t.Errorf("%s splits a character", f.what)
				}
				if strings.Contains(f.s, "👍…") {
					t.Errorf("%s splits a skin-toned emoji from its tone", f.what)
				}
			}
		})
	}
}
