package demo

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/batonhq/baton/internal/fakeslack"
)

// A page in a DM is edited for several reasons: it settles (its buttons
// go once the incident is acknowledged or resolved), the link to the
// incident's channel is added once the channel exists, or it is redrawn
// for a detail (the alert count, the timeline). The story tells what the
// edit did, from the page as it was last seen and as it is now: a settle,
// a link added, or nothing for a cosmetic redraw.

// dmPage is what the story tells of a page in a DM: whether it has
// buttons, the channels it links to (remembered: every one it linked to
// so far, so that a bundle's entry moving out of its listed part and back
// is not told again), and, for a card, its status and owner as shown.
type dmPage struct {
	buttons bool
	links   []string // channel ids of its <#C…> mentions, in order
	status  string   // the card's Status field ("Acknowledged"), "" if none
	owner   string   // the card's Owner field (a mention or a name)
}

// maxDMPages bounds the pages remembered for telling their edits.
const maxDMPages = 512

// channelMentionRE finds a channel mention in mrkdwn: <#C123> or <#C123|name>.
var channelMentionRE = regexp.MustCompile(`<#([A-Z0-9]+)(?:\|[^>]*)?>`)

// userMentionRE is a whole user mention: <@U123>.
var userMentionRE = regexp.MustCompile(`^<@([A-Z0-9]+)>$`)

// readDMPage reads m's blocks (Block Kit as the bot sent it).
func readDMPage(m fakeslack.Message) dmPage {
	var p dmPage
	var blocks any
	if len(m.Blocks) > 0 && json.Unmarshal(m.Blocks, &blocks) == nil {
		p.walk(blocks, "")
	}
	return p
}

// walk visits a decoded JSON value; key is the name it is held under.
func (p *dmPage) walk(v any, key string) {
	switch v := v.(type) {
	case map[string]any:
		switch v["type"] {
		case "actions":
			p.buttons = true
		case "button":
			p.buttons = true
		}
		for k, e := range v {
			p.walk(e, k)
		}
	case []any:
		for _, e := range v {
			p.walk(e, key)
		}
	case string:
		if key != "text" {
			return
		}
		for _, sm := range channelMentionRE.FindAllStringSubmatch(v, -1) {
			p.links = append(p.links, sm[1])
		}
		if s, ok := strings.CutPrefix(v, "*Status*\n"); ok {
			p.status = s
		}
		if s, ok := strings.CutPrefix(v, "*Owner*\n"); ok {
			p.owner = s
		}
	}
}

// tellDMEditLocked tells what the bot's edit of its message ts in the DM
// channel did. Callers hold s.mu.
func (s *Story) tellDMEditLocked(channel, ts string) {
	m, ok := s.Fake.Message(channel, ts)
	if !ok {
		return
	}
	now := readDMPage(m)
	was, known := s.dmPages[channel+"|"+ts]
	seen := now
	for _, id := range was.links {
		if !slices.Contains(seen.links, id) {
			seen.links = append(seen.links, id)
		}
	}
	s.rememberDMPageLocked(channel, ts, seen)
	where := s.where(channel)
	if !now.buttons && (!known || was.buttons) {
		s.lineLocked("page in %s %s", where, s.settledLocked(m.Text, now, s.dmPersonLocked(channel)))
	}
	if !known {
		return // the links it had before are unknown: none is told as added
	}
	var added []string
	for _, id := range now.links {
		if !slices.Contains(was.links, id) {
			added = append(added, s.where(id))
		}
	}
	switch len(added) {
	case 0:
	case 1:
		s.lineLocked("page in %s updated: link to %s added", where, added[0])
	case 2, 3:
		s.lineLocked("page in %s updated: links to %s added", where, strings.Join(added, ", "))
	default:
		s.lineLocked("page in %s updated: links to %s and %d more added", where, strings.Join(added[:3], ", "), len(added)-3)
	}
}

// settledLocked says how a page that lost its buttons settled:
// "settled: INC-2 acknowledged by bob", "settled: INC-2 resolved", a
// page-in's "settled: bob acknowledged their page on INC-2" (who is the
// DM's person), or
// "updated: no buttons now" when the page does not show why.
func (s *Story) settledLocked(txt string, p dmPage, who string) string {
	ref := incRefRE.FindString(txt)
	if ref == "" {
		return "updated: no buttons now"
	}
	if strings.HasPrefix(txt, "You acknowledged your page on ") {
		return "settled: " + who + " acknowledged their page on " + ref
	}
	switch p.status {
	case "Acknowledged":
		by := p.owner
		if sm := userMentionRE.FindStringSubmatch(by); sm != nil {
			by = s.person(sm[1])
		}
		if by == "" {
			return "settled: " + ref + " acknowledged"
		}
		return "settled: " + ref + " acknowledged by " + by
	case "Resolved":
		return "settled: " + ref + " resolved"
	}
	return "updated: no buttons now"
}

// rememberDMPageLocked keeps p as the page last seen of ts in channel.
// Callers hold s.mu.
func (s *Story) rememberDMPageLocked(channel, ts string, p dmPage) {
	if s.dmPages == nil {
		s.dmPages = map[string]dmPage{}
	}
	key := channel + "|" + ts
	if _, ok := s.dmPages[key]; !ok && len(s.dmPages) >= maxDMPages {
		for k := range s.dmPages { // forget one: its next edit is told as of an unknown page
			delete(s.dmPages, k)
			break
		}
	}
	s.dmPages[key] = p
}

// dmPersonLocked names the person of the DM channel. Callers hold s.mu.
func (s *Story) dmPersonLocked(channel string) string {
	if c, ok := s.Fake.Channel(channel); ok {
		return s.person(c.User)
	}
	return channel
}
