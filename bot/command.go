package bot

import (
	"fmt"
	"github.com/batonhq/baton/internal/suggest"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
)

// Verb is what a command asks for.
type Verb string

// The verbs of /incident and /oncall.
const (
	VerbNew      Verb = "new"
	VerbAck      Verb = "ack"
	VerbResolve  Verb = "resolve"
	VerbAssign   Verb = "assign"
	VerbEscalate Verb = "escalate"
	VerbNote     Verb = "note"
	VerbStatus   Verb = "status"
	VerbList     Verb = "list"
	VerbStats    Verb = "stats"
	VerbHelp     Verb = "help"       // /incident help, /oncall help
	VerbOnCall   Verb = "oncall"     // /oncall [service]
	VerbOverride Verb = "override"   // /oncall override @someone 4h
	VerbOnHelp   Verb = "oncallhelp" // /oncall help
	// VerbMaintenance: /incident maintenance service=S 2h [reason] [--long],
	// /incident maintenance end mw-3, /incident maintenance (list).
	VerbMaintenance Verb = "maintenance"
	// VerbPage: /incident page [#42] @someone [reason].
	VerbPage Verb = "page"
)

// verbAliases are other words people type for a verb.
var verbAliases = map[string]Verb{"acknowledge": VerbAck}

// ListShown is how many incidents /incident list names.
const ListShown = 20

// incidentVerbs in help order.
var incidentVerbs = []Verb{VerbNew, VerbAck, VerbResolve, VerbAssign, VerbEscalate, VerbNote, VerbPage, VerbStatus, VerbList, VerbStats, VerbMaintenance, VerbHelp}

// Usage is how each verb is typed, for help and for error messages.
var Usage = map[Verb]string{
	VerbNew:      "/incident new <title> [service=S] [sev=critical|warning|info]",
	VerbAck:      "/incident ack [#42] [note]",
	VerbResolve:  "/incident resolve [#42] [note]",
	VerbAssign:   "/incident assign [#42] @someone",
	VerbEscalate: "/incident escalate [#42] [note]",
	VerbNote:     "/incident note [#42] <text>",
	VerbStatus:   "/incident status [#42]",
	VerbList:     "/incident list [mine] [triggered]",
	VerbStats:    "/incident stats [7d|30d|90d] [service=S]",
	VerbHelp:     "/incident help",
	VerbOnCall:   "/oncall [service]",
	VerbOverride: "/oncall override @someone <duration such as 4h> [rotation=R | service=S]",
	VerbOnHelp:   "/oncall help",
	VerbPage:     "/incident page [#42] @someone [reason]",
	VerbMaintenance: "/incident maintenance service=S <duration such as 2h> [reason] [--long] " +
		"(or: /incident maintenance end mw-3; /incident maintenance to list)",
}

// Mention is a person named in a command: a chat mention (<@U123> or
// <@U123|alice>, as Slack and Discord send them) gives ChatID; a plain word
// (@alice, alice) gives Name, which is matched against config's people.
type Mention struct {
	ChatID string
	Name   string
}

// IsZero reports whether no one is named.
func (m Mention) IsZero() bool { return m.ChatID == "" && m.Name == "" }

// Command is one parsed /incident or /oncall command.
type Command struct {
	Verb Verb
	// Incident is the incident named with 42, #42 or INC-42; 0 means the
	// incident of the channel the command was typed in.
	Incident int64
	// ChannelRef is a channel named with a chat channel mention (<#C123>),
	// standing for that channel's incident.
	ChannelRef string
	Title      string            // new
	Service    string            // new, oncall, override
	Rotation   string            // override
	Severity   incident.Severity // new; "" means the default
	Text       string            // note; the optional note of ack, resolve and escalate
	Who        Mention           // assign, override
	For        time.Duration     // override
	Days       int               // stats: the period, in days before now
	// Bare is a bare number (2, not #2 or INC-2) that begins the remark
	// of ack, resolve or escalate, or note's text, Text holding it whole
	// ("ack 2 min away": Bare 2, Text "2 min away"; "note 5 servers
	// restarted": Bare 5, Text "5 servers restarted"). The parser cannot
	// tell what it is: in an incident's channel it is part of the remark
	// on that incident; elsewhere no incident is implied, so it names one
	// (Command.Outside). Set only when no incident is named otherwise.
	Bare int64
	// Long: a maintenance window longer than incident.MaxMaintenance was
	// asked for (--long).
	Long bool
	// Window names the maintenance window to end ("mw-3"); End says the
	// command ends it. A maintenance command with neither Service nor
	// Window lists the active windows.
	Window string
	End    bool
	// Mine and Triggered narrow /incident list: to the incidents the
	// person who typed it owns, to those not yet acknowledged.
	Mine      bool
	Triggered bool
}

