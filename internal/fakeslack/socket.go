package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope is one Socket Mode request the fake sent (or will send once a
// client connects) and what became of it.
type Envelope struct {
	ID                     string          `json:"envelope_id"`
	Type                   string          `json:"type"` // slash_commands, interactive, events_api
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	EventID                string          `json:"event_id,omitempty"`     // events_api only
	ResponseURL            string          `json:"response_url,omitempty"` // slash commands, interactions

	Deliveries int             `json:"deliveries"` // times written to a connection
	Conn       int             `json:"conn"`       // connection of the latest delivery: 1, 2, … in connect order
	SentAt     time.Time       `json:"sent_at"`    // latest delivery
	Acked      bool            `json:"acked"`
	AckedAt    time.Time       `json:"acked_at"`
	Acks       int             `json:"acks"`                  // acks received, redeliveries included
	AckPayload json.RawMessage `json:"ack_payload,omitempty"` // payload of the first ack
}

// ResponsePost is one POST to a response_url the fake handed out.
type ResponsePost struct {
	EnvelopeID      string          `json:"envelope_id"`
	At              time.Time       `json:"at"`
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks,omitempty"`
	ResponseType    string          `json:"response_type,omitempty"`
	ReplaceOriginal bool            `json:"replace_original,omitempty"`
	DeleteOriginal  bool            `json:"delete_original,omitempty"`
	Body            json.RawMessage `json:"body"`
}

type socketState struct {
	tickets   map[string]bool // from apps.connections.open; each dials once
	all       map[int]*wsConn // every open connection
	live      []*wsConn       // connections that get envelopes, in connect order
	nextConn  int
	rr        int
	envelopes map[string]*envelope
	order     []string
	pending   []*envelope // waiting for a connection

	responseURLs  map[string]*responseTarget
	responsePosts []ResponsePost
}

func (st *socketState) init() {
	st.tickets = map[string]bool{}
	st.all = map[int]*wsConn{}
	st.envelopes = map[string]*envelope{}
	st.responseURLs = map[string]*responseTarget{}
}

func (st *socketState) allConns() []*wsConn {
	out := make([]*wsConn, 0, len(st.all))
	for _, c := range st.all {
		out = append(out, c)
	}
	return out
}

type envelope struct {
	Envelope
	timer *time.Timer
	// who and where, for acting on an ack payload
	user, channel string
}

func (e *envelope) stopTimer() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

// wsConn is one Socket Mode connection. Three goroutines serve it: a reader
// (acks), a writer (the only caller of WriteMessage, fed by out) and a pinger
// (WriteControl, which gorilla allows concurrently with the writer).
type wsConn struct {
	id   int
	ws   *websocket.Conn
	out  *queue[[]byte]
	done chan struct{}
	once sync.Once
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{
	// slack-go dials with Origin https://api.slack.com; anything goes on loopback.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.sock.tickets[ticket]
	delete(s.sock.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "fakeslack: unknown or used ticket; call apps.connections.open", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.sock.nextConn++
	c := &wsConn{id: s.sock.nextConn, ws: ws, out: newQueue[[]byte](), done: make(chan struct{})}
	s.sock.all[c.id] = c
	s.sock.live = append(s.sock.live, c)
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": len(s.sock.live),
		"debug_info": map[string]any{
			"host": fmt.Sprintf("fakeslack-%d", c.id), "build_number": 1, "approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.cfg.appID},
	})
	c.out.push(hello)
	pending := s.sock.pending
	s.sock.pending = nil
	for _, e := range pending {
		s.sendEnvelope(e, c)
	}
	s.emit(Event{Kind: EventConnected, Detail: fmt.Sprint(c.id)})
	s.wg.Add(3)
	s.mu.Unlock()
	s.logf("socket %d connected", c.id)

	go func() { defer s.wg.Done(); s.writeLoop(c) }()
	go func() { defer s.wg.Done(); s.pingLoop(c) }()
	go func() { defer s.wg.Done(); s.readLoop(c) }()
}

func (s *Server) writeLoop(c *wsConn) {
	for {
		b, ok := c.out.pop(c.done)
		if !ok {
			return
		}
		_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			c.close()
			return
		}
	}
}

func (s *Server) pingLoop(c *wsConn) {
	if s.cfg.pingInterval <= 0 {
		return
	}
	ping := func() bool {
		return c.ws.WriteControl(websocket.PingMessage, []byte("fakeslack"), time.Now().Add(5*time.Second)) == nil
	}
	// Ping at once too, so a client whose ping timeout is shorter than ours
	// still sees a ping before its first check.
	if !ping() {
		c.close()
		return
	}
	t := time.NewTicker(s.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if !ping() {
				c.close()
				return
			}
		}
	}
}

