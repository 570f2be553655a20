package fakeslack

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Each method below runs under s.mu, validates everything before it changes
// anything, and answers with the JSON shape slack-go decodes (checked against
// slack-go v0.35.0: channelResponseFull, chatResponseFull, userResponseFull,
// GetUploadURLExternalResponse, CompleteUploadExternalResponse).

func (s *Server) authTest(_ map[string][]string) result {
	return ok(map[string]any{
		"url":                   "https://" + s.cfg.teamDomain + ".slack.com/",
		"team":                  s.cfg.teamName,
		"user":                  s.cfg.botName,
		"team_id":               s.cfg.teamID,
		"user_id":               s.cfg.botUserID,
		"bot_id":                s.cfg.botID,
		"is_enterprise_install": false,
	})
}

func (s *Server) appsConnectionsOpen(_ map[string][]string) result {
	ticket := randomID(16)
	s.sock.tickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.url, "http") + "/socket?ticket=" + ticket + "&app_id=" + s.cfg.appID
	return ok(map[string]any{"url": u})
}

// validChannelName applies Slack's naming rule: lowercase letters, digits,
// hyphens and underscores (the length is checked separately).
func validChannelName(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Server) conversationsCreate(p map[string][]string) result {
	name := first(p, "name")
	switch {
	case name == "":
		return fail("invalid_name_required")
	case utf8.RuneCountInString(name) > 80:
		return fail("invalid_name_maxlength")
	case !validChannelName(name):
		return fail("invalid_name_specials")
	case strings.Trim(name, "-_") == "":
		return fail("invalid_name_punctuation")
	case s.ws.channelByName(name) != nil:
		return fail("name_taken")
	}
	c := &channelState{Channel: Channel{
		ID:        s.newID("C"),
		Name:      name,
		IsPrivate: first(p, "is_private") == "true",
		Creator:   s.cfg.botUserID,
		Created:   s.now(),
		Members:   []string{s.cfg.botUserID},
	}}
	s.ws.addChannel(c)
	s.emit(Event{Kind: EventChannelCreated, Channel: c.ID, Detail: name})
	return ok(map[string]any{"channel": s.channelJSON(c)})
}

// channelArg resolves the channel parameter of a method that reads or changes
// a channel. A private channel the bot is not in does not exist for it.
// managedChannel resolves the "channel" argument of a method that manages a
// channel the bot belongs to (invite, archive), with Slack's error codes:
// not for IMs, not when archived (archivedCode), not when the bot is outside.
func (s *Server) managedChannel(p map[string][]string, archivedCode string) (*channelState, string) {
	c, code := s.channelArg(p, "channel")
	switch {
	case code != "":
		return nil, code
	case c.IsIM || c.IsMPIM:
		return nil, "method_not_supported_for_channel_type"
	case c.IsArchived:
		return nil, archivedCode
	case !c.HasMember(s.cfg.botUserID):
		return nil, "not_in_channel"
	}
	return c, ""
}

func (s *Server) channelArg(p map[string][]string, key string) (*channelState, string) {
	arg := first(p, key)
	if arg == "" {
		return nil, "channel_not_found"
	}
	c := s.lookupChannel(arg)
	if c == nil || (c.IsPrivate || c.IsIM || c.IsMPIM) && !c.HasMember(s.cfg.botUserID) {
		return nil, "channel_not_found"
	}
	return c, ""
}

