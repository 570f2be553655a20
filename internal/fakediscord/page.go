package fakediscord

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// This file is what a page showing the fake needs (the demo's Discord
// sandbox): one consistent snapshot of the guild, a change feed, and the
// uploaded attachments served at the URL messages give them.

// Guild is a snapshot of the whole fake: its users, channels (guild and DM)
// and every channel's messages, as a page renders them.
type Guild struct {
	ID    string `json:"id"`
	BotID string `json:"bot_id"`
	// Users are every user the fake knows, the bot included, by id order.
	Users []User `json:"users"`
	// Channels are the guild's channels (categories included) and the DM
	// channels, in creation order.
	Channels []GuildChannel `json:"channels"`
	// Messages are each channel's messages, oldest first, by channel id;
	// ephemeral ones included (EphemeralTo says whose they are).
	Messages map[string][]Message `json:"messages"`
	// Commands are the names of the registered guild commands.
	Commands []string `json:"commands"`
	// Connected is the number of gateway connections with a session: 0
	// means interactions and reactions wait for a client.
	Connected int `json:"connected"`
}

// GuildChannel is a Channel with what the page needs that Discord's own
// channel object does not carry.
type GuildChannel struct {
	Channel
	// Recipient is the person of a DM channel.
	Recipient string `json:"recipient,omitempty"`
	// CreatedBy is the user who created it ("" for channels added by a
	// test or the demo).
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
}

// Snapshot returns the whole fake at one instant.
func (s *Server) Snapshot() Guild {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := Guild{ID: s.cfg.guildID, BotID: s.cfg.botID, Users: []User{}, Channels: []GuildChannel{},
		Messages: map[string][]Message{}, Commands: []string{}}
	for _, u := range s.st.users {
		g.Users = append(g.Users, *u)
	}
	slices.SortFunc(g.Users, func(a, b User) int {
		switch {
		case idLess(a.ID, b.ID):
			return -1
		case idLess(b.ID, a.ID):
			return 1
		}
		return 0
	})
	for _, id := range s.st.chanOrder {
		c := s.st.channels[id]
		g.Channels = append(g.Channels, GuildChannel{Channel: *c, Recipient: c.Recipient, CreatedBy: c.CreatedBy, Created: c.Created})
		msgs := make([]Message, 0, len(s.st.chanMsgs[id]))
		for _, mid := range s.st.chanMsgs[id] {
			msgs = append(msgs, s.st.messages[mid].clone())
		}
		g.Messages[id] = msgs
	}
	for _, c := range s.st.commands {
		g.Commands = append(g.Commands, c.Name)
	}
	for _, c := range s.gw.conns {
		if c.sess != nil {
			g.Connected++
		}
	}
	return g
}

// Subscribe returns a channel that receives a signal after changes to the
// fake (a burst of changes may give one signal: it is a nudge to take a new
// Snapshot, not a log), and a function that ends the subscription.
func (s *Server) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]bool{}
	}
	s.subs[ch] = true
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// notifySubs nudges every subscriber without blocking. Callers hold s.mu.
func (s *Server) notifySubs() {
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// serveAttachment serves an uploaded file at the URL messages give it,
// "/attachments/{message}/{name}", as Discord's CDN does.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.st.messages[r.PathValue("message")]
	var f *File
	if m != nil {
		for i := range m.Files {
			if m.Files[i].Name == r.PathValue("name") {
				f = &m.Files[i]
			}
		}
	}
	var data []byte
	var ct string
	if f != nil {
		data, ct = slices.Clone(f.Data), f.ContentType
	}
	s.mu.Unlock()
	if f == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "404: Not Found", "code": 0})
		return
	}
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