// Outside is c as it reads outside an incident's channel, where no
// incident is implied: a Bare number names the incident and the rest of
// Text is the note ("ack 19 on it": INC-19, note "on it"; "note 19 db
// restarted": INC-19, note "db restarted"; "note 19": INC-19 and no text,
// which the Executor refuses). Bare stays set,
// saying the incident was read from it. Without a Bare number, or with an
// incident already named, c is unchanged.
func (c Command) Outside() Command {
	if c.Bare == 0 || c.Incident != 0 || c.ChannelRef != "" {
		return c
	}
	toks := tokenize(c.Text)
	c.Incident = c.Bare
	if len(toks) > 1 {
		c.Text = strings.TrimSpace(c.Text[toks[1].pos:])
	} else {
		c.Text = ""
	}
	return c
}

// CommandUsage is implemented by a Chat whose people type baton's commands
// otherwise than as free text after /incident or /oncall (Usage's form,
// Slack's): Discord's slash commands take typed options. The Executor then
// says usage, in help and in every refusal, in the chat's own terms.
type CommandUsage interface {
	// CommandUsage is how verb v is typed in this chat, e.g.
	// "/incident ack [incident:42] [note:…]"; named says the incident
	// must be named (the command was not typed in an incident's channel).
	CommandUsage(v Verb, named bool) string
}

// SyntaxError is a command that could not be parsed: Msg says what is
// wrong, Usage how to type it instead (Usage's form), Verb whose usage
// that is ("" when it is none), for a chat that says usage its own way
// (CommandUsage).
type SyntaxError struct {
	Msg   string
	Usage string
	Verb  Verb
}

// Error is the message followed by what to try.
func (e *SyntaxError) Error() string {
	if e.Usage == "" {
		return e.Msg
	}
	return e.Msg + " Try: " + e.Usage
}

func syntax(v Verb, format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Usage: Usage[v], Verb: v}
}

// MaxTitle and MaxNote bound free text in commands. MaxNote is the store's
// limit (incident.MaxNote): chat refuses a longer note rather than cut it.
const (
	MaxTitle = 200
	MaxNote  = incident.MaxNote
)

// token is one word of a command and where it starts in the text.
type token struct {
	s   string
	pos int
}

func tokenize(text string) []token {
	var out []token
	start := -1
	for i, r := range text {
		// Control characters (NUL, ESC, U+0085, …) separate words like
		// spaces, so none reaches a title or a name.
		space := r == ' ' || r == '\u00a0' || unicode.IsControl(r)
		switch {
		case space && start >= 0:
			out = append(out, token{text[start:i], start})
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, token{text[start:], start})
	}
	return out
}

var (
	refRE     = regexp.MustCompile(`^(?i:#|inc-)?([0-9]{1,12})$`)
	userRE    = regexp.MustCompile(`^<@([A-Za-z0-9]+)(?:\|([^>]*))?>$`)
	channelRE = regexp.MustCompile(`^<#([A-Za-z0-9]+)(?:\|([^>]*))?>$`)
	wordRE    = regexp.MustCompile(`^@?[A-Za-z0-9._-]+$`)
	optionRE  = regexp.MustCompile(`^(?i)(service|sev|severity|rotation)=(.*)$`)
)

// incidentRef reads #42, INC-42 (any case), a bare 42 or a channel mention.
func incidentRef(s string) (n int64, channel string, ok bool) {
	if m := refRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		return n, "", err == nil && n > 0
	}
	if m := channelRE.FindStringSubmatch(s); m != nil {
		return 0, m[1], true
	}
	return 0, "", false
}

