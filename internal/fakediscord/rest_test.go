package fakediscord

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestRESTWorkflowThroughDiscordgo(t *testing.T) {
	s := StartTest(t)
	dana := s.AddUser(User{Username: "dana"})
	dg := newSession(t, s)

	me, err := dg.User("@me")
	if err != nil || me.ID != s.BotID() || !me.Bot {
		t.Fatalf("users/@me = %+v, %v", me, err)
	}

	cmds, err := dg.ApplicationCommandBulkOverwrite(s.AppID(), s.GuildID(), []*discordgo.ApplicationCommand{
		{Name: "incident", Description: "Incidents", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "ack", Description: "Acknowledge",
				Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionInteger, Name: "incident", Description: "Number", Required: true}}},
		}},
		{Name: "oncall", Description: "Who is on call"},
	})
	if err != nil || len(cmds) != 2 || cmds[0].ID == "" || cmds[0].Name != "incident" {
		t.Fatalf("bulk overwrite = %+v, %v", cmds, err)
	}
	// A second overwrite keeps the ids of commands it keeps, as Discord does.
	again, err := dg.ApplicationCommandBulkOverwrite(s.AppID(), s.GuildID(), []*discordgo.ApplicationCommand{{Name: "incident", Description: "Incidents"}})
	if err != nil || len(again) != 1 || again[0].ID != cmds[0].ID || len(s.Commands()) != 1 {
		t.Fatalf("second overwrite = %+v, %v; stored %v", again, err, s.Commands())
	}

	cat := s.AddChannel(Channel{Name: "incidents", Type: ChannelCategory})
	ch, err := dg.GuildChannelCreateComplex(s.GuildID(), discordgo.GuildChannelCreateData{
		Name: "INC-12 Payments Down", Type: discordgo.ChannelTypeGuildText, ParentID: cat.ID})
	if err != nil {
		t.Fatalf("channel create: %v", err)
	}
	if ch.Name != "inc-12-payments-down" || ch.ParentID != cat.ID || ch.GuildID != s.GuildID() {
		t.Fatalf("channel = %+v", ch)
	}
	list, err := dg.GuildChannels(s.GuildID())
	if err != nil || len(list) != 2 {
		t.Fatalf("guild channels = %v, %v", list, err)
	}

	msg, err := dg.ChannelMessageSendComplex(ch.ID, card("payments **down**"))
	if err != nil {
		t.Fatalf("post card: %v", err)
	}
	if len(msg.Embeds) != 1 || msg.Embeds[0].Description != "payments **down**" || len(msg.Components) != 1 {
		t.Fatalf("posted = %+v", msg)
	}
	if err := dg.ChannelMessagePin(ch.ID, msg.ID); err != nil {
		t.Fatalf("pin: %v", err)
	}
	if err := dg.ChannelMessagePin(ch.ID, msg.ID); err != nil {
		t.Fatalf("pinning again must be no error: %v", err)
	}
	content := "INC-12 acknowledged by <@" + dana.ID + ">"
	edit := discordgo.NewMessageEdit(ch.ID, msg.ID).SetContent(content)
	edit.AllowedMentions = &discordgo.MessageAllowedMentions{Users: []string{dana.ID}}
	if _, err := dg.ChannelMessageEditComplex(edit); err != nil {
		t.Fatalf("edit: %v", err)
	}
	if err := dg.MessageReactionAdd(ch.ID, msg.ID, "✅"); err != nil {
		t.Fatalf("react: %v", err)
	}

	got, ok := s.Message(msg.ID)
	if !ok || !got.Pinned || got.Edits != 1 || got.Content != content || len(got.EmbedList()) != 1 {
		t.Fatalf("stored card = %+v", got)
	}
	if b := got.Buttons(); strings.Join(b, ",") != "ack:1,resolve:1,escalate:1" {
		t.Fatalf("buttons = %v", b)
	}
	if r := got.ReactedBy("✅"); len(r) != 1 || r[0] != s.BotID() {
		t.Fatalf("reactions = %v", got.Reactions)
	}
	if len(got.MentionUsers) != 1 || got.MentionUsers[0] != dana.ID {
		t.Fatalf("mentions = %v", got.MentionUsers)
	}
	if p := s.Pins(ch.ID); len(p) != 1 {
		t.Fatalf("pins = %v", p)
	}

	dm, err := dg.UserChannelCreate(dana.ID)
	if err != nil || dm.Type != discordgo.ChannelTypeDM {
		t.Fatalf("open DM = %+v, %v", dm, err)
	}
	dm2, err := dg.UserChannelCreate(dana.ID)
	if err != nil || dm2.ID != dm.ID || s.DMChannel(dana.ID) != dm.ID {
		t.Fatalf("second open = %+v, %v; want the same channel %s", dm2, err, dm.ID)
	}
	if _, err := dg.ChannelMessageSend(dm.ID, "You are paged for INC-12"); err != nil {
		t.Fatalf("DM: %v", err)
	}
	if _, err := dg.UserChannelCreate("1999999999999999999"); restErr(t, err).Message.Code != 50033 {
		t.Fatalf("DM to a stranger: %v", err)
	}

	hist, err := dg.ChannelMessages(ch.ID, 10, "", "", "")
	if err != nil || len(hist) != 1 || hist[0].ID != msg.ID {
		t.Fatalf("history = %v, %v", hist, err)
	}

	// The recorded calls: the parent was given in the create call.
	calls := s.Calls(RouteChannelCreate)
	var parent string
	if len(calls) != 1 || !calls[0].Field("parent_id", &parent) || parent != cat.ID {
		t.Fatalf("channel create calls = %+v", calls)
	}
}

