package fakeslack

import "fmt"

// Message events (Events API "message", the message.channels and
// message.groups subscriptions): a person writing in a channel, or editing
// what they wrote. PostAsUser and EditAsUser inject them; with
// WithMessageEvents the bot's own posts in channels are delivered too, as
// Slack does for an app subscribed to them.

// WithMessageEvents makes chat.postMessage in a channel (not a DM) deliver
// a message event for the bot's own post, with its bot_id, as Slack does
// for an app subscribed to message.channels / message.groups.
func WithMessageEvents() Option { return func(c *config) { c.messageEvents = true } }

// PostAsUser records a message user wrote in channel (as a person typing
// in Slack would) and delivers its message event (channel_type "channel",
// or "group" for a private channel, "im" for a DM). It returns the
// message's ts and the envelope's id.
func (s *Server) PostAsUser(user, channel, text string) (ts, envelopeID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", "", fmt.Errorf("fakeslack: post as user: %w", err)
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), User: u.ID, Text: text}
	c.addMessage(m)
	s.emit(Event{Kind: EventMessagePosted, Channel: c.ID, TS: m.TS, User: m.User})
	id, err := s.sendMessageEvent(c, map[string]any{"user": u.ID, "text": text, "ts": m.TS})
	return m.TS, id, err
}

// PostSubtypeAsUser is PostAsUser for a message Slack delivers with a
// subtype of a person's own new message: "file_share" (a file uploaded
// with the message; the event carries a files list) or "thread_broadcast"
// (a thread reply also sent to the channel; it carries thread_ts).
func (s *Server) PostSubtypeAsUser(user, channel, subtype, text string) (ts, envelopeID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", "", fmt.Errorf("fakeslack: post as user: %w", err)
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), User: u.ID, Text: text}
	c.addMessage(m)
	s.emit(Event{Kind: EventMessagePosted, Channel: c.ID, TS: m.TS, User: m.User})
	fields := map[string]any{"subtype": subtype, "user": u.ID, "text": text, "ts": m.TS}
	switch subtype {
	case "file_share":
		fields["files"] = []map[string]any{{"id": "F0" + m.TS, "name": "graph.png", "mimetype": "image/png"}}
		fields["upload"] = false
	case "thread_broadcast":
		fields["thread_ts"] = m.TS
	}
	id, err := s.sendMessageEvent(c, fields)
	return m.TS, id, err
}

// EditAsUser changes the text of user's message ts in channel and delivers
// the message_changed event Slack sends for an edit; it returns the
// envelope's id.
func (s *Server) EditAsUser(user, channel, ts, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", fmt.Errorf("fakeslack: edit as user: %w", err)
	}
	m := c.byTS[ts]
	if m == nil || m.User != u.ID {
		return "", fmt.Errorf("fakeslack: edit as user: no message %s by %s in %s", ts, u.ID, c.ID)
	}
	prev := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	now := s.now()
	m.Text, m.EditedTS = text, formatTS(now.UnixMicro())
	s.emit(Event{Kind: EventMessageUpdated, Channel: c.ID, TS: m.TS, User: m.User})
	return s.sendMessageEvent(c, map[string]any{
		"subtype": "message_changed", "hidden": true, "ts": m.EditedTS,
		"message":          map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "edited": map[string]any{"user": m.User, "ts": m.EditedTS}},
		"previous_message": prev,
	})
}

// botMessageEvent delivers the message event of the bot's own post m in
// c, when WithMessageEvents asked for them. Callers hold s.mu.
func (s *Server) botMessageEvent(c *channelState, m *Message) {
	if !s.cfg.messageEvents || c.IsIM || c.IsMPIM {
		return
	}
	_, _ = s.sendMessageEvent(c, map[string]any{"user": m.User, "bot_id": m.BotID, "text": m.Text, "ts": m.TS})
}

// sendMessageEvent delivers a "message" event in c with fields. Callers
// hold s.mu.
func (s *Server) sendMessageEvent(c *channelState, fields map[string]any) (string, error) {
	now := s.now()
	typ := "channel"
	switch {
	case c.IsIM:
		typ = "im"
	case c.IsMPIM:
		typ = "mpim"
	case c.IsPrivate:
		typ = "group"
	}
	ev := map[string]any{"type": "message", "channel": c.ID, "channel_type": typ, "event_ts": formatTS(now.UnixMicro())}
	for k, v := range fields {
		ev[k] = v
	}
	eventID, payload := s.eventCallback(ev, now)
	user, _ := fields["user"].(string)
	e, err := s.newEnvelope("events_api", payload, false, user, c.ID, eventID, "")
	if err != nil {
		return "", fmt.Errorf("fakeslack: message event: %w", err)
	}
	return e.ID, nil
}
