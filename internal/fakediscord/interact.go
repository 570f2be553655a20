package fakediscord

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Interaction types and callback types, as Discord numbers them.
const (
	InteractionCommand   = 2
	InteractionComponent = 3

	CallbackMessage         = 4 // CHANNEL_MESSAGE_WITH_SOURCE
	CallbackDeferredMessage = 5 // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
	CallbackDeferredUpdate  = 6 // DEFERRED_UPDATE_MESSAGE (components)
	CallbackUpdateMessage   = 7 // UPDATE_MESSAGE (components)
)

// followupWindow is how long an interaction token takes follow-ups.
const followupWindow = 15 * time.Minute

// CommandOption is a slash command's option as Discord delivers it: a value, or,
// for a sub-command (Type 1), options of its own.
type CommandOption struct {
	Name    string          `json:"name"`
	Type    int             `json:"type"`
	Value   any             `json:"value,omitempty"`
	Options []CommandOption `json:"options,omitempty"`
}

// SubCommand is a sub-command option (type 1) with its options.
func SubCommand(name string, opts ...CommandOption) CommandOption {
	return CommandOption{Name: name, Type: 1, Options: opts}
}

// StringOption is a string option (type 3).
func StringOption(name, v string) CommandOption { return CommandOption{Name: name, Type: 3, Value: v} }

// IntOption is an integer option (type 4).
func IntOption(name string, v int) CommandOption { return CommandOption{Name: name, Type: 4, Value: v} }

// BoolOption is a boolean option (type 5). Pass true only: the value is
// omitted when empty, so false would arrive as no value (leave the option
// out instead, as Discord's client does for an unset option).
func BoolOption(name string, v bool) CommandOption {
	return CommandOption{Name: name, Type: 5, Value: v}
}

// UserOption is a user option (type 6): a user id.
func UserOption(name, userID string) CommandOption {
	return CommandOption{Name: name, Type: 6, Value: userID}
}

// ErrUnknown matches (errors.Is) every *APIError of Discord's "Unknown …"
// family (codes 10001-10999): the injection methods' answer when a user,
// channel, message or command does not exist.
var ErrUnknown = errors.New("fakediscord: unknown")

// ErrNoButton is returned (wrapped) by ClickButton for a button the message
// does not have: no Discord client can press it, so Discord has no error
// code for it.
var ErrNoButton = errors.New("fakediscord: the message has no such button")

// APIError is Discord's JSON error, {"code":N,"message":"…"}, as the
// injection methods (SlashCommand, ClickButton, React, Post) return it for
// what Discord itself would refuse: 10003 Unknown Channel, 10008 Unknown
// Message, 10013 Unknown User, 10063 Unknown application command, 50001
// Missing Access (a DM that is not the user's).
type APIError struct {
	// Status is the HTTP status Discord answers with (404, 403).
	Status int `json:"-"`
	// Code and Message are Discord's error code and message.
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error is the JSON error as Discord sends it.
func (e *APIError) Error() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// Is makes every Unknown-family error match ErrUnknown.
func (e *APIError) Is(target error) bool {
	return target == ErrUnknown && e.Code > 10000 && e.Code < 11000
}

// apiErr turns a route's error into the exported APIError.
func apiErr(e *apiError) *APIError {
	return &APIError{Status: e.status, Code: e.code, Message: e.message}
}

// unknownUser is Discord's 10013.
func unknownUser() *APIError { return apiErr(errNotFound(10013, "User")) }

// missingAccess is Discord's 50001: userID may not act in c, a DM that is
// another user's (Discord shows a DM to its recipient alone).
func (s *Server) missingAccess(userID string, c *Channel) *APIError {
	if c.Type == ChannelDM && c.Recipient != userID {
		return apiErr(errForbidden(50001, "Missing Access"))
	}
	return nil
}

// SlashCommand makes userID run the registered command name in a channel
// and dispatches INTERACTION_CREATE (type 2). It refuses a command that is
// not registered: Discord would not offer it.
func (s *Server) SlashCommand(userID, channelID, name string, opts ...CommandOption) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cmd *Command
	for i := range s.st.commands {
		if s.st.commands[i].Name == name {
			cmd = &s.st.commands[i]
		}
	}
	if cmd == nil {
		return Interaction{}, fmt.Errorf("command %q: %w", name, apiErr(errNotFound(10063, "application command")))
	}
	if opts == nil {
		opts = []CommandOption{}
	}
	data, _ := json.Marshal(map[string]any{"id": cmd.ID, "name": name, "type": 1, "options": opts,
		"guild_id": s.cfg.guildID})
	return s.interact(InteractionCommand, userID, channelID, "", data)
}

