package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/text"
)

// The story on Discord: the fake Discord has no event log like the fake
// Slack's, so the story compares each new snapshot of the guild with the
// last and tells what the bot did: channels made, notices and cards
// posted, pinned and edited, ephemeral answers, charts, the gateway session
// coming and going, and how fast baton answered each interaction the page
// sent (Discord allows 3 s).

// SetDiscordSandbox sets Discord and the people's Discord ids (to demo
// person ids) once the Discord sandbox has started; the page may already
// be acting (Acted) when it is called.
func (s *Story) SetDiscordSandbox(fake *fakediscord.Server, discordPeople map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Discord, s.SlackPeople = fake, discordPeople
}

// discordSeen is what the story has told of the guild so far.
type discordSeen struct {
	started   bool
	channels  map[string]fakediscord.GuildChannel
	messages  map[string]seenMessage
	connected int
	// pending are the interactions the page sent that baton has not
	// answered yet: id → what it was, for the line that tells the answer.
	pending map[string]string
}

type seenMessage struct {
	edits  int
	pinned bool
}

// followDiscord tells the Discord side's changes until ctx ends.
func (s *Story) followDiscord(ctx context.Context, fake *fakediscord.Server) {
	feed, stop := fake.Subscribe()
	defer stop()
	s.tellDiscord(fake.Snapshot())
	for {
		select {
		case <-ctx.Done():
			return
		case <-feed:
			s.tellDiscord(fake.Snapshot())
		}
	}
}

// tellDiscord tells what changed between the last snapshot and g. The
// first snapshot is the guild as the demo seeded it: nothing to tell.
func (s *Story) tellDiscord(g fakediscord.Guild) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := &s.discord
	first := !ds.started
	if first {
		ds.started = true
		ds.channels, ds.messages = map[string]fakediscord.GuildChannel{}, map[string]seenMessage{}
	}
	bot := g.BotID
	for _, c := range g.Channels {
		if _, ok := ds.channels[c.ID]; !ok && !first && c.CreatedBy == bot && c.Type == fakediscord.ChannelText {
			under := ""
			for _, p := range g.Channels {
				if p.ID == c.ParentID && c.ParentID != "" {
					under = " under " + p.Name
				}
			}
			s.lineLocked("channel #%s created%s", c.Name, under)
		}
		ds.channels[c.ID] = c
	}
	for _, c := range g.Channels {
		for _, m := range g.Messages[c.ID] {
			old, seen := ds.messages[m.ID]
			ds.messages[m.ID] = seenMessage{edits: m.Edits, pinned: m.Pinned}
			if first || m.Author != bot {
				continue
			}
			where := s.discordWhereLocked(c)
			switch {
			case !seen:
				s.tellDiscordPostLocked(c, m, where, bot)
			case m.Edits > old.edits:
				switch {
				case c.Type == fakediscord.ChannelDM:
					s.lineLocked("page in %s updated", where)
				case c.CreatedBy != bot:
					s.lineLocked("notice updated in %s", where)
				default:
					s.lineLocked("card updated in %s", where)
				}
			}
			if m.Pinned && !old.pinned {
				s.lineLocked("incident card pinned in %s", where)
			}
		}
	}
	switch {
	case g.Connected > 0 && ds.connected == 0:
		s.lineLocked("bot connected to the sandbox over the gateway")
	case g.Connected == 0 && ds.connected > 0:
		s.lineLocked("bot disconnected from the sandbox")
	}
	ds.connected = g.Connected
	s.tellAnswersLocked()
}

func (s *Story) tellDiscordPostLocked(c fakediscord.GuildChannel, m fakediscord.Message, where, bot string) {
	switch {
	case m.EphemeralTo != "":
		say := m.Content
		if say == "" {
			for _, e := range m.EmbedList() {
				say = e.Title + " " + e.Description
			}
		}
		s.lineLocked("baton answered %s (only they see it): %s", s.person(m.EphemeralTo), text.Truncate(oneLine(discordPlain(say)), 120))
	case len(m.Files) > 0:
		s.lineLocked("chart shared in %s", where)
	case c.Type == fakediscord.ChannelDM:
		// Pages are told from the incidents' timelines; the other DMs
		// (a page-in, the ack lease's question, a handoff's) as on Slack.
		s.tellDMLocked(c.Recipient, discordPlain(m.Content))
	case m.Interaction != "":
		s.lineLocked("baton answered in %s", where)
	case s.tellChannelPostLocked(c.Name, discordPlain(m.Content)):
	case c.CreatedBy != bot:
		s.lineLocked("notice posted in %s", where)
	}
}

// discordWhereLocked names a Discord channel for the story: "#name", or
// "alice's DM".
func (s *Story) discordWhereLocked(c fakediscord.GuildChannel) string {
	if c.Type == fakediscord.ChannelDM {
		return s.person(c.Recipient) + "'s DM"
	}
	return "#" + c.Name
}

// discordWhere is discordWhereLocked for a channel id.
func (s *Story) discordWhere(channelID string) (string, bool) {
	if s.Discord == nil {
		return "", false
	}
	if c, ok := s.discord.channels[channelID]; ok {
		return s.discordWhereLocked(c), true
	}
	for _, c := range s.Discord.Snapshot().Channels {
		if c.ID == channelID {
			return s.discordWhereLocked(c), true
		}
	}
	return "", false
}

// watchInteractionLocked tells, once baton has answered the interaction id the
// page sent, how long it took (Discord allows 3 s). Callers hold s.mu.
func (s *Story) watchInteractionLocked(id, what string) {
	if s.Discord == nil || id == "" {
		return
	}
	if s.discord.pending == nil {
		s.discord.pending = map[string]string{}
	}
	s.discord.pending[id] = what
}

// tellAnswersLocked tells the interactions baton answered since the last
// look. Callers hold s.mu.
func (s *Story) tellAnswersLocked() {
	for id, what := range s.discord.pending {
		in, ok := s.Discord.Interaction(id)
		switch {
		case !ok:
			delete(s.discord.pending, id)
		case in.Responded:
			s.lineLocked("baton answered %s in %s (%s)", what, in.RespondedIn.Round(time.Millisecond), callbackName(in.ResponseType))
			delete(s.discord.pending, id)
		case in.Late > 0:
			s.lineLocked("baton answered %s too late: Discord said Unknown interaction", what)
			delete(s.discord.pending, id)
		}
	}
}

func callbackName(t int) string {
	switch t {
	case fakediscord.CallbackMessage:
		return "a reply"
	case fakediscord.CallbackDeferredMessage:
		return "deferred, then a follow-up"
	case fakediscord.CallbackDeferredUpdate:
		return "deferred update"
	case fakediscord.CallbackUpdateMessage:
		return "the message updated in place"
	}
	return fmt.Sprintf("callback type %d", t)
}

// discordPlain is Discord message text as a person reads it: the
// backslash bot/discord puts before each markdown character removed
// (escaped text shows as typed in Discord; the terminal shows it plain).
var discordPlain = func() func(string) string {
	var pairs []string
	for _, c := range `\*_~` + "`" + `|>#-[]()<@:.` {
		pairs = append(pairs, `\`+string(c), string(c))
	}
	return strings.NewReplacer(pairs...).Replace
}()

// isUnicodeEmoji reports whether a reaction is a unicode emoji (Discord's)
// rather than a Slack name.
func isUnicodeEmoji(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r > 0x7f }) >= 0
}
