package bot

import "testing"

// The incident of a reacted message without a link: a page key's head, or
// the first INC-<n> of the bot's own text; nothing else.
func TestIncidentOfMessage(t *testing.T) {
	tests := []struct {
		name, key, text string
		want            int64
		ok              bool
	}{
		{"a page's key", "INC-42/3/first/alice", "", 42, true},
		{"a fallback page's key", "INC-7/1/fallback/-/fallback", "", 7, true},
		{"a card's key", "card:12:1796040000000", "", 12, true},
		{"a notice's key", "notice:9:1796040000000", "", 9, true},
		{"a repeat reply's key", "reply:5:1796040000000:7", "", 5, true},
		{"a card's key naming no number", "card:x:1", "", 0, false},
		{"a key that is not a page's", "deploy/42", "", 0, false},
		{"a key without a slash", "INC-42", "", 0, false},
		{"a card's text", "", "You are on call for INC-12. Acknowledge to stop the pages. INC-12 [critical] db (payments, triggered)", 12, true},
		{"a notice's text", "", "INC-9 [warning] disk (db) · acknowledged by Bob", 9, true},
		{"text naming none", "", "Incident stats, last 7 days", 0, false},
		{"INC-0", "", "INC-0 [critical] x", 0, false},
		{"a longer word", "", "XINC-5 and INC-5x", 0, false},
		{"an overflowing number", "", "INC-99999999999999999999", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := keyIncident(tc.key)
			if !ok && tc.text != "" {
				n, ok = textIncident(tc.text)
			}
			if n != tc.want || ok != tc.ok {
				t.Errorf("key %q text %q: INC-%d, %v; want INC-%d, %v", tc.key, tc.text, n, ok, tc.want, tc.ok)
			}
		})
	}
}
