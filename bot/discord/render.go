package discord

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// This file turns bot's message models into Discord messages: content, one
// embed, buttons. It is the only place that knows Discord's markdown and
// mentions.
//
// Alert text is hostile: a title, service, note or link text can hold
// @everyone, <@&role>, <@user>, markdown or a masked link of its own. The rules:
//
//   - Every string that did not come from baton goes through escape, which
//     puts a backslash before each of Discord's markdown characters
//     (\ * _ ~ ` | > # - [ ] ( ) < @ : and .), so it shows as typed and
//     forms no mention, link, heading or quote, and removes bidi controls.
//   - Every message sets allowed_mentions to exactly the people baton means
//     to notify (the card's owner when they have a Discord id, in a guild
//     channel; nobody in a DM, which notifies its recipient anyway and
//     must not start by naming someone else), parse empty: a mention that
//     slipped through would notify nobody.
//   - A link is a masked link only when its URL passes incident.CheckLinkURL;
//     otherwise its escaped label and "(link not shown: unsafe URL)".
//   - Limits are kept here, not left to a 400: content 2,000 characters,
//     embed description 4,096, title 256, field values 1,024, one row of at
//     most 3 buttons (custom_id "baton:<action>:<n>", well under 100).

// Discord's limits that rendering keeps.
const (
	maxContent     = 2000
	maxDescription = 4096
	maxTitle       = 256
	maxFieldValue  = 1024
	maxNonce       = 25
)

// bidiControls reorder text on screen; they are removed from alert text.
var bidiControls = []string{
	"\u202A", "\u202B", "\u202C", "\u202D", "\u202E",
	"\u2066", "\u2067", "\u2068", "\u2069",
	"\u200E", "\u200F",
}

var escape = func() func(string) string {
	var pairs []string
	for _, c := range escapable {
		pairs = append(pairs, string(c), `\`+string(c))
	}
	for _, b := range bidiControls {
		pairs = append(pairs, b, "")
	}
	return strings.NewReplacer(pairs...).Replace
}()

// escapable are the characters escape puts a backslash before.
const escapable = `\*_~` + "`" + `|>#-[]()<@:.`

// unescape undoes escape (bidi controls aside): the text baton posted, as
// bot reads it back (Chat.Lookup: the first INC-<n> in it names the incident).
func unescape(s string) string {
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if !escaped && r == '\\' {
			escaped = true
			continue
		}
		if escaped && !strings.ContainsRune(escapable, r) {
			b.WriteByte('\\')
		}
		escaped = false
		b.WriteRune(r)
	}
	if escaped {
		b.WriteByte('\\')
	}
	return b.String()
}

// customIDPrefix marks baton's buttons: custom_id "baton:ack:42".
const customIDPrefix = "baton:"

// CustomID is the custom_id of a card's button.
func CustomID(a bot.Action, n int64) string {
	return customIDPrefix + string(a) + ":" + strconv.FormatInt(n, 10)
}

// AckAllID is the custom_id of a bundle's "Acknowledge all": the bundle's
// id, not an incident number ("baton:ackall:b0123456789abcdef", 30 characters).
func AckAllID(bundle string) string {
	return customIDPrefix + string(bot.ActionAckAll) + ":" + bundle
}

// ParseAckAllID reads a bundle's "Acknowledge all" custom_id back.
func ParseAckAllID(id string) (bundle string, ok bool) {
	return strings.CutPrefix(id, customIDPrefix+string(bot.ActionAckAll)+":")
}

// ParseCustomID reads a button's custom_id back; ok is false for anything
// that is not one of baton's.
func ParseCustomID(id string) (bot.Action, int64, bool) {
	rest, ok := strings.CutPrefix(id, customIDPrefix)
	if !ok {
		return "", 0, false
	}
	name, num, ok := strings.Cut(rest, ":")
	a, okA := bot.ParseAction(name)
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || !okA || err != nil || n <= 0 {
		return "", 0, false
	}
	return a, n, true
}

// nonce is the message nonce of a bot.Message.Key: Discord keeps nonces of
// at most 25 characters, so the key is hashed (SHA-256, base64url, 25 chars).
// Posted with enforce_nonce, a retried post of the same key within Discord's
// window returns the first message instead of a second.
func nonce(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:maxNonce]
}

// outgoing is a message as baton posts it: discordgo's MessageSend has no
// nonce fields, so the body is baton's own.
type outgoing struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
	Flags           discordgo.MessageFlags            `json:"flags,omitempty"`
}

