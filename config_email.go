package main

import (
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/email"
	"github.com/batonhq/baton/rotations"
)

// Email: the smtp section and the email settings of policy levels
// (notify, email_after). What is an error and what a warning:
//
//   - errors: a level asking for email while smtp.addr is empty (the
//     policy promises an email that can never go out), a bad smtp.addr,
//     a smtp.from that is not one address (every email would be refused),
//     smtp keys set without smtp.addr, a notify list that is not [chat] or
//     [chat, email], an incident_url that is not a safe link with {n};
//   - warnings: a person on a level that emails who has no email (their
//     chat pages still go; a chat page that fails for good pages the
//     fallback at once, as without email), credentials over a plain
//     connection to a server not on this host.

// validateLevelEmail checks one level's notify and email_after (lp is its
// key path).
func (c *Config) validateLevelEmail(k *checker, lp string, lv EscalationLevel) {
	seen := map[string]bool{}
	for i, n := range lv.Notify {
		switch {
		case n != "chat" && n != "email":
			k.add(fmt.Sprintf("%s.notify[%d]", lp, i), "must be chat or email (got %q)", n)
		case seen[n]:
			k.add(fmt.Sprintf("%s.notify[%d]", lp, i), "%q is listed twice", n)
		}
		seen[n] = true
	}
	if len(lv.Notify) > 0 && !seen["chat"] {
		k.add(lp+".notify", "must include chat: the owner is always paged in chat; write [chat, email] to email too")
	}
	switch {
	case lv.EmailAfter < 0:
		k.add(lp+".email_after", "must not be negative (0 turns it off)")
	case lv.EmailAfter > 0 && lv.EmailAfter < time.Second:
		k.add(lp+".email_after", "must be at least 1s (got %s)", lv.EmailAfter)
	}
	if lv.emails() && !c.SMTP.On() {
		k.add(lp, "asks for email (notify: [chat, email] or email_after) but smtp.addr is empty: no email could ever be sent; configure smtp or remove it")
	}
}

// validateSMTP checks the smtp section.
func (c *Config) validateSMTP(k *checker) {
	s := c.SMTP
	if !s.On() {
		for key, v := range map[string]string{"from": s.From, "username": s.Username, "password": s.Password, "incident_url": s.IncidentURL} {
			if v != "" {
				k.add("smtp."+key, "is set but smtp.addr is empty: no email is sent without a server")
			}
		}
		return
	}
	if host, port, err := net.SplitHostPort(s.Addr); err != nil || host == "" {
		k.add("smtp.addr", "must be host:port such as smtp.example.org:587 (got %q)", s.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		k.add("smtp.addr", "must end in a port 1-65535 (got %q)", s.Addr)
	}
	if s.From == "" {
		k.add("smtp.from", "must be set when smtp.addr is: the sender of baton's emails")
	} else if a, err := mail.ParseAddress(s.From); err != nil || a.Address == "" {
		k.add("smtp.from", "is not an email address such as \"Baton <baton@example.org>\" (got %q)", s.From)
	}
	if s.Password != "" && s.Username == "" {
		k.add("smtp.password", "is set without smtp.username")
	}
	if s.IncidentURL != "" {
		u := strings.ReplaceAll(s.IncidentURL, "{n}", "42")
		switch {
		case !strings.Contains(s.IncidentURL, "{n}"):
			k.add("smtp.incident_url", "must contain {n}, which stands for the incident's number (got %q)", s.IncidentURL)
		case incident.CheckLinkURL(u) != nil:
			k.add("smtp.incident_url", "is not a safe http or https link: %v", incident.CheckLinkURL(u))
		}
	}
}

// emailWarnings: people on levels that email who have no email address,
// and credentials sent without STARTTLS to another host.
func (c *Config) emailWarnings() []string {
	var out []string
	if c.SMTP.On() && c.SMTP.Username != "" && !c.SMTP.StartTLS {
		if host, _, _ := net.SplitHostPort(c.SMTP.Addr); host != "localhost" && host != "127.0.0.1" && host != "::1" {
			out = append(out, "smtp.username is set but smtp.starttls is false: the SMTP login would cross the network in the clear, so go-mail refuses it and every email fails; set smtp.starttls: true")
		}
	}
	email := map[string]bool{}
	for _, p := range c.People {
		email[p.ID] = p.Email != ""
	}
	participants := map[string][]string{}
	for _, r := range c.Rotations {
		participants[r.Name] = r.Participants
	}
	// An email_after the level never reaches: the incident moves on (to the
	// next level, or round again with repeat) before the email is due, and
	// the email is for this level's owner. A warning, not a refusal: the
	// level's chat pages still go, and the file stays loadable.
	for pi, ep := range c.EscalationPolicies {
		for i, lv := range ep.Levels {
			moves := i < len(ep.Levels)-1 || ep.Repeat > 0
			if lv.EmailAfter > 0 && lv.EscalateAfter > 0 && moves && lv.EmailAfter >= lv.EscalateAfter {
				out = append(out, fmt.Sprintf("escalation_policies[%d].levels[%d].email_after (%s) is not shorter than its escalate_after (%s) in policy %s: the incident moves on before the email is due, so it is never sent; make email_after shorter than escalate_after",
					pi, i, lv.EmailAfter, lv.EscalateAfter, ep.Name))
			}
		}
	}
	seen := map[string]bool{}
	for _, ep := range c.EscalationPolicies {
		for i, lv := range ep.Levels {
			if !lv.emails() {
				continue
			}
			var who []string
			for _, tg := range lv.Targets {
				t, err := rotations.ParseTarget(tg)
				switch {
				case err != nil:
				case t.Kind == "user":
					who = append(who, t.Name)
				case t.Kind == "rotation":
					who = append(who, participants[t.Name]...)
				}
			}
			for _, p := range who {
				if has, known := email[p]; known && !has && !seen[p+ep.Name] {
					seen[p+ep.Name] = true
					out = append(out, fmt.Sprintf("%s is on level %d of policy %s, which emails, but has no email: they get chat pages only, and a chat page to them that fails for good goes to the fallback at once", p, i+1, ep.Name))
				}
			}
		}
	}
	return out
}

// emailer builds the runner's Emailer from smtp and people[].email; nil
// when smtp.addr is empty.
func (c *Config) emailer() (escalation.Emailer, error) {
	if !c.SMTP.On() {
		return nil, nil
	}
	addrs := map[string]string{}
	for _, p := range c.People {
		if p.Email != "" {
			addrs[p.ID] = p.Email
		}
	}
	s, err := email.New(email.Options{Addr: c.SMTP.Addr, From: c.SMTP.From, Username: c.SMTP.Username, Password: c.SMTP.Password,
		StartTLS: c.SMTP.StartTLS, IncidentURL: c.SMTP.IncidentURL, Addresses: addrs})
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return s, nil
}
