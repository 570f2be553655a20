package fakediscord

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() {
	s.route(RouteGateway, false, (*Server).getGateway)
	s.route(RouteGatewayBot, true, (*Server).getGateway)
	s.route(RouteMe, true, (*Server).getMe)
	s.route(RouteCommandsPut, true, (*Server).putCommands)
	s.route(RouteCommandsGet, true, (*Server).getCommands)
	s.route(RouteGuildGet, true, (*Server).getGuild)
	s.route(RouteGuildChannels, true, (*Server).getGuildChannels)
	s.route(RouteChannelCreate, true, (*Server).createChannel)
	s.route(RouteChannelGet, true, (*Server).getChannel)
	s.route(RouteMessages, true, (*Server).getMessages)
	s.route(RouteMessageGet, true, (*Server).getMessage)
	s.route(RouteMessagePost, true, (*Server).postMessage)
	s.route(RouteMessageEdit, true, (*Server).editMessage)
	s.route(RoutePin, true, (*Server).pin)
	s.route(RoutePins, true, (*Server).getPins)
	s.route(RouteReactionAdd, true, (*Server).addOwnReaction)
	s.route(RouteDMOpen, true, (*Server).openDM)
	s.route(RouteUserGet, true, (*Server).getUser)
	s.route(RouteCallback, false, (*Server).callback)
	s.route(RouteFollowup, false, (*Server).followup)
	s.route(RouteWebhookEdit, false, (*Server).webhookEdit)
	s.mux.HandleFunc("/api/", s.notFound)
}

// ---- JSON shapes discordgo decodes ----

func (s *Server) userJSON(id string) map[string]any {
	u := s.st.users[id]
	if u == nil {
		return map[string]any{"id": id, "username": "unknown"}
	}
	return map[string]any{"id": u.ID, "username": u.Username, "bot": u.Bot, "discriminator": "0"}
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	m := map[string]any{"id": c.ID, "type": c.Type}
	if c.Type == ChannelDM {
		m["recipients"] = []any{s.userJSON(c.Recipient)}
		return m
	}
	m["guild_id"] = c.GuildID
	m["name"] = c.Name
	if c.ParentID != "" {
		m["parent_id"] = c.ParentID
	}
	if c.Topic != "" {
		m["topic"] = c.Topic
	}
	return m
}

func rawOr(raw json.RawMessage, empty string) json.RawMessage {
	if isNull(raw) {
		return json.RawMessage(empty)
	}
	return raw
}

