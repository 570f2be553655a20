package escalation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/rotations"
)

// Email is the second way to reach a person: a level of a policy may email
// its owner with each page (Level.NotifyEmail, config notify: [chat,
// email]) or when a page is still unacknowledged Level.EmailAfter after it;
// and on such a level a chat page that fails for good (a Permanent error,
// or too many attempts) is emailed before the fallback channel is paged.
//
// Each email is a due job of its own, "email:<n>:<tag>" (incident.JobEmail),
// queued by the page job right after the page it goes with (before that
// step's commit; a page job run again asks for the same job, which is then
// not queued twice: incident.Store.ScheduleEmail). When it falls due it
// re-checks the incident (DecideEmail: no email about an incident
// acknowledged or resolved since the page), sends through the Emailer,
// marks it sent and commits an "emailed" timeline event. A failure is
// retried with the runner's backoff (RetryMin…RetryMax, MaxAttempts); an
// email given up is dead-lettered, and when it stood in for a chat page
// that had failed, the fallback channel is paged then: a page that reached
// the person neither by chat nor by email goes to the fallback, as before.

// Emailer sends emails. internal/email implements it over SMTP.
type Emailer interface {
	// CanEmail reports whether person has an email address.
	CanEmail(person string) bool
	// Email sends e. An error marked Permanent (the server refused the
	// address for good) is not retried; any other is, with backoff.
	Email(ctx context.Context, e Email) error
}

// EmailMetrics, when the runner's Options.Metrics implements it, counts
// the emails: each attempt's outcome ("sent", "failed": retried, "given_up")
// by why. internal/metrics implements it (baton_emails_total).
type EmailMetrics interface {
	Emailed(why EmailWhy, outcome string)
}

// emailed tells the runner's EmailMetrics, if any.
func (r *Runner) emailed(why EmailWhy, outcome string) {
	if m, ok := r.o.Metrics.(EmailMetrics); ok {
		m.Emailed(why, outcome)
	}
}

// EmailWhys are every EmailWhy, for metrics that start each at 0.
var EmailWhys = []EmailWhy{EmailWithPage, EmailAfter, EmailChatFailed, EmailPageIn}

// EmailWhy says why an email is sent.
type EmailWhy string

// Why an email goes out.
const (
	// EmailWithPage: the level says notify: [chat, email]; the email goes
	// with each page of the owner.
	EmailWithPage EmailWhy = "page"
	// EmailAfter: the level's email_after passed and the page is still
	// unacknowledged.
	EmailAfter EmailWhy = "after"
	// EmailChatFailed: the chat page failed for good; if the email fails
	// too, the fallback channel is paged.
	EmailChatFailed EmailWhy = "chatfailed"
	// EmailPageIn: a person paged into the incident (not its owner) on a
	// level that emails: with each page-in, or at once when their chat
	// page-in failed for good. Sent until they acknowledge their page.
	EmailPageIn EmailWhy = "pagein"
)

// Email is one email about an incident to a person. It carries only what
// the chat page carries: the incident's stored (redacted) title, never the
// alert's raw text.
type Email struct {
	Incident int64
	Title    string
	Service  string
	Severity incident.Severity
	Status   incident.Status
	Level    int
	// Person is the person's id (config people[].id); the Emailer knows
	// the address.
	Person string
	Why    EmailWhy
	// At is when the page it goes with was decided.
	At time.Time
	// After is the level's email_after (for EmailAfter).
	After time.Duration
	// Key is the same for every attempt at this email (the job member): a
	// Message-ID the receiver may use to drop a duplicate.
	Key string
}

// EmailTask is an email job's tag, decoded: why, the page's time, its
// level and the person. The tag is "<why>.<unix ms>.<level>.<person>"
// (a person id is [a-z0-9_-]+).
type EmailTask struct {
	Why    EmailWhy
	At     time.Time
	Level  int
	Person string
}

// Tag encodes t for its job member (incident.EmailJob).
func (t EmailTask) Tag() string {
	return fmt.Sprintf("%s.%d.%d.%s", t.Why, t.At.UnixMilli(), t.Level, t.Person)
}

