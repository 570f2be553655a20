package fakediscord

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// The lookups check-config --online makes, through discordgo: the bot
// itself, the guild, a channel, a user; each refusal as Discord answers it
// (status and JSON code).
func TestLookupsThroughDiscordgo(t *testing.T) {
	s := StartTest(t)
	dana := s.AddUser(User{Username: "dana"})
	ours := s.AddChannel(Channel{Name: "alerts"})
	theirs := s.AddChannel(Channel{Name: "elsewhere", GuildID: "1100000000000000777"})
	dg := newSession(t, s)
	bad := newSession(t, s)
	bad.Identify.Token, bad.Token = "Bot nope", "Bot nope"
	cases := []struct {
		name   string
		call   func() (string, error)
		id     string // the id answered, when it works
		status int    // else the HTTP status
		code   int    // and Discord's JSON code
	}{
		{"the bot", func() (string, error) { u, err := dg.User("@me"); return idOf(u, err) }, s.BotID(), 0, 0},
		{"a bad token", func() (string, error) { u, err := bad.User("@me"); return idOf(u, err) }, "", http.StatusUnauthorized, 0},
		{"a user", func() (string, error) { u, err := dg.User(dana.ID); return idOf(u, err) }, dana.ID, 0, 0},
		{"an unknown user", func() (string, error) { u, err := dg.User("1100000000000000999"); return idOf(u, err) }, "", http.StatusNotFound, 10013},
		{"the guild", func() (string, error) { g, err := dg.Guild(s.GuildID()); return idOf(g, err) }, s.GuildID(), 0, 0},
		{"another guild", func() (string, error) { g, err := dg.Guild("1100000000000000777"); return idOf(g, err) }, "", http.StatusNotFound, 10004},
		{"a channel of the guild", func() (string, error) { c, err := dg.Channel(ours.ID); return idOf(c, err) }, ours.ID, 0, 0},
		{"a channel of another guild", func() (string, error) { c, err := dg.Channel(theirs.ID); return idOf(c, err) }, "", http.StatusForbidden, 50001},
		{"an unknown channel", func() (string, error) { c, err := dg.Channel("1100000000000000999"); return idOf(c, err) }, "", http.StatusNotFound, 10003},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.call()
			if tc.status == 0 {
				if err != nil || id != tc.id {
					t.Fatalf("got %q, %v; want %q", id, err, tc.id)
				}
				return
			}
			var re *discordgo.RESTError
			if !errors.As(err, &re) || re.Response.StatusCode != tc.status {
				t.Fatalf("got %q, %v; want HTTP %d", id, err, tc.status)
			}
			if tc.code != 0 && (re.Message == nil || re.Message.Code != tc.code) {
				t.Fatalf("got %v; want code %d", err, tc.code)
			}
		})
	}
}

func idOf[T interface {
	*discordgo.User | *discordgo.Guild | *discordgo.Channel
}](v T, err error) (string, error) {
	if err != nil {
		return "", err
	}
	switch x := any(v).(type) {
	case *discordgo.User:
		return x.ID, nil
	case *discordgo.Guild:
		return x.ID, nil
	case *discordgo.Channel:
		return x.ID, nil
	}
	return "", nil
}
