package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakediscord"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/privacy"
)

// Incidents is what the story reads of baton's incident store.
type Incidents interface {
	List(ctx context.Context, f incident.Filter, limit int) ([]incident.Incident, error)
	Get(ctx context.Context, n int64) (incident.Incident, []incident.Event, error)
}

var _ Incidents = (*incident.Store)(nil)

// Story tells in the terminal, one line per event, what happens in the
// demo: alerts received (from the webhook's answers), the incidents'
// timelines (from Redis), what the chat side did (from the sandbox's change
// feed) and what people did on the page. It never prints an alert's body:
// incidents are named by number, service, severity and source.
//
// Concurrency: Line, AlertReceived, Acted and SetSandbox may be called from
// any goroutine; the other fields are set before Run, which is called once.
type Story struct {
	// Out receives the lines.
	Out io.Writer
	// Incidents is baton's store; Fake the sandbox's fake Slack, or
	// Discord its fake Discord (optional; one of them).
	Incidents Incidents
	Fake      *fakeslack.Server
	Discord   *fakediscord.Server
	// SlackPeople maps a sandbox user id (Slack's, or Discord's snowflake)
	// to a demo person id.
	SlackPeople map[string]string
	// Poll is how often the timelines are read. Default 250ms.
	Poll time.Duration
	// Now is the clock for the time column. Default time.Now.
	Now func() time.Time
	// Emails, when set, are the emails the demo's SMTP sink took, oldest
	// first: each new one is told (to whom, about which incident).
	Emails func() []Email
	// Redactor redacts a refusal's sentence (it quotes what was sent: an
	// alert's summary, a service) before it is printed. Default: the
	// built-in rules, whatever privacy.redact says, since the terminal
	// never shows an alert's text.
	Redactor *privacy.Redactor

	mu        sync.Mutex
	seen      map[int64]*seenIncident
	lastActed map[string]acted // by person id
	repeats   map[int64]*repeatNote
	emails    int // emails told
	discord   discordSeen
	held      map[string]*pageGroup // pages held until their message is told whole (story_pages.go)
	toldMsgs  map[string]toldMsg    // messages told, by key (story_pages.go)
	dmPages   map[string]dmPage     // the bot's DMs as last seen, by channel|ts (story_dm.go)
}

type seenIncident struct {
	events     int
	alertCount int64
	// repages is the count of each folded run of re-pages told so far, by
	// timeline index: a re-page adds to its run's entry (Event.Count)
	// instead of appending one.
	repages map[int]int64
}

type acted struct {
	how string
	at  time.Time
}

// repeatNote gathers a storm's repeats into one line per incident at most
// every repeatEvery.
type repeatNote struct {
	pending int64
	total   int64
	last    time.Time
}

const repeatEvery = 2 * time.Second

// actedWithin is how recent a person's action on the page must be to be
// named as the way an acknowledgement or resolve came ("via ✅").
const actedWithin = 20 * time.Second

// builtinRedactor has privacy's built-in rules only.
var builtinRedactor = func() *privacy.Redactor {
	r, err := privacy.New(privacy.Config{})
	if err != nil {
		panic(err) // the built-in rules compile: a test proves it
	}
	return r
}()

func (s *Story) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SetSandbox sets Fake and SlackPeople once the sandbox has started; the
// page may already be acting (Acted) when it is called.
func (s *Story) SetSandbox(fake *fakeslack.Server, slackPeople map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Fake, s.SlackPeople = fake, slackPeople
}

// Line prints one line of the story, with the time of day in front.
func (s *Story) Line(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lineLocked(format, args...)
}

