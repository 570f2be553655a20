package overrides

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
)

func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func newStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	c := redistest.Start(t).Client()
	s := New(c, "baton:")
	s.Known = rotations.NewKnown([]string{"alice", "bob", "carol", "dave"}, []string{"db-primary", "db-secondary"})
	return s, c
}

// snapshot is every key in Redis with its type and contents, to prove that a
// rejected Create wrote nothing.
func snapshot(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	ctx := redistest.Ctx(t)
	out := map[string]string{}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		typ := c.Type(ctx, k).Val()
		switch typ {
		case "hash":
			m := c.HGetAll(ctx, k).Val()
			out[k] = typ + ":" + mapString(m)
		default:
			out[k] = typ + ":" + c.Get(ctx, k).Val()
		}
	}
	return out
}

func mapString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var s string
	for _, k := range keys {
		s += k + "=" + m[k] + ";"
	}
	return s
}

func TestCreateListDelete(t *testing.T) {
	s, c := newStore(t)
	ctx := redistest.Ctx(t)
	now := at(t, "2026-03-01T09:00:00.123456789Z")

	a, err := s.Create(ctx, rotations.Override{ID: "ignored", Rotation: "db-primary", Person: "bob",
		From: at(t, "2026-03-02T10:00:00.9Z"), Until: at(t, "2026-03-02T14:00:00Z"), Created: at(t, "2000-01-01T00:00:00Z"), By: "alice"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := rotations.Override{ID: "1", Rotation: "db-primary", Person: "bob",
		From: at(t, "2026-03-02T10:00:00Z"), Until: at(t, "2026-03-02T14:00:00Z"), Created: at(t, "2026-03-01T09:00:00Z"), By: "alice"}
	if a != want {
		t.Errorf("Create returned %+v, want %+v (ID from the counter, whole seconds, Created = now, By kept)", a, want)
	}
	b, err := s.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "carol",
		From: at(t, "2026-03-01T00:00:00Z"), Until: at(t, "2026-03-03T00:00:00Z")}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Create(ctx, rotations.Override{Rotation: "db-secondary", Person: "dave",
		From: at(t, "2026-03-01T00:00:00Z"), Until: at(t, "2026-03-03T00:00:00Z")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "2" || other.ID != "1" {
		t.Errorf("IDs %q and %q: want 2 (db-primary's second) and 1 (db-secondary's first)", b.ID, other.ID)
	}

	list, err := s.List(ctx, "db-primary")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, []rotations.Override{b, a}) { // ordered by From
		t.Errorf("List = %+v\nwant %+v", list, []rotations.Override{b, a})
	}

	// The keys are where the package doc says, with the rotation as hash tag.
	keys := c.Keys(ctx, "*").Val()
	slices.Sort(keys)
	wantKeys := []string{"baton:rot:{db-primary}:override-seq", "baton:rot:{db-primary}:overrides",
		"baton:rot:{db-secondary}:override-seq", "baton:rot:{db-secondary}:overrides"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys %v, want %v", keys, wantKeys)
	}

	if err := s.Delete(ctx, "db-primary", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "db-primary", a.ID); !errors.Is(err, ErrNotFound) || !errors.Is(err, rotations.ErrOverrideNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "db-secondary", b.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete in the wrong rotation: %v, want ErrNotFound", err)
	}
	list, _ = s.List(ctx, "db-primary")
	if !slices.Equal(list, []rotations.Override{b}) {
		t.Errorf("after Delete, List = %+v", list)
	}

	// IDs are never reused, even after a delete.
	d, err := s.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "alice",
		From: at(t, "2026-03-05T00:00:00Z"), Until: at(t, "2026-03-06T00:00:00Z")}, now)
	if err != nil || d.ID != "3" {
		t.Errorf("Create after Delete: %+v %v, want ID 3", d, err)
	}
	if list, _ := s.List(ctx, "nobody"); len(list) != 0 {
		t.Errorf("List of a rotation without overrides: %+v", list)
	}
}