func (s *Server) messageJSON(m *Message) map[string]any {
	mentioned := []any{}
	for _, id := range m.MentionUsers {
		mentioned = append(mentioned, s.userJSON(id))
	}
	atts := []any{}
	for i, f := range m.Files {
		atts = append(atts, map[string]any{"id": m.ID + strconv.Itoa(i), "filename": f.Name, "size": f.Size,
			"content_type": f.ContentType, "url": s.url + "/attachments/" + m.ID + "/" + f.Name})
	}
	reactions := []any{}
	for _, r := range m.Reactions {
		reactions = append(reactions, map[string]any{"count": len(r.Users), "me": slices.Contains(r.Users, s.cfg.botID),
			"emoji": emojiJSON(r.Emoji)})
	}
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "author": s.userJSON(m.Author), "content": m.Content,
		"timestamp": m.Posted.UTC().Format(time.RFC3339Nano), "edited_timestamp": nil, "tts": false,
		"mention_everyone": m.MentionEveryone, "mentions": mentioned, "mention_roles": nonNil(m.MentionRoles),
		"attachments": atts, "embeds": rawOr(m.Embeds, "[]"), "components": rawOr(m.Components, "[]"),
		"pinned": m.Pinned, "type": 0, "flags": m.Flags, "reactions": reactions,
	}
	if c := s.st.channels[m.ChannelID]; c != nil && c.GuildID != "" {
		out["guild_id"] = c.GuildID
	}
	if !m.Edited.IsZero() {
		out["edited_timestamp"] = m.Edited.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// createdJSON is messageJSON with the nonce: Discord returns a message's
// nonce only in the create call's answer and its MESSAGE_CREATE, not when
// the message is read later.
func (s *Server) createdJSON(m *Message) map[string]any {
	out := s.messageJSON(m)
	if m.Nonce != "" {
		out["nonce"] = m.Nonce
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ---- routes ----

func (s *Server) getGateway(q *request) reply {
	body := map[string]any{"url": s.gatewayURL()}
	if q.r.URL.Path == "/api/v10/gateway/bot" {
		body["shards"] = 1
		body["session_start_limit"] = map[string]any{"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1}
	}
	return okReply(body)
}

func (s *Server) getMe(*request) reply { return okReply(s.userJSON(s.cfg.botID)) }

// getUser answers like Discord: any user by id, 404 10013 for an id it
// does not know.
func (s *Server) getUser(q *request) reply {
	id := q.param("user")
	if s.st.users[id] == nil {
		return failReply(errNotFound(10013, "User"))
	}
	return okReply(s.userJSON(id))
}

// getGuild answers the one guild the bot is in; any other id is 404 10004
// Unknown Guild, as Discord answers for a guild the bot is not a member of.
func (s *Server) getGuild(q *request) reply {
	if q.param("guild") != s.cfg.guildID {
		return failReply(errNotFound(10004, "Guild"))
	}
	return okReply(map[string]any{"id": s.cfg.guildID, "name": "baton-test", "owner_id": s.cfg.botID,
		"roles": []any{}, "emojis": []any{}, "features": []any{}})
}

func (s *Server) checkAppGuild(q *request) *apiError {
	if q.param("app") != s.cfg.appID {
		return errForbidden(50001, "Missing Access")
	}
	if q.param("guild") != s.cfg.guildID {
		return errNotFound(10004, "Guild")
	}
	return nil
}

func (s *Server) putCommands(q *request) reply {
	if err := s.checkAppGuild(q); err != nil {
		return failReply(err)
	}
	var raws []json.RawMessage
	if err := q.decode(&raws); err != nil {
		return failReply(err)
	}
	shapes := make([]commandShape, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &shapes[i]); err != nil {
			return failReply(errBadRequest(50109, "The request body contains invalid JSON."))
		}
	}
	if err := checkCommands(shapes); err != nil {
		return failReply(err)
	}
	old := map[string]string{}
	for _, c := range s.st.commands {
		old[c.Name] = c.ID
	}
	s.st.commands = nil
	for i, raw := range raws {
		id := old[shapes[i].Name]
		if id == "" {
			id = s.newID()
		}
		s.st.commands = append(s.st.commands, Command{ID: id, Name: shapes[i].Name, Raw: raw})
	}
	return okReply(s.commandsJSON())
}

func (s *Server) commandsJSON() []any {
	out := []any{}
	for _, c := range s.st.commands {
		var m map[string]any
		_ = json.Unmarshal(c.Raw, &m)
		m["id"], m["application_id"], m["guild_id"], m["version"] = c.ID, s.cfg.appID, s.cfg.guildID, c.ID
		if _, ok := m["type"]; !ok {
			m["type"] = 1
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) getCommands(q *request) reply {
	if err := s.checkAppGuild(q); err != nil {
		return failReply(err)
	}
	return okReply(s.commandsJSON())
}

func (s *Server) getGuildChannels(q *request) reply {
	if q.param("guild") != s.cfg.guildID {
		return failReply(errNotFound(10004, "Guild"))
	}
	out := []any{}
	for _, id := range s.st.chanOrder {
		if c := s.st.channels[id]; c.Type != ChannelDM && c.GuildID == s.cfg.guildID {
			out = append(out, s.channelJSON(c))
		}
	}
	return okReply(out)
}

func (s *Server) createChannel(q *request) reply {
	if q.param("guild") != s.cfg.guildID {
		return failReply(errNotFound(10004, "Guild"))
	}
	var body struct {
		Name     string `json:"name"`
		Type     int    `json:"type"`
		ParentID string `json:"parent_id"`
		Topic    string `json:"topic"`
	}
	if err := q.decode(&body); err != nil {
		return failReply(err)
	}
	fe := formErrors{}
	name := body.Name
	if body.Type == ChannelText {
		name = channelName(name)
	}
	if n := runes(name); n < 1 || n > MaxChannelName {
		fe.add("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
	}
	if body.Type != ChannelText && body.Type != ChannelCategory {
		fe.add("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 4}.")
	}
	if body.ParentID != "" {
		if p := s.st.channels[body.ParentID]; p == nil || p.Type != ChannelCategory || p.GuildID != s.cfg.guildID || body.Type == ChannelCategory {
			fe.add("parent_id", "CHANNEL_PARENT_INVALID", "Not a category")
		}
	}
	if err := fe.err(); err != nil {
		return failReply(err)
	}
	c := s.addChannelLocked(&Channel{ID: s.newID(), Type: body.Type, GuildID: s.cfg.guildID, Name: name,
		ParentID: body.ParentID, Topic: body.Topic, CreatedBy: s.cfg.botID, Created: s.now()})
	s.dispatch("CHANNEL_CREATE", intentGuilds, s.channelJSON(c))
	return created(s.channelJSON(c))
}

func (s *Server) channel(id string) (*Channel, *apiError) {
	c := s.st.channels[id]
	if c == nil {
		return nil, errNotFound(10003, "Channel")
	}
	return c, nil
}

// getChannel answers a channel by id; a channel of another guild (the bot
// is not a member there) is 403 50001 Missing Access, as on Discord.
func (s *Server) getChannel(q *request) reply {
	c, err := s.channel(q.param("channel"))
	if err != nil {
		return failReply(err)
	}
	if c.Type != ChannelDM && c.GuildID != "" && c.GuildID != s.cfg.guildID {
		return failReply(errForbidden(50001, "Missing Access"))
	}
	return okReply(s.channelJSON(c))
}

func (s *Server) message(channelID, id string) (*Message, *apiError) {
	if _, err := s.channel(channelID); err != nil {
		return nil, err
	}
	m := s.st.messages[id]
	if m == nil || m.ChannelID != channelID || m.EphemeralTo != "" {
		return nil, errNotFound(10008, "Message")
	}
	return m, nil
}

// getMessages answers like Discord: newest first, at most limit (1–100,
// default 50), before or after a message id; ephemeral messages are not in
// a channel's history.
func (s *Server) getMessages(q *request) reply {
	c, err := s.channel(q.param("channel"))
	if err != nil {
		return failReply(err)
	}
	qs := q.r.URL.Query()
	limit := 50
	if v := qs.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100 {
			fe := formErrors{}
			fe.add("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
			return failReply(fe.err())
		}
		limit = n
	}
	before, after := qs.Get("before"), qs.Get("after")
	var in []*Message // the channel's history in range, oldest first
	for _, id := range s.st.chanMsgs[c.ID] {
		m := s.st.messages[id]
		if m.EphemeralTo == "" && (before == "" || idLess(m.ID, before)) && (after == "" || idLess(after, m.ID)) {
			in = append(in, m)
		}
	}
	// The limit keeps the newest, or with after the oldest (those nearest
	// to it); either way the answer is newest first.
	if len(in) > limit {
		if after != "" {
			in = in[:limit]
		} else {
			in = in[len(in)-limit:]
		}
	}
	out := []any{}
	for i := len(in) - 1; i >= 0; i-- {
		out = append(out, s.messageJSON(in[i]))
	}
	return okReply(out)
}

// idLess orders snowflakes numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (s *Server) getMessage(q *request) reply {
	m, err := s.message(q.param("channel"), q.param("message"))
	if err != nil {
		return failReply(err)
	}
	return okReply(s.messageJSON(m))
}

func (s *Server) postMessage(q *request) reply {
	c, err := s.channel(q.param("channel"))
	if err != nil {
		return failReply(err)
	}
	if c.Type == ChannelCategory {
		return failReply(errBadRequest(50008, "Cannot send messages in a non-text channel"))
	}
	var p messagePayload
	if err := q.decode(&p); err != nil {
		return failReply(err)
	}
	if p.Flags&^(flagSuppressEmbeds|flagSuppressNotifications) != 0 {
		fe := formErrors{}
		fe.add("flags", "MESSAGE_FLAGS_INVALID", "Invalid flags")
		return failReply(fe.err())
	}
	m, err := s.createMessage(c, s.cfg.botID, &p, q.files, "", "")
	if err != nil {
		return failReply(err)
	}
	return okReply(s.createdJSON(m))
}

// Message flags the fake knows.
const (
	flagSuppressEmbeds        = 1 << 2
	flagEphemeral             = 1 << 6
	flagSuppressNotifications = 1 << 12
)

// createMessage validates and stores a message and dispatches
// MESSAGE_CREATE (not for ephemeral ones). With enforce_nonce, a message the
// same author posted with the same nonce is returned instead of a second
// one, as Discord does for a few minutes. Callers hold s.mu.
func (s *Server) createMessage(c *Channel, author string, p *messagePayload, files []File, interaction, ephemeralTo string) (*Message, *apiError) {
	embeds, err := checkMessage(p, len(files), true)
	if err != nil {
		return nil, err
	}
	nonce := ""
	if !isNull(p.Nonce) {
		var n any
		_ = json.Unmarshal(p.Nonce, &n)
		switch v := n.(type) {
		case string:
			nonce = v
		case float64:
			nonce = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	if p.EnforceNonce && nonce != "" {
		for _, id := range s.st.chanMsgs[c.ID] {
			if m := s.st.messages[id]; m.Author == author && m.Nonce == nonce && s.now().Sub(m.Posted) < nonceWindow {
				return m, nil
			}
		}
	}
	content := ""
	if p.Content != nil {
		content = *p.Content
	}
	m := &Message{ID: s.newID(), ChannelID: c.ID, Author: author, Content: content,
		Embeds: cloneRaw(p.Embeds), Components: cloneRaw(p.Components), AllowedMentions: cloneRaw(p.AllowedMentions),
		Flags: p.Flags, Nonce: nonce, Interaction: interaction, EphemeralTo: ephemeralTo, Files: files,
		Posted: s.now(), embeds: embeds}
	m.MentionUsers, m.MentionRoles, m.MentionEveryone = mentions(content, p.AllowedMentions)
	s.st.messages[m.ID] = m
	s.st.chanMsgs[c.ID] = append(s.st.chanMsgs[c.ID], m.ID)
	if ephemeralTo == "" {
		s.dispatch("MESSAGE_CREATE", messageIntent(c), s.createdJSON(m))
	}
	return m, nil
}

// nonceWindow is how long Discord remembers a nonce for enforce_nonce.
const nonceWindow = 5 * time.Minute

func cloneRaw(r json.RawMessage) json.RawMessage {
	if isNull(r) {
		return nil
	}
	return json.RawMessage(slices.Clone(r))
}

func (s *Server) editMessage(q *request) reply {
	m, err := s.message(q.param("channel"), q.param("message"))
	if err != nil {
		return failReply(err)
	}
	if m.Author != s.cfg.botID {
		return failReply(errForbidden(50005, "Cannot edit a message authored by another user"))
	}
	var p messagePayload
	if err := q.decode(&p); err != nil {
		return failReply(err)
	}
	if err := s.applyEdit(m, &p, q.body); err != nil {
		return failReply(err)
	}
	return okReply(s.messageJSON(m))
}

// applyEdit changes the fields the edit body carries (a field absent stays;
// null or [] clears embeds or components) and dispatches MESSAGE_UPDATE.
// Callers hold s.mu.
func (s *Server) applyEdit(m *Message, p *messagePayload, body []byte) *apiError {
	var present map[string]json.RawMessage
	_ = json.Unmarshal(body, &present)
	embeds, err := checkMessage(p, 0, false)
	if err != nil {
		return err
	}
	if _, ok := present["content"]; ok {
		m.Content = ""
		if p.Content != nil {
			m.Content = *p.Content
		}
	}
	if _, ok := present["embeds"]; ok {
		m.Embeds, m.embeds = cloneRaw(p.Embeds), embeds
	}
	if _, ok := present["components"]; ok {
		m.Components = cloneRaw(p.Components)
	}
	if _, ok := present["allowed_mentions"]; ok {
		m.AllowedMentions = cloneRaw(p.AllowedMentions)
	}
	m.MentionUsers, m.MentionRoles, m.MentionEveryone = mentions(m.Content, m.AllowedMentions)
	m.Edited = s.now()
	m.Edits++
	if m.EphemeralTo == "" {
		s.dispatch("MESSAGE_UPDATE", messageIntent(s.st.channels[m.ChannelID]), s.messageJSON(m))
	}
	return nil
}

func (s *Server) pin(q *request) reply {
	m, err := s.message(q.param("channel"), q.param("message"))
	if err != nil {
		return failReply(err)
	}
	if m.Pinned {
		return noContent()
	}
	n := 0
	for _, id := range s.st.chanMsgs[m.ChannelID] {
		if s.st.messages[id].Pinned {
			n++
		}
	}
	if n >= MaxPins {
		return failReply(errBadRequest(30003, "Maximum number of pins reached (50)"))
	}
	m.Pinned = true
	c := s.st.channels[m.ChannelID]
	s.dispatch("CHANNEL_PINS_UPDATE", pinsIntent(c), map[string]any{"channel_id": c.ID, "guild_id": c.GuildID,
		"last_pin_timestamp": s.now().UTC().Format(time.RFC3339Nano)})
	return noContent()
}

func (s *Server) getPins(q *request) reply {
	c, err := s.channel(q.param("channel"))
	if err != nil {
		return failReply(err)
	}
	out := []any{}
	ids := s.st.chanMsgs[c.ID]
	for i := len(ids) - 1; i >= 0; i-- {
		if m := s.st.messages[ids[i]]; m.Pinned {
			out = append(out, s.messageJSON(m))
		}
	}
	return okReply(out)
}

func (s *Server) addOwnReaction(q *request) reply {
	m, err := s.message(q.param("channel"), q.param("message"))
	if err != nil {
		return failReply(err)
	}
	emoji := q.param("emoji")
	if emoji == "" || runes(emoji) > 8 {
		return failReply(errBadRequest(10014, "Unknown Emoji"))
	}
	s.react(m, s.cfg.botID, emoji)
	return noContent()
}

// emojiJSON is an emoji object as Discord sends it: a unicode emoji is its
// name with a null id; a server emoji written "name:id" is the two apart.
func emojiJSON(emoji string) map[string]any {
	if name, id, ok := strings.Cut(emoji, ":"); ok && name != "" && id != "" {
		return map[string]any{"id": id, "name": name}
	}
	return map[string]any{"id": nil, "name": emoji}
}

// react adds a user's reaction (once per user and emoji) and dispatches
// MESSAGE_REACTION_ADD. Callers hold s.mu.
func (s *Server) react(m *Message, userID, emoji string) bool {
	i := slices.IndexFunc(m.Reactions, func(r Reaction) bool { return r.Emoji == emoji })
	if i < 0 {
		m.Reactions = append(m.Reactions, Reaction{Emoji: emoji})
		i = len(m.Reactions) - 1
	}
	if slices.Contains(m.Reactions[i].Users, userID) {
		return false
	}
	m.Reactions[i].Users = append(m.Reactions[i].Users, userID)
	c := s.st.channels[m.ChannelID]
	ev := map[string]any{"user_id": userID, "channel_id": c.ID, "message_id": m.ID,
		"emoji": emojiJSON(emoji), "message_author_id": m.Author}
	intent := intentDMReactions
	if c.GuildID != "" {
		ev["guild_id"] = c.GuildID
		ev["member"] = map[string]any{"user": s.userJSON(userID), "roles": []string{}}
		intent = intentGuildReactions
	}
	s.dispatch("MESSAGE_REACTION_ADD", intent, ev)
	return true
}

func (s *Server) openDM(q *request) reply {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := q.decode(&body); err != nil {
		return failReply(err)
	}
	u := s.st.users[body.RecipientID]
	if u == nil || u.ID == s.cfg.botID {
		return failReply(errBadRequest(50033, "Invalid Recipient(s)"))
	}
	if id := s.st.dms[u.ID]; id != "" {
		return okReply(s.channelJSON(s.st.channels[id]))
	}
	c := s.addChannelLocked(&Channel{ID: s.newID(), Type: ChannelDM, Recipient: u.ID, CreatedBy: s.cfg.botID, Created: s.now()})
	s.st.dms[u.ID] = c.ID
	return okReply(s.channelJSON(c))
}
