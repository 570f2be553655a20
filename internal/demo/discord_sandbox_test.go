package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	discordbot "github.com/batonhq/baton/bot/discord"
	"github.com/batonhq/baton/internal/fakediscord"
)

const (
	aliceDiscord = "110000000000000101"
	dbAlertsID   = "110000000000000201"
)

var discordTestPeople = []Person{
	{ID: "alice", Name: "Alice Martin", DiscordID: aliceDiscord},
	{ID: "bob", Name: "Bob Chen"}, // no Discord id: the fake gives one
}

func startDiscordTestSandbox(t *testing.T, onAction func(Action)) *DiscordSandbox {
	t.Helper()
	sb, err := StartDiscordSandbox(DiscordSandboxOptions{
		Addr: "127.0.0.1:0", People: discordTestPeople,
		Channels: []DiscordChannel{{ID: dbAlertsID, Name: "#db-alerts"}, {Name: "payments-alerts"}},
		Category: "incidents",
		Baton:    func(context.Context) (any, error) { return map[string]any{"incidents": []any{}}, nil },
		OnAction: onAction,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

// discordBot is a discordgo session against the sandbox with baton's
// commands registered; interactions it receives go to onInteraction.
func discordBot(t *testing.T, sb *DiscordSandbox, onInteraction func(*discordgo.Session, *discordgo.InteractionCreate)) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot " + sb.Fake.Token())
	if err != nil {
		t.Fatal(err)
	}
	dg.Client = &http.Client{Transport: discordbot.Rebase(sb.Fake.APIURL(), http.DefaultTransport), Timeout: 10 * time.Second}
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessageReactions | discordgo.IntentsDirectMessageReactions
	dg.LogLevel = -1
	if onInteraction != nil {
		dg.AddHandler(onInteraction)
	}
	if err := dg.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = dg.Close() })
	if _, err := dg.ApplicationCommandBulkOverwrite(sb.Fake.AppID(), sb.Fake.GuildID(), discordbot.Commands()); err != nil {
		t.Fatal(err)
	}
	return dg
}