// ClickButton makes userID press the button customID on a message and
// dispatches INTERACTION_CREATE (type 3). It refuses a button the message
// does not have.
func (s *Server) ClickButton(userID, channelID, messageID, customID string) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.channel(channelID)
	if aerr != nil {
		return Interaction{}, fmt.Errorf("channel %s: %w", channelID, apiErr(aerr))
	}
	if err := s.missingAccess(userID, c); err != nil {
		return Interaction{}, fmt.Errorf("%s presses in the DM of %s: %w", userID, c.Recipient, err)
	}
	m, aerr := s.message(channelID, messageID)
	if aerr != nil {
		return Interaction{}, fmt.Errorf("message %s in %s: %w", messageID, channelID, apiErr(aerr))
	}
	found := false
	for _, id := range m.Buttons() {
		found = found || id == customID
	}
	if !found {
		return Interaction{}, fmt.Errorf("button %q on message %s: %w", customID, messageID, ErrNoButton)
	}
	data, _ := json.Marshal(map[string]any{"custom_id": customID, "component_type": 2})
	return s.interact(InteractionComponent, userID, channelID, messageID, data)
}

// interact records and dispatches an interaction. Callers hold s.mu.
func (s *Server) interact(typ int, userID, channelID, messageID string, data json.RawMessage) (Interaction, error) {
	u := s.st.users[userID]
	if u == nil {
		return Interaction{}, fmt.Errorf("user %s: %w", userID, unknownUser())
	}
	c, aerr := s.channel(channelID)
	if aerr != nil {
		return Interaction{}, fmt.Errorf("channel %s: %w", channelID, apiErr(aerr))
	}
	if err := s.missingAccess(userID, c); err != nil {
		return Interaction{}, fmt.Errorf("%s acts in the DM of %s: %w", userID, c.Recipient, err)
	}
	in := &Interaction{ID: s.newID(), Token: "aW50ZXJhY3Rpb24" + randomToken(), Type: typ, User: userID,
		ChannelID: channelID, MessageID: messageID, Data: data, Created: time.Now()}
	s.st.interactions[in.ID] = in
	s.st.byToken[in.Token] = in.ID
	s.st.intOrder = append(s.st.intOrder, in.ID)
	ev := map[string]any{"id": in.ID, "application_id": s.cfg.appID, "type": typ, "token": in.Token, "version": 1,
		"channel_id": channelID, "channel": s.channelJSON(c), "data": data, "locale": "en-US",
		"app_permissions": "2248473465835073"}
	if c.GuildID != "" {
		ev["guild_id"] = c.GuildID
		ev["member"] = map[string]any{"user": s.userJSON(userID), "roles": []string{}, "permissions": "2248473465835073"}
	} else {
		ev["user"] = s.userJSON(userID)
	}
	if messageID != "" {
		ev["message"] = s.messageJSON(s.st.messages[messageID])
	}
	s.dispatch("INTERACTION_CREATE", 0, ev)
	return *in, nil
}

// React adds userID's reaction to a message, as a person does in the
// client, and dispatches MESSAGE_REACTION_ADD. A reaction the user already
// put there changes nothing and dispatches nothing.
func (s *Server) React(userID, channelID, messageID, emoji string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[userID] == nil {
		return fmt.Errorf("user %s: %w", userID, unknownUser())
	}
	c, aerr := s.channel(channelID)
	if aerr != nil {
		return fmt.Errorf("channel %s: %w", channelID, apiErr(aerr))
	}
	if err := s.missingAccess(userID, c); err != nil {
		return fmt.Errorf("%s reacts in the DM of %s: %w", userID, c.Recipient, err)
	}
	m, aerr := s.message(channelID, messageID)
	if aerr != nil {
		return fmt.Errorf("message %s in %s: %w", messageID, channelID, apiErr(aerr))
	}
	s.react(m, userID, emoji)
	s.bump()
	return nil
}

