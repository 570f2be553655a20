package discord_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
)

// TestUsageInDiscordTerms: the ephemeral answers that say what to type
// (a refusal, help) say it as Discord's slash commands take it, typed
// options as name:value, never the Slack free-text form ("#42",
// "service=S", "[#42]").
func TestUsageInDiscordTerms(t *testing.T) {
	s := newStory(t, time.Hour)
	general := s.fake.AddChannel(fakediscord.Channel{Name: "general"}) // no incident's, no service's
	tests := []struct {
		name string
		cmd  string
		sub  fakediscord.CommandOption
		want []string
	}{
		{"ack outside an incident's channel", "incident", fakediscord.SubCommand("ack"),
			[]string{"Say which incident: /incident ack incident:42 [note:<note>] (or type the command in the incident's channel)."}},
		{"note outside an incident's channel", "incident", fakediscord.SubCommand("note", fakediscord.StringOption("text", "looking")),
			[]string{"Say which incident: /incident note text:<text> incident:42"}},
		{"override for no time", "oncall", fakediscord.SubCommand("override", fakediscord.UserOption("person", s.dana.ID), fakediscord.StringOption("duration", "forever")),
			[]string{"Try: /oncall override person:@someone duration:2h [service:<service>]"}},
		{"a bad period", "incident", fakediscord.SubCommand("stats", fakediscord.StringOption("period", "forever")),
			[]string{"Try: /incident stats [period:7d|30d|90d] [service:<service>]"}},
		{"ack with a note outside an incident's channel", "incident", fakediscord.SubCommand("ack", fakediscord.StringOption("note", "sixteen")),
			[]string{"Say which incident: /incident ack incident:42 [note:<note>]"}},
		// A number that begins the note is the note's: the incident has
		// its own option (in Slack's free text it would name INC-1).
		{"ack with a note starting with a number outside an incident's channel", "incident", fakediscord.SubCommand("ack", fakediscord.StringOption("note", "1 on it")),
			[]string{"Say which incident: /incident ack incident:42 [note:<note>]"}},
		// /incident list took no option: the bundle's pointer names
		// /incident list show:mine.
		{"list mine", "incident", fakediscord.SubCommand("list", fakediscord.StringOption("show", "mine")), []string{"You own no open incident."}},
		{"list mine triggered", "incident", fakediscord.SubCommand("list", fakediscord.StringOption("show", "mine triggered")),
			[]string{"None of your open incidents waits for an acknowledgement."}},
		{"list triggered", "incident", fakediscord.SubCommand("list", fakediscord.StringOption("show", "triggered")),
			[]string{"No open incident waits for an acknowledgement."}},
		{"help", "incident", fakediscord.SubCommand("help"),
			[]string{"elsewhere name it as in /incident status incident:42", "  /incident ack [incident:42] [note:<note>]\n",
				"  /incident page person:@someone [incident:42] [note:<note>]\n",
				"  /incident list [show:mine|triggered|mine triggered]\n", "  /oncall override person:@someone duration:2h [service:<service>]\n"}},
	}
	plain := strings.NewReplacer(`\`, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := s.fake.SlashCommand(s.dana.ID, general.ID, tc.cmd, tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			reply := plain.Replace(s.followup(in))
			for _, w := range tc.want {
				if !strings.Contains(reply, w) {
					t.Errorf("reply %q\nwant it to say %q", reply, w)
				}
			}
			for _, slack := range []string{"#42", "[#42]", "service=", "@someone <"} {
				if strings.Contains(reply, slack) {
					t.Errorf("reply %q says %q, Slack's free-text form", reply, slack)
				}
			}
		})
	}
}
