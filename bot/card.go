package bot

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/batonhq/baton/incident"
)

// Action is a button on a card. The adapter carries it and the incident
// number through the chat's button payload and hands both back to
// Executor.Action.
type Action string

// The card's actions.
const (
	ActionAck      Action = "ack"
	ActionResolve  Action = "resolve"
	ActionEscalate Action = "escalate"
	// ActionAckAll is a bundle's "Acknowledge all": its button carries the
	// bundle's id, not an incident number (Executor.AckAll).
	ActionAckAll Action = "ackall"
)

// Label is the button's text.
func (a Action) Label() string {
	switch a {
	case ActionAck:
		return "Acknowledge"
	case ActionResolve:
		return "Resolve"
	case ActionEscalate:
		return "Escalate"
	case ActionAckPage:
		return "Acknowledge my page"
	case ActionAckAll:
		return "Acknowledge all"
	case ActionStillOn:
		return "Yes, still on it"
	case ActionHandBack:
		return "Hand it back"
	case ActionTakePager:
		return "Take it"
	}
	return string(a)
}

// ParseAction checks an action name coming back from a button.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionAck, ActionResolve, ActionEscalate, ActionAckPage, ActionAckAll, ActionStillOn, ActionHandBack, ActionTakePager:
		return a, true
	}
	return "", false
}

// PersonRef names a person on a card: the id from config, a display name,
// and their chat user id when known (the adapter turns it into a mention).
type PersonRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	ChatID string `json:"chat_id,omitempty"`
}

// Line is one entry of a card's timeline summary.
type Line struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Card is the incident card: the pinned message in the incident's channel,
// and (with a Lead) the body of a page. It is a model; adapters render it.
// The JSON form is what Digest hashes, so a card is redrawn only when
// something on it changed.
type Card struct {
	Number     int64             `json:"number"`
	Ref        string            `json:"ref"` // INC-42
	Title      string            `json:"title"`
	Service    string            `json:"service"`
	Severity   incident.Severity `json:"severity"`
	Status     incident.Status   `json:"status"`
	Owner      *PersonRef        `json:"owner,omitempty"`
	Level      int               `json:"level,omitempty"`
	AlertCount int64             `json:"alert_count"`
	LastSeen   time.Time         `json:"last_seen"`
	Opened     time.Time         `json:"opened"`
	Source     string            `json:"source"`
	Links      []incident.Link   `json:"links,omitempty"`
	// Sealed says a raw payload of the incident is sealed: the card says
	// it can be seen through the API, never shows it (docs/privacy.md).
	Sealed bool `json:"sealed,omitempty"`
	// Timeline is a summary, oldest first: what changed hands, not every page.
	Timeline []Line `json:"timeline,omitempty"`
	// TimeToAck and TimeToResolve are set once the incident is resolved
	// (TimeToAck only if it was acknowledged).
	TimeToAck     time.Duration `json:"tta,omitempty"`
	TimeToResolve time.Duration `json:"ttr,omitempty"`
	// Channel is the incident's chat channel id, for a link from a page.
	Channel string `json:"channel,omitempty"`
	// Lead is a sentence above the card (why a page is sent).
	Lead string `json:"lead,omitempty"`
	// Maintenance is a sentence when the incident's service is in a
	// maintenance window (MaintenanceLine); "" otherwise.
	Maintenance string `json:"maintenance,omitempty"`
	// Responders are the people paged in who acknowledged their page
	// (the owner stays the owner).
	Responders []PersonRef `json:"responders,omitempty"`
	Actions    []Action    `json:"actions,omitempty"`
	// Labels, when set, replace some actions' Label on this card (the
	// lease's "Yes, 30 more minutes").
	Labels map[Action]string `json:"labels,omitempty"`
}

// ActionLabel is a's button text on c: c.Labels's, else a.Label().
func (c *Card) ActionLabel(a Action) string {
	if l, ok := c.Labels[a]; ok && l != "" {
		return l
	}
	return a.Label()
}

// Notice is the one-line announcement of a new incident in its service's
// alerts channel, linking to the incident's channel.
type Notice struct {
	Number   int64             `json:"number"`
	Ref      string            `json:"ref"`
	Title    string            `json:"title"`
	Service  string            `json:"service"`
	Severity incident.Severity `json:"severity"`
	Channel  string            `json:"channel,omitempty"`
	// Status and Owner keep the notice current: it is redrawn when the
	// incident is acknowledged, resolved or triggered again.
	Status incident.Status `json:"status,omitempty"`
	Owner  *PersonRef      `json:"owner,omitempty"`
}

