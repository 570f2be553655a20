package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"sort"
	"strings"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/rotations"
)

// checkSMTPOnline is check-config --online's SMTP part: when smtp.addr is
// set, it connects, says EHLO and, with smtp.starttls, upgrades the
// connection with STARTTLS (checking the server's certificate for its
// host), then quits without sending anything. One line on stdout: "smtp: …"
// when it works, "error: smtp: …" and exit 1 when not. The login itself is
// not tried (it would need the password on this machine, and a refused
// login is seen at the first email's attempt anyway).
func checkSMTPOnline(ctx context.Context, s SMTPConfig, stdout io.Writer) int {
	if !s.On() {
		return 0
	}
	if err := probeSMTP(ctx, s, nil); err != nil {
		fmt.Fprintf(stdout, "error: smtp: %s: %v\n", s.Addr, err)
		return 1
	}
	how := "answers EHLO"
	if s.StartTLS {
		how = "answers EHLO and STARTTLS"
	}
	fmt.Fprintf(stdout, "smtp: %s %s\n", s.Addr, how)
	return 0
}

// probeSMTP is checkSMTPOnline's session; tlsConfig, when not nil, is used
// for STARTTLS instead of the system's roots (tests).
func probeSMTP(ctx context.Context, s SMTPConfig, tlsConfig *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("no SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("EHLO refused: %w", err)
	}
	if s.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp.starttls is true but the server does not offer STARTTLS, so every email would fail")
		}
		if tlsConfig == nil {
			tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS failed: %w", err)
		}
	}
	return c.Quit()
}

// checkTargetsOnline is check-config --online's check of the people that
// escalation levels name directly (user:<id>): each must be reachable in
// the served chat (the rotations' people are checked by the pre-shift
// check). One "error: policy P level L: …" line per person who cannot be
// reached; their number.
func checkTargetsOnline(ctx context.Context, cfg *Config, people *bot.People, chat string, stdout io.Writer) int {
	where := map[string][]string{}
	for _, ep := range cfg.EscalationPolicies {
		for i, lv := range ep.Levels {
			for _, tg := range lv.Targets {
				if t, err := rotations.ParseTarget(tg); err == nil && t.Kind == "user" {
					where[t.Name] = append(where[t.Name], fmt.Sprintf("policy %s level %d", ep.Name, i+1))
				}
			}
		}
	}
	ids := make([]string, 0, len(where))
	for id := range where {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		cctx, cancel := context.WithTimeout(ctx, onlineStep)
		_, err := people.ChatID(cctx, id)
		cancel()
		switch {
		case errors.Is(err, bot.ErrUnreachable):
			bad++
			fmt.Fprintf(stdout, "error: %s: user:%s cannot be reached in %s (no account found for them): their pages would go to the fallback\n",
				strings.Join(where[id], ", "), id, chat)
		case err != nil:
			bad++
			fmt.Fprintf(stdout, "error: %s: user:%s could not be looked up in %s: %v\n", strings.Join(where[id], ", "), id, chat, err)
		}
	}
	if bad == 0 && len(ids) > 0 {
		fmt.Fprintf(stdout, "targets: the %d people named in escalation levels can be paged in %s\n", len(ids), chat)
	}
	return bad
}
