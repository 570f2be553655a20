package slack

import (
	"fmt"
	"sort"
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
//
// Alert text is hostile until proven otherwise: a title, service name,
// note or link can carry <!channel>, <@U…> or a <url|text> of its own.
// The rules, which every function here follows:
//
//   - Every string that did not come from baton itself (titles, services,
//     sources, link texts, timeline lines with their notes and names,
//     leads, summary lines) goes through escape (& < > become &amp; &lt;
//     &gt;, and bidi controls are removed: see bidiControls) before it is
//     put into mrkdwn. The only unescaped < in a
//     message is baton's own: <@U…> of a configured person, <#C…> of a
//     channel Slack gave us, <!date^…> tokens, and <url|text> links.
//   - Every mrkdwn text object is verbatim, so Slack does not turn bare
//     URLs, #channel names or @here/@channel words in alert text into links
//     or mentions (manual <…> markup, which only baton writes, still works).
//   - A link is written only when its URL passes incident.CheckLinkURL
//     (absolute http or https; no whitespace, control characters, <, > or |),
//     with & escaped; otherwise its label is shown as escaped text followed
//     by "(link not shown: unsafe URL)" and the URL is dropped. Intake
//     already drops such links; this is the guard for what is stored.
//   - The message's text (the notification line, and the whole of a
//     thread reply or DM without blocks) is escaped by slack-go
//     (MsgOptionText with escape, after stripBidi), sent with parse=none and link_names=false
//     so Slack adds no mentions, and links are not unfurled.
//   - plain_text objects (the card's header) take alert text through
//     plainText, which replaces < and > with ‹ and ›. Slack names &, < and
//     > the control characters of every text object and does not document
//     how plain_text treats entities, so rather than escape (and risk
//     "&lt;" on screen) the header holds no < or > at all.

// actionPrefix marks baton's buttons: action_id "baton_ack", value "42".
const actionPrefix = "baton_"

// bidiControls are the Unicode controls that reorder text on screen: the
// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069 and the
// marks U+200E and U+200F. An alert title holding U+202E shows the rest of
// the line reversed, so alert text could make a card read what it does not
// say. They are removed, not replaced with a marker: nothing a responder needs
// is lost (they carry no letters), and a marker would itself be noise in
// titles that hold them legitimately (right-to-left languages). stripBidi is
// the one rule; escape, plainText and the notification text all apply it.
var bidiControls = []string{
	"\u202A", "\u202B", "\u202C", "\u202D", "\u202E",
	"\u2066", "\u2067", "\u2068", "\u2069",
	"\u200E", "\u200F",
}

// removing is a Replacer's old/new list that removes each of list.
func removing(list []string) []string {
	var r []string
	for _, s := range list {
		r = append(r, s, "")
	}
	return r
}

// stripBidi removes bidiControls from s.
var stripBidi = strings.NewReplacer(removing(bidiControls)...).Replace

// escape makes text safe inside mrkdwn: Slack's three control characters
// become &amp; &lt; &gt;, and bidi controls are removed (stripBidi).
var escape = strings.NewReplacer(append([]string{"&", "&amp;", "<", "&lt;", ">", "&gt;"}, removing(bidiControls)...)...).Replace

// unescape undoes what Slack does to the text of a slash command.
var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace

func msgOptions(m bot.Message) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(stripBidi(m.Text), true), // escaped by slack-go
		slack.MsgOptionParse(false), slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl(),
	}
	switch {
	case m.Card != nil:
		opts = append(opts, slack.MsgOptionBlocks(cardBlocks(m.Card)...))
	case m.Notice != nil:
		opts = append(opts, slack.MsgOptionBlocks(noticeBlocks(m.Notice)...))
	case m.Summary != nil:
		opts = append(opts, slack.MsgOptionBlocks(summaryBlocks(m.Summary)...))
	case m.Bundle != nil:
		opts = append(opts, slack.MsgOptionBlocks(bundleBlocks(m.Bundle)...))
	case len(m.Notices) > 0:
		opts = append(opts, slack.MsgOptionBlocks(noticesBlocks(m.Notices)...))
	case len(m.Buttons) > 0:
		opts = append(opts, slack.MsgOptionBlocks(buttonBlocks(m)...))
	}
	if m.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(m.Thread))
	}
	if m.Key != "" {
		payload := map[string]any{"key": m.Key}
		if len(m.Keys) > 0 {
			payload["keys"] = m.Keys
		}
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType: eventType(m.Key), EventPayload: payload}))
	}
	return opts
}

