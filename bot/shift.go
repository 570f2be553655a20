package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// ActionTakePager is the button on a handoff's question to the incoming
// person ("take the pager"); its value is the handoff instant (unix s)
// and the rotation (takePagerValue).
const ActionTakePager Action = "takepager"

// HandoffStore keeps handoffs and the overrides they read;
// *overrides.Store implements it.
type HandoffStore interface {
	Set(ctx context.Context, rotation string) (*rotations.OverrideSet, error)
	BeginHandoff(ctx context.Context, h overrides.Handoff, hold bool, now time.Time) (bool, error)
	GetHandoff(ctx context.Context, rotation string, at time.Time) (overrides.Handoff, error)
	AcceptHandoff(ctx context.Context, rotation string, at time.Time, by string, now time.Time) (bool, error)
	HandoffTold(ctx context.Context, rotation string, at time.Time) error
}

// BoardForgetter is a Board that caches overrides for paging and can drop
// a rotation's (*oncall.Board): Take it makes the board forget the
// rotation, so the next page goes to whoever holds the pager now.
type BoardForgetter interface {
	Forget(rotation string)
}

// ShiftScheduler queues handoff step jobs; *incident.Store implements it.
type ShiftScheduler interface {
	ScheduleShift(ctx context.Context, name string, due time.Time) error
}

// ShiftOptions configure a Bot's Shifts.
type ShiftOptions struct {
	// Rotations by name, and the handoff settings of those that have any
	// (a rotation missing here has neither check nor question).
	Rotations map[string]*rotations.Rotation
	Policies  map[string]rotations.HandoffPolicy
	// Store keeps handoffs and overrides; Jobs queues the step jobs.
	Store HandoffStore
	Jobs  ShiftScheduler
	// ServiceRotation maps a service to the rotation its first escalation
	// level pages (oncall.Board.ServiceRotation): a rotation's problems go
	// to the alerts channels of its services.
	ServiceRotation map[string]string
	// RotationServices maps a rotation to every service whose policy names
	// it at any level: its problems and handoffs go to their alerts
	// channels. Nil: ServiceRotation's first levels alone.
	RotationServices map[string][]string
	// Secondary names whom to tell when a handoff's pager was not taken:
	// the people the next level of the policies paging the rotation names
	// at at. Nil: the alerts channels alone are told.
	Secondary func(ctx context.Context, rotation string, at time.Time) []string
	// Zone is a person's timezone (people[].timezone), for the times in
	// what they are sent; nil or a nil answer: UTC.
	Zone func(person string) *time.Location
	// Emailable says a person can be emailed (an email and smtp
	// configured): reachable when chat fails. Nil: nobody.
	Emailable func(person string) bool
}

// Shifts runs the handoff steps of rotations (escalation.ShiftKeeper):
// pre-shift checks and accepted handoffs. Build it with Bot.Shifts.
type Shifts struct {
	c *Bot
	o ShiftOptions
}

var _ escalation.ShiftKeeper = (*Shifts)(nil)

// Shifts builds the bot's handoff steps from o and registers them for the
// ActionTakePager button. Call it once, before the runner and the adapter
// run.
func (c *Bot) Shifts(o ShiftOptions) *Shifts {
	s := &Shifts{c: c, o: o}
	c.shifts.Store(s)
	return s
}

func shiftName(step rotations.HandoffStep, rotation string, at time.Time) string {
	return string(step) + ":" + rotation + ":" + strconv.FormatInt(at.Unix(), 10)
}

func parseShiftName(name string) (rotations.HandoffStep, string, time.Time, error) {
	parts := strings.Split(name, ":")
	if len(parts) != 3 {
		return "", "", time.Time{}, fmt.Errorf("handoff step %q: want step:rotation:unix", name)
	}
	sec, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("handoff step %q: %w", name, err)
	}
	return rotations.HandoffStep(parts[0]), parts[1], time.Unix(sec, 0).UTC(), nil
}

