package fakediscord

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// registered starts a fake with /incident registered and a session open.
func registered(t *testing.T, opts ...Option) (*Server, *discordgo.Session, *events, User, Channel) {
	t.Helper()
	s := StartTest(t, opts...)
	dana := s.AddUser(User{Username: "dana"})
	ch := s.AddChannel(Channel{Name: "inc-1-db"})
	dg, ev := openSession(t, s)
	_, err := dg.ApplicationCommandBulkOverwrite(s.AppID(), s.GuildID(), []*discordgo.ApplicationCommand{{
		Name: "incident", Description: "Incidents", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "resolve", Description: "Resolve",
				Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionInteger, Name: "incident", Description: "Number"}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, dg, ev, dana, ch
}

// received waits for the interaction to reach discordgo's handler.
func received(t *testing.T, ev *events, id string) *discordgo.InteractionCreate {
	t.Helper()
	var got *discordgo.InteractionCreate
	eventually(t, "interaction "+id, func() bool {
		ints, _ := ev.snapshot()
		for _, i := range ints {
			if i.ID == id {
				got = i
			}
		}
		return got != nil
	})
	return got
}

func TestSlashCommandDeferredThenFollowup(t *testing.T) {
	s, dg, ev, dana, ch := registered(t)
	in, err := s.SlashCommand(dana.ID, ch.ID, "incident", SubCommand("resolve", IntOption("incident", 12)))
	if err != nil {
		t.Fatal(err)
	}
	ic := received(t, ev, in.ID)
	data := ic.ApplicationCommandData()
	if data.Name != "incident" || len(data.Options) != 1 || data.Options[0].Name != "resolve" ||
		data.Options[0].Options[0].IntValue() != 12 || ic.Member == nil || ic.Member.User.ID != dana.ID {
		t.Fatalf("interaction as decoded: %+v", ic.Interaction)
	}
	if err := dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatalf("defer: %v", err)
	}
	m, err := dg.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{Content: "INC-12 resolved by <@" + dana.ID + ">",
		AllowedMentions: &discordgo.MessageAllowedMentions{}})
	if err != nil || m == nil {
		t.Fatalf("follow-up: %v", err)
	}
	got, _ := s.Interaction(in.ID)
	if !got.Responded || got.ResponseType != CallbackDeferredMessage || got.Original != m.ID || got.RespondedIn > 3*time.Second {
		t.Fatalf("interaction %+v", got)
	}
	if msgs := s.Messages(ch.ID); len(msgs) != 1 || msgs[0].Interaction != in.ID || len(msgs[0].MentionUsers) != 0 {
		t.Fatalf("channel %+v", msgs)
	}
	// Answering twice is refused, as Discord does.
	err = dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "again"}})
	if re := restErr(t, err); re.Message.Code != 40060 {
		t.Fatalf("second answer: %+v", re.Message)
	}
}

func TestLateCallbackIsUnknownInteraction(t *testing.T) {
	s, dg, ev, dana, ch := registered(t, WithInteractionDeadline(50*time.Millisecond))
	in, _ := s.SlashCommand(dana.ID, ch.ID, "incident")
	ic := received(t, ev, in.ID)
	eventually(t, "the deadline", func() bool { return time.Since(in.Created) > 60*time.Millisecond })
	err := dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	re := restErr(t, err)
	if re.Response.StatusCode != 404 || re.Message.Code != 10062 {
		t.Fatalf("late answer: %d %+v", re.Response.StatusCode, re.Message)
	}
	got, _ := s.Interaction(in.ID)
	if got.Responded || got.Late != 1 {
		t.Fatalf("interaction %+v", got)
	}
	// No follow-up without an answer.
	_, err = dg.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{Content: "x"})
	if restErr(t, err).Message.Code != 10015 {
		t.Fatalf("follow-up without an answer: %v", err)
	}
}

func TestEphemeralReplyIsNotInHistory(t *testing.T) {
	s, dg, ev, dana, ch := registered(t)
	in, _ := s.SlashCommand(dana.ID, ch.ID, "incident")
	ic := received(t, ev, in.ID)
	err := dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "usage: /incident resolve", Flags: discordgo.MessageFlagsEphemeral}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages(ch.ID)
	if len(msgs) != 1 || msgs[0].EphemeralTo != dana.ID {
		t.Fatalf("messages %+v", msgs)
	}
	hist, err := dg.ChannelMessages(ch.ID, 50, "", "", "")
	if err != nil || len(hist) != 0 {
		t.Fatalf("history shows an ephemeral reply: %v %v", hist, err)
	}
}

