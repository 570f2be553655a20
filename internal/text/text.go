// Package text holds the small pieces of wording that several parts of baton
// show to people and must show alike: a string cut to a length, and a
// duration said the way the chat says it.
package text

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Ellipsis marks where Truncate cut a string.
const Ellipsis = "…"

// Truncate returns s when it has at most n characters (runes). Otherwise it
// returns the first n-1 characters followed by Ellipsis, n characters in all,
// so the cut shows. It never splits a UTF-8 sequence, and it returns s itself,
// byte for byte, whenever s fits. n < 1 gives "".
func Truncate(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	kept := 0
	for i := range s {
		if kept == n-1 {
			return s[:i] + Ellipsis
		}
		kept++
	}
	return s
}

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