// bareNumber reports whether s is an incident number without its # or
// INC- prefix.
func bareNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func mention(s string) (Mention, bool) {
	if m := userRE.FindStringSubmatch(s); m != nil {
		return Mention{ChatID: m[1], Name: m[2]}, true
	}
	if wordRE.MatchString(s) && !strings.Contains(s, "=") {
		return Mention{Name: strings.TrimPrefix(s, "@")}, true
	}
	return Mention{}, false
}

// Parse reads one command as typed: command is "incident" or "oncall" (a
// leading slash is allowed), text is what followed it. Errors are
// *SyntaxError with a sentence that says what to type instead.
func Parse(command, text string) (Command, error) {
	return parse(command, text, nil)
}

// ParseWithNote is Parse for a chat that gives a command's note apart from
// the rest (Discord's slash commands: the note option, note's text), so
// the note needs no telling from the words around it: text holds the verb
// and the other options as Parse reads them, note is the note of ack,
// resolve and escalate, the text of note, page's reason. The note is taken
// whole, as typed (spaces trimmed), and never read for anything else: "19",
// "#19" and "INC-19" are notes, never the incident, and Bare is never set.
// A verb that takes no note refuses one, as it does words left over in text.
// It is ParseGiven with only the note given.
func ParseWithNote(command, text, note string) (Command, error) {
	return parse(command, text, &Given{Note: note})
}

// Given is what a chat of typed options (Discord's slash commands) gives
// apart from a command's text: each option's value whole, as typed. The
// parser reads each only as what its option is, never for anything inside
// it: a title "db sev=warning down" is that title, a reason "--long" or
// "service=x" or "2h" is that reason. "" is an option not given.
type Given struct {
	// Note is the note of ack, resolve and escalate, page's reason, note's
	// text (see ParseWithNote).
	Note string
	// Title is new's title.
	Title string
	// Service is the service of new, maintenance and stats, and of
	// /oncall (show) and /oncall override.
	Service string
	// Duration is maintenance's and /oncall override's duration ("2h").
	Duration string
	// Reason is maintenance's reason.
	Reason string
}

// ParseGiven is Parse for a chat that gives typed options apart from the
// text (Given); text holds the verb and what else the chat gives as words
// (Discord: the incident as #n, a person as a mention, maintenance's
// --long, stats' period). Words left in text where a given option's value belongs are
// refused, never pieced together with it, and a verb refuses an option
// it does not take.
func ParseGiven(command, text string, g Given) (Command, error) {
	return parse(command, text, &g)
}

// parse is Parse, with typed options given apart when g is not nil.
func parse(command, text string, g *Given) (Command, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(command), "/")) {
	case "incident":
		return parseIncident(text, g)
	case "oncall":
		if g != nil {
			return parseOnCallGiven(text, *g)
		}
		return parseOnCall(text)
	}
	return Command{}, &SyntaxError{Msg: fmt.Sprintf("baton has no command %q.", command), Usage: "/incident help or /oncall help", Verb: VerbHelp}
}

// words is s's words joined by one space: how free text typed as words
// reads (a title, a reason), control characters and runs of spaces
// between words made one space.
func words(s string) string {
	toks := tokenize(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.s
	}
	return strings.Join(out, " ")
}

// givenRefused is the first option in g that verb v does not take, by
// its name ("" when none).
func givenRefused(v Verb, g *Given) string {
	switch {
	case g == nil:
		return ""
	case g.Note != "" && !takesNote(v):
		return "note"
	case g.Title != "" && v != VerbNew:
		return "title"
	case g.Service != "" && v != VerbNew && v != VerbMaintenance && v != VerbStats:
		return "service"
	case g.Duration != "" && v != VerbMaintenance:
		return "duration"
	case g.Reason != "" && v != VerbMaintenance:
		return "reason"
	}
	return ""
}

// givenService reads a service given apart, whole: lowercase letters,
// digits, - or _, or a refusal naming it as typed.
func givenService(v Verb, s string) (string, error) {
	svc := strings.ToLower(strings.TrimSpace(s))
	if !rotations.ValidID(svc) {
		return "", syntax(v, "%q is not a service name (lowercase letters, digits, - or _).", echo(s))
	}
	return svc, nil
}

// takesNote: the verbs whose free text is a note (or page's reason), which
// ParseWithNote may give apart.
func takesNote(v Verb) bool {
	switch v {
	case VerbAck, VerbResolve, VerbEscalate, VerbNote, VerbPage:
		return true
	}
	return false
}

