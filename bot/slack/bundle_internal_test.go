package slack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// A bundle of n incidents within Block Kit's limits: at most 50 blocks, 25
// elements an actions block, 3,000 characters a text, action ids and values
// of at most 100 characters; every incident named in the notification text,
// and in the blocks by name or by the count of those left out; one
// Acknowledge per listed incident and one "Acknowledge all n".
func TestBundleBlocks(t *testing.T) {
	cases := []struct {
		name     string
		n        int
		wantRest bool // the incidents past the listed ones are listed compactly
	}{
		{name: "one", n: 1},
		{name: "two", n: 2},
		{name: "ten: all listed", n: 10},
		{name: "eleven: one compact line", n: 11, wantRest: true},
		{name: "sixty: compact lines, then counted", n: 60, wantRest: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &bot.Bundle{ID: "b0123456789abcdef"}
			for i := 1; i <= tc.n; i++ {
				title := fmt.Sprintf("Replication lag on postgres-%d <b>&%s", i, strings.Repeat(" very long title", 20))
				b.Entries = append(b.Entries, bot.BundleEntry{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i), Title: title,
					Service: "payments", Severity: incident.SevCritical, Status: incident.StatusTriggered, Level: 1, Why: "new", Channel: "C0001"})
			}
			blocks := bundleBlocks(b)
			raw, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			if len(blocks) > 50 {
				t.Fatalf("%d blocks, Slack takes 50", len(blocks))
			}
			acks, ackAll := 0, 0
			var shown strings.Builder
			for _, bl := range blocks {
				switch x := bl.(type) {
				case *slack.ActionBlock:
					if len(x.Elements.ElementSet) > 25 {
						t.Fatalf("an actions block with %d elements", len(x.Elements.ElementSet))
					}
					for _, el := range x.Elements.ElementSet {
						btn := el.(*slack.ButtonBlockElement)
						checkAction(t, btn)
						if btn.ActionID == actionPrefix+string(bot.ActionAckAll) {
							ackAll++
							if want := fmt.Sprintf("Acknowledge all %d", tc.n); btn.Text.Text != want || btn.Value != b.ID {
								t.Errorf("Acknowledge all button %q value %q, want %q value %q", btn.Text.Text, btn.Value, want, b.ID)
							}
						}
					}
				case *slack.SectionBlock:
					if x.Text != nil {
						if l := text.UTF16Len(x.Text.Text); l > maxText {
							t.Fatalf("a section of %d characters", l)
						}
						shown.WriteString(x.Text.Text + "\n")
					}
					if x.Accessory != nil && x.Accessory.ButtonElement != nil {
						checkAction(t, x.Accessory.ButtonElement)
						acks++
					}
				case *slack.ContextBlock:
					for _, el := range x.ContextElements.Elements {
						if tx, ok := el.(*slack.TextBlockObject); ok {
							shown.WriteString(tx.Text + "\n")
						}
					}
				}
			}
			// One page alone has a page's row of buttons (TestBundleBlocksHeader), no "Acknowledge all".
			if want := min(tc.n, bot.BundleListed); acks != want && tc.n > 1 {
				t.Errorf("%d Acknowledge buttons, want %d", acks, want)
			}
			if want := min(tc.n-1, 1); ackAll != want {
				t.Errorf("%d Acknowledge all buttons, want %d", ackAll, want)
			}
			text := b.Text()
			for i := 1; i <= tc.n; i++ {
				if !strings.Contains(text, fmt.Sprintf("INC-%d ", i)) {
					t.Errorf("the notification text does not name INC-%d", i)
				}
			}
			s := shown.String()
			named := 0
			for i := 1; i <= tc.n; i++ {
				if strings.Contains(s, fmt.Sprintf("*INC-%d*", i)) {
					named++
				}
			}
			if named < tc.n && !strings.Contains(s, fmt.Sprintf("and %d more", tc.n-named)) {
				t.Errorf("%d of %d incidents named and the rest not counted:\n%s", named, tc.n, s)
			}
			if tc.wantRest != strings.Contains(s, "/incident list") {
				t.Errorf("pointer to /incident list: %v, want %v", !tc.wantRest, tc.wantRest)
			}
			if strings.Contains(string(raw), "<b>") {
				t.Error("a title's markup reached the blocks unescaped")
			}
		})
	}
}

