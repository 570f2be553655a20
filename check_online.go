package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"sort"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	discordbot "github.com/batonhq/baton/bot/discord"
	"github.com/batonhq/baton/rotations"
)

// checkSMTPOnline is check-config --online's SMTP part: when smtp.addr is
// set, it connects, says EHLO and, with smtp.starttls, upgrades the
// connection with STARTTLS (checking the server's certificate for its
// host), then quits without sending anything. One line on stdout: "smtp: …"
// when it works, "error: smtp: …" and exit 1 when not. The login itself is
// not tried (it would need the password on this machine, and a refused
// login is seen at the first email's attempt anyway).
func checkSMTPOnline(ctx context.Context, s SMTPConfig, stdout io.Writer) int {
	if !s.On() {
		return 0
	}
	if err := probeSMTP(ctx, s, nil); err != nil {
		fmt.Fprintf(stdout, "error: smtp: %s: %v\n", s.Addr, err)
		return 1
	}
	how := "answers EHLO"
	if s.StartTLS {
		how = "answers EHLO and STARTTLS"
	}
	fmt.Fprintf(stdout, "smtp: %s %s\n", s.Addr, how)
	return 0
}

// probeSMTP is checkSMTPOnline's session; tlsConfig, when not nil, is used
// for STARTTLS instead of the system's roots (tests).
func probeSMTP(ctx context.Context, s SMTPConfig, tlsConfig *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("no SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("EHLO refused: %w", err)
	}
	if s.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp.starttls is true but the server does not offer STARTTLS, so every email would fail")
		}
		if tlsConfig == nil {
			tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS failed: %w", err)
		}
	}
	return c.Quit()
}

// checkTargetsOnline is check-config --online's check of the people that
// escalation levels name directly (user:<id>): each must be reachable in
// the served chat (their account and a DM), asked through cc, which the
// rotations' check has filled: a person on call and named by a level is
// asked about once. One "error: policy P level L: …" line per person who
// cannot be reached; their number.
func checkTargetsOnline(ctx context.Context, cfg *Config, cc *bot.ChatCheck, chat string, stdout io.Writer) int {
	where := map[string][]string{}
	for _, ep := range cfg.EscalationPolicies {
		for i, lv := range ep.Levels {
			for _, tg := range lv.Targets {
				if t, err := rotations.ParseTarget(tg); err == nil && t.Kind == "user" {
					where[t.Name] = append(where[t.Name], fmt.Sprintf("policy %s level %d", ep.Name, i+1))
				}
			}
		}
	}
	ids := make([]string, 0, len(where))
	for id := range where {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		if why := cc.Why(ctx, id); why != "" {
			bad++
			fmt.Fprintf(stdout, "error: %s: user:%s cannot be reached in %s (%s): their pages would go to the fallback\n",
				strings.Join(where[id], ", "), id, chat, why)
		}
	}
	if bad == 0 && len(ids) > 0 {
		fmt.Fprintf(stdout, "targets: the %d people named in escalation levels can be paged in %s\n", len(ids), chat)
	}
	return bad
}

