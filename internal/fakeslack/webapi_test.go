package fakeslack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestAuthTestThroughSDK(t *testing.T) {
	s, api := newFake(t)
	resp, err := api.AuthTest()
	if err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	if resp.UserID != s.BotUserID() || resp.TeamID != s.TeamID() || resp.BotID == "" {
		t.Fatalf("auth.test = %+v", resp)
	}

	_, err = slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).AuthTest()
	if got := slackErr(t, err); got != "invalid_auth" {
		t.Fatalf("wrong token: error %q, want invalid_auth", got)
	}
}

func TestTokenPlacement(t *testing.T) {
	s := StartTest(t)
	seed(s)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		header      map[string]string
		wantErr     string // "" means ok:true
	}{
		{"form field token", "auth.test", "application/x-www-form-urlencoded", form("token", s.BotToken()), nil, ""},
		{"bearer with form body", "auth.test", "application/x-www-form-urlencoded", "", bearer(s.BotToken()), ""},
		{"bearer with JSON body", "chat.postMessage", "application/json",
			`{"channel":"#alerts","text":"hi","blocks":[{"type":"divider"}]}`, bearer(s.BotToken()), ""},
		{"no token", "auth.test", "application/x-www-form-urlencoded", "", nil, "not_authed"},
		{"wrong token", "auth.test", "application/x-www-form-urlencoded", form("token", "xoxb-nope"), nil, "invalid_auth"},
		{"app token on a bot method", "auth.test", "", "", bearer(s.AppToken()), "not_allowed_token_type"},
		{"bot token on apps.connections.open", "apps.connections.open", "application/json", "", bearer(s.BotToken()), "not_allowed_token_type"},
		{"app token on apps.connections.open", "apps.connections.open", "application/json", "", bearer(s.AppToken()), ""},
		{"unknown method", "views.open", "application/x-www-form-urlencoded", form("token", s.BotToken()), nil, "unknown_method"},
		{"bad JSON", "chat.postMessage", "application/json", `{"channel":`, bearer(s.BotToken()), "invalid_form_data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawCall(t, s, tt.method, tt.contentType, tt.body, tt.header)
			var resp struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil || status != http.StatusOK {
				t.Fatalf("status %d body %s", status, body)
			}
			if resp.Error != tt.wantErr || resp.OK != (tt.wantErr == "") {
				t.Fatalf("answer %s, want error %q", body, tt.wantErr)
			}
		})
	}
	post := s.Calls("chat.postMessage")[0]
	if post.Params.Has("token") {
		t.Error("recorded params keep the token")
	}
	if len(post.Blocks) != 1 || post.Blocks[0]["type"] != "divider" {
		t.Errorf("JSON blocks not recorded decoded: %+v", post.Blocks)
	}
	if msgs := s.Messages("#alerts"); len(msgs) != 1 || string(msgs[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("JSON post stored %+v", msgs)
	}
}

var tsFormat = regexp.MustCompile(`^\d{10}\.\d{6}$`)

