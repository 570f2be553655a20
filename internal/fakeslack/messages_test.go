package fakeslack

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Message events as slack-go parses them: a person's post (channel_type by
// the kind of channel), an edit (message_changed), and the bot's own posts
// only WithMessageEvents.
func TestMessageEvents(t *testing.T) {
	tests := []struct {
		name    string
		private bool
		botToo  bool
	}{
		{name: "public channel", private: false},
		{name: "private channel", private: true},
		{name: "with the bot's own posts", botToo: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.botToo {
				opts = append(opts, WithMessageEvents())
			}
			s, api := newFake(t, append(opts, WithAckTimeout(0, 0))...)
			alice, _, _ := seed(s)
			ch := s.AddChannel(Channel{Name: "inc-1", IsPrivate: tc.private, Members: []string{alice.ID, s.BotUserID()}})
			parse := func(envID string) *slackevents.MessageEvent {
				t.Helper()
				env, ok := s.Envelope(envID)
				if !ok || env.Type != "events_api" {
					t.Fatalf("envelope %s: %+v", envID, env)
				}
				ev, err := slackevents.ParseEvent(env.Payload, slackevents.OptionNoVerifyToken())
				if err != nil {
					t.Fatal(err)
				}
				m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
				if !ok {
					t.Fatalf("inner event %T", ev.InnerEvent.Data)
				}
				return m
			}
			wantType := "channel"
			if tc.private {
				wantType = "group"
			}
			ts, id, err := s.PostAsUser(alice.ID, ch.ID, "hello")
			if err != nil {
				t.Fatal(err)
			}
			m := parse(id)
			if m.User != alice.ID || m.Channel != ch.ID || m.ChannelType != wantType || m.SubType != "" || m.TimeStamp != ts || m.Text != "hello" {
				t.Fatalf("message event %+v", m)
			}
			if got, ok := s.Message(ch.ID, ts); !ok || got.User != alice.ID {
				t.Fatalf("the message is not in the channel: %+v", got)
			}
			id, err = s.EditAsUser(alice.ID, ch.ID, ts, "hello again")
			if err != nil {
				t.Fatal(err)
			}
			if m := parse(id); m.SubType != "message_changed" || m.Message == nil || m.Message.Text != "hello again" {
				t.Fatalf("edit event %+v", m)
			}
			before := len(s.Envelopes())
			if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("a card", false)); err != nil {
				t.Fatal(err)
			}
			envs := s.Envelopes()
			if !tc.botToo {
				if len(envs) != before {
					t.Fatalf("the bot's post delivered %d envelopes without WithMessageEvents", len(envs)-before)
				}
				return
			}
			if len(envs) != before+1 {
				t.Fatalf("%d envelopes for the bot's post", len(envs)-before)
			}
			if m := parse(envs[len(envs)-1].ID); m.User != s.BotUserID() || m.BotID == "" {
				t.Fatalf("the bot's message event %+v", m)
			}
		})
	}
}
