package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/batonhq/baton/internal/demo"
)

// demoChats are the chats `baton demo --chat` runs against, each with a
// sandbox of its own on loopback.
var demoChats = []string{"slack", "discord"}

// demoDiscordToken has a bot token's shape; the Discord sandbox accepts it.
// It is no secret: it opens nothing but the demo's fake.
const demoDiscordToken = "ZGVtbw.YmF0b24.ZmFrZWRpc2NvcmQtc2FuZGJveA"

// slackActionPrefix starts the action_id of baton's Slack buttons
// (bot/slack: "baton_" and the bot.Action).
const slackActionPrefix = "baton_"

// demoSandbox is the chat sandbox a demo runs: its page and how to stop it.
type demoSandbox struct {
	// url is the page, "http://127.0.0.1:N/".
	url string
	// what says on the banner what the page is; chat how baton talks to it.
	what, chat string
	close      func()
	// press presses a button of baton's action (a bot.Action name) in a
	// demo person's DM as the page would (the scenario's steps that act as
	// people); nil: none pressed.
	press func(person, actionID, value string) (bool, error)
}

// knownDemoChat reports whether --chat names a chat the demo runs; if not,
// it says so on stderr.
func knownDemoChat(chat string, stderr io.Writer) bool {
	if slices.Contains(demoChats, chat) {
		return true
	}
	fmt.Fprintf(stderr, "baton demo: --chat %q: the demo runs against %s\n", chat, strings.Join(demoChats, " or "))
	return false
}

// startSandbox starts the sandbox of chat ("slack" or "discord") on addr,
// seeded with cfg's people and services, and points cfg's chat section at
// it (the other chat is turned off). On a problem it prints it and returns
// nil and the exit code.
func (d *demoRun) startSandbox(cfg *Config, chat, addr string, stderr io.Writer) (*demoSandbox, int) {
	switch chat {
	case "slack":
		return d.startSlackSandbox(cfg, addr, stderr)
	case "discord":
		return d.startDiscordSandbox(cfg, addr, stderr)
	}
	knownDemoChat(chat, stderr)
	return nil, 2
}

// startSlackSandbox is the fake Slack seeded with the people and the alerts
// channels; baton's Slack bot talks to it over Socket Mode.
func (d *demoRun) startSlackSandbox(cfg *Config, addr string, stderr io.Writer) (*demoSandbox, int) {
	var channels []string
	for _, s := range cfg.Services {
		if s.AlertsChannel != "" {
			channels = append(channels, s.AlertsChannel)
		}
	}
	var people []demo.Person
	for _, p := range cfg.People {
		people = append(people, demo.Person{ID: p.ID, Name: p.Name, Email: p.Email, SlackID: p.Slack, TZ: p.Timezone})
	}
	sb, err := demo.StartSandbox(demo.SandboxOptions{
		Addr: addr, People: people, Channels: channels,
		BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken,
		Baton:    d.batonView,
		OnAction: d.story.Acted,
		Emails:   d.emails,
	})
	if err != nil {
		fmt.Fprintln(stderr, portProblem("the Slack sandbox", addr, "--sandbox", err))
		return nil, 1
	}
	cfg.Slack.APIURL = sb.Fake.APIURL()
	cfg.Slack.BotToken, cfg.Slack.AppToken = sb.Fake.BotToken(), sb.Fake.AppToken()
	cfg.Discord.Token = "" // one chat at a time in the demo
	slackPeople := map[string]string{}
	for _, p := range sb.People() {
		slackPeople[p.SlackID] = p.ID
		if pc := cfg.person(p.ID); pc != nil && pc.Slack == "" {
			pc.Slack = p.SlackID
		}
	}
	d.story.SetSandbox(sb.Fake, slackPeople)
	return &demoSandbox{url: sb.URL(), what: "the fake Slack", close: sb.Close,
		press: func(person, action, value string) (bool, error) {
			return sb.Press(person, slackActionPrefix+action, value)
		},
		chat: "baton's Slack bot over Socket Mode, against the sandbox (through the real slack-go SDK)"}, 0
}

// startDiscordSandbox is the fake Discord seeded with the people as guild
// members (their people[].discord snowflakes, or fresh ones), each
// service's discord_channel (named after its Slack alerts channel), and an
// "incidents" category; baton's Discord bot talks to it over the gateway
// and REST (discord.api_url), and Slack is turned off.
func (d *demoRun) startDiscordSandbox(cfg *Config, addr string, stderr io.Writer) (*demoSandbox, int) {
	var people []demo.Person
	for _, p := range cfg.People {
		people = append(people, demo.Person{ID: p.ID, Name: p.Name, Email: p.Email, DiscordID: p.Discord, TZ: p.Timezone})
	}
	var channels []demo.DiscordChannel
	for _, s := range cfg.Services {
		name := strings.TrimPrefix(s.AlertsChannel, "#")
		if name == "" {
			name = s.Name + "-alerts"
		}
		channels = append(channels, demo.DiscordChannel{ID: s.DiscordChannel, Name: name})
	}
	category := ""
	if cfg.Discord.CategoryID == "" {
		category = "incidents"
	}
	token := cfg.Discord.Token
	if token == "" {
		token = demoDiscordToken
	}
	sb, err := demo.StartDiscordSandbox(demo.DiscordSandboxOptions{
		Addr: addr, Token: token, People: people, Channels: channels, Category: category,
		Baton:    d.batonView,
		OnAction: d.story.Acted,
		Emails:   d.emails,
	})
	if err != nil {
		fmt.Fprintln(stderr, portProblem("the Discord sandbox", addr, "--sandbox", err))
		return nil, 1
	}
	cfg.Slack.BotToken, cfg.Slack.AppToken = "", "" // one chat at a time in the demo
	dc := &cfg.Discord
	dc.Token, dc.APIURL = sb.Fake.Token(), sb.Fake.APIURL()
	dc.ApplicationID, dc.GuildID = sb.Fake.AppID(), sb.Fake.GuildID()
	if category != "" {
		dc.CategoryID = sb.CategoryID()
	}
	if len(dc.AckReactions) == 0 {
		dc.AckReactions = []string{"✅", "👀"}
	}
	for i, c := range sb.Channels() {
		cfg.Services[i].DiscordChannel = c.ID
	}
	discordPeople := map[string]string{}
	for _, p := range sb.People() {
		discordPeople[p.DiscordID] = p.ID
		if pc := cfg.person(p.ID); pc != nil {
			pc.Discord = p.DiscordID
		}
	}
	d.story.SetDiscordSandbox(sb.Fake, discordPeople)
	return &demoSandbox{url: sb.URL(), what: "the fake Discord server", close: sb.Close, press: sb.Press,
		chat: "baton's Discord bot over the gateway and REST, against the sandbox (through the real discordgo SDK)"}, 0
}
