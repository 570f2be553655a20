package bot_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// quietChat is a chat that only has a name: the commands below never talk
// to it (people are known by their chat ids), and any call would panic.
type quietChat struct{ bot.Chat }

func (quietChat) Name() string { return "test" }

// UserEmail: the test chat knows nobody's email (a stranger stays one).
func (quietChat) UserEmail(context.Context, string) (string, error) { return "", bot.ErrNoUser }

// typedChat is quietChat whose commands take typed options (Discord's
// kind): the incident has an option of its own.
type typedChat struct{ quietChat }

func (typedChat) CommandUsage(v bot.Verb, named bool) string {
	if named {
		return "/incident " + string(v) + " incident:42 [note:<note>]"
	}
	return "/incident " + string(v) + " [incident:42] [note:<note>]"
}

// newExecBot is a bot on a real store in a private Redis, with alice and
// bob (chat ids UALICE, UBOB) and the service db, talking to no chat.
func newExecBot(t *testing.T) (*redistest.Server, context.Context, *incident.Store, *bot.Bot) {
	t.Helper()
	return newExecBotOn(t, quietChat{})
}

// newExecBotOn is newExecBot on chat (quietChat or typedChat).
func newExecBotOn(t *testing.T, chat bot.Chat) (*redistest.Server, context.Context, *incident.Store, *bot.Bot) {
	t.Helper()
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	b, err := bot.New(bot.Options{
		Chat: chat, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler),
		People: []bot.Person{
			{ID: "alice", Name: "Alice Smith", ChatID: "UALICE"},
			{ID: "bob", Name: "Bob Jones", ChatID: "UBOB"},
		},
		Services: []bot.Service{{Name: "db"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs, ctx, store, b
}

// Chat answers each outcome with the same sentence the HTTP API writes
// (incident.ErrorMessage), people called by their name from config.
func TestCommandOutcomeSentences(t *testing.T) {
	rs, ctx, store, b := newExecBot(t)
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	const notFound = "There is no INC-99. /incident list shows the open incidents."
	tests := []struct {
		name, user, text, want string
	}{
		{"status of nothing", "UALICE", "status #99", notFound},
		{"ack nothing", "UALICE", "ack #99", notFound},
		{"note on nothing", "UALICE", "note #99 looking", notFound},
		{"ack", "UALICE", "ack #1", "You acknowledged INC-1 and own it now; its pages have stopped."},
		{"ack twice", "UBOB", "ack #1", "INC-1 is already acknowledged by Alice Smith."},
		{"assign to the owner", "UBOB", "assign #1 @alice", "INC-1 is already assigned to Alice Smith."},
		{"resolve", "UALICE", "resolve #1", "You resolved INC-1."},
		{"resolve twice", "UBOB", "resolve #1", "INC-1 is already resolved."},
		{"ack a resolved incident", "UBOB", "ack #1", "INC-1 is already resolved."},
		{"escalate a resolved incident", "UBOB", "escalate #1", "INC-1 is already resolved."},
		{"assign a resolved incident", "UBOB", "assign #1 @bob", "INC-1 is already resolved."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.Executor().Command(ctx, bot.Request{Command: "incident", Text: tc.text, User: tc.user, Channel: "C1"})
			if r.Text != tc.want {
				t.Fatalf("%q answered %q, want %q", tc.text, r.Text, tc.want)
			}
		})
	}

	t.Run("redis down", func(t *testing.T) {
		rs.Stop()
		r := b.Executor().Command(ctx, bot.Request{Command: "incident", Text: "status #1", User: "UALICE", Channel: "C1"})
		if want := "The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."; r.Text != want {
			t.Fatalf("answered %q, want %q", r.Text, want)
		}
	})
}

// A note typed after ack, resolve or escalate is kept on that transition's
// timeline event, and the card shows it. An escalation's note waits, stored
// with the escalation, for the page job's escalated event.
func TestCommandNotes(t *testing.T) {
	_, ctx, store, b := newExecBot(t)
	names := func(id string) bot.PersonRef {
		return map[string]bot.PersonRef{"alice": {ID: "alice", Name: "Alice Smith"}, "bob": {ID: "bob", Name: "Bob Jones"}}[id]
	}
	tests := []struct {
		name, user, text, reply string
		event                   incident.EventType // the event holding the note; "" for an escalation (pending)
		note, cardLine          string
	}{
		{"ack with a note", "UALICE", "ack #1 on it, db-1 first", "You acknowledged INC-1", incident.EventAcknowledged,
			"on it, db-1 first", "acknowledged by Alice Smith: on it, db-1 first"},
		{"ack without a note", "UALICE", "ack #2", "You acknowledged INC-2", incident.EventAcknowledged, "", "acknowledged by Alice Smith"},
		{"resolve with a note", "UBOB", "resolve #3 rolled back", "You resolved INC-3", incident.EventResolved, "rolled back", "resolved by Bob Jones: rolled back"},
		{"escalate with a note", "UBOB", "escalate #4 needs the DBA", "You escalated INC-4: it is moving up", "", "needs the DBA", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: fmt.Sprint("k", i), Summary: "disk full",
				Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
				t.Fatal(err)
			}
			n := int64(i + 1)
			r := b.Executor().Command(ctx, bot.Request{Command: "incident", Text: tc.text, User: tc.user, Channel: "C1"})
			if !strings.Contains(r.Text, tc.reply) {
				t.Fatalf("%q answered %q, want %q", tc.text, r.Text, tc.reply)
			}
			if tc.event == "" {
				if _, st, err := store.LoadEscalation(ctx, n); err != nil || st.PendingNote != tc.note {
					t.Fatalf("pending escalation note %q (%v), want %q", st.PendingNote, err, tc.note)
				}
				return
			}
			inc, tl, err := store.Get(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			last := tl[len(tl)-1]
			if last.Type != tc.event || last.Note != tc.note {
				t.Fatalf("last event %+v, want %s with note %q", last, tc.event, tc.note)
			}
			card := bot.BuildCard(inc, tl, names)
			if got := card.Timeline[len(card.Timeline)-1].Text; got != tc.cardLine {
				t.Fatalf("card line %q, want %q", got, tc.cardLine)
			}
		})
	}

	t.Run("the card shows an escalation's note", func(t *testing.T) {
		tl := []incident.Event{
			{Type: incident.EventEscalated, Person: "bob", By: "alice", Level: 2,
				Note: incident.EscalationNote("escalated by alice; was alice", "needs the DBA")},
			{Type: incident.EventEscalated, Person: "alice", By: "baton", Level: 1, Note: "not acknowledged within 15m0s at level 2"},
		}
		card := bot.BuildCard(incident.Incident{Number: 9}, tl, names)
		want := []string{"escalated to Bob Jones (level 2) by Alice Smith: needs the DBA", "escalated to Alice Smith (level 1)"}
		for i, w := range want {
			if card.Timeline[i].Text != w {
				t.Errorf("line %d %q, want %q", i, card.Timeline[i].Text, w)
			}
		}
	})
}

// /incident list names the 20 newest open incidents, newest first (it
// named the 20 oldest: in a storm the incident that just paged someone
// was not among them), and says how many more are open and where to see
// them all. The same answer in either chat: the executor is chat-neutral.
func TestIncidentList(t *testing.T) {
	cases := []struct {
		name     string
		open     int     // incidents opened, INC-1 to INC-open
		resolve  []int64 // then resolved
		ack      []int64 // then acknowledged by alice
		assign   []int64 // then assigned to alice (triggered, alice owns it)
		text     string  // the command's text; "" is "list"
		user     string  // who types it; "" is alice
		want     []string
		order    []string // these refs appear in this order
		wantNot  []string
		maxLines int
	}{
		{name: "none open", want: []string{"No open incidents."}, maxLines: 1},
		{name: "all resolved", open: 2, resolve: []int64{1, 2}, want: []string{"No open incidents."}, maxLines: 1},
		{name: "a few: every one, newest first, no more line", open: 3, ack: []int64{2},
			want:  []string{"Open incidents:", "INC-2 [critical] disk full 2 — db, acknowledged, owner Alice Smith", "INC-3 [critical] disk full 3 — db, triggered, owner nobody yet"},
			order: []string{"INC-3 ", "INC-2 ", "INC-1 "}, wantNot: []string{"more"}, maxLines: 4},
		{name: "exactly 20: no more line", open: 20, want: []string{"Open incidents:", "INC-20 ", "INC-1 "},
			order: []string{"INC-20 ", "INC-19 ", "INC-2 ", "INC-1 "}, wantNot: []string{"more"}, maxLines: 21},
		{name: "25 open: the 20 newest, and 5 more", open: 25,
			want:    []string{"Open incidents, the 20 newest of 25:", "… and 5 more — see them all with `baton incidents --all` or GET /v1/incidents."},
			order:   []string{"INC-25 ", "INC-24 ", "INC-10 ", "INC-6 ", "… and 5 more"},
			wantNot: []string{"INC-5 ", "INC-1 "}, maxLines: 22},
		{name: "resolved ones neither listed nor counted", open: 23, resolve: []int64{23, 22, 1},
			want:    []string{"Open incidents:", "INC-21 ", "INC-2 "},
			order:   []string{"INC-21 ", "INC-20 ", "INC-2 "},
			wantNot: []string{"INC-23 ", "INC-22 ", "INC-1 ", "more"}, maxLines: 21},
		// list mine, list triggered: the bundle's pointer names them; they
		// answered "list takes nothing after it".
		{name: "mine: the ones the caller owns", open: 5, ack: []int64{2, 4}, assign: []int64{5}, text: "list mine",
			want:  []string{"Your open incidents:", "INC-5 ", "INC-4 ", "INC-2 "},
			order: []string{"INC-5 ", "INC-4 ", "INC-2 "}, wantNot: []string{"INC-3 ", "INC-1 "}, maxLines: 4},
		{name: "triggered: the unacknowledged ones", open: 5, ack: []int64{2, 4}, text: "list TRIGGERED",
			want:  []string{"Open incidents not yet acknowledged:", "INC-5 ", "INC-3 ", "INC-1 "},
			order: []string{"INC-5 ", "INC-3 ", "INC-1 "}, wantNot: []string{"INC-4 ", "INC-2 "}, maxLines: 4},
		{name: "mine triggered combined", open: 5, ack: []int64{2, 4}, assign: []int64{3}, text: "list triggered mine",
			want: []string{"Your open incidents not yet acknowledged:", "INC-3 "}, wantNot: []string{"INC-4 ", "INC-2 ", "INC-5 ", "INC-1 "}, maxLines: 2},
		{name: "mine past the 20 newest: counted", open: 25, ack: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}, text: "list mine",
			want: []string{"Your open incidents, the 20 newest of 22:", "INC-22 ", "INC-3 ", "… and 2 more of yours, older."}, wantNot: []string{"INC-23 ", "INC-2 "}, maxLines: 22},
		{name: "mine: none", open: 2, text: "list mine", want: []string{"You own no open incident."}, maxLines: 1},
		{name: "mine: a stranger is told why", open: 2, ack: []int64{1}, text: "list mine", user: "USTRANGER",
			want: []string{"You are not in baton's people", "/incident list shows the 20 newest open incidents"}, wantNot: []string{"INC-"}, maxLines: 1},
		{name: "an unknown word names the accepted ones", open: 2, text: "list --all",
			want: []string{`list takes mine (the incidents you own) and triggered (those not yet acknowledged), not "--all"`, "/incident list [mine] [triggered]"}, wantNot: []string{"INC-"}, maxLines: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx, store, b := newExecBot(t)
			for i := 1; i <= tc.open; i++ {
				if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: fmt.Sprint("k", i),
					Summary: fmt.Sprint("disk full ", i), Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tc.resolve {
				if _, err := store.Resolve(ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tc.ack {
				if _, err := store.Ack(ctx, n, "alice", ""); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tc.assign {
				if _, err := store.Assign(ctx, n, "alice", "bob"); err != nil {
					t.Fatal(err)
				}
			}
			text, user := cmp.Or(tc.text, "list"), cmp.Or(tc.user, "UALICE")
			r := b.Executor().Command(ctx, bot.Request{Command: "incident", Text: text, User: user, Channel: "C1"})
			for _, w := range tc.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("the list does not say %q:\n%s", w, r.Text)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(r.Text, w) {
					t.Errorf("the list says %q:\n%s", w, r.Text)
				}
			}
			at := -1
			for _, w := range tc.order {
				i := strings.Index(r.Text, w)
				if i <= at {
					t.Errorf("%q is not after the one before it (want the order %q):\n%s", w, tc.order, r.Text)
				}
				at = i
			}
			if n := strings.Count(r.Text, "\n") + 1; n > tc.maxLines {
				t.Errorf("%d lines, want at most %d:\n%s", n, tc.maxLines, r.Text)
			}
		})
	}
}

// A bare number right after ack, resolve or escalate, followed by more
// words, or right after note: in an incident's channel it begins the
// remark (the note) on that incident
// ("/incident ack 2 min away" in INC-1's channel acknowledges INC-1);
// anywhere else (the alerts channel, a DM) no incident is implied, so it
// names the incident and the rest is the note ("/incident ack 2 on it"
// acknowledges INC-2; "/incident note 2 db restarted" notes "db restarted"
// on INC-2, and "/incident note 2" alone is refused: nothing to note). #2
// and INC-2 name the incident everywhere. A number that names no incident
// changes nothing and says why. In a chat of typed
// options the number was typed in the note, and stays there; so does a
// note given apart from the text (Request.Given.Note), "2", "#2" or "INC-2".
func TestBareNumberInAndOutsideChannels(t *testing.T) {
	const (
		incChannel = "CINC1"   // INC-1's channel
		alerts     = "CALERTS" // no incident's
		dm         = "DALICE"  // a DM with baton
	)
	tests := []struct {
		name, channel, text string
		typed               bool   // a chat of typed options (typedChat)
		apart               string // the note given apart from the text (Request.Given.Note)
		reply               string // the whole reply
		changed             int64  // the incident changed (0: none)
		status              incident.Status
		note                string // the note on its event (or the pending escalation's)
	}{
		{name: "in the channel: ack with a remark starting with a number", channel: incChannel, text: "ack 2 min away",
			reply: "You acknowledged INC-1 and own it now; its pages have stopped.", changed: 1, status: incident.StatusAcknowledged, note: "2 min away"},
		{name: "in the channel: resolve with a remark starting with a number", channel: incChannel, text: "resolve 2 hosts rebooted",
			reply: "You resolved INC-1.", changed: 1, status: incident.StatusResolved, note: "2 hosts rebooted"},
		{name: "in the channel: escalate with a remark starting with a number", channel: incChannel, text: "escalate 2 more hands",
			reply: "You escalated INC-1: it is moving up to the next escalation level; its new owner is being paged.", changed: 1, status: incident.StatusTriggered, note: "2 more hands"},
		{name: "in the channel: #2 names the incident", channel: incChannel, text: "ack #2 on it",
			reply: "You acknowledged INC-2 and own it now; its pages have stopped.", changed: 2, status: incident.StatusAcknowledged, note: "on it"},
		{name: "outside: ack a bare number with a note", channel: alerts, text: "ack 2 on it",
			reply: "You acknowledged INC-2 and own it now; its pages have stopped.", changed: 2, status: incident.StatusAcknowledged, note: "on it"},
		{name: "outside: resolve a bare number with a note", channel: alerts, text: "resolve 2  rolled back",
			reply: "You resolved INC-2.", changed: 2, status: incident.StatusResolved, note: "rolled back"},
		{name: "outside: escalate a bare number with a note", channel: alerts, text: "escalate 2 needs the DBA",
			reply: "You escalated INC-2: it is moving up to the next escalation level; its new owner is being paged.", changed: 2, status: incident.StatusTriggered, note: "needs the DBA"},
		{name: "in a DM: acknowledge a bare number with a note", channel: dm, text: "acknowledge 2 on it",
			reply: "You acknowledged INC-2 and own it now; its pages have stopped.", changed: 2, status: incident.StatusAcknowledged, note: "on it"},
		{name: "outside: INC-2 names the incident", channel: alerts, text: "resolve INC-2 2 hosts rebooted",
			reply: "You resolved INC-2.", changed: 2, status: incident.StatusResolved, note: "2 hosts rebooted"},
		{name: "outside: a bare number alone", channel: alerts, text: "ack 2",
			reply: "You acknowledged INC-2 and own it now; its pages have stopped.", changed: 2, status: incident.StatusAcknowledged},
		{name: "outside: ack a number that is no incident", channel: alerts, text: "ack 19 on it",
			reply: "There is no INC-19, and nothing was changed: outside an incident's channel, a number right after ack names the incident. /incident list shows the open incidents."},
		{name: "outside: resolve a number that is no incident", channel: dm, text: "resolve 19 rolled back",
			reply: "There is no INC-19, and nothing was changed: outside an incident's channel, a number right after resolve names the incident. /incident list shows the open incidents."},
		{name: "outside: escalate a number that is no incident", channel: alerts, text: "escalate 19 needs the DBA",
			reply: "There is no INC-19, and nothing was changed: outside an incident's channel, a number right after escalate names the incident. /incident list shows the open incidents."},
		{name: "outside: #19 that is no incident", channel: alerts, text: "ack #19 on it",
			reply: "There is no INC-19. /incident list shows the open incidents."},
		// note too: outside an incident's channel a bare number first
		// names the incident and the rest is the note; in an incident's
		// channel it begins the note on that incident.
		{name: "in the channel: a note starting with a number", channel: incChannel, text: "note 5 servers restarted",
			reply: "Noted on INC-1's timeline.", changed: 1, status: incident.StatusTriggered, note: "5 servers restarted"},
		{name: "in the channel: a note that is a number", channel: incChannel, text: "note 2",
			reply: "Noted on INC-1's timeline.", changed: 1, status: incident.StatusTriggered, note: "2"},
		{name: "outside: note a bare number with text", channel: alerts, text: "note 2 db restarted",
			reply: "Noted on INC-2's timeline.", changed: 2, status: incident.StatusTriggered, note: "db restarted"},
		{name: "in a DM: note a bare number with text", channel: dm, text: "note 2  5 servers restarted",
			reply: "Noted on INC-2's timeline.", changed: 2, status: incident.StatusTriggered, note: "5 servers restarted"},
		{name: "outside: note a number that is no incident", channel: alerts, text: "note 19 db restarted",
			reply: "There is no INC-19, and nothing was changed: outside an incident's channel, a number right after note names the incident. /incident list shows the open incidents."},
		{name: "outside: note a bare number and no text", channel: alerts, text: "note 2",
			reply: "Say what to note on INC-2: outside an incident's channel, a number right after note names the incident, and the note follows it (/incident note 2 <text>). Nothing was changed."},
		{name: "in a DM: note a number that is no incident and no text", channel: dm, text: "note 19",
			reply: "Say what to note on INC-19: outside an incident's channel, a number right after note names the incident, and the note follows it (/incident note 19 <text>). Nothing was changed."},
		{name: "outside: note #2 names the incident", channel: alerts, text: "note #2 5 servers restarted",
			reply: "Noted on INC-2's timeline.", changed: 2, status: incident.StatusTriggered, note: "5 servers restarted"},
		{name: "outside, typed options: a note's number stays the note's", channel: alerts, text: "note 2 db restarted", typed: true,
			reply: "Say which incident: /incident note incident:42 [note:<note>] (or type the command in the incident's channel)."},
		{name: "outside, typed options: the number is the note's", channel: alerts, text: "ack 2 on it", typed: true,
			reply: "Say which incident: /incident ack incident:42 [note:<note>] (or type the command in the incident's channel)."},
		{name: "in the channel, typed options: the number is the note's", channel: incChannel, text: "ack 2 on it", typed: true,
			reply: "You acknowledged INC-1 and own it now; its pages have stopped.", changed: 1, status: incident.StatusAcknowledged, note: "2 on it"},
		// A note given apart (Request.Given.Note, Discord's note option) is the
		// note whatever it reads like: only the text names an incident.
		{name: "outside, typed options: a note apart that is a number", channel: alerts, text: "ack", apart: "2", typed: true,
			reply: "Say which incident: /incident ack incident:42 [note:<note>] (or type the command in the incident's channel)."},
		{name: "outside, typed options: a note apart that is #2", channel: alerts, text: "resolve", apart: "#2", typed: true,
			reply: "Say which incident: /incident resolve incident:42 [note:<note>] (or type the command in the incident's channel)."},
		{name: "outside, typed options: a note apart that is INC-2", channel: dm, text: "escalate", apart: "INC-2", typed: true,
			reply: "Say which incident: /incident escalate incident:42 [note:<note>] (or type the command in the incident's channel)."},
		{name: "in the channel, typed options: a note apart that is a number", channel: incChannel, text: "ack", apart: "2", typed: true,
			reply: "You acknowledged INC-1 and own it now; its pages have stopped.", changed: 1, status: incident.StatusAcknowledged, note: "2"},
		{name: "in the channel, typed options: a note apart that is #2", channel: incChannel, text: "resolve", apart: "#2", typed: true,
			reply: "You resolved INC-1.", changed: 1, status: incident.StatusResolved, note: "#2"},
		{name: "in the channel, typed options: a note apart that is INC-2", channel: incChannel, text: "escalate", apart: "INC-2", typed: true,
			reply: "You escalated INC-1: it is moving up to the next escalation level; its new owner is being paged.", changed: 1, status: incident.StatusTriggered, note: "INC-2"},
		{name: "in the channel, typed options: the incident named, a note apart naming another", channel: incChannel, text: "ack #2", apart: "#1", typed: true,
			reply: "You acknowledged INC-2 and own it now; its pages have stopped.", changed: 2, status: incident.StatusAcknowledged, note: "#1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var chat bot.Chat = quietChat{}
			if tc.typed {
				chat = typedChat{}
			}
			_, ctx, store, b := newExecBotOn(t, chat)
			for i := 1; i <= 2; i++ {
				if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: fmt.Sprint("k", i), Summary: "disk full",
					Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.LinkChat(ctx, "test:"+incChannel, 1, time.Hour); err != nil {
				t.Fatal(err)
			}
			before := map[int64]int{}
			for n := int64(1); n <= 2; n++ {
				_, tl, err := store.Get(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				before[n] = len(tl)
			}

			r := b.Executor().Command(ctx, bot.Request{Command: "incident", Text: tc.text, Given: bot.Given{Note: tc.apart}, User: "UALICE", Channel: tc.channel})
			if r.Text != tc.reply {
				t.Fatalf("%q in %s answered %q, want %q", tc.text, tc.channel, r.Text, tc.reply)
			}
			for n := int64(1); n <= 2; n++ {
				inc, tl, err := store.Get(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				_, st, err := store.LoadEscalation(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.changed {
					if inc.Status != incident.StatusTriggered || len(tl) != before[n] || st.PendingNote != "" {
						t.Fatalf("INC-%d changed: %s, %d events (was %d), pending note %q", n, inc.Status, len(tl), before[n], st.PendingNote)
					}
					continue
				}
				if inc.Status != tc.status {
					t.Fatalf("INC-%d is %s, want %s", n, inc.Status, tc.status)
				}
				if tc.status == incident.StatusTriggered && strings.HasPrefix(tc.text, "escalate") { // the note waits for the page job
					if st.PendingNote != tc.note {
						t.Fatalf("INC-%d's pending escalation note %q, want %q", n, st.PendingNote, tc.note)
					}
					continue
				}
				if last := tl[len(tl)-1]; last.Note != tc.note || last.By != "alice" {
					t.Fatalf("INC-%d's last event %+v, want alice's with the note %q", n, last, tc.note)
				}
			}
			if _, _, err := store.Get(ctx, 19); !errors.Is(err, incident.ErrNotFound) {
				t.Fatalf("INC-19: %v, want not found", err)
			}
		})
	}
}

// A chat of typed options gives new's title and service, and maintenance's
// service, duration and reason, apart from the text (Request.Given's Title,
// Service, Duration, Reason): each is exactly what its option is. Nothing
// in a title or a reason is read as an option, a flag or a duration, and
// a refusal changes nothing.
func TestTypedOptionsGivenApart(t *testing.T) {
	tests := []struct {
		name  string
		req   bot.Request
		reply string // what the reply contains
		// title and sev: the incident opened (INC-1); "" when none is.
		title string
		sev   incident.Severity
		// reason, d and long: the window started; d 0 when none is.
		reason string
		d      time.Duration
		long   bool
	}{
		{name: "new: sev= in the title", req: bot.Request{Text: "new", Given: bot.Given{Title: "db sev=info down", Service: "db"}},
			reply: "Opened INC-1 (critical, db)", title: "db sev=info down", sev: incident.SevCritical},
		{name: "new: service= in the title, no service given", req: bot.Request{Text: "new", Given: bot.Given{Title: "checkout service=nope broken"}},
			reply: "Opened INC-1 (critical, db)", title: "checkout service=nope broken", sev: incident.SevCritical},
		{name: "new: service= in the title beside the service", req: bot.Request{Text: "new", Given: bot.Given{Title: "service=other down", Service: "DB"}},
			reply: "Opened INC-1 (critical, db)", title: "service=other down", sev: incident.SevCritical},
		{name: "new: an unknown service", req: bot.Request{Text: "new", Given: bot.Given{Title: "x", Service: "nope"}},
			reply: `There is no service "nope". Services: db.`},
		{name: "maintenance: --long in the reason", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Duration: "2h", Reason: "--long drill"}},
			reply: "db is in maintenance until", reason: "--long drill", d: 2 * time.Hour},
		{name: "maintenance: service= in the reason", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Duration: "90m", Reason: "service=x failover"}},
			reply: "db is in maintenance until", reason: "service=x failover", d: 90 * time.Minute},
		{name: "maintenance: a duration as the reason", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Duration: "1h", Reason: "2h"}},
			reply: "db is in maintenance until", reason: "2h", d: time.Hour},
		{name: "maintenance: the long flag", req: bot.Request{Text: "maintenance --long", Given: bot.Given{Service: "db", Duration: "2d", Reason: "migration"}},
			reply: "db is in maintenance until", reason: "migration", d: 48 * time.Hour, long: true},
		{name: "maintenance: no duration, the reason a duration", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Reason: "2h"}},
			reply: "Say for how long, such as 2h."},
		{name: "maintenance: no duration, --long in the reason", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Reason: "--long 3d"}},
			reply: "Say for how long, such as 2h."},
		{name: "maintenance: a day and more, --long only in the reason", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Duration: "3d", Reason: "--long"}},
			reply: "must be asked for as long"},
		{name: "maintenance: end mw-1 as the reason ends nothing", req: bot.Request{Text: "maintenance", Given: bot.Given{Service: "db", Duration: "1h", Reason: "end mw-1"}},
			reply: "db is in maintenance until", reason: "end mw-1", d: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx, store, b := newExecBotOn(t, typedChat{})
			tc.req.Command, tc.req.User, tc.req.Channel = "incident", "UALICE", "CALERTS"
			r := b.Executor().Command(ctx, tc.req)
			if !strings.Contains(r.Text, tc.reply) {
				t.Fatalf("%+v answered %q, want it to contain %q", tc.req, r.Text, tc.reply)
			}
			inc, _, err := store.Get(ctx, 1)
			switch {
			case tc.title == "" && !errors.Is(err, incident.ErrNotFound):
				t.Fatalf("INC-1: %+v, %v; want none opened", inc, err)
			case tc.title != "" && err != nil:
				t.Fatal(err)
			case tc.title != "" && (inc.Title != tc.title || inc.Severity != tc.sev || inc.Service != "db"):
				t.Fatalf("INC-1 is %q, %s, %s; want %q, %s, db", inc.Title, inc.Severity, inc.Service, tc.title, tc.sev)
			}
			windows, err := store.Maintenances(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if tc.d == 0 {
				if len(windows) != 0 {
					t.Fatalf("windows %+v, want none", windows)
				}
				return
			}
			if len(windows) != 1 {
				t.Fatalf("windows %+v, want one", windows)
			}
			if w := windows[0]; w.Service != "db" || w.Reason != tc.reason || w.Until.Sub(w.From) != tc.d || w.Long != tc.long || w.By != "alice" {
				t.Fatalf("window %+v, want db for %s, long %v, reason %q, by alice", w, tc.d, tc.long, tc.reason)
			}
		})
	}
}