// ParseEmailTag decodes a tag written by EmailTask.Tag.
func ParseEmailTag(tag string) (EmailTask, error) {
	parts := strings.SplitN(tag, ".", 4)
	if len(parts) != 4 {
		return EmailTask{}, fmt.Errorf("email tag %q: want why.ms.level.person", tag)
	}
	ms, err1 := strconv.ParseInt(parts[1], 10, 64)
	level, err2 := strconv.Atoi(parts[2])
	why := EmailWhy(parts[0])
	if err1 != nil || err2 != nil || !rotations.ValidID(parts[3]) || (why != EmailWithPage && why != EmailAfter && why != EmailChatFailed && why != EmailPageIn) {
		return EmailTask{}, fmt.Errorf("email tag %q: want why.ms.level.person", tag)
	}
	return EmailTask{Why: why, At: time.UnixMilli(ms), Level: level, Person: parts[3]}, nil
}

// EmailsFor is the email rule, pure: the emails that go with page p of
// policy pol, delivered in chat (chatFailed false) or given up there
// (chatFailed true), and when each is due. canEmail says whether the
// person has an address. Only the pages a person must get (MustDeliver,
// not the fallback) at a level that emails (Level.Emails) have emails:
//
//   - chatFailed: one at once, standing in for the page;
//   - NotifyEmail: one at once with every page;
//   - EmailAfter: one at p.At+EmailAfter for every page that begins an
//     unacknowledged stretch (all but re-pages), which DecideEmail drops if
//     the page was acknowledged by then.
func EmailsFor(pol Policy, p Page, chatFailed, canEmail bool) (tasks []EmailTask, due []time.Time) {
	if p.Person == "" || !p.Reason.MustDeliver() || p.Reason == ReasonFallback || !canEmail ||
		p.Level < 1 || p.Level > len(pol.Levels) {
		return nil, nil
	}
	l := pol.Levels[p.Level-1]
	if !l.Emails() {
		return nil, nil
	}
	add := func(why EmailWhy, at time.Time) {
		tasks = append(tasks, EmailTask{Why: why, At: p.At, Level: p.Level, Person: p.Person})
		due = append(due, at)
	}
	switch {
	case chatFailed:
		add(EmailChatFailed, p.At)
	case l.NotifyEmail:
		add(EmailWithPage, p.At)
	}
	if l.EmailAfter > 0 && p.Reason != ReasonRepeat {
		add(EmailAfter, p.At.Add(l.EmailAfter))
	}
	return tasks, due
}

// PageInEmails is the email rule of a page-in, pure: page-in p of a person
// into an incident at level (its current level; 0 before any page counts
// as 1) of policy pol, delivered in chat or failed there for good
// (chatFailed). A person paged in is reached the ways the level reaches an
// owner: on a level that emails (Level.Emails), one email at once with each
// page-in when it says notify: [chat, email] or when the chat page-in
// failed; email_after concerns the owner's page and adds none here.
func PageInEmails(pol Policy, level int, p PageIn, chatFailed, canEmail bool) (tasks []EmailTask, due []time.Time) {
	if level < 1 {
		level = 1
	}
	if p.Person == "" || !canEmail || level > len(pol.Levels) {
		return nil, nil
	}
	l := pol.Levels[level-1]
	if !l.Emails() || (!l.NotifyEmail && !chatFailed) {
		return nil, nil
	}
	return []EmailTask{{Why: EmailPageIn, At: p.At, Level: level, Person: p.Person}}, []time.Time{p.At}
}

// DecideEmail is the re-check of an email job, pure: whether email t is
// still to be sent about inc as it is now, and if not, why. Not when the
// incident is no longer triggered, nor when it was acknowledged since the
// page (it may have been triggered again since: that page has emails of
// its own); an email_after email also not when the incident moved on to
// someone else.
func DecideEmail(t EmailTask, inc incident.Incident, st incident.EscalationState) (send bool, why string) {
	if t.Why == EmailPageIn {
		// A page-in's email: until the incident is resolved or the person
		// acknowledged their page (whoever owns it, acknowledged or not).
		if inc.Status == incident.StatusResolved {
			return false, "the incident is resolved"
		}
		for _, x := range inc.PagedIn {
			if x.Person == t.Person && x.Acked {
				return false, "the page-in was acknowledged"
			}
		}
		return true, ""
	}
	switch {
	case inc.Status != incident.StatusTriggered:
		return false, "the incident is " + string(inc.Status)
	case !st.AckAt.IsZero() && !st.AckAt.Before(t.At):
		return false, "the page was acknowledged"
	case t.Why == EmailAfter && inc.Owner != t.Person:
		return false, "the incident moved on to " + inc.Owner
	}
	return true, ""
}

