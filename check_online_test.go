package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/fakesmtp"
	"github.com/batonhq/baton/internal/redistest"
)

// check-config --online also checks the SMTP server (connect, EHLO and
// STARTTLS when smtp.starttls is true; here internal/fakesmtp, which
// offers no STARTTLS) and the people escalation levels name directly
// (user:erin, who has no Slack account here): each problem is an "error:"
// line and exit 1.
func TestCheckConfigOnlineSMTPAndTargets(t *testing.T) {
	mail := fakesmtp.Start(t)
	base, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const target, people = "      - targets: [user:alice]\n", "people:\n"
	if !strings.Contains(string(base), target) || !strings.Contains(string(base), people) {
		t.Fatal("config.yaml changed: payments-policy's user:alice level and people: are this test's anchors")
	}
	everyone := []fakeslack.User{{ID: "U012ABCDEF", Name: "alice"}, {Name: "bob", Email: "bob@example.com"}, {Name: "carol", Email: "carol@example.com"}}
	cases := []struct {
		name     string
		starttls bool
		erin     bool // erin has a Slack account
		code     int
		stdout   []string
	}{
		{"all fine", false, true, 0, []string{"smtp: " + mail.Addr + " answers EHLO", "targets: the 2 people named in escalation levels can be paged in slack"}},
		{"STARTTLS asked, not offered", true, true, 1, []string{"error: smtp: " + mail.Addr + ": smtp.starttls is true but the server does not offer STARTTLS"}},
		{"a user: target without a Slack account", false, false, 1, []string{"error: policy payments-policy level 2: user:erin cannot be reached in slack (no slack user with email erin@example.com): their pages would go to the fallback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(string(base), target, "      - targets: [user:erin]\n", 1)
			cfg = strings.Replace(cfg, people, people+"  - id: erin\n    name: Erin\n    email: erin@example.com\n", 1)
			cfg += "\nsmtp:\n  addr: " + mail.Addr + "\n  from: baton@example.org\n"
			if tc.starttls {
				cfg += "  starttls: true\n"
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			rs := redistest.Start(t)
			configSet(t, rs, "appendonly", "yes")
			fake := fakeslack.StartTest(t)
			for _, u := range everyone {
				fake.AddUser(u)
			}
			if tc.erin {
				fake.AddUser(fakeslack.User{Name: "erin", Email: "erin@example.com"})
			}
			env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_SLACK_BOT_TOKEN=" + fake.BotToken(),
				"BATON_SLACK_APP_TOKEN=xapp-test", "BATON_SLACK_API_URL=" + fake.APIURL()}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(redistest.Ctx(t), 30*time.Second)
			defer cancel()
			code := run(ctx, []string{"check-config", "--config", path, "--online"}, &stdout, &stderr, env, time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout does not say %q:\n%s", want, &stdout)
				}
			}
			// carol is on call (payments) and named by db-policy's level 2:
			// the rotations' check and the targets' share their answers, so
			// nobody is looked up twice (carol was, by both).
			asked := map[string]int{}
			for _, c := range fake.Calls("users.lookupByEmail") {
				asked[c.Params.Get("email")]++
			}
			for email, n := range asked {
				if n > 1 {
					t.Errorf("%s looked up %d times, want once", email, n)
				}
			}
			if asked["carol@example.com"] != 1 {
				t.Errorf("carol looked up %d times, want once: %v", asked["carol@example.com"], asked)
			}
		})
	}
}