// Schedule queues, for every rotation with handoff settings, the steps of
// its next handoff after now (a step already queued keeps its due time, so
// running it at every start-up is safe). A step whose due time has passed
// (a pre-shift check less than preshift_check before the handoff) is due
// now.
func (s *Shifts) Schedule(ctx context.Context, now time.Time) error {
	names := make([]string, 0, len(s.o.Policies))
	for n := range s.o.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := s.o.Rotations[n]
		if r == nil {
			continue
		}
		at, _, _ := rotations.NextHandoff(r, now)
		for _, step := range []rotations.HandoffStep{rotations.StepPreshift, rotations.StepHandoff} {
			if err := s.schedule(ctx, step, n, at); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Shifts) schedule(ctx context.Context, step rotations.HandoffStep, rotation string, at time.Time) error {
	due, ok := s.o.Policies[rotation].Due(step, at)
	if !ok {
		return nil
	}
	return s.o.Jobs.ScheduleShift(ctx, shiftName(step, rotation, at), due)
}

// RunShift implements escalation.ShiftKeeper.
func (s *Shifts) RunShift(ctx context.Context, name string, now time.Time) (time.Time, error) {
	step, rot, at, err := parseShiftName(name)
	if err != nil {
		return time.Time{}, escalation.Permanent(err)
	}
	r := s.o.Rotations[rot]
	if r == nil {
		return time.Time{}, escalation.Permanent(fmt.Errorf("handoff step %s: no rotation %q", name, rot))
	}
	if due, _ := s.o.Policies[rot].Due(step, at); now.Before(due) {
		return due, nil // run early (a clock behind): wait for it
	}
	if over, redo := stale(r, step, at, now); over {
		// After downtime: this step's shift is over (or its handoff passed,
		// for a pre-shift check). It is skipped, and the step is queued for
		// the handoff that matters now instead: one catch-up, not a replay
		// of every handoff missed.
		s.c.log.Info("bot: a handoff step of a shift already over skipped", "step", name)
		if !redo.IsZero() {
			if err := s.schedule(ctx, step, rot, redo); err != nil {
				return time.Time{}, err
			}
		}
		return time.Time{}, nil
	}
	switch step {
	case rotations.StepPreshift:
		err = s.preshift(ctx, r, at, name)
	case rotations.StepHandoff:
		err = s.handoff(ctx, r, at, name, now)
	case rotations.StepGrace:
		err = s.grace(ctx, r, at, name, now)
	default:
		return time.Time{}, escalation.Permanent(fmt.Errorf("handoff step %s: unknown step", name))
	}
	if err != nil {
		return time.Time{}, err
	}
	if step != rotations.StepGrace {
		// Each step schedules itself for the next handoff.
		next, _, _ := rotations.NextHandoff(r, at)
		if err := s.schedule(ctx, step, rot, next); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// stale says whether step of the handoff at comes too late to run at now
// (after downtime): a pre-shift check once its handoff has passed, a
// handoff or grace once the shift that began at at is over. redo is the
// handoff whose step runs instead: the next one for a pre-shift check, the
// current one (begun at or before now) for a handoff; zero for a grace
// (the catch-up handoff queues its own).
func stale(r *rotations.Rotation, step rotations.HandoffStep, at, now time.Time) (over bool, redo time.Time) {
	next, cur, _ := rotations.NextHandoff(r, now)
	switch step {
	case rotations.StepPreshift:
		if now.Before(at) {
			return false, time.Time{}
		}
		return true, next
	case rotations.StepHandoff, rotations.StepGrace:
		end, _, _ := rotations.NextHandoff(r, at)
		if now.Before(end) {
			return false, time.Time{}
		}
		if step == rotations.StepHandoff && cur.Start.After(at) {
			return true, cur.Start
		}
		return true, time.Time{}
	}
	return false, time.Time{}
}

// reach is rotations.Reach over chat (an account, a DM that opens) and
// email. It answers each person once per call of reach: a check asks about
// every piece of the coming day, and a DM that does not open is not tried
// again for each.
func (s *Shifts) reach(ctx context.Context) rotations.Reach {
	seen := map[string]string{}
	return func(person string) string {
		if why, ok := seen[person]; ok {
			return why
		}
		why := s.reachOnce(ctx, person)
		seen[person] = why
		return why
	}
}

// reachOnce says whether person can be paged: "" when they can.
func (s *Shifts) reachOnce(ctx context.Context, person string) string {
	why := ""
	uid, err := s.c.people.ChatID(ctx, person)
	if err == nil {
		if _, err = s.c.pager.dm(ctx, uid); err != nil {
			why = "a DM does not open: " + err.Error()
		}
	} else {
		why = err.Error()
	}
	if why == "" || (s.o.Emailable != nil && s.o.Emailable(person)) {
		return ""
	}
	return why + "; no email either"
}

// Problems runs the pre-shift check of rotation r for the handoff at at:
// the pieces of on-call time from at through 24 hours, overrides applied.
func (s *Shifts) Problems(ctx context.Context, r *rotations.Rotation, at time.Time) ([]rotations.ShiftProblem, error) {
	return s.problems(ctx, r, at, s.reach(ctx))
}

// problems is Problems with reach given.
func (s *Shifts) problems(ctx context.Context, r *rotations.Rotation, at time.Time, reach rotations.Reach) ([]rotations.ShiftProblem, error) {
	ov, err := s.o.Store.Set(ctx, r.Name())
	if err != nil {
		return nil, err
	}
	others := map[string]*rotations.OverrideSet{}
	for n := range s.o.Rotations {
		if n == r.Name() {
			continue
		}
		set, err := s.o.Store.Set(ctx, n)
		if err != nil {
			return nil, err
		}
		others[n] = set
	}
	elsewhere := func(person string, from, until time.Time) string {
		var names []string
		for n, set := range others {
			for _, o := range set.List(n) {
				if o.Person == person && o.By != rotations.OverrideByHandoff && o.From.Before(until) && o.Until.After(from) {
					names = append(names, n)
					break
				}
			}
		}
		sort.Strings(names)
		return strings.Join(names, ", ")
	}
	pieces := rotations.Shifts(r, ov, at, at.Add(24*time.Hour))
	return rotations.PreshiftProblems(pieces, reach, elsewhere), nil
}

// ChatAuth is a chat that can check its credentials now (Slack's
// auth.test, asked every time); *slack.Chat implements it.
type ChatAuth interface {
	AuthCheck(ctx context.Context) error
}

// ErrChatDown: the chat did not answer, or refused baton's token, when
// CheckOnline asked it first.
var ErrChatDown = errors.New("the chat does not answer or refuses the token")

// CheckOnline is Check for `baton check-config --online`: every answer
// comes from the chat and Redis now, nothing from a cache. First the
// chat's credentials (ChatAuth; ErrChatDown when it does not answer or
// refuses the token: one problem, not one per person); then each
// rotation's overrides from Redis, and each person on call in the next
// 24 h once: their chat account (users.info for a configured id, the
// email lookup otherwise) and a DM opening (conversations.open), the
// answers kept in cc (which the caller may ask about more people after:
// nobody is asked twice). Each of these calls has its own timeout, cc's
// step, and an error names what did not answer.
func (s *Shifts) CheckOnline(ctx context.Context, now time.Time, cc *ChatCheck) (map[string][]rotations.ShiftProblem, error) {
	step := cc.step
	if a, ok := s.c.chat.(ChatAuth); ok {
		actx, cancel := context.WithTimeout(ctx, step)
		err := a.AuthCheck(actx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s auth.test: %w: %w", s.c.chat.Name(), ErrChatDown, err)
		}
	}
	reach := s.freshReach(ctx, cc)
	names := make([]string, 0, len(s.o.Rotations))
	for n := range s.o.Rotations {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]rotations.ShiftProblem{}
	for _, n := range names {
		r := s.o.Rotations[n]
		from := now
		if now.Before(r.FirstHandoff()) {
			from = r.FirstHandoff()
		}
		rctx, cancel := context.WithTimeout(ctx, step)
		ps, err := s.problems(rctx, r, from, reach)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("redis did not answer reading the overrides for rotation %s (within %s): %w", n, step, err)
		}
		if len(ps) > 0 {
			out[n] = ps
		}
	}
	return out, nil
}

// ChatCheck holds the chat's answer for each person asked (freshWhy): ""
// when they can be reached in the chat, else why not. It asks the chat
// about each person once, each call within its step; CheckOnline and
// check-config --online's check of the user: targets share one, so
// nobody is looked up twice.
type ChatCheck struct {
	s    *Shifts
	step time.Duration
	mu   sync.Mutex
	seen map[string]string
}

// NewChatCheck is an empty ChatCheck whose chat calls each have step.
func (s *Shifts) NewChatCheck(step time.Duration) *ChatCheck {
	return &ChatCheck{s: s, step: step, seen: map[string]string{}}
}

// Why is "" when person can be reached in the chat now (their account
// and a DM), else why not; the chat is asked the first time only.
func (c *ChatCheck) Why(ctx context.Context, person string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if why, ok := c.seen[person]; ok {
		return why
	}
	why := c.s.freshWhy(ctx, person, c.step)
	c.seen[person] = why
	return why
}

// freshReach is rotations.Reach asking the chat now through cc, each
// person once: users.info for a configured chat id, the email lookup
// otherwise, then conversations.open; email, when it reaches the person,
// makes up for the chat.
func (s *Shifts) freshReach(ctx context.Context, cc *ChatCheck) rotations.Reach {
	return func(person string) string {
		why := cc.Why(ctx, person)
		if why != "" && s.o.Emailable != nil && s.o.Emailable(person) {
			why = ""
		} else if why != "" {
			why += "; no email either"
		}
		return why
	}
}

func (s *Shifts) freshWhy(ctx context.Context, person string, step time.Duration) string {
	p, ok := s.c.people.Get(person)
	if !ok {
		return person + " is not in people"
	}
	chat := s.c.chat.Name()
	call := func(what string, f func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, step)
		defer cancel()
		if err := f(cctx); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%s %s did not answer within %s", chat, what, step)
			}
			return err
		}
		return nil
	}
	uid := p.ChatID
	switch {
	case uid != "":
		err := call("users.info", func(ctx context.Context) error { _, err := s.c.chat.UserEmail(ctx, uid); return err })
		if errors.Is(err, ErrNoUser) {
			return fmt.Sprintf("no %s user %s", chat, uid)
		}
		if err != nil {
			return fmt.Sprintf("%s user %s not checked: %v", chat, uid, err)
		}
	case !looksUpEmail(s.c.chat):
		return fmt.Sprintf("%s has no %s id in config", person, chat)
	case p.Email != "":
		err := call("users.lookupByEmail", func(ctx context.Context) error {
			var err error
			uid, err = s.c.chat.LookupEmail(ctx, p.Email)
			return err
		})
		if errors.Is(err, ErrNoUser) {
			return fmt.Sprintf("no %s user with email %s", chat, p.Email)
		}
		if err != nil {
			return fmt.Sprintf("email %s not looked up: %v", p.Email, err)
		}
	default:
		return fmt.Sprintf("%s has no %s id and no email in config", person, chat)
	}
	if err := call("conversations.open", func(ctx context.Context) error { _, err := s.c.chat.OpenDM(ctx, uid); return err }); err != nil {
		return "a DM does not open: " + err.Error()
	}
	return ""
}

