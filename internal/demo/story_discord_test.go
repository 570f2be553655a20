package demo

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// What baton's bot does in the Discord sandbox is told as one line each,
// from the difference between two snapshots of the fake guild: the
// channel, the notice, the pinned card, its edits, a page's edit, a chart,
// an ephemeral answer, and how fast baton answered the page's interaction.
func TestStoryTellsDiscord(t *testing.T) {
	sb := startDiscordTestSandbox(t, nil)
	var out bytes.Buffer
	s := &Story{Out: &out, Now: func() time.Time { return clock }}
	people := map[string]string{}
	for _, p := range sb.People() {
		people[p.DiscordID] = p.ID
	}
	s.SetDiscordSandbox(sb.Fake, people)
	s.tellDiscord(sb.Fake.Snapshot()) // the seeded guild: nothing to tell
	if out.Len() != 0 {
		t.Fatalf("told of the seeded guild: %q", out.String())
	}
	answers := make(chan *discordgo.InteractionCreate, 1)
	var dg *discordgo.Session
	var inc, dm, notice, card *discordgo.Message
	var incCh *discordgo.Channel
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		act  func()
		want []string // regexps, one a line, in order
	}{
		{"connected", func() {
			dg = discordBot(t, sb, func(_ *discordgo.Session, i *discordgo.InteractionCreate) { answers <- i })
		}, []string{`bot connected to the sandbox over the gateway`}},
		{"channel", func() {
			var err error
			incCh, err = dg.GuildChannelCreateComplex(sb.Fake.GuildID(), discordgo.GuildChannelCreateData{Name: "inc-1-disk", Type: discordgo.ChannelTypeGuildText, ParentID: sb.CategoryID()})
			must(err)
		}, []string{`channel #inc-1-disk created under incidents`}},
		{"card posted and pinned", func() {
			card = discordCard(t, dg, incCh.ID, 1)
			must(dg.ChannelMessagePin(incCh.ID, card.ID))
		}, []string{`incident card pinned in #inc-1-disk`}},
		{"notice", func() {
			var err error
			notice, err = dg.ChannelMessageSend(dbAlertsID, "INC-1 SECRET opened")
			must(err)
		}, []string{`notice posted in #db-alerts`}},
		{"card updated", func() {
			_, err := dg.ChannelMessageEdit(incCh.ID, card.ID, "acknowledged")
			must(err)
		}, []string{`card updated in #inc-1-disk`}},
		{"notice updated", func() {
			_, err := dg.ChannelMessageEdit(dbAlertsID, notice.ID, "INC-1 acknowledged")
			must(err)
		}, []string{`notice updated in #db-alerts`}},
		{"a page is told from the timeline, not here", func() {
			ch, err := dg.UserChannelCreate(aliceDiscord)
			must(err)
			dm, err = dg.ChannelMessageSend(ch.ID, "INC-1 page")
			must(err)
		}, nil},
		{"page updated", func() {
			_, err := dg.ChannelMessageEdit(dm.ChannelID, dm.ID, "INC-1 page, acknowledged")
			must(err)
		}, []string{`page in alice's DM updated`}},
		{"chart", func() {
			_, err := dg.ChannelMessageSendComplex(incCh.ID, &discordgo.MessageSend{Files: []*discordgo.File{{Name: "stats.png", ContentType: "image/png", Reader: strings.NewReader("\x89PNG\r\n\x1a\n0")}}})
			must(err)
		}, []string{`chart shared in #inc-1-disk`}},
		{"an interaction from the page, answered", func() {
			inc = card
			id, err := sb.Act(Action{As: aliceDiscord, Kind: "button", Channel: incCh.ID, Message: inc.ID, CustomID: "baton:ack:1", Label: "Acknowledge"})
			must(err)
			s.Acted(Action{As: aliceDiscord, Kind: "button", Channel: incCh.ID, Message: inc.ID, CustomID: "baton:ack:1", Label: "Acknowledge", Envelope: id})
			i := next(t, answers)
			must(dg.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "INC-1 is already acknowledged by bob", Flags: discordgo.MessageFlagsEphemeral}}))
		}, []string{`alice pressed Acknowledge in #inc-1-disk`, `baton answered alice \(only they see it\): INC-1 is already acknowledged by bob`,
			`baton answered alice's Acknowledge in \d+(\.\d+)?m?s \(a reply\)`}},
		{"disconnected", func() { _ = dg.Close() }, []string{`bot disconnected from the sandbox`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			tc.act()
			deadline := time.Now().Add(10 * time.Second)
			for {
				s.tellDiscord(sb.Fake.Snapshot())
				if n := strings.Count(out.String(), "\n"); n >= len(tc.want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond) // polling the fake's state, not synchronising
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("told %q, want %d lines %q", out.String(), len(tc.want), tc.want)
			}
			for i, re := range tc.want {
				if !regexp.MustCompile(`^14:03:00  ` + re + `$`).MatchString(lines[i]) {
					t.Errorf("line %d %q, want %q", i, lines[i], re)
				}
			}
		})
	}
}