// readLoop reads acks until the connection ends, then forgets the connection.
func (s *Server) readLoop(c *wsConn) {
	defer func() {
		c.close()
		s.mu.Lock()
		delete(s.sock.all, c.id)
		s.sock.live = slices.DeleteFunc(s.sock.live, func(x *wsConn) bool { return x == c })
		if !s.closed {
			s.emit(Event{Kind: EventDisconnected, Detail: fmt.Sprint(c.id)})
		}
		s.mu.Unlock()
		s.logf("socket %d closed", c.id)
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
			s.logf("socket %d: ignored frame %q", c.id, data)
			continue
		}
		s.handleAck(ack.EnvelopeID, ack.Payload)
	}
}

func (s *Server) handleAck(id string, payload json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sock.envelopes[id]
	if e == nil {
		s.logf("ack for unknown envelope %s", id)
		return
	}
	e.Acks++
	if !e.Acked {
		e.Acked = true
		e.AckedAt = s.now()
		e.AckPayload = payload
		e.stopTimer()
		if e.Type == "slash_commands" {
			s.applyCommandResponse(e, payload)
		}
	}
	s.logf("ack %s (%s, attempt %d)", id, e.Type, e.RetryAttempt)
	s.emit(Event{Kind: EventEnvelopeAcked, Detail: id, User: e.user, Channel: e.channel})
}

// applyCommandResponse shows a slash command's ack payload the way Slack
// does: to the invoking user only, or in the channel for response_type
// in_channel. Callers hold s.mu.
func (s *Server) applyCommandResponse(e *envelope, payload json.RawMessage) {
	var resp struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	if len(payload) == 0 || json.Unmarshal(payload, &resp) != nil {
		return
	}
	blocks := nonEmptyJSON(resp.Blocks)
	if resp.Text == "" && blocks == nil {
		return
	}
	s.respond(e, resp.ResponseType, resp.Text, blocks, "ack")
}

// respond shows a response to a command or interaction. Callers hold s.mu.
func (s *Server) respond(e *envelope, responseType, text string, blocks json.RawMessage, source string) {
	c := s.ws.chanByID[e.channel]
	if c == nil {
		return
	}
	if responseType == "in_channel" {
		m := &Message{Channel: c.ID, TS: s.nextTS(), User: s.cfg.botUserID, BotID: s.cfg.botID, Text: text, Blocks: blocks}
		c.addMessage(m)
		s.emit(Event{Kind: EventMessagePosted, Channel: c.ID, TS: m.TS, User: m.User})
		return
	}
	s.addEphemeral(Ephemeral{Channel: c.ID, User: e.user, TS: s.nextTS(), Text: text, Blocks: blocks, Source: source})
}

// newEnvelope registers an envelope and delivers it. Callers hold s.mu.
func (s *Server) newEnvelope(typ string, payload any, acceptsResponse bool, user, channel, eventID, responseURL string) (*envelope, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	e := &envelope{
		Envelope: Envelope{
			ID: uuid(), Type: typ, Payload: raw, AcceptsResponsePayload: acceptsResponse,
			EventID: eventID, ResponseURL: responseURL,
		},
		user: user, channel: channel,
	}
	s.sock.envelopes[e.ID] = e
	s.sock.order = append(s.sock.order, e.ID)
	s.deliver(e)
	return e, nil
}

// deliver hands an envelope to one live connection, round robin, or parks it
// until a client connects. Callers hold s.mu.
func (s *Server) deliver(e *envelope) {
	if s.closed {
		return
	}
	if len(s.sock.live) == 0 {
		if !slices.Contains(s.sock.pending, e) {
			s.sock.pending = append(s.sock.pending, e)
		}
		return
	}
	c := s.sock.live[s.sock.rr%len(s.sock.live)]
	s.sock.rr++
	s.sendEnvelope(e, c)
}