// SealedLine is what a card says when the incident's raw payload is sealed.
const SealedLine = "raw payload sealed; view through the API"

// timelineLines is how many lines a card's timeline summary keeps.
const timelineLines = 6

// BuildCard makes the card of inc from its timeline. name resolves person
// ids to references (nil: ids as names).
func BuildCard(inc incident.Incident, timeline []incident.Event, name func(id string) PersonRef) Card {
	if name == nil {
		name = func(id string) PersonRef { return PersonRef{ID: id, Name: id} }
	}
	c := Card{
		Number: inc.Number, Ref: inc.Ref(), Title: inc.Title, Service: inc.Service,
		Severity: inc.Severity, Status: inc.Status, Level: inc.Level,
		AlertCount: inc.AlertCount, LastSeen: inc.LastSeen, Opened: inc.Created,
		Source: inc.Source, Links: inc.Links, Sealed: inc.Sealed,
	}
	if inc.Owner != "" {
		o := name(inc.Owner)
		c.Owner = &o
	}
	for _, p := range inc.PagedIn {
		if p.Acked {
			c.Responders = append(c.Responders, name(p.Person))
		}
	}
	for _, e := range timeline {
		if text := eventLine(e, name); text != "" {
			c.Timeline = append(c.Timeline, Line{At: e.At, Text: text})
		}
	}
	if len(c.Timeline) > timelineLines {
		// Keep the opening line and the latest ones.
		c.Timeline = append(c.Timeline[:1], c.Timeline[len(c.Timeline)-timelineLines+1:]...)
	}
	if inc.Status == incident.StatusResolved {
		if !inc.Acknowledged.IsZero() {
			c.TimeToAck = inc.Acknowledged.Sub(inc.Created)
		}
		c.TimeToResolve = inc.Resolved.Sub(inc.Created)
	} else {
		if inc.Status == incident.StatusTriggered {
			c.Actions = append(c.Actions, ActionAck)
		}
		c.Actions = append(c.Actions, ActionResolve, ActionEscalate)
	}
	return c
}

// eventLine is a timeline event as a card line; "" for events a card leaves
// out (pages and repeats, which would redraw the card every re-page).
func eventLine(e incident.Event, name func(string) PersonRef) string {
	who := func(id string) string {
		if id == "" {
			return "someone"
		}
		return name(id).Name
	}
	if line, ok := pageInLine(e, who); ok {
		return line
	}
	switch e.Type {
	case incident.EventOpened:
		return "opened by " + e.By
	case incident.EventAcknowledged:
		return withNote("acknowledged by "+who(e.Person), e.Note)
	case incident.EventEscalated:
		s := fmt.Sprintf("escalated to %s (level %d)", who(e.Person), e.Level)
		if e.By == "" || e.By == "baton" {
			return s // baton's own escalation: its reason stays in the full timeline
		}
		_, note := incident.SplitEscalationNote(e.Note)
		return withNote(s+" by "+who(e.By), note)
	case incident.EventReassigned:
		return fmt.Sprintf("assigned to %s by %s", who(e.Person), who(e.By))
	case incident.EventRetriggered:
		return "triggered again: " + e.Note
	case incident.EventResolved:
		s := "resolved"
		if e.By != "" {
			s += " by " + who(e.By)
		}
		return withNote(s, e.Note)
	case incident.EventNote:
		if e.By == "baton" {
			return "" // the engine's own notes (skipped levels) stay in the full timeline
		}
		return who(e.By) + ": " + e.Note
	case incident.EventPageFailed:
		return "page to " + who(e.Person) + " failed"
	case incident.EventEmailed:
		return "emailed " + who(e.Person) // the email went with the page (escalation/email.go)
	}
	return ""
}

// withNote is line followed by the note a person gave with it, if any.
func withNote(line, note string) string {
	if note == "" {
		return line
	}
	return line + ": " + note
}

// Digest is a short hash of the card, to tell whether it must be redrawn.
func (c Card) Digest() string {
	b, _ := json.Marshal(c)
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:8])
}

// StateDigest is Digest without the alert count and last-seen time: what a
// repeat of the alert changes. A card whose StateDigest is unchanged is
// redrawn at most once a minute, with the thread reply.
func (c Card) StateDigest() string {
	c.AlertCount, c.LastSeen = 0, time.Time{}
	return c.Digest()
}