func (s *Server) conversationsInvite(p map[string][]string) result {
	c, code := s.managedChannel(p, "is_archived")
	if code != "" {
		return fail(code)
	}
	users := splitList(first(p, "users"))
	if len(users) == 0 {
		return fail("no_user")
	}
	var errs []map[string]any
	for _, u := range users {
		var e string
		switch _, known := s.ws.usersByID[u]; {
		case u == s.cfg.botUserID:
			e = "cant_invite_self"
		case !known:
			e = "user_not_found"
		case c.HasMember(u):
			e = "already_in_channel"
		}
		if e != "" {
			errs = append(errs, map[string]any{"user": u, "ok": false, "error": e})
		}
	}
	if len(errs) > 0 {
		r := fail(errs[0]["error"].(string))
		r.fields = map[string]any{"errors": errs}
		return r
	}
	for _, u := range users {
		c.Members = append(c.Members, u)
		s.emit(Event{Kind: EventMembersChanged, Channel: c.ID, User: u})
	}
	return ok(map[string]any{"channel": s.channelJSON(c)})
}

func (s *Server) conversationsArchive(p map[string][]string) result {
	c, code := s.managedChannel(p, "already_archived")
	if code != "" {
		return fail(code)
	}
	c.IsArchived = true
	s.emit(Event{Kind: EventChannelArchived, Channel: c.ID})
	return ok(nil)
}

func (s *Server) conversationsOpen(p map[string][]string) result {
	if arg := first(p, "channel"); arg != "" {
		c, code := s.channelArg(p, "channel")
		if code != "" {
			return fail(code)
		}
		if !c.IsIM && !c.IsMPIM {
			return fail("method_not_supported_for_channel_type")
		}
		return ok(map[string]any{"no_op": true, "already_open": true, "channel": s.channelJSON(c)})
	}
	var users []string
	for _, u := range splitList(first(p, "users")) {
		if u == s.cfg.botUserID || slices.Contains(users, u) {
			continue
		}
		if _, known := s.ws.usersByID[u]; !known {
			return fail("user_not_found")
		}
		users = append(users, u)
	}
	switch {
	case len(users) == 0:
		return fail("users_list_not_supplied")
	case len(users) > 8:
		return fail("too_many_users")
	}
	var c *channelState
	if len(users) == 1 {
		c = s.ws.im(users[0])
	} else {
		want := append([]string{s.cfg.botUserID}, users...)
		slices.Sort(want)
		for _, ch := range s.ws.channels {
			if ch.IsMPIM {
				have := slices.Clone(ch.Members)
				slices.Sort(have)
				if slices.Equal(have, want) {
					c = ch
				}
			}
		}
	}
	if c != nil {
		return ok(map[string]any{"no_op": true, "already_open": true, "channel": s.channelJSON(c)})
	}
	if len(users) == 1 {
		c = s.openIM(users[0])
		return ok(map[string]any{"no_op": false, "already_open": false, "channel": s.channelJSON(c)})
	}
	names := []string{s.cfg.botName}
	for _, u := range users {
		names = append(names, s.ws.usersByID[u].Name)
	}
	c = &channelState{Channel: Channel{
		ID: s.newID("G"), IsMPIM: true, IsPrivate: true, Created: s.now(),
		Name:    "mpdm-" + strings.Join(names, "--") + "-1",
		Members: append([]string{s.cfg.botUserID}, users...), Creator: s.cfg.botUserID,
	}}
	s.ws.addChannel(c)
	s.emit(Event{Kind: EventIMOpened, Channel: c.ID, User: users[0]})
	return ok(map[string]any{"no_op": false, "already_open": false, "channel": s.channelJSON(c)})
}

func (s *Server) conversationsInfo(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	if code != "" {
		return fail(code)
	}
	return ok(map[string]any{"channel": s.channelJSON(c)})
}

func (s *Server) conversationsSetTopic(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	topic := first(p, "topic")
	switch {
	case code != "":
		return fail(code)
	case c.IsArchived:
		return fail("is_archived")
	case !c.HasMember(s.cfg.botUserID):
		return fail("not_in_channel")
	case utf8.RuneCountInString(topic) > 250:
		return fail("too_long")
	}
	c.Topic = topic
	c.topicCreator, c.topicSet = s.cfg.botUserID, s.now()
	s.emit(Event{Kind: EventTopicSet, Channel: c.ID, Detail: topic})
	return ok(map[string]any{"channel": s.channelJSON(c)})
}