func checkAction(t *testing.T, b *slack.ButtonBlockElement) {
	t.Helper()
	if len(b.ActionID) > 100 || len(b.Value) > 100 {
		t.Errorf("action %q value %q: longer than 100 characters", b.ActionID, b.Value)
	}
}

// A redrawn bundle: acknowledged and resolved incidents lose their button,
// show who took them, and "Acknowledge all" counts what is left; when
// nothing is left it is gone.
func TestBundleBlocksRedrawn(t *testing.T) {
	alice := &bot.PersonRef{ID: "alice", Name: "Alice", ChatID: "U1"}
	entries := []bot.BundleEntry{
		{Number: 1, Ref: "INC-1", Title: "a", Service: "s", Status: incident.StatusAcknowledged, Owner: alice},
		{Number: 2, Ref: "INC-2", Title: "b", Service: "s", Status: incident.StatusResolved},
		{Number: 3, Ref: "INC-3", Title: "c", Service: "s", Status: incident.StatusTriggered},
	}
	cases := []struct {
		name    string
		entries []bot.BundleEntry
		ackAll  string
	}{
		{name: "one still triggered", entries: entries, ackAll: "Acknowledge all 1"},
		{name: "none left", entries: entries[:2]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(bundleBlocks(&bot.Bundle{ID: "b0123456789abcdef", Entries: tc.entries}))
			s := string(raw)
			if !strings.Contains(s, `*Acknowledged* by \u003c@U1\u003e`) || !strings.Contains(s, "*Resolved*") {
				t.Errorf("who took what not shown: %s", s)
			}
			if got := strings.Count(s, `"action_id":"baton_ack"`); got != len(tc.entries)-2 {
				t.Errorf("%d Acknowledge buttons", got)
			}
			if tc.ackAll != "" && !strings.Contains(s, tc.ackAll) {
				t.Errorf("no %q: %s", tc.ackAll, s)
			}
			if tc.ackAll == "" && strings.Contains(s, "baton_ackall") {
				t.Errorf("Acknowledge all with nothing left: %s", s)
			}
		})
	}
}

// A bundle of notices stays within Block Kit's limits, has no button, and
// names every incident: the first bot.BundleListed in full (with the link
// to the channel), the rest one line each and then counted.
func TestNoticesBlocks(t *testing.T) {
	cases := []struct {
		name     string
		n        int
		wantRest bool
	}{
		{name: "two", n: 2},
		{name: "ten: all listed", n: 10},
		{name: "eleven: one compact line", n: 11, wantRest: true},
		{name: "sixty: compact lines, then counted", n: 60, wantRest: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ns []bot.Notice
			for i := 1; i <= tc.n; i++ {
				title := fmt.Sprintf("Replication lag on postgres-%d <b>&%s", i, strings.Repeat(" very long title", 20))
				ns = append(ns, bot.Notice{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i), Title: title,
					Service: "payments", Severity: incident.SevCritical, Channel: fmt.Sprintf("C%04d", i)})
			}
			blocks := noticesBlocks(ns)
			if len(blocks) > 50 {
				t.Fatalf("%d blocks, Slack takes 50", len(blocks))
			}
			raw, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), `"type":"actions"`) || strings.Contains(string(raw), `"button"`) {
				t.Errorf("a bundle of notices has a button: %.300s", raw)
			}
			var shown strings.Builder
			for _, bl := range blocks {
				if sec, ok := bl.(*slack.SectionBlock); ok && sec.Text != nil {
					if n := text.UTF16Len(sec.Text.Text); n > maxText {
						t.Errorf("a section of %d characters, Slack takes 3,000", n)
					}
					shown.WriteString(sec.Text.Text + "\n")
				}
			}
			all := shown.String()
			if !strings.Contains(all, fmt.Sprintf("%d new incidents:", tc.n)) {
				t.Errorf("no lead naming %d: %.200s", tc.n, all)
			}
			for i := 1; i <= min(tc.n, bot.BundleListed); i++ {
				if !strings.Contains(all, fmt.Sprintf("*INC-%d* ", i)) || !strings.Contains(all, fmt.Sprintf("<#C%04d>", i)) {
					t.Errorf("INC-%d not listed with its channel", i)
				}
			}
			if strings.Contains(string(raw), "<b>") {
				t.Error("a title's markup is not escaped")
			}
			if rest := strings.Contains(string(raw), "/incident list"); rest != tc.wantRest {
				t.Errorf("pointer to /incident list: %v, want %v", rest, tc.wantRest)
			}
		})
	}
}

