// Package fakeslack is a Slack Web API and Socket Mode server on loopback.
//
// It exists so that baton's Slack adapter can be tested, and demonstrated,
// through the real slack-go SDK with no network and no workspace:
//
//	fake := fakeslack.New()
//	if err := fake.Start(); err != nil { ... }
//	defer fake.Close()
//	api := slack.New(fake.BotToken(),
//		slack.OptionAPIURL(fake.APIURL()), // fake.URL()+"/api/", trailing slash required
//		slack.OptionAppLevelToken(fake.AppToken()))
//	client := socketmode.New(api)
//
// The server keeps a small workspace (users, channels, IMs, messages and
// their metadata, threads, pins, reactions, ephemeral messages, files),
// records every Web API call, publishes a change feed, injects faults (HTTP
// 429 with or without Retry-After, 5xx, ok:false) and can model Slack's
// per-method rate limits.
// Its Socket Mode side says hello, pings, delivers envelopes to one of the
// open connections, tracks acks and redelivers what was not acked in time.
//
// It is a fake, not a second Slack: it implements the methods baton uses with
// the answers slack-go decodes, and answers {"ok":false,"error":"unknown_method"}
// to everything else.
//
// Concurrency: every exported method is safe for concurrent use. One mutex
// guards the workspace, the call log and the Socket Mode bookkeeping; each Web
// API method runs entirely under it, so a call is atomic with respect to every
// other call and to the inspection methods.
package fakeslack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default credentials and identities of the fake workspace. Tests rarely need
// to change them; WithTokens does when a test checks token handling.
const (
	DefaultBotToken = "xoxb-fakeslack-bot-token"
	DefaultAppToken = "xapp-fakeslack-app-token"

	// VerificationToken is the legacy token carried in event and interaction
	// payloads. slack-go's Socket Mode client does not check it.
	VerificationToken = "fakeslack-verification-token"
)

// Server is one fake Slack workspace with its Web API and Socket Mode endpoint.
type Server struct {
	cfg config
	mux *http.ServeMux

	mu      sync.Mutex
	closed  bool
	started bool
	ln      net.Listener
	srv     *http.Server
	url     string
	changed chan struct{} // closed and replaced on every change; see WaitFor
	wg      sync.WaitGroup

	ws        workspace
	lastTS    int64 // last message ts handed out, in microseconds
	idCounter map[string]int

	calls   []Call
	callSeq int
	faults  map[string][]Fault
	faultF  func(method string, params url.Values) (Fault, bool)
	limits  map[string]*bucketSet

	subs     map[int]*subscriber
	nextSub  int
	eventSeq int

	sock socketState
}

type config struct {
	addr         string
	botToken     string
	appToken     string
	now          func() time.Time
	pingInterval time.Duration
	ackTimeout   time.Duration
	maxRetries   int
	// messageEvents: the bot's own channel posts deliver message events
	// (WithMessageEvents).
	messageEvents bool
	logf          func(format string, args ...any)

	teamID, teamName, teamDomain string
	botUserID, botName, botID    string
	appID                        string
}

// Option configures a Server in New.
type Option func(*config)

// WithAddr sets the listen address; the default "127.0.0.1:0" picks a free
// loopback port. The demo uses it to offer a stable address.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithTokens sets the bot token (xoxb-…) the Web API accepts and the
// app-level token (xapp-…) apps.connections.open accepts.
func WithTokens(bot, app string) Option {
	return func(c *config) { c.botToken, c.appToken = bot, app }
}

// WithClock sets the clock used for message timestamps, recorded times and the
// rate-limit model. Timers (pings, ack timeouts) always run on real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithPingInterval sets how often each Socket Mode connection gets a
// WebSocket ping (default 2 s). It must be shorter than the client's ping
// timeout (slack-go: socketmode.OptionPingInterval, default 30 s), or the
// client reconnects; 0 disables pings, which is how a test provokes that.
func WithPingInterval(d time.Duration) Option { return func(c *config) { c.pingInterval = d } }

// WithAckTimeout sets how long an envelope may stay unacknowledged before it
// is delivered again with retry_attempt incremented and retry_reason
// "timeout" (default 3 s, like Slack), and how many times it is redelivered at
// most (default 3). A timeout of 0 disables automatic redelivery (Redeliver
// still works); then an envelope written to a connection that dies before the
// client reads it is lost. Every envelope type is redelivered; Slack documents
// retries for Events API deliveries, so redelivered slash commands and
// interactions are a test stricter than Slack.
func WithAckTimeout(timeout time.Duration, maxRetries int) Option {
	return func(c *config) { c.ackTimeout, c.maxRetries = timeout, maxRetries }
}