func (s *Server) conversationsList(p map[string][]string) result {
	types := map[string]bool{}
	for _, t := range splitList(first(p, "types")) {
		types[t] = true
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	limit, _ := strconv.Atoi(first(p, "limit"))
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	offset := 0
	if cur := first(p, "cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || perr != nil || n < 0 {
			return fail("invalid_cursor")
		}
		offset = n
	}
	var match []*channelState
	for _, c := range s.ws.channels {
		kind := "public_channel"
		switch {
		case c.IsIM:
			kind = "im"
		case c.IsMPIM:
			kind = "mpim"
		case c.IsPrivate:
			kind = "private_channel"
		}
		if !types[kind] || kind != "public_channel" && !c.HasMember(s.cfg.botUserID) {
			continue
		}
		if c.IsArchived && first(p, "exclude_archived") == "true" {
			continue
		}
		match = append(match, c)
	}
	page := []map[string]any{}
	next := ""
	for i := offset; i < len(match); i++ {
		if len(page) == limit {
			next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
			break
		}
		page = append(page, s.channelJSON(match[i]))
	}
	return ok(map[string]any{
		"channels":          page,
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// openIM returns the bot's IM with userID, opening it if needed.
func (s *Server) openIM(userID string) *channelState {
	if c := s.ws.im(userID); c != nil {
		return c
	}
	c := &channelState{Channel: Channel{
		ID: s.newID("D"), IsIM: true, User: userID, Created: s.now(),
		Members: []string{s.cfg.botUserID, userID},
	}}
	s.ws.addChannel(c)
	s.emit(Event{Kind: EventIMOpened, Channel: c.ID, User: userID})
	return c
}

// messageContent validates text and blocks for the chat methods.
func messageContent(p map[string][]string) (text string, blocks json.RawMessage, code string) {
	text = first(p, "text")
	blocks, err := parseBlocks(first(p, "blocks"))
	switch {
	case err != nil:
		return "", nil, "invalid_blocks"
	case text == "" && blocks == nil && first(p, "attachments") == "":
		return "", nil, "no_text"
	case utf8.RuneCountInString(text) > 40000:
		return "", nil, "msg_too_long"
	}
	return text, blocks, ""
}

func (s *Server) chatPostMessage(p map[string][]string) result {
	// The channel is an id, "#name", a name, or a user id, which posts to the
	// bot's IM with that user and opens it if needed.
	arg := first(p, "channel")
	var c *channelState
	if _, isUser := s.ws.usersByID[arg]; !isUser || arg == s.cfg.botUserID {
		var code string
		c, code = s.channelArg(p, "channel")
		switch {
		case code != "":
			return fail(code)
		case c.IsArchived:
			return fail("is_archived")
		case !c.HasMember(s.cfg.botUserID):
			return fail("not_in_channel")
		}
	}
	text, blocks, code := messageContent(p)
	if code != "" {
		return fail(code)
	}
	md, code := parseMetadata(p)
	if code != "" {
		return fail(code)
	}
	if c == nil {
		c = s.openIM(arg)
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), User: s.cfg.botUserID, BotID: s.cfg.botID, Text: text, Blocks: blocks, Metadata: md}
	// A thread_ts that names no message posts unthreaded, as Slack does when
	// the parent was deleted; one that names a reply joins that reply's thread.
	if parent := c.byTS[first(p, "thread_ts")]; parent != nil {
		if parent.ThreadTS != "" && parent.ThreadTS != parent.TS {
			parent = c.byTS[parent.ThreadTS]
		}
		if parent != nil {
			parent.ThreadTS = parent.TS
			parent.ReplyCount++
			parent.LatestReply = m.TS
			m.ThreadTS = parent.TS
		}
	}
	c.addMessage(m)
	s.emit(Event{Kind: EventMessagePosted, Channel: c.ID, TS: m.TS, User: m.User})
	s.botMessageEvent(c, m)
	return ok(map[string]any{"channel": c.ID, "ts": m.TS, "message": s.messageJSON(c, m)})
}

// parseMetadata reads chat.postMessage's metadata parameter (a JSON object
// with an event_type and an event_payload object), or returns the error
// code Slack gives for a malformed one.
func parseMetadata(p map[string][]string) (*Metadata, string) {
	raw := first(p, "metadata")
	if raw == "" {
		return nil, ""
	}
	var md Metadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == "" || md.EventPayload == nil {
		return nil, "invalid_metadata_format"
	}
	return &md, ""
}

// conversationsHistory returns a channel's top-level messages (and thread
// replies broadcast to it: none here), newest first, limit at a time
// (default 100, at most 999) from the cursor. A message's metadata is
// returned only with include_all_metadata, as Slack returns it. oldest and
// latest (message timestamps) bound the messages, excluding the bounds
// themselves unless inclusive is set, as Slack does.
func (s *Server) conversationsHistory(p map[string][]string) result {
	c := s.ws.chanByID[first(p, "channel")] // ids only, as Slack
	if c == nil || (c.IsPrivate || c.IsIM || c.IsMPIM) && !c.HasMember(s.cfg.botUserID) {
		return fail("channel_not_found")
	}
	if !c.IsIM && !c.HasMember(s.cfg.botUserID) {
		return fail("not_in_channel")
	}
	lp, code := listParams(p)
	if code != "" {
		return fail(code)
	}
	var top []*Message
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if m := c.msgs[i]; (m.ThreadTS == "" || m.ThreadTS == m.TS) && lp.within(m.TS) {
			top = append(top, m)
		}
	}
	res := s.messagePage(c, top, lp)
	res["pin_count"] = len(c.Pins)
	return ok(res)
}

// listing is what conversations.history and conversations.replies take
// to list messages: a page size, where the cursor left off, the ts window
// and whether to include metadata.
type listing struct {
	limit, offset int
	within        func(ts string) bool
	withMeta      bool
}

// listParams reads a listing's parameters as Slack does: limit (default
// 100, at most 999), an opaque cursor, oldest/latest/inclusive and
// include_all_metadata; code is Slack's error for a bad one.
func listParams(p map[string][]string) (listing, string) {
	l := listing{limit: 100}
	if v := first(p, "limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return l, "invalid_limit"
		}
		if n > 0 {
			l.limit = min(n, 999)
		}
	}
	if cur := first(p, "cursor"); cur != "" {
		b, err := base64.StdEncoding.DecodeString(cur)
		rest, found := strings.CutPrefix(string(b), "offset:")
		n, aerr := strconv.Atoi(rest)
		if err != nil || !found || aerr != nil || n < 0 {
			return l, "invalid_cursor"
		}
		l.offset = n
	}
	all := first(p, "include_all_metadata")
	l.withMeta = all == "1" || all == "true"
	inc := first(p, "inclusive")
	within, code := tsRange(first(p, "oldest"), first(p, "latest"), inc == "1" || inc == "true")
	l.within = within
	return l, code
}

