// Package fakediscord is a Discord REST API and gateway server on loopback.
//
// It exists so that baton's Discord adapter can be tested, and demonstrated,
// through the real discordgo SDK with no network and no server of Discord's:
//
//	fake := fakediscord.StartTest(t)
//	s, _ := discordgo.New("Bot " + fake.Token())
//	s.Client = &http.Client{Transport: rewrite to fake.APIURL()} // see the package's tests
//	s.Open() // GET gateway, then the fake's ws:// URL: HELLO, IDENTIFY → READY
//
// discordgo's endpoints are package variables fixed at init ("https://discord.com/api/v9/…");
// the client reaches the fake through an http.Client whose Transport rewrites
// the scheme, host and "/api/v9/" prefix to APIURL ("http://127.0.0.1:N/api/v10/").
// The fake answers GET gateway and GET gateway/bot with its own ws:// URL, so
// discordgo's Dialer needs nothing.
//
// The server keeps one guild (its channels and categories, members), direct
// message channels, messages with their embeds, components, allowed mentions,
// pins and reactions, the application's guild commands, and interactions
// with their callbacks and follow-ups. It records every REST call, injects
// faults (429 with Discord's JSON body and X-RateLimit-* headers, per route or
// global; 5xx), models a per-route bucket, and refuses what Discord refuses
// with 400 "Invalid Form Body" (code 50035): content over 2,000 characters, an
// embed description over 4,096, more than 5 action rows or 5 buttons in a row,
// a custom_id over 100 characters, a command or option name that is not
// lowercase or longer than 32.
//
// Its gateway says HELLO, answers IDENTIFY with READY and RESUME with the
// missed events and RESUMED, acknowledges heartbeats, and dispatches the
// events the session's intents ask for: INTERACTION_CREATE for the
// interactions a test injects, MESSAGE_REACTION_ADD for reactions (people's,
// injected; the bot's own, through REST), and the echoes of the bot's own
// work (MESSAGE_CREATE, MESSAGE_UPDATE, CHANNEL_CREATE, CHANNEL_PINS_UPDATE),
// which Discord sends too. Tests inject op 7 RECONNECT, op 9 INVALID SESSION
// and a socket dropped without a close frame.
//
// It is a fake, not a second Discord: it implements the routes baton uses with
// the answers discordgo decodes, and answers 404 {"message":"404: Not Found"}
// to everything else.
//
// Concurrency: every exported method is safe for concurrent use. One mutex
// guards the state, the call log and the gateway bookkeeping; each REST call
// runs entirely under it.
package fakediscord

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default identities of the fake. Tests rarely need to change them.
const (
	DefaultToken   = "fakediscord-bot-token"
	DefaultAppID   = "1100000000000000001"
	DefaultGuildID = "1100000000000000002"
	DefaultBotID   = "1100000000000000003"
)

// Server is one fake Discord guild with its REST API and gateway.
type Server struct {
	cfg config
	mux *http.ServeMux

	mu      sync.Mutex
	closed  bool
	started bool
	ln      net.Listener
	srv     *http.Server
	url     string
	changed chan struct{}          // closed and replaced on every change; see WaitFor
	subs    map[chan struct{}]bool // Subscribe's channels, nudged on every change
	wg      sync.WaitGroup

	lastID int64 // last snowflake handed out

	st state

	calls   []Call
	callSeq int
	faults  map[string][]Fault
	faultF  func(route, path string) (Fault, bool)
	faultC  func(FaultCall) (Fault, bool)
	limits  map[string]Limit
	buckets map[string]*bucket

	gw gateway
}

type config struct {
	addr      string
	token     string
	appID     string
	guildID   string
	botID     string
	botName   string
	now       func() time.Time
	heartbeat time.Duration
	ackWindow time.Duration
	logf      func(format string, args ...any)
}

// Option configures a Server in New.
type Option func(*config)