// bundleCase builds a bundle of pages (incidents numbered pages…) and
// entries for information (numbered info…), shuffled as concurrent jobs
// hand them over, then sorted as the Pager sorts them; acked pages are
// shown acknowledged.
func bundleCase(pages, info []int64, acked bool, fallback bool) *bot.Bundle {
	b := &bot.Bundle{ID: "b0123456789abcdef", Fallback: fallback}
	add := func(n int64, isInfo bool) {
		e := bot.BundleEntry{Number: n, Ref: fmt.Sprintf("INC-%d", n), Title: fmt.Sprintf("Disk full on db-%d", n),
			Service: "payments", Severity: incident.SevCritical, Status: incident.StatusTriggered, Level: 1, Why: "new", Info: isInfo}
		if isInfo {
			e.Why = "moved on: you are no longer paged for it"
		} else if acked {
			e.Status = incident.StatusAcknowledged
		}
		b.Entries = append(b.Entries, e)
	}
	// Interleaved and out of order: the last first, info among the pages.
	for i := range max(len(pages), len(info)) {
		if i < len(info) {
			add(info[len(info)-1-i], true)
		}
		if i < len(pages) {
			add(pages[len(pages)-1-i], false)
		}
	}
	b.SortEntries()
	return b
}

// numbers is 1…n shifted by from: from+1 … from+n.
func numbers(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i + 1)
	}
	return out
}

