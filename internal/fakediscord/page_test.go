package fakediscord

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// TestSnapshotAndSubscribe: the page's reads. A snapshot holds the users,
// the channels with a DM's recipient and who created each, every channel's
// messages with their components and reactions, and the registered
// commands; a subscriber is nudged by a change made through discordgo and by
// one injected (a person's reaction), and no more after it unsubscribes.
func TestSnapshotAndSubscribe(t *testing.T) {
	s, dg, _, dana, ch := registered(t)
	feed, stop := s.Subscribe()
	drain := func() {
		for {
			select {
			case <-feed:
			default:
				return
			}
		}
	}
	nudged := func(what string) {
		t.Helper()
		select {
		case <-feed:
		case <-time.After(5 * time.Second):
			t.Fatalf("no nudge within 5s after %s", what)
		}
	}
	drain()
	card, err := dg.ChannelMessageSendComplex(ch.ID, card("db down"))
	if err != nil {
		t.Fatal(err)
	}
	nudged("a card was posted")
	dm, err := dg.UserChannelCreate(dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	drain()
	if err := s.React(dana.ID, ch.ID, card.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	nudged("a reaction")

	g := s.Snapshot()
	if g.ID != s.GuildID() || g.BotID != s.BotID() || g.Connected != 1 || len(g.Commands) == 0 {
		t.Fatalf("snapshot header %+v", g)
	}
	var sawDM, sawText bool
	for _, c := range g.Channels {
		switch c.ID {
		case dm.ID:
			sawDM = c.Type == ChannelDM && c.Recipient == dana.ID && c.CreatedBy == s.BotID()
		case ch.ID:
			sawText = c.Type == ChannelText && c.Name == ch.Name
		}
	}
	msgs := g.Messages[ch.ID]
	if !sawDM || !sawText || len(msgs) != 1 || len(msgs[0].Buttons()) == 0 || len(msgs[0].ReactedBy("✅")) != 1 {
		t.Fatalf("snapshot channels %+v messages %+v", g.Channels, msgs)
	}
	users := map[string]bool{}
	for _, u := range g.Users {
		users[u.ID] = true
	}
	if !users[dana.ID] || !users[s.BotID()] {
		t.Fatalf("snapshot users %+v", g.Users)
	}

	stop()
	drain()
	if _, err := dg.ChannelMessageSend(ch.ID, "after"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-feed:
		t.Fatal("nudged after unsubscribing")
	default:
	}
}

// TestAttachmentIsServed: a file uploaded with a message is served at the
// URL the message gives it, with its content type; another name is 404.
func TestAttachmentIsServed(t *testing.T) {
	s := StartTest(t)
	dg := newSession(t, s)
	ch := s.AddChannel(Channel{Name: "x"})
	png := []byte("\x89PNG\r\n\x1a\nfake")
	m, err := dg.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{Content: "chart",
		Files: []*discordgo.File{{Name: "stats.png", ContentType: "image/png", Reader: bytes.NewReader(png)}}})
	if err != nil || len(m.Attachments) != 1 {
		t.Fatalf("upload: %v %+v", err, m)
	}
	tests := []struct {
		name, url string
		status    int
		body      []byte
	}{
		{"the upload", m.Attachments[0].URL, http.StatusOK, png},
		{"another name", s.URL() + "/attachments/" + m.ID + "/other.png", http.StatusNotFound, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tc.url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || (tc.body != nil && (!bytes.Equal(b, tc.body) || resp.Header.Get("Content-Type") != "image/png")) {
				t.Fatalf("GET %s: %d %q %q", tc.url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		})
	}
}