// WithAddr sets the listen address; the default "127.0.0.1:0" picks a free
// loopback port.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithToken sets the bot token the fake accepts (as "Authorization: Bot <token>").
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithClock sets the clock of message timestamps, snowflakes, recorded times
// and the rate-limit buckets. Timers (heartbeats, the interaction deadline)
// always run on real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithHeartbeatInterval sets the heartbeat_interval HELLO announces (default
// 1 s; Discord's is about 41 s). discordgo reconnects after five intervals
// without an acknowledgement.
func WithHeartbeatInterval(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// WithInteractionDeadline sets how long an interaction may wait for its
// callback (default 3 s, like Discord); a later callback is answered 404
// "Unknown interaction" (code 10062).
func WithInteractionDeadline(d time.Duration) Option { return func(c *config) { c.ackWindow = d } }

// WithLogf logs one line per REST call and gateway exchange, e.g. with
// t.Logf. Off by default.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// New builds a Server; call Start to listen. The guild starts with one
// member, the bot itself, and no channels.
func New(opts ...Option) *Server {
	cfg := config{
		addr:      "127.0.0.1:0",
		token:     DefaultToken,
		appID:     DefaultAppID,
		guildID:   DefaultGuildID,
		botID:     DefaultBotID,
		botName:   "baton",
		now:       time.Now,
		heartbeat: time.Second,
		ackWindow: 3 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		changed: make(chan struct{}),
		faults:  map[string][]Fault{},
		limits:  map[string]Limit{},
		buckets: map[string]*bucket{},
	}
	s.st.init()
	s.gw.init()
	s.st.users[cfg.botID] = &User{ID: cfg.botID, Username: cfg.botName, Bot: true}
	s.routes()
	s.mux.HandleFunc("GET /gateway", s.serveGateway)
	s.mux.HandleFunc("GET /gateway/{$}", s.serveGateway) // discordgo adds a slash
	s.mux.HandleFunc("GET /attachments/{message}/{name}", s.serveAttachment)
	return s
}

// TB is the part of testing.TB that StartTest uses; it keeps the package free
// of a "testing" import.
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
		tb.Fatalf("fakediscord: %v", err)
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

// Close stops the server: it closes every gateway connection and waits for
// its goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.gw.allConns()
	srv := s.srv
	s.bump()
	s.mu.Unlock()

	if srv != nil {
		_ = srv.Close()
	}
	for _, c := range conns {
		c.close()
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

// APIURL is the REST base, URL()+"/api/v10/", trailing slash included: the
// value for baton's discord.api_url.
func (s *Server) APIURL() string { return s.URL() + "/api/v10/" }

// GatewayURL is the ws:// URL GET gateway answers.
func (s *Server) GatewayURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayURL()
}

// gatewayURL is GatewayURL for callers holding s.mu.
func (s *Server) gatewayURL() string {
	return "ws" + strings.TrimPrefix(s.url, "http") + "/gateway"
}

// Token is the bot token the fake accepts.
func (s *Server) Token() string { return s.cfg.token }

// AppID is the application's id (commands, interactions, follow-up webhooks).
func (s *Server) AppID() string { return s.cfg.appID }

// GuildID is the one guild's id.
func (s *Server) GuildID() string { return s.cfg.guildID }

// BotID is the bot user's id; it authors every message the bot posts.
func (s *Server) BotID() string { return s.cfg.botID }

// Handle registers an extra handler on the server's mux, e.g. a demo's web
// page at "/". Patterns under /api/ and /gateway belong to the fake.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// bump wakes every WaitFor. Callers hold s.mu.
func (s *Server) bump() {
	close(s.changed)
	s.changed = make(chan struct{})
	s.notifySubs()
}

func (s *Server) now() time.Time { return s.cfg.now() }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.logf != nil {
		s.cfg.logf("fakediscord: "+format, args...)
	}
}

// discordEpoch is 2015-01-01T00:00:00Z in Unix milliseconds, the origin of
// snowflake timestamps.
const discordEpoch = 1420070400000

// newID hands out a snowflake: the clock's milliseconds since Discord's epoch
// shifted left 22 bits, strictly increasing even when the clock stands still.
// Callers hold s.mu.
func (s *Server) newID() string {
	id := (s.now().UnixMilli() - discordEpoch) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return fmt.Sprint(id)
}
