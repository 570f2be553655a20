package fakeslack

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// User is a workspace member.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	Email    string `json:"email,omitempty"`
	IsBot    bool   `json:"is_bot,omitempty"`
	TZ       string `json:"tz,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// Channel is a public or private channel, an IM (one user and the bot) or an
// MPIM. Pins holds the timestamps of pinned messages in pin order.
type Channel struct {
	ID         string    `json:"id"`
	Name       string    `json:"name,omitempty"`
	IsPrivate  bool      `json:"is_private,omitempty"`
	IsArchived bool      `json:"is_archived,omitempty"`
	IsIM       bool      `json:"is_im,omitempty"`
	IsMPIM     bool      `json:"is_mpim,omitempty"`
	User       string    `json:"user,omitempty"` // the other party of an IM
	Members    []string  `json:"members"`
	Pins       []string  `json:"pins"`
	Topic      string    `json:"topic,omitempty"`
	Creator    string    `json:"creator,omitempty"`
	Created    time.Time `json:"created"`
}

// HasMember reports whether userID is in the channel.
func (c Channel) HasMember(userID string) bool { return slices.Contains(c.Members, userID) }

// Message is one message in a channel. Replies carry the parent's ts in
// ThreadTS; a parent with replies carries its own ts there, as on Slack, plus
// ReplyCount and LatestReply. Blocks is the raw JSON array the poster sent,
// kept byte for byte.
type Message struct {
	Channel     string          `json:"channel"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts,omitempty"`
	User        string          `json:"user,omitempty"`
	BotID       string          `json:"bot_id,omitempty"`
	Text        string          `json:"text"`
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	Reactions   []Reaction      `json:"reactions,omitempty"`
	ReplyCount  int             `json:"reply_count,omitempty"`
	LatestReply string          `json:"latest_reply,omitempty"`
	EditedTS    string          `json:"edited_ts,omitempty"`
	Files       []string        `json:"files,omitempty"`
	Pinned      bool            `json:"pinned,omitempty"`
	// Metadata is the message metadata it was posted with, if any.
	Metadata *Metadata `json:"metadata,omitempty"`
}

// Metadata is a message's metadata as Slack takes it on chat.postMessage
// and returns it from conversations.history (with include_all_metadata).
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Reaction is one emoji on a message and who added it, in order.
type Reaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
}