// render turns m into Discord's message shape for a guild channel.
func render(m bot.Message) outgoing { return renderIn(m, false) }

// renderIn turns m into Discord's message shape; dm says it goes to a DM
// channel, where a card mentions nobody: the DM notifies its recipient, and
// the card's owner (another person, for a page-in or a notify page) does
// not see the DM.
func renderIn(m bot.Message, dm bool) outgoing {
	out := outgoing{
		Content:         text.Truncate(escape(m.Text), maxContent),
		Embeds:          []*discordgo.MessageEmbed{},
		Components:      []discordgo.MessageComponent{},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
		Nonce:           nonce(m.Key),
		EnforceNonce:    m.Key != "",
	}
	var users []string
	switch {
	case m.Card != nil:
		e, mention := cardEmbed(m.Card)
		out.Embeds = append(out.Embeds, e)
		if mention != "" && !dm {
			users = append(users, mention)
			out.Content = text.Truncate("<@"+mention+"> "+out.Content, maxContent)
		}
		if row := buttons(m.Card); row != nil {
			out.Components = append(out.Components, *row)
		}
	case m.Notice != nil:
		out.Embeds = append(out.Embeds, noticeEmbed(m.Notice))
	case len(m.Notices) > 0:
		out.Content = bot.NoticesLead(len(m.Notices)) // baton's own words, nothing to escape
		out.Embeds = append(out.Embeds, noticesEmbed(m.Notices))
	case m.Summary != nil:
		out.Embeds = append(out.Embeds, summaryEmbed(m.Summary))
	case m.Bundle != nil:
		out.Embeds = append(out.Embeds, bundleEmbed(m.Bundle))
		out.Components = append(out.Components, bundleButtons(m.Bundle)...)
	case len(m.Buttons) > 0:
		row := discordgo.ActionsRow{}
		for _, b := range m.Buttons {
			row.Components = append(row.Components, discordgo.Button{Label: b.Action.Label(), Style: discordgo.PrimaryButton, CustomID: CustomID(b.Action, b.Value)})
		}
		out.Components = append(out.Components, row)
	}
	out.AllowedMentions.Users = users
	return out
}

