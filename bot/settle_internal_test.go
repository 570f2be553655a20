package bot

import (
	"fmt"
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

// recordMsg keeps the records of messages still showing buttons: in issue
// 14's storm eli got INC-18's two single pages and then some twenty
// bundles naming it; with sixteen records, oldest dropped first, the
// singles' records went and they kept their buttons after "Acknowledge
// all". Settled records (no button left) now go before live ones.
func TestRecordMsgKeepsLiveRecords(t *testing.T) {
	ts := func(i int) string { return fmt.Sprintf("D1/1700000000.%06d", i) }
	type rec struct{ field, value string }
	cases := []struct {
		name    string
		records []rec // recorded in this order
		kept    []string
		dropped []string
	}{
		{
			name: "two singles then twenty-two bundles",
			records: func() []rec {
				r := []rec{{refPage + ts(1), pageUnsettled}, {refPage + ts(2), pageUnsettled}}
				for i := 3; i <= 24; i++ {
					r = append(r, rec{refBundle + ts(i), "b0123456789abcdef"})
				}
				return r
			}(),
			kept: []string{refPage + ts(1), refPage + ts(2), refBundle + ts(24)},
		},
		{
			name: "settled records go before the oldest live one",
			records: func() []rec {
				r := []rec{{refPage + ts(1), pageUnsettled}}
				for i := 2; i <= maxMsgRefs; i++ {
					r = append(r, rec{refBundle + ts(i), "b0123456789abcdef|acknowledged"})
				}
				return append(r, rec{refPage + ts(maxMsgRefs+1), pageUnsettled})
			}(),
			kept:    []string{refPage + ts(1), refPage + ts(maxMsgRefs+1)},
			dropped: []string{refBundle + ts(2)},
		},
		{
			name: "past the bound with all live the oldest goes",
			records: func() []rec {
				var r []rec
				for i := 1; i <= maxMsgRefs+1; i++ {
					r = append(r, rec{refPage + ts(i), pageUnsettled})
				}
				return r
			}(),
			kept:    []string{refPage + ts(2), refPage + ts(maxMsgRefs+1)},
			dropped: []string{refPage + ts(1)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refs := map[string]string{refChannel: "C1", refCard: "1.2"}
			for _, r := range tc.records {
				for f, v := range recordMsg(refs, r.field, r.value) {
					if v == "" {
						delete(refs, f)
					} else {
						refs[f] = v
					}
				}
			}
			for _, f := range tc.kept {
				if _, ok := refs[f]; !ok {
					t.Errorf("record %s dropped; want it kept", f)
				}
			}
			for _, f := range tc.dropped {
				if _, ok := refs[f]; ok {
					t.Errorf("record %s kept; want it dropped", f)
				}
			}
			n := 0
			for f := range refs {
				if isMsgRef(f) {
					n++
				}
			}
			if n > maxMsgRefs {
				t.Errorf("%d records, over %d", n, maxMsgRefs)
			}
		})
	}
}
