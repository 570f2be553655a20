package fakediscord

import (
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestGatewayIdentifyReadyAndHeartbeats(t *testing.T) {
	s := StartTest(t, WithHeartbeatInterval(50*time.Millisecond))
	dg, ev := openSession(t, s)
	dg.State.RLock()
	user := dg.State.User
	dg.State.RUnlock()
	if user == nil || user.ID != s.BotID() {
		t.Fatalf("READY did not carry the bot user: %+v", user)
	}
	eventually(t, "three heartbeats", func() bool { return s.Gateway().Heartbeats >= 3 })
	if g := s.Gateway(); g.Identifies != 1 || g.Connects != 1 || g.Open != 1 {
		t.Fatalf("gateway %+v", g)
	}
	if n := ev.count(&ev.ready); n != 1 {
		t.Fatalf("%d READY", n)
	}
	// The gateway URL came from GET gateway on the API base.
	if n := len(s.Calls(RouteGateway)); n != 1 {
		t.Fatalf("%d GET gateway", n)
	}
}

func TestGatewayRefusesAWrongToken(t *testing.T) {
	s := StartTest(t)
	dg := newSession(t, s)
	dg.Identify.Token = "Bot wrong"
	dg.ShouldReconnectOnError = false
	_ = dg.Open() // READY never comes: the fake closes with 4004
	t.Cleanup(func() { _ = dg.Close() })
	if g := s.Gateway(); g.Identifies != 0 {
		t.Fatalf("identified with a wrong token: %+v", g)
	}
}

// dispatched reactions reach discordgo's handlers; the intents filter them.
func TestReactionsFollowIntents(t *testing.T) {
	s := StartTest(t)
	dana := s.AddUser(User{Username: "dana"})
	ch := s.AddChannel(Channel{Name: "alerts"})
	_, ev := openSession(t, s)
	m, err := s.Post(dana.ID, ch.ID, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.React(dana.ID, ch.ID, m.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reaction", func() bool { _, r := ev.snapshot(); return len(r) == 1 })
	_, r := ev.snapshot()
	if r[0].UserID != dana.ID || r[0].Emoji.Name != "✅" || r[0].MessageID != m.ID || r[0].GuildID != s.GuildID() {
		t.Fatalf("reaction %+v", r[0].MessageReaction)
	}
	if err := s.React(dana.ID, ch.ID, m.ID, "✅"); err != nil { // the same again: nothing
		t.Fatal(err)
	}

	// A session without the reaction intents gets none.
	dg2 := newSession(t, s)
	dg2.Identify.Intents = discordgo.IntentsGuilds
	got := 0
	dg2.AddHandler(func(*discordgo.Session, *discordgo.MessageReactionAdd) { got++ })
	if err := dg2.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dg2.Close() })
	if err := s.React(dana.ID, ch.ID, m.ID, "👀"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second reaction", func() bool { _, r := ev.snapshot(); return len(r) == 2 })
	if got != 0 {
		t.Fatalf("a session without reaction intents got %d reactions", got)
	}
}

// The bot's own reaction comes back through the gateway too, as on Discord.
func TestOwnReactionIsEchoed(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg, ev := openSession(t, s)
	m, err := dg.ChannelMessageSend(ch.ID, "card")
	if err != nil {
		t.Fatal(err)
	}
	if err := dg.MessageReactionAdd(ch.ID, m.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the echo", func() bool { _, r := ev.snapshot(); return len(r) == 1 })
	if _, r := ev.snapshot(); r[0].UserID != s.BotID() {
		t.Fatalf("echo from %s", r[0].UserID)
	}
}

func TestGatewayReconnects(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *Server) int
		// resumed: the client RESUMEd (events while away are replayed);
		// else it IDENTIFYed again.
		resumed bool
		// replayed: the event injected between the fault and the reconnect
		// arrives after it (else it may be lost, as on Discord).
		replayed bool
	}{
		{"op 7 RECONNECT", (*Server).Reconnect, true, true},
		{"dropped socket", (*Server).DropConnections, true, true},
		{"op 9 INVALID SESSION", func(s *Server) int { return s.InvalidateSession(false) }, false, false},
		{"op 9 resumable", func(s *Server) int { return s.InvalidateSession(true) }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StartTest(t, WithHeartbeatInterval(100*time.Millisecond))
			dana := s.AddUser(User{Username: "dana"})
			ch := s.AddChannel(Channel{Name: "alerts"})
			m, _ := s.Post(dana.ID, ch.ID, "card")
			_, ev := openSession(t, s)

			if n := tt.inject(s); n != 1 {
				t.Fatalf("injected on %d connections", n)
			}
			// An event while the client is away (or re-identifying).
			if err := s.React(dana.ID, ch.ID, m.ID, "👀"); err != nil {
				t.Fatal(err)
			}
			want := 1
			if tt.resumed {
				eventually(t, "RESUME", func() bool { return s.Gateway().Resumes == 1 })
			} else {
				eventually(t, "a second IDENTIFY", func() bool { return s.Gateway().Identifies == 2 && s.Ready() })
				want = 0
				if _, r := ev.snapshot(); len(r) > 0 {
					want = len(r) // the client may have re-identified before the reaction
				}
			}
			eventually(t, "ready again", s.Ready)
			// An event after the reconnect is handled.
			if err := s.React(dana.ID, ch.ID, m.ID, "✅"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the reaction after the reconnect", func() bool {
				_, r := ev.snapshot()
				return len(r) >= want+1 && r[len(r)-1].Emoji.Name == "✅"
			})
			_, r := ev.snapshot()
			if tt.replayed && (len(r) != 2 || r[0].Emoji.Name != "👀") {
				t.Fatalf("reactions %d, want the one from while away replayed, then the new one", len(r))
			}
			if tt.resumed && ev.count(&ev.resumed) < 1 {
				t.Fatalf("no RESUMED; %+v", s.Gateway())
			}
		})
	}
}

// Without heartbeat acknowledgements discordgo gives up on the socket and
// resumes on a new one.
func TestMissedHeartbeatAcksReconnect(t *testing.T) {
	s := StartTest(t, WithHeartbeatInterval(20*time.Millisecond))
	openSession(t, s)
	s.SetHeartbeatAcks(false)
	eventually(t, "a second connection", func() bool { return s.Gateway().Connects >= 2 })
	s.SetHeartbeatAcks(true)
	eventually(t, "a resumed session", func() bool { return s.Gateway().Resumes >= 1 && s.Ready() })
}
