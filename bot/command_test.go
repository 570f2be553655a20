package bot

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, cmd, text string
		want            Command
	}{
		{"empty is help", "/incident", "", Command{Verb: VerbHelp}},
		{"help", "incident", "help", Command{Verb: VerbHelp}},
		{"help with words", "incident", "help me", Command{Verb: VerbHelp}},
		{"new", "/incident", "new Checkout is down", Command{Verb: VerbNew, Title: "Checkout is down"}},
		{"new with options anywhere", "/incident", "new service=payments Checkout  down sev=warning",
			Command{Verb: VerbNew, Title: "Checkout down", Service: "payments", Severity: incident.SevWarning}},
		{"new severity= spelled out", "/incident", "new x severity=INFO", Command{Verb: VerbNew, Title: "x", Severity: incident.SevInfo}},
		{"verb case", "/incident", "ACK", Command{Verb: VerbAck}},
		{"ack in channel", "/incident", "ack", Command{Verb: VerbAck}},
		{"ack #42", "/incident", "ack #42", Command{Verb: VerbAck, Incident: 42}},
		{"ack INC-42", "/incident", "ack inc-42", Command{Verb: VerbAck, Incident: 42}},
		{"ref first", "/incident", "#42 ack", Command{Verb: VerbAck, Incident: 42}},
		{"ack channel mention", "/incident", "ack <#C0123|inc-42-db>", Command{Verb: VerbAck, ChannelRef: "C0123"}},
		{"resolve", "/incident", "resolve", Command{Verb: VerbResolve}},
		{"resolve with note", "/incident", "resolve  fixed   the disk", Command{Verb: VerbResolve, Text: "fixed   the disk"}},
		{"resolve #42 with note", "/incident", "resolve #42 rolled back", Command{Verb: VerbResolve, Incident: 42, Text: "rolled back"}},
		{"assign mention", "/incident", "assign <@U0BOB|bob>", Command{Verb: VerbAssign, Who: Mention{ChatID: "U0BOB", Name: "bob"}}},
		{"assign bare mention", "/incident", "assign #7 <@U0BOB>", Command{Verb: VerbAssign, Incident: 7, Who: Mention{ChatID: "U0BOB"}}},
		{"assign @name", "/incident", "assign @bob", Command{Verb: VerbAssign, Who: Mention{Name: "bob"}}},
		{"escalate", "/incident", "escalate INC-3", Command{Verb: VerbEscalate, Incident: 3}},
		{"ack #42 with note", "/incident", "ack #42 on it, db-1 first", Command{Verb: VerbAck, Incident: 42, Text: "on it, db-1 first"}},
		{"ack in channel with note", "/incident", "ack looking", Command{Verb: VerbAck, Text: "looking"}},
		{"escalate with note", "/incident", "escalate #3 needs the DBA", Command{Verb: VerbEscalate, Incident: 3, Text: "needs the DBA"}},
		{"ref first, escalate with note", "/incident", "#3 escalate  needs   the DBA ", Command{Verb: VerbEscalate, Incident: 3, Text: "needs   the DBA"}},
		{"note", "/incident", "note #9 restarted db-1", Command{Verb: VerbNote, Incident: 9, Text: "restarted db-1"}},
		{"status", "/incident", "status", Command{Verb: VerbStatus}},
		{"list", "/incident", "list", Command{Verb: VerbList}},
		{"list mine", "/incident", "list Mine", Command{Verb: VerbList, Mine: true}},
		{"list triggered", "/incident", "list triggered", Command{Verb: VerbList, Triggered: true}},
		{"list mine triggered", "/incident", "list triggered mine", Command{Verb: VerbList, Mine: true, Triggered: true}},
		{"ack bare number", "/incident", "Ack 16", Command{Verb: VerbAck, Incident: 16}},
		{"ack INC-16 upper", "/incident", "ack INC-16 on it", Command{Verb: VerbAck, Incident: 16, Text: "on it"}},
		{"acknowledge is ack", "/incident", "acknowledge #16", Command{Verb: VerbAck, Incident: 16}},
		{"Acknowledge bare number", "/incident", "ACKNOWLEDGE 16", Command{Verb: VerbAck, Incident: 16}},
		{"bare number first", "/incident", "16 resolve", Command{Verb: VerbResolve, Incident: 16}},
		{"status bare", "/incident", "status 7", Command{Verb: VerbStatus, Incident: 7}},
		{"assign bare", "/incident", "assign 7 @bob", Command{Verb: VerbAssign, Incident: 7, Who: Mention{Name: "bob"}}},
		{"page bare", "/incident", "page 7 @bob", Command{Verb: VerbPage, Incident: 7, Who: Mention{Name: "bob"}}},
		{"note bare", "/incident", "note inc-7 db up", Command{Verb: VerbNote, Incident: 7, Text: "db up"}},
		// A bare number that starts a note, or a free-text remark after
		// ack, resolve or escalate, is text: in an incident's channel it
		// must not name another incident. It is kept as Bare: it names
		// the incident outside an incident's channel (the executor
		// decides, see TestOutside).
		{"note starting with a number", "/incident", "note 5 servers restarted", Command{Verb: VerbNote, Bare: 5, Text: "5 servers restarted"}},
		{"note that is a number", "/incident", "note 5", Command{Verb: VerbNote, Bare: 5, Text: "5"}},
		{"note #5 names it", "/incident", "note #5 servers restarted", Command{Verb: VerbNote, Incident: 5, Text: "servers restarted"}},
		{"ref first, a note starting with a number", "/incident", "#7 note 5 servers restarted", Command{Verb: VerbNote, Incident: 7, Text: "5 servers restarted"}},
		{"ack with a remark starting with a number", "/incident", "ack 2 min away", Command{Verb: VerbAck, Bare: 2, Text: "2 min away"}},
		{"resolve with a remark starting with a number", "/incident", "resolve 3 hosts rebooted", Command{Verb: VerbResolve, Bare: 3, Text: "3 hosts rebooted"}},
		{"escalate with a remark starting with a number", "/incident", "escalate 12 needs the DBA", Command{Verb: VerbEscalate, Bare: 12, Text: "12 needs the DBA"}},
		{"acknowledge with a remark starting with a number", "/incident", "acknowledge  019   on it", Command{Verb: VerbAck, Bare: 19, Text: "019   on it"}},
		{"escalate bare number alone", "/incident", "escalate 12", Command{Verb: VerbEscalate, Incident: 12}},
		{"ref first, then a remark starting with a number", "/incident", "#7 ack 2 min away", Command{Verb: VerbAck, Incident: 7, Text: "2 min away"}},
		{"channel first, then a remark starting with a number", "/incident", "<#C0123> resolve 3 hosts rebooted", Command{Verb: VerbResolve, ChannelRef: "C0123", Text: "3 hosts rebooted"}},
		{"ack #2 with a remark", "/incident", "ack #2 min away", Command{Verb: VerbAck, Incident: 2, Text: "min away"}},
		{"ack a remark with a number later", "/incident", "ack back in 2 min", Command{Verb: VerbAck, Text: "back in 2 min"}},
		{"note starting with a number keeps it as Bare", "/incident", "note 19 on it", Command{Verb: VerbNote, Bare: 19, Text: "19 on it"}},
		{"page reason starting with a number keeps no Bare", "/incident", "page @bob 2 hosts down", Command{Verb: VerbPage, Who: Mention{Name: "bob"}, Text: "2 hosts down"}},
		{"stats default week", "/incident", "stats", Command{Verb: VerbStats, Days: 7}},
		{"stats 30d", "/incident", "stats 30d", Command{Verb: VerbStats, Days: 30}},
		{"stats 90d service", "/incident", "stats 90d service=api", Command{Verb: VerbStats, Days: 90, Service: "api"}},
		{"stats service first, weeks", "/incident", "stats SERVICE=Web 4W", Command{Verb: VerbStats, Days: 28, Service: "web"}},
		{"oncall", "/oncall", "", Command{Verb: VerbOnCall}},
		{"oncall service", "/oncall", "payments", Command{Verb: VerbOnCall, Service: "payments"}},
		{"oncall service=", "/oncall", "service=payments", Command{Verb: VerbOnCall, Service: "payments"}},
		{"oncall help", "/oncall", "help", Command{Verb: VerbOnHelp}},
		{"override", "/oncall", "override <@U0BOB|bob> 4h", Command{Verb: VerbOverride, Who: Mention{ChatID: "U0BOB", Name: "bob"}, For: 4 * time.Hour}},
		{"override days and rotation", "/oncall", "override @bob 1d12h rotation=db-primary",
			Command{Verb: VerbOverride, Who: Mention{Name: "bob"}, For: 36 * time.Hour, Rotation: "db-primary"}},
		{"override service", "/oncall", "override service=db @bob 90m", Command{Verb: VerbOverride, Who: Mention{Name: "bob"}, For: 90 * time.Minute, Service: "db"}},
		{"page in channel", "/incident", "page @carol", Command{Verb: VerbPage, Who: Mention{Name: "carol"}}},
		{"page with ref and reason", "/incident", "page #4 <@U0C|carol> need  the DBA", Command{Verb: VerbPage, Incident: 4, Who: Mention{ChatID: "U0C", Name: "carol"}, Text: "need  the DBA"}},
		{"ref first, page", "/incident", "INC-4 page @carol", Command{Verb: VerbPage, Incident: 4, Who: Mention{Name: "carol"}}},
		{"maintenance lists", "/incident", "maintenance", Command{Verb: VerbMaintenance}},
		{"maintenance", "/incident", "maintenance service=payments 2h", Command{Verb: VerbMaintenance, Service: "payments", For: 2 * time.Hour}},
		{"maintenance with reason", "/incident", "maintenance service=Payments 90m db failover drill", Command{Verb: VerbMaintenance, Service: "payments", For: 90 * time.Minute, Text: "db failover drill"}},
		{"maintenance duration first", "/incident", "maintenance 2h service=db", Command{Verb: VerbMaintenance, Service: "db", For: 2 * time.Hour}},
		{"maintenance exactly a day", "/incident", "maintenance service=db 24h", Command{Verb: VerbMaintenance, Service: "db", For: 24 * time.Hour}},
		{"maintenance long", "/incident", "maintenance service=db 3d --long migration", Command{Verb: VerbMaintenance, Service: "db", For: 72 * time.Hour, Long: true, Text: "migration"}},
		{"maintenance long with Slack's dash", "/incident", "maintenance service=db —long 2d", Command{Verb: VerbMaintenance, Service: "db", For: 48 * time.Hour, Long: true}},
		{"maintenance end", "/incident", "maintenance end MW-3", Command{Verb: VerbMaintenance, End: true, Window: "mw-3"}},
		{"maintenance reason with a number", "/incident", "maintenance service=db 1h upgrade to 16", Command{Verb: VerbMaintenance, Service: "db", For: time.Hour, Text: "upgrade to 16"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.cmd, c.text)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", c.cmd, c.text, err)
			}
			if got != c.want {
				t.Fatalf("Parse(%q, %q) = %+v, want %+v", c.cmd, c.text, got, c.want)
			}
		})
	}
}

// Outside: outside an incident's channel a Bare number names the incident
// and the rest of the remark is the note; anything else is unchanged.
func TestOutside(t *testing.T) {
	cases := []struct {
		name, text string
		want       Command
	}{
		{"ack a bare number with a note", "ack 19 on it", Command{Verb: VerbAck, Incident: 19, Bare: 19, Text: "on it"}},
		{"resolve a bare number with a note", "resolve 19  rolled   back ", Command{Verb: VerbResolve, Incident: 19, Bare: 19, Text: "rolled   back"}},
		{"escalate a bare number with a note", "escalate 19 needs the DBA", Command{Verb: VerbEscalate, Incident: 19, Bare: 19, Text: "needs the DBA"}},
		{"leading zeros", "ack 019 on it", Command{Verb: VerbAck, Incident: 19, Bare: 19, Text: "on it"}},
		{"a bare number alone already names it", "ack 19", Command{Verb: VerbAck, Incident: 19}},
		{"#19 names it everywhere", "ack #19 on it", Command{Verb: VerbAck, Incident: 19, Text: "on it"}},
		{"INC-19 names it everywhere", "resolve INC-19 2 hosts rebooted", Command{Verb: VerbResolve, Incident: 19, Text: "2 hosts rebooted"}},
		{"ref first: the number stays text", "#7 ack 2 min away", Command{Verb: VerbAck, Incident: 7, Text: "2 min away"}},
		{"channel mention: the number stays text", "ack <#C0123> 2 min away", Command{Verb: VerbAck, ChannelRef: "C0123", Text: "2 min away"}},
		{"no number", "ack looking", Command{Verb: VerbAck, Text: "looking"}},
		{"note a bare number with text", "note 19 db restarted", Command{Verb: VerbNote, Incident: 19, Bare: 19, Text: "db restarted"}},
		{"note a bare number, spaces", "note  019   db  restarted ", Command{Verb: VerbNote, Incident: 19, Bare: 19, Text: "db  restarted"}},
		{"note a bare number alone: no text left", "note 19", Command{Verb: VerbNote, Incident: 19, Bare: 19}},
		{"note #19 names it everywhere", "note #19 db restarted", Command{Verb: VerbNote, Incident: 19, Text: "db restarted"}},
		{"note ref first: the number stays text", "INC-7 note 5 servers restarted", Command{Verb: VerbNote, Incident: 7, Text: "5 servers restarted"}},
		{"note with no number", "note db restarted", Command{Verb: VerbNote, Text: "db restarted"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, err := Parse("/incident", c.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.text, err)
			}
			got := cmd.Outside()
			if got != c.want {
				t.Fatalf("Parse(%q).Outside() = %+v, want %+v", c.text, got, c.want)
			}
			if again := got.Outside(); again != got {
				t.Fatalf("Outside twice = %+v, want %+v", again, got)
			}
		})
	}
}

// ParseWithNote: a note given apart from the text (Discord's note option)
// is the note whatever it reads like, never the incident; only the text
// names one. Outside makes no incident of it either: Bare is never set.
func TestParseWithNote(t *testing.T) {
	cases := []struct {
		name, text, note string
		want             Command
		err              string // a substring of the refusal; "" when none
	}{
		{name: "a number", text: "ack", note: "19", want: Command{Verb: VerbAck, Text: "19"}},
		{name: "a number with leading zeros", text: "ack", note: "019", want: Command{Verb: VerbAck, Text: "019"}},
		{name: "#19", text: "ack", note: "#19", want: Command{Verb: VerbAck, Text: "#19"}},
		{name: "INC-19", text: "ack", note: "INC-19", want: Command{Verb: VerbAck, Text: "INC-19"}},
		{name: "inc-19", text: "ack", note: "inc-19", want: Command{Verb: VerbAck, Text: "inc-19"}},
		{name: "a number and more", text: "ack", note: "19 on it", want: Command{Verb: VerbAck, Text: "19 on it"}},
		{name: "a channel mention", text: "ack", note: "<#C0123>", want: Command{Verb: VerbAck, Text: "<#C0123>"}},
		{name: "spaces trimmed, inner ones kept", text: "ack", note: "  on  it ", want: Command{Verb: VerbAck, Text: "on  it"}},
		{name: "resolve a number", text: "resolve", note: "2", want: Command{Verb: VerbResolve, Text: "2"}},
		{name: "escalate #19", text: "escalate", note: "#19", want: Command{Verb: VerbEscalate, Text: "#19"}},
		{name: "note's text #19", text: "note", note: "#19", want: Command{Verb: VerbNote, Text: "#19"}},
		{name: "note's text 19", text: "note", note: "19", want: Command{Verb: VerbNote, Text: "19"}},
		{name: "the incident named in the text", text: "ack #19", note: "on it", want: Command{Verb: VerbAck, Incident: 19, Text: "on it"}},
		{name: "the incident named, a note naming another", text: "resolve #15", note: "#19", want: Command{Verb: VerbResolve, Incident: 15, Text: "#19"}},
		{name: "page's reason", text: "page #7 <@U0BOB>", note: "INC-19", want: Command{Verb: VerbPage, Incident: 7, Who: Mention{ChatID: "U0BOB"}, Text: "INC-19"}},
		{name: "a blank note is none", text: "ack", note: "  ", want: Command{Verb: VerbAck}},
		{name: "a blank note's text", text: "note", note: "  ", err: "Say what to note."},
		{name: "words left in the text", text: "ack #19 on", note: "it", err: `Unexpected "on": give the note in its own option.`},
		{name: "a verb without a note", text: "status", note: "19", err: "status takes no note."},
		{name: "too long", text: "ack", note: strings.Repeat("x", MaxNote+1), err: "keep it under"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseWithNote("/incident", c.text, c.note)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseWithNote(%q, %q) = %+v, %v; want a refusal saying %q", c.text, c.note, got, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWithNote(%q, %q): %v", c.text, c.note, err)
			}
			if got != c.want {
				t.Fatalf("ParseWithNote(%q, %q) = %+v, want %+v", c.text, c.note, got, c.want)
			}
			if out := got.Outside(); out != got {
				t.Fatalf("Outside() = %+v, want it unchanged (%+v)", out, got)
			}
		})
	}
}

// ParseGiven: typed options given apart from the text (Discord's title,
// service, duration and reason options) are each exactly what their
// option is: nothing in a title or a reason is read as an option, a
// flag, a duration or another sub-command.
func TestParseGiven(t *testing.T) {
	cases := []struct {
		name, text string
		given      Given
		want       Command
		err        string // a substring of the refusal; "" when none
	}{
		{name: "new: sev= in the title is the title's", text: "new", given: Given{Title: "db sev=warning down"},
			want: Command{Verb: VerbNew, Title: "db sev=warning down"}},
		{name: "new: severity= in the title", text: "new", given: Given{Title: "severity=info is wrong"},
			want: Command{Verb: VerbNew, Title: "severity=info is wrong"}},
		{name: "new: service= in the title beside the service", text: "new", given: Given{Title: "checkout service=payments broken", Service: "db"},
			want: Command{Verb: VerbNew, Title: "checkout service=payments broken", Service: "db"}},
		{name: "new: service= in the title, no service", text: "new", given: Given{Title: "service=nope down"},
			want: Command{Verb: VerbNew, Title: "service=nope down"}},
		{name: "new: an invalid option in the title", text: "new", given: Given{Title: "rotation=x sev=high"},
			want: Command{Verb: VerbNew, Title: "rotation=x sev=high"}},
		{name: "new: a number and #n in the title", text: "new", given: Given{Title: "#42 19 INC-3"},
			want: Command{Verb: VerbNew, Title: "#42 19 INC-3"}},
		{name: "new: spaces and control characters between words", text: "new", given: Given{Title: "  db \x00 down\n now "},
			want: Command{Verb: VerbNew, Title: "db down now"}},
		{name: "new: the service, any case", text: "new", given: Given{Title: "x", Service: "Payments"},
			want: Command{Verb: VerbNew, Title: "x", Service: "payments"}},
		{name: "new: a service that is two words", text: "new", given: Given{Title: "x", Service: "db sev=info"},
			err: `"db sev=info" is not a service name`},
		{name: "new: a blank title", text: "new", given: Given{Title: "  ", Service: "db"}, err: "Give the incident a title."},
		{name: "new: too long a title", text: "new", given: Given{Title: strings.Repeat("x", MaxTitle+1)}, err: "keep it under"},
		{name: "new: words left in the text", text: "new stray", given: Given{Title: "x"}, err: `Unexpected "stray": give the title in its own option.`},
		{name: "new: a note", text: "new", given: Given{Title: "x", Note: "y"}, err: "new takes no note."},
		{name: "maintenance: --long in the reason", text: "maintenance", given: Given{Service: "db", Duration: "2h", Reason: "--long drill"},
			want: Command{Verb: VerbMaintenance, Service: "db", For: 2 * time.Hour, Text: "--long drill"}},
		{name: "maintenance: service= in the reason", text: "maintenance", given: Given{Service: "db", Duration: "1h", Reason: "service=x failover"},
			want: Command{Verb: VerbMaintenance, Service: "db", For: time.Hour, Text: "service=x failover"}},
		{name: "maintenance: a duration in the reason", text: "maintenance", given: Given{Service: "db", Duration: "30m", Reason: "2h"},
			want: Command{Verb: VerbMaintenance, Service: "db", For: 30 * time.Minute, Text: "2h"}},
		{name: "maintenance: end mw-3 as the reason", text: "maintenance", given: Given{Service: "db", Duration: "1h", Reason: "end mw-3"},
			want: Command{Verb: VerbMaintenance, Service: "db", For: time.Hour, Text: "end mw-3"}},
		{name: "maintenance: the long flag", text: "maintenance --long", given: Given{Service: "DB", Duration: "3d", Reason: "storage  migration"},
			want: Command{Verb: VerbMaintenance, Service: "db", For: 72 * time.Hour, Long: true, Text: "storage migration"}},
		{name: "maintenance: no duration, the reason a duration", text: "maintenance", given: Given{Service: "db", Reason: "2h"},
			err: "Say for how long, such as 2h."},
		{name: "maintenance: no service, the reason service=db", text: "maintenance", given: Given{Duration: "2h", Reason: "service=db"},
			err: "Say which service."},
		{name: "maintenance: the long flag alone", text: "maintenance --long", err: "Say which service."},
		{name: "maintenance: longer than a day, not long", text: "maintenance", given: Given{Service: "db", Duration: "3d", Reason: "--long"},
			err: "must be asked for as long"},
		{name: "maintenance: a duration that is none", text: "maintenance", given: Given{Service: "db", Duration: "soon"},
			err: `"soon" is not a duration such as 4h`},
		{name: "maintenance: a duration with a flag after it", text: "maintenance", given: Given{Service: "db", Duration: "2h --long"},
			err: `"2h --long" is not a duration`},
		{name: "maintenance: a service that is two words", text: "maintenance", given: Given{Service: "db 2h", Duration: "1h"},
			err: `"db 2h" is not a service name`},
		{name: "maintenance: words left in the text", text: "maintenance 2h", given: Given{Service: "db"},
			err: `Unexpected "2h": give the service, the duration and the reason in their own options.`},
		{name: "maintenance: nothing given lists", text: "maintenance", want: Command{Verb: VerbMaintenance}},
		{name: "maintenance: too long a reason", text: "maintenance", given: Given{Service: "db", Duration: "1h", Reason: strings.Repeat("x", 501)},
			err: "keep it under"},
		{name: "ack: a reason", text: "ack", given: Given{Reason: "x"}, err: "ack takes no reason."},
		{name: "status: a title", text: "status #3", given: Given{Title: "x"}, err: "status takes no title."},
		{name: "maintenance: a title", text: "maintenance", given: Given{Title: "x"}, err: "maintenance takes no title."},
		{name: "note: a duration", text: "note", given: Given{Note: "x", Duration: "2h"}, err: "note takes no duration."},
		{name: "ack: the note, as ParseWithNote", text: "ack", given: Given{Note: "#19"}, want: Command{Verb: VerbAck, Text: "#19"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseGiven("/incident", c.text, c.given)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseGiven(%q, %+v) = %+v, %v; want a refusal saying %q", c.text, c.given, got, err, c.err)
				}
				var se *SyntaxError
				if !errors.As(err, &se) || se.Usage == "" {
					t.Fatalf("ParseGiven(%q, %+v): %v is not a SyntaxError with a suggestion", c.text, c.given, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseGiven(%q, %+v): %v", c.text, c.given, err)
			}
			if got != c.want {
				t.Fatalf("ParseGiven(%q, %+v) = %+v, want %+v", c.text, c.given, got, c.want)
			}
		})
	}
}

// ParseGiven for stats' service and /oncall's service and duration: each
// given apart is exactly its option, refused (naming it) when it is not a
// valid one, never read as a period, a rotation, a flag or a sub-command.
func TestParseGivenServiceAndDuration(t *testing.T) {
	cases := []struct {
		name, command, text string
		given               Given
		want                Command
		err                 string // a substring of the refusal; "" when none
	}{
		{name: "stats: the service", command: "incident", text: "stats 30d", given: Given{Service: "Payments"},
			want: Command{Verb: VerbStats, Service: "payments", Days: 30}},
		{name: "stats: the service, no period", command: "incident", text: "stats", given: Given{Service: "db"},
			want: Command{Verb: VerbStats, Service: "db", Days: DefaultStatsDays}},
		{name: "stats: a period in the service", command: "incident", text: "stats", given: Given{Service: "db 30d"},
			err: `"db 30d" is not a service name`},
		{name: "stats: service= in the service", command: "incident", text: "stats", given: Given{Service: "db service=x"},
			err: `"db service=x" is not a service name`},
		{name: "stats: service= left in the text", command: "incident", text: "stats service=x", given: Given{Service: "db"},
			err: `Unexpected "service=x": give the service in its own option.`},
		{name: "stats: a duration", command: "incident", text: "stats", given: Given{Service: "db", Duration: "2h"},
			err: "stats takes no duration."},
		{name: "show: the service", command: "oncall", given: Given{Service: "DB"}, want: Command{Verb: VerbOnCall, Service: "db"}},
		{name: "show: a command in the service", command: "oncall", given: Given{Service: "override <@U1> 4h"},
			err: `"override <@U1> 4h" is not a service name`},
		{name: "show: service= in the service", command: "oncall", given: Given{Service: "service=db"},
			err: `"service=db" is not a service name`},
		{name: "show: help in the service is that service", command: "oncall", given: Given{Service: "help"},
			want: Command{Verb: VerbOnCall, Service: "help"}},
		{name: "show: words left in the text", command: "oncall", text: "db", given: Given{Service: "db"},
			err: `Unexpected "db": give the service in its own option.`},
		{name: "show: a duration", command: "oncall", given: Given{Duration: "2h"}, err: "/oncall show takes no duration."},
		{name: "oncall: a note", command: "oncall", given: Given{Note: "x"}, err: "/oncall takes no note."},
		{name: "oncall: a title", command: "oncall", text: "override <@U1>", given: Given{Title: "x", Duration: "1h"}, err: "/oncall takes no title."},
		{name: "override: the duration and the service", command: "oncall", text: "override <@U1>", given: Given{Duration: " 4h ", Service: "Payments"},
			want: Command{Verb: VerbOverride, Who: Mention{ChatID: "U1"}, For: 4 * time.Hour, Service: "payments"}},
		{name: "override: the duration alone", command: "oncall", text: "override <@U1>", given: Given{Duration: "1d12h"},
			want: Command{Verb: VerbOverride, Who: Mention{ChatID: "U1"}, For: 36 * time.Hour}},
		{name: "override: a rotation in the duration", command: "oncall", text: "override <@U1>", given: Given{Duration: "2h rotation=other"},
			err: `"2h rotation=other" is not a duration`},
		{name: "override: a service in the duration", command: "oncall", text: "override <@U1>", given: Given{Duration: "2h service=x", Service: "db"},
			err: `"2h service=x" is not a duration`},
		{name: "override: a flag in the duration", command: "oncall", text: "override <@U1>", given: Given{Duration: "2h --long"},
			err: `"2h --long" is not a duration`},
		{name: "override: a rotation in the service", command: "oncall", text: "override <@U1>", given: Given{Duration: "2h", Service: "db rotation=x"},
			err: `"db rotation=x" is not a service name`},
		{name: "override: no duration", command: "oncall", text: "override <@U1>", given: Given{Service: "db"},
			err: "Say for how long <@U1> takes the shift."},
		{name: "override: words left in the text", command: "oncall", text: "override <@U1> 4h", given: Given{Duration: "4h"},
			err: `Unexpected "4h": give the duration and the service in their own options.`},
		{name: "override: no person", command: "oncall", text: "override", given: Given{Duration: "4h"},
			err: "Name who takes the shift"},
		{name: "override: no mention", command: "oncall", text: "override 4h", given: Given{Duration: "4h"},
			err: `"4h" is not a person`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseGiven(c.command, c.text, c.given)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseGiven(%q, %q, %+v) = %+v, %v; want a refusal saying %q", c.command, c.text, c.given, got, err, c.err)
				}
				var se *SyntaxError
				if !errors.As(err, &se) || se.Usage == "" {
					t.Fatalf("ParseGiven(%q, %q, %+v): %v is not a SyntaxError with a suggestion", c.command, c.text, c.given, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseGiven(%q, %q, %+v): %v", c.command, c.text, c.given, err)
			}
			if got != c.want {
				t.Fatalf("ParseGiven(%q, %q, %+v) = %+v, want %+v", c.command, c.text, c.given, got, c.want)
			}
		})
	}
}

// Every bad form of a command is refused with a sentence and what to type instead.
func TestParseErrorsSayWhatToType(t *testing.T) {
	cases := []struct {
		name, cmd, text string
		msg, usage      string // substrings of the message and of the suggestion
	}{
		{"unknown command", "/incidnet", "ack", "no command", "/incident help"},
		{"typo", "/incident", "akc", `no "akc". Did you mean ack?`, "/incident help"},
		{"typo resolve", "/incident", "reslove", "Did you mean resolve?", ""},
		{"unknown verb", "/incident", "frobnicate", `no "frobnicate". The commands are new, ack, resolve, assign, escalate, note, page, status, list, stats, maintenance, help.`, "/incident help"},
		{"unknown verb echoed cut", "/incident", strings.Repeat("z", 500), `no "` + strings.Repeat("z", 30) + `…". The commands are new,`, "/incident help"},
		{"ref alone", "/incident", "#42", "Say what to do", "/incident ack #42"},
		{"new without title", "/incident", "new", "Give the incident a title", Usage[VerbNew]},
		{"new only options", "/incident", "new sev=critical", "Give the incident a title", Usage[VerbNew]},
		{"new bad severity", "/incident", "new db down sev=high", `sev must be critical, warning or info (got "high")`, Usage[VerbNew]},
		{"new bad service", "/incident", "new db down service=Pay!", "not a service name", Usage[VerbNew]},
		{"new twice service", "/incident", "new x service=a service=b", "service= once", Usage[VerbNew]},
		{"new unknown option", "/incident", "new x rotation=r", "not rotation=", Usage[VerbNew]},
		{"new with a number", "/incident", "#4 new x", "leave out the incident number", Usage[VerbNew]},
		{"new too long", "/incident", "new " + strings.Repeat("x", MaxTitle+1), "keep it under", Usage[VerbNew]},
		{"ack note too long", "/incident", "ack #1 " + strings.Repeat("x", MaxNote+1), "keep it under", Usage[VerbAck]},
		{"ack two refs", "/incident", "#1 ack #2", "Name the incident once", Usage[VerbAck]},
		{"status extra", "/incident", "status #1 #2", `not "#2"`, Usage[VerbStatus]},
		{"escalate note too long", "/incident", "escalate " + strings.Repeat("x", MaxNote+1), "keep it under", Usage[VerbEscalate]},
		{"assign nobody", "/incident", "assign", "Name someone", Usage[VerbAssign]},
		{"assign nobody with ref", "/incident", "assign #3", "Name someone", Usage[VerbAssign]},
		{"assign not a person", "/incident", "assign <!here>", "not a person", Usage[VerbAssign]},
		{"assign two", "/incident", "assign @bob @carol", "one person", Usage[VerbAssign]},
		{"note empty", "/incident", "note", "Say what to note", Usage[VerbNote]},
		{"note empty with ref", "/incident", "note #3", "Say what to note", Usage[VerbNote]},
		{"note too long", "/incident", "note " + strings.Repeat("y", MaxNote+1), "keep it under", Usage[VerbNote]},
		{"list unknown word", "/incident", "list --all", `list takes mine (the incidents you own) and triggered (those not yet acknowledged), not "--all"; with neither it shows the 20 newest open incidents.`, "/incident list [mine] [triggered]"},
		{"list with an incident", "/incident", "list #4", "leave out the incident number", Usage[VerbList]},
		{"stats typo", "/incident", "stast", "Did you mean stats?", "/incident help"},
		{"stats too long", "/incident", "stats 91d", "up to 90 days (got 91d)", Usage[VerbStats]},
		{"stats too many weeks", "/incident", "stats 14w", "up to 90 days", Usage[VerbStats]},
		{"stats zero", "/incident", "stats 0d", "no time at all", Usage[VerbStats]},
		{"stats two periods", "/incident", "stats 7d 30d", "period once", Usage[VerbStats]},
		{"stats hours", "/incident", "stats 36h", `not "36h"`, Usage[VerbStats]},
		{"stats word", "/incident", "stats lastweek", `not "lastweek"`, Usage[VerbStats]},
		{"stats bare number is a period without unit", "/incident", "stats 30", `a period such as 7d, 30d or 90d and a service, not "30"`, Usage[VerbStats]},
		{"stats other option", "/incident", "stats sev=critical", "takes service=, not sev=", Usage[VerbStats]},
		{"stats two services", "/incident", "stats service=a service=b", "service= once", Usage[VerbStats]},
		{"stats bad service", "/incident", "stats service=Pay!", "not a service name", Usage[VerbStats]},
		{"stats with incident", "/incident", "stats #4", "leave out the incident number", Usage[VerbStats]},
		{"oncall two services", "/oncall", "a b", "Name one service", Usage[VerbOnCall]},
		{"oncall bad service", "/oncall", "Pay!", "not a service name", Usage[VerbOnCall]},
		{"override typo", "/oncall", "overide @bob 4h", "Did you mean override", Usage[VerbOverride]},
		{"override nothing", "/oncall", "override", "Name who takes the shift", Usage[VerbOverride]},
		{"override no duration", "/oncall", "override @bob", "Say for how long", Usage[VerbOverride]},
		{"override duration first", "/oncall", "override 4h @bob", "Name who takes the shift first", Usage[VerbOverride]},
		{"override bad duration", "/oncall", "override @bob soon", `"soon" is not a duration`, Usage[VerbOverride]},
		{"override too short", "/oncall", "override @bob 30s", "shorter than a minute", Usage[VerbOverride]},
		{"override too long", "/oncall", "override @bob 91d", "longer than 90 days", Usage[VerbOverride]},
		{"override too long hours", "/oncall", "override @bob 2200h", "longer than 90 days", Usage[VerbOverride]},
		{"override both", "/oncall", "override @bob 4h rotation=a service=b", "not both", Usage[VerbOverride]},
		{"override extra", "/oncall", "override @bob 4h please", `Unexpected "please"`, Usage[VerbOverride]},
		{"page nobody", "/incident", "page", "Name someone", Usage[VerbPage]},
		{"page nobody with ref", "/incident", "page #3", "Name someone", Usage[VerbPage]},
		{"page not a person", "/incident", "page <!channel>", "not a person", Usage[VerbPage]},
		{"page reason too long", "/incident", "page @bob " + strings.Repeat("x", MaxNote+1), "keep it under", Usage[VerbPage]},
		{"page two refs", "/incident", "#1 page #2 @bob", "Name the incident once", Usage[VerbPage]},
		{"maintenance no service", "/incident", "maintenance 2h", "Say which service", Usage[VerbMaintenance]},
		{"maintenance no duration", "/incident", "maintenance service=db", "Say for how long", Usage[VerbMaintenance]},
		{"maintenance over a day", "/incident", "maintenance service=db 25h", "must be asked for as long", Usage[VerbMaintenance]},
		{"maintenance two days", "/incident", "maintenance service=db 2d", "add --long", Usage[VerbMaintenance]},
		{"maintenance beyond two weeks even long", "/incident", "maintenance service=db 15d --long", "at most 14d", Usage[VerbMaintenance]},
		{"maintenance too short", "/incident", "maintenance service=db 30s", "shorter than a minute", Usage[VerbMaintenance]},
		{"maintenance bad duration", "/incident", "maintenance service=db 2x", `"2x" is not a duration`, Usage[VerbMaintenance]},
		{"maintenance a second over a day, quoted exactly", "/incident", "maintenance service=db 24h0m1s", "(got 24h0m1s)", Usage[VerbMaintenance]},
		{"maintenance a second over two weeks, quoted exactly", "/incident", "maintenance service=db 336h0m1s --long", "at most 14d, even a long one (got 336h0m1s)", Usage[VerbMaintenance]},
		{"maintenance other option", "/incident", "maintenance sev=critical 2h", "takes service=, not sev=", Usage[VerbMaintenance]},
		{"maintenance two services", "/incident", "maintenance service=a service=b 2h", "service= once", Usage[VerbMaintenance]},
		{"maintenance bad service", "/incident", "maintenance service=Pay! 2h", "not a service name", Usage[VerbMaintenance]},
		{"maintenance with incident", "/incident", "#4 maintenance service=db 2h", "leave out the incident number", Usage[VerbMaintenance]},
		{"maintenance reason too long", "/incident", "maintenance service=db 2h " + strings.Repeat("r", 201), "keep it under 200", Usage[VerbMaintenance]},
		{"maintenance end nothing", "/incident", "maintenance end", "Say which window", Usage[VerbMaintenance]},
		{"maintenance end not a window", "/incident", "maintenance end payments", `"payments" is not a maintenance window`, Usage[VerbMaintenance]},
		{"maintenance end extra", "/incident", "maintenance end mw-3 now", `got "now"`, Usage[VerbMaintenance]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.cmd, c.text)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want a SyntaxError", c.cmd, c.text, got, err)
			}
			if !strings.Contains(se.Msg, c.msg) {
				t.Fatalf("message %q does not say %q", se.Msg, c.msg)
			}
			if !strings.Contains(se.Usage, c.usage) {
				t.Fatalf("suggestion %q does not show %q", se.Usage, c.usage)
			}
			if !strings.Contains(err.Error(), "Try: ") {
				t.Fatalf("error %q does not say what to try", err)
			}
		})
	}
}

// TestChannelName: a channel name is "inc-<n>-<slug>", at most MaxName
// characters in all (issue 14's break test: the slug alone was cut to 40, so
// names ran to 45-47), cut at a word boundary where there is one, never
// ending in a hyphen.
func TestChannelName(t *testing.T) {
	cases := []struct {
		name  string
		n     int64
		title string
		want  string
	}{
		{"punctuation", 42, "Disk full on db-1!", "inc-42-disk-full-on-db-1"},
		{"accents dropped, spaces folded", 7, "  ÜBER  latency   p99 > 2s ", "inc-7-uber-latency-p99-2s"},
		{"accents folded", 1, "Café Ñandú", "inc-1-cafe-nandu"},
		{"compatibility forms folded", 1, "ﬁle ａｂｃ Ⓐ ǅ", "inc-1-file-abc-a-dz"},
		{"letters spelt out", 8, "Straße Ørsted Æther Łódź", "inc-8-strasse-orsted-aether-lodz"},
		{"no Latin letters", 3, "日本語", "inc-3"},
		{"a Japanese title", 18, "データベースの応答が遅い", "inc-18"},
		{"Japanese with a host name", 18, "データベース db-1 応答なし", "inc-18-db-1"},
		{"only punctuation", 18, " -- !! -- ", "inc-18"},
		{"empty", 3, "", "inc-3"},
		{"underscore", 1, "Checkout_API 5xx rate", "inc-1-checkout-api-5xx-rate"},
		{"cut at a word within 40 in all", 1, "Postgres primary replication lag is above 30 seconds on db-primary-1",
			"inc-1-postgres-primary-replication-lag"},
		{"exactly 40", 1, "Postgres primary replication lag 1", "inc-1-postgres-primary-replication-lag-1"},
		{"a larger number leaves less room", 1234, "Postgres primary replication lag is above 30 seconds",
			"inc-1234-postgres-primary-replication"},
		{"many words", 123456, strings.Repeat("word ", 40), "inc-123456-" + strings.TrimSuffix(strings.Repeat("word-", 5), "-") + "-word"},
		{"no spaces: cut mid-word", 99, strings.Repeat("a", 200), "inc-99-" + strings.Repeat("a", MaxName-len("inc-99-"))},
		{"a hyphen just inside the cut", 9, "abcdefghijklmnopqrstuvwxyzabcdefg-hijklmnop", "inc-9-abcdefghijklmnopqrstuvwxyzabcdefg"},
		{"a word boundary too early is not used", 5, "ab " + strings.Repeat("c", 60), "inc-5-ab-" + strings.Repeat("c", MaxName-len("inc-5-ab-"))},
		{"the largest number", 9223372036854775807, "Disk full on every database host in the fleet",
			"inc-9223372036854775807-disk-full-on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ChannelName(c.n, c.title)
			if got != c.want {
				t.Errorf("ChannelName(%d, %q) = %q, want %q", c.n, c.title, got, c.want)
			}
			if len(got) > MaxName || strings.HasSuffix(got, "-") || strings.Contains(got, "--") {
				t.Errorf("ChannelName(%d, %q) = %q (%d long): more than %d, or a stray hyphen", c.n, c.title, got, len(got), MaxName)
			}
		})
	}
}

// TestWithSuffix: a name made unique ("-2" after a name_taken) stays within
// MaxName, as ChannelName's do (it was bounded by Slack's 80 only, so a
// 39- or 40-character name became 41-42), keeps the incident's number
// group whole, cuts at a word boundary where ChannelName would, never
// leaves a hyphen before the suffix, and never splits a character.
func TestWithSuffix(t *testing.T) {
	forty := ChannelName(1, "Postgres primary replication lag 1") // exactly 40
	cases := []struct {
		name string
		base string
		k    int
		want string
	}{
		{"short: appended", "inc-1-x", 2, "inc-1-x-2"},
		{"40 characters: the last word gives way", forty, 2, "inc-1-postgres-primary-replication-lag-2"},
		{"39 characters", "inc-1-postgres-primary-replication-lags", 3, "inc-1-postgres-primary-replication-3"},
		{"38 characters and -2: exactly 40", "inc-1-postgres-primary-replication-lag", 2, "inc-1-postgres-primary-replication-lag-2"},
		{"a two-digit suffix", forty, 20, "inc-1-postgres-primary-replication-20"},
		{"no word boundary: cut mid-word", "inc-99-" + strings.Repeat("a", 33), 12, "inc-99-" + strings.Repeat("a", 30) + "-12"},
		{"a cut just before a hyphen", "inc-9-abcdefghijklmnopqrstuvwxyzabcde-fg", 2, "inc-9-abcdefghijklmnopqrstuvwxyzabcde-2"},
		{"the largest incident number", ChannelName(9223372036854775807, "Disk full on every database host"), 2,
			"inc-9223372036854775807-disk-full-on-2"},
		{"a long number with one long word: the word gives way, the number group stays whole",
			"inc-9223372036854775807-" + strings.Repeat("b", 16), 17, "inc-9223372036854775807-17"},
		{"multi-byte characters are never split", "inc-5-" + strings.Repeat("é", 20), 2, "inc-5-" + strings.Repeat("é", 16) + "-2"},
		{"a stray hyphen at the cut is dropped", "inc-5-" + strings.Repeat("ab-", 12), 2, "inc-5-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-2"},
		{"a negative k counts as its value", "inc-1-x", -3, "inc-1-x-3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := WithSuffix(c.base, c.k)
			if got != c.want {
				t.Errorf("WithSuffix(%q, %d) = %q, want %q", c.base, c.k, got, c.want)
			}
			if n := utf8.RuneCountInString(got); n > MaxName || len(got) > 2*MaxName || !utf8.ValidString(got) {
				t.Errorf("WithSuffix(%q, %d) = %q: %d characters (%d bytes), want at most %d", c.base, c.k, got, n, len(got), MaxName)
			}
		})
	}
}

// FuzzChannelName: every incident channel name baton makes, with or
// without a suffix, is at most MaxName characters of lowercase letters,
// digits and single hyphens (Slack's and Discord's rules, and ours), starts
// with the incident's number group and ends with the suffix.
func FuzzChannelName(f *testing.F) {
	f.Add(int64(1), "Postgres primary replication lag 1", 2)
	f.Add(int64(9223372036854775807), "Disk full on every database host in the fleet", 20)
	f.Add(int64(123456), strings.Repeat("word ", 40), 9)
	f.Add(int64(18), "データベース db-1 応答なし", 3)
	f.Add(int64(7), "  ÜBER  latency   p99 > 2s ", 11)
	f.Add(int64(99), strings.Repeat("a", 200), 19)
	f.Fuzz(func(t *testing.T, n int64, title string, k int) {
		if n < 1 {
			n = -(n + 1) + 1 // incident numbers start at 1
		}
		k = 2 + int(uint(k)%(maxNameTries-1)) // createChannel's 2..maxNameTries
		prefix := "inc-" + strconv.FormatInt(n, 10)
		base := ChannelName(n, title)
		for _, name := range []string{base, WithSuffix(base, k)} {
			if len(name) > MaxName || strings.HasSuffix(name, "-") || strings.Contains(name, "--") ||
				strings.TrimLeft(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				t.Fatalf("ChannelName(%d, %q) with suffix %d: %q (%d long): not a valid name of at most %d", n, title, k, name, len(name), MaxName)
			}
			if name != prefix && !strings.HasPrefix(name, prefix+"-") {
				t.Fatalf("%q does not start with the number group %q", name, prefix)
			}
		}
		if s := WithSuffix(base, k); !strings.HasSuffix(s, "-"+strconv.Itoa(k)) {
			t.Fatalf("WithSuffix(%q, %d) = %q: the suffix is lost", base, k, s)
		}
	})
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"4h": 4 * time.Hour, "90m": 90 * time.Minute, "2d": 48 * time.Hour,
		"1d12h": 36 * time.Hour, "1h30m": 90 * time.Minute, "90d": 90 * 24 * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "4", "-4h", "soon", "91d", "1d-1h", "59s"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}

// FuzzParse: no input makes Parse panic, every refusal is a SyntaxError that
// says what to try, and every accepted command is well formed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "new db down sev=critical service=db", "ack #42", "#42 resolve fixed", "assign <@U1|bob>",
		"note INC-3 hello", "override @bob 4h rotation=r", "override <@U1> 1d12h", "list", "status <#C1|x>", "stats 30d service=api", "stats 4w", "new ÜBER 日本語 \u00a0 x", "new a\x00b\x1bc\u0085d",
		"page #4 @carol need eyes", "maintenance service=db 2h drill", "maintenance service=db 3d --long", "maintenance end mw-3", "maintenance",
		"ack 2 min away", "escalate 019\u00a0needs\x00the DBA", "#7 resolve 3 hosts", "note 19 db restarted", "note 19"} {
		f.Add("incident", s)
		f.Add("oncall", s)
	}
	f.Fuzz(func(t *testing.T, cmd, text string) {
		c, err := Parse(cmd, text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Msg == "" || se.Usage == "" {
				t.Fatalf("Parse(%q, %q): %v is not a SyntaxError with a suggestion", cmd, text, err)
			}
			return
		}
		if _, ok := Usage[c.Verb]; !ok {
			t.Fatalf("Parse(%q, %q) = unknown verb %q", cmd, text, c.Verb)
		}
		switch c.Verb {
		case VerbNew:
			if c.Title == "" || len([]rune(c.Title)) > MaxTitle || c.Incident != 0 || (c.Severity != "" && !c.Severity.Valid()) {
				t.Fatalf("bad new: %+v", c)
			}
			// The title becomes the incident's one-line summary, as an
			// alert's does: no line breaks or other control characters.
			if strings.ContainsFunc(c.Title, unicode.IsControl) {
				t.Fatalf("new: control character in title %q", c.Title)
			}
		case VerbNote:
			if c.Text == "" {
				t.Fatalf("note without text: %+v", c)
			}
		case VerbAssign:
			if c.Who.IsZero() {
				t.Fatalf("assign without anyone: %+v", c)
			}
		case VerbOverride:
			if c.Who.IsZero() || c.For < time.Minute || c.For > 90*24*time.Hour {
				t.Fatalf("bad override: %+v", c)
			}
		case VerbPage:
			if c.Who.IsZero() || len([]rune(c.Text)) > MaxNote {
				t.Fatalf("bad page: %+v", c)
			}
		case VerbMaintenance:
			switch {
			case c.End && !incident.ValidMaintenanceID(c.Window):
				t.Fatalf("bad maintenance end: %+v", c)
			case !c.End && c.Service != "" && (!rotations.ValidID(c.Service) || incident.CheckMaintenance(c.For, c.Long, c.Text) != nil):
				t.Fatalf("bad maintenance: %+v", c)
			}
		case VerbStats:
			if c.Days < 1 || c.Days > MaxStatsDays || c.Incident != 0 || c.ChannelRef != "" || (c.Service != "" && !rotations.ValidID(c.Service)) {
				t.Fatalf("bad stats: %+v", c)
			}
		}
		if c.Incident < 0 {
			t.Fatalf("negative incident: %+v", c)
		}
		// A Bare number is only one that begins the remark of ack,
		// resolve or escalate, or note's text, with no incident named
		// otherwise; outside an incident's channel it names the incident
		// and the note is the rest of the remark.
		o := c.Outside()
		switch {
		case c.Bare == 0 && o != c:
			t.Fatalf("Outside changed a command without a Bare number: %+v to %+v", c, o)
		case c.Bare != 0 && (c.Bare < 0 || c.Incident != 0 || c.ChannelRef != "" ||
			(c.Verb != VerbAck && c.Verb != VerbResolve && c.Verb != VerbEscalate && c.Verb != VerbNote)):
			t.Fatalf("bad Bare: %+v", c)
		case c.Bare != 0 && (o.Incident != c.Bare || o.Bare != c.Bare || len(o.Text) >= len(c.Text) || !strings.HasSuffix(c.Text, o.Text) || o.Outside() != o):
			t.Fatalf("bad Outside: %+v to %+v", c, o)
		}
		if again, err := Parse(cmd, text); err != nil || again != c {
			t.Fatalf("Parse is not deterministic: %+v then %+v, %v", c, again, err)
		}
	})
}
