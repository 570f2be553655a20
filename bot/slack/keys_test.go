package slack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/internal/fakeslack"
)

// A message that stands for several things (a bundle of pages) is found by
// any of its keys, through slack-go and message metadata, and only by
// them; Lookup reports them all.
func TestMessageFoundByAnyOfItsKeys(t *testing.T) {
	fake := fakeslack.StartTest(t)
	ch := fake.AddChannel(fakeslack.Channel{Name: "alerts"})
	chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: fake.BotToken(), APIURL: fake.APIURL(), Limits: map[string]slackbot.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := chat.Post(ctx, ch.ID, bot.Message{Text: "one", Key: "page:1/3/first/dana"}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"page:2/3/first/dana", "page:3/3/first/dana", "page:4/3/first/dana"}
	_, ts, err := chat.Post(ctx, ch.ID, bot.Message{Text: "bundle", Key: keys[0], Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, want string
	}{
		{"the bundle's key", keys[0], ts},
		{"a later key in the bundle", keys[2], ts},
		{"a key no message carries", "page:5/3/first/dana", ""},
		{"a prefix of a carried key", "page:3/3/first", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chat.FindKey(ctx, ch.ID, "", tc.key, time.Time{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("FindKey(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
	// FindKeys answers the same questions with one history read.
	asked := make([]string, len(cases))
	for i, tc := range cases {
		asked[i] = tc.key
	}
	before := len(fake.Calls("conversations.history"))
	found, err := chat.FindKeys(ctx, ch.ID, asked, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if got, ok := found[tc.key]; got != tc.want || ok != (tc.want != "") {
			t.Errorf("FindKeys: %s (%q) = %q, %v; want %q", tc.name, tc.key, got, ok, tc.want)
		}
	}
	if n := len(fake.Calls("conversations.history")) - before; n != 1 {
		t.Errorf("FindKeys made %d history reads, want 1", n)
	}
	p, err := chat.Lookup(ctx, ch.ID, ts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != keys[0] || !slices.Equal(p.Keys, keys) {
		t.Fatalf("Lookup: key %q keys %v, want %q %v", p.Key, p.Keys, keys[0], keys)
	}
}