// messagePage is one page of msgs as the listing asks: messages,
// has_more and the next cursor.
func (s *Server) messagePage(c *channelState, msgs []*Message, l listing) map[string]any {
	page := []map[string]any{}
	next := ""
	for i := l.offset; i < len(msgs); i++ {
		if len(page) == l.limit {
			next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
			break
		}
		m := s.messageJSON(c, msgs[i])
		if l.withMeta && msgs[i].Metadata != nil {
			m["metadata"] = map[string]any{"event_type": msgs[i].Metadata.EventType, "event_payload": msgs[i].Metadata.EventPayload}
		}
		page = append(page, m)
	}
	return map[string]any{
		"messages":          page,
		"has_more":          next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	}
}

// tsRange is conversations.history's filter on a message's ts: after
// oldest and before latest ("" for either: unbounded), or at them when
// inclusive. A bound that is not a timestamp is invalid_ts_oldest or
// invalid_ts_latest.
func tsRange(oldest, latest string, inclusive bool) (func(ts string) bool, string) {
	lo, hi := int64(-1), int64(-1)
	if oldest != "" {
		v, ok := parseTS(oldest)
		if !ok {
			return nil, "invalid_ts_oldest"
		}
		lo = v
	}
	if latest != "" {
		v, ok := parseTS(latest)
		if !ok {
			return nil, "invalid_ts_latest"
		}
		hi = v
	}
	return func(ts string) bool {
		v, ok := parseTS(ts)
		if !ok {
			return false
		}
		if lo >= 0 && (v < lo || v == lo && !inclusive) {
			return false
		}
		if hi >= 0 && (v > hi || v == hi && !inclusive) {
			return false
		}
		return true
	}, ""
}

