package discord

import (
	"fmt"
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
			if acks != min(n, bot.BundleListed) || all != 1 {
				t.Errorf("%d Acknowledge, %d Acknowledge all", acks, all)
			}
		})
	}
}
