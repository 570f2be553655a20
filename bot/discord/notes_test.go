package discord_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakediscord"
)

// TestNoteNeverNamesTheIncident: in Discord the incident has an option of
// its own, so a note (ack's, resolve's, escalate's note, note's text) is
// the note whatever it looks like: "19", "#19", "INC-19". In an incident's
// channel, with no incident option, the command is about that channel's
// incident with that note; anywhere else it is refused with the same
// "Say which incident" as a command with no note, and nothing changes.
// Only the incident option names an incident. (In Slack's free text
// "/incident ack 19" outside a channel does name INC-19: bot's tests.)
func TestNoteNeverNamesTheIncident(t *testing.T) {
	s := newStory(t, time.Hour)
	general := s.fake.AddChannel(fakediscord.Channel{Name: "general"}) // no incident's, no service's
	const open = 20
	for i := 1; i <= open; i++ {
		if n := s.open(fmt.Sprintf("svc-%d", i), fmt.Sprintf("svc%d down", i)); n != int64(i) {
			t.Fatalf("opened INC-%d, want INC-%d", n, i)
		}
	}
	channelOf := map[int64]string{}
	for n := int64(7); n <= 14; n++ {
		channelOf[n], _ = s.card(fmt.Sprintf("inc-%d-svc%d", n, n))
	}
	// Why each transition is refused outside: exactly what a command
	// without a note is told.
	sayWhich := func(verb, opts string) string {
		return "Say which incident: /incident " + verb + " " + opts + " (or type the command in the incident's channel)."
	}
	// changed is an event a command writes on the incident it acts on.
	changed := func(e incident.Event) bool {
		switch e.Type {
		case incident.EventAcknowledged, incident.EventResolved, incident.EventEscalated, incident.EventNote, incident.EventReassigned:
			return true
		}
		return false
	}
	tests := []struct {
		name     string
		verb     string
		in       int64  // the incident whose channel it is typed in; 0: #general
		incident int    // the incident option; 0: none given
		opt      string // the free-text option's name: note, or note's text
		note     string
		want     int64           // the incident changed; 0: none
		status   incident.Status // its status after
		reply    string          // the reply, whole (want 0) or what it contains
	}{
		{name: "ack note 19 in INC-7's channel", verb: "ack", in: 7, opt: "note", note: "19",
			want: 7, status: incident.StatusAcknowledged, reply: "You acknowledged INC-7"},
		{name: "ack note 19 outside", verb: "ack", opt: "note", note: "19",
			reply: sayWhich("ack", "incident:42 [note:<note>]")},
		{name: "ack note #19 in INC-8's channel", verb: "ack", in: 8, opt: "note", note: "#19",
			want: 8, status: incident.StatusAcknowledged, reply: "You acknowledged INC-8"},
		{name: "ack note #19 outside", verb: "ack", opt: "note", note: "#19",
			reply: sayWhich("ack", "incident:42 [note:<note>]")},
		{name: "ack note INC-19 in INC-9's channel", verb: "ack", in: 9, opt: "note", note: "INC-19",
			want: 9, status: incident.StatusAcknowledged, reply: "You acknowledged INC-9"},
		{name: "ack note INC-19 outside", verb: "ack", opt: "note", note: "INC-19",
			reply: sayWhich("ack", "incident:42 [note:<note>]")},
		{name: "ack note inc-19 outside", verb: "ack", opt: "note", note: "inc-19",
			reply: sayWhich("ack", "incident:42 [note:<note>]")},
		{name: "resolve note 19 in INC-10's channel", verb: "resolve", in: 10, opt: "note", note: "19",
			want: 10, status: incident.StatusResolved, reply: "You resolved INC-10"},
		{name: "resolve note #19 outside", verb: "resolve", opt: "note", note: "#19",
			reply: sayWhich("resolve", "incident:42 [note:<note>]")},
		{name: "escalate note INC-19 in INC-11's channel", verb: "escalate", in: 11, opt: "note", note: "INC-19",
			want: 11, status: incident.StatusTriggered, reply: "You escalated INC-11"},
		{name: "escalate note 19 outside", verb: "escalate", opt: "note", note: "19",
			reply: sayWhich("escalate", "incident:42 [note:<note>]")},
		{name: "note text #19 in INC-12's channel", verb: "note", in: 12, opt: "text", note: "#19",
			want: 12, status: incident.StatusTriggered, reply: "Noted on INC-12"},
		{name: "note text INC-19 outside", verb: "note", opt: "text", note: "INC-19",
			reply: sayWhich("note", "text:<text> incident:42")},
		{name: "incident 15 and note #19 in INC-14's channel", verb: "ack", in: 14, incident: 15, opt: "note", note: "#19",
			want: 15, status: incident.StatusAcknowledged, reply: "You acknowledged INC-15"},
		// Last: the one case that changes INC-19, which every case above
		// must leave alone.
		{name: "incident 19 and note on it outside", verb: "ack", incident: 19, opt: "note", note: "on it",
			want: 19, status: incident.StatusAcknowledged, reply: "You acknowledged INC-19"},
	}
	plain := strings.NewReplacer(`\`, "")
	var touched []int64 // incidents changed by the cases run so far
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := general.ID
			if tc.in != 0 {
				ch = channelOf[tc.in]
			}
			var opts []fakediscord.CommandOption
			if tc.incident != 0 {
				opts = append(opts, fakediscord.IntOption("incident", tc.incident))
			}
			opts = append(opts, fakediscord.StringOption(tc.opt, tc.note))
			in, err := s.fake.SlashCommand(s.dana.ID, ch, "incident", fakediscord.SubCommand(tc.verb, opts...))
			if err != nil {
				t.Fatal(err)
			}
			reply := plain.Replace(s.followup(in))
			if tc.want == 0 && reply != tc.reply {
				t.Errorf("reply %q\nwant     %q", reply, tc.reply)
			}
			if tc.want != 0 && !strings.Contains(reply, tc.reply) {
				t.Errorf("reply %q\nwant it to say %q", reply, tc.reply)
			}
			if tc.want != 0 {
				touched = append(touched, tc.want)
				// An escalation's note is written by the page job, after
				// baton's reason on its escalated event (or as a note
				// event): wait for it (polling Redis).
				noted := func() bool {
					_, tl, err := s.svc.Get(s.ctx, tc.want)
					return err == nil && slices.ContainsFunc(tl, func(e incident.Event) bool {
						_, asked := incident.SplitEscalationNote(e.Note)
						return changed(e) && (e.Note == tc.note || e.Type == incident.EventEscalated && asked == tc.note)
					})
				}
				for deadline := time.Now().Add(5 * time.Second); !noted() && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				if !noted() {
					t.Errorf("INC-%d has no event with note %q", tc.want, tc.note)
				}
				if got := s.incident(tc.want).Status; got != tc.status {
					t.Errorf("INC-%d is %s, want %s", tc.want, got, tc.status)
				}
			}
			for n := int64(1); n <= open; n++ {
				if slices.Contains(touched, n) {
					continue
				}
				inc, tl, err := s.svc.Get(s.ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				if inc.Status != incident.StatusTriggered || slices.ContainsFunc(tl, changed) {
					var events []string
					for _, e := range tl {
						events = append(events, fmt.Sprintf("%s %q", e.Type, e.Note))
					}
					t.Errorf("INC-%d changed (%s, timeline %v); only INC-%d may have", n, inc.Status, events, tc.want)
				}
			}
		})
	}
}