// parseTS reads a message timestamp ("1700000000.000123", or a whole
// number of seconds) as microseconds.
func parseTS(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 || len(frac) > 6 {
		return 0, false
	}
	var us int64
	if frac != "" {
		f, err := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		us = f
	}
	return s*1_000_000 + us, true
}

func (s *Server) chatUpdate(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	if code != "" {
		return fail(code)
	}
	m := c.byTS[first(p, "ts")]
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.User != s.cfg.botUserID:
		return fail("cant_update_message")
	case c.IsArchived:
		return fail("is_archived")
	}
	_, hasText := p["text"]
	_, hasBlocks := p["blocks"]
	blocks, err := parseBlocks(first(p, "blocks"))
	switch {
	case err != nil:
		return fail("invalid_blocks")
	case !hasText && !hasBlocks:
		return fail("no_text")
	case utf8.RuneCountInString(first(p, "text")) > 40000:
		return fail("msg_too_long")
	}
	// Slack keeps the previous blocks when the update carries none.
	if hasBlocks {
		m.Blocks = blocks
	}
	if hasText {
		m.Text = first(p, "text")
	}
	m.EditedTS = s.nextTS()
	s.emit(Event{Kind: EventMessageUpdated, Channel: c.ID, TS: m.TS, User: m.User})
	return ok(map[string]any{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": s.messageJSON(c, m)})
}

func (s *Server) chatPostEphemeral(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	user := first(p, "user")
	switch _, known := s.ws.usersByID[user]; {
	case code != "":
		return fail(code)
	case c.IsArchived:
		return fail("is_archived")
	case !c.HasMember(s.cfg.botUserID):
		return fail("not_in_channel")
	case !known:
		return fail("user_not_found")
	case !c.HasMember(user):
		return fail("user_not_in_channel")
	}
	text, blocks, code := messageContent(p)
	if code != "" {
		return fail(code)
	}
	ts := s.nextTS()
	s.addEphemeral(Ephemeral{Channel: c.ID, User: user, TS: ts, Text: text, Blocks: blocks, Source: "chat.postEphemeral"})
	return ok(map[string]any{"message_ts": ts})
}

func (s *Server) addEphemeral(e Ephemeral) {
	s.ws.ephemerals = append(s.ws.ephemerals, e)
	s.emit(Event{Kind: EventEphemeral, Channel: e.Channel, TS: e.TS, User: e.User})
}

func (s *Server) chatDelete(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	if code != "" {
		return fail(code)
	}
	m := c.byTS[first(p, "ts")]
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.User != s.cfg.botUserID:
		return fail("cant_delete_message")
	}
	s.deleteMessage(c, m)
	return ok(map[string]any{"channel": c.ID, "ts": m.TS})
}

func (s *Server) deleteMessage(c *channelState, m *Message) {
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		if parent := c.byTS[m.ThreadTS]; parent != nil {
			parent.ReplyCount--
		}
	}
	c.deleteMessage(m.TS)
	s.emit(Event{Kind: EventMessageDeleted, Channel: c.ID, TS: m.TS})
}