// eventType is the metadata event type of a message posted with a
// bot.Message.Key (the key is its payload's "key"): baton_card,
// baton_notice or baton_reply for the keys bot gives an incident's card
// ("card:…"), notice ("notice:…") and repeat replies ("reply:…"),
// baton_page for a page's.
func eventType(key string) string {
	switch {
	case strings.HasPrefix(key, "card:"):
		return "baton_card"
	case strings.HasPrefix(key, "notice:"), strings.HasPrefix(key, "notices:"):
		return "baton_notice"
	case strings.HasPrefix(key, "reply:"):
		return "baton_reply"
	}
	return "baton_page"
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

// plainText makes alert text safe for a plain_text object: < and > become
// the look-alikes ‹ and ›, so nothing in it can be read as markup.
// Bidi controls are removed, as escape does.
var plainText = strings.NewReplacer(append([]string{"<", "‹", ">", "›"}, removing(bidiControls)...)...).Replace

// mrkdwn is a verbatim mrkdwn text object: s must already be escaped
// where it holds alert text.
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// unsafeLinkNote follows the label of a link whose URL was not shown.
const unsafeLinkNote = " (link not shown: unsafe URL)"

// link renders l as mrkdwn: <url|label> when the URL passes
// incident.CheckLinkURL, else the escaped label and unsafeLinkNote. label
// is used when l has no text of its own.
func link(l incident.Link, label string) string {
	if l.Text != "" {
		label = l.Text
	}
	if incident.CheckLinkURL(l.URL) != nil {
		return escape(label) + unsafeLinkNote
	}
	return "<" + escape(l.URL) + "|" + escape(label) + ">"
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
		slack.NewHeaderBlock(plain(text.TruncateUTF16(fmt.Sprintf("%s %s %s", mark, c.Ref, plainText(c.Title)), maxHeader))),
	}
	if c.Lead != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(escape(c.Lead)), nil, nil))
	}
	source := escape(c.Source)
	if len(c.Links) > 0 {
		source = link(c.Links[0], c.Source)
	}
	alerts := strconv.FormatInt(c.AlertCount, 10)
	if c.AlertCount > 1 {
		alerts += ", last " + date(c.LastSeen, "{time}")
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Status*\n" + statusWord(c.Status)),
		mrkdwn("*Owner*\n" + person(c.Owner)),
		mrkdwn("*Service*\n" + escape(c.Service)),
		mrkdwn("*Severity*\n" + escape(string(c.Severity))),
		mrkdwn("*Alerts*\n" + alerts),
		mrkdwn("*Source*\n" + source),
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if c.Channel != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Incident channel: <#"+c.Channel+">")))
	}
	if c.Sealed {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("🔒 "+bot.SealedLine+" (GET /v1/incidents/"+strconv.FormatInt(c.Number, 10)+"/raw)")))
	}
	if c.Maintenance != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(escape(c.Maintenance))))
	}
	if len(c.Responders) > 0 {
		names := make([]string, len(c.Responders))
		for i := range c.Responders {
			names[i] = person(&c.Responders[i])
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("*Responders* "+strings.Join(names, ", "))))
	}
	if len(c.Timeline) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(timelineText(c.Timeline, maxText))))
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
		blocks = append(blocks, actionsBlock(c.Number, c.Actions, c.ActionLabel))
	}
	return blocks
}

