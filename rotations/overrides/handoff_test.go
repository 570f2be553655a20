package overrides

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
)

// A handoff's record and hold: begun once however often its job runs, taken
// only by the incoming person, once; taking it cuts the hold at that second,
// or deletes it when taken before the handoff.
func TestHandoffRecordAndHold(t *testing.T) {
	h0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		takeAt    time.Time
		wantHolds int
		wantUntil time.Time
	}{
		{"taken in the grace: the hold is cut", h0.Add(90*time.Second + 500*time.Millisecond), 1, h0.Add(90 * time.Second)},
		{"taken at the handoff second: no hold left", h0.Add(300 * time.Millisecond), 0, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			ctx := redistest.Ctx(t)
			h := Handoff{Rotation: "db", At: h0, Until: h0.Add(24 * time.Hour), Outgoing: "alice", Incoming: "carol"}
			for i, want := range []bool{true, false} {
				created, err := s.BeginHandoff(ctx, h, true, h0)
				if err != nil || created != want {
					t.Fatalf("begin %d: created %v, %v; want %v", i, created, err, want)
				}
			}
			list, err := s.List(ctx, "db")
			if err != nil || len(list) != 1 || list[0].Person != "alice" || list[0].By != rotations.OverrideByHandoff ||
				!list[0].From.Equal(h0) || !list[0].Until.Equal(h.Until) {
				t.Fatalf("holds: %+v, %v", list, err)
			}
			if _, err := s.AcceptHandoff(ctx, "db", h0, "bob", tc.takeAt); !errors.Is(err, ErrNotIncoming) {
				t.Fatalf("bob takes it: %v; want ErrNotIncoming", err)
			}
			if _, err := s.AcceptHandoff(ctx, "db", h0.Add(time.Hour), "carol", tc.takeAt); !errors.Is(err, ErrNoHandoff) {
				t.Fatalf("another handoff: %v; want ErrNoHandoff", err)
			}
			for i, want := range []bool{false, true} {
				already, err := s.AcceptHandoff(ctx, "db", h0, "carol", tc.takeAt)
				if err != nil || already != want {
					t.Fatalf("take %d: already %v, %v; want %v", i, already, err, want)
				}
			}
			list, err = s.List(ctx, "db")
			if err != nil || len(list) != tc.wantHolds {
				t.Fatalf("holds after taking: %+v, %v", list, err)
			}
			if tc.wantHolds == 1 && (!list[0].Until.Equal(tc.wantUntil) || list[0].Person != "alice" || !list[0].From.Equal(h0)) {
				t.Fatalf("hold after taking: %+v; want until %v", list[0], tc.wantUntil)
			}
			got, err := s.GetHandoff(ctx, "db", h0)
			if err != nil || !got.Accepted || got.By != "carol" || got.Told {
				t.Fatalf("record: %+v, %v", got, err)
			}
		})
	}
}
