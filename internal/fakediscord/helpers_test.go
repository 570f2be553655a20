package fakediscord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewrite sends discordgo's requests, addressed to https://discord.com/api/v9/…,
// to the fake's API base instead, as baton's adapter does with discord.api_url.
// Anything else is refused: no test talks to the real Discord.
type rewrite struct{ base string }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v9/")
	if !ok || r.URL.Host != "discord.com" {
		return nil, fmt.Errorf("test transport: refusing %s", r.URL)
	}
	u, err := url.Parse(rw.base + rest)
	if err != nil {
		return nil, err
	}
	u.RawQuery = r.URL.RawQuery
	r2 := r.Clone(r.Context())
	r2.URL, r2.Host = u, ""
	return http.DefaultTransport.RoundTrip(r2)
}

// newSession is a discordgo session against the fake, not yet opened; 429s
// come back as errors unless a test turns retrying on.
func newSession(t *testing.T, s *Server) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot " + s.Token())
	if err != nil {
		t.Fatal(err)
	}
	dg.Client = &http.Client{Transport: rewrite{s.APIURL()}, Timeout: 10 * time.Second}
	dg.ShouldRetryOnRateLimit = false
	dg.MaxRestRetries = 0
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessageReactions |
		discordgo.IntentsDirectMessageReactions
	dg.LogLevel = -1
	return dg
}

// events collects what a session's handlers saw.
type events struct {
	mu           sync.Mutex
	interactions []*discordgo.InteractionCreate
	reactions    []*discordgo.MessageReactionAdd
	ready        int
	resumed      int
}

func (e *events) snapshot() (ints []*discordgo.InteractionCreate, reacts []*discordgo.MessageReactionAdd) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(ints, e.interactions...), append(reacts, e.reactions...)
}

func (e *events) count(n *int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *n
}

// openSession opens a gateway session against the fake and records its events.
func openSession(t *testing.T, s *Server) (*discordgo.Session, *events) {
	t.Helper()
	dg := newSession(t, s)
	ev := &events{}
	dg.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
		ev.mu.Lock()
		ev.interactions = append(ev.interactions, i)
		ev.mu.Unlock()
	})
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) {
		ev.mu.Lock()
		ev.reactions = append(ev.reactions, r)
		ev.mu.Unlock()
	})
	dg.AddHandler(func(*discordgo.Session, *discordgo.Ready) {
		ev.mu.Lock()
		ev.ready++
		ev.mu.Unlock()
	})
	dg.AddHandler(func(*discordgo.Session, *discordgo.Resumed) {
		ev.mu.Lock()
		ev.resumed++
		ev.mu.Unlock()
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = dg.Close() })
	return dg, ev
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes; cond reads
// the client's side, which the fake's WaitFor cannot see.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling the client's state, not synchronising
	}
}

// restErr returns err as a *discordgo.RESTError with Discord's error, or fails.
func restErr(t *testing.T, err error) *discordgo.RESTError {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *discordgo.RESTError", err, err)
	}
	return re
}

// card is an incident card: one embed and a row of three buttons.
func card(desc string) *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Content: "INC-1 db down",
		Embeds:  []*discordgo.MessageEmbed{{Title: "INC-1", Description: desc}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Acknowledge", Style: discordgo.PrimaryButton, CustomID: "ack:1"},
			discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: "resolve:1"},
			discordgo.Button{Label: "Escalate", Style: discordgo.DangerButton, CustomID: "escalate:1"},
		}}},
		AllowedMentions: &discordgo.MessageAllowedMentions{},
	}
}

// fakeClock is a settable clock for the bucket model.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