func TestRefusesWhatDiscordRefuses(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	buttons := func(ids ...string) discordgo.ActionsRow {
		var cs []discordgo.MessageComponent
		for _, id := range ids {
			cs = append(cs, discordgo.Button{Label: "b", Style: discordgo.PrimaryButton, CustomID: id})
		}
		return discordgo.ActionsRow{Components: cs}
	}
	rows := func(n int) []discordgo.MessageComponent {
		var out []discordgo.MessageComponent
		for i := range n {
			out = append(out, buttons("r"+string(rune('a'+i))))
		}
		return out
	}
	tests := []struct {
		name  string
		msg   *discordgo.MessageSend
		field string // "" = accepted
		code  int
	}{
		{"content of 2,000 accepted", &discordgo.MessageSend{Content: long(2000)}, "", 0},
		{"content of 2,000 runes accepted", &discordgo.MessageSend{Content: strings.Repeat("é", 2000)}, "", 0},
		{"content of 2,001", &discordgo.MessageSend{Content: long(2001)}, "content", 50035},
		{"description of 4,096 accepted", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4096)}}}, "", 0},
		{"description of 4,097", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4097)}}}, "embeds", 50035},
		{"5 rows accepted", &discordgo.MessageSend{Content: "x", Components: rows(5)}, "", 0},
		{"6 rows", &discordgo.MessageSend{Content: "x", Components: rows(6)}, "components", 50035},
		{"5 buttons accepted", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons("a", "b", "c", "d", "e")}}, "", 0},
		{"6 buttons in a row", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons("a", "b", "c", "d", "e", "f")}}, "components", 50035},
		{"custom_id of 100 accepted", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons(long(100))}}, "", 0},
		{"custom_id of 101", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons(long(101))}}, "components", 50035},
		{"duplicate custom_id", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons("a", "a")}}, "components", 50035},
		{"button without custom_id", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons("")}}, "components", 50035},
		{"empty message", &discordgo.MessageSend{}, "-", 50006},
		{"allowed_mentions parse users and users list", &discordgo.MessageSend{Content: "x", AllowedMentions: &discordgo.MessageAllowedMentions{
			Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}, Users: []string{"1100000000000000009"}}}, "allowed_mentions", 50035},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StartTest(t)
			ch := s.AddChannel(Channel{Name: "alerts"})
			dg := newSession(t, s)
			_, err := dg.ChannelMessageSendComplex(ch.ID, tt.msg)
			if tt.field == "" {
				if err != nil || len(s.Messages(ch.ID)) != 1 {
					t.Fatalf("refused a valid message: %v", err)
				}
				return
			}
			re := restErr(t, err)
			if re.Response.StatusCode != http.StatusBadRequest || re.Message == nil || re.Message.Code != tt.code {
				t.Fatalf("got %d %+v, want 400 code %d", re.Response.StatusCode, re.Message, tt.code)
			}
			if tt.field != "-" && !bytes.Contains(re.ResponseBody, []byte(`"`+tt.field+`":`)) {
				t.Fatalf("errors do not name %q: %s", tt.field, re.ResponseBody)
			}
			if n := len(s.Messages(ch.ID)); n != 0 {
				t.Fatalf("refused message stored (%d)", n)
			}
		})
	}
}

