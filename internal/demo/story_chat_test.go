package demo

import (
	"bytes"
	"strconv"
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

// An edit of a page in a DM is told for what it did: its buttons went
// (and why, as the page shows it), a link to the incident's channel was
// added, or nothing for a redraw of a detail. Each case edits the same
// page, in order.
func TestStoryTellsWhatAPageEditDid(t *testing.T) {
	fake := fakeslack.StartTest(t)
	alice := fake.AddUser(fakeslack.User{Name: "alice"})
	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()))
	incCh, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-2-disk"})
	if err != nil {
		t.Fatal(err)
	}
	mrkdwn := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	// page is a card as the bot draws one in a DM: status, owner, alert
	// count, the link to the incident's channel if any, and its buttons.
	page := func(status, owner string, alerts int, link bool, buttons ...string) []slack.Block {
		blocks := []slack.Block{
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "🔴 INC-2 SECRET", false, false)),
			slack.NewSectionBlock(nil, []*slack.TextBlockObject{
				mrkdwn("*Status*\n" + status), mrkdwn("*Owner*\n" + owner), mrkdwn("*Alerts*\n" + strconv.Itoa(alerts)),
			}, nil),
		}
		if link {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Incident channel: <#"+incCh.ID+">")))
		}
		if len(buttons) > 0 {
			var els []slack.BlockElement
			for _, b := range buttons {
				els = append(els, slack.NewButtonBlockElement("baton_"+b, "2", slack.NewTextBlockObject(slack.PlainTextType, b, false, false)))
			}
			blocks = append(blocks, slack.NewActionBlock("baton_actions_2", els...))
		}
		return blocks
	}
	const txt = "INC-2 [critical] SECRET (database, triggered)"
	dm, ts, err := api.PostMessage(alice.ID, slack.MsgOptionText(txt, false), slack.MsgOptionBlocks(page("Triggered", "nobody yet", 1, false, "ack", "resolve", "escalate")...))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := &Story{Out: &out, Fake: fake, SlackPeople: map[string]string{alice.ID: "alice"}, Now: func() time.Time { return clock }}
	s.tellChat(fakeslack.Event{Kind: fakeslack.EventMessagePosted, Channel: dm, TS: ts, User: fake.BotUserID()})
	if out.Len() > 0 {
		t.Fatalf("the page itself told from the chat: %q (it is told from the timeline)", out.String())
	}
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string
	}{
		{"link added, buttons kept", page("Triggered", "nobody yet", 1, true, "ack", "resolve", "escalate"),
			"page in alice's DM updated: link to #inc-2-disk added"},
		{"redraw of a detail", page("Triggered", "nobody yet", 3, true, "ack", "resolve", "escalate"), ""},
		{"settled by an acknowledgement", page("Acknowledged", "<@"+alice.ID+">", 3, true),
			"page in alice's DM settled: INC-2 acknowledged by alice"},
		{"redraw of a settled page", page("Acknowledged", "<@"+alice.ID+">", 4, true), ""},
		{"resolved, already without buttons", page("Resolved", "<@"+alice.ID+">", 4, true), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			if _, _, _, err := api.UpdateMessage(dm, ts, slack.MsgOptionText(txt, false), slack.MsgOptionBlocks(tc.blocks...)); err != nil {
				t.Fatal(err)
			}
			s.tellChat(fakeslack.Event{Kind: fakeslack.EventMessageUpdated, Channel: dm, TS: ts, User: fake.BotUserID()})
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

// A page that settles without having been seen before (the story began
// after it was sent) is told by what it shows now.
func TestStoryTellsASettleOfAnUnseenPage(t *testing.T) {
	fake := fakeslack.StartTest(t)
	alice := fake.AddUser(fakeslack.User{Name: "alice"})
	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()))
	resolved := slack.NewSectionBlock(nil, []*slack.TextBlockObject{slack.NewTextBlockObject(slack.MarkdownType, "*Status*\nResolved", false, false)}, nil)
	button := slack.NewActionBlock("baton_actions_3", slack.NewButtonBlockElement("baton_ack", "3", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", false, false)))
	var out bytes.Buffer
	s := &Story{Out: &out, Fake: fake, SlackPeople: map[string]string{alice.ID: "alice"}, Now: func() time.Time { return clock }}
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string
	}{
		{"no buttons", []slack.Block{resolved}, "page in alice's DM settled: INC-3 resolved"},
		{"buttons", []slack.Block{resolved, button}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			dm, ts, err := api.PostMessage(alice.ID, slack.MsgOptionText("INC-3 [critical] SECRET (database, resolved)", false), slack.MsgOptionBlocks(tc.blocks...))
			if err != nil {
				t.Fatal(err)
			}
			s.tellChat(fakeslack.Event{Kind: fakeslack.EventMessageUpdated, Channel: dm, TS: ts, User: fake.BotUserID()})
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

// A bundle's links are told once each, however its entries move between
// its listed part (with links) and its one-line rest, and several added by
// one edit are one line naming three at most; a page-in that settles says its person
// acknowledged their page, not who owns the incident.
func TestStoryTellsBundleAndPageInEdits(t *testing.T) {
	fake := fakeslack.StartTest(t)
	alice := fake.AddUser(fakeslack.User{Name: "alice"})
	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()))
	var chans []string
	for _, name := range []string{"inc-7-disk", "inc-8-disk", "inc-9-disk", "inc-10-disk", "inc-11-disk", "inc-12-disk", "inc-13-disk"} {
		c, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: name})
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, c.ID)
	}
	section := func(s string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil)
	}
	ackAll := slack.NewActionBlock("baton_ackall", slack.NewButtonBlockElement("baton_ackall", "b1", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge all 3", false, false)))
	// bundle lists the entries given with their links, and ackAll.
	bundle := func(linked ...int) []slack.Block {
		blocks := []slack.Block{section("3 incidents")}
		for _, i := range linked {
			blocks = append(blocks, section("INC-"+strconv.Itoa(7+i)+" · <#"+chans[i]+">"))
		}
		return append(blocks, ackAll)
	}
	ackPage := slack.NewActionBlock("baton_buttons", slack.NewButtonBlockElement("baton_ackpage", "2", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge my page", false, false)))
	acked := section("*Status*\nAcknowledged")
	owner := section("*Owner*\n<@U0CAROL>")
	var out bytes.Buffer
	s := &Story{Out: &out, Fake: fake, SlackPeople: map[string]string{alice.ID: "alice"}, Now: func() time.Time { return clock }}
	var dm string
	post := func(txt string, blocks []slack.Block) string {
		ch, ts, err := api.PostMessage(alice.ID, slack.MsgOptionText(txt, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			t.Fatal(err)
		}
		dm = ch
		s.tellChat(fakeslack.Event{Kind: fakeslack.EventMessagePosted, Channel: dm, TS: ts, User: fake.BotUserID()})
		return ts
	}
	bundleTS := post("3 incidents: INC-7, INC-8, INC-9", bundle())
	pageInTS := post("Carol Diaz paged you into INC-2; Carol Diaz owns it. Acknowledge your page to stop these pages. INC-2 [critical] SECRET (payments, acknowledged)",
		[]slack.Block{acked, owner, ackPage})
	out.Reset()
	tests := []struct {
		name   string
		ts     string
		txt    string
		blocks []slack.Block
		want   string
	}{
		{"two links at once", bundleTS, "3 incidents: INC-7, INC-8, INC-9", bundle(0, 1),
			"page in alice's DM updated: links to #inc-7-disk, #inc-8-disk added"},
		{"an entry moves to the rest", bundleTS, "3 incidents: INC-7, INC-8, INC-9", bundle(1), ""},
		{"and back, with a new one", bundleTS, "3 incidents: INC-7, INC-8, INC-9", bundle(0, 1, 2),
			"page in alice's DM updated: link to #inc-9-disk added"},
		{"four at once: three named", bundleTS, "3 incidents: INC-7, INC-8, INC-9", bundle(0, 1, 2, 3, 4, 5, 6),
			"page in alice's DM updated: links to #inc-10-disk, #inc-11-disk, #inc-12-disk and 1 more added"},
		{"page-in settled", pageInTS, "You acknowledged your page on INC-2; you are a responder and the pages have stopped. Carol Diaz owns it. INC-2 [critical] SECRET (payments, acknowledged)",
			[]slack.Block{acked, owner}, "page in alice's DM settled: alice acknowledged their page on INC-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			if _, _, _, err := api.UpdateMessage(dm, tc.ts, slack.MsgOptionText(tc.txt, false), slack.MsgOptionBlocks(tc.blocks...)); err != nil {
				t.Fatal(err)
			}
			s.tellChat(fakeslack.Event{Kind: fakeslack.EventMessageUpdated, Channel: dm, TS: tc.ts, User: fake.BotUserID()})
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
