// Package overrides keeps rotation overrides in Redis. It is the only
// rotations code that knows go-redis; the rules (validation, precedence)
// live in package rotations and are applied here before anything is
// written.
//
// Key schema, per rotation NAME, prefix P (the hash tag keeps both keys of
// a rotation in one Redis Cluster slot, so Create's script may touch both):
//
//	P rot:{NAME}:overrides     hash: override ID → JSON {person, from, until, created, by}
//	P rot:{NAME}:override-seq  counter: the last ID handed out
//
// The prefix must not contain '{' or '}', or Redis Cluster would hash on it
// instead of the rotation name.
package overrides

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/rotations"
)

// ErrNotFound is returned by Delete when the rotation has no override with
// that ID. It is rotations.ErrOverrideNotFound, so callers that only import
// rotations can check it too.
var ErrNotFound = rotations.ErrOverrideNotFound

// Store reads and writes overrides. It holds no state beyond the client, so
// any number of baton replicas may share one Redis through their own Stores.
type Store struct {
	c      redis.UniversalClient
	prefix string

	// Known says which people and rotations overrides may name; Create
	// rejects the rest. The zero Known knows nobody: set it (main does, from
	// config) before calling Create.
	Known rotations.Known
}

// New returns a Store using c, with every key starting with prefix
// (for example "baton:").
func New(c redis.UniversalClient, prefix string) *Store {
	return &Store{c: c, prefix: prefix}
}

func (s *Store) hashKey(rotation string) string {
	return s.prefix + "rot:{" + rotation + "}:overrides"
}

func (s *Store) seqKey(rotation string) string {
	return s.prefix + "rot:{" + rotation + "}:override-seq"
}

// record is the stored form of an override; ID and rotation are in the key.
type record struct {
	Person  string    `json:"person"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"` // absent in overrides stored before it was kept
}

// createScript hands out the next ID and stores the override under it in one
// atomic step, so an ID is never visible without its override.
var createScript = redis.NewScript(`
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], id, ARGV[1])
return id
`)

// second drops sub-second precision and the monotonic reading, and puts t in
// UTC: the resolution overrides are stored at.
func second(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// Create validates o (rotations.ValidateOverride with s.Known, after
// truncating From and Until to whole seconds) and stores it with Created =
// now and a fresh ID, returning it as List will. o.ID and o.Created are
// ignored; o.By (who makes it) is stored as given. On a validation error nothing is written.
func (s *Store) Create(ctx context.Context, o rotations.Override, now time.Time) (rotations.Override, error) {
	o.ID = ""
	o.From, o.Until, o.Created = second(o.From), second(o.Until), second(now)
	if err := rotations.ValidateOverride(o, s.Known); err != nil {
		return rotations.Override{}, fmt.Errorf("create override: %w", err)
	}
	val, err := json.Marshal(record{Person: o.Person, From: o.From, Until: o.Until, Created: o.Created, By: o.By})
	if err != nil {
		return rotations.Override{}, fmt.Errorf("create override: %w", err)
	}
	id, err := createScript.Run(ctx, s.c, []string{s.hashKey(o.Rotation), s.seqKey(o.Rotation)}, val).Int64()
	if err != nil {
		return rotations.Override{}, fmt.Errorf("create override in %s: %w", o.Rotation, err)
	}
	o.ID = strconv.FormatInt(id, 10)
	return o, nil
}

// List returns rotation's overrides, past ones included, ordered by From and
// then by creation.
func (s *Store) List(ctx context.Context, rotation string) ([]rotations.Override, error) {
	m, err := s.c.HGetAll(ctx, s.hashKey(rotation)).Result()
	if err != nil {
		return nil, fmt.Errorf("list overrides of %s: %w", rotation, err)
	}
	out := make([]rotations.Override, 0, len(m))
	for id, val := range m {
		var rec record
		if err := json.Unmarshal([]byte(val), &rec); err != nil {
			return nil, fmt.Errorf("list overrides of %s: override %s: %w", rotation, id, err)
		}
		out = append(out, rotations.Override{
			ID: id, Rotation: rotation, Person: rec.Person,
			From: rec.From, Until: rec.Until, Created: rec.Created, By: rec.By,
		})
	}
	slices.SortFunc(out, func(a, b rotations.Override) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID)
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// Delete removes rotation's override id. It returns an error wrapping
// ErrNotFound when there is no such override.
func (s *Store) Delete(ctx context.Context, rotation, id string) error {
	n, err := s.c.HDel(ctx, s.hashKey(rotation), id).Result()
	if err != nil {
		return fmt.Errorf("delete override %s of %s: %w", id, rotation, err)
	}
	if n == 0 {
		return fmt.Errorf("delete override %s of %s: %w", id, rotation, ErrNotFound)
	}
	return nil
}

// Set returns rotation's overrides indexed for OnCall, Shifts and View.
func (s *Store) Set(ctx context.Context, rotation string) (*rotations.OverrideSet, error) {
	list, err := s.List(ctx, rotation)
	if err != nil {
		return nil, err
	}
	return rotations.NewOverrideSet(list), nil
}
