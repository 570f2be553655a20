package fakediscord

import (
	"encoding/json"
	"slices"
	"time"
)

// Channel types, as Discord numbers them.
const (
	ChannelText     = 0
	ChannelDM       = 1
	ChannelCategory = 4
)

// User is a Discord user the fake knows.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot,omitempty"`
}

// Channel is a guild channel (text or category) or a direct-message channel.
type Channel struct {
	ID       string `json:"id"`
	Type     int    `json:"type"`
	GuildID  string `json:"guild_id,omitempty"`
	Name     string `json:"name,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Topic    string `json:"topic,omitempty"`
	// Recipient is the person of a DM channel.
	Recipient string `json:"-"`
	// CreatedBy is the user who created it ("" for channels a test added).
	CreatedBy string    `json:"-"`
	Created   time.Time `json:"-"`
}

// Reaction is one emoji on a message and who put it there, in order.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Users []string `json:"users"`
}

// Message is a message as the fake holds it. Embeds and Components are kept
// as the JSON the client sent, and sent back as they were.
type Message struct {
	ID         string          `json:"id"`
	ChannelID  string          `json:"channel_id"`
	Author     string          `json:"author"`
	Content    string          `json:"content"`
	Embeds     json.RawMessage `json:"embeds,omitempty"`
	Components json.RawMessage `json:"components,omitempty"`
	// AllowedMentions is the allowed_mentions object as sent; nil when absent
	// (Discord then parses every mention in the content).
	AllowedMentions json.RawMessage `json:"allowed_mentions,omitempty"`
	// Mentions, MentionRoles and MentionEveryone are who the message
	// actually notifies: the <@id>, <@&id>, @everyone and @here in its
	// content that allowed_mentions lets through.
	MentionUsers    []string `json:"mention_users,omitempty"`
	MentionRoles    []string `json:"mention_roles,omitempty"`
	MentionEveryone bool     `json:"mention_everyone,omitempty"`
	Flags           int      `json:"flags,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	// Interaction is the id of the interaction whose response or follow-up
	// this message is; "" for a plain post.
	Interaction string `json:"interaction,omitempty"`
	// Ephemeral messages (flags 64) are shown to one user only: EphemeralTo.
	EphemeralTo string       `json:"ephemeral_to,omitempty"`
	Files       []File       `json:"files,omitempty"`
	Pinned      bool         `json:"pinned"`
	Reactions   []Reaction   `json:"reactions,omitempty"`
	Posted      time.Time    `json:"posted"`
	Edited      time.Time    `json:"edited"`
	Edits       int          `json:"edits"`
	embeds      []embedShape // decoded, for inspection
}

// File is an attachment uploaded with a message.
type File struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	Data        []byte `json:"-"`
}

// Embed is what an inspection needs of an embed: its title and description.
type Embed struct {
	Title       string
	Description string
}

// EmbedList decodes the message's embeds (title and description).
func (m Message) EmbedList() []Embed {
	out := make([]Embed, 0, len(m.embeds))
	for _, e := range m.embeds {
		out = append(out, Embed{Title: e.Title, Description: e.Description})
	}
	return out
}

// Buttons lists the custom_ids of the message's buttons, row by row.
func (m Message) Buttons() []string {
	var rows []componentShape
	_ = json.Unmarshal(m.Components, &rows)
	var out []string
	for _, r := range rows {
		for _, c := range r.Components {
			if c.Type == 2 {
				out = append(out, c.CustomID)
			}
		}
	}
	return out
}

// ReactedBy reports the users who reacted with emoji, in order.
func (m Message) ReactedBy(emoji string) []string {
	for _, r := range m.Reactions {
		if r.Emoji == emoji {
			return slices.Clone(r.Users)
		}
	}
	return nil
}

// Command is one application command registered for the guild, as sent.
type Command struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Raw  json.RawMessage `json:"raw"`
}

