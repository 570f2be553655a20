package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/fakeslack"
)

// Person is someone in the demo: a baton person with an account in the
// sandbox's chat.
type Person struct {
	ID      string `json:"id"`       // baton's person id (people[].id)
	Name    string `json:"name"`     // display name
	Email   string `json:"email"`    // for users.lookupByEmail
	SlackID string `json:"slack_id"` // the Slack sandbox's user id (people[].slack)
	// DiscordID is the Discord sandbox's user id, a snowflake (people[].discord).
	DiscordID string `json:"discord_id,omitempty"`
	TZ        string `json:"tz,omitempty"`
}

// SandboxOptions configure StartSandbox.
type SandboxOptions struct {
	// Addr is where the sandbox (fake Slack and its page) listens;
	// "127.0.0.1:0" picks a free port.
	Addr string
	// People become Slack users; Channels (names, "#" optional) become
	// public channels the bot is in (the services' alerts channels).
	People   []Person
	Channels []string
	// BotToken and AppToken are the tokens the fake accepts; empty: its defaults.
	BotToken, AppToken string
	// Baton, when set, adds baton's own view (the incidents in Redis) to
	// the page, beside the Slack workspace. It is called at most once a
	// second per open page and must return something JSON can encode.
	Baton func(ctx context.Context) (any, error)
	// OnAction, when set, is told of every action taken on the page (after
	// the sandbox delivered it), for the terminal story.
	OnAction func(a Action)
	// Emails, when set, are the emails the demo's SMTP sink took, oldest
	// first: the page lists them beside baton's view.
	Emails func() []Email
}

// Email is one email the demo's SMTP sink took, as the page lists it.
type Email struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Body    string   `json:"body"`
}

// Sandbox is the fake Slack workspace of the demo plus the web page that
// shows it live and lets a visitor act as any demo person.
type Sandbox struct {
	// Fake is the fake Slack server; baton's bot talks to it through slack-go.
	Fake *fakeslack.Server

	o      SandboxOptions
	people map[string]Person // by Slack id
	life   pageLife
}

// StartSandbox starts the fake Slack on o.Addr, seeds it with the people and
// channels, and serves the page at "/" on the same port.
func StartSandbox(o SandboxOptions) (*Sandbox, error) {
	opts := []fakeslack.Option{fakeslack.WithAddr(o.Addr)}
	if o.BotToken != "" || o.AppToken != "" {
		opts = append(opts, fakeslack.WithTokens(o.BotToken, o.AppToken))
	}
	fake := fakeslack.New(opts...)
	sb := &Sandbox{Fake: fake, o: o, people: map[string]Person{}}
	sb.life.init()
	// People without a Slack id get one from the fake (baton finds them by
	// email, with users.lookupByEmail).
	people := make([]Person, len(o.People))
	for i, p := range o.People {
		u := fake.AddUser(fakeslack.User{ID: p.SlackID, Name: p.ID, RealName: p.Name, Email: p.Email, TZ: p.TZ})
		p.SlackID = u.ID
		people[i] = p
		sb.people[p.SlackID] = p
	}
	sb.o.People = people
	for _, c := range o.Channels {
		name := strings.TrimPrefix(c, "#")
		members := make([]string, 0, len(people))
		for _, p := range people {
			members = append(members, p.SlackID)
		}
		fake.AddChannel(fakeslack.Channel{Name: name, Members: members, Topic: "Alerts: one-line notices of new incidents"})
	}
	servePage(fake, &sb.life, pageHooks[fakeslack.Event]{info: slackPage, subscribe: fake.Subscribe,
		view: func(ctx context.Context) any { return sb.view(ctx) }, act: sb.Act,
		connected: func() bool { return fake.Connections() > 0 }})
	if err := fake.Start(); err != nil {
		sb.life.cancel()
		return nil, err
	}
	return sb, nil
}

// URL is the page's address, "http://127.0.0.1:N/".
func (s *Sandbox) URL() string { return s.Fake.URL() + "/" }

// Close ends every open page's event stream and stops the fake Slack.
func (s *Sandbox) Close() {
	s.life.cancel()
	s.Fake.Close()
	s.life.wg.Wait()
}

// People returns the demo people with their sandbox Slack ids.
func (s *Sandbox) People() []Person { return append([]Person(nil), s.o.People...) }

// Person returns the demo person with a Slack id.
func (s *Sandbox) Person(slackID string) (Person, bool) {
	p, ok := s.people[slackID]
	return p, ok
}

// View is what the page renders: the whole fake workspace, the demo people,
// whether a bot is connected, and baton's own view of the incidents.
type View struct {
	Workspace fakeslack.Workspace `json:"workspace"`
	People    []Person            `json:"people"`
	// BotConnected is the number of Socket Mode connections: 0 means
	// buttons, reactions and commands wait until a bot connects.
	BotConnected int    `json:"bot_connected"`
	Baton        any    `json:"baton,omitempty"`
	BatonError   string `json:"baton_error,omitempty"`
	// Emails are the emails the demo's SMTP sink took (null without one).
	Emails []Email `json:"emails"`
}

func (s *Sandbox) view(ctx context.Context) View {
	v := View{Workspace: s.Fake.State(), People: s.o.People, BotConnected: s.Fake.Connections()}
	if s.o.Emails != nil {
		v.Emails = s.o.Emails()
		if v.Emails == nil {
			v.Emails = []Email{}
		}
	}
	v.Baton, v.BatonError = batonView(ctx, s.o.Baton)
	return v
}