// Ephemeral is a message only one user sees: from chat.postEphemeral, a
// response_url post or a slash command's ack payload (Source says which).
type Ephemeral struct {
	Channel string          `json:"channel"`
	User    string          `json:"user"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
	Blocks  json.RawMessage `json:"blocks,omitempty"`
	Source  string          `json:"source"`
}

// File is an uploaded file (files.getUploadURLExternal, the upload itself,
// files.completeUploadExternal). Content is kept; GET /files/{id} serves it.
type File struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Title    string   `json:"title,omitempty"`
	Size     int      `json:"size"`
	Content  []byte   `json:"-"`
	Uploaded bool     `json:"uploaded"`
	Channels []string `json:"channels,omitempty"`
	URL      string   `json:"url,omitempty"`
}

// Workspace is a deep copy of the whole state, for the demo page and for
// tests that want to look at everything at once. Channels are sorted by
// creation order; Messages maps a channel id to its messages in ts order.
type Workspace struct {
	TeamID     string               `json:"team_id"`
	BotUserID  string               `json:"bot_user_id"`
	Users      []User               `json:"users"`
	Channels   []Channel            `json:"channels"`
	Messages   map[string][]Message `json:"messages"`
	Ephemerals []Ephemeral          `json:"ephemerals"`
	Files      []File               `json:"files"`
}

// workspace is the mutable state; every access holds Server.mu.
type workspace struct {
	users      []*User
	usersByID  map[string]*User
	channels   []*channelState
	chanByID   map[string]*channelState
	ephemerals []Ephemeral
	files      map[string]*File
	fileOrder  []string
}

type channelState struct {
	Channel
	msgs         []*Message
	byTS         map[string]*Message
	topicCreator string
	topicSet     time.Time
}

func (w *workspace) init() {
	w.usersByID = map[string]*User{}
	w.chanByID = map[string]*channelState{}
	w.files = map[string]*File{}
}

func (w *workspace) idTaken(id string) bool {
	_, u := w.usersByID[id]
	_, c := w.chanByID[id]
	_, f := w.files[id]
	return u || c || f
}

func (w *workspace) addUser(u *User) {
	w.users = append(w.users, u)
	w.usersByID[u.ID] = u
}

func (w *workspace) userByEmail(email string) *User {
	for _, u := range w.users {
		if u.Email != "" && strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

func (w *workspace) addChannel(c *channelState) {
	c.byTS = map[string]*Message{}
	w.channels = append(w.channels, c)
	w.chanByID[c.ID] = c
}

func (w *workspace) channelByName(name string) *channelState {
	for _, c := range w.channels {
		if c.Name == name && !c.IsIM && !c.IsMPIM {
			return c
		}
	}
	return nil
}

func (w *workspace) im(userID string) *channelState {
	for _, c := range w.channels {
		if c.IsIM && c.User == userID {
			return c
		}
	}
	return nil
}

func (c *channelState) addMessage(m *Message) {
	c.msgs = append(c.msgs, m)
	c.byTS[m.TS] = m
}

func (c *channelState) deleteMessage(ts string) {
	delete(c.byTS, ts)
	c.msgs = slices.DeleteFunc(c.msgs, func(m *Message) bool { return m.TS == ts })
	c.Pins = slices.DeleteFunc(c.Pins, func(p string) bool { return p == ts })
}

func copyChannel(c Channel) Channel {
	c.Members = slices.Clone(c.Members)
	c.Pins = slices.Clone(c.Pins)
	if c.Members == nil {
		c.Members = []string{}
	}
	if c.Pins == nil {
		c.Pins = []string{}
	}
	return c
}

func copyMessage(m *Message) Message {
	out := *m
	out.Blocks = slices.Clone(m.Blocks)
	out.Files = slices.Clone(m.Files)
	if m.Metadata != nil {
		md := Metadata{EventType: m.Metadata.EventType, EventPayload: maps.Clone(m.Metadata.EventPayload)}
		out.Metadata = &md
	}
	out.Reactions = make([]Reaction, len(m.Reactions))
	for i, r := range m.Reactions {
		out.Reactions[i] = Reaction{Name: r.Name, Users: slices.Clone(r.Users)}
	}
	if len(out.Reactions) == 0 {
		out.Reactions = nil
	}
	return out
}

// AddUser adds a workspace member and returns it with its id filled in
// (U… when u.ID is empty). Name is required; RealName defaults to Name. It
// panics on a duplicate id, a seeding mistake.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.newID("U")
	}
	if u.RealName == "" {
		u.RealName = u.Name
	}
	if _, ok := s.ws.usersByID[u.ID]; ok {
		panic(fmt.Sprintf("fakeslack: AddUser: id %s already exists", u.ID))
	}
	nu := u
	s.ws.addUser(&nu)
	s.emit(Event{Kind: EventUserAdded, User: u.ID})
	return u
}

// AddChannel adds a channel and returns it with its id (C…, or D… for an IM
// and G… for an MPIM, when c.ID is empty) and creation time filled in. The
// bot is added to Members (and an IM's User too), since nearly every test
// wants the bot able to post; use RemoveMember to test not_in_channel. It
// panics on a duplicate id, a seeding mistake.
func (s *Server) AddChannel(c Channel) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		switch {
		case c.IsIM:
			c.ID = s.newID("D")
		case c.IsMPIM:
			c.ID = s.newID("G")
		default:
			c.ID = s.newID("C")
		}
	}
	if c.Created.IsZero() {
		c.Created = s.now()
	}
	c = copyChannel(c)
	for _, m := range []string{s.cfg.botUserID, c.User} {
		if m != "" && !c.HasMember(m) {
			c.Members = append(c.Members, m)
		}
	}
	if _, ok := s.ws.chanByID[c.ID]; ok {
		panic(fmt.Sprintf("fakeslack: AddChannel: id %s already exists", c.ID))
	}
	s.ws.addChannel(&channelState{Channel: c})
	s.emit(Event{Kind: EventChannelCreated, Channel: c.ID, Detail: c.Name})
	return copyChannel(c)
}

// RemoveMember takes userID out of a channel's members (the bot too); it
// reports whether the user was a member.
func (s *Server) RemoveMember(channelID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ws.chanByID[channelID]
	if !ok || !c.HasMember(userID) {
		return false
	}
	c.Members = slices.DeleteFunc(c.Members, func(m string) bool { return m == userID })
	s.emit(Event{Kind: EventMembersChanged, Channel: channelID, User: userID})
	return true
}

// User returns the user with the given id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.ws.usersByID[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns every user, the bot first, in the order they were added.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.ws.users))
	for i, u := range s.ws.users {
		out[i] = *u
	}
	return out
}

// Channel returns a channel by id, or by name when the argument starts with
// "#" ("#inc-42-db-down").
func (s *Server) Channel(idOrName string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupChannel(idOrName)
	if c == nil {
		return Channel{}, false
	}
	return copyChannel(c.Channel), true
}

// Channels returns every channel, IM and MPIM in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, len(s.ws.channels))
	for i, c := range s.ws.channels {
		out[i] = copyChannel(c.Channel)
	}
	return out
}

// IM returns the IM channel between the bot and userID, if one was opened.
func (s *Server) IM(userID string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ws.im(userID)
	if c == nil {
		return Channel{}, false
	}
	return copyChannel(c.Channel), true
}

// Messages returns every message in a channel (by id or "#name"), replies
// included, in ts order. Messages deleted with chat.delete are gone.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupChannel(channel)
	if c == nil {
		return nil
	}
	out := make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = copyMessage(m)
	}
	return out
}

// Message returns one message by channel (id or "#name") and ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupChannel(channel)
	if c == nil {
		return Message{}, false
	}
	m, ok := c.byTS[ts]
	if !ok {
		return Message{}, false
	}
	return copyMessage(m), true
}

// Replies returns the replies in the thread started by threadTS, oldest first.
func (s *Server) Replies(channel, threadTS string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == threadTS && m.TS != threadTS {
			out = append(out, m)
		}
	}
	return out
}

// Ephemerals returns every ephemeral message shown to userID ("" for all users).
func (s *Server) Ephemerals(userID string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ws.ephemerals {
		if userID == "" || e.User == userID {
			e.Blocks = slices.Clone(e.Blocks)
			out = append(out, e)
		}
	}
	return out
}

// File returns an uploaded file by id, content included.
func (s *Server) File(id string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.ws.files[id]
	if !ok {
		return File{}, false
	}
	out := *f
	out.Content = slices.Clone(f.Content)
	out.Channels = slices.Clone(f.Channels)
	return out, true
}

// State returns a deep copy of the whole workspace. It is what the demo page
// renders; Subscribe tells it when to ask again.
func (s *Server) State() Workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := Workspace{
		TeamID:    s.cfg.teamID,
		BotUserID: s.cfg.botUserID,
		Messages:  map[string][]Message{},
	}
	for _, u := range s.ws.users {
		w.Users = append(w.Users, *u)
	}
	for _, c := range s.ws.channels {
		w.Channels = append(w.Channels, copyChannel(c.Channel))
		msgs := make([]Message, len(c.msgs))
		for i, m := range c.msgs {
			msgs[i] = copyMessage(m)
		}
		w.Messages[c.ID] = msgs
	}
	for _, e := range s.ws.ephemerals {
		e.Blocks = slices.Clone(e.Blocks)
		w.Ephemerals = append(w.Ephemerals, e)
	}
	for _, id := range s.ws.fileOrder {
		f := *s.ws.files[id]
		f.Content = nil
		f.Channels = slices.Clone(f.Channels)
		w.Files = append(w.Files, f)
	}
	return w
}

// lookupChannel resolves a channel argument as Slack does for chat methods:
// an id (C…, G…, D…), "#name", or a bare name. Callers hold s.mu.
func (s *Server) lookupChannel(arg string) *channelState {
	if arg == "" {
		return nil
	}
	if c, ok := s.ws.chanByID[arg]; ok {
		return c
	}
	return s.ws.channelByName(strings.TrimPrefix(arg, "#"))
}
