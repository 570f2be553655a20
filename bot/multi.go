package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// Multi is several Bots, one per chat (Slack and Discord at once), as the
// escalation engine's one Pager, chat sync, page-in pager, lease notifier
// and maintenance notifier. The engine decides once (one timeline, one
// "paged" event per page decision); Multi delivers each decision in every
// chat that can take it:
//
//   - a page, page-in or "still on it?" DM goes to the person in every
//     chat they have an account in (a person with only a Slack id is paged
//     on Slack only); one reachable in none is escalation.Permanent, as
//     with one chat;
//   - a fallback page and a maintenance summary go to the service's
//     channel in every chat that has one (its own alerts channel, else its
//     default channel);
//   - a chat job syncs the incident in every chat: each Bot keeps its own
//     channel, card, notice and pages in its RefSpace, so an
//     acknowledgement in either chat redraws both cards.
//
// Each chat's delivery of a key is marked in Redis (the chat's own state,
// "P chat:C:sent:<key>") the moment it succeeds: when one chat fails and
// the runner sends the page again, the chats that had it are skipped, and
// a page is never doubled in a chat for another chat's failure. Each chat's
// send runs concurrently, so a slow or rate-limited chat does not hold the
// other's page back.
type Multi struct {
	bots []*Bot
}

var (
	_ escalation.Pager                = (*Multi)(nil)
	_ escalation.BundlingPager        = (*Multi)(nil)
	_ escalation.DeliveryChecker      = (*Multi)(nil)
	_ escalation.ChatsDeliveryChecker = (*Multi)(nil)
	_ escalation.ChatSync             = (*Multi)(nil)
	_ escalation.PageInPager          = (*Multi)(nil)
	_ escalation.LeaseNotifier        = (*Multi)(nil)
	_ escalation.MaintenanceNotifier  = (*Multi)(nil)
)

// sentTTL is how long a chat's delivery of a key is remembered: far longer
// than a page is retried.
const sentTTL = 7 * 24 * time.Hour

// NewMulti joins bots (at least one, each on its own chat and RefSpace).
func NewMulti(bots ...*Bot) (*Multi, error) {
	if len(bots) == 0 {
		return nil, errors.New("bot: Multi needs a Bot")
	}
	names := map[string]bool{}
	spaces := map[string]bool{}
	for _, b := range bots {
		if names[b.chat.Name()] {
			return nil, fmt.Errorf("bot: two Bots on chat %s", b.chat.Name())
		}
		names[b.chat.Name()] = true
		sp := b.inc.(spacedIncidents).space
		if spaces[sp] {
			return nil, fmt.Errorf("bot: two Bots with the RefSpace %q would share each incident's chat references", sp)
		}
		spaces[sp] = true
	}
	return &Multi{bots: bots}, nil
}

// Bots are the Bots joined, in the order given.
func (m *Multi) Bots() []*Bot { return m.bots }

// leg is one chat's part of a delivery: its Bot, and the page as that chat
// sees it (a fallback page names that chat's channel).
type leg struct {
	b  *Bot
	pg escalation.Page
	// err: whether this chat reaches the person could not be told now
	// (the chat's or Redis's error looking them up); the leg fails unsent
	// and the others go ahead.
	err error
}

// legs are the chats a page goes to. A person's page goes to every chat
// they have an account in (and to a chat that cannot tell now, as a leg
// that fails); a fallback page to every chat with a channel for the
// service.
func (m *Multi) legs(ctx context.Context, pg escalation.Page) ([]leg, error) {
	var out []leg
	if pg.Person == "" {
		for _, b := range m.bots {
			ch := b.services[pg.Service].AlertsChannel
			if ch == "" {
				ch = b.defaultChannel
			}
			if ch == "" {
				continue
			}
			p := pg
			p.Channel = ch
			out = append(out, leg{b: b, pg: p})
		}
		if len(out) == 0 {
			return nil, escalation.Permanent(fmt.Errorf("fallback page for INC-%d: service %s has no alerts channel in any chat and there is no default channel", pg.Incident, pg.Service))
		}
		return out, nil
	}
	var unreachable []error
	for _, b := range m.bots {
		_, err := b.people.ChatID(ctx, pg.Person)
		switch {
		case errors.Is(err, ErrUnreachable):
			unreachable = append(unreachable, fmt.Errorf("%s: %w", b.chat.Name(), err))
		case err != nil:
			out = append(out, leg{b: b, pg: pg, err: err})
		default:
			out = append(out, leg{b: b, pg: pg})
		}
	}
	if len(out) == 0 {
		return nil, m.nowhere(pg.Person, escalation.Permanent(errors.Join(unreachable...)))
	}
	return out, nil
}

