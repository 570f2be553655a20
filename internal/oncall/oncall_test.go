package oncall_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
)

// loads counts the reads of a fake override source: the Board's cache is
// what is tested here, not Redis (rotations/overrides tests the real store).
type loads struct {
	n   map[string]int
	err error
}

func (l *loads) source(_ context.Context, rotation string) (*rotations.OverrideSet, error) {
	l.n[rotation]++
	if l.err != nil {
		return nil, l.err
	}
	return rotations.NewOverrideSet([]rotations.Override{{ID: "1", Rotation: rotation, Person: "carol",
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		Created: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}}), nil
}

func TestResolverCachesOverrides(t *testing.T) {
	r, err := rotations.Compile(rotations.Spec{Name: "primary", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2026-02-01", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	primary := rotations.Target{Kind: rotations.TargetRotation, Name: "primary"}
	tests := []struct {
		name       string
		ttl        time.Duration
		asks       []time.Duration // offsets from t0 of successive Resolver calls
		wantLoads  int
		wantFresh  []bool
		wantPerson string
	}{
		{"no cache reads every time", 0, []time.Duration{0, 0, time.Second}, 3, []bool{false, false, false}, "carol"},
		{"within the ttl reuses", 2 * time.Second, []time.Duration{0, time.Second, 1999 * time.Millisecond}, 1, []bool{false, true, true}, "carol"},
		{"after the ttl reads again", 2 * time.Second, []time.Duration{0, 2 * time.Second, 3 * time.Second}, 2, []bool{false, false, true}, "carol"},
		{"a clock that went back reads again", 2 * time.Second, []time.Duration{time.Second, 0}, 2, []bool{false, false}, "carol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loads{n: map[string]int{}}
			b := &oncall.Board{Rotations: map[string]*rotations.Rotation{"primary": r}, Overrides: l.source, ResolverTTL: tc.ttl}
			for i, off := range tc.asks {
				res, fresh, err := b.Resolver(context.Background(), []string{"primary", "primary"}, t0.Add(off))
				if err != nil {
					t.Fatal(err)
				}
				if fresh != tc.wantFresh[i] {
					t.Errorf("ask %d: fresh = %v, want %v", i, fresh, tc.wantFresh[i])
				}
				if p, ok, why := res(primary, t0.Add(off)); p != tc.wantPerson || !ok {
					t.Errorf("ask %d: on call %q, %v (%s); want %q", i, p, ok, why, tc.wantPerson)
				}
			}
			if l.n["primary"] != tc.wantLoads {
				t.Fatalf("overrides read %d times, want %d", l.n["primary"], tc.wantLoads)
			}
		})
	}
}

func TestResolverWithoutOverridesOrOnError(t *testing.T) {
	r, err := rotations.Compile(rotations.Spec{Name: "primary", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2026-02-01", Participants: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	rots := map[string]*rotations.Rotation{"primary": r}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	res, fresh, err := (&oncall.Board{Rotations: rots}).Resolver(context.Background(), []string{"primary"}, at)
	if err != nil || !fresh {
		t.Fatalf("no override source: fresh %v, err %v; want true, nil", fresh, err)
	}
	if p, ok, _ := res(rotations.Target{Kind: rotations.TargetRotation, Name: "primary"}, at); p != "alice" || !ok {
		t.Fatalf("on call %q, %v; want alice from the schedule", p, ok)
	}

	down := errors.New("redis down")
	l := &loads{n: map[string]int{}, err: down}
	_, _, err = (&oncall.Board{Rotations: rots, Overrides: l.source, ResolverTTL: time.Second}).Resolver(context.Background(), []string{"primary"}, at)
	if !errors.Is(err, down) || !strings.Contains(err.Error(), "primary") {
		t.Fatalf("err = %v; want the source's error naming the rotation", err)
	}
}

// TestForgetDropsTheCachedOverrides: within ResolverTTL the Resolver keeps
// the overrides it read, so a pager taken at a handoff (the outgoing
// person's hold cut) would still page the old holder for up to the TTL;
// Forget(rotation) makes the next Resolver read them afresh, and only that
// rotation's.
func TestForgetDropsTheCachedOverrides(t *testing.T) {
	r, err := rotations.Compile(rotations.Spec{Name: "primary", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2026-02-01", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rotations.Compile(rotations.Spec{Name: "other", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2026-02-01", Participants: []string{"dave"}})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	holder := "carol" // who the stored override puts on call (the hold, then the taker)
	reads := map[string]int{}
	source := func(_ context.Context, rotation string) (*rotations.OverrideSet, error) {
		reads[rotation]++
		return rotations.NewOverrideSet([]rotations.Override{{ID: "1", Rotation: rotation, Person: holder,
			From: t0.Add(-time.Hour), Until: t0.Add(time.Hour), Created: t0.Add(-time.Hour)}}), nil
	}
	b := &oncall.Board{Rotations: map[string]*rotations.Rotation{"primary": r, "other": other}, Overrides: source, ResolverTTL: 2 * time.Second}
	ask := func(off time.Duration) string {
		t.Helper()
		res, _, err := b.Resolver(context.Background(), []string{"primary", "other"}, t0.Add(off))
		if err != nil {
			t.Fatal(err)
		}
		p, _, _ := res(rotations.Target{Kind: rotations.TargetRotation, Name: "primary"}, t0.Add(off))
		return p
	}
	if p := ask(0); p != "carol" {
		t.Fatalf("on call %q", p)
	}
	holder = "dave" // the pager changed hands in Redis
	if p := ask(500 * time.Millisecond); p != "carol" {
		t.Fatalf("within the TTL, without Forget: %q (the cache is what this test is about)", p)
	}
	b.Forget("primary")
	if p := ask(time.Second); p != "dave" {
		t.Fatalf("after Forget: on call %q, want dave", p)
	}
	if reads["primary"] != 2 || reads["other"] != 1 {
		t.Fatalf("reads %v: want primary read again, other still cached", reads)
	}
}