func TestCreateRejectsAndWritesNothing(t *testing.T) {
	s, c := newStore(t)
	ctx := redistest.Ctx(t)
	now := at(t, "2026-03-01T09:00:00Z")
	if _, err := s.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "alice",
		From: now, Until: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, c)
	from := at(t, "2026-03-02T00:00:00Z")
	tests := []struct {
		name string
		o    rotations.Override
		want []error
	}{
		{"until equals from", rotations.Override{Rotation: "db-primary", Person: "bob", From: from, Until: from}, []error{rotations.ErrEmptyRange}},
		{"until before from", rotations.Override{Rotation: "db-primary", Person: "bob", From: from, Until: from.Add(-time.Hour)}, []error{rotations.ErrEmptyRange}},
		// Sub-second ranges truncate to empty: stored resolution is one second.
		{"under a second", rotations.Override{Rotation: "db-primary", Person: "bob", From: from.Add(100 * time.Millisecond), Until: from.Add(900 * time.Millisecond)}, []error{rotations.ErrEmptyRange}},
		{"91 days", rotations.Override{Rotation: "db-primary", Person: "bob", From: from, Until: from.Add(91 * 24 * time.Hour)}, []error{rotations.ErrOverrideTooLong}},
		{"unknown person", rotations.Override{Rotation: "db-primary", Person: "mallory", From: from, Until: from.Add(time.Hour)}, []error{rotations.ErrUnknownPerson}},
		{"unknown rotation", rotations.Override{Rotation: "db-tertiary", Person: "bob", From: from, Until: from.Add(time.Hour)}, []error{rotations.ErrUnknownRotation}},
		{"everything", rotations.Override{Rotation: "x", Person: "y", From: from, Until: from}, []error{rotations.ErrEmptyRange, rotations.ErrUnknownPerson, rotations.ErrUnknownRotation}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Create(ctx, tc.o, now)
			if err == nil {
				t.Fatalf("Create accepted %+v: %+v", tc.o, got)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not wrap %q", err, w)
				}
			}
			if after := snapshot(t, c); !mapsEqual(before, after) {
				t.Errorf("a rejected Create changed Redis:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

	// A store without Known rejects everything rather than store unchecked data.
	bare := New(c, "baton:")
	if _, err := bare.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "bob", From: from, Until: from.Add(time.Hour)}, now); !errors.Is(err, rotations.ErrUnknownPerson) {
		t.Errorf("Create without Known: %v", err)
	}
	if after := snapshot(t, c); !mapsEqual(before, after) {
		t.Errorf("Create without Known changed Redis")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSetNewestWins: overlapping overrides stored through the store; the
// one created last holds the overlap, the older one the rest of its range.
func TestSetNewestWins(t *testing.T) {
	s, _ := newStore(t)
	ctx := redistest.Ctx(t)
	r, err := rotations.Compile(rotations.Spec{Name: "db-primary", Timezone: "Europe/Paris", Shift: "weekly",
		Handoff: "Mon 09:00", Start: "2026-01-05", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	now := at(t, "2026-03-01T09:00:00Z")
	mk := func(person, from, until string, created time.Time) rotations.Override {
		o, err := s.Create(ctx, rotations.Override{Rotation: "db-primary", Person: person, From: at(t, from), Until: at(t, until)}, created)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	mk("carol", "2026-03-03T00:00:00Z", "2026-03-06T00:00:00Z", now)
	mk("dave", "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z", now.Add(time.Hour))
	// Same creation second as dave's: the later ID wins the tie.
	mk("alice", "2026-03-04T12:00:00Z", "2026-03-04T13:00:00Z", now.Add(time.Hour))
	// Created before carol's (a replica with a slow clock): carol keeps her range.
	mk("bob", "2026-03-05T00:00:00Z", "2026-03-07T00:00:00Z", now.Add(-time.Hour))

	set, err := s.Set(ctx, "db-primary")
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 {
		t.Errorf("Len %d, want 4", set.Len())
	}
	tests := []struct{ at, person, from, until string }{
		{"2026-03-02T12:00:00Z", "alice", "2026-03-02T08:00:00Z", "2026-03-03T00:00:00Z"}, // base: alice's week (8 weeks after 01-05) from Mon 09:00 CET
		{"2026-03-03T00:00:00Z", "carol", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"},
		{"2026-03-04T06:00:00Z", "dave", "2026-03-04T00:00:00Z", "2026-03-04T12:00:00Z"},
		{"2026-03-04T12:30:00Z", "alice", "2026-03-04T12:00:00Z", "2026-03-04T13:00:00Z"},
		{"2026-03-04T13:00:00Z", "dave", "2026-03-04T13:00:00Z", "2026-03-05T00:00:00Z"},
		{"2026-03-05T12:00:00Z", "carol", "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"},
		{"2026-03-06T12:00:00Z", "bob", "2026-03-06T00:00:00Z", "2026-03-07T00:00:00Z"},
		{"2026-03-07T12:00:00Z", "alice", "2026-03-07T00:00:00Z", "2026-03-09T08:00:00Z"},
	}
	for _, tc := range tests {
		person, from, until, err := rotations.OnCall(r, set, at(t, tc.at))
		if err != nil || person != tc.person || !from.Equal(at(t, tc.from)) || !until.Equal(at(t, tc.until)) {
			t.Errorf("OnCall(%s) = %s [%s, %s) %v, want %s [%s, %s)", tc.at, person,
				from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), err, tc.person, tc.from, tc.until)
		}
	}
}

// TestKeysUsePrefix: two stores with different prefixes on one Redis do not
// see each other's overrides.
func TestKeysUsePrefix(t *testing.T) {
	c := redistest.Start(t).Client()
	ctx := redistest.Ctx(t)
	known := rotations.NewKnown([]string{"alice"}, []string{"db-primary"})
	a, b := New(c, "a:"), New(c, "b:")
	a.Known, b.Known = known, known
	from := at(t, "2026-03-02T00:00:00Z")
	if _, err := a.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "alice", From: from, Until: from.Add(time.Hour)}, from); err != nil {
		t.Fatal(err)
	}
	if list, err := b.List(ctx, "db-primary"); err != nil || len(list) != 0 {
		t.Errorf("store b sees %+v %v", list, err)
	}
	if list, err := a.List(ctx, "db-primary"); err != nil || len(list) != 1 {
		t.Errorf("store a sees %+v %v", list, err)
	}
}

// TestListCorrupt: a value that is not an override is reported, not skipped.
func TestListCorrupt(t *testing.T) {
	s, c := newStore(t)
	ctx := redistest.Ctx(t)
	c.HSet(ctx, "baton:rot:{db-primary}:overrides", "9", "not json")
	if _, err := s.List(ctx, "db-primary"); err == nil {
		t.Error("List accepted a corrupt override")
	}
	if _, err := s.Set(ctx, "db-primary"); err == nil {
		t.Error("Set accepted a corrupt override")
	}
}

// TestRedisDown: errors from Redis come back wrapped, not as a panic or an
// empty answer.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	// No retries, so the test takes milliseconds rather than seconds of backoff.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	s := New(c, "baton:")
	s.Known = rotations.NewKnown([]string{"alice"}, []string{"db-primary"})
	ctx := redistest.Ctx(t)
	srv.Stop()
	from := at(t, "2026-03-02T00:00:00Z")
	if _, err := s.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "alice", From: from, Until: from.Add(time.Hour)}, from); err == nil {
		t.Error("Create succeeded with Redis down")
	}
	if _, err := s.List(ctx, "db-primary"); err == nil {
		t.Error("List succeeded with Redis down")
	}
	if err := s.Delete(ctx, "db-primary", "1"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Delete with Redis down: %v", err)
	}
}