// Post posts a message as a person (userID) in a channel, e.g. a stranger's
// "@everyone" to see what the bot does with it. It dispatches MESSAGE_CREATE.
func (s *Server) Post(userID, channelID, content string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[userID] == nil {
		return Message{}, fmt.Errorf("user %s: %w", userID, unknownUser())
	}
	c, aerr := s.channel(channelID)
	if aerr != nil {
		return Message{}, fmt.Errorf("channel %s: %w", channelID, apiErr(aerr))
	}
	if err := s.missingAccess(userID, c); err != nil {
		return Message{}, fmt.Errorf("%s posts in the DM of %s: %w", userID, c.Recipient, err)
	}
	m, aerr := s.createMessage(c, userID, &messagePayload{Content: &content}, nil, "", "")
	if aerr != nil {
		return Message{}, fmt.Errorf("post: %s", aerr.message)
	}
	s.bump()
	return m.clone(), nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// interaction finds an interaction by id and token. Callers hold s.mu.
func (s *Server) interaction(id, token string) *Interaction {
	in := s.st.interactions[id]
	if in == nil || in.Token != token {
		return nil
	}
	return in
}

func (s *Server) callback(q *request) reply {
	in := s.interaction(q.param("id"), q.param("token"))
	if in == nil {
		return failReply(errNotFound(10062, "interaction"))
	}
	if in.Responded {
		in.Again++
		return failReply(errBadRequest(40060, "Interaction has already been acknowledged."))
	}
	if time.Since(in.Created) > s.cfg.ackWindow {
		in.Late++
		return failReply(errNotFound(10062, "interaction"))
	}
	var body struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := q.decode(&body); err != nil {
		return failReply(err)
	}
	c := s.st.channels[in.ChannelID]
	switch body.Type {
	case CallbackMessage:
		var p messagePayload
		if !isNull(body.Data) {
			if err := json.Unmarshal(body.Data, &p); err != nil {
				return failReply(errBadRequest(50109, "The request body contains invalid JSON."))
			}
		}
		if err := checkResponseFlags(p.Flags); err != nil {
			return failReply(err)
		}
		m, err := s.createMessage(c, s.cfg.botID, &p, q.files, in.ID, ephemeralTo(p.Flags, in.User))
		if err != nil {
			return failReply(err)
		}
		in.Original = m.ID
	case CallbackDeferredMessage:
	case CallbackDeferredUpdate, CallbackUpdateMessage:
		if in.Type != InteractionComponent {
			return failReply(errBadRequest(40004, "Interaction response type is not valid for this interaction"))
		}
		in.Original = in.MessageID
		if body.Type == CallbackUpdateMessage {
			var p messagePayload
			_ = json.Unmarshal(body.Data, &p)
			if err := s.applyEdit(s.st.messages[in.MessageID], &p, body.Data); err != nil {
				return failReply(err)
			}
		}
	default:
		fe := formErrors{}
		fe.add("type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.")
		return failReply(fe.err())
	}
	in.Responded, in.ResponseType, in.RespondedIn = true, body.Type, time.Since(in.Created)
	in.Response = cloneRaw(body.Data)
	return noContent()
}

func checkResponseFlags(flags int) *apiError {
	if flags&^(flagEphemeral|flagSuppressEmbeds|flagSuppressNotifications) != 0 {
		fe := formErrors{}
		fe.add("data.flags", "MESSAGE_FLAGS_INVALID", "Invalid flags")
		return fe.err()
	}
	return nil
}

func ephemeralTo(flags int, user string) string {
	if flags&flagEphemeral != 0 {
		return user
	}
	return ""
}

// webhookInteraction finds the interaction behind a follow-up webhook: the
// application's id and a token answered less than 15 minutes ago.
func (s *Server) webhookInteraction(q *request) (*Interaction, *apiError) {
	if q.param("app") != s.cfg.appID {
		return nil, errNotFound(10015, "Webhook")
	}
	id := s.st.byToken[q.param("token")]
	in := s.st.interactions[id]
	if in == nil || time.Since(in.Created) > followupWindow {
		return nil, errNotFound(10015, "Webhook")
	}
	if !in.Responded {
		return nil, errNotFound(10015, "Webhook")
	}
	return in, nil
}

func (s *Server) followup(q *request) reply {
	in, err := s.webhookInteraction(q)
	if err != nil {
		return failReply(err)
	}
	var p messagePayload
	if err := q.decode(&p); err != nil {
		return failReply(err)
	}
	if err := checkResponseFlags(p.Flags); err != nil {
		return failReply(err)
	}
	c := s.st.channels[in.ChannelID]
	var m *Message
	if in.ResponseType == CallbackDeferredMessage && in.Original == "" {
		// The first follow-up after a deferral is the deferred response
		// itself (Discord: it acts as an edit of the original), ephemeral
		// when the deferral was.
		m, err = s.createMessage(c, s.cfg.botID, &p, q.files, in.ID, ephemeralTo(in.deferredFlags(), in.User))
		if err == nil {
			in.Original = m.ID
		}
	} else {
		m, err = s.createMessage(c, s.cfg.botID, &p, q.files, in.ID, ephemeralTo(p.Flags, in.User))
		if err == nil {
			in.Followups = append(in.Followups, m.ID)
		}
	}
	if err != nil {
		return failReply(err)
	}
	if q.r.URL.Query().Get("wait") != "true" {
		return noContent()
	}
	return okReply(s.messageJSON(m))
}

func (s *Server) webhookEdit(q *request) reply {
	in, err := s.webhookInteraction(q)
	if err != nil {
		return failReply(err)
	}
	var p messagePayload
	if err := q.decode(&p); err != nil {
		return failReply(err)
	}
	id := q.param("message")
	if id == "@original" {
		if in.Original == "" && in.ResponseType == CallbackDeferredMessage {
			// Editing the original of a deferral posts the response.
			m, err := s.createMessage(s.st.channels[in.ChannelID], s.cfg.botID, &p, q.files, in.ID, ephemeralTo(in.deferredFlags(), in.User))
			if err != nil {
				return failReply(err)
			}
			in.Original = m.ID
			return okReply(s.messageJSON(m))
		}
		id = in.Original
	}
	m := s.st.messages[id]
	if m == nil || (id != in.Original && !containsID(in.Followups, id)) {
		return failReply(errNotFound(10008, "Message"))
	}
	if err := s.applyEdit(m, &p, q.body); err != nil {
		return failReply(err)
	}
	return okReply(s.messageJSON(m))
}

// deferredFlags are the flags of a type 5 deferral's data: an ephemeral
// deferral makes an ephemeral response.
func (in *Interaction) deferredFlags() int {
	var d struct {
		Flags int `json:"flags"`
	}
	_ = json.Unmarshal(in.Response, &d)
	return d.Flags
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
