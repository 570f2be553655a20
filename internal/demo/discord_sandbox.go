package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/fakediscord"
)

// DiscordChannel is a guild text channel the Discord sandbox starts with: a
// service's discord_channel.
type DiscordChannel struct {
	// ID is the channel's snowflake; "" gets a fresh one (see Channels).
	ID string
	// Name is the channel's name ("#" optional).
	Name string
}

// DiscordSandboxOptions configure StartDiscordSandbox.
type DiscordSandboxOptions struct {
	// Addr is where the sandbox (fake Discord and its page) listens;
	// "127.0.0.1:0" picks a free port.
	Addr string
	// Token is the bot token the fake accepts; empty: its default.
	Token string
	// People become guild members (DiscordID their snowflake, "" gets
	// one); Channels become text channels (the services' discord_channel).
	People   []Person
	Channels []DiscordChannel
	// Category, when set, is the name of a category the sandbox makes for
	// the incident channels (discord.category_id).
	Category string
	// Baton, OnAction and Emails are as in SandboxOptions.
	Baton    func(ctx context.Context) (any, error)
	OnAction func(a Action)
	Emails   func() []Email
}

// DiscordSandbox is the fake Discord server of `baton demo --chat discord`
// plus the web page that shows it live (channels, embeds with buttons, DMs,
// reactions) and lets a visitor act as any demo person: a button press is
// a real interaction sent over the fake's gateway to baton, answered by
// baton's callback.
type DiscordSandbox struct {
	// Fake is the fake Discord; baton's bot talks to it through discordgo.
	Fake *fakediscord.Server

	o        DiscordSandboxOptions
	people   map[string]Person // by Discord id
	channels []DiscordChannel
	category string // the category's id, "" without one
	life     pageLife
}

// discordPage is the page's header and help on Discord.
var discordPage = pageInfo{
	Chat: "discord", Title: "Discord sandbox", Sub: "Discord sandbox: a fake server (guild) on loopback",
	Help: `Everything below is live. Pick who you are, then press <b>Acknowledge</b> or <b>Resolve</b> on a card
(an interaction baton answers), add a reaction (<span class="emo">✅</span> acknowledges), or type a slash command such as
<code>/incident ack</code>, <code>/incident stats</code> or <code>/oncall show</code> under a channel (options by position
or as <code>name:value</code>). The terminal that runs <code>baton demo</code> tells the story.`,
}

// StartDiscordSandbox starts the fake Discord on o.Addr, seeds it with the
// people, channels and category, and serves the page at "/" on the same port.
func StartDiscordSandbox(o DiscordSandboxOptions) (*DiscordSandbox, error) {
	opts := []fakediscord.Option{fakediscord.WithAddr(o.Addr)}
	if o.Token != "" {
		opts = append(opts, fakediscord.WithToken(o.Token))
	}
	fake := fakediscord.New(opts...)
	sb := &DiscordSandbox{Fake: fake, o: o, people: map[string]Person{}}
	sb.life.init()
	people := make([]Person, len(o.People))
	for i, p := range o.People {
		u := fake.AddUser(fakediscord.User{ID: p.DiscordID, Username: p.ID})
		p.DiscordID = u.ID
		people[i] = p
		sb.people[p.DiscordID] = p
	}
	sb.o.People = people
	for _, c := range o.Channels {
		got := fake.AddChannel(fakediscord.Channel{ID: c.ID, Name: strings.TrimPrefix(c.Name, "#"),
			Topic: "Alerts: notices of new incidents, and pages nobody could receive"})
		sb.channels = append(sb.channels, DiscordChannel{ID: got.ID, Name: got.Name})
	}
	if o.Category != "" {
		sb.category = fake.AddChannel(fakediscord.Channel{Name: o.Category, Type: fakediscord.ChannelCategory}).ID
	}
	servePage(fake, &sb.life, pageHooks[struct{}]{info: discordPage, subscribe: fake.Subscribe,
		view: func(ctx context.Context) any { return sb.view(ctx) }, act: sb.Act, connected: fake.Ready})
	if err := fake.Start(); err != nil {
		sb.life.cancel()
		return nil, err
	}
	return sb, nil
}

// URL is the page's address, "http://127.0.0.1:N/".
func (s *DiscordSandbox) URL() string { return s.Fake.URL() + "/" }

// Close ends every open page's event stream and stops the fake Discord.
func (s *DiscordSandbox) Close() {
	s.life.cancel()
	s.Fake.Close()
	s.life.wg.Wait()
}

// People returns the demo people with their sandbox Discord ids.
func (s *DiscordSandbox) People() []Person { return append([]Person(nil), s.o.People...) }

// Channels returns the channels the sandbox started with, ids filled in.
func (s *DiscordSandbox) Channels() []DiscordChannel {
	return append([]DiscordChannel(nil), s.channels...)
}

// CategoryID is the id of the incident channels' category, "" without one.
func (s *DiscordSandbox) CategoryID() string { return s.category }

// DiscordView is what the Discord page renders: the whole fake guild, the
// demo people, whether baton's gateway session is up, and baton's own view
// of the incidents.
type DiscordView struct {
	Guild  fakediscord.Guild `json:"guild"`
	People []Person          `json:"people"`
	// BotConnected is the number of gateway sessions: 0 means buttons,
	// reactions and commands reach nobody until baton connects.
	BotConnected int    `json:"bot_connected"`
	Baton        any    `json:"baton,omitempty"`
	BatonError   string `json:"baton_error,omitempty"`
	// Emails are the emails the demo's SMTP sink took (null without one).
	Emails []Email `json:"emails"`
}

