package incident

import (
	"strings"
	"testing"
)

func TestCheckLinkURL(t *testing.T) {
	cases := []struct {
		name string
		url  string
		want error
	}{
		{"https", "https://example.com/q?x=1&y=2#top", nil},
		{"http with port", "http://grafana.internal:3000/d/x", nil},
		{"upper-case scheme", "HTTPS://example.com/", nil},
		{"percent-encoded markup", "https://example.com/x%3E%20%3C!channel%3E%7C", nil},
		{"unicode path", "https://example.com/café", nil},
		{"hostile mention", "https://example.com/x> <!channel> <@U0HOSTILE> <https://example.com/y", ErrLinkUnsafeChar},
		{"pipe splits a Slack link", "https://example.com/x|click me", ErrLinkUnsafeChar},
		{"less-than", "https://example.com/<x", ErrLinkUnsafeChar},
		{"space", "https://example.com/a b", ErrLinkUnsafeChar},
		{"tab", "https://example.com/a\tb", ErrLinkUnsafeChar},
		{"CRLF", "https://example.com/a\r\nb", ErrLinkUnsafeChar},
		{"NUL", "https://example.com/a\x00", ErrLinkUnsafeChar},
		{"DEL", "https://example.com/a\x7f", ErrLinkUnsafeChar},
		{"C1 control", "https://example.com/a\u0085", ErrLinkUnsafeChar},
		{"line separator", "https://example.com/a\u2028", ErrLinkUnsafeChar},
		{"bidi override", "https://example.com/\u202egnp.exe", ErrLinkUnsafeChar},
		{"zero-width joiner", "https://exa\u200dmple.com/", ErrLinkUnsafeChar},
		{"invalid UTF-8", "https://example.com/\xff", ErrLinkUnsafeChar},
		{"javascript", "javascript:alert(1)", ErrLinkNotHTTP},
		{"data", "data:text/html,hi", ErrLinkNotHTTP},
		{"ftp", "ftp://files.example.com/x", ErrLinkNotHTTP},
		{"relative", "/runbooks/db", ErrLinkNotHTTP},
		{"no host", "https:///path", ErrLinkNotHTTP},
		{"opaque", "https:example.com", ErrLinkNotHTTP},
		{"empty", "", ErrLinkNotHTTP},
		{"bad escape", "https://example.com/%zz", ErrLinkNotHTTP},
		{"too long", "https://example.com/" + strings.Repeat("a", MaxLinkURL), ErrLinkTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckLinkURL(tc.url); got != tc.want {
				t.Errorf("CheckLinkURL(%q) = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}