// nowhereError is a person's page refused for good in every chat because
// the person cannot be reached in any (no account there, or an id the chat
// does not know). Its text is plain and names no chat's API ("carol cannot
// be reached in Slack or Discord"): it becomes the fallback page's reason,
// shown in every chat. The chats' own errors stay in its chain (and in the
// log).
type nowhereError struct {
	msg string
	err error
}

func (e *nowhereError) Error() string { return e.msg }
func (e *nowhereError) Unwrap() error { return e.err }

// nowhere is err in plain words when it is a permanent failure of every
// chat to reach person (each ErrUnreachable or ErrNoUser); else err.
func (m *Multi) nowhere(person string, err error, each ...error) error {
	if person == "" || !escalation.IsPermanent(err) {
		return err
	}
	if len(each) == 0 {
		each = []error{err}
	}
	for _, e := range each {
		if !escalation.IsPermanent(e) || !(errors.Is(e, ErrUnreachable) || errors.Is(e, ErrNoUser)) {
			return err
		}
	}
	names := make([]string, len(m.bots))
	for i, b := range m.bots {
		names[i] = chatTitle(b.chat.Name())
	}
	m.bots[0].log.Warn("bot: a person cannot be reached in any chat", "person", person, "err", err)
	return &nowhereError{msg: fmt.Sprintf("%s cannot be reached in %s", person, strings.Join(names, " or ")), err: err}
}

// chatTitle is a chat's name as a word in a sentence ("slack" → "Slack").
func chatTitle(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// personLegs are the chats a DM to person goes to (page-ins, lease DMs).
func (m *Multi) personLegs(ctx context.Context, n int64, person string) ([]leg, error) {
	return m.legs(ctx, escalation.Page{Incident: n, Person: person})
}

func (c *Bot) sentKey(key string) string { return c.st.base + "sent:" + key }

// delivered reports whether this chat's delivery of key is marked.
func (c *Bot) delivered(ctx context.Context, key string) (bool, error) {
	n, err := c.st.rdb.Exists(ctx, c.sentKey(key)).Result()
	if err != nil {
		return false, fmt.Errorf("%s: read delivery of %s: %w", c.chat.Name(), key, err)
	}
	return n == 1, nil
}

// markDelivered marks this chat's delivery of key; a failure is logged (at
// worst the chat gets the message again if another chat's failure has it
// sent again).
func (c *Bot) markDelivered(ctx context.Context, key string) {
	if err := c.st.rdb.Set(ctx, c.sentKey(key), 1, sentTTL).Err(); err != nil {
		c.log.Warn("bot: delivered but not marked; another chat's retry may send it here again", "key", key, "err", err)
	}
}

// fan sends key through every leg concurrently, skipping a chat whose
// delivery of key is marked, and marks each that succeeds. It returns the
// chats that have it (before or now) and the error for the runner, which
// decides on its class (escalation.DecidePageFailure):
//
//	some chat has it, every other failed for good    nil: delivered (the refusals are logged)
//	some chat has it, another failed otherwise       that error, escalation.PartlyDelivered: retried, in the
//	                                                 failed chats only; delivered once their retries run out
//	none has it, every failure permanent             escalation.Permanent: given up, the fallback paged now
//	none has it, some failure not permanent          pick's choice of those: retried or deferred
//
// A chat's failure is permanent when its adapter says so, or when the chat
// says the person does not exist there (legError).
func (m *Multi) fan(ctx context.Context, key string, legs []leg, send func(ctx context.Context, i int, l leg) error) ([]string, error) {
	errs := make([]error, len(legs))
	var wg sync.WaitGroup
	for i, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.err != nil {
				errs[i] = escalation.Unsent(fmt.Errorf("%s: %w", l.b.chat.Name(), l.err))
				return
			}
			done, err := l.b.delivered(ctx, key)
			if err != nil {
				errs[i] = escalation.Unsent(err)
				return
			}
			if done {
				return
			}
			if err := send(ctx, i, l); err != nil {
				errs[i] = legError(l.b.chat.Name(), err)
				return
			}
			l.b.markDelivered(ctx, key)
		}()
	}
	wg.Wait()
	var got []string
	var failed []error
	for i, l := range legs {
		if errs[i] == nil {
			got = append(got, l.b.chat.Name())
		} else {
			failed = append(failed, errs[i])
		}
	}
	if len(failed) == 0 {
		return got, nil
	}
	err := pick(failed)
	if len(got) > 0 && escalation.IsPermanent(err) {
		legs[0].b.log.Warn("bot: delivered in some chats, refused for good in another", "key", key, "chats", got, "err", err)
		return got, nil
	}
	if len(got) > 0 {
		// Retried in the failed chat; delivered in got once its retries run out.
		return got, escalation.PartlyDelivered(err, got)
	}
	return got, m.nowhere(legs[0].pg.Person, err, failed...)
}