// The rendered bundle says what the reader is paged for: the header counts
// the pages and the entries for information apart (break test of issue
// 14: "🚨 18 incidents" above "on call for 17 incidents" and "Acknowledge
// all 17"), an information-only bundle has no 🚨, one taken care of has ✅,
// and the incidents are listed by number, the pages first.
func TestBundleBlocksHeader(t *testing.T) {
	cases := []struct {
		name       string
		b          *bot.Bundle
		header     string
		lead       string
		ackAll     string   // "" when there is no Acknowledge all
		order      []string // the refs in the order listed
		notInBlock string   // must not be shown
		// buttons: every button other than "Acknowledge all" (action
		// id=value), when set; pointer: the list command named, when set.
		buttons []string
		pointer string
	}{
		{
			name:   "17 pages and 1 for information",
			b:      bundleCase(numbers(0, 17), []int64{18}, false, false),
			header: "🚨 17 incidents, 1 for your information",
			lead:   "You are on call for 17 incidents. Acknowledge to stop the pages. 1 more for your information.",
			ackAll: "Acknowledge all 17",
			order:  []string{"INC-1", "INC-2", "INC-3", "INC-10", "INC-11", "INC-17", "INC-18"},
			// It said "Type /incident list to see every open one": that
			// listed every service's 20 newest, not this person's pages.
			pointer: "In all: 17 incidents, 1 for your information. Type /incident list mine to see your open incidents, newest first.",
		},
		{
			name:       "information only: 11 moved on",
			b:          bundleCase(nil, numbers(20, 11), false, false),
			header:     "ℹ️ 11 incidents for your information",
			lead:       "For your information: 11 incidents moved on.",
			order:      []string{"INC-21", "INC-22", "INC-29", "INC-30", "INC-31"},
			notInBlock: "🚨",
		},
		{
			name:   "one page, one for information",
			b:      bundleCase([]int64{7}, []int64{3}, false, false),
			header: "🚨 1 incident, 1 for your information",
			lead:   "You are on call for 1 incident. Acknowledge to stop the pages. 1 more for your information.",
			// It had one Acknowledge and "Acknowledge all 1", no Resolve,
			// no Escalate: the lone page keeps a page's buttons.
			ackAll:  "",
			order:   []string{"INC-7", "INC-3"},
			buttons: []string{"baton_ack=7", "baton_resolve=7", "baton_escalate=7"},
		},
		{
			name:       "every page taken care of",
			b:          bundleCase(numbers(0, 3), []int64{4}, true, false),
			header:     "✅ 3 incidents, 1 for your information",
			lead:       "All 3 incidents of this page are taken care of; nothing more to do. 1 more for your information.",
			order:      []string{"INC-1", "INC-2", "INC-3", "INC-4"},
			notInBlock: "🚨",
		},
		{
			name:   "fallback",
			b:      bundleCase(numbers(4, 3), nil, false, true),
			header: "🚨 3 incidents",
			lead:   "Nobody could be paged for 3 incidents. Whoever takes one, acknowledge it.",
			ackAll: "Acknowledge all 3",
			order:  []string{"INC-5", "INC-6", "INC-7"},
		},
		{
			name:    "fallback past the listed ones",
			b:       bundleCase(numbers(0, 12), nil, false, true),
			header:  "🚨 12 incidents",
			lead:    "Nobody could be paged for 12 incidents. Whoever takes one, acknowledge it.",
			ackAll:  "Acknowledge all 12",
			order:   []string{"INC-1", "INC-10"},
			pointer: "Type /incident list triggered to see the open incidents nobody acknowledged yet, newest first.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			blocks := bundleBlocks(tc.b)
			h, ok := blocks[0].(*slack.HeaderBlock)
			if !ok {
				t.Fatalf("the first block is a %T, want the header", blocks[0])
			}
			if h.Text.Text != tc.header {
				t.Errorf("header %q, want %q", h.Text.Text, tc.header)
			}
			if got := tc.b.Lead(); got != tc.lead {
				t.Errorf("lead %q, want %q", got, tc.lead)
			}
			ackAll := ""
			var buttons []string
			var shown strings.Builder
			for _, bl := range blocks {
				switch x := bl.(type) {
				case *slack.ActionBlock:
					for _, el := range x.Elements.ElementSet {
						if btn := el.(*slack.ButtonBlockElement); btn.ActionID == actionPrefix+string(bot.ActionAckAll) {
							ackAll = btn.Text.Text
						} else {
							buttons = append(buttons, btn.ActionID+"="+btn.Value)
						}
					}
				case *slack.SectionBlock:
					if x.Text != nil {
						shown.WriteString(x.Text.Text + "\n")
					}
					if x.Accessory != nil && x.Accessory.ButtonElement != nil {
						buttons = append(buttons, x.Accessory.ButtonElement.ActionID+"="+x.Accessory.ButtonElement.Value)
					}
				case *slack.ContextBlock:
					for _, el := range x.ContextElements.Elements {
						if tx, ok := el.(*slack.TextBlockObject); ok {
							shown.WriteString(tx.Text + "\n")
						}
					}
				}
			}
			if ackAll != tc.ackAll {
				t.Errorf("Acknowledge all %q, want %q", ackAll, tc.ackAll)
			}
			if tc.buttons != nil && !slices.Equal(buttons, tc.buttons) {
				t.Errorf("buttons %q, want %q", buttons, tc.buttons)
			}
			if tc.pointer != "" && !strings.Contains(shown.String(), tc.pointer) {
				t.Errorf("the pointer %q is not shown:\n%s", tc.pointer, shown.String())
			}
			checkOrder(t, shown.String(), "*%s*", tc.order)
			checkOrder(t, tc.b.Text(), "%s ", tc.order)
			raw, _ := json.Marshal(blocks)
			if tc.notInBlock != "" && strings.Contains(string(raw), tc.notInBlock) {
				t.Errorf("%q shown: %s", tc.notInBlock, raw)
			}
		})
	}
}

// checkOrder checks that the refs appear in s (each as format makes it) in
// this order.
func checkOrder(t *testing.T, s, format string, refs []string) {
	t.Helper()
	last := -1
	for _, r := range refs {
		i := strings.Index(s, fmt.Sprintf(format, r))
		if i < 0 {
			t.Errorf("%s not listed in %q", r, s)
			continue
		}
		if i < last {
			t.Errorf("%s listed out of order (want %v): %q", r, refs, s)
		}
		last = i
	}
}