// Check runs the pre-shift check of every rotation now, for the coming
// handoff: what `baton check-config --online` prints. Rotations not
// started yet are checked from their first handoff.
func (s *Shifts) Check(ctx context.Context, now time.Time) (map[string][]rotations.ShiftProblem, error) {
	out := map[string][]rotations.ShiftProblem{}
	for n, r := range s.o.Rotations {
		from := now
		if now.Before(r.FirstHandoff()) {
			from = r.FirstHandoff()
		}
		ps, err := s.Problems(ctx, r, from)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			out[n] = ps
		}
	}
	return out, nil
}

func (s *Shifts) preshift(ctx context.Context, r *rotations.Rotation, at time.Time, key string) error {
	reach := s.reach(ctx)
	ps, err := s.problems(ctx, r, at, reach)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		s.c.log.Info("bot: pre-shift check passed", "rotation", r.Name(), "handoff", at)
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = "• " + p.String()
	}
	text := fmt.Sprintf("⚠️ Pre-shift check of %s (handoff %s): %s\n%s", r.Name(), shiftTime(at),
		pluralWord(int64(len(ps)), "a problem", fmt.Sprintf("%d problems", len(ps))), strings.Join(lines, "\n"))
	ov, err := s.o.Store.Set(ctx, r.Name())
	if err != nil {
		return err
	}
	var people []string // incoming, outgoing, overrides applied
	for _, t := range []time.Time{at, at.Add(-time.Second)} {
		p, _, _, err := rotations.OnCall(r, ov, t)
		if err != nil {
			continue
		}
		if why := reach(p); why != "" {
			// The warning says they cannot be paged: it goes to the
			// others, not in a DM that was just found not to work.
			s.c.log.Info("bot: pre-shift warning not DMed to a person who cannot be paged", "rotation", r.Name(), "person", p)
			continue
		}
		people = append(people, p)
	}
	s.c.log.Warn("bot: pre-shift check found problems", "rotation", r.Name(), "handoff", at, "problems", len(ps))
	return s.tell(ctx, r.Name(), people, "shift:"+key, Message{Text: text})
}