// legError is one chat's failure to deliver, labelled with the chat. A
// chat that says the person does not exist there (ErrNoUser; both
// adapters already mark it, this keeps any other Chat's right) is
// made escalation.Permanent: no retry finds them, so the outcome of the
// page must not wait on that chat (see fan).
func legError(chat string, err error) error {
	err = fmt.Errorf("%s: %w", chat, err)
	if errors.Is(err, ErrNoUser) && !escalation.IsPermanent(err) {
		err = escalation.Permanent(err)
	}
	return err
}

// pick is the error of several chats' that decides what the runner does:
// a failure whose outcome is unknown first (its retry then asks every chat
// whether it has the message: Delivered), then a refusal that certainly
// did not deliver (escalation.Unsent, a 429's RetryAfter), then a
// rate-limit deferral, then a permanent refusal (only when every chat
// refused for good is the whole delivery given up).
func pick(errs []error) error {
	var refused, deferred, permanent error
	for _, err := range errs {
		var ra escalation.RetryAfterError
		switch _, d := escalation.IsDeferred(err); {
		case d:
			deferred = err
		case escalation.IsPermanent(err):
			permanent = err
		case escalation.IsUnsent(err) || errors.As(err, &ra):
			refused = err
		default:
			return err
		}
	}
	for _, err := range []error{refused, deferred} {
		if err != nil {
			return err
		}
	}
	return permanent
}

// Page implements escalation.Pager.
func (m *Multi) Page(ctx context.Context, pg escalation.Page) error {
	_, err := m.PageBundled(ctx, pg)
	return err
}

// PageBundled implements escalation.BundlingPager: the page in every chat
// that reaches its recipient; the Bundle is the first chat's (in the order
// of NewMulti) that bundled it, with the chats that have the page (the
// runner writes them into the one "paged" event).
func (m *Multi) PageBundled(ctx context.Context, pg escalation.Page) (escalation.Bundle, error) {
	legs, err := m.legs(ctx, pg)
	if err != nil {
		return escalation.Bundle{}, escalation.Unsent(err)
	}
	bundles := make([]escalation.Bundle, len(legs))
	chats, err := m.fan(ctx, pg.Key, legs, func(ctx context.Context, i int, l leg) error {
		b, err := l.b.pager.PageBundled(ctx, l.pg)
		bundles[i] = b
		return err
	})
	if err != nil {
		return escalation.Bundle{}, err
	}
	var out escalation.Bundle
	for _, b := range bundles {
		if b.ID != "" {
			out = b
			break
		}
	}
	out.Chats = chats
	legs[0].b.log.Debug("page delivered", "incident", pg.Incident, "person", pg.Person, "chats", chats)
	return out, nil
}

// Delivered implements escalation.DeliveryChecker: true when every chat
// the page goes to has it (marked, or found there by that chat's Pager,
// which records it as its own send would).
func (m *Multi) Delivered(ctx context.Context, pg escalation.Page) (bool, error) {
	_, found, err := m.DeliveredIn(ctx, pg)
	return found, err
}

// DeliveredIn implements escalation.ChatsDeliveryChecker: Delivered, with
// the chats that have the page, so that a page whose send in one chat had
// an unknown outcome (a Discord 500 after the post) and is found there
// gets a "paged" event naming every chat, as a page sent does.
func (m *Multi) DeliveredIn(ctx context.Context, pg escalation.Page) ([]string, bool, error) {
	legs, err := m.legs(ctx, pg)
	if err != nil {
		return nil, false, err
	}
	chats := make([]string, 0, len(legs))
	for _, l := range legs {
		if l.err != nil {
			return nil, false, fmt.Errorf("%s: %w", l.b.chat.Name(), l.err)
		}
		chats = append(chats, l.b.chat.Name())
		done, err := l.b.delivered(ctx, pg.Key)
		if err != nil {
			return nil, false, err
		}
		if done {
			continue
		}
		found, err := l.b.pager.Delivered(ctx, l.pg)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", l.b.chat.Name(), err)
		}
		if !found {
			return nil, false, nil
		}
		l.b.markDelivered(ctx, pg.Key)
	}
	return chats, true, nil
}

