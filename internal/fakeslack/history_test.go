package fakeslack

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// chat.postMessage keeps a message's metadata and conversations.history
// returns it, newest first, only with include_all_metadata, as Slack does;
// thread replies are not in a channel's history.
func TestHistoryReturnsMetadata(t *testing.T) {
	s, api := newFake(t)
	alice, _, alerts := seed(s)
	meta := func(key string) slack.MsgOption {
		return slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "baton_page", EventPayload: map[string]any{"key": key}})
	}
	dm, ts1, err := api.PostMessage(alice.ID, slack.MsgOptionText("page 1", false), meta("INC-1/0/first/alice"))
	if err != nil {
		t.Fatal(err)
	}
	_, tsPlain, err := api.PostMessage(dm, slack.MsgOptionText("plain", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage(dm, slack.MsgOptionText("a reply", false), slack.MsgOptionTS(ts1), meta("reply")); err != nil {
		t.Fatal(err)
	}
	_, ts2, err := api.PostMessage(dm, slack.MsgOptionText("page 2", false), meta("INC-2/0/first/alice"))
	if err != nil {
		t.Fatal(err)
	}
	type msg struct{ text, typ, key string }
	tests := []struct {
		name    string
		params  slack.GetConversationHistoryParameters
		want    []msg
		hasMore bool
	}{
		{"with metadata", slack.GetConversationHistoryParameters{ChannelID: dm, IncludeAllMetadata: true},
			[]msg{{"page 2", "baton_page", "INC-2/0/first/alice"}, {"plain", "", ""}, {"page 1", "baton_page", "INC-1/0/first/alice"}}, false},
		{"without include_all_metadata", slack.GetConversationHistoryParameters{ChannelID: dm},
			[]msg{{"page 2", "", ""}, {"plain", "", ""}, {"page 1", "", ""}}, false},
		{"limited to the newest", slack.GetConversationHistoryParameters{ChannelID: dm, Limit: 2, IncludeAllMetadata: true},
			[]msg{{"page 2", "baton_page", "INC-2/0/first/alice"}, {"plain", "", ""}}, true},
		{"oldest excludes the message at it", slack.GetConversationHistoryParameters{ChannelID: dm, Oldest: ts1, IncludeAllMetadata: true},
			[]msg{{"page 2", "baton_page", "INC-2/0/first/alice"}, {"plain", "", ""}}, false},
		{"oldest, inclusive", slack.GetConversationHistoryParameters{ChannelID: dm, Oldest: ts1, Inclusive: true, IncludeAllMetadata: true},
			[]msg{{"page 2", "baton_page", "INC-2/0/first/alice"}, {"plain", "", ""}, {"page 1", "baton_page", "INC-1/0/first/alice"}}, false},
		{"latest excludes the message at it", slack.GetConversationHistoryParameters{ChannelID: dm, Latest: ts1, IncludeAllMetadata: true}, nil, false},
		{"one message: latest and oldest its ts, inclusive", slack.GetConversationHistoryParameters{ChannelID: dm,
			Latest: ts1, Oldest: ts1, Inclusive: true, Limit: 1, IncludeAllMetadata: true},
			[]msg{{"page 1", "baton_page", "INC-1/0/first/alice"}}, false},
		{"bounds exclusive without inclusive", slack.GetConversationHistoryParameters{ChannelID: dm,
			Latest: ts2, Oldest: ts1, IncludeAllMetadata: true}, []msg{{"plain", "", ""}}, false},
		{"bounds inclusive", slack.GetConversationHistoryParameters{ChannelID: dm,
			Latest: ts2, Oldest: tsPlain, Inclusive: true, IncludeAllMetadata: true},
			[]msg{{"page 2", "baton_page", "INC-2/0/first/alice"}, {"plain", "", ""}}, false},
		{"a channel without messages", slack.GetConversationHistoryParameters{ChannelID: alerts.ID, IncludeAllMetadata: true}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := api.GetConversationHistoryContext(testCtx(t), &tt.params)
			if err != nil {
				t.Fatal(err)
			}
			var got []msg
			for _, m := range h.Messages {
				key, _ := m.Metadata.EventPayload["key"].(string)
				got = append(got, msg{m.Text, m.Metadata.EventType, key})
			}
			if len(got) != len(tt.want) || h.HasMore != tt.hasMore {
				t.Fatalf("messages %+v (has_more %v), want %+v (%v)", got, h.HasMore, tt.want, tt.hasMore)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("messages %+v, want %+v", got, tt.want)
				}
			}
		})
	}
	// The cursor pages on from where the limit stopped.
	h, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: dm, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	h, err = api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: dm, Limit: 2,
		Cursor: h.ResponseMetaData.NextCursor})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "page 1" || h.HasMore {
		t.Fatalf("second page: %+v, %v", h, err)
	}
	// The recorded message keeps its metadata.
	if m, ok := s.Message(dm, ts1); !ok || m.Metadata == nil || m.Metadata.EventPayload["key"] != "INC-1/0/first/alice" {
		t.Fatalf("recorded message: %+v", m)
	}
}