func shiftTime(t time.Time) string { return t.UTC().Format("Mon Jan 2 15:04:05 MST") }

// timeFor is shiftTime in person's timezone (UTC when they have none).
func (s *Shifts) timeFor(person string, t time.Time) string {
	if s.o.Zone != nil {
		if loc := s.o.Zone(person); loc != nil {
			return t.In(loc).Format("Mon Jan 2 15:04:05 MST")
		}
	}
	return shiftTime(t)
}

// tell DMs people (each once) and posts in the rotation's alerts channels,
// each message keyed key; a target told already by an earlier run (found
// by key) is not told again. A person who cannot be reached, or a target
// the chat refuses for good, is skipped with a log line; other errors are
// returned (the job runs again, and the targets told are not told twice).
func (s *Shifts) tell(ctx context.Context, rotation string, people []string, key string, m Message) error {
	m.Key = key
	seen := map[string]bool{}
	var targets []string
	for _, p := range people {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		uid, err := s.c.people.ChatID(ctx, p)
		if errors.Is(err, ErrUnreachable) {
			s.c.log.Warn("bot: a person to tell about a handoff cannot be reached in chat", "person", p)
			continue
		}
		if err != nil {
			return err
		}
		ch, err := s.c.pager.dm(ctx, uid)
		if err != nil {
			s.c.log.Warn("bot: a person to tell about a handoff cannot be DMed", "person", p, "err", err)
			continue
		}
		targets = append(targets, ch)
	}
	for _, ch := range s.channels(rotation) {
		if !seen[ch] {
			seen[ch] = true
			targets = append(targets, ch)
		}
	}
	ctx = WithPacing(ctx, Pacing{MaxWait: s.c.pageMaxWait, Ticket: key})
	for _, t := range targets {
		id := t
		if known, err := s.c.st.hget(ctx, s.c.st.channels(), t); err == nil && known != "" {
			id = known
		}
		if id != t || !strings.HasPrefix(t, "#") {
			if ts, err := s.c.pager.findPage(ctx, id, key); err == nil && ts != "" {
				continue
			}
		}
		chID, _, err := s.c.chat.Post(ctx, t, m)
		if escalation.IsPermanent(err) {
			s.c.log.Error("bot: a handoff message cannot be posted", "target", t, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("tell %s: %w", t, err)
		}
		s.c.learnChannel(ctx, t, chID)
	}
	return nil
}

// channels are the alerts channels of the services whose first level pages
// rotation (the default channel when none has one).
func (s *Shifts) channels(rotation string) []string {
	var out []string
	for _, svc := range s.services(rotation) {
		ch := s.c.services[svc].AlertsChannel
		if ch == "" {
			ch = s.c.defaultChannel
		}
		if ch != "" && !containsString(out, ch) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// handoff runs the handoff step: when the pager changes hands, the
// outgoing person keeps it through a hold until the incoming one takes it,
// the incoming one is asked, and the grace step is scheduled. A run again
// (its earlier outcome unrecorded) finds the record and sets no second
// hold; the question is looked for before it is asked again.
func (s *Shifts) handoff(ctx context.Context, r *rotations.Rotation, at time.Time, key string, now time.Time) error {
	// The last shift's question, never pressed, loses its button: a
	// cosmetic that never holds up this handoff (a failure is logged and
	// the record kept for the next run).
	if err := s.settleTakeIt(ctx, r.Name(), time.Time{}, at,
		fmt.Sprintf("That shift of %s is over (the next began %s): its pager is not yours to take any more.", s.what(r.Name()), shiftTime(at))); err != nil {
		s.c.log.Warn("bot: the last handoff question not redrawn", "rotation", r.Name(), "err", err)
	}
	h, err := s.o.Store.GetHandoff(ctx, r.Name(), at)
	switch {
	case err == nil:
	case errors.Is(err, overrides.ErrNoHandoff):
		ov, err := s.o.Store.Set(ctx, r.Name())
		if err != nil {
			return err
		}
		incoming, _, until, err := rotations.OnCall(r, ov, at)
		if err != nil {
			return nil // not started: nobody hands over
		}
		outgoing, _, _, err := rotations.OnCall(r, ov, at.Add(-time.Second))
		if err != nil {
			outgoing = "" // the first shift
		}
		if rotations.DecideHandoff(outgoing, incoming) != rotations.HandoffAsk {
			return nil
		}
		h = overrides.Handoff{Rotation: r.Name(), At: at, Until: until, Outgoing: outgoing, Incoming: incoming}
		noHold, err := s.noHold(ctx, r.Name(), ov, at, outgoing)
		if err != nil {
			return err
		}
		if _, err := s.o.Store.BeginHandoff(ctx, h, noHold == "", now); err != nil {
			return err
		}
		if noHold != "" {
			s.c.log.Warn("bot: the outgoing person keeps no hold; the incoming person is on call at once", "rotation", r.Name(), "outgoing", outgoing, "why", noHold)
		}
		if h, err = s.o.Store.GetHandoff(ctx, r.Name(), at); err != nil {
			return err // the record as stored (with its hold's ID)
		}
	default:
		return err
	}
	if h.Accepted {
		return nil
	}
	if h.Override == "" {
		return s.unheld(ctx, r, h, key)
	}
	// The grace runs handoff_accept after the question: after the handoff,
	// or after now when the question comes late (a catch-up after downtime).
	due, _ := s.o.Policies[r.Name()].Due(rotations.StepGrace, at)
	if late := now.Sub(at); late > 0 {
		due = due.Add(late)
	}
	if err := s.o.Jobs.ScheduleShift(ctx, shiftName(rotations.StepGrace, r.Name(), at), due); err != nil {
		return err
	}
	text := fmt.Sprintf("You're on call for %s until %s — take the pager. Until you do, %s keeps it.",
		s.what(r.Name()), s.timeFor(h.Incoming, h.Until), s.c.people.Ref(h.Outgoing).Name)
	m := Message{Text: text, Buttons: []Button{{Action: ActionTakePager, Value: takePagerValue(r.Name(), at)}}}
	if err := s.askTake(ctx, h, "shift:"+key, m); err != nil {
		if !errors.Is(err, ErrUnreachable) && !escalation.IsPermanent(err) {
			return err
		}
		s.c.log.Warn("bot: the incoming person cannot be asked to take the pager; the grace will tell the secondary", "rotation", r.Name(), "person", h.Incoming, "err", err)
	}
	return nil
}

// noHold says why the outgoing person of the handoff at keeps no hold
// until the incoming one takes the pager ("" when they keep one): they
// hold the pager only through the hold of the last handoff (a hold lasts
// one shift, it is not carried on), they are not in people, or they
// cannot be paged.
func (s *Shifts) noHold(ctx context.Context, rotation string, ov *rotations.OverrideSet, at time.Time, outgoing string) (string, error) {
	if o, ok := ov.At(rotation, at.Add(-time.Second)); ok && o.By == rotations.OverrideByHandoff {
		return "carried", nil
	}
	if _, ok := s.c.people.Get(outgoing); !ok {
		return "not in people", nil
	}
	if s.o.Emailable != nil && s.o.Emailable(outgoing) {
		return "", nil
	}
	uid, err := s.c.people.ChatID(ctx, outgoing)
	if err == nil {
		_, err = s.c.pager.dm(ctx, uid)
	}
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, ErrUnreachable) || escalation.IsPermanent(err):
		return "cannot be paged: " + err.Error(), nil
	}
	return "", err // the chat did not answer: the job runs again
}

// unheld asks the incoming person of a handoff without a hold to take the
// pager they hold already and, when the outgoing person could not keep it
// (not in people, cannot be paged), tells the secondary and the alerts
// channels that the incoming person is on call at once.
func (s *Shifts) unheld(ctx context.Context, r *rotations.Rotation, h overrides.Handoff, key string) error {
	out := s.c.people.Ref(h.Outgoing).Name
	carried := false
	if ov, err := s.o.Store.Set(ctx, r.Name()); err == nil {
		if o, ok := ov.At(r.Name(), h.At.Add(-time.Second)); ok && o.By == rotations.OverrideByHandoff {
			carried = true
		}
	}
	why := out + " cannot hold it for you"
	if carried {
		why = out + "'s hold from the last handoff has ended"
	}
	text := fmt.Sprintf("You're on call for %s until %s — take the pager. You are paged from now: %s.",
		s.what(r.Name()), s.timeFor(h.Incoming, h.Until), why)
	m := Message{Text: text, Buttons: []Button{{Action: ActionTakePager, Value: takePagerValue(r.Name(), h.At)}}}
	if err := s.askTake(ctx, h, "shift:"+key, m); err != nil && !errors.Is(err, ErrUnreachable) && !escalation.IsPermanent(err) {
		return err
	}
	if carried {
		return nil
	}
	people := s.secondary(ctx, r.Name(), h.At, h)
	text = fmt.Sprintf("⚠️ %s cannot keep the pager of %s at the handoff %s (not in baton's people, or cannot be paged): %s is on call from the handoff without taking it.",
		out, s.what(r.Name()), shiftTime(h.At), s.c.people.Ref(h.Incoming).Name)
	return s.tell(ctx, r.Name(), people, "shift:"+key+":unheld", Message{Text: text})
}

// services are the services whose policies page rotation (at any level
// with RotationServices, at the first without), sorted.
func (s *Shifts) services(rotation string) []string {
	var svcs []string
	if s.o.RotationServices != nil {
		svcs = append(svcs, s.o.RotationServices[rotation]...)
	} else {
		for svc, rot := range s.o.ServiceRotation {
			if rot == rotation {
				svcs = append(svcs, svc)
			}
		}
	}
	sort.Strings(svcs)
	return svcs
}

// what names a rotation with its services: "db-primary (payments, ledger)".
func (s *Shifts) what(rotation string) string {
	svcs := slices.DeleteFunc(s.services(rotation), func(svc string) bool { return svc == rotation })
	if len(svcs) == 0 {
		return rotation
	}
	return rotation + " (" + strings.Join(svcs, ", ") + ")"
}

// tellOne DMs person m, keyed key, unless a message with key is there.
// It returns the message ("<channel>/<id>"), posted or found.
func (s *Shifts) tellOne(ctx context.Context, person, key string, m Message) (string, error) {
	uid, err := s.c.people.ChatID(ctx, person)
	if err != nil {
		return "", err
	}
	ch, err := s.c.pager.dm(ctx, uid)
	if err != nil {
		return "", err
	}
	ctx = WithPacing(ctx, Pacing{MaxWait: s.c.pageMaxWait, Ticket: key})
	if ts, err := s.c.pager.findPage(ctx, ch, key); err == nil && ts != "" {
		return ch + "/" + ts, nil
	}
	m.Key = key
	chID, ts, err := s.c.chat.Post(ctx, ch, m)
	if err != nil {
		return "", err
	}
	return chID + "/" + ts, nil
}

// askTake DMs the incoming person of handoff h the Take it question m,
// keyed key, and records the message (takeItKey) so that it loses its
// button once nobody can take the pager with it (settleTakeIt).
func (s *Shifts) askTake(ctx context.Context, h overrides.Handoff, key string, m Message) error {
	msg, err := s.tellOne(ctx, h.Incoming, key, m)
	if err != nil {
		return err
	}
	v := strconv.FormatInt(h.At.Unix(), 10) + "|" + msg
	if err := s.c.st.rdb.Set(ctx, s.c.st.takeItKey(h.Rotation), v, max(h.Until.Sub(s.c.now()), 0)+takeItKeep).Err(); err != nil {
		s.c.log.Warn("bot: handoff question not recorded; it keeps its button after the shift", "rotation", h.Rotation, "err", err)
	}
	return nil
}

// forgetTakeIt forgets rotation's Take it question of the handoff at.
func (s *Shifts) forgetTakeIt(ctx context.Context, rotation string, at time.Time) error {
	key := s.c.st.takeItKey(rotation)
	v, err := s.c.st.rdb.Get(ctx, key).Result()
	if err != nil || !strings.HasPrefix(v, strconv.FormatInt(at.Unix(), 10)+"|") {
		return nil
	}
	return s.c.st.rdb.Del(ctx, key).Err()
}

// takeItKeep is how long a Take it question is remembered past its shift's
// end (the next handoff redraws it, also after downtime).
const takeItKeep = 24 * time.Hour

// takeItKey is the string naming the latest Take it question of a
// rotation: "<handoff unix s>|<channel>/<message>" (one a rotation).
func (s *state) takeItKey(rotation string) string { return s.base + "takeit:" + rotation }

// settleTakeIt redraws the Take it question of rotation's handoff at
// (before, when zero: any handoff before before) without its button,
// saying why, and forgets it; nothing when none is recorded or it was
// pressed (takePager forgets it).
func (s *Shifts) settleTakeIt(ctx context.Context, rotation string, at, before time.Time, why string) error {
	key := s.c.st.takeItKey(rotation)
	v, err := s.c.st.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the handoff question of %s: %w", rotation, err)
	}
	secs, msg, _ := strings.Cut(v, "|")
	sec, _ := strconv.ParseInt(secs, 10, 64)
	if (!at.IsZero() && sec != at.Unix()) || (at.IsZero() && sec >= before.Unix()) {
		return nil
	}
	ch, ts, _ := strings.Cut(msg, "/")
	if err := s.c.chat.Update(ctx, ch, ts, Message{Text: why}); err != nil {
		if !escalation.IsPermanent(err) {
			return fmt.Errorf("redraw the handoff question of %s: %w", rotation, err)
		}
		s.c.log.Warn("bot: could not redraw a handoff question; leaving it", "rotation", rotation, "err", err)
	}
	return s.c.st.rdb.Del(ctx, key).Err()
}