// checkDiscordOnline is check-config --online's Discord part, when
// discord.token is set: through discordgo (the adapter's session, so
// discord.api_url applies), the bot itself (GET users/@me: a refused
// token is one error and the end), the guild (GET guilds/{guild_id}), each
// channel the config names (services' discord_channel,
// discord.alerts_channel, discord.category_id, which must be a category:
// GET channels/{id}, in the guild) and each person's discord id (GET
// users/{id}). One "error: discord: …" line per problem in plain words
// (401 a refused token, 10004 an unknown guild, 50001 missing access,
// 10003 an unknown channel, 10013 an unknown user), one "discord: …" line
// when all is well; the number of problems, and whether the token was
// refused (then nothing else was asked, and Discord cannot be asked about
// anyone's reachability either).
func checkDiscordOnline(ctx context.Context, cfg *Config, stdout io.Writer) (bad int, refused bool) {
	d := cfg.Discord
	if !d.On() {
		return 0, false
	}
	chat, err := discordbot.NewChat(discordbot.ChatOptions{Token: d.Token, GuildID: d.GuildID, APIURL: d.APIURL, Timeout: onlineStep})
	if err != nil {
		fmt.Fprintf(stdout, "error: %v\n", err)
		return 1, false
	}
	s := chat.Session() // each call bounded by its client's Timeout, onlineStep
	call := func() []discordgo.RequestOption { return []discordgo.RequestOption{discordgo.WithContext(ctx)} }
	me, err := s.User("@me", call()...)
	if err != nil {
		fmt.Fprintf(stdout, "error: discord: users/@me: %s\n", discordWhy(err, "the bot"))
		var re *discordgo.RESTError
		return 1, errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
	}
	guild := d.GuildID
	if g, err := s.Guild(guild, call()...); err != nil {
		bad++
		fmt.Fprintf(stdout, "error: discord: discord.guild_id %s: %s\n", guild, discordWhy(err, "the guild"))
	} else if g.Name != "" {
		guild = fmt.Sprintf("%s (%s)", g.Name, g.ID)
	}
	type named struct{ path, id string }
	var channels []named
	for _, sv := range cfg.Services {
		if sv.DiscordChannel != "" {
			channels = append(channels, named{"services." + sv.Name + ".discord_channel", sv.DiscordChannel})
		}
	}
	if d.AlertsChannel != "" {
		channels = append(channels, named{"discord.alerts_channel", d.AlertsChannel})
	}
	if d.CategoryID != "" {
		channels = append(channels, named{"discord.category_id", d.CategoryID})
	}
	for _, c := range channels {
		ch, err := s.Channel(c.id, call()...)
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(stdout, "error: discord: %s %s: %s\n", c.path, c.id, discordWhy(err, "the channel"))
		case ch.GuildID != d.GuildID:
			bad++
			fmt.Fprintf(stdout, "error: discord: %s %s: the channel is not in guild %s\n", c.path, c.id, d.GuildID)
		case c.path == "discord.category_id" && ch.Type != discordgo.ChannelTypeGuildCategory:
			bad++
			fmt.Fprintf(stdout, "error: discord: %s %s: #%s is not a category\n", c.path, c.id, ch.Name)
		}
	}
	people := 0
	for _, p := range cfg.People {
		if p.Discord == "" {
			continue
		}
		people++
		if _, err := s.User(p.Discord, call()...); err != nil {
			bad++
			fmt.Fprintf(stdout, "error: discord: people %s: discord %s: %s\n", p.ID, p.Discord, discordWhy(err, "the user"))
		}
	}
	if bad == 0 {
		fmt.Fprintf(stdout, "discord: the token works (bot %s, %s); guild %s; %d %s and %d %s found\n",
			me.Username, me.ID, guild, len(channels), plural(len(channels), "channel", "channels"),
			people, plural(people, "person's id", "people's ids"))
	}
	return bad, false
}

// discordWhy says in plain words why Discord refused a lookup of what.
func discordWhy(err error, what string) string {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Sprintf("Discord did not answer: %v", err)
	}
	code := 0
	if re.Message != nil {
		code = re.Message.Code
	}
	switch {
	case re.Response.StatusCode == http.StatusUnauthorized:
		return "the bot token is refused (401 Unauthorized): check discord.token (BATON_DISCORD_TOKEN), the bot token alone as the Developer Portal shows it"
	case code == discordgo.ErrCodeUnknownGuild:
		return "unknown guild (10004): the id is wrong, or the bot was never invited to that server"
	case code == discordgo.ErrCodeMissingAccess:
		return fmt.Sprintf("missing access (50001): the bot cannot see %s (not invited there, or no View Channel permission)", what)
	case code == discordgo.ErrCodeUnknownChannel:
		return "unknown channel (10003): no channel has this id"
	case code == discordgo.ErrCodeUnknownUser:
		return "unknown user (10013): no Discord user has this id"
	}
	return fmt.Sprintf("Discord answered %s: %v", re.Response.Status, err)
}