func TestRefusesBadCommands(t *testing.T) {
	desc := "does things"
	tests := []struct {
		name string
		cmds []*discordgo.ApplicationCommand
		ok   bool
	}{
		{"lowercase names accepted", []*discordgo.ApplicationCommand{{Name: "incident", Description: desc}}, true},
		{"32 characters accepted", []*discordgo.ApplicationCommand{{Name: strings.Repeat("a", 32), Description: desc}}, true},
		{"33 characters", []*discordgo.ApplicationCommand{{Name: strings.Repeat("a", 33), Description: desc}}, false},
		{"uppercase name", []*discordgo.ApplicationCommand{{Name: "Incident", Description: desc}}, false},
		{"space in name", []*discordgo.ApplicationCommand{{Name: "on call", Description: desc}}, false},
		{"uppercase option", []*discordgo.ApplicationCommand{{Name: "incident", Description: desc, Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "Ack", Description: desc}}}}, false},
		{"nested option too long", []*discordgo.ApplicationCommand{{Name: "incident", Description: desc, Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "ack", Description: desc, Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionInteger, Name: strings.Repeat("n", 33), Description: desc}}}}}}, false},
		{"no description", []*discordgo.ApplicationCommand{{Name: "incident"}}, false},
		{"duplicate names", []*discordgo.ApplicationCommand{{Name: "incident", Description: desc}, {Name: "incident", Description: desc}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StartTest(t)
			dg := newSession(t, s)
			_, err := dg.ApplicationCommandBulkOverwrite(s.AppID(), s.GuildID(), tt.cmds)
			if tt.ok {
				if err != nil || len(s.Commands()) != len(tt.cmds) {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if re := restErr(t, err); re.Message.Code != 50035 {
				t.Fatalf("got %+v, want 50035", re.Message)
			}
			if len(s.Commands()) != 0 {
				t.Fatalf("refused overwrite stored %v", s.Commands())
			}
		})
	}
}

