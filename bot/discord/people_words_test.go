package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/internal/fakediscord"
)

// TestNoEmailWordsOnDiscord: Discord cannot look people up by email, so
// what baton says of a person without a discord id (the serve log's and
// the timeline's reason, check-config --online's) names the missing id,
// and a stranger is told to get added by their discord user id alone.
func TestNoEmailWordsOnDiscord(t *testing.T) {
	s := newStory(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		name string
		say  func(t *testing.T) string
		want string
	}{
		{"a page's reason", func(t *testing.T) string {
			_, err := s.bot.People().ChatID(ctx, "erin")
			if err == nil {
				t.Fatal("erin reachable")
			}
			return err.Error()
		}, "erin has no discord id in config"},
		{"check-config --online", func(t *testing.T) string {
			return s.bot.Shifts(bot.ShiftOptions{}).NewChatCheck(5*time.Second).Why(ctx, "erin")
		}, "erin has no discord id in config"},
		{"a stranger's command", func(t *testing.T) string {
			in, err := s.fake.SlashCommand(s.mal.ID, s.alerts.ID, "incident", fakediscord.SubCommand("ack", fakediscord.StringOption("incident", "1")))
			if err != nil {
				t.Fatal(err)
			}
			return s.followup(in)
		}, "with your discord user id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.say(t)
			if !strings.Contains(got, tc.want) || strings.Contains(got, "email") {
				t.Errorf("said %q: want %q and no email", got, tc.want)
			}
		})
	}
}
