package slack_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/email"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/fakesmtp"
)

// emailEnv is an env whose runner emails through go-mail to a local SMTP
// sink, with the payments policy's first level (alice) edited by lv.
func emailEnv(t *testing.T, lv func(*escalation.Level), edit func(*envConfig)) (*env, *fakesmtp.Server) {
	t.Helper()
	sink := fakesmtp.Start(t)
	sender, err := email.New(email.Options{Addr: sink.Addr, From: "baton@example.org", Timeout: 5 * time.Second,
		IncidentURL: "https://baton.example.org/incidents/{n}",
		Addresses:   map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	cfg.emailer = sender
	cfg.levels = func(ls []escalation.Level) { lv(&ls[0]) }
	if edit != nil {
		edit(&cfg)
	}
	return newEnv(t, cfg), sink
}

// openSensitive opens INC-n with details that must never reach an email:
// only the stored title goes out, as in the chat page.
func (e *env) openSensitive() int64 {
	e.t.Helper()
	r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: "db", Summary: "db-1 down [mrn]",
		Severity: incident.SevCritical, Status: incident.AlertFiring,
		Details: map[string]any{"query": "SELECT * FROM patients WHERE name='Jane Roe'"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Number
}

// emailsTo is the messages the sink took for addr.
func emailsTo(sink *fakesmtp.Server, addr string) []fakesmtp.Message {
	var out []fakesmtp.Message
	for _, m := range sink.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

// events is incident n's timeline entries of type typ.
func (e *env) events(n int64, typ incident.EventType) []incident.Event {
	e.t.Helper()
	_, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// fallbackPaged reports whether incident n's fallback was paged.
func (e *env) fallbackPaged(n int64) bool {
	for _, ev := range e.events(n, incident.EventPaged) {
		if strings.HasPrefix(ev.Note, "fallback") {
			return true
		}
	}
	return false
}

// refuseDMs makes Slack refuse to open a DM with user for good
// (user_disabled: a deactivated account), so every chat page to them fails
// permanently.
func refuseDMs(f *fakeslack.Server, user fakeslack.User) {
	f.InjectFaults(func(method string, p url.Values) (fakeslack.Fault, bool) {
		if method == "conversations.open" && strings.Contains(p.Get("users"), user.ID) {
			return fakeslack.SlackError("user_disabled"), true
		}
		return fakeslack.Fault{}, false
	})
}

// checkEmail asserts what an email about INC-n says: the subject is the
// chat page's line, the body names the incident and says why, and nothing
// of the alert beyond its stored title is in it.
func checkEmail(t *testing.T, m fakesmtp.Message, n int64, why string) {
	t.Helper()
	if want := "INC-" + itoa(n) + " [critical] db-1 down [mrn] (payments)"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, w := range []string{"Incident: INC-" + itoa(n), "Service:  payments", "Level:    1", why,
		"https://baton.example.org/incidents/" + itoa(n)} {
		if !strings.Contains(m.Body, w) {
			t.Errorf("the email lacks %q:\n%s", w, m.Body)
		}
	}
	if raw := string(m.Raw); strings.Contains(raw, "Jane Roe") || strings.Contains(raw, "patients") {
		t.Errorf("the email carries the alert's details:\n%s", raw)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEmailStory: email as the second way to reach the owner, end to end
// through slack-go, fakeslack, a real Redis and go-mail into an SMTP sink,
// with the policy's timings scaled to tens of milliseconds.
func TestEmailStory(t *testing.T) {
	ctxFor := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	cases := []struct {
		name string
		lv   func(*escalation.Level)
		run  func(t *testing.T, e *env, sink *fakesmtp.Server)
	}{
		{"email_after: the owner does not acknowledge", func(l *escalation.Level) { l.EmailAfter = 150 * time.Millisecond },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				n := e.openSensitive()
				e.waitFor("alice's chat page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
				paged := time.Now()
				if len(emailsTo(sink, "alice@example.com")) != 0 {
					t.Fatal("emailed before email_after")
				}
				if err := sink.WaitFor(ctxFor(t), func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
					t.Fatal(err)
				}
				checkEmail(t, emailsTo(sink, "alice@example.com")[0], n, "still not acknowledged")
				e.waitFor("the emailed event", func() bool { return len(e.events(n, incident.EventEmailed)) == 1 })
				ev := e.events(n, incident.EventEmailed)[0]
				if ev.Person != "alice" || ev.Level != 1 || !strings.HasPrefix(ev.Note, "unacknowledged") {
					t.Errorf("emailed event %+v", ev)
				}
				// email_after counts from the level's start (here the incident's
				// opening), on the engine's clock: not from when this test saw
				// the DM, which a loaded machine delays.
				if d := ev.At.Sub(e.incident(n).Created); d < 150*time.Millisecond {
					t.Errorf("emailed %s after the level started (seen %s after the DM), before email_after", d, time.Since(paged))
				}
				e.announced(n)
				e.waitFor("the card's emailed line", func() bool { return strings.Contains(blocksText(e.card(n)), "emailed") })
			}},
		{"notify: [chat, email]: at once with the page", func(l *escalation.Level) { l.NotifyEmail = true },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				n := e.openSensitive()
				if err := sink.WaitFor(ctxFor(t), func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
					t.Fatal(err)
				}
				checkEmail(t, sink.Messages()[0], n, "paged in chat too")
				if e.dmsAbout(e.alice, n, "You are on call") != 1 {
					t.Error("the chat page is missing")
				}
				e.idle()
				if len(sink.Messages()) != 1 || len(e.events(n, incident.EventEmailed)) != 1 {
					t.Errorf("%d emails, %d emailed events; want 1 each", len(sink.Messages()), len(e.events(n, incident.EventEmailed)))
				}
			}},
		{"chat fails for good: emailed at once, no fallback", func(l *escalation.Level) { l.EmailAfter = time.Hour },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				refuseDMs(e.fake, e.alice)
				n := e.openSensitive()
				if err := sink.WaitFor(ctxFor(t), func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
					t.Fatal(err)
				}
				checkEmail(t, sink.Messages()[0], n, "could not be delivered")
				e.waitFor("the emailed event", func() bool { return len(e.events(n, incident.EventEmailed)) == 1 })
				e.idle()
				if len(e.events(n, incident.EventPageFailed)) != 1 || e.fallbackPaged(n) {
					t.Errorf("want the chat page failed and no fallback: %+v", e.events(n, incident.EventPaged))
				}
			}},
		{"chat fails, SMTP down: retried, delivered when it is back", func(l *escalation.Level) { l.NotifyEmail = true },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				sink.SetDown(true)
				refuseDMs(e.fake, e.alice)
				n := e.openSensitive()
				e.waitFor("two refused SMTP sessions", func() bool { return sink.Sessions() >= 2 })
				sink.SetDown(false)
				if err := sink.WaitFor(ctxFor(t), func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
					t.Fatal(err)
				}
				checkEmail(t, sink.Messages()[0], n, "could not be delivered")
				e.waitFor("the emailed event", func() bool { return len(e.events(n, incident.EventEmailed)) == 1 })
				if e.fallbackPaged(n) {
					t.Error("the fallback was paged although the email got through")
				}
			}},
		{"chat fails, SMTP never back: the fallback", func(l *escalation.Level) { l.NotifyEmail = true },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				sink.SetDown(true)
				refuseDMs(e.fake, e.alice)
				n := e.openSensitive()
				e.waitFor("the fallback page", func() bool { return e.fallbackPaged(n) })
				if got := len(e.events(n, incident.EventPageFailed)); got != 2 {
					t.Errorf("%d page_failed events, want 2 (chat, then email)", got)
				}
				if sink.Sessions() < 5 {
					t.Errorf("%d SMTP sessions: given up before MaxAttempts", sink.Sessions())
				}
				e.waitFor("the fallback post", func() bool {
					for _, m := range e.fake.Messages(e.alerts.ID) {
						if strings.Contains(m.Text, "INC-"+itoa(n)) && strings.Contains(m.Text, "by chat or by email") {
							return true
						}
					}
					return false
				})
			}},
		{"acknowledged before email_after: no email", func(l *escalation.Level) { l.EmailAfter = 300 * time.Millisecond },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				n := e.openSensitive()
				e.waitFor("alice's chat page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
				if _, err := e.svc.Ack(e.ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
				e.idle() // the email job came due, re-checked and was dropped
				if len(sink.Messages()) != 0 || sink.Sessions() != 0 || len(e.events(n, incident.EventEmailed)) != 0 {
					t.Errorf("emailed after an ack: %d messages", len(sink.Messages()))
				}
			}},
		{"the runner restarts before email_after: one email all the same", func(l *escalation.Level) { l.EmailAfter = 400 * time.Millisecond },
			func(t *testing.T, e *env, sink *fakesmtp.Server) {
				n := e.openSensitive()
				e.waitFor("alice's chat page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
				e.restartRunner()
				if len(sink.Messages()) != 0 {
					t.Fatal("emailed before email_after")
				}
				if err := sink.WaitFor(ctxFor(t), func(ms []fakesmtp.Message) bool { return len(ms) == 1 }); err != nil {
					t.Fatal(err)
				}
				checkEmail(t, sink.Messages()[0], n, "still not acknowledged")
				e.idle()
				if len(sink.Messages()) != 1 || len(e.events(n, incident.EventEmailed)) != 1 {
					t.Errorf("%d emails, %d emailed events; want 1 each", len(sink.Messages()), len(e.events(n, incident.EventEmailed)))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, sink := emailEnv(t, c.lv, nil)
			c.run(t, e, sink)
		})
	}
}