func (s *Server) pinsAdd(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	ts := first(p, "timestamp")
	switch {
	case code != "":
		return fail(code)
	case !c.HasMember(s.cfg.botUserID):
		return fail("not_in_channel")
	case ts == "":
		return fail("no_item_specified")
	case c.byTS[ts] == nil:
		return fail("message_not_found")
	case slices.Contains(c.Pins, ts):
		return fail("already_pinned")
	}
	c.Pins = append(c.Pins, ts)
	c.byTS[ts].Pinned = true
	s.emit(Event{Kind: EventPinAdded, Channel: c.ID, TS: ts})
	return ok(nil)
}

func (s *Server) reactionsAdd(p map[string][]string) result {
	c, code := s.channelArg(p, "channel")
	name := strings.Trim(first(p, "name"), ":")
	ts := first(p, "timestamp")
	switch {
	case code != "":
		return fail(code)
	case !c.HasMember(s.cfg.botUserID):
		return fail("not_in_channel")
	case name == "" || strings.ContainsAny(name, " :"):
		return fail("invalid_name")
	case ts == "":
		return fail("no_item_specified")
	case c.byTS[ts] == nil:
		return fail("message_not_found")
	}
	if _, added := s.addReaction(c, c.byTS[ts], s.cfg.botUserID, name); !added {
		return fail("already_reacted")
	}
	return ok(nil)
}

// addReaction records a reaction and, like Slack, delivers a reaction_added
// event to the app over Socket Mode, also when the app itself reacted. It
// returns the envelope id, or false when the user already had that reaction
// there.
func (s *Server) addReaction(c *channelState, m *Message, user, name string) (string, bool) {
	i := slices.IndexFunc(m.Reactions, func(r Reaction) bool { return r.Name == name })
	if i < 0 {
		m.Reactions = append(m.Reactions, Reaction{Name: name})
		i = len(m.Reactions) - 1
	}
	if slices.Contains(m.Reactions[i].Users, user) {
		return "", false
	}
	m.Reactions[i].Users = append(m.Reactions[i].Users, user)
	s.emit(Event{Kind: EventReactionAdded, Channel: c.ID, TS: m.TS, User: user, Detail: name})
	return s.sendReactionAdded(c, m, user, name), true
}

func (s *Server) usersInfo(p map[string][]string) result {
	u, ok := s.ws.usersByID[first(p, "user")]
	if !ok {
		return fail("user_not_found")
	}
	return okUser(s.userJSON(u))
}

func (s *Server) usersLookupByEmail(p map[string][]string) result {
	u := s.ws.userByEmail(first(p, "email"))
	if u == nil || first(p, "email") == "" {
		return fail("users_not_found")
	}
	return okUser(s.userJSON(u))
}

func okUser(u map[string]any) result { return ok(map[string]any{"user": u}) }

func (s *Server) filesGetUploadURLExternal(p map[string][]string) result {
	name := first(p, "filename")
	size, err := strconv.Atoi(first(p, "length"))
	if name == "" || err != nil || size <= 0 {
		return fail("invalid_arguments")
	}
	f := &File{ID: s.newID("F"), Name: name, Size: size}
	f.URL = s.url + "/files/" + f.ID
	s.ws.files[f.ID] = f
	s.ws.fileOrder = append(s.ws.fileOrder, f.ID)
	return ok(map[string]any{"upload_url": s.url + "/upload/" + f.ID, "file_id": f.ID})
}