// secondary are the people to tell about handoff h of rotation at at: the
// secondary, less the two people of the handoff (the holder is not their
// own secondary; the incoming person is asked already).
func (s *Shifts) secondary(ctx context.Context, rotation string, at time.Time, h overrides.Handoff) []string {
	if s.o.Secondary == nil {
		return nil
	}
	var out []string
	for _, p := range s.o.Secondary(ctx, rotation, at) {
		if p != h.Outgoing && p != h.Incoming {
			out = append(out, p)
		}
	}
	return out
}

// grace runs the grace step: a pager not taken is told to the secondary
// and the alerts channels, once.
func (s *Shifts) grace(ctx context.Context, r *rotations.Rotation, at time.Time, key string, now time.Time) error {
	h, err := s.o.Store.GetHandoff(ctx, r.Name(), at)
	if errors.Is(err, overrides.ErrNoHandoff) {
		return nil
	}
	if err != nil {
		return err
	}
	if rotations.DecideGrace(h.Override != "", h.Accepted, h.Told) != rotations.GraceTell {
		return nil
	}
	ov, err := s.o.Store.Set(ctx, r.Name())
	if err != nil {
		return err
	}
	if o, ok := ov.At(r.Name(), now); !ok || o.ID != h.Override {
		// The hold was deleted (DELETE /v1/overrides/…) or another override
		// covers it: the outgoing person does not hold the pager, so
		// nobody is told they do.
		s.c.log.Info("bot: a handoff's hold is gone before its grace; nobody told", "rotation", r.Name())
		why := fmt.Sprintf("The pager of %s is no longer held for you to take: the hold was removed or another override covers it. /oncall shows who is on call.", s.what(r.Name()))
		if !now.Before(h.Until) {
			why = fmt.Sprintf("That shift of %s is over: its pager is not yours to take any more.", s.what(r.Name()))
		}
		return s.settleTakeIt(ctx, r.Name(), at, time.Time{}, why)
	}
	people := s.secondary(ctx, r.Name(), at, h)
	text := fmt.Sprintf("⚠️ %s has not taken the pager of %s (handoff %s, %s ago): %s still holds it until they do.",
		s.c.people.Ref(h.Incoming).Name, s.what(r.Name()), shiftTime(at), now.Sub(at).Round(time.Second), s.c.people.Ref(h.Outgoing).Name)
	if err := s.tell(ctx, r.Name(), people, "shift:"+key, Message{Text: text}); err != nil {
		return err
	}
	s.c.log.Warn("bot: a handoff's pager was not taken in its grace", "rotation", r.Name(), "incoming", h.Incoming, "outgoing", h.Outgoing)
	return s.o.Store.HandoffTold(ctx, r.Name(), at)
}

