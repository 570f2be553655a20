package discord_test

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakediscord"
)

// TestTypedOptionsAreWhatTheyAre: every option of /incident new and
// /incident maintenance is exactly what it was typed as. A title holding
// "sev=info" or "service=…" is that title (Discord's new has no severity
// option: the incident is critical); a maintenance reason holding
// "--long", "service=x", "2h" or "end mw-1" is that reason, never the
// long flag, a second service, the duration or an end. Through
// internal/fakediscord, the gateway and the real store; the cases run in
// order, each ending the window it started.
func TestTypedOptionsAreWhatTheyAre(t *testing.T) {
	s := newStory(t, time.Hour)
	str, flag := fakediscord.StringOption, fakediscord.BoolOption
	plain := strings.NewReplacer(`\`, "")
	tests := []struct {
		name string
		sub  string
		opts []fakediscord.CommandOption
		// before runs first (starting a window to end); it returns the
		// window's id, which %s in a reason stands for.
		before func() string
		reply  string // what the reply contains
		// title: the incident the command opened ("": none).
		title string
		// reason, d and long: the window the command started (d 0: none).
		reason string
		d      time.Duration
		long   bool
	}{
		{name: "new: sev= in the title", sub: "new", opts: []fakediscord.CommandOption{str("title", "db sev=info down")},
			reply: "(critical, payments)", title: "db sev=info down"},
		{name: "new: severity= in the title, with the service", sub: "new",
			opts:  []fakediscord.CommandOption{str("title", "severity=warning is wrong"), str("service", "payments")},
			reply: "(critical, payments)", title: "severity=warning is wrong"},
		{name: "new: service= in the title, with the service", sub: "new",
			opts:  []fakediscord.CommandOption{str("title", "checkout service=payments broken"), str("service", "payments")},
			reply: "(critical, payments)", title: "checkout service=payments broken"},
		{name: "new: service= of another in the title", sub: "new", opts: []fakediscord.CommandOption{str("title", "x service=nope")},
			reply: "(critical, payments)", title: "x service=nope"},
		{name: "maintenance: --long in the reason", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("duration", "2h"), str("reason", "--long drill")},
			reply: "payments is in maintenance until", reason: "--long drill", d: 2 * time.Hour},
		{name: "maintenance: --long in the reason of a window over a day", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("duration", "3d"), str("reason", "--long")},
			reply: "must be asked for as long"},
		{name: "maintenance: service= in the reason", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("duration", "1h"), str("reason", "service=x failover")},
			reply: "payments is in maintenance until", reason: "service=x failover", d: time.Hour},
		{name: "maintenance: no duration, the reason 2h", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("reason", "2h")},
			reply: "Say for how long, such as 2h. Try: /incident maintenance"},
		{name: "maintenance: a duration, the reason 2h", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("duration", "30m"), str("reason", "2h")},
			reply: "payments is in maintenance until", reason: "2h", d: 30 * time.Minute},
		{name: "maintenance: the reason end <window>, nothing else", sub: "maintenance",
			before: func() string {
				m, err := s.svc.StartMaintenance(s.ctx, "payments", time.Hour, false, "dana", "upgrade", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return m.ID
			},
			opts: []fakediscord.CommandOption{str("reason", "end %s")}, reply: "Say which service.",
			reason: "upgrade", d: time.Hour},
		{name: "maintenance: the long option", sub: "maintenance",
			opts:  []fakediscord.CommandOption{str("service", "payments"), str("duration", "2d"), str("reason", "storage migration"), flag("long", true)},
			reply: "payments is in maintenance until", reason: "storage migration", d: 48 * time.Hour, long: true},
	}
	opened := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := ""
			if tc.before != nil {
				id = tc.before()
			}
			opts := make([]fakediscord.CommandOption, len(tc.opts))
			for i, o := range tc.opts {
				if v, ok := o.Value.(string); ok && strings.Contains(v, "%s") {
					o.Value = fmt.Sprintf(v, id)
				}
				opts[i] = o
			}
			in, err := s.fake.SlashCommand(s.dana.ID, s.alerts.ID, "incident", fakediscord.SubCommand(tc.sub, opts...))
			if err != nil {
				t.Fatal(err)
			}
			reply := plain.Replace(s.followup(in))
			if !strings.Contains(reply, tc.reply) {
				t.Errorf("reply %q\nwant it to contain %q", reply, tc.reply)
			}
			if tc.title != "" {
				opened++
				if want := fmt.Sprintf("Opened INC-%d ", opened); !strings.Contains(reply, want) {
					t.Fatalf("reply %q, want it to say %q", reply, want)
				}
				if inc := s.incident(int64(opened)); inc.Title != tc.title || inc.Severity != incident.SevCritical || inc.Service != "payments" {
					t.Errorf("INC-%d is %q, %s, %s; want %q, critical, payments", opened, inc.Title, inc.Severity, inc.Service, tc.title)
				}
			}
			if _, _, err := s.svc.Get(s.ctx, int64(opened+1)); err == nil {
				t.Errorf("INC-%d was opened; the command opens none", opened+1)
			}
			windows, err := s.svc.Maintenances(s.ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range windows {
				if _, err := s.svc.EndMaintenance(s.ctx, w.ID, "dana", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.d == 0 {
				if len(windows) != 0 {
					t.Errorf("windows %+v, want none", windows)
				}
				return
			}
			if len(windows) != 1 {
				t.Fatalf("windows %+v, want one", windows)
			}
			if w := windows[0]; w.Service != "payments" || w.Reason != tc.reason || w.Until.Sub(w.From) != tc.d || w.Long != tc.long {
				t.Errorf("window %+v, want payments for %s, long %v, reason %q", w, tc.d, tc.long, tc.reason)
			}
		})
	}
}

// TestServicesAndDurationsAreWhatTheyAre: the service of /incident stats,
// of /oncall show and of /oncall override, and override's duration, are
// each exactly what was typed in their option. A service holding a period
// ("payments 30d"), another option ("service=x", "rotation=other") or a
// whole command ("override <@…> 4h") is no service name and is refused,
// naming it, with nothing posted or changed; a duration holding a
// rotation, a service or a flag is no duration and is refused so. Through
// internal/fakediscord, the gateway, the real store and real overrides;
// each case removes the overrides it made.
func TestServicesAndDurationsAreWhatTheyAre(t *testing.T) {
	s := newStory(t, time.Hour, func(c *storyConfig) { c.rotations = true })
	str, user := fakediscord.StringOption, fakediscord.UserOption
	plain := strings.NewReplacer(`\`, "")
	dana := user("person", s.dana.ID)
	tests := []struct {
		name    string
		command string
		sub     string
		opts    []fakediscord.CommandOption
		reply   string // what the reply contains
		not     string // what it does not contain ("": nothing checked)
		// stats: the stats summary posted ("": none).
		stats string
		// rotation and d: the override made (d 0: none).
		rotation string
		d        time.Duration
	}{
		{name: "stats: a period in the service", command: "incident", sub: "stats",
			opts:  []fakediscord.CommandOption{str("service", "payments 30d")},
			reply: `"payments 30d" is not a service name`},
		{name: "stats: service= in the service", command: "incident", sub: "stats",
			opts:  []fakediscord.CommandOption{str("period", "7d"), str("service", "payments service=x")},
			reply: `"payments service=x" is not a service name`},
		{name: "stats: the period and the service", command: "incident", sub: "stats",
			opts:  []fakediscord.CommandOption{str("period", "30d"), str("service", "Payments")},
			stats: "Incident stats: last 30 days, payments"},
		{name: "show: an override in the service", command: "oncall", sub: "show",
			opts:  []fakediscord.CommandOption{str("service", "override <@"+s.dana.ID+"> 4h")},
			reply: "is not a service name", not: "is on call in"},
		{name: "show: help in the service", command: "oncall", sub: "show",
			opts:  []fakediscord.CommandOption{str("service", "help")},
			reply: "No on-call answer for help", not: "/oncall commands"},
		{name: "show: service= in the service", command: "oncall", sub: "show",
			opts:  []fakediscord.CommandOption{str("service", "service=payments")},
			reply: `"service=payments" is not a service name`},
		{name: "show: the service", command: "oncall", sub: "show",
			opts: []fakediscord.CommandOption{str("service", "Payments")}, reply: "On call for payments"},
		{name: "show: no service", command: "oncall", sub: "show", reply: "On call now:"},
		{name: "override: a rotation in the duration", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", "2h rotation=other")},
			reply: `"2h rotation=other" is not a duration`},
		{name: "override: a service in the duration, beside the service", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", "2h service=nope"), str("service", "payments")},
			reply: `"2h service=nope" is not a duration`},
		{name: "override: --long in the duration", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", "2h --long"), str("service", "payments")},
			reply: `"2h --long" is not a duration`},
		{name: "override: a rotation in the service", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", "2h"), str("service", "payments rotation=other")},
			reply: `"payments rotation=other" is not a service name`},
		{name: "override: a duration in the service", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", "1h"), str("service", "payments 4h")},
			reply: `"payments 4h" is not a service name`},
		{name: "override: the duration and the service", command: "oncall", sub: "override",
			opts:  []fakediscord.CommandOption{dana, str("duration", " 2h "), str("service", "Payments")},
			reply: "is on call in payments-primary", rotation: "payments-primary", d: 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.fake.Messages(s.alerts.ID))
			in, err := s.fake.SlashCommand(s.dana.ID, s.alerts.ID, tc.command, fakediscord.SubCommand(tc.sub, tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			reply := plain.Replace(s.followup(in))
			if !strings.Contains(reply, tc.reply) {
				t.Errorf("reply %q\nwant it to contain %q", reply, tc.reply)
			}
			if tc.not != "" && strings.Contains(reply, tc.not) {
				t.Errorf("reply %q\nsays %q", reply, tc.not)
			}
			var titles []string
			for _, m := range s.fake.Messages(s.alerts.ID)[before:] {
				for _, e := range m.EmbedList() {
					titles = append(titles, plain.Replace(e.Title))
				}
			}
			if got := strings.Join(titles, "; "); (tc.stats == "" && got != "") || !strings.Contains(got, tc.stats) {
				t.Errorf("posted %q, want %q", got, tc.stats)
			}
			made := 0
			for _, rot := range []string{"payments-primary", "other"} {
				list, err := s.overrides.List(s.ctx, rot)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range list {
					made++
					if tc.d == 0 || rot != tc.rotation || o.Person != "dana" || o.Until.Sub(o.From) != tc.d {
						t.Errorf("override %+v in %s, want %s for %s", o, rot, cmp.Or(tc.rotation, "none"), tc.d)
					}
					if err := s.overrides.Delete(s.ctx, rot, o.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tc.d != 0 && made != 1 {
				t.Errorf("%d overrides made, want one", made)
			}
		})
	}
}