// Interaction is one interaction a test injected and what became of it.
type Interaction struct {
	ID        string          `json:"id"`
	Token     string          `json:"token"`
	Type      int             `json:"type"` // 2 application command, 3 message component
	User      string          `json:"user"`
	ChannelID string          `json:"channel_id"`
	MessageID string          `json:"message_id,omitempty"` // a component's message
	Data      json.RawMessage `json:"data"`
	Created   time.Time       `json:"created"` // real time: the deadline is real time

	// Responded is set by the first accepted callback.
	Responded    bool            `json:"responded"`
	ResponseType int             `json:"response_type,omitempty"`
	Response     json.RawMessage `json:"response,omitempty"` // the callback's data
	RespondedIn  time.Duration   `json:"responded_in,omitempty"`
	// Late counts callbacks refused because the deadline had passed,
	// Again those refused because it was already answered.
	Late  int `json:"late,omitempty"`
	Again int `json:"again,omitempty"`
	// Original is the message the response made (type 4, or the deferral's
	// edited original); "" until there is one.
	Original  string   `json:"original,omitempty"`
	Followups []string `json:"followups,omitempty"` // message ids
}

type state struct {
	users        map[string]*User
	members      map[string]bool
	channels     map[string]*Channel
	chanOrder    []string
	messages     map[string]*Message
	chanMsgs     map[string][]string // channel id → message ids, oldest first
	dms          map[string]string   // user id → DM channel id
	commands     []Command
	interactions map[string]*Interaction
	byToken      map[string]string // interaction token → id
	intOrder     []string
}

func (st *state) init() {
	st.users = map[string]*User{}
	st.members = map[string]bool{}
	st.channels = map[string]*Channel{}
	st.messages = map[string]*Message{}
	st.chanMsgs = map[string][]string{}
	st.dms = map[string]string{}
	st.interactions = map[string]*Interaction{}
	st.byToken = map[string]string{}
}

func (s *Server) addChannelLocked(c *Channel) *Channel {
	s.st.channels[c.ID] = c
	s.st.chanOrder = append(s.st.chanOrder, c.ID)
	return c
}

// AddUser adds a guild member; an empty ID gets a fresh snowflake.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.newID()
	}
	if u.Username == "" {
		u.Username = "user" + u.ID[len(u.ID)-4:]
	}
	s.st.users[u.ID] = &u
	s.st.members[u.ID] = true
	s.bump()
	return u
}

// AddChannel adds a guild channel as a person would (not the bot): a text
// channel unless Type says ChannelCategory. An empty ID gets a snowflake.
// A GuildID other than the guild's makes a channel of a server the bot is
// not in: it is read with 403 50001 Missing Access.
func (s *Server) AddChannel(c Channel) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.newID()
	}
	if c.GuildID == "" {
		c.GuildID = s.cfg.guildID
	}
	c.Created = s.now()
	s.addChannelLocked(&c)
	s.bump()
	return c
}

// Channels returns the guild's channels and every DM channel, in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.st.chanOrder))
	for _, id := range s.st.chanOrder {
		out = append(out, *s.st.channels[id])
	}
	return out
}

// ChannelsNamed returns the guild channels named name (Discord allows several).
func (s *Server) ChannelsNamed(name string) []Channel {
	var out []Channel
	for _, c := range s.Channels() {
		if c.Type != ChannelDM && c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// DMChannel returns the id of the DM channel with a user, "" when none was opened.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.dms[userID]
}

// Messages returns a channel's messages, oldest first (ephemeral ones included).
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.st.chanMsgs[channelID]
	out := make([]Message, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.st.messages[id].clone())
	}
	return out
}

// Message returns one message by id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.st.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// Pins returns the ids of a channel's pinned messages, oldest first.
func (s *Server) Pins(channelID string) []string {
	var out []string
	for _, m := range s.Messages(channelID) {
		if m.Pinned {
			out = append(out, m.ID)
		}
	}
	return out
}

// Commands returns the guild commands as last bulk-overwritten.
func (s *Server) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.commands)
}

// Interaction returns an injected interaction by id.
func (s *Server) Interaction(id string) (Interaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.st.interactions[id]
	if !ok {
		return Interaction{}, false
	}
	c := *in
	c.Followups = slices.Clone(in.Followups)
	return c, true
}

func (m *Message) clone() Message {
	c := *m
	c.MentionUsers = slices.Clone(m.MentionUsers)
	c.MentionRoles = slices.Clone(m.MentionRoles)
	c.Files = slices.Clone(m.Files)
	c.Reactions = make([]Reaction, len(m.Reactions))
	for i, r := range m.Reactions {
		c.Reactions[i] = Reaction{Emoji: r.Emoji, Users: slices.Clone(r.Users)}
	}
	if len(m.Reactions) == 0 {
		c.Reactions = nil
	}
	return c
}