// parseIncident reads /incident's text; g, when not nil, is what was
// given apart (ParseGiven).
func parseIncident(text string, g *Given) (Command, error) {
	toks := tokenize(text)
	var c Command
	// "#42 ack" is accepted as well as "ack #42".
	if len(toks) > 0 {
		if n, ch, ok := incidentRef(toks[0].s); ok {
			c.Incident, c.ChannelRef = n, ch
			toks = toks[1:]
			if len(toks) == 0 {
				return Command{}, &SyntaxError{Msg: "Say what to do with the incident.", Usage: "/incident ack #42 (or resolve, assign, escalate, note, status)", Verb: VerbAck}
			}
		}
	}
	if len(toks) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	word := strings.ToLower(toks[0].s)
	if alias, ok := verbAliases[word]; ok {
		word = string(alias)
	}
	c.Verb = Verb(word)
	rest := toks[1:]
	// The incident may follow the verb instead.
	takeRef := func() error {
		if len(rest) == 0 {
			return nil
		}
		n, ch, ok := incidentRef(rest[0].s)
		if !ok {
			return nil
		}
		freeText := c.Verb == VerbAck || c.Verb == VerbResolve || c.Verb == VerbEscalate
		if bareNumber(rest[0].s) && ((freeText && len(rest) > 1) || c.Verb == VerbNote) {
			// "ack 2 min away", "note 5 servers restarted": a bare
			// number followed by more words, or starting a note, is
			// text, not an incident (#2 or INC-2 names one). It may
			// yet name the incident, outside an incident's channel
			// (Bare, Command.Outside).
			if c.Incident == 0 && c.ChannelRef == "" {
				c.Bare = n
			}
			return nil
		}
		if c.Incident != 0 || c.ChannelRef != "" {
			return syntax(c.Verb, "Name the incident once.")
		}
		c.Incident, c.ChannelRef = n, ch
		rest = rest[1:]
		return nil
	}
	remainder := func() string {
		if len(rest) == 0 {
			return ""
		}
		return strings.TrimSpace(text[rest[0].pos:])
	}
	// noteText is the verb's free text: the words left in text, or the note
	// given apart, whole (then no words may be left: the note is never
	// pieced together from both).
	noteText := func() (string, error) {
		if g == nil {
			return remainder(), nil
		}
		if len(rest) > 0 {
			return "", syntax(c.Verb, "Unexpected %q: give the note in its own option.", echo(rest[0].s))
		}
		return strings.TrimSpace(g.Note), nil
	}
	if opt := givenRefused(c.Verb, g); opt != "" {
		switch c.Verb {
		case VerbNew, VerbAck, VerbResolve, VerbEscalate, VerbNote, VerbPage, VerbList, VerbStats, VerbStatus, VerbMaintenance, VerbAssign:
			return Command{}, syntax(c.Verb, "%s takes no %s.", c.Verb, opt)
		} // help is help; an unknown verb is said to be unknown, below
	}
	switch c.Verb {
	case VerbHelp:
		if len(rest) > 0 || c.Incident != 0 || c.ChannelRef != "" {
			return Command{Verb: VerbHelp}, nil // help is help, whatever follows
		}
		return c, nil
	case VerbList:
		for _, t := range rest {
			if _, _, ok := incidentRef(t.s); ok {
				c.Incident = -1
			}
		}
		if c.Incident != 0 || c.ChannelRef != "" {
			return Command{}, syntax(VerbList, "list shows many incidents: leave out the incident number (/incident status #42 shows one).")
		}
		for _, t := range rest {
			switch strings.ToLower(t.s) {
			case "mine":
				c.Mine = true
			case "triggered":
				c.Triggered = true
			default:
				return Command{}, syntax(VerbList, "list takes mine (the incidents you own) and triggered (those not yet acknowledged), not %q; "+
					"with neither it shows the %d newest open incidents.", echo(t.s), ListShown)
			}
		}
		return c, nil
	case VerbStats:
		if c.Incident != 0 || c.ChannelRef != "" {
			return Command{}, syntax(VerbStats, "stats covers every incident of a period: leave out the incident number.")
		}
		if g != nil && g.Service != "" {
			// The service was given apart, whole: nothing in it is
			// read as the period.
			svc, err := givenService(VerbStats, g.Service)
			if err != nil {
				return Command{}, err
			}
			c.Service = svc
		}
		return parseStats(c, rest, g != nil)
	case VerbNew:
		if c.Incident != 0 || c.ChannelRef != "" {
			return Command{}, syntax(VerbNew, "new opens a new incident: leave out the incident number.")
		}
		var title []string
		if g != nil {
			// The title and the service were given apart, each whole:
			// nothing in the title is read as an option.
			c.Title = words(g.Title)
			if g.Service != "" {
				svc, err := givenService(VerbNew, g.Service)
				if err != nil {
					return Command{}, err
				}
				c.Service = svc
			}
		}
		for _, t := range rest {
			m := optionRE.FindStringSubmatch(t.s)
			if m == nil {
				if g != nil {
					return Command{}, syntax(VerbNew, "Unexpected %q: give the title in its own option.", echo(t.s))
				}
				title = append(title, t.s)
				continue
			}
			key, val := strings.ToLower(m[1]), strings.ToLower(m[2])
			switch key {
			case "service":
				if !rotations.ValidID(val) {
					return Command{}, syntax(VerbNew, "service=%s is not a service name (lowercase letters, digits, - or _).", m[2])
				}
				if c.Service != "" {
					return Command{}, syntax(VerbNew, "Give service= once.")
				}
				c.Service = val
			case "sev", "severity":
				sev := incident.Severity(val)
				if !sev.Valid() {
					return Command{}, syntax(VerbNew, "sev must be critical, warning or info (got %q).", m[2])
				}
				if c.Severity != "" {
					return Command{}, syntax(VerbNew, "Give sev= once.")
				}
				c.Severity = sev
			default:
				return Command{}, syntax(VerbNew, "new takes service= and sev=, not %s=.", m[1])
			}
		}
		if g == nil {
			c.Title = strings.Join(title, " ")
		}
		switch {
		case c.Title == "":
			return Command{}, syntax(VerbNew, "Give the incident a title.")
		case len([]rune(c.Title)) > MaxTitle:
			return Command{}, syntax(VerbNew, "The title is %d characters; keep it under %d.", len([]rune(c.Title)), MaxTitle)
		}
		return c, nil
	case VerbStatus:
		if err := takeRef(); err != nil {
			return Command{}, err
		}
		if len(rest) > 0 {
			return Command{}, syntax(c.Verb, "%s takes only the incident, not %q.", c.Verb, rest[0].s)
		}
		return c, nil
	case VerbAck, VerbResolve, VerbEscalate:
		// The words after the incident are an optional note for the timeline.
		if err := takeRef(); err != nil {
			return Command{}, err
		}
		var err error
		if c.Text, err = noteText(); err != nil {
			return Command{}, err
		}
		if len([]rune(c.Text)) > MaxNote {
			return Command{}, syntax(c.Verb, "The note is %d characters; keep it under %d.", len([]rune(c.Text)), MaxNote)
		}
		return c, nil
	case VerbNote:
		if err := takeRef(); err != nil {
			return Command{}, err
		}
		var err error
		if c.Text, err = noteText(); err != nil {
			return Command{}, err
		}
		switch {
		case c.Text == "":
			return Command{}, syntax(VerbNote, "Say what to note.")
		case len([]rune(c.Text)) > MaxNote:
			return Command{}, syntax(VerbNote, "The note is %d characters; keep it under %d.", len([]rune(c.Text)), MaxNote)
		}
		return c, nil
	case VerbMaintenance:
		if c.Incident != 0 || c.ChannelRef != "" {
			return Command{}, syntax(VerbMaintenance, "maintenance is per service: leave out the incident number.")
		}
		if g != nil {
			return parseMaintenanceGiven(c, rest, *g)
		}
		return parseMaintenance(c, rest)
	case VerbPage:
		if err := takeRef(); err != nil {
			return Command{}, err
		}
		if len(rest) == 0 {
			return Command{}, syntax(VerbPage, "Name someone to page into the incident.")
		}
		m, ok := mention(rest[0].s)
		if !ok {
			return Command{}, syntax(VerbPage, "%q is not a person; mention them with @.", rest[0].s)
		}
		c.Who = m
		rest = rest[1:]
		var err error
		if c.Text, err = noteText(); err != nil {
			return Command{}, err
		}
		if len([]rune(c.Text)) > MaxNote {
			return Command{}, syntax(VerbPage, "The reason is %d characters; keep it under %d.", len([]rune(c.Text)), MaxNote)
		}
		return c, nil
	case VerbAssign:
		if err := takeRef(); err != nil {
			return Command{}, err
		}
		if len(rest) == 0 {
			return Command{}, syntax(VerbAssign, "Name someone to assign the incident to.")
		}
		m, ok := mention(rest[0].s)
		if !ok {
			return Command{}, syntax(VerbAssign, "%q is not a person; mention them with @.", rest[0].s)
		}
		if len(rest) > 1 {
			return Command{}, syntax(VerbAssign, "Assign to one person (got %q after %s).", rest[1].s, rest[0].s)
		}
		c.Who = m
		return c, nil
	}
	hint := ""
	if s := closest(word, incidentVerbs); s != "" {
		hint = fmt.Sprintf(" Did you mean %s?", s)
	}
	names := make([]string, len(incidentVerbs))
	for i, v := range incidentVerbs {
		names[i] = string(v)
	}
	return Command{}, &SyntaxError{
		Msg:   fmt.Sprintf("/incident has no %q.%s The commands are %s.", echo(toks[0].s), hint, strings.Join(names, ", ")),
		Usage: "/incident help for what each takes", Verb: VerbHelp}
}

