package bot_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

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

// newExecBot is a bot on a real store in a private Redis, with alice and
// bob (chat ids UALICE, UBOB) and the service db, talking to no chat.
func newExecBot(t *testing.T) (*redistest.Server, context.Context, *incident.Store, *bot.Bot) {
	t.Helper()
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	b, err := bot.New(bot.Options{
		Chat: quietChat{}, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler),
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
