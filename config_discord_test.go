package main

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDiscordConfig: the discord section and services[].discord_channel, from
// the file and the environment, decode to DiscordConfig or are refused with a
// problem at the key's path; every other key of the example stays valid.
func TestDiscordConfig(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const (
		token    = "MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
		app      = "1100000000000000001"
		guild    = "1100000000000000002"
		channel  = "1100000000000000004"
		reaction = `  ack_reactions: ["✅", "👀"]`
		payments = `    alerts_channel: "#payments-alerts"` + "\n"
		carol    = `    discord: "112233445566778899"`
	)
	for _, anchor := range []string{reaction, payments, carol} {
		if !strings.Contains(string(example), anchor) {
			t.Fatalf("config.yaml changed: %q is an anchor of this test", anchor)
		}
	}
	on := []string{"BATON_DISCORD_TOKEN=" + token, "BATON_DISCORD_APPLICATION_ID=" + app, "BATON_DISCORD_GUILD_ID=" + guild}
	tests := []struct {
		name    string
		env     []string
		edit    [][2]string // replacements in config.yaml
		want    map[string]string
		check   func(t *testing.T, d DiscordConfig, s []ServiceConfig)
		problem map[string]string // path → start of the message; nil: valid
	}{
		{name: "off: the example as it is", check: func(t *testing.T, d DiscordConfig, _ []ServiceConfig) {
			if d.On() || d.APIURL != "https://discord.com/api/v10/" || !slices.Equal(d.AckReactions, []string{"✅", "👀"}) {
				t.Fatalf("defaults %+v", d)
			}
		}},
		{name: "on with a default alerts channel", env: append(on, "BATON_DISCORD_ALERTS_CHANNEL="+channel, "BATON_DISCORD_CATEGORY_ID=1100000000000000005"),
			check: func(t *testing.T, d DiscordConfig, _ []ServiceConfig) {
				if !d.On() || d.Token != token || d.ApplicationID != app || d.GuildID != guild || d.CategoryID != "1100000000000000005" || d.AlertsChannel != channel {
					t.Fatalf("decoded %+v", d)
				}
			}},
		{name: "on with a channel per service", env: on,
			edit: [][2]string{{payments, payments + `    discord_channel: "` + channel + `"` + "\n"},
				{`    alerts_channel: "#db-alerts"`, `    discord_channel: "1100000000000000006"` + "\n" + `    alerts_channel: "#db-alerts"`}},
			check: func(t *testing.T, _ DiscordConfig, s []ServiceConfig) {
				if s[0].DiscordChannel != "1100000000000000006" || s[1].DiscordChannel != channel {
					t.Fatalf("services %+v", s)
				}
			}},
		{name: "on: a service without a channel", env: on,
			edit:    [][2]string{{payments, payments + `    discord_channel: "` + channel + `"` + "\n"}},
			problem: map[string]string{"services[0].discord_channel": "must be set (a channel id) when discord.token is"}},
		{name: "on without application and guild", env: []string{"BATON_DISCORD_TOKEN=" + token, "BATON_DISCORD_ALERTS_CHANNEL=" + channel},
			problem: map[string]string{"discord.application_id": "must be set when discord.token is", "discord.guild_id": "must be set when discord.token is"}},
		{name: "token with Bot prefix", env: []string{"BATON_DISCORD_TOKEN=Bot " + token, "BATON_DISCORD_APPLICATION_ID=" + app, "BATON_DISCORD_GUILD_ID=" + guild, "BATON_DISCORD_ALERTS_CHANNEL=" + channel},
			problem: map[string]string{"discord.token": `must be the bot token alone: baton adds "Bot " itself`}},
		{name: "token of another shape", env: []string{"BATON_DISCORD_TOKEN=xoxb-123", "BATON_DISCORD_APPLICATION_ID=" + app, "BATON_DISCORD_GUILD_ID=" + guild, "BATON_DISCORD_ALERTS_CHANNEL=" + channel},
			problem: map[string]string{"discord.token": "is not a bot token"}},
		{name: "ids that are not snowflakes, token or not", env: []string{"BATON_DISCORD_APPLICATION_ID=1234567890123456", "BATON_DISCORD_GUILD_ID=123456789012345678901",
			"BATON_DISCORD_CATEGORY_ID=general", "BATON_DISCORD_ALERTS_CHANNEL=#alerts"},
			problem: map[string]string{"discord.application_id": `must be a Discord id, 17 to 20 digits (got "1234567890123456")`,
				"discord.guild_id": "must be a Discord id", "discord.category_id": "must be a Discord id", "discord.alerts_channel": "must be a Discord id"}},
		{name: "a channel name instead of an id", edit: [][2]string{{payments, payments + "    discord_channel: \"#payments\"\n"}},
			problem: map[string]string{"services[1].discord_channel": `must be a Discord channel id, 17 to 20 digits (got "#payments")`}},
		{name: "a person's id too short", edit: [][2]string{{carol, `    discord: "1122334455667788"`}},
			problem: map[string]string{"people[2].discord": "must be a Discord user id, 17 to 20 digits"}},
		{name: "api_url without the slash", env: []string{"BATON_DISCORD_API_URL=http://127.0.0.1:9/api/v10"},
			problem: map[string]string{"discord.api_url": "must be an http(s) URL ending in /"}},
		{name: "api_url not http", env: []string{"BATON_DISCORD_API_URL=ws://127.0.0.1:9/"},
			problem: map[string]string{"discord.api_url": "must be an http(s) URL ending in /"}},
		{name: "Slack reaction names", edit: [][2]string{{reaction, `  ack_reactions: [white_check_mark, "✅", ":eyes:", ":party_parrot:"]`}},
			problem: map[string]string{
				"discord.ack_reactions[0]": `"white_check_mark" is a Slack emoji name, which never matches a Discord reaction: Discord sends the emoji itself; use the emoji itself: "✅"`,
				"discord.ack_reactions[2]": `":eyes:" is a Slack emoji name, which never matches a Discord reaction: Discord sends the emoji itself; use the emoji itself: "👀"`,
				"discord.ack_reactions[3]": `":party_parrot:" is a Slack emoji name, which never matches a Discord reaction: Discord sends the emoji itself; use the emoji itself, such as "✅"`}},
		{name: "neither emoji nor name", edit: [][2]string{{reaction, `  ack_reactions: ["Ack!"]`}},
			problem: map[string]string{"discord.ack_reactions[0]": `must be a unicode emoji such as ✅ or a server emoji as name:id (got "Ack!")`}},
		{name: "server emoji and keycaps accepted", edit: [][2]string{{reaction, `  ack_reactions: ["ack:1100000000000000007", "1️⃣", "👍🏽"]`}},
			check: func(t *testing.T, d DiscordConfig, _ []ServiceConfig) {
				if len(d.AckReactions) != 3 {
					t.Fatalf("reactions %q", d.AckReactions)
				}
			}},
		{name: "on with no reactions", env: append(on, "BATON_DISCORD_ALERTS_CHANNEL="+channel), edit: [][2]string{{reaction, `  ack_reactions: []`}},
			problem: map[string]string{"discord.ack_reactions": "must name at least one emoji"}},
		{name: "both chats: Slack and Discord valid together", env: append(on, "BATON_DISCORD_ALERTS_CHANNEL="+channel, "BATON_SLACK_BOT_TOKEN=xoxb-1", "BATON_SLACK_APP_TOKEN=xapp-1"),
			check: func(t *testing.T, d DiscordConfig, _ []ServiceConfig) {
				if !d.On() || d.AlertsChannel != channel {
					t.Fatalf("decoded %+v", d)
				}
			}},
		{name: "both chats: Discord still checked", env: []string{"BATON_SLACK_BOT_TOKEN=xoxb-1", "BATON_SLACK_APP_TOKEN=xapp-1", "BATON_DISCORD_TOKEN=" + token, "BATON_DISCORD_ALERTS_CHANNEL=" + channel},
			problem: map[string]string{"discord.application_id": "must be set when discord.token is", "discord.guild_id": "must be set when discord.token is"}},
		{name: "both chats: Slack still checked", env: append(on, "BATON_DISCORD_ALERTS_CHANNEL="+channel, "BATON_SLACK_BOT_TOKEN=xoxb-1"),
			problem: map[string]string{"slack.app_token": "must be an app-level token starting with xapp-"}},
		{name: "a misspelt key", edit: [][2]string{{"  guild_id: \"\"", "  guild: \"\""}},
			problem: map[string]string{"discord.guild": "unknown key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := string(example)
			for _, e := range tc.edit {
				if !strings.Contains(body, e[0]) {
					t.Fatalf("anchor %q not in config.yaml", e[0])
				}
				body = strings.Replace(body, e[0], e[1], 1)
			}
			cfg, err := LoadConfig(writeConfig(t, body), tc.env)
			if tc.problem == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				tc.check(t, cfg.Discord, cfg.Services)
				return
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("err = %v, want problems", err)
			}
			got := map[string]string{}
			for _, p := range probs {
				got[p.Path] = p.Msg
			}
			for path, msg := range tc.problem {
				if !strings.HasPrefix(got[path], msg) {
					t.Errorf("%s: got %q, want it to start %q", path, got[path], msg)
				}
			}
			if len(got) != len(tc.problem) {
				t.Errorf("problems %v, want exactly %v", probs, tc.problem)
			}
		})
	}
}

