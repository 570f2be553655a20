package bot

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// A page's record fits the chat reference limit in bytes, whatever its
// reason's words: Truncate counts characters, so a why of multi-byte
// characters (or the ellipsis itself) made a 65-byte record that Redis
// refused, and the page kept its buttons after an ack.
func TestPageShownFitsTheRefLimit(t *testing.T) {
	cases := []struct {
		name string
		why  string
	}{
		{name: "short", why: "nobody on call"},
		{name: "long ascii", why: strings.Repeat("x", 200)},
		{name: "multi-byte", why: strings.Repeat("é", 80)},
		{name: "emoji", why: strings.Repeat("🚨", 30)},
		{name: "a fallback's why", why: "dave has no slack id and no email in config: cannot be reached in chat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pg := escalation.Page{Incident: 1, Reason: escalation.ReasonFallback, Level: 12, Why: tc.why}
			v := pageShown(pg, Card{})
			if len(v) > incident.MaxChatRefBytes {
				t.Fatalf("record %q is %d bytes, over %d", v, len(v), incident.MaxChatRefBytes)
			}
			if _, noLink, back := parsePageShown(v, 1); !noLink || back.Reason != pg.Reason || back.Level != pg.Level || !strings.HasPrefix(tc.why, back.Why) {
				t.Fatalf("record %q read back as noLink=%v %+v", v, noLink, back)
			}
		})
	}
}