// actionsBlock is the row of buttons acting on incident n (action
// baton_<action>, value n), as a card and a lone page in a bundle show it.
func actionsBlock(n int64, actions []bot.Action, label func(bot.Action) string) *slack.ActionBlock {
	var els []slack.BlockElement
	value := strconv.FormatInt(n, 10)
	for _, a := range actions {
		btn := slack.NewButtonBlockElement(actionPrefix+string(a), value, plain(label(a)))
		switch a {
		case bot.ActionAck:
			btn = btn.WithStyle(slack.StylePrimary)
		case bot.ActionEscalate:
			btn = btn.WithStyle(slack.StyleDanger)
		}
		els = append(els, btn)
	}
	return slack.NewActionBlock("baton_actions_"+value, els...)
}

// listCommand is /incident list followed by words, as typed in Slack.
func listCommand(words string) string {
	return strings.TrimSpace("/incident list " + words)
}

func noticeBlocks(n *bot.Notice) []slack.Block {
	mark := severityMark(n.Severity)
	if n.Status == incident.StatusResolved {
		mark = "✅"
	}
	line := fmt.Sprintf("%s *%s* %s — %s, %s", mark, n.Ref, escape(n.Title), escape(n.Service), escape(string(n.Severity)))
	if n.Channel != "" {
		line += " → <#" + n.Channel + ">"
	}
	switch n.Status {
	case incident.StatusAcknowledged:
		line += " · *Acknowledged* by " + person(n.Owner)
	case incident.StatusResolved:
		line += " · *Resolved*"
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text.TruncateUTF16(line, maxText)), nil, nil)}
}

// noticesBlocks renders the notices of several new incidents in one
// message: the lead, the first bot.BundleListed a section each as a lone
// notice shows it (with the link to the incident's channel), the rest one
// line each as far as 3,000 characters go and then counted, and a pointer
// to /incident list. At most 13 blocks, no buttons.
func noticesBlocks(ns []bot.Notice) []slack.Block {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn("🚨 *"+escape(bot.NoticesLead(len(ns)))+"*"), nil, nil)}
	listed := min(len(ns), bot.BundleListed)
	for i := range ns[:listed] {
		blocks = append(blocks, noticeBlocks(&ns[i])...)
	}
	if rest := ns[listed:]; len(rest) > 0 {
		es := make([]bot.BundleEntry, len(rest))
		for i, n := range rest {
			es[i] = bot.BundleEntry{Number: n.Number, Ref: n.Ref, Title: n.Title, Service: n.Service, Severity: n.Severity, Status: n.Status}
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(bundleRest(es, maxText)), nil, nil))
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%d new incidents in all; type /incident list to see the %d newest open incidents.", len(ns), bot.ListShown))))
	}
	return blocks
}

// bundleBlocks renders a bundle of pages within Block Kit's limits (50
// blocks a message, 3,000 characters a text): a header (bundleHeader), the lead, the
// first bot.BundleListed incidents a section each with its Acknowledge
// button (action baton_ack, value its number, as on a card), the rest one
// line each as far as 3,000 characters go and then counted, a pointer to
// the list of what it stands for (Bundle.ListPointer), and "Acknowledge all
// N" (baton_ackall, value the bundle's id) while any is triggered. A lone
// page (Bundle.Lone) has a card's row of buttons instead of its Acknowledge,
// and no "Acknowledge all". At most 16 blocks, at most three elements an
// actions block.
func bundleBlocks(b *bot.Bundle) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(bundleHeader(b))),
		slack.NewSectionBlock(mrkdwn(escape(b.Lead())), nil, nil),
	}
	listed := min(len(b.Entries), bot.BundleListed)
	for i, e := range b.Entries[:listed] {
		var acc *slack.Accessory
		actions := b.EntryActions(e)
		if len(actions) == 1 {
			btn := slack.NewButtonBlockElement(actionPrefix+string(bot.ActionAck), strconv.FormatInt(e.Number, 10), plain(bot.ActionAck.Label()))
			acc = slack.NewAccessory(btn)
		}
		sec := slack.NewSectionBlock(mrkdwn(bundleEntryText(e)), nil, acc)
		sec.BlockID = "baton_bundle_" + strconv.Itoa(i)
		blocks = append(blocks, sec)
		if len(actions) > 1 {
			// A lone page (the rest only tell) keeps a single page's
			// buttons, as on its card.
			blocks = append(blocks, actionsBlock(e.Number, actions, bot.Action.Label))
		}
	}
	if rest := b.Entries[listed:]; len(rest) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(bundleRest(rest, maxText)), nil, nil))
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("In all: "+escape(b.Title())+". "+b.ListPointer(listCommand))))
	}
	if n := b.AckAllCount(); n > 0 {
		btn := slack.NewButtonBlockElement(actionPrefix+string(bot.ActionAckAll), b.ID, plain(fmt.Sprintf("%s %d", bot.ActionAckAll.Label(), n))).
			WithStyle(slack.StylePrimary)
		blocks = append(blocks, slack.NewActionBlock("baton_ackall", btn))
	}
	return blocks
}