// takePagerTagBits is how many low bits of a Take it button's value name
// its rotation (a hash of the name); the bits above are the handoff
// instant (unix s). Values below 1<<40 are the instant alone (buttons
// drawn before the rotation was carried).
const takePagerTagBits = 20

func rotationTag(rotation string) int64 {
	return int64(crc32.ChecksumIEEE([]byte(rotation)) & (1<<takePagerTagBits - 1))
}

// takePagerValue is the value of the Take it button of rotation's handoff
// at at: both, so that one person incoming on two rotations at the same
// instant takes the pager they pressed for.
func takePagerValue(rotation string, at time.Time) int64 {
	return at.Unix()<<takePagerTagBits | rotationTag(rotation)
}

// takePager runs the ActionTakePager button: by takes the pager of the
// rotation and handoff its value names. A hold in Redis can be taken
// whatever the config says now (handoff_accept dropped since); an old
// value without the rotation is refused when it fits more than one
// rotation's handoff.
func (x *Executor) takePager(ctx context.Context, value int64, by Person) Reply {
	s := x.c.shifts.Load()
	if s == nil {
		return Reply{Text: "Handoffs are not set up here."}
	}
	sec, tag, tagged := value, int64(0), value >= 1<<40
	if tagged {
		sec, tag = value>>takePagerTagBits, value&(1<<takePagerTagBits-1)
	}
	when := time.Unix(sec, 0).UTC()
	names := make([]string, 0, len(s.o.Rotations))
	for n := range s.o.Rotations {
		if !tagged || rotationTag(n) == tag {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var found []overrides.Handoff
	for _, n := range names {
		h, err := s.o.Store.GetHandoff(ctx, n, when)
		if errors.Is(err, overrides.ErrNoHandoff) || (err == nil && h.Incoming != by.ID) {
			continue
		}
		if err != nil {
			return x.fail(err)
		}
		found = append(found, h)
	}
	switch {
	case len(found) == 0:
		return Reply{Text: "There is no handoff waiting for you to take that pager."}
	case len(found) > 1:
		var rs []string
		for _, h := range found {
			rs = append(rs, h.Rotation)
		}
		return Reply{Text: fmt.Sprintf("That button does not say which pager it is for, and you are incoming on %s at %s: nothing was taken. "+
			"Ask for a new handoff question, or use /incident override.", strings.Join(rs, " and "), shiftTime(when))}
	}
	h, now := found[0], x.c.now()
	n := h.Rotation
	if !h.Accepted && !now.Before(h.Until) {
		text := fmt.Sprintf("That shift of %s ended at %s: its pager is not yours to take any more, and nothing changed.", s.what(n), s.timeFor(h.Incoming, h.Until))
		return Reply{Text: text, Redraw: &Message{Text: text}}
	}
	already, err := s.o.Store.AcceptHandoff(ctx, n, when, by.ID, now)
	if err != nil {
		return x.fail(err)
	}
	// Pressed: the reply redraws it, nothing more to settle.
	if err := s.forgetTakeIt(ctx, n, when); err != nil {
		x.log().Debug("bot: a handoff question pressed not forgotten; the next handoff redraws it", "err", err)
	}
	// The hold is cut: paging in this process must not keep the old
	// holder from its override cache (up to its TTL).
	if f, ok := x.c.board.(BoardForgetter); ok {
		f.Forget(n)
	}
	if already {
		text := fmt.Sprintf("You hold the pager of %s already.", s.what(n))
		return Reply{Text: text, Redraw: &Message{Text: text}}
	}
	x.log().Info("bot: the pager was taken", "rotation", n, "person", by.ID)
	// The question is redrawn without its button, saying what happened.
	return Reply{Text: fmt.Sprintf("You hold the pager of %s until %s. %s is off call.", s.what(n), s.timeFor(by.ID, h.Until), x.c.people.Ref(h.Outgoing).Name),
		Redraw: &Message{Text: fmt.Sprintf("You took the pager of %s at %s; you hold it until %s.", s.what(n), s.timeFor(by.ID, now), s.timeFor(by.ID, h.Until))}}
}
