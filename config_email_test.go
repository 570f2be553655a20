package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
)

// paymentsLevel1 is config.yaml's first level of payments-policy, the
// anchor the email config tests edit.
const paymentsLevel1 = "      - targets: [rotation:payments]\n        escalate_after: 10m\n"

// emailConfig is config.yaml with level lines added to payments-policy's
// first level, bob's email removed when noBob, and extra appended.
func emailConfig(t *testing.T, level, extra string, noBob bool) []byte {
	t.Helper()
	b, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, paymentsLevel1) || !strings.Contains(s, "    email: bob@example.com\n") {
		t.Fatal("config.yaml changed: payments-policy's first level and bob's email are this test's anchors")
	}
	s = strings.Replace(s, paymentsLevel1, paymentsLevel1+level, 1)
	if noBob {
		s = strings.Replace(s, "    email: bob@example.com\n", "", 1)
	}
	return []byte(s + extra)
}

const smtpOK = "\nsmtp:\n  addr: smtp.example.org:587\n  from: \"Baton <baton@example.org>\"\n  username: baton\n  starttls: true\n  incident_url: https://baton.example.org/incidents/{n}\n"

// TestEmailConfig: the smtp section and a level's notify and email_after
// reach the engine, and check-config refuses or warns about each misuse
// with its path and why.
func TestEmailConfig(t *testing.T) {
	tests := []struct {
		name     string
		level    string
		extra    string
		env      []string
		noBob    bool
		problems []string // the check-config lines expected, in order
		warnings []string // substrings of the warnings expected, in order
		notify   bool
		after    time.Duration
	}{
		{name: "no email anywhere (the example)"},
		{name: "notify chat and email", level: "        notify: [chat, email]\n", extra: smtpOK, notify: true},
		{name: "email_after", level: "        email_after: 5m\n", extra: smtpOK, after: 5 * time.Minute},
		{name: "email_after as long as escalate_after: a warning", level: "        email_after: 10m\n", extra: smtpOK, after: 10 * time.Minute,
			warnings: []string{"escalation_policies[1].levels[0].email_after (10m0s) is not shorter than its escalate_after (10m0s) in policy payments-policy: the incident moves on before the email is due, so it is never sent"}},
		{name: "notify chat only", level: "        notify: [chat]\n", extra: smtpOK},
		{name: "the password from the environment", level: "        email_after: 1m\n", extra: smtpOK,
			env: []string{"BATON_SMTP_PASSWORD=s3cret", "BATON_SMTP_ADDR=mail.internal:2525"}, after: time.Minute},
		{name: "email asked without smtp", level: "        notify: [chat, email]\n        email_after: 5m\n",
			problems: []string{"escalation_policies[1].levels[0]: asks for email (notify: [chat, email] or email_after) but smtp.addr is empty: no email could ever be sent; configure smtp or remove it"}},
		{name: "email only", level: "        notify: [email]\n", extra: smtpOK,
			problems: []string{"escalation_policies[1].levels[0].notify: must include chat: the owner is always paged in chat; write [chat, email] to email too"}},
		{name: "an unknown way", level: "        notify: [chat, sms]\n", extra: smtpOK,
			problems: []string{`escalation_policies[1].levels[0].notify[1]: must be chat or email (got "sms")`}},
		{name: "twice", level: "        notify: [chat, chat]\n", extra: smtpOK,
			problems: []string{`escalation_policies[1].levels[0].notify[1]: "chat" is listed twice`}},
		{name: "email_after under a second", level: "        email_after: 500ms\n", extra: smtpOK,
			problems: []string{"escalation_policies[1].levels[0].email_after: must be at least 1s (got 500ms)"}},
		{name: "a bad from", level: "        email_after: 1m\n", extra: "\nsmtp:\n  addr: smtp.example.org:587\n  from: baton at example\n  starttls: true\n",
			problems: []string{`smtp.from: is not an email address such as "Baton <baton@example.org>" (got "baton at example")`}},
		{name: "no from", extra: "\nsmtp:\n  addr: smtp.example.org:587\n",
			problems: []string{"smtp.from: must be set when smtp.addr is: the sender of baton's emails"}},
		{name: "an addr without a port", extra: "\nsmtp:\n  addr: smtp.example.org\n  from: baton@example.org\n",
			problems: []string{`smtp.addr: must be host:port such as smtp.example.org:587 (got "smtp.example.org")`}},
		{name: "smtp keys without addr", extra: "\nsmtp:\n  from: baton@example.org\n",
			problems: []string{"smtp.from: is set but smtp.addr is empty: no email is sent without a server"}},
		{name: "an incident_url without {n}", extra: "\nsmtp:\n  addr: smtp.example.org:587\n  from: baton@example.org\n  incident_url: https://baton.example.org/\n",
			problems: []string{`smtp.incident_url: must contain {n}, which stands for the incident's number (got "https://baton.example.org/")`}},
		{name: "an incident_url that is not a web link", extra: "\nsmtp:\n  addr: smtp.example.org:587\n  from: baton@example.org\n  incident_url: javascript:alert({n})\n",
			problems: []string{"smtp.incident_url: is not a safe http or https link"}},
		{name: "a person on the level without email: a warning", level: "        email_after: 5m\n", extra: smtpOK, noBob: true, after: 5 * time.Minute,
			warnings: []string{"bob is on level 1 of policy payments-policy, which emails, but has no email"}},
		{name: "a login without STARTTLS: a warning", level: "        email_after: 5m\n", after: 5 * time.Minute,
			extra:    "\nsmtp:\n  addr: smtp.example.org:587\n  from: baton@example.org\n  username: baton\n  password: x\n",
			warnings: []string{"smtp.username is set but smtp.starttls is false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig("config.yaml", emailConfig(t, tc.level, tc.extra, tc.noBob), tc.env)
			if len(tc.problems) > 0 {
				var ps Problems
				if !errors.As(err, &ps) || len(ps) != len(tc.problems) {
					t.Fatalf("problems %v, want %q", err, tc.problems)
				}
				for i, p := range ps {
					if !strings.HasPrefix(p.Error(), tc.problems[i]) {
						t.Errorf("problem %d: %q, want %q", i, p.Error(), tc.problems[i])
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var warns []string
			for _, w := range cfg.Warnings() {
				if strings.Contains(w, "which emails") || strings.Contains(w, "smtp") || strings.Contains(w, "email_after (") {
					warns = append(warns, w)
				}
			}
			if len(warns) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %q", warns, tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q, want %q", warns[i], w)
				}
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			if (d.emailer != nil) != cfg.SMTP.On() {
				t.Errorf("emailer %v with smtp %+v", d.emailer, cfg.SMTP)
			}
			pol, _, ok := d.policies("payments")
			if !ok {
				t.Fatal("no payments policy")
			}
			if l := pol.Levels[0]; l.NotifyEmail != tc.notify || l.EmailAfter != tc.after {
				t.Errorf("level 1: notify email %v, email_after %s; want %v, %s", l.NotifyEmail, l.EmailAfter, tc.notify, tc.after)
			}
			if len(tc.env) > 0 && (cfg.SMTP.Password != "s3cret" || cfg.SMTP.Addr != "mail.internal:2525") {
				t.Errorf("the environment did not override smtp: %+v", cfg.SMTP)
			}
			if d.emailer != nil && !d.emailer.CanEmail("alice") {
				t.Error("alice's email did not reach the emailer")
			}
			var _ escalation.Emailer = d.emailer
		})
	}
}