// bundleHeader is a bundle's header: its mark (🚨 while an incident it
// pages for needs an acknowledgement, ✅ once none does, ℹ️ when it only
// tells) and its title, which counts the incidents the reader is paged for
// and those for information apart ("🚨 17 incidents, 1 for your information").
func bundleHeader(b *bot.Bundle) string {
	mark := "🚨"
	switch b.Mark() {
	case bot.MarkDone:
		mark = "✅"
	case bot.MarkInfo:
		mark = "ℹ️"
	}
	return mark + " " + b.Title()
}

// bundleEntryText is one listed incident of a bundle: its number and title,
// then service, severity, level, why it came (or who took it) and a link to
// its channel.
func bundleEntryText(e bot.BundleEntry) string {
	mark := severityMark(e.Severity)
	if e.Status == incident.StatusResolved {
		mark = "✅"
	}
	line := fmt.Sprintf("%s *%s* %s\n%s · %s", mark, e.Ref, escape(text.Truncate(e.Title, 200)), escape(e.Service), escape(string(e.Severity)))
	if e.Level > 0 {
		line += fmt.Sprintf(" · level %d", e.Level)
	}
	switch e.Status {
	case incident.StatusAcknowledged:
		line += " · *Acknowledged* by " + person(e.Owner)
	case incident.StatusResolved:
		line += " · *Resolved*"
	}
	if e.Why != "" && (e.Status == incident.StatusTriggered || e.Info) {
		line += " · " + escape(e.Why)
	}
	if e.Channel != "" {
		line += " · <#" + e.Channel + ">"
	}
	return line
}

// bundleRest lists a bundle's incidents past the listed ones, one short
// line each, in at most max UTF-16 code units (maxText); those that do not
// fit are counted.
func bundleRest(rest []bot.BundleEntry, max int) string {
	var b strings.Builder
	for i, e := range rest {
		state := ""
		switch e.Status {
		case incident.StatusAcknowledged:
			state = " · acknowledged"
		case incident.StatusResolved:
			state = " · resolved"
		}
		line := fmt.Sprintf("%s *%s* %s (%s)%s", severityMark(e.Severity), e.Ref, escape(text.Truncate(e.Title, 60)), escape(text.Truncate(e.Service, 40)), state)
		more := fmt.Sprintf("\n… and %d more", len(rest)-i)
		if text.UTF16Len(b.String())+1+text.UTF16Len(line)+len(more) > max {
			b.WriteString(more)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}

// summaryBlocks: the title as a header, the lines as bullets, the footer as
// context.
func summaryBlocks(s *bot.Summary) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(text.TruncateUTF16("📊 "+plainText(s.Title), maxHeader)))}
	if len(s.Lines) > 0 {
		var b strings.Builder
		for _, l := range s.Lines {
			b.WriteString("• " + escape(l) + "\n")
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text.TruncateUTF16(strings.TrimRight(b.String(), "\n"), maxText)), nil, nil))
	}
	if s.Footer != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(text.TruncateUTF16(escape(s.Footer), 2000))))
	}
	return blocks
}

