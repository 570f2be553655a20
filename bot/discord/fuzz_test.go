package discord

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonhq/baton/bot"
)

// FuzzParseCustomID: a button's custom_id comes back from Discord as
// anyone's input. Only baton's own form parses, and it parses back to
// itself.
func FuzzParseCustomID(f *testing.F) {
	for _, s := range []string{"baton:ack:1", "baton:resolve:42", "baton:escalate:9223372036854775807", "baton:ack:0",
		"baton:ack:-1", "baton:ack:01", "baton:ack:+1", "baton:nope:1", "baton:ack", ":ack:1", "baton:ack:1:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		a, n, ok := ParseCustomID(id)
		if !ok {
			if a != "" || n != 0 {
				t.Fatalf("refused %q but returned %q %d", id, a, n)
			}
			return
		}
		if _, known := bot.ParseAction(string(a)); !known || n <= 0 {
			t.Fatalf("accepted %q as %q %d", id, a, n)
		}
		if back := CustomID(a, n); back != id && !strings.HasPrefix(strings.TrimPrefix(id, customIDPrefix+string(a)+":"), "0") &&
			!strings.HasPrefix(strings.TrimPrefix(id, customIDPrefix+string(a)+":"), "+") {
			t.Fatalf("%q parsed to %q %d, which renders as %q", id, a, n, back)
		}
		if len(CustomID(a, n)) > 100 {
			t.Fatalf("custom_id over Discord's 100 characters: %q", CustomID(a, n))
		}
	})
}

// FuzzEscape: alert text rendered by escape forms no mention, masked link,
// or markdown: every character Discord's markdown reads is preceded by a
// backslash, and removing the backslashes gives the text back (bidi
// controls aside).
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"@everyone", "<@&1100000000000000777>", "**bold** __u__ ~~s~~ `code` ||spoiler||",
		"[x](https://evil.example)", "> quote", "# heading", "- list", "\\@here", "a\u202Eb", "<#123>", "<t:1:R>", ":smile:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		out := escape(s)
		for _, bad := range []string{"<@", "](", "<#", "<t:", "**", "||", "``"} {
			if strings.Contains(out, bad) {
				t.Fatalf("escape(%q) = %q holds %q", s, out, bad)
			}
		}
		var back strings.Builder
		escaped := false
		for _, r := range out {
			if !escaped && r == '\\' {
				escaped = true
				continue
			}
			if !escaped && strings.ContainsRune(`*_~`+"`"+`|>#-[]()<@:.`, r) {
				t.Fatalf("escape(%q) = %q leaves %q bare", s, out, r)
			}
			escaped = false
			back.WriteRune(r)
		}
		want := s
		for _, b := range bidiControls {
			want = strings.ReplaceAll(want, b, "")
		}
		if back.String() != want {
			t.Fatalf("escape(%q) = %q does not read back (%q)", s, out, back.String())
		}
		if got := unescape(out); got != want {
			t.Fatalf("unescape(escape(%q)) = %q", s, got)
		}
	})
}
