package text

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"empty", "", 5, ""},
		{"shorter than n", "abc", 5, "abc"},
		{"exactly n", "abcde", 5, "abcde"},
		{"one too many: n-1 characters and the ellipsis", "abcdef", 5, "abcd…"},
		{"much longer", strings.Repeat("x", 100), 10, "xxxxxxxxx…"},
		{"n of one keeps only the ellipsis", "abc", 1, "…"},
		{"n of zero", "abc", 0, ""},
		{"negative n", "abc", -3, ""},
		{"multibyte that fits by characters, not bytes", "héllo wörld", 11, "héllo wörld"},
		{"multibyte cut between characters", "日本語のテキスト", 4, "日本語…"},
		{"cut right after a two-byte character", "ééééé", 3, "éé…"},
		{"emoji are one character each", "🚨🚨🚨🚨", 3, "🚨🚨…"},
		{"an ellipsis already there counts as one", "ab…cd", 4, "ab……"},
		{"invalid UTF-8 that fits is returned as is", "ab\xffc", 4, "ab\xffc"},
		{"a skin tone stays with its emoji", "ok👍🏽x", 4, "ok…"},
		{"a ZWJ sequence is one grapheme", "a👩‍💻bc", 4, "a…"},
		{"a flag is never split", "x🇫🇷🇩🇪", 3, "x…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.s, tc.n)
			if got != tc.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
			if utf8.ValidString(tc.s) && !utf8.ValidString(got) {
				t.Fatalf("Truncate(%q, %d) = %q splits a character", tc.s, tc.n, got)
			}
			if c := utf8.RuneCountInString(got); tc.n >= 0 && c > tc.n {
				t.Fatalf("Truncate(%q, %d) has %d characters", tc.s, tc.n, c)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"seconds", 42 * time.Second, "42s"},
		{"minutes and seconds", 4*time.Minute + 12*time.Second, "4m 12s"},
		{"whole minutes", 5 * time.Minute, "5m"},
		{"rounded to the second", 4*time.Minute + 11500*time.Millisecond, "4m 12s"},
		{"hours and minutes", 2*time.Hour + 5*time.Minute, "2h 5m"},
		{"whole hours", 4 * time.Hour, "4h"},
		{"seconds dropped past an hour", time.Hour + 59*time.Second, "1h"},
		{"hours up to two days", 36*time.Hour + 30*time.Minute, "36h 30m"},
		{"two days", 48 * time.Hour, "2d"},
		{"days and hours", (3*24 + 4) * time.Hour, "3d 4h"},
		{"ninety days", 90 * 24 * time.Hour, "90d"},
		{"negative", -3 * time.Second, "-3s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Duration(tc.d); got != tc.want {
				t.Fatalf("Duration(%s) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestFitBytes(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"fits", "alice", 63, "alice"},
		{"exactly n bytes", "abc", 3, "abc"},
		{"ascii cut", "abcdef", 4, "abcd"},
		{"cut inside a two-byte character backs off", "aé", 2, "a"},
		{"cut after a two-byte character", "éé", 2, "é"},
		{"cut inside a four-byte emoji backs off", "ab🚨", 5, "ab"},
		{"n of zero", "abc", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FitBytes(tc.s, tc.n)
			if got != tc.want || len(got) > max(tc.n, 0) || !utf8.ValidString(got) {
				t.Fatalf("FitBytes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}

// TruncateUTF16 counts UTF-16 code units, as a limit stated in "characters"
// may (Slack's Block Kit): an emoji beyond the BMP takes two, a CJK
// ideograph of the BMP one, one of Extension B two. At the edge it keeps
// whole graphemes, never half a surrogate pair or an emoji sequence.
func TestTruncateUTF16(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"empty", "", 5, ""},
		{"ASCII that fits", "abcde", 5, "abcde"},
		{"ASCII one too many", "abcdef", 5, "abcd…"},
		{"n of one keeps only the ellipsis", "abc", 1, "…"},
		{"n of zero", "abc", 0, ""},
		{"negative n", "abc", -1, ""},
		{"emoji take two units: 4 fit in 8", "🚨🚨🚨🚨", 8, "🚨🚨🚨🚨"},
		{"emoji: 4 do not fit in 7", "🚨🚨🚨🚨", 7, "🚨🚨🚨…"},
		{"emoji: never half a pair", "🚨🚨🚨🚨", 6, "🚨🚨…"},
		{"a rune count would keep too many", "ab🚨🚨🚨", 5, "ab🚨…"},
		{"CJK of the BMP is one unit each", "日本語のテキスト", 4, "日本語…"},
		{"CJK of the BMP that fits", "日本語のテキスト", 8, "日本語のテキスト"},
		{"CJK Extension B is two units each", "𠀋𠀋𠀋", 5, "𠀋𠀋…"},
		{"CJK Extension B at the edge", "𠀋𠀋𠀋", 4, "𠀋…"},
		{"a skin tone stays with its emoji", "ok 👍🏽 fine", 6, "ok …"},
		{"a skin tone kept whole when it fits", "ok 👍🏽 fine", 8, "ok 👍🏽…"},
		{"a ZWJ sequence is one grapheme", "a👩‍💻b", 6, "a…"},
		{"a ZWJ sequence kept whole", "a👩‍💻bc", 7, "a👩‍💻…"},
		{"a flag is two indicators", "🇫🇷🇩🇪", 6, "🇫🇷…"},
		{"a flag never split", "🇫🇷🇩🇪", 4, "…"},
		{"a combining accent stays", "cafe\u0301s", 5, "caf…"},
		{"a variation selector stays", "x❤\uFE0Fy", 3, "x…"},
		{"CR LF together", "ab\r\ncd", 4, "ab…"},
		{"invalid UTF-8 that fits is returned as is", "ab\xffc", 4, "ab\xffc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TruncateUTF16(tc.s, tc.n)
			if got != tc.want {
				t.Fatalf("TruncateUTF16(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
			if !utf8.ValidString(got) && utf8.ValidString(tc.s) {
				t.Fatalf("TruncateUTF16(%q, %d) = %q splits a character", tc.s, tc.n, got)
			}
			if u := UTF16Len(got); tc.n >= 0 && u > tc.n {
				t.Fatalf("TruncateUTF16(%q, %d) takes %d UTF-16 units", tc.s, tc.n, u)
			}
		})
	}
}

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want int
	}{
		{"ASCII", "abc", 3},
		{"BMP accents and CJK", "é日本", 3},
		{"an emoji is two", "🚨", 2},
		{"a skin-toned emoji is four", "👍🏽", 4},
		{"CJK Extension B is two", "𠀋", 2},
		{"an invalid byte is one (U+FFFD)", "\xff", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UTF16Len(tc.s); got != tc.want {
				t.Fatalf("UTF16Len(%q) = %d, want %d", tc.s, got, tc.want)
			}
		})
	}
}