// maxText is the most characters Slack takes in a text object (a section's
// text, a context element), and maxHeader in a header block's. Slack's
// docs say "characters" without the unit; texts are cut counting UTF-16
// code units (text.TruncateUTF16, text.UTF16Len), which is never fewer
// than characters (runes), so a cut text fits either way: an emoji title
// counted in runes could be twice Slack's limit in UTF-16.
const (
	maxText   = 3000
	maxHeader = 150
)

// minLineText is the fewest characters of its own text (escaped) a timeline
// line is given before older lines are dropped to make room.
const minLineText = 60

// escapedLen is how many characters s has once escaped.
func escapedLen(s string) int {
	n := 0
	for _, r := range s {
		n += escapedRuneLen(r)
	}
	return n
}

func escapedRuneLen(r rune) int {
	switch r {
	case '&':
		return len("&amp;")
	case '<', '>':
		return len("&lt;")
	}
	if r > 0xFFFF {
		return 2 // in case Slack counts UTF-16 code units
	}
	return 1
}

// fitEscaped returns s (already without bidi controls) cut with
// text.Truncate so that escape of it has at most budget characters. The cut
// is made before escaping, so it never splits an escape.
func fitEscaped(s string, budget int) string {
	if escapedLen(s) <= budget {
		return s
	}
	kept, used := 0, 1 // the ellipsis
	for _, r := range s {
		if used+escapedRuneLen(r) > budget {
			break
		}
		used += escapedRuneLen(r)
		kept++
	}
	if budget < 1 {
		return ""
	}
	return text.Truncate(s, kept+1)
}

// timelineText renders a card's timeline, oldest first, as bullets of at
// most max characters in all. The latest lines always stay: when the lines
// do not fit, each line's text is shortened first (before escaping, so no
// escape, mention or date token is ever split), longer texts first and the
// short ones whole; only when even minLineText characters a line do not fit
// are the oldest lines dropped, behind a "… N earlier lines" marker.
func timelineText(lines []bot.Line, max int) string {
	n := len(lines)
	heads := make([]string, n)
	texts := make([]string, n)
	for i, l := range lines {
		heads[i] = "• " + date(l.At, "{time}") + " "
		texts[i] = stripBidi(l.Text)
	}
	marker := func(first int) string {
		switch first {
		case 0:
			return ""
		case 1:
			return "… 1 earlier line\n"
		}
		return fmt.Sprintf("… %d earlier lines\n", first)
	}
	// fixed is what lines[first:] take besides their texts: bullets, dates,
	// newlines and the marker.
	fixed := func(first int) int {
		f := text.UTF16Len(marker(first)) + n - 1 - first
		for _, h := range heads[first:] {
			f += text.UTF16Len(h)
		}
		return f
	}
	first := 0
	for first < n-1 {
		need := fixed(first)
		for _, t := range texts[first:] {
			need += min(escapedLen(t), minLineText)
		}
		if need <= max {
			break
		}
		first++
	}
	// Share what is left among the texts: a text shorter than its share
	// stays whole and leaves the rest to the others.
	budget := max - fixed(first)
	keep := texts[first:]
	order := make([]int, len(keep))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return escapedLen(keep[order[a]]) < escapedLen(keep[order[b]]) })
	shares := make([]int, len(keep))
	for k, i := range order {
		share := budget / (len(keep) - k)
		shares[i] = min(escapedLen(keep[i]), share)
		budget -= shares[i]
	}
	var b strings.Builder
	b.WriteString(marker(first))
	for i, t := range keep {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(heads[first+i] + escape(fitEscaped(t, shares[i])))
	}
	return b.String()
}

// buttonBlocks renders a plain message with buttons (a handoff's question):
// the text, then one action block.
func buttonBlocks(m bot.Message) []slack.Block {
	var els []slack.BlockElement
	for _, b := range m.Buttons {
		btn := slack.NewButtonBlockElement(actionPrefix+string(b.Action), strconv.FormatInt(b.Value, 10), plain(b.Action.Label()))
		els = append(els, btn.WithStyle(slack.StylePrimary))
	}
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(escape(m.Text)), nil, nil),
		slack.NewActionBlock("baton_buttons", els...),
	}
}