// WithLogf logs one line per Web API call and Socket Mode exchange, e.g. with
// t.Logf. Off by default.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// WithBot sets the bot user's id and name (default U0BATONBOT "baton").
func WithBot(userID, name string) Option {
	return func(c *config) { c.botUserID, c.botName = userID, name }
}

// New builds a Server; call Start to listen. The workspace starts with one
// user, the bot itself.
func New(opts ...Option) *Server {
	cfg := config{
		addr:         "127.0.0.1:0",
		botToken:     DefaultBotToken,
		appToken:     DefaultAppToken,
		now:          time.Now,
		pingInterval: 2 * time.Second,
		ackTimeout:   3 * time.Second,
		maxRetries:   3,
		teamID:       "T0FAKESLACK",
		teamName:     "Fake Slack",
		teamDomain:   "fakeslack",
		botUserID:    "U0BATONBOT",
		botName:      "baton",
		botID:        "B0BATONBOT",
		appID:        "A0BATONAPP",
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:       cfg,
		mux:       http.NewServeMux(),
		changed:   make(chan struct{}),
		idCounter: map[string]int{},
		faults:    map[string][]Fault{},
		limits:    map[string]*bucketSet{},
		subs:      map[int]*subscriber{},
	}
	s.ws.init()
	s.sock.init()
	s.ws.addUser(&User{ID: cfg.botUserID, Name: cfg.botName, RealName: cfg.botName, IsBot: true})

	s.mux.HandleFunc("/api/{method}", s.serveAPI)
	s.mux.HandleFunc("GET /socket", s.serveSocket)
	s.mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	s.mux.HandleFunc("GET /files/{id}", s.serveFile)
	s.mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	return s
}

// TB is the part of testing.TB that StartTest uses; it keeps the package free
// of a "testing" import so the demo binary can link it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartTest builds and starts a Server for a test and closes it when the test
// ends. It fails the test if the server cannot listen.
func StartTest(tb TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
	if err := s.Start(); err != nil {
		tb.Fatalf("fakeslack: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start listens on the configured address and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("start: server closed")
	}
	if s.started {
		return errors.New("start: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.started = true
	s.wg.Go(func() { _ = s.srv.Serve(ln) })
	return nil
}

// Close stops the server: it closes every Socket Mode connection, stops
// pending redeliveries, ends every Subscribe feed and waits for its
// goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.sock.allConns()
	for _, e := range s.sock.envelopes {
		e.stopTimer()
	}
	subs := make([]*subscriber, 0, len(s.subs))
	for id, sub := range s.subs {
		subs = append(subs, sub)
		delete(s.subs, id)
	}
	srv := s.srv
	s.bump()
	s.mu.Unlock()

	if srv != nil {
		_ = srv.Close()
	}
	for _, c := range conns {
		c.close()
	}
	for _, sub := range subs {
		sub.cancel()
	}
	s.wg.Wait()
}

// URL is the server's base URL, "http://127.0.0.1:N", without a trailing slash.
// It is empty before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// APIURL is the value for slack.OptionAPIURL: URL()+"/api/", trailing slash included.
func (s *Server) APIURL() string { return s.URL() + "/api/" }

// BotToken is the bot token (xoxb-…) the Web API accepts.
func (s *Server) BotToken() string { return s.cfg.botToken }

// AppToken is the app-level token (xapp-…) apps.connections.open accepts.
func (s *Server) AppToken() string { return s.cfg.appToken }

// BotUserID is the bot's user id; it authors every message the bot posts.
func (s *Server) BotUserID() string { return s.cfg.botUserID }

// TeamID is the workspace's id.
func (s *Server) TeamID() string { return s.cfg.teamID }

// Handle registers an extra handler on the server's mux, e.g. the demo's web
// page at "/". Patterns under /api/, /socket, /upload/, /files/ and /response/
// belong to the fake.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// bump wakes every WaitFor. Callers hold s.mu.
func (s *Server) bump() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) now() time.Time { return s.cfg.now() }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.logf != nil {
		s.cfg.logf("fakeslack: "+format, args...)
	}
}

// newID hands out a workspace-unique id with the given prefix (U, C, D, G, F).
// Callers hold s.mu.
func (s *Server) newID(prefix string) string {
	for {
		s.idCounter[prefix]++
		id := fmt.Sprintf("%s%08d", prefix, s.idCounter[prefix])
		if !s.ws.idTaken(id) {
			return id
		}
	}
}

// nextTS returns a message timestamp in Slack's "seconds.micros" form, unique
// and strictly increasing even when the clock stands still. Callers hold s.mu.
func (s *Server) nextTS() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// randomID returns n random bytes as lowercase hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uuid returns a random UUID-shaped string, the form of Slack's envelope ids.
func uuid() string {
	h := randomID(16)
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}