func (s *Story) lineLocked(format string, args ...any) {
	fmt.Fprintf(s.Out, "%s  %s\n", s.now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// AlertReceived tells of one answer of the webhook: the source, the HTTP
// status and what baton did with the alert. Repeats of an open incident
// are gathered into one line every two seconds.
func (s *Story) AlertReceived(source string, status int, outcome string, n int64, count int64, errMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case status >= 300:
		red := s.Redactor
		if red == nil {
			red = builtinRedactor
		}
		s.lineLocked("alert from %s refused (%d): %s", source, status, text.Truncate(red.String(errMsg), 160))
	case outcome == string(incident.OutcomeCreated):
		s.lineLocked("alert received from %s → INC-%d opened", source, n)
	case outcome == string(incident.OutcomeRepeated):
		if s.repeats == nil {
			s.repeats = map[int64]*repeatNote{}
		}
		r := s.repeats[n]
		if r == nil {
			r = &repeatNote{}
			s.repeats[n] = r
		}
		r.pending++
		r.total = count
		if s.now().Sub(r.last) >= repeatEvery {
			s.flushRepeatLocked(n, r, source)
		}
	case outcome == string(incident.OutcomeResolved):
		s.lineLocked("recovery received from %s → INC-%d resolves", source, n)
	case outcome == string(incident.OutcomeNoOpenIncident):
		s.lineLocked("recovery received from %s: no open incident had that alert, nothing to do", source)
	case outcome == string(incident.OutcomeSuperseded):
		s.lineLocked("alert from %s is older than a recovery already received: the condition is over, nothing opens", source)
	case outcome == string(incident.OutcomeStaleRecovery):
		s.lineLocked("recovery from %s is older than INC-%d's latest alert: an earlier flap, the incident stays open", source, n)
	case outcome == string(incident.OutcomeDuplicate):
		s.lineLocked("alert from %s was a redelivery of one already stored: nothing changed", source)
	case outcome == "":
		s.lineLocked("webhook from %s answered %d", source, status)
	default:
		s.lineLocked("alert received from %s: %s (INC-%d)", source, outcome, n)
	}
}

func (s *Story) flushRepeatLocked(n int64, r *repeatNote, source string) {
	if r.pending == 0 {
		return
	}
	if source != "" {
		source = " from " + source
	}
	s.lineLocked("alert repeated%s ×%d → deduplicated into INC-%d (now %d alerts, still one incident)", source, r.pending, n, r.total)
	r.pending = 0
	r.last = s.now()
}

// Acted tells what a demo person did on the sandbox page and remembers it,
// so that the acknowledgement that follows says how it came.
func (s *Story) Acted(a Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	who := s.person(a.As)
	where := s.where(a.Channel)
	var how string
	switch a.Kind {
	case "button":
		label := a.Label
		if label == "" {
			label = a.ActionID
		}
		how = "the " + label + " button"
		s.lineLocked("%s pressed %s in %s", who, label, where)
		s.watchInteractionLocked(a.Envelope, who+"'s "+label)
	case "reaction":
		how = emojiName(a.Reaction)
		s.lineLocked("%s reacted %s in %s", who, how, where)
	case "command":
		how = a.Text
		cmd, _, _ := strings.Cut(a.Text, " ")
		if strings.HasPrefix(a.Text, "/incident ") {
			// Subcommand only: a note's text is not for the terminal.
			f := strings.Fields(a.Text)
			cmd = strings.Join(f[:min(2, len(f))], " ")
			how = cmd
		}
		s.lineLocked("%s typed %s in %s", who, cmd, where)
		s.watchInteractionLocked(a.Envelope, who+"'s "+cmd)
	}
	if s.lastActed == nil {
		s.lastActed = map[string]acted{}
	}
	s.lastActed[who] = acted{how: how, at: s.now()}
}

func (s *Story) person(slackID string) string {
	if p, ok := s.SlackPeople[slackID]; ok {
		return p
	}
	return slackID
}

// where names a channel for the story: "#name", or "their DM" for an IM.
func (s *Story) where(channelID string) string {
	if w, ok := s.discordWhere(channelID); ok {
		return w
	}
	if s.Fake == nil {
		return channelID
	}
	c, ok := s.Fake.Channel(channelID)
	switch {
	case !ok:
		return channelID
	case c.IsIM:
		return s.person(c.User) + "'s DM"
	default:
		return "#" + c.Name
	}
}

// Run tells the story until ctx ends: it reads the incidents' timelines
// every Poll and follows the sandbox's change feed.
func (s *Story) Run(ctx context.Context) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	var wg sync.WaitGroup
	if s.Fake != nil {
		feed, stop := s.Fake.Subscribe()
		defer stop()
		wg.Go(func() { s.follow(ctx, feed) })
	}
	if s.Discord != nil {
		wg.Go(func() { s.followDiscord(ctx, s.Discord) })
	}
	defer wg.Wait()
	t := time.NewTicker(poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.flushHeldLocked(true)
			s.mu.Unlock()
			return nil
		case <-t.C:
		}
		err := s.pollOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.Line("cannot read incidents from Redis: %v", err)
			failing = true
		case err == nil && failing:
			s.Line("Redis answers again")
			failing = false
		}
		s.tellEmails()
		s.mu.Lock()
		for n, r := range s.repeats {
			if r.pending > 0 && s.now().Sub(r.last) >= repeatEvery {
				s.flushRepeatLocked(n, r, "")
			}
		}
		s.mu.Unlock()
	}
}

// incRefRE finds an incident's reference in an email's subject.
var incRefRE = regexp.MustCompile(`\bINC-\d+\b`)