// TestValidEmoji: what discord.ack_reactions accepts.
func TestValidEmoji(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"✅", true}, {"👀", true}, {"#️⃣", true}, {"1️⃣", true}, {"👩🏽‍💻", true}, {"ack:1100000000000000007", true},
		{"", false}, {"eyes", false}, {":eyes:", false}, {"✅ ", false}, {"12", false}, {"a✅", false},
		{"ack:123", false}, {strings.Repeat("✅", 11), false},
	} {
		if got := validEmoji(tc.in); got != tc.ok {
			t.Errorf("validEmoji(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

// TestDiscordWarnings: with Discord served, people are reachable by their
// discord id alone (an email cannot be looked up there), and the warnings
// say so; with Slack configured too, both are served and a person is
// unreachable only when neither chat reaches them.
func TestDiscordWarnings(t *testing.T) {
	const token = "MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.abcdefghij"
	for _, tc := range []struct {
		name  string
		slack bool
		edit  func(c *Config)
		want  []string
	}{
		{"discord alone", false, nil, []string{
			"alice is on rotation db-primary but has no discord id",
			"bob is on rotation db-primary but has no discord id",
		}},
		// alice has a slack id, bob an email (found on Slack), carol a discord id.
		{"slack and discord", true, nil, nil},
		{"slack and discord, bob in neither", true, func(c *Config) { c.People[1].Email = "" }, []string{
			"bob is on rotation db-primary but has no slack id, email or discord id: pages to them cannot be delivered and will go to the service's alerts channel and discord_channel",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig("config.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Discord.Token = token
			if tc.slack {
				cfg.Slack.BotToken = "xoxb-1"
			}
			if tc.edit != nil {
				tc.edit(cfg)
			}
			w := cfg.Warnings()
			if len(w) != len(tc.want) {
				t.Fatalf("warnings = %q, want %d", w, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.Contains(w[i], want) {
					t.Errorf("warning %d = %q, want it to say %q", i, w[i], want)
				}
			}
		})
	}
}

// TestDiscordDigestChannel: with Discord the chat, the digest channel is a
// channel id; a Slack-style name is refused.
func TestDiscordDigestChannel(t *testing.T) {
	env := func(digest string) []string {
		return []string{"BATON_DISCORD_TOKEN=MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.abcdefghij",
			"BATON_DISCORD_APPLICATION_ID=110000000000000001", "BATON_DISCORD_GUILD_ID=110000000000000002",
			"BATON_DISCORD_ALERTS_CHANNEL=110000000000000003", "BATON_ANALYTICS_DIGEST_CHANNEL=" + digest}
	}
	if _, err := LoadConfig("config.yaml", env("110000000000000004")); err != nil {
		t.Fatalf("a channel id: %v", err)
	}
	_, err := LoadConfig("config.yaml", env("#incident-digest"))
	if err == nil || !strings.Contains(err.Error(), "analytics.digest_channel: must be a Discord channel id") {
		t.Fatalf("a channel name: %v", err)
	}
}