// maxEcho bounds how much of an unknown word an error message repeats.
const maxEcho = 30

// echo is word as an error message repeats it: at most maxEcho characters,
// "…" marking a cut.
func echo(word string) string {
	if r := []rune(word); len(r) > maxEcho {
		return string(r[:maxEcho]) + "…"
	}
	return word
}

// Stats periods: DefaultStatsDays when none is given, at most MaxStatsDays
// (baton report and GET /v1/analytics go further).
const (
	DefaultStatsDays = 7
	MaxStatsDays     = 90
)

var periodRE = regexp.MustCompile(`^(?i)([0-9]{1,4})(d|w)$`)

// parseStats reads stats' options, in any order: a period (7d, 30d, 90d,
// any number of days or weeks up to MaxStatsDays) and service=S. given:
// the chat gives the service apart (ParseGiven), so no service= is read
// from the words.
func parseStats(c Command, rest []token, given bool) (Command, error) {
	for _, t := range rest {
		// A bare number here is a period without its unit, refused below.
		if _, _, ok := incidentRef(t.s); ok && strings.Trim(t.s, "0123456789") != "" {
			return Command{}, syntax(VerbStats, "stats covers every incident of a period: leave out the incident number.")
		}
		if m := periodRE.FindStringSubmatch(t.s); m != nil {
			if c.Days != 0 {
				return Command{}, syntax(VerbStats, "Give the period once.")
			}
			n, _ := strconv.Atoi(m[1])
			if strings.EqualFold(m[2], "w") {
				n *= 7
			}
			switch {
			case n == 0:
				return Command{}, syntax(VerbStats, "%s is no time at all; give a period such as 7d.", t.s)
			case n > MaxStatsDays:
				return Command{}, syntax(VerbStats, "stats covers up to %d days (got %s); for longer periods use baton report or GET /v1/analytics.", MaxStatsDays, t.s)
			}
			c.Days = n
			continue
		}
		m := optionRE.FindStringSubmatch(t.s)
		switch {
		case given && m != nil:
			return Command{}, syntax(VerbStats, "Unexpected %q: give the service in its own option.", echo(t.s))
		case m == nil:
			return Command{}, syntax(VerbStats, "stats takes a period such as 7d, 30d or 90d and a service, not %q.", t.s)
		case !strings.EqualFold(m[1], "service"):
			return Command{}, syntax(VerbStats, "stats takes service=, not %s=.", m[1])
		case c.Service != "":
			return Command{}, syntax(VerbStats, "Give service= once.")
		case !rotations.ValidID(strings.ToLower(m[2])):
			return Command{}, syntax(VerbStats, "service=%s is not a service name (lowercase letters, digits, - or _).", m[2])
		}
		c.Service = strings.ToLower(m[2])
	}
	if c.Days == 0 {
		c.Days = DefaultStatsDays
	}
	return c, nil
}