// tellEmails tells the emails the sink took since the last call: to whom
// and about which incident, never the title.
func (s *Story) tellEmails() {
	if s.Emails == nil {
		return
	}
	all := s.Emails()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range all[min(s.emails, len(all)):] {
		about := incRefRE.FindString(e.Subject)
		if about == "" {
			about = "an incident"
		}
		s.lineLocked("email about %s received by the demo's SMTP sink, to %s (see Emails on the page)", about, strings.Join(e.To, ", "))
	}
	s.emails = max(s.emails, len(all))
}

// maxFollowed bounds how many incidents one poll reads timelines of.
const maxFollowed = 50

func (s *Story) pollOnce(ctx context.Context) error {
	open, err := s.Incidents.List(ctx, incident.FilterOpen, maxFollowed)
	if err != nil {
		return err
	}
	resolved, err := s.Incidents.List(ctx, incident.FilterResolved, 10)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[int64]*seenIncident{}
	}
	s.mu.Unlock()
	for _, inc := range append(open, resolved...) {
		s.mu.Lock()
		seen := s.seen[inc.Number]
		s.mu.Unlock()
		if seen != nil && inc.Status == incident.StatusResolved && seen.events < 0 {
			continue // resolved and fully told
		}
		_, tl, err := s.Incidents.Get(ctx, inc.Number)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if seen == nil {
			seen = &seenIncident{}
			s.seen[inc.Number] = seen
		}
		for i, e := range tl {
			switch {
			case i >= seen.events && e.Type == incident.EventPaged:
				s.holdPageLocked(inc, e, false)
			case i >= seen.events:
				inc, e := inc, e
				s.tellAfterHeldLocked(inc.Number, func() { s.tellLocked(inc, e) }) // its page first
			case e.Count > seen.repages[i]:
				s.holdPageLocked(inc, e, true) // the run grew: one more re-page
			default:
				continue
			}
			if e.Count > 0 {
				if seen.repages == nil {
					seen.repages = map[int]int64{}
				}
				seen.repages[i] = e.Count
			}
		}
		seen.events = len(tl)
		if inc.Status == incident.StatusResolved {
			seen.events = -1
		}
		s.mu.Unlock()
	}
	// A message's pages this poll added nothing to are all seen: told now.
	s.mu.Lock()
	s.flushHeldLocked(false)
	s.mu.Unlock()
	return nil
}

// tellLocked prints one timeline event. Callers hold s.mu.
func (s *Story) tellLocked(inc incident.Incident, e incident.Event) {
	ref := inc.Ref()
	switch e.Type {
	case incident.EventOpened:
		if inc.Source == "heartbeat" {
			s.lineLocked("%s opened: service %s, %s: a heartbeat was missed (no beat within its interval + grace)", ref, inc.Service, inc.Severity)
			break
		}
		s.lineLocked("%s opened: service %s, %s, from %s", ref, inc.Service, inc.Severity, inc.Source)
	case incident.EventPagedIn:
		s.lineLocked("%s: %s paged in by %s (a responder; the owner stays the owner): DMed until they acknowledge their page", ref, e.Person, e.By)
	case incident.EventPageAcknowledged:
		s.lineLocked("%s: %s acknowledged their page: a responder now, no more pages to them", ref, e.Person)
	case incident.EventHeld:
		s.lineLocked("%s held: service %s is in maintenance, nobody paged and no channel until the window ends", ref, inc.Service)
	case incident.EventReleased:
		s.lineLocked("%s released: the maintenance window ended with its alert still firing, so it pages now", ref)
	case incident.EventEmailed:
		why := ""
		if e.Note != "" {
			why = " (" + text.Truncate(e.Note, 80) + ")"
		}
		s.lineLocked("%s: %s emailed, level %d%s", ref, e.Person, e.Level, why)
	case incident.EventRepeated:
		// The webhook's answers tell repeats as they come.
	case incident.EventPaged:
		s.tellPagedLocked(ref, e)
	case incident.EventEscalated:
		why := ""
		if e.Note != "" {
			why = ": " + e.Note
		}
		s.lineLocked("%s escalated to %s (level %d)%s", ref, e.Person, e.Level, why)
	case incident.EventAcknowledged:
		s.lineLocked("%s acknowledged by %s%s", ref, e.By, s.viaLocked(e.By))
	case incident.EventResolved:
		s.lineLocked("%s resolved by %s%s", ref, e.By, s.viaLocked(e.By))
	case incident.EventReassigned:
		s.lineLocked("%s reassigned to %s by %s", ref, e.Person, e.By)
	case incident.EventRetriggered:
		if e.Note != "" {
			s.lineLocked("%s triggered again: %s", ref, text.Truncate(e.Note, 160))
		} else {
			s.lineLocked("%s triggered again: acknowledged too long without a resolve", ref)
		}
	case incident.EventNote:
		if e.By == "baton" {
			s.lineLocked("%s note: %s", ref, text.Truncate(e.Note, 160))
		} else {
			s.lineLocked("%s note added by %s", ref, e.By)
		}
	case incident.EventPageFailed:
		s.lineLocked("%s page to %s failed: %s", ref, orFallback(e.Person), text.Truncate(e.Note, 160))
	default:
		s.lineLocked("%s %s by %s", ref, e.Type, e.By)
	}
}

