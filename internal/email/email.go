// Package email sends the escalation engine's emails (escalation.Emailer)
// over SMTP with github.com/wneessen/go-mail. An email names the incident
// as the chat page does (number, severity, the stored, redacted title,
// service, level) and links to it when a link is configured; it never
// carries more than the chat page: no alert details, no raw payload.
package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/text"
)

// Options configure a Sender (config smtp and people[].email).
type Options struct {
	// Addr is the SMTP server, host:port.
	Addr string
	// From is the sender's address (an RFC 5322 address, "Baton
	// <baton@example.org>" or a bare one).
	From string
	// Username and Password, when Username is set, log in with PLAIN
	// (which go-mail sends only over TLS, or to localhost).
	Username, Password string
	// StartTLS requires STARTTLS before anything is sent; without it the
	// connection is plain (a relay on the host or the local network).
	StartTLS bool
	// IncidentURL, when set, is a link to an incident, "{n}" standing for
	// its number (https://baton.example.org/incidents/{n}).
	IncidentURL string
	// Addresses maps a person's id (people[].id) to their address.
	Addresses map[string]string
	// Timeout bounds one connection and send. Default 15s.
	Timeout time.Duration
}

// Sender sends emails through one SMTP server. It is safe for concurrent
// use: each Email dials its own connection.
type Sender struct {
	o    Options
	host string
	port int
}

var _ escalation.Emailer = (*Sender)(nil)

// New checks o and returns a Sender. Errors name the field.
func New(o Options) (*Sender, error) {
	host, p, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("email: addr %q: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("email: addr %q: the port must be 1-65535", o.Addr)
	}
	if err := mail.NewMsg().From(o.From); err != nil {
		return nil, fmt.Errorf("email: from %q: %w", o.From, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	return &Sender{o: o, host: host, port: port}, nil
}

// CanEmail reports whether person has an address.
func (s *Sender) CanEmail(person string) bool { return s.o.Addresses[person] != "" }

// Email sends e to its person. A person without an address, or an address
// the server refuses for good (a 5xx answer to RCPT TO), is an
// escalation.Permanent error; anything else (the server unreachable, a
// 4xx) is retried by the runner. Errors carry the SMTP stage and code,
// never the message.
func (s *Sender) Email(ctx context.Context, e escalation.Email) error {
	to := s.o.Addresses[e.Person]
	if to == "" {
		return escalation.Permanent(fmt.Errorf("email: %s has no email address", e.Person))
	}
	subject, body := Compose(e, s.o.IncidentURL)
	m := mail.NewMsg()
	if err := m.From(s.o.From); err != nil {
		return escalation.Permanent(fmt.Errorf("email: from: %w", err))
	}
	if err := m.To(to); err != nil {
		return escalation.Permanent(fmt.Errorf("email: %s's address: %w", e.Person, err))
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageIDWithValue(messageID(e.Key))
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(mail.TypeTextPlain, body)

	opts := []mail.Option{mail.WithPort(s.port), mail.WithTimeout(s.o.Timeout), mail.WithTLSPolicy(mail.NoTLS)}
	if s.o.StartTLS {
		opts[2] = mail.WithTLSPolicy(mail.TLSMandatory)
	}
	if s.o.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.o.Username), mail.WithPassword(s.o.Password))
	}
	c, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return escalation.Permanent(fmt.Errorf("email: client: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return sendError(e.Person, err)
	}
	return nil
}

// sendError labels a go-mail error without the addresses it lists: a
// recipient refused for good is Permanent.
func sendError(person string, err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return fmt.Errorf("email to %s: %w", person, err)
	}
	msg := fmt.Sprintf("email to %s: %s", person, se.Reason)
	if code := se.ErrorCode(); code != 0 {
		msg += fmt.Sprintf(" (SMTP %d)", code)
	}
	if se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() {
		return escalation.Permanent(errors.New(msg))
	}
	return errors.New(msg)
}

// messageID makes a Message-ID's left part of a job key: its ':' are not
// allowed there.
func messageID(key string) string {
	return strings.NewReplacer(":", "-", " ", "-").Replace(key) + "@baton"
}

// Compose is an email's subject and plain-text body, pure. The subject is
// the chat page's one line ("INC-42 [critical] <title> (payments)"); the
// body adds why the email was sent, the level and the link (incidentURL
// with "{n}" replaced; none when empty).
func Compose(e escalation.Email, incidentURL string) (subject, body string) {
	ref := "INC-" + strconv.FormatInt(e.Incident, 10)
	title := oneLine(text.Truncate(e.Title, 150))
	subject = fmt.Sprintf("%s [%s] %s (%s)", ref, e.Severity, title, oneLine(e.Service))
	var b strings.Builder
	switch e.Why {
	case escalation.EmailAfter:
		fmt.Fprintf(&b, "You are on call for %s and it is still not acknowledged", ref)
		if e.After > 0 {
			fmt.Fprintf(&b, " %s after your page", text.Duration(e.After))
		}
		b.WriteString(".\n")
	case escalation.EmailChatFailed:
		fmt.Fprintf(&b, "You are on call for %s. Your chat page could not be delivered, so you get this email instead.\n", ref)
	case escalation.EmailPageIn:
		fmt.Fprintf(&b, "You were paged into %s to help; its owner stays the owner. You were paged in chat too (unless that could not be delivered).\n", ref)
	default:
		fmt.Fprintf(&b, "You are on call for %s. You were paged in chat too.\n", ref)
	}
	fmt.Fprintf(&b, "\nIncident: %s\nTitle:    %s\nService:  %s\nSeverity: %s\nLevel:    %d\n", ref, title, oneLine(e.Service), e.Severity, e.Level)
	if incidentURL != "" {
		fmt.Fprintf(&b, "Link:     %s\n", strings.ReplaceAll(incidentURL, "{n}", strconv.FormatInt(e.Incident, 10)))
	}
	if e.Why == escalation.EmailPageIn {
		b.WriteString("\nAcknowledge your page in chat (Acknowledge my page on its DM) to stop these pages.\n-- \nbaton\n")
	} else {
		b.WriteString("\nAcknowledge in chat (the page's buttons, /incident ack, or a reaction) to stop the pages.\n-- \nbaton\n")
	}
	return subject, b.String()
}

// oneLine keeps s on one line: a header cannot be split by what an alert
// said.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