func (s *Server) filesCompleteUploadExternal(p map[string][]string) result {
	var summaries []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(first(p, "files")), &summaries); err != nil || len(summaries) == 0 {
		return fail("invalid_arguments")
	}
	for _, fs := range summaries {
		if f := s.ws.files[fs.ID]; f == nil || !f.Uploaded {
			return fail("file_not_found")
		}
	}
	var targets []*channelState
	chans := splitList(first(p, "channels"))
	if id := first(p, "channel_id"); id != "" {
		chans = append([]string{id}, chans...)
	}
	for _, id := range chans {
		c := s.ws.chanByID[id] // ids only: unlike chat.postMessage, Slack takes no names here
		switch {
		case c == nil || (c.IsPrivate || c.IsIM || c.IsMPIM) && !c.HasMember(s.cfg.botUserID):
			return fail("channel_not_found")
		case !c.HasMember(s.cfg.botUserID):
			return fail("not_in_channel")
		case c.IsArchived:
			return fail("is_archived")
		}
		targets = append(targets, c)
	}
	blocks, err := parseBlocks(first(p, "blocks"))
	if err != nil {
		return fail("invalid_blocks")
	}
	var ids []string
	out := []map[string]any{}
	for _, fs := range summaries {
		f := s.ws.files[fs.ID]
		if fs.Title != "" {
			f.Title = fs.Title
		}
		ids = append(ids, f.ID)
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	for _, c := range targets {
		m := &Message{Channel: c.ID, TS: s.nextTS(), User: s.cfg.botUserID, BotID: s.cfg.botID,
			Text: first(p, "initial_comment"), Blocks: blocks, Files: ids}
		if parent := c.byTS[first(p, "thread_ts")]; parent != nil && (parent.ThreadTS == "" || parent.ThreadTS == parent.TS) {
			parent.ThreadTS = parent.TS
			parent.ReplyCount++
			parent.LatestReply = m.TS
			m.ThreadTS = parent.TS
		}
		c.addMessage(m)
		for _, id := range ids {
			s.ws.files[id].Channels = append(s.ws.files[id].Channels, c.ID)
			s.emit(Event{Kind: EventFileShared, Channel: c.ID, TS: m.TS, Detail: id})
		}
		s.emit(Event{Kind: EventMessagePosted, Channel: c.ID, TS: m.TS, User: m.User})
	}
	return ok(map[string]any{"files": out})
}

// channelJSON renders a channel as conversations.* return it.
func (s *Server) channelJSON(c *channelState) map[string]any {
	created := c.Created.Unix()
	if c.IsIM {
		return map[string]any{
			"id": c.ID, "created": created, "is_im": true, "is_org_shared": false,
			"user": c.User, "is_user_deleted": false, "priority": 0, "is_open": true,
			"context_team_id": s.cfg.teamID,
		}
	}
	var topicSet int64
	if !c.topicSet.IsZero() {
		topicSet = c.topicSet.Unix()
	}
	return map[string]any{
		"id":                    c.ID,
		"name":                  c.Name,
		"name_normalized":       c.Name,
		"is_channel":            !c.IsMPIM,
		"is_group":              false,
		"is_im":                 false,
		"is_mpim":               c.IsMPIM,
		"is_private":            c.IsPrivate || c.IsMPIM,
		"created":               created,
		"updated":               created * 1000,
		"is_archived":           c.IsArchived,
		"is_general":            false,
		"unlinked":              0,
		"is_shared":             false,
		"is_org_shared":         false,
		"is_ext_shared":         false,
		"is_pending_ext_shared": false,
		"pending_shared":        []string{},
		"context_team_id":       s.cfg.teamID,
		"creator":               c.Creator,
		"is_member":             c.HasMember(s.cfg.botUserID),
		"num_members":           len(c.Members),
		"topic":                 map[string]any{"value": c.Topic, "creator": c.topicCreator, "last_set": topicSet},
		"purpose":               map[string]any{"value": "", "creator": "", "last_set": 0},
		"previous_names":        []string{},
		"priority":              0,
	}
}

