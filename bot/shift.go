package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// ActionTakePager is the button on a handoff's question to the incoming
// person ("take the pager"); its value is the handoff instant (unix s).
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
	// Secondary names whom to tell when a handoff's pager was not taken:
	// the people the next level of the policies paging the rotation names
	// at at. Nil: the alerts channels alone are told.
	Secondary func(ctx context.Context, rotation string, at time.Time) []string
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
	switch step {
	case rotations.StepPreshift:
		err = s.preshift(ctx, r, at, name)
	case rotations.StepHandoff:
		err = s.handoff(ctx, r, at, name, now)
	case rotations.StepGrace:
		err = s.grace(ctx, r, at, name)
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
	for svc, rot := range s.o.ServiceRotation {
		if rot != rotation {
			continue
		}
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
		if _, err := s.o.Store.BeginHandoff(ctx, h, true, now); err != nil {
			return err
		}
	default:
		return err
	}
	if h.Accepted {
		return nil
	}
	if err := s.schedule(ctx, rotations.StepGrace, r.Name(), at); err != nil {
		return err
	}
	text := fmt.Sprintf("You're on call for %s until %s — take the pager. Until you do, %s keeps it.",
		s.what(r.Name()), shiftTime(h.Until), s.c.people.Ref(h.Outgoing).Name)
	m := Message{Text: text, Buttons: []Button{{Action: ActionTakePager, Value: at.Unix()}}}
	if err := s.tellOne(ctx, h.Incoming, "shift:"+key, m); err != nil {
		if !errors.Is(err, ErrUnreachable) && !escalation.IsPermanent(err) {
			return err
		}
		s.c.log.Warn("bot: the incoming person cannot be asked to take the pager; the grace will tell the secondary", "rotation", r.Name(), "person", h.Incoming, "err", err)
	}
	return nil
}

// what names a rotation with its services: "db-primary (payments, ledger)".
func (s *Shifts) what(rotation string) string {
	var svcs []string
	for svc, rot := range s.o.ServiceRotation {
		if rot == rotation {
			svcs = append(svcs, svc)
		}
	}
	sort.Strings(svcs)
	if len(svcs) == 0 {
		return rotation
	}
	return rotation + " (" + strings.Join(svcs, ", ") + ")"
}

// tellOne DMs person m, keyed key, unless a message with key is there.
func (s *Shifts) tellOne(ctx context.Context, person, key string, m Message) error {
	uid, err := s.c.people.ChatID(ctx, person)
	if err != nil {
		return err
	}
	ch, err := s.c.pager.dm(ctx, uid)
	if err != nil {
		return err
	}
	ctx = WithPacing(ctx, Pacing{MaxWait: s.c.pageMaxWait, Ticket: key})
	if ts, err := s.c.pager.findPage(ctx, ch, key); err == nil && ts != "" {
		return nil
	}
	m.Key = key
	_, _, err = s.c.chat.Post(ctx, ch, m)
	return err
}

// grace runs the grace step: a pager not taken is told to the secondary
// and the alerts channels, once.
func (s *Shifts) grace(ctx context.Context, r *rotations.Rotation, at time.Time, key string) error {
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
	var people []string
	if s.o.Secondary != nil {
		people = s.o.Secondary(ctx, r.Name(), at)
	}
	text := fmt.Sprintf("⚠️ %s has not taken the pager of %s (handoff %s, %s ago): %s still holds it until they do.",
		s.c.people.Ref(h.Incoming).Name, s.what(r.Name()), shiftTime(at), s.o.Policies[r.Name()].HandoffAccept, s.c.people.Ref(h.Outgoing).Name)
	if err := s.tell(ctx, r.Name(), people, "shift:"+key, Message{Text: text}); err != nil {
		return err
	}
	s.c.log.Warn("bot: a handoff's pager was not taken in its grace", "rotation", r.Name(), "incoming", h.Incoming, "outgoing", h.Outgoing)
	return s.o.Store.HandoffTold(ctx, r.Name(), at)
}

// takePager runs the ActionTakePager button: by takes the pager of the
// handoff at (unix s) of whichever rotation asked them.
func (x *Executor) takePager(ctx context.Context, at int64, by Person) Reply {
	s := x.c.shifts.Load()
	if s == nil {
		return Reply{Text: "Handoffs are not set up here."}
	}
	when := time.Unix(at, 0).UTC()
	names := make([]string, 0, len(s.o.Policies))
	for n := range s.o.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h, err := s.o.Store.GetHandoff(ctx, n, when)
		if errors.Is(err, overrides.ErrNoHandoff) || (err == nil && h.Incoming != by.ID) {
			continue
		}
		if err != nil {
			return x.fail(err)
		}
		already, err := s.o.Store.AcceptHandoff(ctx, n, when, by.ID, x.c.now())
		if err != nil {
			return x.fail(err)
		}
		// The hold is cut: paging in this process must not keep the old
		// holder from its override cache (up to its TTL).
		if f, ok := x.c.board.(BoardForgetter); ok {
			f.Forget(n)
		}
		if already {
			return Reply{Text: fmt.Sprintf("You hold the pager of %s already.", s.what(n))}
		}
		x.log().Info("bot: the pager was taken", "rotation", n, "person", by.ID)
		return Reply{Text: fmt.Sprintf("You hold the pager of %s until %s. %s is off call.", s.what(n), shiftTime(h.Until), x.c.people.Ref(h.Outgoing).Name)}
	}
	return Reply{Text: "There is no handoff waiting for you to take that pager."}
}