func (s *Story) tellPagedLocked(ref string, e incident.Event) {
	reason, _, _ := strings.Cut(e.Note, " ")
	switch reason {
	case "first":
		s.lineLocked("%s: %s paged (DM), level %d", ref, e.Person, e.Level)
	case "repeat":
		s.lineLocked("%s: %s re-paged, not acknowledged yet", ref, e.Person)
	case "escalated":
		s.lineLocked("%s: %s paged (DM) after the escalation, level %d", ref, e.Person, e.Level)
	case "handoff":
		s.lineLocked("%s: %s told the incident moved on", ref, e.Person)
	case "notify":
		s.lineLocked("%s: %s notified (another target of level %d)", ref, e.Person, e.Level)
	case "assigned":
		s.lineLocked("%s: %s paged as the new owner", ref, e.Person)
	case "retriggered":
		s.lineLocked("%s: %s paged again (re-triggered)", ref, e.Person)
	case "fallback":
		s.lineLocked("%s: nobody could be paged: %s", ref, text.Truncate(e.Note, 160))
	default:
		s.lineLocked("%s: %s paged (%s)", ref, orFallback(e.Person), e.Note)
	}
}

func orFallback(p string) string {
	if p == "" {
		return "the alerts channel"
	}
	return p
}

// viaLocked says how by's last action on the page came, if recent.
func (s *Story) viaLocked(by string) string {
	a, ok := s.lastActed[by]
	if !ok || s.now().Sub(a.at) > actedWithin {
		return ""
	}
	delete(s.lastActed, by)
	return " via " + a.how
}

// follow tells the chat side's changes from the sandbox's feed.
func (s *Story) follow(ctx context.Context, feed <-chan fakeslack.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-feed:
			if !ok {
				return
			}
			s.tellChat(e)
		}
	}
}

