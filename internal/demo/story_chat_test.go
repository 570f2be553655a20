package demo

import (
	"bytes"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/internal/fakeslack"
)

// What the bot does in the sandbox is told as one line each, named for
// what it is: the notice, the card, a page, stats and their chart.
func TestStoryTellsChat(t *testing.T) {
	fake := fakeslack.StartTest(t)
	bob := fake.AddUser(fakeslack.User{Name: "bob"})
	alerts := fake.AddChannel(fakeslack.Channel{Name: "db-alerts"})
	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()))
	incCh, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1-disk"})
	if err != nil {
		t.Fatal(err)
	}
	// as posts text in channel as the bot and returns the event of kind
	// that the fake would tell of it.
	as := func(kind fakeslack.EventKind, channel, text string) func() fakeslack.Event {
		return func() fakeslack.Event {
			ch, ts, err := api.PostMessage(channel, slack.MsgOptionText(text, false))
			if err != nil {
				t.Fatal(err)
			}
			return fakeslack.Event{Kind: kind, Channel: ch, TS: ts, User: fake.BotUserID()}
		}
	}
	posted, updated := fakeslack.EventMessagePosted, fakeslack.EventMessageUpdated
	var out bytes.Buffer
	s := &Story{Out: &out, Fake: fake, SlackPeople: map[string]string{bob.ID: "bob"}, Now: func() time.Time { return clock }}
	tests := []struct {
		name string
		act  func() fakeslack.Event
		want string
	}{
		{"notice", as(posted, alerts.ID, "INC-1 [critical] SECRET (database)"), "notice posted in #db-alerts"},
		{"notice updated", as(updated, alerts.ID, "INC-2 [critical] SECRET (database)"), "notice updated in #db-alerts"},
		{"card updated", as(updated, incCh.ID, "INC-1 card"), "card updated in #inc-1-disk"},
		{"page settled", as(updated, bob.ID, "INC-1 page"), "page in bob's DM updated: no buttons now"},
		{"stats", as(posted, incCh.ID, "Incident stats: last 7 days, all services\n• 1 incident opened"), "stats posted in #inc-1-disk"},
		{"digest", as(posted, alerts.ID, "Weekly incident digest: Mon 16 Mar – Sun 22 Mar 2026 (UTC)"), "stats posted in #db-alerts"},
		{"page-in", as(posted, bob.ID, "Carol Diaz paged you into INC-2; Carol Diaz owns it. Acknowledge your page to stop these pages. INC-2 [critical] SECRET (payments, acknowledged)"),
			"bob DMed: paged into INC-2 [Acknowledge my page]"},
		{"page-in reminder", as(posted, bob.ID, "Reminder: you were paged into INC-2 and have not acknowledged (page 2); Carol Diaz owns it. INC-2 [critical] SECRET (payments, acknowledged)"),
			"bob re-paged into INC-2: they have not acknowledged their page"},
		{"still on it", as(posted, bob.ID, "Still working on INC-2? Your acknowledgement runs out at 14:04:00 UTC; … INC-2 [critical] SECRET (payments, acknowledged)"),
			`bob DMed: "Still working on INC-2?" [Yes, … more] [Hand it back]: their ack lease runs out soon`},
		{"handoff", as(posted, bob.ID, "You're on call for batch until Tue Dec 1 00:10:00 UTC — take the pager. Until you do, Dave Okafor keeps it."),
			`bob DMed at the handoff: "You're on call for batch — take the pager" [Take it]`},
		{"pager not taken, DM", as(posted, bob.ID, "⚠️ Dave Okafor has not taken the pager of batch (batch) (handoff …, 30s ago): Bob Chen still holds it until they do."),
			"bob told: the pager was not taken at the handoff"},
		{"pager not taken, channel", as(posted, alerts.ID, "⚠️ Dave Okafor has not taken the pager of batch (batch) (handoff …, 30s ago): Bob Chen still holds it until they do."),
			"#db-alerts told: the pager was not taken at the handoff, the outgoing person still holds it"},
		{"maintenance summary", as(posted, alerts.ID, "🔧 Maintenance of batch (mw-1, started by Dave Okafor: queue migration) ran out after 1m. 1 alert arrived in 1 incident. Still firing, paged now: INC-4 (1 alert)."),
			"maintenance summary posted in #db-alerts: 1 alert arrived in 1 incident. Still firing, paged now: INC-4 (1 alert)."},
		{"a page is told from the timeline, not here", as(posted, bob.ID, "INC-1 [critical] SECRET (database, triggered)"), ""},
		{"chart", func() fakeslack.Event {
			png := []byte("\x89PNG\r\n\x1a\n0000")
			f, err := api.UploadFile(slack.UploadFileParameters{Filename: "c.png", FileSize: len(png), Reader: bytes.NewReader(png), Channel: alerts.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range fake.Messages(alerts.ID) {
				if len(m.Files) == 1 && m.Files[0] == f.ID {
					return fakeslack.Event{Kind: posted, Channel: m.Channel, TS: m.TS, User: fake.BotUserID()}
				}
			}
			t.Fatal("no message shares the chart")
			return fakeslack.Event{}
		}, "chart shared in #db-alerts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			s.tellChat(tc.act())
			want := "14:03:00  " + tc.want + "\n"
			if tc.want == "" {
				want = ""
			}
			if got := out.String(); got != want {
				t.Fatalf("told %q, want %q", got, tc.want)
			}
		})
	}
}
