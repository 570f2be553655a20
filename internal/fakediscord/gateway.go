package fakediscord

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway intents the fake filters dispatches by (Discord's bit values).
const (
	intentGuilds         = 1 << 0
	intentGuildMessages  = 1 << 9
	intentGuildReactions = 1 << 10
	intentDMs            = 1 << 12
	intentDMReactions    = 1 << 13
)

func messageIntent(c *Channel) int {
	if c != nil && c.Type == ChannelDM {
		return intentDMs
	}
	return intentGuildMessages
}

func pinsIntent(c *Channel) int {
	if c != nil && c.Type == ChannelDM {
		return intentDMs
	}
	return intentGuilds
}

// sessionLog bounds the events a session keeps for a RESUME.
const sessionLog = 1000

// GatewayStats counts what happened on the gateway.
type GatewayStats struct {
	Open       int // connections open now
	Connects   int // connections ever accepted
	Identifies int // IDENTIFY frames accepted
	Resumes    int // RESUME frames that resumed a session
	Refused    int // RESUME frames answered op 9 (unknown or invalidated session)
	Heartbeats int
	Dispatched int // dispatch frames written (replays included)
}

// Frame is one gateway frame the fake received or sent, for assertions.
type Frame struct {
	At   time.Time `json:"at"`
	Conn int       `json:"conn"`
	In   bool      `json:"in"` // from the client
	Op   int       `json:"op"`
	T    string    `json:"t,omitempty"`
	Seq  int64     `json:"s,omitempty"`
}

type gateway struct {
	conns    map[int]*gwConn
	nextConn int
	sessions map[string]*session
	stats    GatewayStats
	frames   []Frame
	noAcks   bool
}

func (g *gateway) init() {
	g.conns = map[int]*gwConn{}
	g.sessions = map[string]*session{}
}

func (g *gateway) allConns() []*gwConn {
	out := make([]*gwConn, 0, len(g.conns))
	for _, c := range g.conns {
		out = append(out, c)
	}
	return out
}

type session struct {
	id      string
	intents int
	seq     int64
	log     []logged
	conn    *gwConn
}

type logged struct {
	seq   int64
	frame []byte
}

// gwConn is one gateway connection: the handler goroutine reads, a writer
// goroutine is the only caller of WriteMessage.
type gwConn struct {
	id   int
	ws   *websocket.Conn
	out  *queue
	done chan struct{}
	once sync.Once
	sess *session // guarded by the server's mutex
}

func (c *gwConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close() // no close frame: the client sees the socket drop
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type inFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.gw.nextConn++
	c := &gwConn{id: s.gw.nextConn, ws: ws, out: newQueue(), done: make(chan struct{})}
	s.gw.conns[c.id] = c
	s.gw.stats.Connects++
	s.gw.stats.Open++
	s.wg.Add(1)
	s.sendLocked(c, 10, "", 0, map[string]any{"heartbeat_interval": s.cfg.heartbeat.Milliseconds()})
	s.bump()
	s.mu.Unlock()
	s.logf("gateway: connection %d open", c.id)

	go func() {
		defer s.wg.Done()
		s.writeLoop(c)
	}()
	s.readLoop(c)

	c.close()
	s.mu.Lock()
	delete(s.gw.conns, c.id)
	s.gw.stats.Open--
	if c.sess != nil && c.sess.conn == c {
		c.sess.conn = nil
	}
	s.bump()
	s.mu.Unlock()
	s.logf("gateway: connection %d closed", c.id)
}

func (s *Server) writeLoop(c *gwConn) {
	for {
		b, ok := c.out.pop(c.done)
		if !ok {
			return
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			c.close()
			return
		}
	}
}

func (s *Server) readLoop(c *gwConn) {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var f inFrame
		if err := json.Unmarshal(b, &f); err != nil {
			s.closeWith(c, 4002, "Decode error")
			return
		}
		s.mu.Lock()
		s.gw.frames = appendFrame(s.gw.frames, Frame{At: s.now(), Conn: c.id, In: true, Op: f.Op})
		code, reason := s.handleFrame(c, f)
		s.bump()
		s.mu.Unlock()
		if code != 0 {
			s.closeWith(c, code, reason)
			return
		}
	}
}

// closeWith sends a close frame with one of Discord's gateway close codes
// and closes the connection.
func (s *Server) closeWith(c *gwConn, code int, reason string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.close()
}

func appendFrame(fs []Frame, f Frame) []Frame {
	if len(fs) >= 10000 {
		fs = fs[1:]
	}
	return append(fs, f)
}