func TestHistoryAndMetadataErrors(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"history of an unknown channel", func() error {
			_, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: "C0NOPE"})
			return err
		}, "channel_not_found"},
		{"history by name", func() error {
			_, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: "#alerts"})
			return err
		}, "channel_not_found"},
		{"metadata without an event type", func() error {
			_, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("x", false),
				slack.MsgOptionMetadata(slack.SlackMetadata{EventPayload: map[string]any{"key": "k"}}))
			return err
		}, "invalid_metadata_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackErr(t, tt.call()); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
		})
	}
	status, body := rawCall(t, s, "chat.postMessage", "application/x-www-form-urlencoded",
		form("token", s.BotToken(), "channel", alerts.ID, "text", "x", "metadata", `{"event_type":`), nil)
	if status != 200 || !strings.Contains(body, `"invalid_metadata_format"`) {
		t.Errorf("malformed metadata: %d %s", status, body)
	}
	if n := len(s.Messages(alerts.ID)); n != 0 {
		t.Errorf("#alerts has %d messages after failed posts", n)
	}
}

// conversations.replies returns a thread's parent first, then its replies
// oldest first, with their metadata only with include_all_metadata; oldest
// bounds the replies (not the parent); a ts that is no message is
// thread_not_found, as on Slack.
func TestRepliesReturnThread(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	meta := func(key string) slack.MsgOption {
		return slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "baton_reply", EventPayload: map[string]any{"key": key}})
	}
	_, parent, err := api.PostMessage(alerts.ID, slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	_, r1, err := api.PostMessage(alerts.ID, slack.MsgOptionText("reply 1", false), slack.MsgOptionTS(parent), meta("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("reply 2", false), slack.MsgOptionTS(parent), meta("r2")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		params  slack.GetConversationRepliesParameters
		want    []string // text/key
		wantErr string
	}{
		{"the thread with metadata", slack.GetConversationRepliesParameters{ChannelID: alerts.ID, Timestamp: parent, IncludeAllMetadata: true},
			[]string{"card/", "reply 1/r1", "reply 2/r2"}, ""},
		{"without include_all_metadata", slack.GetConversationRepliesParameters{ChannelID: alerts.ID, Timestamp: parent},
			[]string{"card/", "reply 1/", "reply 2/"}, ""},
		{"oldest bounds the replies", slack.GetConversationRepliesParameters{ChannelID: alerts.ID, Timestamp: parent, Oldest: r1, IncludeAllMetadata: true},
			[]string{"card/", "reply 2/r2"}, ""},
		{"a reply's ts names its thread", slack.GetConversationRepliesParameters{ChannelID: alerts.ID, Timestamp: r1, IncludeAllMetadata: true},
			[]string{"card/", "reply 1/r1", "reply 2/r2"}, ""},
		{"no such thread", slack.GetConversationRepliesParameters{ChannelID: alerts.ID, Timestamp: "1.000001"}, nil, "thread_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, _, _, err := api.GetConversationRepliesContext(testCtx(t), &tt.params)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				key, _ := m.Metadata.EventPayload["key"].(string)
				got = append(got, m.Text+"/"+key)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("thread %q, want %q", got, tt.want)
			}
		})
	}
}