func parseOnCall(text string) (Command, error) {
	toks := tokenize(text)
	if len(toks) == 0 {
		return Command{Verb: VerbOnCall}, nil
	}
	word := strings.ToLower(toks[0].s)
	switch word {
	case "help":
		return Command{Verb: VerbOnHelp}, nil
	case "override":
		return parseOverride(toks[1:])
	}
	if closest(word, []Verb{VerbOverride}) != "" {
		return Command{}, syntax(VerbOverride, "Did you mean override?")
	}
	svc := strings.TrimPrefix(word, "service=")
	if !rotations.ValidID(svc) {
		return Command{}, syntax(VerbOnCall, "%q is not a service name.", toks[0].s)
	}
	if len(toks) > 1 {
		return Command{}, syntax(VerbOnCall, "Name one service (got %q after %s).", toks[1].s, toks[0].s)
	}
	return Command{Verb: VerbOnCall, Service: svc}, nil
}

// parseOnCallGiven is parseOnCall for a chat that gives /oncall's service
// and override's duration apart (Given), each read whole, as what its
// option is: a service "db override <@U1> 4h" or "help" is that service
// (and refused, as no service name, when it is not one), a duration
// "2h rotation=x" is refused as no duration, never read as a rotation.
// The words in text may only be the sub-command (none: show) and
// override's person, as a mention.
func parseOnCallGiven(text string, g Given) (Command, error) {
	switch {
	case g.Note != "":
		return Command{}, &SyntaxError{Msg: "/oncall takes no note.", Usage: "/oncall help", Verb: VerbOnHelp}
	case g.Title != "":
		return Command{}, &SyntaxError{Msg: "/oncall takes no title.", Usage: "/oncall help", Verb: VerbOnHelp}
	case g.Reason != "":
		return Command{}, &SyntaxError{Msg: "/oncall takes no reason.", Usage: "/oncall help", Verb: VerbOnHelp}
	}
	toks := tokenize(text)
	c := Command{Verb: VerbOnCall}
	if len(toks) > 0 {
		switch strings.ToLower(toks[0].s) {
		case "help":
			return Command{Verb: VerbOnHelp}, nil // help is help, whatever follows
		case "override":
			c.Verb = VerbOverride
			toks = toks[1:]
		default:
			return Command{}, syntax(VerbOnCall, "Unexpected %q: give the service in its own option.", echo(toks[0].s))
		}
	}
	if g.Service != "" {
		svc, err := givenService(c.Verb, g.Service)
		if err != nil {
			return Command{}, err
		}
		c.Service = svc
	}
	if c.Verb == VerbOnCall {
		if g.Duration != "" {
			return Command{}, syntax(VerbOnCall, "/oncall show takes no duration.")
		}
		return c, nil
	}
	if len(toks) == 0 {
		return Command{}, syntax(VerbOverride, "Name who takes the shift, and for how long.")
	}
	m, ok := mention(toks[0].s)
	if !ok || (m.ChatID == "" && !strings.HasPrefix(toks[0].s, "@")) {
		return Command{}, syntax(VerbOverride, "%q is not a person; mention them with @.", echo(toks[0].s))
	}
	if len(toks) > 1 {
		return Command{}, syntax(VerbOverride, "Unexpected %q: give the duration and the service in their own options.", echo(toks[1].s))
	}
	c.Who = m
	given := strings.TrimSpace(g.Duration)
	if given == "" {
		return Command{}, syntax(VerbOverride, "Say for how long %s takes the shift.", toks[0].s)
	}
	d, err := ParseDuration(given)
	if err != nil {
		return Command{}, syntax(VerbOverride, "%s", err.Error())
	}
	c.For = d
	return c, nil
}