func severityColor(s incident.Severity, st incident.Status) int {
	switch {
	case st == incident.StatusResolved:
		return 0x2EB67D
	case s == incident.SevCritical:
		return 0xE01E5A
	case s == incident.SevWarning:
		return 0xECB22E
	}
	return 0x36C5F0
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

// person is a name on a card: a mention of their Discord id (which
// allowed_mentions lets through only for the owner) or their escaped name.
func person(p *bot.PersonRef) string {
	switch {
	case p == nil:
		return "nobody yet"
	case p.ChatID != "":
		return "<@" + p.ChatID + ">"
	}
	return escape(p.Name)
}

// ts is a Discord timestamp token, shown in the reader's zone.
func ts(t time.Time) string { return fmt.Sprintf("<t:%d:t>", t.Unix()) }

const unsafeLinkNote = " (link not shown: unsafe URL)"

// link is a masked link when its URL is safe, else the escaped label.
func link(l incident.Link, label string) string {
	if l.Text != "" {
		label = l.Text
	}
	if incident.CheckLinkURL(l.URL) != nil || strings.ContainsAny(l.URL, "()") {
		return escape(label) + unsafeLinkNote
	}
	return "[" + escape(label) + "](" + l.URL + ")"
}

// cardEmbed renders the card; mention is the owner's Discord id when the
// card should notify them ("" otherwise).
func cardEmbed(c *bot.Card) (*discordgo.MessageEmbed, string) {
	var d strings.Builder
	if c.Lead != "" {
		d.WriteString(escape(c.Lead) + "\n\n")
	}
	source := escape(c.Source)
	if len(c.Links) > 0 {
		source = link(c.Links[0], c.Source)
	}
	alerts := strconv.FormatInt(c.AlertCount, 10)
	if c.AlertCount > 1 {
		alerts += ", last " + ts(c.LastSeen)
	}
	fields := []*discordgo.MessageEmbedField{
		{Name: "Status", Value: statusWord(c.Status), Inline: true},
		{Name: "Owner", Value: person(c.Owner), Inline: true},
		{Name: "Service", Value: text.Truncate(escape(c.Service), maxFieldValue), Inline: true},
		{Name: "Severity", Value: text.Truncate(escape(string(c.Severity)), maxFieldValue), Inline: true},
		{Name: "Alerts", Value: alerts, Inline: true},
		{Name: "Source", Value: text.Truncate(source, maxFieldValue), Inline: true},
	}
	if c.Channel != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Channel", Value: "<#" + c.Channel + ">", Inline: true})
	}
	if len(c.Responders) > 0 {
		names := make([]string, len(c.Responders))
		for i := range c.Responders {
			names[i] = person(&c.Responders[i])
		}
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Responders", Value: text.Truncate(strings.Join(names, ", "), maxFieldValue), Inline: true})
	}
	if c.Maintenance != "" {
		d.WriteString(escape(c.Maintenance) + "\n\n")
	}
	for _, l := range c.Timeline {
		d.WriteString(ts(l.At) + " " + escape(l.Text) + "\n")
	}
	if c.TimeToResolve > 0 {
		fmt.Fprintf(&d, "Resolved in %s", text.Duration(c.TimeToResolve))
		if c.TimeToAck > 0 {
			fmt.Fprintf(&d, ", acknowledged in %s", text.Duration(c.TimeToAck))
		}
	}
	e := &discordgo.MessageEmbed{
		Title:       text.Truncate(c.Ref+" "+escape(c.Title), maxTitle),
		Description: text.Truncate(strings.TrimSpace(d.String()), maxDescription),
		Color:       severityColor(c.Severity, c.Status),
		Fields:      fields,
		Timestamp:   c.Opened.UTC().Format(time.RFC3339),
	}
	mention := ""
	if c.Owner != nil && c.Owner.ChatID != "" && c.Status != incident.StatusResolved {
		mention = c.Owner.ChatID
	}
	return e, mention
}

// buttons is the card's row of actions; nil when it has none.
func buttons(c *bot.Card) *discordgo.ActionsRow {
	if len(c.Actions) == 0 {
		return nil
	}
	row := discordgo.ActionsRow{}
	for _, a := range c.Actions {
		style := discordgo.SecondaryButton
		switch a {
		case bot.ActionAck:
			style = discordgo.PrimaryButton
		case bot.ActionResolve:
			style = discordgo.SuccessButton
		case bot.ActionEscalate:
			style = discordgo.DangerButton
		}
		row.Components = append(row.Components, discordgo.Button{Label: c.ActionLabel(a), Style: style, CustomID: CustomID(a, c.Number)})
	}
	return &row
}

// bundleEmbed lists a bundle's incidents, one line each, in an embed's
// description (4,096 characters; those that do not fit are counted), under
// its title (bot.Bundle.Title: the incidents paged for and those for
// information counted apart), coloured by its mark: its first incident's
// severity while any needs an acknowledgement, green once none does, the
// colour of an info incident when it only tells.
func bundleEmbed(b *bot.Bundle) *discordgo.MessageEmbed {
	var d strings.Builder
	d.WriteString(escape(b.Lead()))
	for i, e := range b.Entries {
		line := fmt.Sprintf("\n**%s** %s — %s · %s", e.Ref, escape(text.Truncate(e.Title, 100)), escape(e.Service), escape(string(e.Severity)))
		if e.Level > 0 {
			line += fmt.Sprintf(" · level %d", e.Level)
		}
		line += escape(e.StatusWords())
		if e.Channel != "" {
			line += " · <#" + e.Channel + ">"
		}
		more := fmt.Sprintf("\n… and %d more. %s", len(b.Entries)-i, b.ListPointer(listCommand))
		if len([]rune(d.String()))+len([]rune(line))+len(more) > maxDescription {
			d.WriteString(more)
			break
		}
		d.WriteString(line)
	}
	color := 0
	if len(b.Entries) > 0 {
		color = severityColor(b.Entries[0].Severity, incident.StatusTriggered)
	}
	switch b.Mark() {
	case bot.MarkDone:
		color = severityColor(incident.SevCritical, incident.StatusResolved)
	case bot.MarkInfo:
		color = severityColor(incident.SevInfo, incident.StatusTriggered)
	}
	return &discordgo.MessageEmbed{Title: b.Title(), Description: d.String(), Color: color}
}