func TestAuthAndUnknownRoutes(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no token", "POST", "channels/" + ch.ID + "/messages", "", 401},
		{"wrong token", "POST", "channels/" + ch.ID + "/messages", "Bot nope", 401},
		{"token without Bot prefix", "POST", "channels/" + ch.ID + "/messages", s.Token(), 401},
		{"unknown route", "GET", "guilds/" + s.GuildID() + "/emojis", "Bot " + s.Token(), 404},
		{"unknown channel", "POST", "channels/1100000000000000999/messages", "Bot " + s.Token(), 404},
		{"bad JSON", "POST", "channels/" + ch.ID + "/messages", "Bot " + s.Token(), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"content":"hi"}`
			if tt.name == "bad JSON" {
				body = `{"content":`
			}
			req, _ := http.NewRequest(tt.method, s.APIURL()+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !json.Valid(b) {
				t.Fatalf("got %d %s, want %d with a JSON body", resp.StatusCode, b, tt.status)
			}
			if n := len(s.Messages(ch.ID)); n != 0 {
				t.Fatalf("refused call posted %d messages", n)
			}
		})
	}
}

func TestEnforceNonceMakesAPostIdempotent(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	body := map[string]any{"content": "card", "nonce": "card:7:1732978800000", "enforce_nonce": true}
	var first, second struct {
		ID    string `json:"id"`
		Nonce string `json:"nonce"`
	}
	for i, m := range []any{&first, &second} {
		b, err := dg.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(ch.ID), body, "")
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		if err := json.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
	}
	if first.ID != second.ID || len(s.Messages(ch.ID)) != 1 {
		t.Fatalf("ids %s, %s; %d messages: want one", first.ID, second.ID, len(s.Messages(ch.ID)))
	}
	// The nonce comes back in the create answer only, not when read later.
	if first.Nonce != "card:7:1732978800000" {
		t.Fatalf("create answer nonce %q", first.Nonce)
	}
	raw, err := dg.RequestWithBucketID("GET", discordgo.EndpointChannelMessage(ch.ID, first.ID), nil, "")
	if err != nil || bytes.Contains(raw, []byte(`"nonce"`)) {
		t.Fatalf("read back: %s, %v", raw, err)
	}
	body["enforce_nonce"] = false
	if _, err := dg.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(ch.ID), body, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages(ch.ID)); n != 2 {
		t.Fatalf("without enforce_nonce: %d messages, want 2", n)
	}
	body["nonce"] = strings.Repeat("n", 26)
	_, err = dg.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(ch.ID), body, "")
	if restErr(t, err).Message.Code != 50035 {
		t.Fatalf("nonce of 26: %v", err)
	}
}

func TestAllowedMentions(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dana := s.AddUser(User{Username: "dana"})
	eve := s.AddUser(User{Username: "eve"})
	dg := newSession(t, s)
	text := "<@" + dana.ID + "> owns it; alert says @everyone <@&1100000000000000777> <@" + eve.ID + ">"
	tests := []struct {
		name     string
		allowed  *discordgo.MessageAllowedMentions
		users    string
		roles    int
		everyone bool
	}{
		{"absent: Discord parses everything", nil, dana.ID + "," + eve.ID, 1, true},
		{"empty: nobody", &discordgo.MessageAllowedMentions{}, "", 0, false},
		{"exactly dana", &discordgo.MessageAllowedMentions{Users: []string{dana.ID}}, dana.ID, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := dg.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{Content: text, AllowedMentions: tt.allowed})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := s.Message(m.ID)
			if strings.Join(got.MentionUsers, ",") != tt.users || len(got.MentionRoles) != tt.roles || got.MentionEveryone != tt.everyone {
				t.Fatalf("users %v roles %v everyone %v", got.MentionUsers, got.MentionRoles, got.MentionEveryone)
			}
			if len(m.Mentions) != len(got.MentionUsers) || m.MentionEveryone != tt.everyone {
				t.Fatalf("discordgo saw mentions %v everyone %v", m.Mentions, m.MentionEveryone)
			}
		})
	}
}

func TestChannelCreateRefusesABadParent(t *testing.T) {
	s := StartTest(t)
	text := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	for _, parent := range []string{text.ID, "1100000000000000999"} {
		_, err := dg.GuildChannelCreateComplex(s.GuildID(), discordgo.GuildChannelCreateData{Name: "inc-1", ParentID: parent})
		if restErr(t, err).Message.Code != 50035 {
			t.Fatalf("parent %s: %v", parent, err)
		}
	}
	if _, err := dg.GuildChannelCreateComplex(s.GuildID(), discordgo.GuildChannelCreateData{Name: strings.Repeat("x", 101)}); restErr(t, err).Message.Code != 50035 {
		t.Fatalf("name of 101: %v", err)
	}
	// Discord does not refuse a duplicate name: a second channel is made.
	for range 2 {
		if _, err := dg.GuildChannelCreate(s.GuildID(), "inc-1-db", discordgo.ChannelTypeGuildText); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.ChannelsNamed("inc-1-db")); n != 2 {
		t.Fatalf("%d channels named inc-1-db, want 2 (Discord allows duplicates)", n)
	}
}

func TestHistoryPages(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	var ids []string
	for i := range 5 {
		m, err := dg.ChannelMessageSend(ch.ID, "m"+string(rune('0'+i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	got := func(limit int, before, after string) string {
		t.Helper()
		ms, err := dg.ChannelMessages(ch.ID, limit, before, after, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Content)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name          string
		limit         int
		before, after string
		want          string
	}{
		{"newest first", 10, "", "", "m4,m3,m2,m1,m0"},
		{"limit keeps the newest", 2, "", "", "m4,m3"},
		{"before", 10, ids[2], "", "m1,m0"},
		{"after keeps the nearest", 2, "", ids[1], "m3,m2"},
		{"between", 10, ids[4], ids[1], "m3,m2"},
	}
	for _, tt := range tests {
		if g := got(tt.limit, tt.before, tt.after); g != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, g, tt.want)
		}
	}
}
