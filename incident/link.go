package incident

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLinkURL is the longest URL, in bytes, that baton keeps as a link.
const MaxLinkURL = 2048

// The reasons CheckLinkURL gives. Each completes the sentence "the URL …".
var (
	// ErrLinkNotHTTP: not an absolute http or https URL with a host.
	ErrLinkNotHTTP = errors.New("must be an absolute http or https URL")
	// ErrLinkUnsafeChar: whitespace, a control or format character, or one
	// of < > | (which end or split a link in chat markup), or invalid UTF-8.
	ErrLinkUnsafeChar = errors.New("must not contain spaces, control characters, <, > or |; percent-encode them")
	// ErrLinkTooLong: longer than MaxLinkURL bytes.
	ErrLinkTooLong = errors.New("must be at most 2048 bytes long")
)

// CheckLinkURL says whether s may be shown to responders as a link, the one
// rule for every source and every chat: an absolute http or https URL with a
// host, at most MaxLinkURL bytes, valid UTF-8, and none of whitespace,
// control or format characters (NUL, CR, LF, bidi overrides), <, > and |.
// Those characters are what would let a URL end a chat's link markup early
// and smuggle in markup of its own (Slack's <url|text>, mentions such as
// <!channel>); a real URL carries them percent-encoded. It returns nil or
// one of ErrLinkNotHTTP, ErrLinkUnsafeChar, ErrLinkTooLong.
func CheckLinkURL(s string) error {
	if len(s) > MaxLinkURL {
		return ErrLinkTooLong
	}
	if !utf8.ValidString(s) {
		return ErrLinkUnsafeChar
	}
	for _, r := range s {
		switch {
		case r == '<', r == '>', r == '|',
			unicode.IsSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return ErrLinkUnsafeChar
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ErrLinkNotHTTP
	}
	if !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http") {
		return ErrLinkNotHTTP
	}
	return nil
}