// handleFrame acts on one client frame and returns a close code when the
// connection must end. Callers hold s.mu.
func (s *Server) handleFrame(c *gwConn, f inFrame) (int, string) {
	switch f.Op {
	case 1: // heartbeat
		s.gw.stats.Heartbeats++
		if !s.gw.noAcks {
			s.sendLocked(c, 11, "", 0, nil)
		}
	case 2: // identify
		var d struct {
			Token   string `json:"token"`
			Intents int    `json:"intents"`
		}
		if json.Unmarshal(f.D, &d) != nil {
			return 4002, "Decode error"
		}
		if strings.TrimPrefix(d.Token, "Bot ") != s.cfg.token {
			return 4004, "Authentication failed."
		}
		if c.sess != nil && c.sess.conn == c {
			return 4005, "Already authenticated."
		}
		sess := &session{id: randomToken(), intents: d.Intents}
		s.gw.sessions[sess.id] = sess
		s.attach(c, sess)
		s.gw.stats.Identifies++
		s.dispatchTo(sess, "READY", map[string]any{
			"v": 10, "user": s.userJSON(s.cfg.botID), "session_id": sess.id,
			"resume_gateway_url": s.gatewayURL(), "guilds": []any{map[string]any{"id": s.cfg.guildID, "unavailable": true}},
			"application": map[string]any{"id": s.cfg.appID, "flags": 0},
		})
	case 6: // resume
		var d struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		if json.Unmarshal(f.D, &d) != nil {
			return 4002, "Decode error"
		}
		sess := s.gw.sessions[d.SessionID]
		if sess == nil || strings.TrimPrefix(d.Token, "Bot ") != s.cfg.token {
			s.gw.stats.Refused++
			s.sendLocked(c, 9, "", 0, false)
			return 0, ""
		}
		s.attach(c, sess)
		s.gw.stats.Resumes++
		for _, l := range sess.log {
			if l.seq > d.Seq {
				c.out.push(l.frame)
				s.gw.stats.Dispatched++
			}
		}
		s.dispatchTo(sess, "RESUMED", map[string]any{})
	case 3, 4, 8: // presence, voice state, request members: accepted, ignored
	default:
		return 4001, "Unknown opcode."
	}
	return 0, ""
}

// attach makes c the session's connection, detaching any earlier one.
func (s *Server) attach(c *gwConn, sess *session) {
	if old := sess.conn; old != nil && old != c {
		old.sess = nil
	}
	sess.conn = c
	c.sess = sess
}

// sendLocked queues a non-dispatch frame (or a dispatch with seq) on c.
// Callers hold s.mu.
func (s *Server) sendLocked(c *gwConn, op int, t string, seq int64, d any) []byte {
	f := map[string]any{"op": op, "d": d}
	if op == 0 {
		f["t"], f["s"] = t, seq
	}
	b, _ := json.Marshal(f)
	c.out.push(b)
	s.gw.frames = appendFrame(s.gw.frames, Frame{At: s.now(), Conn: c.id, Op: op, T: t, Seq: seq})
	return b
}

// dispatch sends an event to every session whose intents ask for it (intent
// 0: every session, as INTERACTION_CREATE). A session without a connection
// keeps it for its RESUME. Callers hold s.mu.
func (s *Server) dispatch(t string, intent int, d any) {
	for _, sess := range s.gw.sessions {
		if intent == 0 || sess.intents&intent != 0 {
			s.dispatchTo(sess, t, d)
		}
	}
	s.bump()
}

func (s *Server) dispatchTo(sess *session, t string, d any) {
	sess.seq++
	f := map[string]any{"op": 0, "t": t, "s": sess.seq, "d": d}
	b, _ := json.Marshal(f)
	sess.log = append(sess.log, logged{seq: sess.seq, frame: b})
	if len(sess.log) > sessionLog {
		sess.log = sess.log[1:]
	}
	if c := sess.conn; c != nil {
		c.out.push(b)
		s.gw.stats.Dispatched++
		s.gw.frames = appendFrame(s.gw.frames, Frame{At: s.now(), Conn: c.id, Op: 0, T: t, Seq: sess.seq})
	}
}

// Reconnect sends op 7 RECONNECT on every identified connection, as Discord
// does before it moves a session; the client closes the socket and RESUMEs
// on a new one. It returns how many connections were told.
func (s *Server) Reconnect() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.gw.conns {
		if c.sess != nil {
			s.sendLocked(c, 7, "", 0, nil)
			n++
		}
	}
	s.bump()
	return n
}

// InvalidateSession sends op 9 INVALID SESSION on every identified
// connection. resumable false forgets the sessions (a RESUME is refused and
// events until the next IDENTIFY are lost, as on Discord); true keeps them
// for a RESUME. Either way the connection needs an IDENTIFY or RESUME
// before it gets events again. It returns how many connections were told.
func (s *Server) InvalidateSession(resumable bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.gw.conns {
		if c.sess == nil {
			continue
		}
		s.sendLocked(c, 9, "", 0, resumable)
		if !resumable {
			delete(s.gw.sessions, c.sess.id)
		}
		c.sess.conn = nil
		c.sess = nil
		n++
	}
	s.bump()
	return n
}

// DropConnections closes every gateway socket without a close frame, as a
// network failure does. Sessions stay resumable; events meanwhile are kept
// for the RESUME. It returns how many sockets were closed.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := s.gw.allConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	return len(conns)
}

// SetHeartbeatAcks turns the op 11 answers to heartbeats off (false) or on:
// without them discordgo reconnects after five heartbeat intervals.
func (s *Server) SetHeartbeatAcks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.noAcks = !on
}

// Gateway returns the gateway's counters.
func (s *Server) Gateway() GatewayStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.stats
}

// Frames returns the last 10,000 gateway frames, received and sent, in order.
func (s *Server) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.gw.frames...)
}

// Ready reports whether some connection carries an identified (or resumed)
// session, i.e. dispatches reach a client now.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.gw.conns {
		if c.sess != nil {
			return true
		}
	}
	return false
}

// queue is an unbounded FIFO of frames with a blocking pop: the server
// pushes while holding its lock and never waits for a slow socket.
type queue struct {
	mu    sync.Mutex
	items [][]byte
	ready chan struct{}
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

func (q *queue) push(b []byte) {
	q.mu.Lock()
	q.items = append(q.items, b)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) pop(done <-chan struct{}) ([]byte, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			b := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return b, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-done:
			return nil, false
		}
	}
}