// check-config --online checks Discord when discord.token is set, through
// discordgo against internal/fakediscord: the token (users/@me), the guild,
// every channel the config names, and each person's discord id; each
// refusal is one plain "error: discord: …" line.
func TestCheckConfigOnlineDiscord(t *testing.T) {
	const otherGuild, nothing = "1100000000000000777", "1100000000000000999"
	type world struct {
		fake                        *fakediscord.Server
		cfg                         *Config
		payments, alerts, text, cat fakediscord.Channel
	}
	cases := []struct {
		name   string
		edit   func(w *world)
		carol  bool // carol's discord id is a user of the fake
		bad    int
		stdout string
	}{
		{"all fine", nil, true, 0, "; 3 channels and 1 person's id found"},
		{"one channel", func(w *world) { w.cfg.Discord.AlertsChannel, w.cfg.Discord.CategoryID = "", "" }, true, 0, "; 1 channel and 1 person's id found"},
		{"a refused token: 401, and nothing else asked", func(w *world) { w.cfg.Discord.Token = "MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.zzzzzzzzzz" }, true, 1,
			"error: discord: users/@me: the bot token is refused (401 Unauthorized)"},
		{"an unknown guild: 10004", func(w *world) { w.cfg.Discord.GuildID = otherGuild }, true, 4,
			"error: discord: discord.guild_id " + otherGuild + ": unknown guild (10004)"},
		{"a service's channel in another server: 50001", func(w *world) {
			w.cfg.Services[0].DiscordChannel = w.fake.AddChannel(fakediscord.Channel{Name: "theirs", GuildID: otherGuild}).ID
		}, true, 1, "_channel " + "%s: missing access (50001)"},
		{"an unknown alerts channel: 10003", func(w *world) { w.cfg.Discord.AlertsChannel = nothing }, true, 1,
			"error: discord: discord.alerts_channel " + nothing + ": unknown channel (10003)"},
		{"a category_id that is a text channel", func(w *world) { w.cfg.Discord.CategoryID = w.text.ID }, true, 1,
			"error: discord: discord.category_id %s: #general is not a category"},
		{"a person's unknown discord id: 10013", nil, false, 1,
			"error: discord: people carol: discord 112233445566778899: unknown user (10013)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{fake: fakediscord.StartTest(t, fakediscord.WithToken(discordToken))}
			if tc.carol {
				w.fake.AddUser(fakediscord.User{ID: "112233445566778899", Username: "carol"})
			}
			w.payments = w.fake.AddChannel(fakediscord.Channel{Name: "payments-alerts"})
			w.alerts = w.fake.AddChannel(fakediscord.Channel{Name: "alerts"})
			w.text = w.fake.AddChannel(fakediscord.Channel{Name: "general"})
			w.cat = w.fake.AddChannel(fakediscord.Channel{Name: "incidents", Type: fakediscord.ChannelCategory})
			cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ALLOW_VOLATILE=true",
				"BATON_DISCORD_TOKEN=" + discordToken, "BATON_DISCORD_APPLICATION_ID=" + w.fake.AppID(),
				"BATON_DISCORD_GUILD_ID=" + w.fake.GuildID(), "BATON_DISCORD_CATEGORY_ID=" + w.cat.ID,
				"BATON_DISCORD_ALERTS_CHANNEL=" + w.alerts.ID, "BATON_DISCORD_API_URL=" + w.fake.APIURL()})
			if err != nil {
				t.Fatal(err)
			}
			w.cfg = cfg
			for i := range cfg.Services {
				if cfg.Services[i].Name == "payments" {
					cfg.Services[i].DiscordChannel = w.payments.ID
					cfg.Services[0], cfg.Services[i] = cfg.Services[i], cfg.Services[0]
				}
			}
			if tc.edit != nil {
				tc.edit(w)
			}
			want := tc.stdout
			if strings.Contains(want, "%s") {
				id := cfg.Services[0].DiscordChannel
				if strings.Contains(want, "category") {
					id = cfg.Discord.CategoryID
				}
				want = fmt.Sprintf(want, id)
			}
			var stdout bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if bad, _ := checkDiscordOnline(ctx, cfg, &stdout); bad != tc.bad {
				t.Errorf("%d problems, want %d\n%s", bad, tc.bad, &stdout)
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout does not say %q:\n%s", want, &stdout)
			}
			if tc.bad == 1 && strings.Count(stdout.String(), "error:") != 1 {
				t.Errorf("want exactly one error line:\n%s", &stdout)
			}
			if tc.name == "a refused token: 401, and nothing else asked" && len(w.fake.Calls(fakediscord.RouteGuildGet)) != 0 {
				t.Errorf("the guild was asked with a refused token")
			}
		})
	}
}

// TestCheckConfigOnlineDiscordRefusedTokenOnce: a Discord token refused
// is one error line, not one more per person on call or named by a level
// (each asked of Discord with the same refused token).
func TestCheckConfigOnlineDiscordRefusedTokenOnce(t *testing.T) {
	cases := []struct {
		name   string
		token  string
		code   int
		errors int
	}{
		{"refused", "MTEwMDAwMDAwMDAwMDAwMDAwMw.GhIjKl.zzzzzzzzzz", 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakediscord.StartTest(t, fakediscord.WithToken(discordToken))
			alerts := fake.AddChannel(fakediscord.Channel{Name: "alerts"})
			rs := redistest.Start(t)
			configSet(t, rs, "appendonly", "yes")
			env := []string{"BATON_REDIS_ADDR=" + rs.Addr,
				"BATON_DISCORD_TOKEN=" + tc.token, "BATON_DISCORD_APPLICATION_ID=" + fake.AppID(),
				"BATON_DISCORD_GUILD_ID=" + fake.GuildID(), "BATON_DISCORD_ALERTS_CHANNEL=" + alerts.ID,
				"BATON_DISCORD_API_URL=" + fake.APIURL()}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(redistest.Ctx(t), 30*time.Second)
			defer cancel()
			code := run(ctx, []string{"check-config", "--config", "config.yaml", "--online"}, &stdout, &stderr, env, time.Now)
			// "401 Unauthorized", not "401": the Redis address printed above may hold 401 in its port (127.0.0.1:40149 failed CI).
			if code != tc.code || strings.Count(stdout.String(), "error:") != tc.errors || strings.Count(stdout.String(), "401 Unauthorized") != 1 {
				t.Fatalf("exit %d (want %d), want %d error line(s) and the 401 said once\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.errors, &stdout, &stderr)
			}
		})
	}
}