// Text is the card as one plain sentence, for notifications and fallbacks.
func (c Card) Text() string {
	var b strings.Builder
	if c.Lead != "" {
		b.WriteString(c.Lead)
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "%s [%s] %s (%s, %s)", c.Ref, c.Severity, c.Title, c.Service, c.Status)
	if c.Owner != nil {
		fmt.Fprintf(&b, ", owner %s", c.Owner.Name)
	}
	return b.String()
}

// Text is the notice as one plain sentence.
func (n Notice) Text() string {
	return fmt.Sprintf("%s [%s] %s (%s)%s", n.Ref, n.Severity, n.Title, n.Service, n.StatusLine())
}

// StatusLine is what became of the incident since the notice, as a
// suffix: "" while it is triggered, " · acknowledged by Bob", " · resolved".
func (n Notice) StatusLine() string {
	switch n.Status {
	case incident.StatusAcknowledged:
		if n.Owner != nil {
			return " · acknowledged by " + n.Owner.Name
		}
		return " · acknowledged"
	case incident.StatusResolved:
		return " · resolved"
	}
	return ""
}

// MaxChannelName is Slack's limit on a channel name. baton's own names are
// shorter: at most MaxName, suffix included.
const MaxChannelName = 80

// MaxName bounds the channel name ChannelName makes, "inc-<n>-" included,
// in characters: enough to tell incidents apart in a channel list, short
// enough to read there. WithSuffix keeps to it too.
const MaxName = 40

// ChannelName is the name of incident n's channel: "inc-<n>-<slug of
// title>", lowercase letters, digits and hyphens, at most MaxName
// characters in all: the slug is cut at a word boundary where one is in its
// second half ("inc-1-postgres-primary-replication-lag", not the whole
// title), else mid-word, and never ends in a hyphen. A title with no Latin
// letter or digit gives "inc-<n>".
func ChannelName(n int64, title string) string {
	prefix := fmt.Sprintf("inc-%d", n)
	var b strings.Builder
	dash := true // no leading dash
	// Latin letters lose their accents ("Über" → "uber": NFKD splits off
	// the marks, and folds compatibility forms: "ﬁ" → "fi", "ａ" → "a");
	// the few that do not decompose are spelt out ("ß" → "ss").
	for _, r := range norm.NFKD.String(strings.ToLower(title)) {
		if s, ok := spelt[r]; ok {
			b.WriteString(s)
			dash = false
			continue
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case unicode.Is(unicode.Mn, r): // a combining mark: dropped, no dash
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		return prefix
	}
	room := MaxName - len(prefix) - 1
	if room <= 0 {
		return prefix
	}
	if len(slug) > room {
		cut := slug[:room]
		// The slug is ASCII: byte room is the next character. A cut just
		// before a hyphen is already at a word boundary.
		if slug[room] != '-' {
			if i := strings.LastIndexByte(cut, '-'); i > room/2 {
				cut = cut[:i]
			}
		}
		slug = strings.Trim(cut, "-")
	}
	if slug == "" {
		return prefix
	}
	return prefix + "-" + slug
}

// spelt are the lowercase Latin letters without a decomposition, as a
// channel name spells them.
var spelt = map[rune]string{'ß': "ss", 'ø': "o", 'æ': "ae", 'œ': "oe", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i"}

// WithSuffix is a channel name made unique with a number ("-2", "-3"),
// still at most MaxName characters, as ChannelName's names are: name is cut
// to make room for the suffix, at a word boundary in the second half of
// the room where there is one (as ChannelName cuts its slug), else mid-word
// at a character boundary, and never inside its leading "inc-<n>" group
// while that fits with the suffix; it never ends in a hyphen before the
// suffix. A negative k counts as its absolute value.
func WithSuffix(name string, k int) string {
	u := uint64(k)
	if k < 0 {
		u = -u
	}
	suffix := "-" + strconv.FormatUint(u, 10)
	name = strings.Trim(name, "-")
	room := MaxName - len(suffix)
	if len(name) > room {
		keep := numberGroup(name)
		if keep > room {
			keep = 0 // only an absurd k gets here: the bound wins
		}
		cut := max(room, 0)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		if name[cut] != '-' {
			if i := strings.LastIndexByte(name[:cut], '-'); i >= keep && i > room/2 {
				cut = i
			}
		}
		name = strings.TrimRight(name[:cut], "-")
	}
	if name == "" {
		return strings.TrimPrefix(suffix, "-")
	}
	return name + suffix
}

// numberGroup is the length of name's leading "inc-<digits>" (0 when it
// has none).
func numberGroup(name string) int {
	rest, ok := strings.CutPrefix(name, "inc-")
	if !ok {
		return 0
	}
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	if digits == 0 {
		return 0
	}
	return len("inc-") + digits
}