// DecideEmailFailure decides what follows a failed attempt at an email
// whose earlier attempts failed `failures` times: retried after the
// policy's backoff, or given up (FailureDeadLetter) after a Permanent
// error or the MaxAttempts-th attempt, the fallback paged when the email
// stood in for a failed chat page. Pure, as DecidePageFailure.
func DecideEmailFailure(t EmailTask, failures int, err error, now time.Time, rp RetryPolicy) PageFailure {
	attempts := failures + 1
	if attempts >= rp.MaxAttempts || IsPermanent(err) {
		return PageFailure{Action: FailureDeadLetter, Attempts: attempts, PageFallback: t.Why == EmailChatFailed}
	}
	delay := rp.Delay(attempts, err)
	return PageFailure{Action: FailureRetry, Due: now.Add(delay), Delay: delay, Attempts: attempts}
}

// canEmail reports whether the runner can email person.
func (r *Runner) canEmail(person string) bool {
	return r.o.Emailer != nil && person != "" && r.o.Emailer.CanEmail(person)
}

// queueEmails queues the emails that go with page p of incident n
// (EmailsFor); it reports whether any was asked for. Errors are Redis's:
// the page job then runs again, and asks again.
func (r *Runner) queueEmails(ctx context.Context, n int64, pol Policy, p Page, chatFailed bool) (bool, error) {
	tasks, due := EmailsFor(pol, p, chatFailed, r.canEmail(p.Person))
	for i, t := range tasks {
		queued, err := r.store.ScheduleEmail(ctx, n, incident.EmailJob(n, t.Tag()), due[i])
		if err != nil {
			return false, err
		}
		if queued {
			r.log.Debug("escalation: email queued", "incident", n, "person", t.Person, "why", t.Why, "due", due[i])
			r.armTimer(r.pages, due[i])
		}
	}
	return len(tasks) > 0, nil
}

// queuePageInEmails queues the emails that go with page-in p of incident
// n (PageInEmails), at the incident's current level, and returns how many
// it asked for (0: the person is not emailed on that level). Errors are Redis's.
func (r *Runner) queuePageInEmails(ctx context.Context, p PageIn, service string, chatFailed bool) (int, error) {
	if !r.canEmail(p.Person) {
		return 0, nil
	}
	pol, _, ok := r.o.Policies(service)
	if !ok {
		return 0, nil
	}
	_, st, err := r.store.LoadEscalation(ctx, p.Incident)
	if err != nil {
		return 0, err
	}
	tasks, due := PageInEmails(pol, st.Level, p, chatFailed, true)
	for i, t := range tasks {
		queued, err := r.store.ScheduleEmail(ctx, p.Incident, incident.EmailJob(p.Incident, t.Tag()), due[i])
		if err != nil {
			return 0, err
		}
		if queued {
			r.log.Debug("escalation: page-in email queued", "incident", p.Incident, "person", t.Person, "due", due[i])
			r.armTimer(r.pages, due[i])
		}
	}
	return len(tasks), nil
}

// emailNote is the Note of an emailed event.
func emailNote(t EmailTask, after time.Duration) string {
	switch t.Why {
	case EmailAfter:
		return "unacknowledged " + text.Duration(after)
	case EmailChatFailed:
		return "chat page failed"
	case EmailPageIn:
		return "with the page-in"
	}
	return "with the page"
}

