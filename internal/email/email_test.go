package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/email"
	"github.com/batonhq/baton/internal/fakesmtp"
)

func sender(t *testing.T, sink *fakesmtp.Server) *email.Sender {
	t.Helper()
	s, err := email.New(email.Options{Addr: sink.Addr, From: "Baton <baton@example.org>",
		IncidentURL: "https://baton.example.org/incidents/{n}",
		Addresses:   map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEmail: each kind of email through go-mail to the SMTP sink: who gets
// it, the subject (the chat page's line), the body naming the incident and
// the link; and the failures, marked as the runner needs them.
func TestEmail(t *testing.T) {
	sink := fakesmtp.Start(t)
	s := sender(t, sink)
	base := escalation.Email{Incident: 42, Title: "db-1 replication lag [mrn]", Service: "payments", Severity: incident.SevCritical,
		Level: 2, Person: "alice", Key: "email:42:page.1700000000000.2.alice"}
	cases := []struct {
		name string
		why  escalation.EmailWhy
		says string
	}{
		{"with the page", escalation.EmailWithPage, "You were paged in chat too"},
		{"after", escalation.EmailAfter, "still not acknowledged 10m after your page"},
		{"chat failed", escalation.EmailChatFailed, "could not be delivered"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := base
			e.Why, e.After = c.why, 10*time.Minute
			if err := s.Email(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			ms := sink.Messages()
			if len(ms) != i+1 {
				t.Fatalf("%d messages, want %d", len(ms), i+1)
			}
			m := ms[i]
			if len(m.To) != 1 || m.To[0] != "alice@example.com" || m.From != "baton@example.org" {
				t.Errorf("envelope %s → %v", m.From, m.To)
			}
			if want := "INC-42 [critical] db-1 replication lag [mrn] (payments)"; m.Subject != want {
				t.Errorf("subject %q, want %q", m.Subject, want)
			}
			for _, w := range []string{c.says, "Incident: INC-42", "Service:  payments", "Severity: critical", "Level:    2",
				"https://baton.example.org/incidents/42"} {
				if !strings.Contains(m.Body, w) {
					t.Errorf("body lacks %q:\n%s", w, m.Body)
				}
			}
			if id := m.Header.Get("Message-Id"); id != "<email-42-page.1700000000000.2.alice@baton>" {
				t.Errorf("Message-ID %q", id)
			}
		})
	}

	failures := []struct {
		name      string
		setup     func()
		person    string
		permanent bool
	}{
		{"no address", func() {}, "carol", true},
		{"address refused", func() { sink.Refuse("bob@example.com") }, "bob", true},
		{"server down", func() { sink.SetDown(true) }, "alice", false},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			f.setup()
			before := len(sink.Messages())
			e := base
			e.Person = f.person
			err := s.Email(context.Background(), e)
			if err == nil || escalation.IsPermanent(err) != f.permanent {
				t.Fatalf("err %v, permanent %v; want permanent %v", err, escalation.IsPermanent(err), f.permanent)
			}
			if strings.Contains(err.Error(), "@example.com") {
				t.Errorf("the error names an address: %v", err)
			}
			if len(sink.Messages()) != before {
				t.Errorf("a message was taken")
			}
		})
	}
}

// TestComposeStaysOnOneLine: a title with line breaks cannot add headers.
func TestComposeStaysOnOneLine(t *testing.T) {
	subj, _ := email.Compose(escalation.Email{Incident: 7, Title: "x\r\nBcc: evil@example.com", Service: "s", Severity: incident.SevWarning}, "")
	if strings.ContainsAny(subj, "\r\n") || subj != "INC-7 [warning] x Bcc: evil@example.com (s)" {
		t.Fatalf("subject %q", subj)
	}
}
