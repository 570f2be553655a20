package slack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// This file turns bot's message models into Block Kit. It is the only place
// that knows mrkdwn, mentions (<@U…>, <#C…>) and date tokens.

// actionPrefix marks baton's buttons: action_id "baton_ack", value "42".
const actionPrefix = "baton_"

// escape makes text safe inside mrkdwn: Slack's three control characters.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// unescape undoes what Slack does to the text of a slash command.
var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace

func msgOptions(m bot.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, true)}
	switch {
	case m.Card != nil:
		opts = append(opts, slack.MsgOptionBlocks(cardBlocks(m.Card)...))
	case m.Notice != nil:
		opts = append(opts, slack.MsgOptionBlocks(noticeBlocks(m.Notice)...))
	case m.Summary != nil:
		opts = append(opts, slack.MsgOptionBlocks(summaryBlocks(m.Summary)...))
	}
	if m.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(m.Thread))
	}
	return opts
}

func severityMark(s incident.Severity) string {
	switch s {
	case incident.SevCritical:
		return "🔴"
	case incident.SevWarning:
		return "🟠"
	}
	return "🔵"
}

func statusWord(s incident.Status) string {
	switch s {
	case incident.StatusTriggered:
		return "Triggered"
	case incident.StatusAcknowledged:
		return "Acknowledged"
	case incident.StatusResolved:
		return "Resolved"
	}
	return string(s)
}

// date is a Slack date token: shown in the reader's time zone, with a UTC fallback.
func date(t time.Time, format string) string {
	return fmt.Sprintf("<!date^%d^%s|%s>", t.Unix(), format, t.UTC().Format("Jan 2 15:04 UTC"))
}

func person(p *bot.PersonRef) string {
	switch {
	case p == nil:
		return "nobody yet"
	case p.ChatID != "":
		return "<@" + p.ChatID + ">"
	}
	return escape(p.Name)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func cardBlocks(c *bot.Card) []slack.Block {
	mark := severityMark(c.Severity)
	if c.Status == incident.StatusResolved {
		mark = "✅"
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(text.Truncate(fmt.Sprintf("%s %s %s", mark, c.Ref, c.Title), 150))),
	}
	if c.Lead != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(escape(c.Lead)), nil, nil))
	}
	source := escape(c.Source)
	if len(c.Links) > 0 {
		l := c.Links[0]
		text := l.Text
		if text == "" {
			text = c.Source
		}
		source = fmt.Sprintf("<%s|%s>", l.URL, escape(text))
	}
	alerts := strconv.FormatInt(c.AlertCount, 10)
	if c.AlertCount > 1 {
		alerts += ", last " + date(c.LastSeen, "{time}")
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Status*\n" + statusWord(c.Status)),
		mrkdwn("*Owner*\n" + person(c.Owner)),
		mrkdwn("*Service*\n" + escape(c.Service)),
		mrkdwn("*Severity*\n" + string(c.Severity)),
		mrkdwn("*Alerts*\n" + alerts),
		mrkdwn("*Source*\n" + source),
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if c.Channel != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Incident channel: <#"+c.Channel+">")))
	}
	if len(c.Timeline) > 0 {
		var b strings.Builder
		for _, l := range c.Timeline {
			fmt.Fprintf(&b, "• %s %s\n", date(l.At, "{time}"), escape(l.Text))
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(text.Truncate(strings.TrimRight(b.String(), "\n"), 2900))))
	}
	if c.Status == incident.StatusResolved {
		var parts []string
		if c.TimeToAck > 0 {
			parts = append(parts, "*Time to acknowledge* "+text.Duration(c.TimeToAck))
		}
		parts = append(parts, "*Time to resolve* "+text.Duration(c.TimeToResolve))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.Join(parts, "  ·  ")), nil, nil))
	}
	if len(c.Actions) > 0 {
		var els []slack.BlockElement
		value := strconv.FormatInt(c.Number, 10)
		for _, a := range c.Actions {
			btn := slack.NewButtonBlockElement(actionPrefix+string(a), value, plain(a.Label()))
			switch a {
			case bot.ActionAck:
				btn = btn.WithStyle(slack.StylePrimary)
			case bot.ActionEscalate:
				btn = btn.WithStyle(slack.StyleDanger)
			}
			els = append(els, btn)
		}
		blocks = append(blocks, slack.NewActionBlock("baton_actions_"+value, els...))
	}
	return blocks
}

func noticeBlocks(n *bot.Notice) []slack.Block {
	mark := severityMark(n.Severity)
	if n.Status == incident.StatusResolved {
		mark = "✅"
	}
	line := fmt.Sprintf("%s *%s* %s — %s, %s", mark, n.Ref, escape(n.Title), escape(n.Service), n.Severity)
	if n.Channel != "" {
		line += " → <#" + n.Channel + ">"
	}
	switch n.Status {
	case incident.StatusAcknowledged:
		line += " · *Acknowledged* by " + person(n.Owner)
	case incident.StatusResolved:
		line += " · *Resolved*"
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text.Truncate(line, 3000)), nil, nil)}
}

// summaryBlocks: the title as a header, the lines as bullets, the footer as
// context.
func summaryBlocks(s *bot.Summary) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(text.Truncate("📊 "+s.Title, 150)))}
	if len(s.Lines) > 0 {
		var b strings.Builder
		for _, l := range s.Lines {
			b.WriteString("• " + escape(l) + "\n")
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text.Truncate(strings.TrimRight(b.String(), "\n"), 3000)), nil, nil))
	}
	if s.Footer != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(text.Truncate(escape(s.Footer), 2000))))
	}
	return blocks
}