func parseOverride(toks []token) (Command, error) {
	c := Command{Verb: VerbOverride}
	var plain []token
	for _, t := range toks {
		m := optionRE.FindStringSubmatch(t.s)
		if m == nil {
			plain = append(plain, t)
			continue
		}
		key, val := strings.ToLower(m[1]), strings.ToLower(m[2])
		if !rotations.ValidID(val) {
			return Command{}, syntax(VerbOverride, "%s=%s is not a name.", m[1], m[2])
		}
		switch key {
		case "rotation":
			c.Rotation = val
		case "service":
			c.Service = val
		default:
			return Command{}, syntax(VerbOverride, "override takes rotation= or service=, not %s=.", m[1])
		}
	}
	if c.Rotation != "" && c.Service != "" {
		return Command{}, syntax(VerbOverride, "Give rotation= or service=, not both.")
	}
	if len(plain) == 0 {
		return Command{}, syntax(VerbOverride, "Name who takes the shift, and for how long.")
	}
	m, ok := mention(plain[0].s)
	if !ok {
		if _, err := ParseDuration(plain[0].s); err == nil {
			return Command{}, syntax(VerbOverride, "Name who takes the shift first, then for how long.")
		}
		return Command{}, syntax(VerbOverride, "%q is not a person; mention them with @.", plain[0].s)
	}
	if _, err := ParseDuration(plain[0].s); err == nil && m.ChatID == "" && !strings.HasPrefix(plain[0].s, "@") {
		return Command{}, syntax(VerbOverride, "Name who takes the shift first, then for how long.")
	}
	c.Who = m
	if len(plain) < 2 {
		return Command{}, syntax(VerbOverride, "Say for how long %s takes the shift.", plain[0].s)
	}
	d, err := ParseDuration(plain[1].s)
	if err != nil {
		return Command{}, syntax(VerbOverride, "%s", err.Error())
	}
	c.For = d
	if len(plain) > 2 {
		return Command{}, syntax(VerbOverride, "Unexpected %q after the duration.", plain[2].s)
	}
	return c, nil
}

