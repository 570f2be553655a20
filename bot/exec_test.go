package bot_test

import (
	"log/slog"
	"testing"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// quietChat is a chat that only has a name: the commands below never talk
// to it (people are known by their chat ids), and any call would panic.
type quietChat struct{ bot.Chat }

func (quietChat) Name() string { return "test" }

// Chat answers each outcome with the same sentence the HTTP API writes
// (incident.ErrorMessage), people called by their name from config.
func TestCommandOutcomeSentences(t *testing.T) {
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
		if want := "Something went wrong on baton's side; nothing may have changed. Try again in a moment."; r.Text != want {
			t.Fatalf("answered %q, want %q", r.Text, want)
		}
	})
}
