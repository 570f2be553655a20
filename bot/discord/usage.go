package discord

import (
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
)

var _ bot.CommandUsage = (*Chat)(nil)

// CommandUsage implements bot.CommandUsage: how verb v is typed as the
// slash command registered (Commands), its options as Discord's client
// shows them, name:value, optional ones in brackets; named makes the
// incident option required ("/incident ack incident:42 [note:…]").
func (c *Chat) CommandUsage(v bot.Verb, named bool) string {
	command, sub := "incident", string(v)
	switch v {
	case bot.VerbOnCall:
		command, sub = "oncall", "show"
	case bot.VerbOverride:
		command, sub = "oncall", "override"
	case bot.VerbOnHelp:
		sub = string(bot.VerbHelp)
	}
	for _, cmd := range Commands() {
		if cmd.Name != command {
			continue
		}
		for _, o := range cmd.Options {
			if o.Type == discordgo.ApplicationCommandOptionSubCommand && o.Name == sub {
				return usageOf("/"+command+" "+sub, o.Options, named)
			}
		}
	}
	return "/incident help"
}

// usageOf writes a sub-command's options after its name: required ones
// first, as Discord's client asks for them.
func usageOf(head string, opts []*discordgo.ApplicationCommandOption, named bool) string {
	var req, opt []string
	for _, o := range opts {
		s := o.Name + ":" + placeholder(o)
		if o.Required || (named && o.Name == "incident") {
			req = append(req, s)
		} else {
			opt = append(opt, "["+s+"]")
		}
	}
	return strings.Join(append(append([]string{head}, req...), opt...), " ")
}

// placeholder is an option's example value.
func placeholder(o *discordgo.ApplicationCommandOption) string {
	switch {
	case o.Type == discordgo.ApplicationCommandOptionInteger && o.Name == "incident":
		return "42"
	case o.Type == discordgo.ApplicationCommandOptionUser:
		return "@someone"
	case o.Type == discordgo.ApplicationCommandOptionBoolean:
		return "True"
	case len(o.Choices) > 0:
		vals := make([]string, len(o.Choices))
		for i, ch := range o.Choices {
			vals[i], _ = ch.Value.(string)
		}
		return strings.Join(vals, "|")
	case o.Name == "duration":
		return "2h"
	}
	return "<" + o.Name + ">"
}