// runEmail runs an email job ("email:<n>:<tag>"): re-check, send, record.
func (r *Runner) runEmail(ctx context.Context, j incident.Job) error {
	t, err := ParseEmailTag(j.Name)
	if err != nil {
		r.log.Warn("escalation: dropping an email job this version cannot read", "job", j.Member, "err", err)
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	inc, st, gone, err := r.load(ctx, j)
	if gone || err != nil {
		return err
	}
	pol, svc, _ := r.o.Policies(inc.Service)
	now := r.now()
	if send, why := DecideEmail(t, inc, st); !send {
		r.log.Debug("escalation: email not sent", "incident", inc.Number, "person", t.Person, "why", t.Why, "because", why)
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	var after time.Duration
	if t.Level >= 1 && t.Level <= len(pol.Levels) {
		after = pol.Levels[t.Level-1].EmailAfter
	}
	sent, failures, err := r.store.EmailRecord(ctx, j)
	if err != nil {
		return err
	}
	if !sent {
		// Queued while smtp was configured, run by a replica without it:
		// given up at once (the fallback paged for a chat page that failed).
		serr := Permanent(errors.New("no SMTP server is configured (smtp.addr)"))
		if r.o.Emailer != nil {
			serr = r.sendEmail(ctx, Email{Incident: inc.Number, Title: inc.Title, Service: inc.Service, Severity: inc.Severity,
				Status: inc.Status, Level: t.Level, Person: t.Person, Why: t.Why, At: t.At, After: after, Key: j.Member})
		}
		if serr != nil {
			if ctx.Err() != nil {
				return ctx.Err() // stopping: the job is given back and runs again
			}
			return r.emailFailed(ctx, j, t, inc, st, svc, failures, serr)
		}
		r.emailed(t.Why, "sent")
		if err := r.store.EmailSent(ctx, j); err != nil {
			// Delivered but not recorded: a run after a crash now would
			// send it again (at least once).
			r.log.Warn("escalation: email sent but not recorded", "incident", inc.Number, "person", t.Person, "err", err)
		}
	}
	r.log.Info("escalation: emailed", "incident", inc.Number, "person", t.Person, "why", t.Why, "level", t.Level)
	if _, err = r.commit(ctx, j, incident.Commit{Rev: st.Rev, Facts: []incident.Event{{Type: incident.EventEmailed, At: now,
		Person: t.Person, By: By, Level: t.Level, Note: emailNote(t, after)}}}); err != nil {
		return err
	}
	// The card's timeline shows the email: redraw it (best effort; the
	// next change redraws it anyway).
	if err := r.store.ScheduleChat(ctx, inc.Number, now); err != nil {
		r.log.Debug("escalation: could not queue the card's redraw after an email", "incident", inc.Number, "err", err)
	}
	r.chat.kick()
	return nil
}

// sendEmail calls the Emailer with a deadline, turning a panic into an error.
func (r *Runner) sendEmail(ctx context.Context, e Email) (err error) {
	ectx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("emailer panicked: %v", v)
		}
	}()
	return r.o.Emailer.Email(ectx, e)
}

// emailFailed retries email job j after a failed attempt, or gives it up:
// then a page_failed event and a dead letter, and when the email stood in
// for a chat page that had failed, a page to the fallback channel.
func (r *Runner) emailFailed(ctx context.Context, j incident.Job, t EmailTask, inc incident.Incident, st incident.EscalationState,
	svc Service, failures int, serr error) error {
	f := DecideEmailFailure(t, failures, serr, r.now(), r.retry)
	if f.Action == FailureRetry {
		r.emailed(t.Why, "failed")
		r.log.Warn("escalation: email failed; retrying", "incident", inc.Number, "person", t.Person, "why", t.Why,
			"attempt", f.Attempts, "retry_in", f.Delay, "err", serr)
		_, _, err := r.store.EmailFailed(ctx, j, f.Due)
		r.armTimer(r.pages, f.Due)
		return err
	}
	now := r.now()
	r.emailed(t.Why, "given_up")
	r.metrics.DeadLettered()
	r.log.Error("escalation: email given up", "incident", inc.Number, "person", t.Person, "why", t.Why, "attempts", f.Attempts, "err", serr)
	c := incident.Commit{Rev: st.Rev,
		Facts: []incident.Event{{Type: incident.EventPageFailed, At: now, Person: t.Person, By: By, Level: t.Level,
			Note: text.Truncate(fmt.Sprintf("email not delivered after %d attempt(s): %v", f.Attempts, serr), 300)}},
		Dead: &incident.DeadLetter{Job: j.Member, Incident: inc.Number, Person: t.Person, Level: t.Level,
			Reason: "email " + string(t.Why), Error: text.Truncate(serr.Error(), 300), Attempts: f.Attempts, At: now}}
	if f.PageFallback {
		fb := Page{Incident: inc.Number, Title: inc.Title, Service: inc.Service, Severity: inc.Severity,
			Channel: svc.AlertsChannel, Owner: inc.Owner, Level: t.Level, Reason: ReasonFallback, At: now,
			Why: text.Truncate(fmt.Sprintf("page to %s could not be delivered by chat or by email: %v", t.Person, serr), 300),
			Key: j.Member + "/fallback"}
		// Not retried, not checked: a double beats a loss.
		if b, ferr := r.send(ctx, fb); ferr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(ferr, ErrNotTriggered) {
				r.log.Debug("escalation: fallback page not sent: the incident is no longer triggered", "incident", inc.Number, "channel", fb.Channel)
			} else {
				r.log.Error("escalation: fallback page failed too", "incident", inc.Number, "channel", fb.Channel, "err", ferr)
			}
		} else {
			c.Facts = append(c.Facts, bundledEvent(fb, now, b))
		}
	}
	_, err := r.commit(ctx, j, c)
	return err
}
