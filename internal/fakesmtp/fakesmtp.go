// Package fakesmtp is an SMTP sink on loopback for tests, built on
// github.com/emersion/go-smtp: it takes every message and records it
// (envelope, headers, decoded plain-text body), and can be made to refuse
// sessions (a server down) or a recipient for good. Nothing leaves the
// machine.
package fakesmtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Message is one message the sink took.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO, in order
	// Header is the message's header; Subject its decoded subject.
	Header  mail.Header
	Subject string
	// Body is the decoded body (quoted-printable or base64 undone).
	Body string
	// Raw is the message as received.
	Raw []byte
}

// Server is a running sink. Its methods are safe for concurrent use.
type Server struct {
	// Addr is host:port on loopback.
	Addr string

	srv *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	down     bool
	refused  map[string]bool // recipients refused for good
	sessions int             // sessions opened (refused ones too)
	changed  chan struct{}   // closed and replaced on every change
}

// Start starts a sink on 127.0.0.1 and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Listen starts a sink on addr (a loopback address; port 0 picks a free
// one) outside a test: `baton demo` runs one so that its email pages land
// on this machine. Close stops it.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakesmtp: %w", err)
	}
	s := &Server{Addr: ln.Addr().String(), refused: map[string]bool{}, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "fakesmtp.test"
	s.srv.AllowInsecureAuth = true
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the sink: it listens no more and closes open sessions.
func (s *Server) Close() error { return s.srv.Close() }

// SetDown makes the sink refuse every new session with 421 (down) or take
// them again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	s.notify()
}

// Refuse makes the sink refuse recipient addr for good (550).
func (s *Server) Refuse(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[strings.ToLower(addr)] = true
}

// Sessions is how many sessions were opened, refused ones included.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Messages returns the messages taken so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until cond holds of the messages taken (checked at once
// and on every change), or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func([]Message) bool) error {
	for {
		s.mu.Lock()
		ok := cond(append([]Message(nil), s.msgs...))
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fakesmtp: %w", ctx.Err())
		case <-ch:
		}
	}
}

// notify wakes WaitFor; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions++
	s.notify()
	if s.down {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "fakesmtp: down"}
	}
	return &session{s: s}, nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refused := x.s.refused[strings.ToLower(to)]
	x.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "fakesmtp: no such user"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: x.from, To: append([]string(nil), x.to...), Raw: raw}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = pm.Header
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		body, _ := io.ReadAll(decode(pm.Header.Get("Content-Transfer-Encoding"), pm.Body))
		m.Body = string(body)
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.notify()
	return nil
}

func decode(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // it skips the line breaks
	}
	return r
}