// discordCard posts an incident card (an embed, Acknowledge and Resolve)
// in a channel, as baton's pager does.
func discordCard(t *testing.T, dg *discordgo.Session, channel string, n int) *discordgo.Message {
	t.Helper()
	m, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{{Title: fmt.Sprintf("INC-%d Disk almost full on db-3", n), Description: "**triggered** · critical",
			Color: 0xe01e5a, Fields: []*discordgo.MessageEmbedField{{Name: "Owner", Value: "<@" + aliceDiscord + ">", Inline: true}}}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Acknowledge", Style: discordgo.PrimaryButton, CustomID: fmt.Sprintf("baton:ack:%d", n)},
			discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: fmt.Sprintf("baton:resolve:%d", n)},
		}}},
		AllowedMentions: &discordgo.MessageAllowedMentions{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiscordSandboxSeedsAndServesState(t *testing.T) {
	sb := startDiscordTestSandbox(t, nil)
	people := sb.People()
	if people[0].DiscordID != aliceDiscord || len(people[1].DiscordID) < 17 {
		t.Fatalf("people %+v", people)
	}
	chans := sb.Channels()
	if len(chans) != 2 || chans[0].ID != dbAlertsID || chans[0].Name != "db-alerts" || chans[1].ID == "" || sb.CategoryID() == "" {
		t.Fatalf("channels %+v category %q", chans, sb.CategoryID())
	}
	for path, want := range map[string]string{
		"":                          `data-chat="discord"`,
		"sandbox/static/discord.js": "function renderChannels",
		"sandbox/static/app.js":     "EventSource",
		"sandbox/state":             `"discord_id":"` + aliceDiscord + `"`,
		"api/v10/users/@me":         `401: Unauthorized`, // the fake still owns /api/
	} {
		resp, err := http.Get(sb.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("GET /%s: %d, no %q in %.300s", path, resp.StatusCode, want, b)
		}
	}
	resp, err := http.Get(sb.URL() + "sandbox/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v DiscordView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if len(v.People) != 2 || v.BotConnected != 0 || v.Baton == nil || len(v.Guild.Channels) != 3 || v.Guild.BotID != sb.Fake.BotID() {
		t.Fatalf("view %+v", v)
	}
}

func postDiscordAct(t *testing.T, sb *DiscordSandbox, contentType string, body string) (int, map[string]any) {
	t.Helper()
	return postPage(t, sb.URL()+"sandbox/act", contentType, body)
}

// TestDiscordSandboxActions: what the page sends reaches baton's gateway
// session as Discord would deliver it, as the person picked: a button press
// is an INTERACTION_CREATE of type 3 with the button's custom_id, a slash
// command one of type 2 with typed options, a reaction a
// MESSAGE_REACTION_ADD; and what a person could not do is refused.
func TestDiscordSandboxActions(t *testing.T) {
	var mu sync.Mutex
	var acted []Action
	got := make(chan *discordgo.InteractionCreate, 8)
	sb := startDiscordTestSandbox(t, func(a Action) { mu.Lock(); acted = append(acted, a); mu.Unlock() })
	dg := discordBot(t, sb, func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	reactions := make(chan *discordgo.MessageReactionAdd, 8)
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) { reactions <- r })
	card := discordCard(t, dg, dbAlertsID, 7)

	tests := []struct {
		name       string
		action     Action
		wantStatus int
		wantError  string
		check      func(t *testing.T, out map[string]any)
	}{
		{"button", Action{As: aliceDiscord, Kind: "button", Channel: dbAlertsID, Message: card.ID, CustomID: "baton:ack:7", Label: "Acknowledge"},
			http.StatusOK, "", func(t *testing.T, out map[string]any) {
				i := next(t, got)
				d := i.MessageComponentData()
				if i.Type != discordgo.InteractionMessageComponent || d.CustomID != "baton:ack:7" || i.Member.User.ID != aliceDiscord ||
					i.Message.ID != card.ID || i.ID != out["envelope"] {
					t.Fatalf("interaction %+v data %+v", i.Interaction, d)
				}
			}},
		{"slash command with options", Action{As: aliceDiscord, Kind: "command", Channel: dbAlertsID, Text: "/incident ack INC-7 on it now"},
			http.StatusOK, "", func(t *testing.T, out map[string]any) {
				i := next(t, got)
				d := i.ApplicationCommandData()
				if i.Type != discordgo.InteractionApplicationCommand || d.Name != "incident" || len(d.Options) != 1 || d.Options[0].Name != "ack" {
					t.Fatalf("interaction %+v data %+v", i.Interaction, d)
				}
				o := d.Options[0].Options
				if len(o) != 2 || o[0].Name != "incident" || o[0].IntValue() != 7 || o[1].Name != "note" || o[1].StringValue() != "on it now" {
					t.Fatalf("options %+v", o)
				}
			}},
		{"reaction", Action{As: aliceDiscord, Kind: "reaction", Channel: dbAlertsID, Message: card.ID, Reaction: "✅"},
			http.StatusOK, "", func(t *testing.T, _ map[string]any) {
				select {
				case r := <-reactions:
					if r.UserID != aliceDiscord || r.MessageID != card.ID || r.Emoji.Name != "✅" {
						t.Fatalf("reaction %+v", r.MessageReaction)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no MESSAGE_REACTION_ADD within 10s")
				}
			}},
		{"not a demo person", Action{As: "119999999999999999", Kind: "button", Channel: dbAlertsID, Message: card.ID, CustomID: "baton:ack:7"},
			http.StatusBadRequest, "not one of the demo people", nil},
		{"a button the card lacks", Action{As: aliceDiscord, Kind: "button", Channel: dbAlertsID, Message: card.ID, CustomID: "baton:escalate:7"},
			http.StatusBadRequest, "baton:escalate:7", nil},
		{"an unknown sub-command", Action{As: aliceDiscord, Kind: "command", Channel: dbAlertsID, Text: "/incident frobnicate"},
			http.StatusBadRequest, "it takes one of new, ack, resolve", nil},
		{"an unknown command", Action{As: aliceDiscord, Kind: "command", Channel: dbAlertsID, Text: "/deploy"},
			http.StatusBadRequest, "the commands are /incident, /oncall", nil},
		{"an unknown kind", Action{As: aliceDiscord, Kind: "wave", Channel: dbAlertsID},
			http.StatusBadRequest, "unknown action kind", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(tc.action)
			status, out := postDiscordAct(t, sb, "application/json", string(b))
			if status != tc.wantStatus || (tc.wantError != "" && !strings.Contains(fmt.Sprint(out["error"]), tc.wantError)) {
				t.Fatalf("POST /sandbox/act %+v: %d %v", tc.action, status, out)
			}
			if tc.check != nil {
				if out["bot_connected"] != true {
					t.Errorf("bot_connected %v with a session open", out["bot_connected"])
				}
				tc.check(t, out)
			}
		})
	}
	if status, _ := postDiscordAct(t, sb, "text/plain", `{"as":"`+aliceDiscord+`","kind":"reaction"}`); status != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain action: %d, want 415", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acted) != 3 || acted[0].Envelope == "" || acted[1].Text != "/incident ack INC-7 on it now" || acted[2].Reaction != "✅" {
		t.Fatalf("told of %+v", acted)
	}
}

