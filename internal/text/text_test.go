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