// sendEnvelope writes an envelope to c and arms its ack timer. Callers hold s.mu.
func (s *Server) sendEnvelope(e *envelope, c *wsConn) {
	wire, _ := json.Marshal(map[string]any{
		"type":                     e.Type,
		"envelope_id":              e.ID,
		"payload":                  e.Payload,
		"accepts_response_payload": e.AcceptsResponsePayload,
		"retry_attempt":            e.RetryAttempt,
		"retry_reason":             e.RetryReason,
	})
	c.out.push(wire)
	e.Deliveries++
	e.Conn = c.id
	e.SentAt = s.now()
	e.stopTimer()
	if s.cfg.ackTimeout > 0 && !e.Acked && e.RetryAttempt < s.cfg.maxRetries {
		id, attempt := e.ID, e.RetryAttempt
		e.timer = time.AfterFunc(s.cfg.ackTimeout, func() { s.ackTimedOut(id, attempt) })
	}
	s.logf("envelope %s (%s, attempt %d) → socket %d", e.ID, e.Type, e.RetryAttempt, c.id)
	s.emit(Event{Kind: EventEnvelopeSent, Detail: e.ID, User: e.user, Channel: e.channel})
}

func (s *Server) ackTimedOut(id string, attempt int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sock.envelopes[id]
	if s.closed || e == nil || e.Acked || e.RetryAttempt != attempt {
		return
	}
	e.RetryAttempt++
	e.RetryReason = "timeout"
	s.deliver(e)
}

// Redeliver sends an envelope again, as Slack does when it thinks an ack was
// lost: same envelope_id and payload, retry_attempt incremented, retry_reason
// "timeout". It works on acked envelopes too, which is how a test checks that
// a redelivery is acted on once.
func (s *Server) Redeliver(envelopeID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sock.envelopes[envelopeID]
	if e == nil {
		return fmt.Errorf("fakeslack: redeliver: no envelope %s", envelopeID)
	}
	e.RetryAttempt++
	e.RetryReason = "timeout"
	s.deliver(e)
	return nil
}

// Disconnect asks every connected client to reconnect, as Slack does
// periodically: {"type":"disconnect","reason":"refresh_requested"}. The old
// connections get no more envelopes and are closed after a grace period if
// the client does not close them first.
func (s *Server) Disconnect() { s.DisconnectReason("refresh_requested") }

// DisconnectReason is Disconnect with another reason, e.g. "warning" or
// "link_disabled".
func (s *Server) DisconnectReason(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.sock.live {
		msg, _ := json.Marshal(map[string]any{
			"type": "disconnect", "reason": reason,
			"debug_info": map[string]any{"host": fmt.Sprintf("fakeslack-%d", c.id)},
		})
		c.out.push(msg)
		time.AfterFunc(2*time.Second, c.close)
	}
	s.sock.live = nil
}

// DropConnections closes every Socket Mode connection abruptly, without a
// disconnect message or a close frame, like a network failure.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.sock.allConns()
	s.sock.live = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Connections is the number of Socket Mode connections that get envelopes.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sock.live)
}

// WaitConnections waits until at least n connections get envelopes.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func() bool { return s.Connections() >= n })
}

// Envelope returns an envelope by id.
func (s *Server) Envelope(id string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sock.envelopes[id]
	if e == nil {
		return Envelope{}, false
	}
	return copyEnvelope(e), true
}

// Envelopes returns every envelope in the order they were created.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Envelope, 0, len(s.sock.order))
	for _, id := range s.sock.order {
		out = append(out, copyEnvelope(s.sock.envelopes[id]))
	}
	return out
}

// Acked reports whether the envelope has been acknowledged.
func (s *Server) Acked(envelopeID string) bool {
	e, _ := s.Envelope(envelopeID)
	return e.Acked
}

// WaitAcked waits until the envelope is acknowledged and returns it.
func (s *Server) WaitAcked(ctx context.Context, envelopeID string) (Envelope, error) {
	var e Envelope
	err := s.WaitFor(ctx, func() bool {
		e, _ = s.Envelope(envelopeID)
		return e.Acked
	})
	return e, err
}

func copyEnvelope(e *envelope) Envelope {
	out := e.Envelope
	out.Payload = slices.Clone(e.Payload)
	out.AckPayload = slices.Clone(e.AckPayload)
	return out
}

// nonEmptyJSON returns raw unless it is empty, null, [] or {}.
func nonEmptyJSON(raw json.RawMessage) json.RawMessage {
	switch string(raw) {
	case "", "null", "[]", "{}":
		return nil
	}
	return raw
}