func next(t *testing.T, got chan *discordgo.InteractionCreate) *discordgo.InteractionCreate {
	t.Helper()
	select {
	case i := <-got:
		return i
	case <-time.After(10 * time.Second):
		t.Fatal("no INTERACTION_CREATE within 10s")
		return nil
	}
}

// TestDiscordSandboxEventsStream: the page's stream sends the guild at once
// and again when baton posts a card.
func TestDiscordSandboxEventsStream(t *testing.T) {
	sb := startDiscordTestSandbox(t, nil)
	nextView := readStream[DiscordView](t, sb.URL()+"sandbox/events")
	if v := nextView(); len(v.People) != 2 || v.BotConnected != 0 {
		t.Fatalf("first event %+v", v)
	}
	dg := discordBot(t, sb, nil)
	card := discordCard(t, dg, dbAlertsID, 3)
	for {
		v := nextView()
		if msgs := v.Guild.Messages[dbAlertsID]; v.BotConnected == 1 && len(msgs) == 1 && msgs[0].ID == card.ID &&
			strings.Contains(string(msgs[0].Components), "baton:ack:3") {
			break
		}
	}
}

func TestParseSlashCommand(t *testing.T) {
	raw, _ := json.Marshal(discordbot.Commands())
	var list []json.RawMessage
	_ = json.Unmarshal(raw, &list)
	var cmds []fakediscord.Command
	for _, r := range list {
		var c struct{ Name string }
		_ = json.Unmarshal(r, &c)
		cmds = append(cmds, fakediscord.Command{Name: c.Name, Raw: r})
	}
	person := func(w string) (string, bool) {
		if strings.EqualFold(strings.TrimPrefix(w, "@"), "bob") {
			return "110000000000000102", true
		}
		return "", false
	}
	sub := func(name string, opts ...fakediscord.CommandOption) []fakediscord.CommandOption {
		if opts == nil {
			opts = []fakediscord.CommandOption{}
		}
		return []fakediscord.CommandOption{fakediscord.SubCommand(name, opts...)}
	}
	tests := []struct {
		name, text, wantCmd string
		want                []fakediscord.CommandOption
		wantErr             string
	}{
		{"bare sub-command", "/incident ack", "incident", sub("ack"), ""},
		{"number and note", "/incident ack 3 looking into it", "incident", sub("ack", fakediscord.IntOption("incident", 3), fakediscord.StringOption("note", "looking into it")), ""},
		{"INC-n and #n", "/incident resolve #4", "incident", sub("resolve", fakediscord.IntOption("incident", 4)), ""},
		{"note without a number", "/incident resolve restarted the node", "incident", sub("resolve", fakediscord.StringOption("note", "restarted the node")), ""},
		{"a required text takes the rest", "/incident note checking the replica lag", "incident", sub("note", fakediscord.StringOption("text", "checking the replica lag")), ""},
		{"name:value", "/incident note text:replica lag incident:INC-2", "incident", sub("note", fakediscord.StringOption("text", "replica lag"), fakediscord.IntOption("incident", 2)), ""},
		{"a person", "/incident assign @bob 5", "incident", sub("assign", fakediscord.UserOption("person", "110000000000000102"), fakediscord.IntOption("incident", 5)), ""},
		{"one word each, then the rest", "/incident maintenance database 1h \"schema change\"", "incident", sub("maintenance",
			fakediscord.StringOption("service", "database"), fakediscord.StringOption("duration", "1h"), fakediscord.StringOption("reason", "schema change")), ""},
		{"oncall override", "/oncall override bob 4h", "oncall", sub("override", fakediscord.UserOption("person", "110000000000000102"), fakediscord.StringOption("duration", "4h")), ""},
		{"no sub-command", "/incident", "", nil, "/incident needs one of: new, ack"},
		{"an unknown person", "/incident assign mallory", "", nil, `"mallory" is not a valid demo person`},
		{"a missing required option", "/oncall override bob", "", nil, "needs duration"},
		{"words left over", "/incident status 3 please", "", nil, `"please" is not an option it takes`},
		{"not a command", "ack it", "", nil, "type a slash command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, opts, err := parseSlashCommand(tc.text, cmds, person)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%q: error %v, want %q", tc.text, err, tc.wantErr)
				}
				return
			}
			gotJSON, _ := json.Marshal(opts)
			wantJSON, _ := json.Marshal(tc.want)
			if err != nil || name != tc.wantCmd || string(gotJSON) != string(wantJSON) {
				t.Fatalf("%q: %q %s %v, want %q %s", tc.text, name, gotJSON, err, tc.wantCmd, wantJSON)
			}
		})
	}
}