func TestButtonUpdatesItsMessage(t *testing.T) {
	s, dg, ev, dana, ch := registered(t)
	card, err := dg.ChannelMessageSendComplex(ch.ID, card("db down"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClickButton(dana.ID, ch.ID, card.ID, "nope"); !errors.Is(err, ErrNoButton) {
		t.Fatalf("a button the card lacks: %v", err)
	}
	in, err := s.ClickButton(dana.ID, ch.ID, card.ID, "ack:1")
	if err != nil {
		t.Fatal(err)
	}
	ic := received(t, ev, in.ID)
	if ic.Type != discordgo.InteractionMessageComponent || ic.MessageComponentData().CustomID != "ack:1" || ic.Message.ID != card.ID {
		t.Fatalf("button interaction %+v", ic.Interaction)
	}
	empty := []discordgo.MessageComponent{}
	err = dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "acknowledged", Components: empty}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(card.ID)
	if got.Content != "acknowledged" || len(got.Buttons()) != 0 || got.Edits != 1 || len(got.EmbedList()) != 0 {
		t.Fatalf("card after the update %+v", got)
	}
}

func TestSlashCommandMustBeRegistered(t *testing.T) {
	s := StartTest(t)
	dana := s.AddUser(User{Username: "dana"})
	ch := s.AddChannel(Channel{Name: "x"})
	if _, err := s.SlashCommand(dana.ID, ch.ID, "incident"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unregistered command: %v", err)
	}
}

func TestFollowupUploadsAFile(t *testing.T) {
	s, dg, ev, dana, ch := registered(t)
	in, _ := s.SlashCommand(dana.ID, ch.ID, "incident")
	ic := received(t, ev, in.ID)
	if err := dg.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\nfake")
	m, err := dg.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{Content: "stats",
		Files: []*discordgo.File{{Name: "stats.png", ContentType: "image/png", Reader: bytes.NewReader(png)}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(m.ID)
	if len(got.Files) != 1 || got.Files[0].Name != "stats.png" || !bytes.Equal(got.Files[0].Data, png) || len(m.Attachments) != 1 {
		t.Fatalf("files %+v, attachments %+v", got.Files, m.Attachments)
	}
}

// TestInjectionErrorsAreDiscords: what Discord itself would refuse, the
// injection methods refuse with Discord's JSON error (code and message),
// not a generic "unknown"; a DM is the recipient's alone (50001).
func TestInjectionErrorsAreDiscords(t *testing.T) {
	s, dg, _, dana, ch := registered(t)
	eve := s.AddUser(User{Username: "eve"})
	dm, err := dg.UserChannelCreate(dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := dg.ChannelMessageSendComplex(dm.ID, card("page"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dg.ChannelMessageSendComplex(ch.ID, card("card"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown channel", func() error { _, err := s.ClickButton(dana.ID, "1", msg.ID, "ack:1"); return err }, `{"code":10003,"message":"Unknown Channel"}`},
		{"unknown message", func() error { _, err := s.ClickButton(dana.ID, ch.ID, "1", "ack:1"); return err }, `{"code":10008,"message":"Unknown Message"}`},
		{"unknown user", func() error { return s.React("1", ch.ID, msg.ID, "✅") }, `{"code":10013,"message":"Unknown User"}`},
		{"unknown command", func() error { _, err := s.SlashCommand(dana.ID, ch.ID, "nope"); return err }, `{"code":10063,"message":"Unknown application command"}`},
		{"post in an unknown channel", func() error { _, err := s.Post(dana.ID, "1", "hi"); return err }, `{"code":10003,"message":"Unknown Channel"}`},
		{"press in another's DM", func() error { _, err := s.ClickButton(eve.ID, dm.ID, page.ID, "ack:1"); return err }, `{"code":50001,"message":"Missing Access"}`},
		{"react in another's DM", func() error { return s.React(eve.ID, dm.ID, page.ID, "✅") }, `{"code":50001,"message":"Missing Access"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *APIError
			if !errors.As(err, &ae) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Fatalf("got %v, want an *APIError ending %s", err, tc.want)
			}
			if unknown := ae.Code/1000 == 10; errors.Is(err, ErrUnknown) != unknown {
				t.Fatalf("errors.Is(%v, ErrUnknown) = %v", err, !unknown)
			}
		})
	}
	// The DM's recipient may press.
	if _, err := s.ClickButton(dana.ID, dm.ID, page.ID, "ack:1"); err != nil {
		t.Fatalf("the recipient's own press: %v", err)
	}
}
