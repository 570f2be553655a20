package discord

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
)

// A bundle on Discord: an embed naming every incident (or counting those
// past 4,096 characters), at most 5 rows of at most 5 buttons, custom_ids
// of at most 100 characters, an Acknowledge for each of the first ten and
// "Acknowledge all n" whose custom_id reads back as the bundle.
func TestRenderBundle(t *testing.T) {
	for _, n := range []int{1, 2, 10, 11, 60} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := &bot.Bundle{ID: "b0123456789abcdef"}
			for i := 1; i <= n; i++ {
				b.Entries = append(b.Entries, bot.BundleEntry{Number: int64(i), Ref: fmt.Sprintf("INC-%d", i),
					Title: "Replication lag *on* postgres " + strings.Repeat("x", 150), Service: "payments",
					Severity: incident.SevCritical, Status: incident.StatusTriggered, Level: 1, Why: "new"})
			}
			out := render(bot.Message{Text: b.Text(), Bundle: b, Key: "INC-1/1/first/dana"})
			if len(out.Embeds) != 1 || len([]rune(out.Embeds[0].Description)) > maxDescription {
				t.Fatalf("embeds %d, description %d characters", len(out.Embeds), len([]rune(out.Embeds[0].Description)))
			}
			desc := out.Embeds[0].Description
			named := 0
			for i := 1; i <= n; i++ {
				if strings.Contains(desc, fmt.Sprintf("**INC-%d**", i)) {
					named++
				}
			}
			if named < n && !strings.Contains(desc, fmt.Sprintf("and %d more", n-named)) {
				t.Errorf("%d of %d named, the rest not counted", named, n)
			}
			if len(out.Components) > 5 {
				t.Fatalf("%d rows", len(out.Components))
			}
			acks, all := 0, 0
			for _, c := range out.Components {
				row := c.(discordgo.ActionsRow)
				if len(row.Components) > 5 {
					t.Fatalf("a row of %d buttons", len(row.Components))
				}
				for _, el := range row.Components {
					id := el.(discordgo.Button).CustomID
					if len(id) > 100 {
						t.Fatalf("custom_id %q longer than 100", id)
					}
					if got, ok := ParseAckAllID(id); ok {
						all++
						if got != b.ID {
							t.Errorf("Acknowledge all reads back %q", got)
						}
					} else if a, _, ok := ParseCustomID(id); ok && a == bot.ActionAck {
						acks++
					}
				}
			}
			// One page alone has a page's buttons and no "Acknowledge all"
			// (TestRenderBundleHeader).
			if acks != min(n, bot.BundleListed) || all != min(n-1, 1) {
				t.Errorf("%d Acknowledge, %d Acknowledge all", acks, all)
			}
			if named < n && !strings.Contains(desc, "Type /incident list show:mine to see your open incidents, newest first.") {
				t.Errorf("the incidents left out do not point to /incident list show:mine: %q", desc[max(0, len(desc)-200):])
			}
		})
	}
}

// testBundle builds a bundle of pages (incidents numbered pages…) and
// entries for information (info…), handed over out of order as concurrent
// jobs do, then sorted as the Pager sorts them; acked pages are shown
// acknowledged.
func testBundle(pages, info []int64, acked bool) *bot.Bundle {
	b := &bot.Bundle{ID: "b0123456789abcdef"}
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

func seq(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i + 1)
	}
	return out
}

// The rendered bundle on Discord: the embed's title counts the pages and
// the entries for information apart (break test of issue 14: "18
// incidents" above "on call for 17 incidents" and "Acknowledge all 17"),
// its colour says whether anything needs an acknowledgement, and the
// incidents are listed by number, the pages first.
func TestRenderBundleHeader(t *testing.T) {
	cases := []struct {
		name   string
		b      *bot.Bundle
		title  string
		color  int
		ackAll string // "" when there is none
		order  []string
		// buttons: the custom ids of every button but "Acknowledge all", when set.
		buttons []string
	}{
		{name: "17 pages and 1 for information", b: testBundle(seq(0, 17), []int64{18}, false),
			title: "17 incidents, 1 for your information", color: severityColor(incident.SevCritical, incident.StatusTriggered),
			ackAll: "Acknowledge all 17", order: []string{"INC-1", "INC-2", "INC-10", "INC-17", "INC-18"}},
		{name: "information only: 11 moved on", b: testBundle(nil, seq(20, 11), false),
			title: "11 incidents for your information", color: severityColor(incident.SevInfo, incident.StatusTriggered),
			order: []string{"INC-21", "INC-22", "INC-30", "INC-31"}},
		{name: "one page, one for information", b: testBundle([]int64{7}, []int64{3}, false),
			title: "1 incident, 1 for your information", color: severityColor(incident.SevCritical, incident.StatusTriggered),
			// It had "Ack INC-7" and "Acknowledge all 1", no Resolve, no
			// Escalate: the lone page keeps a page's buttons.
			order:   []string{"INC-7", "INC-3"},
			buttons: []string{CustomID(bot.ActionAck, 7), CustomID(bot.ActionResolve, 7), CustomID(bot.ActionEscalate, 7)}},
		{name: "every page taken care of", b: testBundle(seq(0, 3), []int64{4}, true),
			title: "3 incidents, 1 for your information", color: severityColor(incident.SevCritical, incident.StatusResolved),
			order: []string{"INC-1", "INC-2", "INC-3", "INC-4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := render(bot.Message{Text: tc.b.Text(), Bundle: tc.b, Key: tc.b.ID})
			e := out.Embeds[0]
			if e.Title != tc.title {
				t.Errorf("title %q, want %q", e.Title, tc.title)
			}
			if e.Color != tc.color {
				t.Errorf("colour %#x, want %#x", e.Color, tc.color)
			}
			ackAll := ""
			var buttons []string
			for _, c := range out.Components {
				for _, el := range c.(discordgo.ActionsRow).Components {
					if btn := el.(discordgo.Button); strings.HasPrefix(btn.Label, bot.ActionAckAll.Label()) {
						ackAll = btn.Label
					} else {
						buttons = append(buttons, btn.CustomID)
					}
				}
			}
			if tc.buttons != nil && !slices.Equal(buttons, tc.buttons) {
				t.Errorf("buttons %q, want %q", buttons, tc.buttons)
			}
			if ackAll != tc.ackAll {
				t.Errorf("Acknowledge all %q, want %q", ackAll, tc.ackAll)
			}
			last := -1
			for _, r := range tc.order {
				i := strings.Index(e.Description, "**"+r+"**")
				if i < 0 || i < last {
					t.Errorf("%s not listed, or out of order (want %v): %q", r, tc.order, e.Description)
				}
				last = max(last, i)
			}
		})
	}
}