func TestPostUpdatePinReact(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)

	ch, ts, msg, err := api.PostMessageWithResponse("#alerts",
		slack.MsgOptionText("INC-1 db down", false), slack.MsgOptionBlocks(cardBlocks()...))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if ch != alerts.ID || !tsFormat.MatchString(ts) {
		t.Fatalf("post returned channel %q ts %q", ch, ts)
	}
	if msg.BotID == "" || msg.User != s.BotUserID() || len(msg.Blocks.BlockSet) != 2 {
		t.Fatalf("returned message %+v", msg.Msg)
	}

	_, reply, err := api.PostMessage(alerts.ID, slack.MsgOptionText("fired 3 more times", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatalf("thread reply: %v", err)
	}
	if reply <= ts {
		t.Fatalf("reply ts %s not after %s", reply, ts)
	}
	if r := s.Replies(alerts.ID, ts); len(r) != 1 || r[0].TS != reply {
		t.Fatalf("replies %+v", r)
	}

	if _, _, _, err := api.UpdateMessage(alerts.ID, ts, slack.MsgOptionText("INC-1 acknowledged", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := api.AddPin(alerts.ID, slack.NewRefToMessage(alerts.ID, ts)); err != nil {
		t.Fatalf("pin: %v", err)
	}
	if err := api.AddReaction("white_check_mark", slack.NewRefToMessage(alerts.ID, ts)); err != nil {
		t.Fatalf("react: %v", err)
	}

	m, ok := s.Message(alerts.ID, ts)
	if !ok {
		t.Fatal("message gone")
	}
	if m.Text != "INC-1 acknowledged" || m.EditedTS == "" {
		t.Errorf("update not applied: %+v", m)
	}
	if !strings.Contains(string(m.Blocks), `"action_id":"ack"`) {
		t.Errorf("update without blocks dropped the blocks: %s", m.Blocks)
	}
	if m.ReplyCount != 1 || !m.Pinned || len(m.Reactions) != 1 || m.Reactions[0].Users[0] != s.BotUserID() {
		t.Errorf("message state %+v", m)
	}
	if c, _ := s.Channel(alerts.ID); len(c.Pins) != 1 || c.Pins[0] != ts {
		t.Errorf("pins %v", c.Pins)
	}
	if got := s.Calls("chat.postMessage")[0].Blocks; len(got) != 2 || got[1]["block_id"] != "card-actions" {
		t.Errorf("recorded blocks %+v", got)
	}

	again := []struct {
		name string
		call func() error
		want string
	}{
		{"pin twice", func() error { return api.AddPin(alerts.ID, slack.NewRefToMessage(alerts.ID, ts)) }, "already_pinned"},
		{"react twice", func() error {
			return api.AddReaction("white_check_mark", slack.NewRefToMessage(alerts.ID, ts))
		}, "already_reacted"},
		{"update missing", func() error {
			_, _, _, err := api.UpdateMessage(alerts.ID, "1.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"pin missing", func() error { return api.AddPin(alerts.ID, slack.NewRefToMessage(alerts.ID, "1.000001")) }, "message_not_found"},
	}
	for _, tt := range again {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackErr(t, tt.call()); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPostMessageErrors(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	notIn := s.AddChannel(Channel{Name: "not-in"})
	s.RemoveMember(notIn.ID, s.BotUserID())
	secret := s.AddChannel(Channel{Name: "secret", IsPrivate: true})
	s.RemoveMember(secret.ID, s.BotUserID())
	archived := s.AddChannel(Channel{Name: "old", IsArchived: true})

	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"unknown channel", "C99999999", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"unknown name", "#nope", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"public channel without the bot", notIn.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "not_in_channel"},
		{"private channel without the bot", secret.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"archived", archived.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "is_archived"},
		{"no text", alerts.ID, nil, "no_text"},
		{"too long", alerts.ID, []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", 40001), false)}, "msg_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessage(tt.channel, tt.opts...)
			if got := slackErr(t, err); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
		})
	}
	status, body := rawCall(t, s, "chat.postMessage", "application/x-www-form-urlencoded",
		form("token", s.BotToken(), "channel", alerts.ID, "blocks", `[{"text":"no type"}]`), nil)
	if status != 200 || !strings.Contains(body, `"invalid_blocks"`) {
		t.Errorf("blocks without type: %d %s", status, body)
	}
	for _, c := range s.Channels() {
		if n := len(s.Messages(c.ID)); n != 0 {
			t.Errorf("%s has %d messages after failed posts", c.Name, n)
		}
	}
}

func TestCreateConversation(t *testing.T) {
	s, api := newFake(t)
	tests := []struct {
		name    string
		channel string
		want    string
	}{
		{"valid", "inc-42-db-down", ""},
		{"underscore and digits", "inc_43_2024", ""},
		{"80 characters", strings.Repeat("a", 80), ""},
		{"81 characters", strings.Repeat("a", 81), "invalid_name_maxlength"},
		{"uppercase", "INC-44", "invalid_name_specials"},
		{"space", "inc 45", "invalid_name_specials"},
		{"dot", "inc.46", "invalid_name_specials"},
		{"empty", "", "invalid_name_required"},
		{"punctuation only", "--", "invalid_name_punctuation"},
		{"taken", "inc-42-db-down", "name_taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: tt.channel})
			if tt.want != "" {
				if got := slackErr(t, err); got != tt.want {
					t.Fatalf("error %q, want %q", got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if ch.Name != tt.channel || !strings.HasPrefix(ch.ID, "C") || !ch.IsMember || ch.Creator != s.BotUserID() {
				t.Fatalf("created %+v", ch)
			}
		})
	}
	priv, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "private-one", IsPrivate: true})
	if err != nil || !priv.IsPrivate {
		t.Fatalf("private create: %+v %v", priv, err)
	}
	if err := api.ArchiveConversation(priv.ID); err != nil {
		t.Fatalf("archive: %v", err)
	}
	_, err = api.CreateConversation(slack.CreateConversationParams{ChannelName: "private-one"})
	if got := slackErr(t, err); got != "name_taken" {
		t.Fatalf("archived name: error %q, want name_taken", got)
	}
}

func TestConversationMethods(t *testing.T) {
	s, api := newFake(t)
	alice, bob, _ := seed(s)
	ch, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1-db"})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := api.InviteUsersToConversation(ch.ID, alice.ID, bob.ID); err != nil {
		t.Fatalf("invite: %v", err)
	}
	inviteErrs := []struct {
		name  string
		users []string
		want  string
	}{
		{"already in", []string{alice.ID}, "already_in_channel"},
		{"unknown user", []string{"U77777777"}, "user_not_found"},
		{"the bot", []string{s.BotUserID()}, "cant_invite_self"},
		{"nobody", nil, "no_user"},
	}
	for _, tt := range inviteErrs {
		t.Run("invite "+tt.name, func(t *testing.T) {
			_, err := api.InviteUsersToConversation(ch.ID, tt.users...)
			if got := slackErr(t, err); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
		})
	}

	got, err := api.SetTopicOfConversation(ch.ID, "INC-1 · owner alice")
	if err != nil || got.Topic.Value != "INC-1 · owner alice" {
		t.Fatalf("setTopic: %+v %v", got, err)
	}
	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch.ID})
	if err != nil || info.Name != "inc-1-db" || info.NumMembers != 3 || info.Topic.Value == "" {
		t.Fatalf("info: %+v %v", info, err)
	}

	im, noOp, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{alice.ID}})
	if err != nil || !strings.HasPrefix(im.ID, "D") || noOp || already {
		t.Fatalf("open: %+v noop=%v already=%v %v", im, noOp, already, err)
	}
	im2, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{alice.ID}})
	if err != nil || im2.ID != im.ID || !already {
		t.Fatalf("open again: %+v already=%v %v", im2, already, err)
	}
	if _, _, err := api.PostMessage(im.ID, slack.MsgOptionText("you are paged", false)); err != nil {
		t.Fatalf("DM: %v", err)
	}
	if _, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U77777777"}}); slackErr(t, err) != "user_not_found" {
		t.Fatalf("open unknown: %v", err)
	}

	// Posting to a user id goes to the IM with that user.
	dm, _, err := api.PostMessage(bob.ID, slack.MsgOptionText("hello bob", false))
	if err != nil {
		t.Fatalf("post to user id: %v", err)
	}
	if c, ok := s.IM(bob.ID); !ok || c.ID != dm {
		t.Fatalf("IM for bob %+v, post went to %s", c, dm)
	}

	if err := api.ArchiveConversation(ch.ID); err != nil {
		t.Fatalf("archive: %v", err)
	}
	if err := api.ArchiveConversation(ch.ID); slackErr(t, err) != "already_archived" {
		t.Fatalf("archive twice: %v", err)
	}
	if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("x", false)); slackErr(t, err) != "is_archived" {
		t.Fatalf("post to archived: %v", err)
	}

	// conversations.list pages with a cursor and filters by type.
	var names []string
	p := slack.GetConversationsParameters{Limit: 1, Types: []string{"public_channel"}, ExcludeArchived: true}
	for {
		chans, next, err := api.GetConversations(&p)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, c := range chans {
			names = append(names, c.Name)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if strings.Join(names, ",") != "alerts" {
		t.Fatalf("listed %v, want [alerts]", names)
	}
	ims, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"im"}})
	if err != nil || len(ims) != 2 || !ims[0].IsIM {
		t.Fatalf("list IMs: %+v %v", ims, err)
	}
}

