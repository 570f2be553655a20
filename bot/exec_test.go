package bot_test

import (
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
		{"escalate with a note", "UBOB", "escalate #4 needs the DBA", "INC-4 is moving up", "", "needs the DBA", ""},
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
