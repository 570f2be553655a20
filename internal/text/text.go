// Package text holds the small pieces of wording that several parts of baton
// show to people and must show alike: a string cut to a length, and a
// duration said the way the chat says it.
package text

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Ellipsis marks where Truncate cut a string.
const Ellipsis = "…"

// Truncate returns s when it has at most n characters (runes). Otherwise it
// returns the longest prefix of whole graphemes of at most n-1 characters
// followed by Ellipsis, at most n characters in all, so the cut shows. It
// never splits a UTF-8 sequence or a grapheme (see TruncateUTF16), and it
// returns s itself, byte for byte, whenever s fits. n < 1 gives "".
func Truncate(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	return cut(s, n, func(rune) int { return 1 })
}

// UTF16Len is how many UTF-16 code units s takes: one a character, two for
// one beyond the Basic Multilingual Plane (most emoji, rare CJK ideographs).
// It is what JavaScript's String.length counts, and so what a service that
// says "characters" without saying which may count (Slack's Block Kit
// limits).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // an invalid byte is U+FFFD: one
	}
	return n
}

// TruncateUTF16 is Truncate counting UTF-16 code units (UTF16Len): s itself
// when it takes at most n units; otherwise the longest prefix of whole
// graphemes that takes at most n-1, followed by Ellipsis (one unit). It
// never splits a UTF-8 sequence, a surrogate pair (a character is kept or
// dropped whole) or a grapheme as people see one: a character and the
// combining marks, variation selectors, skin-tone modifiers, tags and
// zero-width joiners that extend it (👍🏽, 👩‍💻, 🏴 flags, e + ́), a pair
// of regional indicators (a flag), CR LF. n < 1 gives "".
//
// Any string of at most n units has at most n characters too, so a text
// cut with it fits a limit counted in either unit.
func TruncateUTF16(s string, n int) string {
	if len(s) <= n || UTF16Len(s) <= n {
		return s
	}
	return cut(s, n, utf16.RuneLen)
}

// cut returns the longest prefix of whole graphemes of s that takes at most
// n-1 units (size says how many a rune takes) and Ellipsis; s is known not
// to fit in n.
func cut(s string, n int, size func(rune) int) string {
	if n < 1 {
		return ""
	}
	end, units := 0, 0 // the last grapheme boundary within n-1 units
	var prev rune = -1
	ri := 0 // regional indicators in a row before r
	for i, r := range s {
		if prev >= 0 && !extends(prev, r, ri) {
			if units > n-1 {
				break
			}
			end = i
		}
		units += size(r)
		if isRegional(r) {
			ri++
		} else {
			ri = 0
		}
		prev = r
	}
	return s[:end] + Ellipsis
}

// extends reports whether r continues the grapheme that prev is part of
// (no boundary between them), ri being how many regional indicators end
// the text before r. A simplification of Unicode's extended grapheme
// clusters (UAX #29) that covers the marks and emoji sequences of titles;
// Hangul jamo and Indic conjuncts are not joined.
func extends(prev, r rune, ri int) bool {
	switch {
	case prev == '\r' && r == '\n':
		return true
	case r == zwj, prev == zwj:
		return true
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc):
		return true // combining marks, variation selectors
	case r >= 0x1F3FB && r <= 0x1F3FF:
		return true // emoji skin-tone modifiers
	case r >= 0xE0020 && r <= 0xE007F:
		return true // tags (subdivision flags)
	case isRegional(r) && ri%2 == 1:
		return true // the second indicator of a flag
	}
	return false
}

// zwj is the zero-width joiner of emoji sequences.
const zwj = '\u200D'

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// FitBytes returns the longest prefix of s that has at most n bytes and
// does not split a UTF-8 sequence: for stored fields with a byte limit
// (Redis keeps a hash compact while every value is under 64 bytes). It adds
// no ellipsis; n < 1 gives "".
func FitBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Duration says d the way people do, rounded to the second and to its two
// largest units: "42s", "4m 10s", "5m", "2h 5m", "30h", "3d 4h". Hours run
// up to two days, so a day and a half reads "36h"; a unit that is zero is
// left out.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return pair(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return pair(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return pair(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// pair writes "<a><ua> <b><ub>", or "<a><ua>" when b is zero.
func pair(a int, ua string, b int, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, ua)
	}
	return fmt.Sprintf("%d%s %d%s", a, ua, b, ub)
}