func (s *Story) tellChat(e fakeslack.Event) {
	bot := s.Fake.BotUserID()
	switch e.Kind {
	case fakeslack.EventChannelCreated:
		if c, ok := s.Fake.Channel(e.Channel); ok && c.Creator == bot {
			s.Line("channel #%s created", c.Name)
		}
	case fakeslack.EventMembersChanged:
		c, ok := s.Fake.Channel(e.Channel)
		if ok && !c.IsIM && e.User != bot && c.HasMember(e.User) && c.Creator == bot {
			s.Line("%s invited to #%s", s.person(e.User), c.Name)
		}
	case fakeslack.EventPinAdded:
		s.Line("incident card pinned in %s", s.where(e.Channel))
	case fakeslack.EventMessageUpdated:
		c, ok := s.Fake.Channel(e.Channel)
		switch {
		case e.User != bot || !ok:
		case c.IsIM:
			s.mu.Lock()
			s.tellDMEditLocked(e.Channel, e.TS)
			s.mu.Unlock()
		case c.Creator != bot:
			s.Line("notice updated in #%s", c.Name)
		default:
			s.Line("card updated in #%s", c.Name)
		}
	case fakeslack.EventMessagePosted:
		c, ok := s.Fake.Channel(e.Channel)
		if !ok || e.User != bot {
			return
		}
		m, _ := s.Fake.Message(e.Channel, e.TS)
		if c.IsIM {
			s.mu.Lock()
			s.rememberDMPageLocked(e.Channel, e.TS, readDMPage(m))
			s.tellDMLocked(c.User, m.Text)
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		told := s.tellChannelPostLocked(c.Name, m.Text)
		s.mu.Unlock()
		switch {
		case told:
		case len(m.Files) > 0:
			s.Line("chart shared in #%s", c.Name)
		case strings.HasPrefix(m.Text, "Incident stats:"), strings.HasPrefix(m.Text, "Weekly incident digest:"):
			s.Line("stats posted in #%s", c.Name)
		case c.Creator != bot && m.ThreadTS == "":
			s.Line("notice posted in #%s", c.Name)
		}
	case fakeslack.EventChannelArchived:
		s.Line("%s archived", s.where(e.Channel))
	case fakeslack.EventEphemeral:
		if eph := s.Fake.Ephemerals(e.User); len(eph) > 0 {
			last := eph[len(eph)-1]
			s.Line("baton answered %s (only they see it): %s", s.person(e.User), text.Truncate(oneLine(last.Text), 120))
		}
	case fakeslack.EventConnected:
		s.Line("bot connected to the sandbox over Socket Mode")
	case fakeslack.EventDisconnected:
		s.Line("bot disconnected from the sandbox")
	}
}

// tellDMLocked tells the DMs that are not pages of the owner: a page-in,
// the ack lease's question, a handoff's. Pages are told from the
// timelines. Callers hold s.mu; txt is plain text (on Discord:
// discordPlain of the content).
func (s *Story) tellDMLocked(user, txt string) {
	who := s.person(user)
	switch {
	case strings.Contains(txt, " paged you into INC-"):
		s.lineLocked("%s DMed: paged into %s [Acknowledge my page]", who, incRefRE.FindString(txt))
	case strings.HasPrefix(txt, "Reminder: you were paged into"):
		s.lineLocked("%s re-paged into %s: they have not acknowledged their page", who, incRefRE.FindString(txt))
	case strings.HasPrefix(txt, "Still working on INC-"):
		s.lineLocked("%s DMed: \"Still working on %s?\" [Yes, … more] [Hand it back]: their ack lease runs out soon", who, incRefRE.FindString(txt))
	case strings.HasPrefix(txt, "You're on call for"):
		s.lineLocked("%s DMed at the handoff: \"%s\" [Take it]", who, text.Truncate(strings.SplitN(txt, " until ", 2)[0], 80)+" — take the pager")
	case strings.Contains(txt, "has not taken the pager"):
		s.lineLocked("%s told: the pager was not taken at the handoff", who)
	case strings.HasPrefix(txt, "⚠️ Pre-shift check"):
		s.lineLocked("%s DMed: the pre-shift check found problems", who)
	}
}

// tellChannelPostLocked tells the bot's posts in a channel that the
// story names by their text (a maintenance summary, an untaken handoff,
// a pre-shift check); false for any other. Callers hold s.mu.
func (s *Story) tellChannelPostLocked(channel, txt string) bool {
	switch {
	case strings.HasPrefix(txt, "🔧 Maintenance of "):
		s.lineLocked("maintenance summary posted in #%s: %s", channel, text.Truncate(maintenanceCounts(txt), 120))
	case strings.Contains(txt, "has not taken the pager"):
		s.lineLocked("#%s told: the pager was not taken at the handoff, the outgoing person still holds it", channel)
	case strings.HasPrefix(txt, "⚠️ Pre-shift check"):
		s.lineLocked("pre-shift check found problems: posted in #%s", channel)
	default:
		return false
	}
	return true
}

// maintenanceCounts is the part of a maintenance summary after its first
// sentence: what arrived, by incident number (no alert text).
func maintenanceCounts(txt string) string {
	if _, rest, ok := strings.Cut(txt, ". "); ok {
		return rest
	}
	return txt
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// emojiName shows a reaction as its emoji when it is a common one.
func emojiName(name string) string {
	if isUnicodeEmoji(name) {
		return name // Discord's reactions are the emoji themselves
	}
	switch name {
	case "white_check_mark":
		return "✅"
	case "eyes":
		return "👀"
	case "+1", "thumbsup":
		return "👍"
	}
	return ":" + name + ":"
}

// Intake wraps baton's webhook handler so that each answer is told as it
// goes out: the source, the status, and from the JSON answer the incident
// and the outcome (never the alert). Requests outside /v1/alerts/ pass
// through untold.
func (s *Story) Intake(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source, ok := strings.CutPrefix(r.URL.Path, "/v1/alerts/")
		if !ok || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		rec := &answerRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		var reply struct {
			Incident   int64  `json:"incident"`
			AlertCount int64  `json:"alert_count"`
			Outcome    string `json:"outcome"`
			Error      string `json:"error"`
			Message    string `json:"message"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &reply)
		msg := reply.Error
		if msg == "" {
			msg = reply.Message
		}
		s.AlertReceived(source, rec.status, reply.Outcome, reply.Incident, reply.AlertCount, msg)
	})
}

// answerRecorder keeps the status and the first 4 KiB of an answer.
type answerRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) WriteHeader(code int) {
	a.status = code
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if room := 4096 - a.body.Len(); room > 0 {
		a.body.Write(b[:min(room, len(b))])
	}
	return a.ResponseWriter.Write(b)
}

func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }
