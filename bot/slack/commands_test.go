package slack_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// Each slash command and each bad form of it, typed in Slack, answered
// privately with a sentence; the state changes are checked where a command
// makes one. The cases run in order on one workspace.
func TestSlashCommands(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "k1", "Disk full on db-1")
	ch, _ := e.announced(n)
	e.waitFor("alice owns INC-1", func() bool { return e.incident(n).Owner == "alice" })
	alerts := e.alerts.ID
	bobMention := fmt.Sprintf("<@%s|bob>", e.bob.ID)

	cases := []struct {
		name    string
		who     fakeslack.User
		where   string
		command string
		text    string
		want    []string
		check   func() error
	}{
		{"empty is help", e.alice, ch, "/incident", "", []string{"/incident new <title>", "/oncall override"}, nil},
		{"help", e.alice, ch, "/incident", "help", []string{"/incident ack [#42]"}, nil},
		{"list", e.alice, alerts, "/incident", "list", []string{"Open incidents:", "INC-1 [critical] Disk full on db-1", "owner Alice"}, nil},
		{"list mine", e.alice, alerts, "/incident", "list mine", []string{"Your open incidents:", "INC-1 [critical] Disk full on db-1"}, nil},
		{"list mine, someone else's", e.bob, alerts, "/incident", "list mine", []string{"You own no open incident."}, nil},
		{"list mine triggered", e.alice, alerts, "/incident", "list mine triggered", []string{"Your open incidents not yet acknowledged:", "INC-1 [critical]"}, nil},
		{"list mine by a stranger", e.mallory, alerts, "/incident", "list mine", []string{"You are not in baton's people, so no incident is yours", "/incident list shows the 20 newest"}, nil},
		{"list with an unknown word", e.alice, alerts, "/incident", "list --all", []string{`list takes mine (the incidents you own) and triggered (those not yet acknowledged), not "--all"`, "Try: /incident list [mine] [triggered]"}, nil},
		{"ack a word elsewhere", e.alice, alerts, "/incident", "ack sixteen", []string{`"sixteen" is not an incident (name one as 42, #42 or INC-42). Say which incident: /incident ack #42`}, nil},
		{"status in the channel", e.alice, ch, "/incident", "status", []string{"INC-1 [critical] Disk full on db-1", "triggered", "owner Alice", "Channel #inc-1-disk-full-on-db-1"}, nil},
		{"status by number", e.mallory, alerts, "/incident", "status #1", []string{"INC-1 [critical]"}, nil},
		{"status elsewhere without a number", e.alice, alerts, "/incident", "status", []string{"Say which incident: /incident status #42", "incident's channel"}, nil},
		{"status of nothing", e.alice, alerts, "/incident", "status #999", []string{"There is no INC-999"}, nil},
		{"typo", e.alice, ch, "/incident", "akc", []string{`/incident has no "akc". Did you mean ack?`}, nil},
		{"note", e.alice, ch, "/incident", "note restarted db-1 & cleared /tmp", []string{"Noted on INC-1's timeline"}, func() error {
			_, tl, _ := e.svc.Get(e.ctx, n)
			if last := tl[len(tl)-1]; last.Type != incident.EventNote || last.Note != "restarted db-1 & cleared /tmp" || last.By != "alice" {
				return fmt.Errorf("last event %+v", last)
			}
			return nil
		}},
		{"note without text", e.alice, ch, "/incident", "note", []string{"Say what to note. Try: /incident note [#42] <text>"}, nil},
		// note as ack: outside an incident's channel a bare number first
		// names the incident and the rest is the note; in its channel the
		// number begins the note on that incident.
		{"a note starting with a number in the channel", e.alice, ch, "/incident", "note 5 servers restarted", []string{"Noted on INC-1's timeline"}, func() error {
			if notes := e.events(n, incident.EventNote); notes[len(notes)-1].Note != "5 servers restarted" || notes[len(notes)-1].By != "alice" {
				return fmt.Errorf("INC-1's last note %+v", notes[len(notes)-1])
			}
			return nil
		}},
		{"note a bare number with text elsewhere", e.bob, alerts, "/incident", "note 1 db restarted", []string{"Noted on INC-1's timeline"}, func() error {
			if notes := e.events(n, incident.EventNote); notes[len(notes)-1].Note != "db restarted" || notes[len(notes)-1].By != "bob" {
				return fmt.Errorf("INC-1's last note %+v", notes[len(notes)-1])
			}
			return nil
		}},
		{"note a bare number that is no incident elsewhere", e.bob, alerts, "/incident", "note 19 db restarted", []string{
			"There is no INC-19, and nothing was changed: outside an incident's channel, a number right after note names the incident."}, func() error {
			if notes := e.events(n, incident.EventNote); notes[len(notes)-1].Note != "db restarted" {
				return fmt.Errorf("INC-1's last note %+v", notes[len(notes)-1])
			}
			return nil
		}},
		{"note a bare number without text elsewhere", e.bob, alerts, "/incident", "note 1", []string{
			"Say what to note on INC-1: outside an incident's channel, a number right after note names the incident, and the note follows it (/incident note 1 <text>). Nothing was changed."}, func() error {
			if notes := e.events(n, incident.EventNote); len(notes) != 3 {
				return fmt.Errorf("INC-1's notes %+v, want the 3 before", notes)
			}
			return nil
		}},
		{"stranger acks", e.mallory, alerts, "/incident", "ack #1", []string{"You are not in baton's people", "nothing was changed"}, func() error {
			if inc := e.incident(n); inc.Status != incident.StatusTriggered {
				return fmt.Errorf("status %s after a stranger's ack", inc.Status)
			}
			return nil
		}},
		{"ack in the channel with a note", e.alice, ch, "/incident", "ack looking at db-1", []string{"You acknowledged INC-1 and own it now"}, func() error {
			if inc := e.incident(n); inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" {
				return fmt.Errorf("after ack: %s owner %s", inc.Status, inc.Owner)
			}
			_, tl, _ := e.svc.Get(e.ctx, n)
			if last := tl[len(tl)-1]; last.Type != incident.EventAcknowledged || last.Note != "looking at db-1" {
				return fmt.Errorf("last event %+v", last)
			}
			e.waitFor("the card shows the ack's note", func() bool {
				return strings.Contains(blocksText(e.card(n)), "acknowledged by Alice: looking at db-1")
			})
			return nil
		}},
		{"ack twice", e.bob, alerts, "/incident", "ack INC-1", []string{"INC-1 is already acknowledged by Alice"}, nil},
		{"Acknowledge by bare number", e.bob, alerts, "/incident", "Acknowledge 1", []string{"INC-1 is already acknowledged by Alice"}, nil},
		// Outside an incident's channel a bare number followed by a note
		// names the incident (in its channel it would begin the note).
		{"ack a bare number with a note elsewhere", e.bob, alerts, "/incident", "ack 1 on it", []string{"INC-1 is already acknowledged by Alice"}, nil},
		{"ack a bare number that is no incident elsewhere", e.bob, alerts, "/incident", "ack 19 on it", []string{
			"There is no INC-19, and nothing was changed: outside an incident's channel, a number right after ack names the incident."}, func() error {
			if inc := e.incident(n); inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" {
				return fmt.Errorf("INC-1 after ack 19: %s owner %s", inc.Status, inc.Owner)
			}
			return nil
		}},
		{"list triggered after the ack", e.bob, alerts, "/incident", "list triggered", []string{"No open incident waits for an acknowledgement."}, nil},
		{"assign to nobody", e.alice, ch, "/incident", "assign", []string{"Name someone to assign the incident to. Try: /incident assign [#42] @someone"}, nil},
		{"assign to a stranger", e.alice, ch, "/incident", "assign @mallory", []string{"baton does not know @mallory", "alice, bob, carol, dave"}, nil},
		{"assign by mention", e.alice, ch, "/incident", "assign " + bobMention, []string{"Assigned INC-1 to Bob; they are being paged"}, func() error {
			if inc := e.incident(n); inc.Owner != "bob" || inc.Status != incident.StatusTriggered {
				return fmt.Errorf("after assign: %s owner %s", inc.Status, inc.Owner)
			}
			return nil
		}},
		{"assign to the owner", e.alice, ch, "/incident", "assign @bob", []string{"INC-1 is already assigned to Bob"}, nil},
		{"escalate by number with a note", e.bob, alerts, "/incident", "escalate #1 needs the DBA", []string{"You escalated INC-1: it is moving up to the next escalation level"}, func() error {
			e.waitFor("the escalated event with bob's note", func() bool {
				_, tl, _ := e.svc.Get(e.ctx, n)
				for _, ev := range tl {
					if _, note := incident.SplitEscalationNote(ev.Note); ev.Type == incident.EventEscalated && ev.By == "bob" && note == "needs the DBA" {
						return true
					}
				}
				return false
			})
			e.waitFor("the card shows the escalation's note", func() bool {
				return strings.Contains(blocksText(e.card(n)), "by Bob: needs the DBA")
			})
			return nil
		}},
		{"new", e.carol, alerts, "/incident", "new Payments API down sev=warning", []string{"Opened INC-2 (warning, payments)"}, func() error {
			inc := e.incident(2)
			if inc.Title != "Payments API down" || inc.Severity != incident.SevWarning || inc.Service != "payments" || inc.Source != "chat" {
				return fmt.Errorf("INC-2 = %+v", inc)
			}
			return nil
		}},
		{"a remark starting with a number in the channel is on its incident", e.alice, ch, "/incident", "ack 2 min away", []string{"You acknowledged INC-1 and own it now"}, func() error {
			if inc := e.incident(n); inc.Status != incident.StatusAcknowledged || inc.Owner != "alice" {
				return fmt.Errorf("INC-1 after ack: %s owner %s", inc.Status, inc.Owner)
			}
			if acks := e.events(n, incident.EventAcknowledged); acks[len(acks)-1].Note != "2 min away" {
				return fmt.Errorf("INC-1's last ack %+v", acks[len(acks)-1])
			}
			if inc := e.incident(2); inc.Status != incident.StatusTriggered {
				return fmt.Errorf("INC-2 is %s after an ack in INC-1's channel", inc.Status)
			}
			return nil
		}},
		{"ack a bare number with a note elsewhere, and it is acknowledged", e.carol, alerts, "/incident", "ack 2 on it", []string{"You acknowledged INC-2 and own it now"}, func() error {
			if inc := e.incident(2); inc.Status != incident.StatusAcknowledged || inc.Owner != "carol" {
				return fmt.Errorf("INC-2 after ack: %s owner %s", inc.Status, inc.Owner)
			}
			if acks := e.events(2, incident.EventAcknowledged); len(acks) != 1 || acks[0].Note != "on it" || acks[0].By != "carol" {
				return fmt.Errorf("INC-2's acks %+v", acks)
			}
			return nil
		}},
		{"resolve a bare number with a note elsewhere", e.carol, alerts, "/incident", "resolve 2 false alarm", []string{"You resolved INC-2."}, func() error {
			if inc := e.incident(2); inc.Status != incident.StatusResolved {
				return fmt.Errorf("INC-2 is %s", inc.Status)
			}
			if res := e.events(2, incident.EventResolved); len(res) != 1 || res[0].Note != "false alarm" {
				return fmt.Errorf("INC-2's resolutions %+v", res)
			}
			return nil
		}},
		{"new for an unknown service", e.carol, alerts, "/incident", "new x service=nope", []string{`There is no service "nope". Services: payments.`}, nil},
		{"new without a title", e.carol, alerts, "/incident", "new sev=critical", []string{"Give the incident a title. Try: /incident new <title> [service=S] [sev=critical|warning|info]"}, nil},
		{"new with a bad severity", e.carol, alerts, "/incident", "new db down sev=high", []string{`sev must be critical, warning or info (got "high")`}, nil},
		{"resolve with a note", e.bob, alerts, "/incident", "resolve #1 rolled back", []string{"You resolved INC-1."}, func() error {
			if inc := e.incident(n); inc.Status != incident.StatusResolved {
				return fmt.Errorf("status %s", inc.Status)
			}
			return nil
		}},
		{"resolve twice", e.bob, ch, "/incident", "resolve", []string{"INC-1 is already resolved."}, nil},
		{"oncall", e.alice, alerts, "/oncall", "", []string{"On call now:", "payments-primary: Alice until"}, nil},
		{"oncall for a service", e.alice, alerts, "/oncall", "payments", []string{"On call for payments — payments-primary: Alice"}, nil},
		{"oncall for an unknown service", e.alice, alerts, "/oncall", "nope", []string{"No on-call answer for nope"}, nil},
		{"oncall with two services", e.alice, alerts, "/oncall", "a b", []string{"Name one service", "Try: /oncall [service]"}, nil},
		{"override", e.alice, alerts, "/oncall", "override " + bobMention + " 4h", []string{"Bob is on call in payments-primary from now until"}, nil},
		{"oncall after the override", e.alice, alerts, "/oncall", "payments", []string{"payments-primary: Bob (override by Alice) until"}, nil},
		{"every rotation after the override", e.bob, alerts, "/oncall", "", []string{"payments-primary: Bob (override by Alice) until"}, nil},
		{"override without a duration", e.alice, alerts, "/oncall", "override @bob", []string{"Say for how long @bob takes the shift. Try: /oncall override @someone"}, nil},
		{"override with a bad duration", e.alice, alerts, "/oncall", "override @bob soon", []string{`"soon" is not a duration such as 4h`}, nil},
		{"override by a stranger", e.mallory, alerts, "/oncall", "override @bob 1h", []string{"You are not in baton's people"}, nil},
		{"maintenance by a stranger", e.mallory, alerts, "/incident", "maintenance service=payments 2h", []string{
			"You are not in baton's people, so baton cannot start or end a maintenance window for you", "Nothing was changed", "add you to people"}, nil},
		{"ending a window by a stranger", e.mallory, alerts, "/incident", "maintenance end mw-1", []string{"cannot start or end a maintenance window for you"}, nil},
		{"a stranger lists the windows", e.mallory, alerts, "/incident", "maintenance", []string{"No service is in maintenance."}, nil},
		{"page-in by a stranger", e.mallory, alerts, "/incident", "page #1 @bob", []string{"cannot page someone in for you"}, nil},
		{"oncall help", e.alice, alerts, "/oncall", "help", []string{"/oncall [service]"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply := e.slash(c.who, c.where, c.command, c.text)
			for _, w := range c.want {
				if !strings.Contains(reply, w) {
					t.Fatalf("%s %s → %q\nwant it to contain %q", c.command, c.text, reply, w)
				}
			}
			if c.check != nil {
				if err := c.check(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// Every reply was private: nothing the commands said was posted in a channel.
	for _, m := range e.fake.Messages(ch) {
		if strings.Contains(m.Text, "You ") {
			t.Fatalf("a reply was posted in the channel: %q", m.Text)
		}
	}
}

// Every way to acknowledge: a button on the card or the page, /incident ack
// in the channel, a reaction on the card, the notice or the page. Whoever
// acknowledges owns the incident, and the card is redrawn in place.
func TestAckWays(t *testing.T) {
	ways := []struct {
		name string
		via  string // the acknowledgement's label in baton_acknowledgements_total
		ack  func(e *env, n int64, ch, card string)
	}{
		{"button on the card", "button", func(e *env, n int64, ch, card string) {
			e.must(e.fake.SendBlockAction(e.bob.ID, ch, card, "baton_ack", ""))
		}},
		{"button in the page", "button", func(e *env, n int64, ch, card string) {
			dm := e.dms(e.alice)[0]
			if _, err := e.fake.SendBlockAction(e.alice.ID, dm.Channel, dm.TS, "baton_ack", ""); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"/incident ack in the channel", "command", func(e *env, n int64, ch, card string) {
			if r := e.slash(e.bob, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged INC-1") {
				e.t.Fatalf("reply %q", r)
			}
		}},
		{"reaction on the card", "reaction", func(e *env, n int64, ch, card string) {
			e.must(e.fake.AddReaction(e.bob.ID, ch, card, "white_check_mark"))
		}},
		{"reaction on the notice", "reaction", func(e *env, n int64, ch, card string) {
			ref := e.refs(n)["ntc"]
			nch, nts, _ := strings.Cut(ref, "/")
			e.must(e.fake.AddReaction(e.bob.ID, nch, nts, "eyes"))
		}},
		{"reaction on the page", "reaction", func(e *env, n int64, ch, card string) {
			dm := e.dms(e.alice)[0]
			e.must(e.fake.AddReaction(e.alice.ID, dm.Channel, dm.TS, ":white_check_mark:"))
		}},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			e := newEnv(t, defaults())
			n := e.open("payments", "k", "Disk full")
			ch, card := e.announced(n)
			e.waitFor("the page", func() bool { return len(e.dms(e.alice)) == 1 })
			e.waitFor("the card drawn with its owner", func() bool { return strings.Contains(blocksText(e.card(n)), "<@"+e.alice.ID+">") })
			w.ack(e, n, ch, card)
			e.waitFor("the ack", func() bool { return e.incident(n).Status == incident.StatusAcknowledged })
			by := e.incident(n).Owner
			user := map[string]fakeslack.User{"alice": e.alice, "bob": e.bob}[by]
			e.waitFor("the card redrawn", func() bool {
				b := blocksText(e.card(n))
				return strings.Contains(b, "Acknowledged") && strings.Contains(b, "<@"+user.ID+">") && strings.Contains(b, "acknowledged by")
			})
			if got := len(e.calls("chat.postMessage", inChannel(ch))); got != 1 {
				t.Fatalf("%d posts in the incident channel; the card must be updated in place", got)
			}
			if got := len(e.calls("chat.update", inChannel(ch))); got < 1 {
				t.Fatal("the card was never updated")
			}
			if by == "bob" {
				e.waitFor("bob invited", func() bool { c, _ := e.fake.Channel(ch); return c.HasMember(e.bob.ID) })
			}
			// The executor counts the ack after storing it, on the handler's
			// goroutine, which the redraw above does not wait for.
			e.waitFor("the ack counted", func() bool {
				return e.metric("baton_acknowledgements_total", map[string]string{"via": w.via}) >= 1
			})
			for _, via := range []string{"button", "command", "reaction"} {
				want := 0.0
				if via == w.via {
					want = 1
				}
				if got := e.metric("baton_acknowledgements_total", map[string]string{"via": via}); got != want {
					t.Errorf("baton_acknowledgements_total{via=%q} = %v, want %v", via, got, want)
				}
			}
		})
	}
}

// must fails the test on an injection error (AddReaction, SendBlockAction).
func (e *env) must(_ string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// A reaction by someone who is not in people: told why, privately; nothing
// changes. A reaction that is not an ack reaction, or on another message, or
// the bot's own, is ignored.
func TestStrangerAndIgnoredReactions(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)
	ref := e.refs(n)["ntc"]
	nch, nts, _ := strings.Cut(ref, "/")
	e.must(e.fake.AddReaction(e.mallory.ID, nch, nts, "white_check_mark"))
	e.waitFor("the explanation", func() bool { return len(e.fake.Ephemerals(e.mallory.ID)) == 1 })
	if eph := e.fake.Ephemerals(e.mallory.ID)[0]; !strings.Contains(eph.Text, "not in baton's people") || eph.Channel != nch {
		t.Fatalf("ephemeral %+v", eph)
	}
	tada, err := e.fake.AddReaction(e.bob.ID, ch, card, "tada")
	if err != nil {
		t.Fatal(err)
	}
	// The bot's own ack reaction (Slack sends the app its own reactions too).
	api := slack.New(e.fake.BotToken(), slack.OptionAPIURL(e.fake.APIURL()))
	if err := api.AddReaction("white_check_mark", slack.ItemRef{Channel: ch, Timestamp: card}); err != nil {
		t.Fatal(err)
	}
	envs := e.fake.Envelopes()
	own := envs[len(envs)-1]
	if own.ID == tada || !strings.Contains(string(own.Payload), e.fake.BotUserID()) {
		t.Fatalf("the bot's own reaction was not delivered to it: last envelope %s", own.Payload)
	}
	// Both reached the bot and were decided (ignoring one is a check in
	// memory once it is taken up), and nothing they could have queued runs.
	e.handled(tada)
	e.handled(own.ID)
	e.idle()
	if inc := e.incident(n); inc.Status != incident.StatusTriggered {
		t.Fatalf("status %s after a stranger's and a non-ack reaction", inc.Status)
	}
	if len(e.fake.Ephemerals(e.bob.ID)) != 0 {
		t.Fatal("a non-ack reaction got an answer")
	}
	if len(e.fake.Ephemerals(e.fake.BotUserID())) != 0 {
		t.Fatal("the bot's own reaction was taken for a stranger's")
	}
}

// A redelivered envelope (Slack thought the ack was lost) is acted on once:
// a slash command, a button and a reaction.
func TestRedeliveredEnvelopesActedOnce(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)

	id, err := e.fake.SendSlashCommand(e.alice.ID, ch, "/incident", "note first look")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the reply", func() bool { return len(e.fake.ResponsePosts(id)) == 1 })
	if err := e.fake.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the second ack", func() bool { env, _ := e.fake.Envelope(id); return env.Acks == 2 })

	rid, err := e.fake.AddReaction(e.bob.ID, ch, card, "eyes")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the ack by reaction", func() bool { return e.incident(n).Status == incident.StatusAcknowledged })
	if err := e.fake.Redeliver(rid); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the reaction's second ack", func() bool { env, _ := e.fake.Envelope(rid); return env.Acks == 2 })

	bid, err := e.fake.SendBlockAction(e.bob.ID, ch, card, "baton_resolve", "")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the resolve", func() bool { return e.incident(n).Status == incident.StatusResolved })
	if err := e.fake.Redeliver(bid); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the button's second ack", func() bool { env, _ := e.fake.Envelope(bid); return env.Acks == 2 })
	// Each redelivery was handled to its end: recognised and dropped. (Acted
	// on instead, it would never log this, and the wait would fail.)
	for _, env := range []string{id, rid, bid} {
		e.logged(1, "redelivered event ignored", "id="+e.dedupID(env)+" ")
	}
	e.idle()

	_, tl, _ := e.svc.Get(e.ctx, n)
	counts := map[incident.EventType]int{}
	for _, ev := range tl {
		counts[ev.Type]++
	}
	if counts[incident.EventNote] != 1 || counts[incident.EventAcknowledged] != 1 || counts[incident.EventResolved] != 1 {
		t.Fatalf("timeline counts %v; each redelivered envelope must act once", counts)
	}
	if got := len(e.fake.ResponsePosts(id)); got != 1 {
		t.Fatalf("%d replies to one slash command", got)
	}
	if got := len(e.fake.ResponsePosts(bid)); got != 1 {
		t.Fatalf("%d replies to one click", got)
	}
	for _, env := range e.fake.Envelopes() {
		if !env.Acked || env.AckedAt.Sub(env.SentAt) > 3*time.Second {
			t.Fatalf("envelope %s acked %v after it was sent", env.ID, env.AckedAt.Sub(env.SentAt))
		}
	}
}

// A channel name in use: the incident's channel gets a suffix.
func TestChannelNameTaken(t *testing.T) {
	cfg := defaults()
	cfg.before = func(e *env) {
		e.fake.AddChannel(fakeslack.Channel{Name: "inc-1-disk-full"})
		e.fake.AddChannel(fakeslack.Channel{Name: "inc-1-disk-full-2"})
	}
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full!")
	ch, _ := e.announced(n)
	if c, _ := e.fake.Channel(ch); c.Name != "inc-1-disk-full-3" {
		t.Fatalf("channel %q, want inc-1-disk-full-3", c.Name)
	}
	if got := len(e.calls("conversations.create", nil)); got != 1 {
		t.Fatalf("%d channels created", got)
	}
}

// Repeats of the alert: the card keeps the count, and the thread gets at most
// one reply per RepeatEvery (scaled down to 300 ms here from a minute).
func TestRepeatsAtMostOneThreadReplyPerInterval(t *testing.T) {
	cfg := defaults()
	cfg.repeatEvery = 300 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond {
		e.open("payments", "k", "Disk full")
		// Not synchronisation: the storm must last 1.2 s of real time (four
		// RepeatEvery intervals) for the one-reply-per-interval rule to show.
		time.Sleep(5 * time.Millisecond)
	}
	fired := e.incident(n).AlertCount
	e.waitFor("the card to show every alert", func() bool {
		return strings.Contains(blocksText(e.card(n)), fmt.Sprintf("*Alerts*\\n%d,", fired))
	})
	replies := e.fake.Replies(ch, card)
	// The first reply comes RepeatEvery after the card at the earliest, then at most one per RepeatEvery.
	max := int(time.Since(start)/cfg.repeatEvery) + 1
	if len(replies) < 2 || len(replies) > max {
		t.Fatalf("%d thread replies for %d alerts in %v; want between 2 and %d", len(replies), fired, time.Since(start), max)
	}
	for i := 1; i < len(replies); i++ {
		if gap := tsTime(replies[i].TS).Sub(tsTime(replies[i-1].TS)); gap < cfg.repeatEvery-5*time.Millisecond {
			t.Fatalf("thread replies %d and %d came %v apart", i-1, i, gap)
		}
	}
	// Each reply counts the alerts since the one before (the card's, for the
	// first): how many that is depends on how fast the storm ran, the sum does not.
	reported := int64(1) // the card was drawn for the first alert
	for i, r := range replies {
		m := repeatReplyRE.FindStringSubmatch(r.Text)
		if m == nil {
			t.Fatalf("reply %d %q", i, r.Text)
		}
		more, _ := strconv.ParseInt(m[1], 10, 64)
		all, _ := strconv.ParseInt(m[3], 10, 64)
		if more < 1 || all-reported != more || (more == 1) != (m[2] == "time") {
			t.Fatalf("reply %d %q after %d alerts reported", i, r.Text, reported)
		}
		reported = all
	}
	if got := len(e.calls("chat.postMessage", func(c fakeslack.Call) bool { return c.Param("channel") == ch && c.Param("thread_ts") == "" })); got != 1 {
		t.Fatalf("%d top-level posts in the channel; repeats must not post new cards", got)
	}
	updates := len(e.calls("chat.update", inChannel(ch)))
	if updates > max+2 {
		t.Fatalf("%d card updates for %d repeats; the count is redrawn at most once per interval", updates, fired)
	}
}

var repeatReplyRE = regexp.MustCompile(`^Fired (\d+) more (times?) \((\d+) in all\), the last at \d\d:\d\d:\d\d UTC\.$`)

func tsTime(ts string) time.Time {
	var sec, us int64
	fmt.Sscanf(ts, "%d.%d", &sec, &us)
	return time.Unix(sec, us*1000)
}

// After resolve, the channel is archived archive_after later (here 300 ms), not before.
func TestArchiveAfter(t *testing.T) {
	cfg := defaults()
	cfg.archiveAfter = 300 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full")
	ch, _ := e.announced(n)
	if _, err := e.svc.Resolve(e.ctx, n, "alice", "done"); err != nil {
		t.Fatal(err)
	}
	resolved := e.incident(n).Resolved
	e.waitFor("the resolved card", func() bool { return strings.Contains(blocksText(e.card(n)), "Time to resolve") })
	e.waitFor("the archive", func() bool { c, _ := e.fake.Channel(ch); return c.IsArchived })
	arch := e.calls("conversations.archive", nil)
	if len(arch) != 1 || arch[0].At.Before(resolved.Add(cfg.archiveAfter-time.Millisecond)) {
		t.Fatalf("archive calls %+v, resolved at %v", arch, resolved)
	}
	e.waitFor("an empty chat queue", func() bool { d, f, _ := e.svc.ChatJobCounts(e.ctx); return d == 0 && f == 0 })
}

// Someone with no Slack account is never paged into the void: the page is
// permanent-failed at once and the service's alerts channel is paged.
func TestUnreachableOwnerPagesTheFallback(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "k", "Disk full")
	e.announced(n)
	if _, err := e.svc.Assign(e.ctx, n, "dave", "alice"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the fallback page", func() bool {
		for _, m := range e.fake.Messages(e.alerts.ID) {
			if strings.Contains(blocksText(m), "Nobody could be paged for INC-1") {
				return true
			}
		}
		return false
	})
	// The runner posts the fallback page first and writes the dead letter in
	// the commit after it, so the dead letter may come a moment later.
	var dead []incident.DeadLetter
	e.waitFor("dave's dead letter", func() bool {
		var err error
		dead, err = e.svc.ListDead(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		return len(dead) > 0
	})
	if len(dead) != 1 || dead[0].Person != "dave" || dead[0].Attempts != 1 {
		t.Fatalf("dead letters %+v; want dave's page, given up at the first attempt", dead)
	}
}