var durRE = regexp.MustCompile(`^(?:([0-9]+)d)?(.*)$`)

// ParseDuration reads an override's length: Go's durations (90m, 4h,
// 1h30m) plus whole days (2d, 1d12h), from a minute to 90 days.
func ParseDuration(s string) (time.Duration, error) {
	m := durRE.FindStringSubmatch(strings.ToLower(s))
	var d time.Duration
	if m[1] != "" {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 90 {
			return 0, fmt.Errorf("%q is longer than 90 days.", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	}
	if m[2] != "" {
		rest, err := time.ParseDuration(m[2])
		if err != nil || (m[1] != "" && rest < 0) {
			return 0, fmt.Errorf("%q is not a duration such as 4h, 90m or 2d.", s)
		}
		d += rest
	} else if m[1] == "" {
		return 0, fmt.Errorf("%q is not a duration such as 4h, 90m or 2d.", s)
	}
	switch {
	case d < time.Minute:
		return 0, fmt.Errorf("%q is shorter than a minute.", s)
	case d > rotations.MaxOverride:
		return 0, fmt.Errorf("%q is longer than 90 days.", s)
	}
	return d, nil
}

// closest returns the verb within two edits of word (a swap of two
// neighbouring letters counting as one), if one is.
func closest(word string, verbs []Verb) Verb {
	best, bestD := Verb(""), 3
	for _, v := range verbs {
		if d := suggest.Distance(word, string(v)); d < bestD {
			best, bestD = v, d
		}
	}
	if best != "" && bestD > 0 && (bestD < 2 || len(word) > 3) {
		return best
	}
	return ""
}

// HelpText is the answer to /incident help, in Usage's form.
func HelpText() string { return helpText(nil) }

// helpText is the answer to /incident help; cu, when set, says how each
// verb is typed in the chat.
func helpText(cu CommandUsage) string {
	var b strings.Builder
	usage := func(v Verb) string { return Usage[v] }
	named := "with 42, #42 or INC-42"
	if cu != nil {
		usage = func(v Verb) string { return cu.CommandUsage(v, false) }
		named = "as in " + cu.CommandUsage(VerbStatus, true)
	}
	b.WriteString("/incident commands (in an incident's channel the incident is implied; elsewhere name it " + named + "):\n")
	for _, v := range incidentVerbs {
		b.WriteString("  " + usage(v) + "\n")
	}
	b.WriteString("/oncall commands:\n  " + usage(VerbOnCall) + "\n  " + usage(VerbOverride) + "\n")
	b.WriteString("React with an acknowledge emoji on the incident card, its notice or a page to acknowledge; whoever acknowledges owns the incident.")
	return b.String()
}