// slackPage is the page's header and help on Slack.
var slackPage = pageInfo{
	Chat: "slack", Title: "Slack sandbox", Sub: "Slack sandbox: a fake workspace on loopback",
	Help: `Everything below is live. Pick who you are, then press <b>Acknowledge</b> or <b>Resolve</b> on a card,
add a reaction (<span class="emo">✅</span> acknowledges), or type a slash command such as <code>/incident ack</code>,
<code>/incident stats</code> or <code>/oncall</code> under any channel. The terminal that runs <code>baton demo</code> tells the story.`,
}

// Action is one thing a visitor did on the page as a demo person, in the
// Slack sandbox or the Discord one.
type Action struct {
	// As is the chat user id of the person acting (Slack's, or Discord's
	// snowflake).
	As string `json:"as"`
	// Kind is "button", "reaction" or "command".
	Kind string `json:"kind"`
	// Channel is the channel id the action happens in.
	Channel string `json:"channel"`
	// TS is the message on Slack (buttons, reactions).
	TS string `json:"ts,omitempty"`
	// Message is the message's id on Discord (buttons, reactions).
	Message string `json:"message,omitempty"`
	// ActionID and Value name a Slack button; CustomID a Discord one.
	// Label is its text (for the story).
	ActionID string `json:"action_id,omitempty"`
	Value    string `json:"value,omitempty"`
	CustomID string `json:"custom_id,omitempty"`
	Label    string `json:"label,omitempty"`
	// Reaction is the emoji: Slack's name without colons, or Discord's
	// unicode emoji.
	Reaction string `json:"reaction,omitempty"`
	// Text is the command line typed, "/incident ack".
	Text string `json:"text,omitempty"`
	// Envelope is the Socket Mode envelope id (Slack) or the interaction
	// id (Discord) the fake delivered; set by the sandbox.
	Envelope string `json:"envelope,omitempty"`
}

// Act performs a on the fake Slack as the demo person a.As, exactly as the
// page's controls do, and returns the Socket Mode envelope id. Only demo
// people may act.
func (s *Sandbox) Act(a Action) (string, error) {
	if _, ok := s.people[a.As]; !ok {
		return "", fmt.Errorf("%q is not one of the demo people", a.As)
	}
	var env string
	var err error
	switch a.Kind {
	case "button":
		if a.TS == "" || a.ActionID == "" {
			return "", errors.New("a button needs ts and action_id")
		}
		env, err = s.Fake.SendBlockAction(a.As, a.Channel, a.TS, a.ActionID, a.Value)
	case "reaction":
		a.Reaction = strings.Trim(a.Reaction, ": ")
		if a.TS == "" || a.Reaction == "" {
			return "", errors.New("a reaction needs ts and reaction")
		}
		env, err = s.Fake.AddReaction(a.As, a.Channel, a.TS, a.Reaction)
	case "command":
		cmd, text, _ := strings.Cut(strings.TrimSpace(a.Text), " ")
		text = strings.TrimSpace(text)
		if !strings.HasPrefix(cmd, "/") || len(cmd) < 2 {
			return "", errors.New(`type a slash command such as "/incident ack" or "/oncall"`)
		}
		a.Text = strings.TrimSpace(cmd + " " + text)
		env, err = s.Fake.SendSlashCommand(a.As, a.Channel, cmd, text)
	default:
		return "", fmt.Errorf("unknown action kind %q (button, reaction or command)", a.Kind)
	}
	if err != nil {
		return "", err
	}
	a.Envelope = env
	if s.o.OnAction != nil {
		s.o.OnAction(a)
	}
	return env, nil
}

// Button finds the newest button with action_id actionID (and value, unless
// value is "") on a message in the DM of the demo person with baton id
// person, and returns the action that presses it as that person. ok is
// false when there is none (not posted yet, or redrawn without it).
func (s *Sandbox) Button(person, actionID, value string) (a Action, ok bool) {
	var slackID string
	for _, p := range s.o.People {
		if p.ID == person {
			slackID = p.SlackID
		}
	}
	im, found := s.Fake.IM(slackID)
	if slackID == "" || !found {
		return Action{}, false
	}
	msgs := s.Fake.Messages(im.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if len(m.Blocks) == 0 {
			continue
		}
		if val, label, found := ButtonIn(m.Blocks, actionID, value); found {
			return Action{As: slackID, Kind: "button", Channel: im.ID, TS: m.TS, ActionID: actionID, Value: val, Label: label}, true
		}
	}
	return Action{}, false
}

// Press presses Button(person, actionID, value), as the page would: false
// when there is no such button.
func (s *Sandbox) Press(person, actionID, value string) (bool, error) {
	a, ok := s.Button(person, actionID, value)
	if !ok {
		return false, nil
	}
	_, err := s.Act(a)
	return err == nil, err
}

// ButtonIn finds in a message's Block Kit JSON a button with actionID
// and, unless want is "", that value: its value and label.
func ButtonIn(blocks json.RawMessage, actionID, want string) (value, label string, ok bool) {
	var v any
	if len(blocks) == 0 || json.Unmarshal(blocks, &v) != nil {
		return "", "", false
	}
	b, ok := findButton(v, actionID, want)
	return b.value, b.label, ok
}

type foundButton struct{ value, label string }

// findButton walks Block Kit JSON for a button element with action_id and,
// unless value is "", that value.
func findButton(v any, actionID, value string) (foundButton, bool) {
	switch x := v.(type) {
	case map[string]any:
		if x["type"] == "button" && x["action_id"] == actionID {
			val, _ := x["value"].(string)
			if value == "" || val == value {
				label := ""
				if t, ok := x["text"].(map[string]any); ok {
					label, _ = t["text"].(string)
				}
				return foundButton{value: val, label: label}, true
			}
		}
		for _, e := range x {
			if b, ok := findButton(e, actionID, value); ok {
				return b, true
			}
		}
	case []any:
		for _, e := range x {
			if b, ok := findButton(e, actionID, value); ok {
				return b, true
			}
		}
	}
	return foundButton{}, false
}