// Sync implements escalation.ChatSync: the incident synced in every chat,
// concurrently. next is the earliest any chat asks for; an error of one
// chat has the job run again (each chat's Sync is idempotent, so the chats
// that succeeded redo nothing).
func (m *Multi) Sync(ctx context.Context, n int64) (time.Time, error) {
	nexts := make([]time.Time, len(m.bots))
	errs := make([]error, len(m.bots))
	var wg sync.WaitGroup
	for i, b := range m.bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next, err := b.syncer.Sync(ctx, n)
			if err != nil {
				err = fmt.Errorf("%s: %w", b.chat.Name(), err)
			}
			nexts[i], errs[i] = next, err
		}()
	}
	wg.Wait()
	var failed []error
	var next time.Time
	for i := range m.bots {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		next = sooner(next, nexts[i]) // a chat with nothing due (zero) must not cancel the other's due time
	}
	if len(failed) > 0 {
		return time.Time{}, pick(failed)
	}
	return next, nil
}

// PageIn implements escalation.PageInPager: the page-in in every chat the
// person has an account in.
func (m *Multi) PageIn(ctx context.Context, pi escalation.PageIn) error {
	legs, err := m.personLegs(ctx, pi.Incident, pi.Person)
	if err != nil {
		return escalation.Unsent(err)
	}
	_, err = m.fan(ctx, pi.Key, legs, func(ctx context.Context, _ int, l leg) error { return l.b.pager.PageIn(ctx, pi) })
	return err
}

// PageInDelivered implements escalation.PageInPager.
func (m *Multi) PageInDelivered(ctx context.Context, pi escalation.PageIn) (bool, error) {
	legs, err := m.personLegs(ctx, pi.Incident, pi.Person)
	if err != nil {
		return false, err
	}
	return m.allDelivered(ctx, pi.Key, legs, func(ctx context.Context, l leg) (bool, error) { return l.b.pager.PageInDelivered(ctx, pi) })
}

// StillOnIt implements escalation.LeaseNotifier: the DM in every chat the
// owner has an account in; "Still on it" or "Hand back" in either answers.
func (m *Multi) StillOnIt(ctx context.Context, w escalation.LeaseWarning) error {
	legs, err := m.personLegs(ctx, w.Incident, w.Person)
	if err != nil {
		return escalation.Unsent(err)
	}
	_, err = m.fan(ctx, w.Key, legs, func(ctx context.Context, _ int, l leg) error { return l.b.pager.StillOnIt(ctx, w) })
	return err
}

// StillOnItDelivered implements escalation.LeaseNotifier.
func (m *Multi) StillOnItDelivered(ctx context.Context, w escalation.LeaseWarning) (bool, error) {
	legs, err := m.personLegs(ctx, w.Incident, w.Person)
	if err != nil {
		return false, err
	}
	return m.allDelivered(ctx, w.Key, legs, func(ctx context.Context, l leg) (bool, error) { return l.b.pager.StillOnItDelivered(ctx, w) })
}

// MaintenanceEnded implements escalation.MaintenanceNotifier: the summary
// in every chat with a channel for the service.
func (m *Multi) MaintenanceEnded(ctx context.Context, s incident.MaintenanceSummary) error {
	legs, err := m.legs(ctx, escalation.Page{Service: s.Service})
	if err != nil {
		return err
	}
	key := string(incident.JobMaintenance) + ":" + s.ID
	_, err = m.fan(ctx, key, legs, func(ctx context.Context, _ int, l leg) error { return l.b.pager.MaintenanceEnded(ctx, s) })
	return err
}

// allDelivered is Delivered for a DM that is not a page.
func (m *Multi) allDelivered(ctx context.Context, key string, legs []leg, found func(context.Context, leg) (bool, error)) (bool, error) {
	for _, l := range legs {
		if l.err != nil {
			return false, fmt.Errorf("%s: %w", l.b.chat.Name(), l.err)
		}
		done, err := l.b.delivered(ctx, key)
		if err != nil {
			return false, err
		}
		if done {
			continue
		}
		ok, err := found(ctx, l)
		if err != nil {
			return false, fmt.Errorf("%s: %w", l.b.chat.Name(), err)
		}
		if !ok {
			return false, nil
		}
		l.b.markDelivered(ctx, key)
	}
	return true, nil
}

// WarnUnreachable looks up every person in every chat and logs a warning
// for each who can be reached in none: their pages go to the fallback. A
// person reachable in one chat only is paged there, and is not warned about.
func (m *Multi) WarnUnreachable(ctx context.Context) {
	for _, id := range m.bots[0].people.order {
		var errs []error
		reached := false
		for _, b := range m.bots {
			_, err := b.people.ChatID(ctx, id)
			if err == nil {
				reached = true
				break
			}
			errs = append(errs, fmt.Errorf("%s: %w", b.chat.Name(), err))
		}
		if !reached && ctx.Err() == nil {
			m.bots[0].log.Warn("a person cannot be paged in any chat; their pages will go to the fallback", "err", errors.Join(errs...))
		}
	}
}
