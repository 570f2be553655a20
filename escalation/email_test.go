package escalation

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

func TestEmailsFor(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	lvl := func(notify bool, after time.Duration) Policy {
		l, _ := NewLevel([]string{"user:alice"}, time.Hour)
		l.NotifyEmail, l.EmailAfter = notify, after
		return Policy{Name: "p", RepageEvery: time.Minute, Levels: []Level{l}}
	}
	page := func(r Reason) Page { return Page{Incident: 4, Person: "alice", Level: 1, Reason: r, At: at} }
	type want struct {
		why EmailWhy
		due time.Duration // after at
	}
	cases := []struct {
		name       string
		pol        Policy
		p          Page
		chatFailed bool
		canEmail   bool
		want       []want
	}{
		{"a level without email", lvl(false, 0), page(ReasonFirst), false, true, nil},
		{"a level without email, chat failed: the fallback as before", lvl(false, 0), page(ReasonFirst), true, true, nil},
		{"notify email with the first page", lvl(true, 0), page(ReasonFirst), false, true, []want{{EmailWithPage, 0}}},
		{"notify email with each re-page", lvl(true, 0), page(ReasonRepeat), false, true, []want{{EmailWithPage, 0}}},
		{"email_after from the first page", lvl(false, 10*time.Minute), page(ReasonFirst), false, true, []want{{EmailAfter, 10 * time.Minute}}},
		{"email_after from an escalation", lvl(false, 10*time.Minute), page(ReasonEscalated), false, true, []want{{EmailAfter, 10 * time.Minute}}},
		{"no new email_after from a re-page", lvl(false, 10*time.Minute), page(ReasonRepeat), false, true, nil},
		{"both", lvl(true, time.Minute), page(ReasonRetriggered), false, true, []want{{EmailWithPage, 0}, {EmailAfter, time.Minute}}},
		{"chat failed on an email_after level: at once, and after", lvl(false, time.Minute), page(ReasonFirst), true, true, []want{{EmailChatFailed, 0}, {EmailAfter, time.Minute}}},
		{"chat failed on a notify level: one email at once", lvl(true, 0), page(ReasonRepeat), true, true, []want{{EmailChatFailed, 0}}},
		{"no address", lvl(true, time.Minute), page(ReasonFirst), true, false, nil},
		{"best-effort notify page", lvl(true, time.Minute), page(ReasonNotify), false, true, nil},
		{"fallback page", lvl(true, time.Minute), Page{Channel: "#a", Level: 1, Reason: ReasonFallback, At: at}, false, true, nil},
		{"a level the policy lost", lvl(true, time.Minute), Page{Person: "alice", Level: 3, Reason: ReasonFirst, At: at}, false, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tasks, due := EmailsFor(c.pol, c.p, c.chatFailed, c.canEmail)
			if len(tasks) != len(c.want) || len(due) != len(c.want) {
				t.Fatalf("got %+v, want %+v", tasks, c.want)
			}
			for i, w := range c.want {
				if tasks[i].Why != w.why || !due[i].Equal(at.Add(w.due)) || tasks[i].Person != "alice" || !tasks[i].At.Equal(at) {
					t.Errorf("email %d: %+v due %s, want %s due +%s", i, tasks[i], due[i], w.why, w.due)
				}
				back, err := ParseEmailTag(tasks[i].Tag())
				if err != nil || back.Why != tasks[i].Why || !back.At.Equal(tasks[i].At) || back.Level != tasks[i].Level || back.Person != tasks[i].Person {
					t.Errorf("tag %q round trip: %+v, %v", tasks[i].Tag(), back, err)
				}
			}
		})
	}
}

func TestParseEmailTagRefuses(t *testing.T) {
	for _, tag := range []string{"", "page", "page.1.1", "nope.1.1.alice", "page.x.1.alice", "page.1.x.alice", "page.1.1.Alice", "page.1.1.a:b"} {
		if _, err := ParseEmailTag(tag); err == nil {
			t.Errorf("%q parsed", tag)
		}
	}
}

