package bot_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// With Redis down, every command that needs it answers the one fixed
// sentence; no reply shows Redis's address or a dial error.
func TestCommandsWithRedisDownShowNoDetail(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	rot, err := rotations.Compile(rotations.Spec{Name: "db-primary", Timezone: "UTC", Shift: "daily",
		Handoff: "09:00", Start: "2020-01-06", Participants: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	ovs := overrides.New(rs.Client(), "t:")
	ovs.Known = rotations.NewKnown([]string{"alice", "bob"}, []string{"db-primary"})
	board := &oncall.Board{Rotations: map[string]*rotations.Rotation{"db-primary": rot},
		ServiceRotation: map[string]string{"db": "db-primary"}, Overrides: ovs.Set}
	b, err := bot.New(bot.Options{
		Chat: quietChat{}, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler),
		People: []bot.Person{
			{ID: "alice", Name: "Alice Smith", ChatID: "UALICE"},
			{ID: "bob", Name: "Bob Jones", ChatID: "UBOB"},
		},
		Services: []bot.Service{{Name: "db"}},
		Board:    board, Overrides: ovs,
	})
	if err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	_, port, _ := strings.Cut(rs.Addr, ":")
	tests := []struct{ name, command, text string }{
		{"status", "incident", "status #1"},
		{"list", "incident", "list"},
		{"ack", "incident", "ack #1"},
		{"on call", "oncall", ""},
		{"on call for a service", "oncall", "db"},
		{"override", "oncall", "override <@UBOB> 4h rotation=db-primary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.Executor().Command(ctx, bot.Request{Command: tc.command, Text: tc.text, User: "UALICE", Channel: "C1"})
			if !strings.Contains(r.Text, "The incident store is unavailable") {
				t.Errorf("/%s %s answered %q, want the fixed sentence", tc.command, tc.text, r.Text)
			}
			for _, leak := range []string{"dial", "127.0.0.1", port, "refused"} {
				if strings.Contains(r.Text, leak) {
					t.Errorf("/%s %s answered %q, which shows %q", tc.command, tc.text, r.Text, leak)
				}
			}
		})
	}
}