func (s *DiscordSandbox) view(ctx context.Context) DiscordView {
	g := s.Fake.Snapshot()
	v := DiscordView{Guild: g, People: s.o.People, BotConnected: g.Connected}
	v.Baton, v.BatonError = batonView(ctx, s.o.Baton)
	if s.o.Emails != nil {
		v.Emails = s.o.Emails()
		if v.Emails == nil {
			v.Emails = []Email{}
		}
	}
	return v
}

// Button finds the newest button of baton's action (a bot.Action name:
// "ackpage") carrying value (unless value is "") on a message in the DM
// of the demo person with baton id person, and returns the action that
// presses it as that person. ok is false when there is none.
func (s *DiscordSandbox) Button(person, action, value string) (a Action, ok bool) {
	var userID string
	for _, p := range s.o.People {
		if p.ID == person {
			userID = p.DiscordID
		}
	}
	if userID == "" {
		return Action{}, false
	}
	g := s.Fake.Snapshot()
	prefix := "baton:" + action + ":" // bot/discord.CustomID
	for _, c := range g.Channels {
		if c.Type != fakediscord.ChannelDM || c.Recipient != userID {
			continue
		}
		msgs := g.Messages[c.ID]
		for i := len(msgs) - 1; i >= 0; i-- {
			var rows []struct {
				Components []struct {
					Type     int    `json:"type"`
					Label    string `json:"label"`
					CustomID string `json:"custom_id"`
				} `json:"components"`
			}
			_ = json.Unmarshal(msgs[i].Components, &rows)
			for _, r := range rows {
				for _, b := range r.Components {
					if v, found := strings.CutPrefix(b.CustomID, prefix); found && b.Type == 2 && (value == "" || v == value) {
						return Action{As: userID, Kind: "button", Channel: c.ID, Message: msgs[i].ID, CustomID: b.CustomID, Label: b.Label}, true
					}
				}
			}
		}
	}
	return Action{}, false
}

// Press presses Button(person, action, value) as the page would: false
// when there is no such button. It is the scenario's Press on Discord.
func (s *DiscordSandbox) Press(person, action, value string) (bool, error) {
	a, ok := s.Button(person, action, value)
	if !ok {
		return false, nil
	}
	_, err := s.Act(a)
	return err == nil, err
}

// person resolves what a visitor typed for a user option: a demo person's
// id or first name, "@alice", "<@snowflake>" or a snowflake.
func (s *DiscordSandbox) person(w string) (string, bool) {
	w = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(w, "<"), "@"), ">")
	w = strings.TrimPrefix(w, "!")
	if _, ok := s.people[w]; ok {
		return w, true
	}
	for id, p := range s.people {
		first, _, _ := strings.Cut(p.Name, " ")
		if strings.EqualFold(p.ID, w) || strings.EqualFold(first, w) || strings.EqualFold(p.Name, w) {
			return id, true
		}
	}
	return "", false
}

// Act performs a on the fake Discord as the demo person a.As (a Discord
// id), exactly as the page's controls do: a button press or a slash command
// is an interaction dispatched over the gateway (its id is returned), a
// reaction a MESSAGE_REACTION_ADD. Only demo people may act, and in a DM
// only its recipient: Discord shows a DM to nobody else.
func (s *DiscordSandbox) Act(a Action) (string, error) {
	if _, ok := s.people[a.As]; !ok {
		return "", fmt.Errorf("%q is not one of the demo people", a.As)
	}
	if owner, dm := s.dmRecipient(a.Channel); dm && owner != a.As {
		return "", fmt.Errorf("this is %s's DM: only they see it on Discord, so only they can act in it; pick %s as who you are",
			s.name(owner), s.name(owner))
	}
	var id string
	switch a.Kind {
	case "button":
		if a.Message == "" || a.CustomID == "" {
			return "", errors.New("a button needs message and custom_id")
		}
		in, err := s.Fake.ClickButton(a.As, a.Channel, a.Message, a.CustomID)
		if err != nil {
			return "", err
		}
		id = in.ID
	case "reaction":
		a.Reaction = strings.TrimSpace(a.Reaction)
		if a.Message == "" || a.Reaction == "" {
			return "", errors.New("a reaction needs message and reaction")
		}
		if err := s.Fake.React(a.As, a.Channel, a.Message, a.Reaction); err != nil {
			return "", err
		}
	case "command":
		name, opts, err := parseSlashCommand(a.Text, s.Fake.Commands(), s.person)
		if err != nil {
			return "", err
		}
		in, err := s.Fake.SlashCommand(a.As, a.Channel, name, opts...)
		if err != nil {
			return "", err
		}
		a.Text = strings.Join(strings.Fields(a.Text), " ")
		id = in.ID
	default:
		return "", fmt.Errorf("unknown action kind %q (button, reaction or command)", a.Kind)
	}
	a.Envelope = id
	if s.o.OnAction != nil {
		s.o.OnAction(a)
	}
	return id, nil
}

// dmRecipient is the user of a DM channel; dm is false for a guild channel.
func (s *DiscordSandbox) dmRecipient(channelID string) (string, bool) {
	for _, c := range s.Fake.Channels() {
		if c.ID == channelID && c.Type == fakediscord.ChannelDM {
			return c.Recipient, true
		}
	}
	return "", false
}

// name is a demo person's name by Discord id, or the id.
func (s *DiscordSandbox) name(id string) string {
	if p, ok := s.people[id]; ok {
		return p.ID
	}
	return id
}