func TestDecideEmail(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	trig := incident.Incident{Status: incident.StatusTriggered, Owner: "alice"}
	cases := []struct {
		name string
		why  EmailWhy
		inc  incident.Incident
		st   incident.EscalationState
		send bool
	}{
		{"still triggered", EmailAfter, trig, incident.EscalationState{}, true},
		{"acknowledged", EmailAfter, incident.Incident{Status: incident.StatusAcknowledged, Owner: "alice"}, incident.EscalationState{AckAt: at.Add(time.Second)}, false},
		{"resolved", EmailWithPage, incident.Incident{Status: incident.StatusResolved, Owner: "alice"}, incident.EscalationState{}, false},
		{"acknowledged since, then triggered again", EmailChatFailed, trig, incident.EscalationState{AckAt: at.Add(time.Second)}, false},
		{"acknowledged before the page", EmailAfter, trig, incident.EscalationState{AckAt: at.Add(-time.Second)}, true},
		{"email_after, moved on to bob", EmailAfter, incident.Incident{Status: incident.StatusTriggered, Owner: "bob"}, incident.EscalationState{}, false},
		{"with the page, moved on to bob: the page was sent", EmailWithPage, incident.Incident{Status: incident.StatusTriggered, Owner: "bob"}, incident.EscalationState{}, true},
		{"page-in into an acknowledged incident", EmailPageIn, incident.Incident{Status: incident.StatusAcknowledged, Owner: "bob",
			PagedIn: []incident.PagedIn{{Person: "alice", By: "bob"}}}, incident.EscalationState{AckAt: at.Add(-time.Second)}, true},
		{"page-in acknowledged", EmailPageIn, incident.Incident{Status: incident.StatusAcknowledged, Owner: "bob",
			PagedIn: []incident.PagedIn{{Person: "carol", Acked: false}, {Person: "alice", Acked: true}}}, incident.EscalationState{}, false},
		{"page-in, incident resolved", EmailPageIn, incident.Incident{Status: incident.StatusResolved, Owner: "bob",
			PagedIn: []incident.PagedIn{{Person: "alice"}}}, incident.EscalationState{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			send, why := DecideEmail(EmailTask{Why: c.why, At: at, Level: 1, Person: "alice"}, c.inc, c.st)
			if send != c.send || (send == (why != "")) {
				t.Fatalf("send %v (%q), want %v", send, why, c.send)
			}
		})
	}
}

func TestDecideEmailFailure(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	rp := RetryPolicy{MaxAttempts: 3, Min: time.Second, Max: time.Minute, Jitter: func(d time.Duration) time.Duration { return d }}
	boom := errors.New("down")
	cases := []struct {
		name     string
		why      EmailWhy
		failures int
		err      error
		action   FailureAction
		fallback bool
	}{
		{"first failure retried", EmailAfter, 0, boom, FailureRetry, false},
		{"last attempt given up", EmailAfter, 2, boom, FailureDeadLetter, false},
		{"permanent given up at once", EmailWithPage, 0, Permanent(boom), FailureDeadLetter, false},
		{"standing in for chat: the fallback", EmailChatFailed, 2, boom, FailureDeadLetter, true},
		{"standing in for chat, permanent: the fallback", EmailChatFailed, 0, Permanent(boom), FailureDeadLetter, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := DecideEmailFailure(EmailTask{Why: c.why}, c.failures, c.err, now, rp)
			if f.Action != c.action || f.PageFallback != c.fallback || f.Attempts != c.failures+1 {
				t.Fatalf("%+v", f)
			}
			if f.Action == FailureRetry && !f.Due.After(now) {
				t.Fatalf("retry due %s", f.Due)
			}
		})
	}
}

// TestPageInEmails: a page-in is emailed on a level that emails, as a page
// is: with each page-in under notify: [chat, email], at once when the chat
// page-in failed for good; never without an address or on a chat-only level.
func TestPageInEmails(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	pol := func(l Level) Policy { return Policy{Levels: []Level{l, {}}} }
	p := PageIn{Incident: 7, Person: "gus", Count: 2, At: at}
	cases := []struct {
		name       string
		pol        Policy
		level      int
		chatFailed bool
		canEmail   bool
		want       string
	}{
		{"notify email", pol(Level{NotifyEmail: true}), 1, false, true, "pagein.1796007600000.1.gus"},
		{"before any page: level 1", pol(Level{NotifyEmail: true}), 0, false, true, "pagein.1796007600000.1.gus"},
		{"chat failed on an emailing level", pol(Level{EmailAfter: time.Minute}), 1, true, true, "pagein.1796007600000.1.gus"},
		{"email_after only, delivered in chat", pol(Level{EmailAfter: time.Minute}), 1, false, true, ""},
		{"chat-only level", pol(Level{}), 1, true, true, ""},
		{"level 2 does not email", pol(Level{NotifyEmail: true}), 2, false, true, ""},
		{"no address", pol(Level{NotifyEmail: true}), 1, false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tasks, due := PageInEmails(c.pol, c.level, p, c.chatFailed, c.canEmail)
			var got string
			if len(tasks) == 1 && due[0].Equal(at) {
				got = tasks[0].Tag()
			} else if len(tasks) > 1 {
				t.Fatalf("%d emails", len(tasks))
			}
			if got != c.want {
				t.Fatalf("tag %q, want %q", got, c.want)
			}
			if got != "" {
				if back, err := ParseEmailTag(got); err != nil || back.Why != EmailPageIn {
					t.Fatalf("the tag does not parse back: %+v %v", back, err)
				}
			}
		})
	}
}