// listCommand is /incident list with the option that narrows it (words:
// Bundle.ListWords), as typed in Discord: "/incident list show:mine".
func listCommand(words string) string {
	if words == "" {
		return "/incident list"
	}
	return "/incident list show:" + words
}

// bundleButtons are a bundle's rows (Discord allows 5 rows of 5 buttons):
// an Acknowledge for each of the first bot.BundleListed actionable
// incidents, five a row, then a row with "Acknowledge all N"; none when
// nothing is left to acknowledge.
func bundleButtons(b *bot.Bundle) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	row := discordgo.ActionsRow{}
	shown := 0
	for _, e := range b.Entries {
		actions := b.EntryActions(e)
		if len(actions) == 0 || shown == bot.BundleListed {
			continue
		}
		if len(actions) > 1 {
			// A lone page (the rest only tell) keeps a single page's
			// buttons, as on its card; it is the only actionable entry.
			rows = append(rows, *buttons(&bot.Card{Number: e.Number, Actions: actions}))
			continue
		}
		shown++
		row.Components = append(row.Components, discordgo.Button{Label: "Ack " + e.Ref, Style: discordgo.SecondaryButton,
			CustomID: CustomID(bot.ActionAck, e.Number)})
		if len(row.Components) == 5 {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	if n := b.AckAllCount(); n > 0 {
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{
			Label: fmt.Sprintf("%s %d", bot.ActionAckAll.Label(), n), Style: discordgo.PrimaryButton, CustomID: AckAllID(b.ID)}}})
	}
	return rows
}

func noticeEmbed(n *bot.Notice) *discordgo.MessageEmbed {
	desc := escape(n.Service) + " · " + escape(string(n.Severity))
	if n.Channel != "" {
		desc += " · <#" + n.Channel + ">"
	}
	if s := n.StatusLine(); s != "" {
		desc += escape(s)
	}
	return &discordgo.MessageEmbed{
		Title:       text.Truncate(n.Ref+" "+escape(n.Title), maxTitle),
		Description: text.Truncate(desc, maxDescription),
		Color:       severityColor(n.Severity, n.Status),
	}
}

// noticesEmbed is a bundle of notices (bot/notices.go): a line per
// incident, in the order they came.
func noticesEmbed(ns []bot.Notice) *discordgo.MessageEmbed {
	lines := make([]string, 0, len(ns))
	worst := ns[0]
	for _, n := range ns {
		lines = append(lines, escape(n.Ref+" ["+string(n.Severity)+"] "+text.Truncate(n.Title, 80)+" ("+n.Service+")"))
		if n.Severity == incident.SevCritical {
			worst = n
		}
	}
	return &discordgo.MessageEmbed{
		Title:       text.Truncate(bot.NoticesLead(len(ns)), maxTitle),
		Description: text.Truncate(strings.Join(lines, "\n"), maxDescription),
		Color:       severityColor(worst.Severity, incident.StatusTriggered),
	}
}

func summaryEmbed(s *bot.Summary) *discordgo.MessageEmbed {
	lines := make([]string, 0, len(s.Lines))
	for _, l := range s.Lines {
		lines = append(lines, "• "+escape(l))
	}
	e := &discordgo.MessageEmbed{
		Title:       text.Truncate(escape(s.Title), maxTitle),
		Description: text.Truncate(strings.Join(lines, "\n"), maxDescription),
	}
	if s.Footer != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: text.Truncate(s.Footer, 2048)}
	}
	return e
}