func TestUsers(t *testing.T) {
	s, api := newFake(t)
	alice, _, _ := seed(s)
	u, err := api.GetUserInfo(alice.ID)
	if err != nil || u.Name != "alice" || u.RealName != "Alice Liddell" || u.Profile.Email != "alice@example.com" {
		t.Fatalf("users.info: %+v %v", u, err)
	}
	u, err = api.GetUserByEmail("ALICE@example.com")
	if err != nil || u.ID != alice.ID {
		t.Fatalf("lookupByEmail: %+v %v", u, err)
	}
	if _, err := api.GetUserByEmail("nobody@example.com"); slackErr(t, err) != "users_not_found" {
		t.Fatalf("unknown email: %v", err)
	}
	if _, err := api.GetUserInfo("U77777777"); slackErr(t, err) != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestEphemeralAndDelete(t *testing.T) {
	s, api := newFake(t)
	alice, bob, alerts := seed(s)
	ts, err := api.PostEphemeral(alerts.ID, alice.ID, slack.MsgOptionText("only you", false))
	if err != nil || !tsFormat.MatchString(ts) {
		t.Fatalf("ephemeral: %q %v", ts, err)
	}
	if e := s.Ephemerals(alice.ID); len(e) != 1 || e[0].Text != "only you" || e[0].Source != "chat.postEphemeral" {
		t.Fatalf("ephemerals %+v", e)
	}
	if _, err := api.PostEphemeral(alerts.ID, bob.ID, slack.MsgOptionText("x", false)); slackErr(t, err) != "user_not_in_channel" {
		t.Fatalf("ephemeral to non-member: %v", err)
	}
	if len(s.Messages(alerts.ID)) != 0 {
		t.Fatal("an ephemeral message became a channel message")
	}

	_, mts, err := api.PostMessage(alerts.ID, slack.MsgOptionText("oops", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessage(alerts.ID, mts); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := s.Message(alerts.ID, mts); ok {
		t.Fatal("deleted message still there")
	}
	if _, _, err := api.DeleteMessage(alerts.ID, mts); slackErr(t, err) != "message_not_found" {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestFileUploadV2(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	sum, err := api.UploadFileContext(testCtx(t), slack.UploadFileParameters{
		Filename: "mtta.png", FileSize: len(png), Reader: bytes.NewReader(png),
		Channel: alerts.ID, Title: "MTTA, 7 days", InitialComment: "stats",
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	f, ok := s.File(sum.ID)
	if !ok || !bytes.Equal(f.Content, png) || f.Title != "MTTA, 7 days" || f.Channels[0] != alerts.ID {
		t.Fatalf("file %+v", f)
	}
	msgs := s.Messages(alerts.ID)
	if len(msgs) != 1 || msgs[0].Files[0] != sum.ID || msgs[0].Text != "stats" {
		t.Fatalf("share message %+v", msgs)
	}
	resp, err := http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, png) {
		t.Fatalf("GET %s: %s, %d bytes", f.URL, resp.Header.Get("Content-Type"), len(got))
	}
	// files.completeUploadExternal takes channel ids, not names.
	_, err = api.UploadFileContext(testCtx(t), slack.UploadFileParameters{
		Filename: "mtta.png", FileSize: len(png), Reader: bytes.NewReader(png), Channel: "#" + alerts.Name})
	if slackErr(t, err) != "channel_not_found" {
		t.Fatalf("upload to a channel name: %v, want channel_not_found", err)
	}
}

func TestTimestampsUniqueUnderFrozenClock(t *testing.T) {
	clock := newClock()
	s, api := newFake(t, WithClock(clock.Now))
	_, _, alerts := seed(s)
	prev := ""
	for range 5 {
		_, ts, err := api.PostMessage(alerts.ID, slack.MsgOptionText("x", false))
		if err != nil {
			t.Fatal(err)
		}
		if !tsFormat.MatchString(ts) || ts <= prev {
			t.Fatalf("ts %q after %q", ts, prev)
		}
		prev = ts
	}
}

func TestChangeFeedAndWait(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	feed, cancel := s.Subscribe()
	defer cancel()

	go func() { _, _, _ = api.PostMessage(alerts.ID, slack.MsgOptionText("later", false)) }()
	calls, err := s.WaitCalls(testCtx(t), "chat.postMessage", 1)
	if err != nil || !calls[0].OK {
		t.Fatalf("WaitCalls: %+v %v", calls, err)
	}
	var kinds []EventKind
	for len(kinds) < 2 {
		e := <-feed
		kinds = append(kinds, e.Kind)
		if e.Kind == EventMessagePosted && e.Channel != alerts.ID {
			t.Errorf("posted event for %s", e.Channel)
		}
	}
	if kinds[0] != EventMessagePosted || kinds[1] != EventCall {
		t.Fatalf("feed %v, want message_posted then api_call", kinds)
	}
	cancel()
	for range feed { // drains and ends
	}
}