// messageJSON renders a message as chat.postMessage and chat.update return
// it and as interaction payloads carry it.
func (s *Server) messageJSON(c *channelState, m *Message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "user": m.User, "team": s.cfg.teamID}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = s.cfg.appID
		out["bot_profile"] = map[string]any{
			"id": m.BotID, "app_id": s.cfg.appID, "name": s.cfg.botName, "team_id": s.cfg.teamID, "deleted": false,
		}
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
		if parent := c.byTS[m.ThreadTS]; parent != nil && parent != m {
			out["parent_user_id"] = parent.User
		}
	}
	if m.ReplyCount > 0 {
		out["reply_count"] = m.ReplyCount
		out["latest_reply"] = m.LatestReply
	}
	if m.EditedTS != "" {
		out["edited"] = map[string]any{"user": m.User, "ts": m.EditedTS}
	}
	if len(m.Reactions) > 0 {
		rs := make([]map[string]any, len(m.Reactions))
		for i, r := range m.Reactions {
			rs[i] = map[string]any{"name": r.Name, "users": r.Users, "count": len(r.Users)}
		}
		out["reactions"] = rs
	}
	if len(m.Files) > 0 {
		fs := make([]map[string]any, 0, len(m.Files))
		for _, id := range m.Files {
			if f := s.ws.files[id]; f != nil {
				fs = append(fs, map[string]any{"id": f.ID, "name": f.Name, "title": f.Title, "size": f.Size,
					"url_private": f.URL, "user": m.User})
			}
		}
		out["files"] = fs
		out["upload"] = false
	}
	if m.Pinned {
		out["pinned_to"] = []string{c.ID}
	}
	return out
}

// userJSON renders a user as users.info returns it.
func (s *Server) userJSON(u *User) map[string]any {
	tz := u.TZ
	if tz == "" {
		tz = "UTC"
	}
	profile := map[string]any{
		"real_name": u.RealName, "real_name_normalized": u.RealName, "display_name": u.Name,
		"display_name_normalized": u.Name, "email": u.Email, "team": s.cfg.teamID,
	}
	if u.IsBot {
		profile["bot_id"] = s.cfg.botID
		profile["api_app_id"] = s.cfg.appID
	}
	return map[string]any{
		"id": u.ID, "team_id": s.cfg.teamID, "name": u.Name, "deleted": u.Deleted, "real_name": u.RealName,
		"tz": tz, "tz_label": tz, "tz_offset": 0, "is_bot": u.IsBot, "is_admin": false, "is_owner": false,
		"is_app_user": false, "is_restricted": false, "is_ultra_restricted": false, "updated": 0,
		"profile": profile,
	}
}

func first(p map[string][]string, key string) string {
	if vs := p[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// conversationsReplies returns a thread: its parent first, then its
// replies oldest first, limit at a time (default 100, at most 999) from the
// cursor; oldest, latest and inclusive bound the replies (the parent is
// always first, as Slack returns it), and metadata comes only with
// include_all_metadata. The ts of a reply names its thread; one that names
// no message is thread_not_found.
func (s *Server) conversationsReplies(p map[string][]string) result {
	c := s.ws.chanByID[first(p, "channel")]
	if c == nil || (c.IsPrivate || c.IsIM || c.IsMPIM) && !c.HasMember(s.cfg.botUserID) {
		return fail("channel_not_found")
	}
	if !c.IsIM && !c.HasMember(s.cfg.botUserID) {
		return fail("not_in_channel")
	}
	parent := c.byTS[first(p, "ts")]
	if parent != nil && parent.ThreadTS != "" && parent.ThreadTS != parent.TS {
		parent = c.byTS[parent.ThreadTS] // a reply's ts names its thread, as on Slack
	}
	if parent == nil {
		return fail("thread_not_found")
	}
	lp, code := listParams(p)
	if code != "" {
		return fail(code)
	}
	thread := []*Message{parent}
	for _, m := range c.msgs {
		if m.ThreadTS == parent.TS && m != parent && lp.within(m.TS) {
			thread = append(thread, m)
		}
	}
	return ok(s.messagePage(c, thread, lp))
}
