package httpapi_test

import (
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// GET /v1/oncall says, for the person on call now and for each upcoming
// piece, whether an override put them there: "override":{"id","by"}, left
// out when the piece is the schedule's own.
func TestOnCallNamesOverrides(t *testing.T) {
	rs := redistest.Start(t)
	rot, err := rotations.Compile(rotations.Spec{Name: "primary", Timezone: "UTC", Shift: "daily", Handoff: "09:00",
		Start: "2026-02-01", Participants: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	people := []string{"alice", "bob", "carol"}
	ovs := overrides.New(rs.Client(), "t:")
	ovs.Known = rotations.NewKnown(people, []string{"primary"})
	board := &oncall.Board{Rotations: map[string]*rotations.Rotation{"primary": rot}, Overrides: ovs.Set}
	known := func(id string) bool { return id == "alice" || id == "bob" || id == "carol" }
	api := httpapi.New(httpapi.Options{Token: token, KnownPerson: known})
	api.RegisterOnCall(board, ovs, func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) })
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)

	none := map[string]any(nil)
	byBob := map[string]any{"id": "1", "by": "bob"}
	viaAPI := map[string]any{"id": "2", "by": "api"}
	override := func(v any) map[string]any { m, _ := v.(map[string]any)["override"].(map[string]any); return m }
	steps := []struct {
		name, method, path, body string
		status                   int
		check                    func(t *testing.T, out map[string]any)
	}{
		{"the schedule alone names no override", "GET", "/v1/oncall?rotation=primary&at=2026-03-01T12:00:00Z", "", 200, func(t *testing.T, out map[string]any) {
			if _, ok := out["override"]; ok {
				t.Fatalf("override in a schedule answer: %v", out)
			}
			for _, s := range out["next"].([]any) {
				if _, ok := s.(map[string]any)["override"]; ok {
					t.Fatalf("override in a schedule shift: %v", s)
				}
			}
		}},
		{"bob puts carol on call", "POST", "/v1/rotations/primary/overrides",
			`{"person":"carol","from":"2026-03-01T10:00:00Z","until":"2026-03-01T14:00:00Z","by":"bob"}`, 201, func(t *testing.T, out map[string]any) {
				if out["id"] != "1" || out["by"] != "bob" {
					t.Fatalf("created %v", out)
				}
			}},
		{"now: carol by bob's override", "GET", "/v1/oncall?rotation=primary&at=2026-03-01T12:00:00Z", "", 200, func(t *testing.T, out map[string]any) {
			if out["person"] != "carol" || !reflect.DeepEqual(override(out), byBob) {
				t.Fatalf("on call %v, override %v; want carol, %v", out["person"], override(out), byBob)
			}
			if next := out["next"].([]any); override(next[0]) != nil {
				t.Fatalf("the schedule's next shift names an override: %v", next[0])
			}
		}},
		{"upcoming: the override's piece names it, the others do not", "GET", "/v1/oncall?rotation=primary&at=2026-03-01T08:00:00Z", "", 200, func(t *testing.T, out map[string]any) {
			next := out["next"].([]any)
			got := []map[string]any{override(out), override(next[0]), override(next[1]), override(next[2])}
			want := []map[string]any{none, none, byBob, none}
			if !reflect.DeepEqual(got, want) || next[1].(map[string]any)["person"] != "carol" {
				t.Fatalf("overrides now and next %v, want %v (next %v)", got, want, next[:3])
			}
		}},
		{"every rotation: the same", "GET", "/v1/oncall?at=2026-03-01T12:00:00Z", "", 200, func(t *testing.T, out map[string]any) {
			if all := out["oncall"].([]any); !reflect.DeepEqual(override(all[0]), byBob) {
				t.Fatalf("all: %v", all)
			}
		}},
		{"an override that names nobody is the API's", "POST", "/v1/rotations/primary/overrides",
			`{"person":"alice","from":"2026-03-02T10:00:00Z","until":"2026-03-02T14:00:00Z"}`, 201, func(t *testing.T, out map[string]any) {
				if out["by"] != "api" {
					t.Fatalf("created %v", out)
				}
			}},
		{"now: alice via the API", "GET", "/v1/oncall?rotation=primary&at=2026-03-02T12:00:00Z", "", 200, func(t *testing.T, out map[string]any) {
			if out["person"] != "alice" || !reflect.DeepEqual(override(out), viaAPI) {
				t.Fatalf("on call %v, override %v; want alice, %v", out["person"], override(out), viaAPI)
			}
		}},
		{"by someone unknown", "POST", "/v1/rotations/primary/overrides",
			`{"person":"alice","from":"2026-03-03T10:00:00Z","until":"2026-03-03T14:00:00Z","by":"mallory"}`, 400, func(t *testing.T, out map[string]any) {
				if out["error"] != `field "by": "mallory" is not in people` {
					t.Fatalf("error %v", out)
				}
			}},
		{"the list says who made each", "GET", "/v1/rotations/primary/overrides", "", 200, func(t *testing.T, out map[string]any) {
			list := out["overrides"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["by"] != "bob" || list[1].(map[string]any)["by"] != "api" {
				t.Fatalf("overrides %v", list)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			status, out := call(t, srv, s.method, s.path, s.body)
			if status != s.status {
				t.Fatalf("%s %s = %d %v, want %d", s.method, s.path, status, out, s.status)
			}
			s.check(t, out)
		})
	}
}
