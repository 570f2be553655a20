package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/privacy"
)

func testSealer(t *testing.T, list ...string) *privacy.Sealer {
	t.Helper()
	keys, err := privacy.ParseKeys(list)
	if err != nil {
		t.Fatal(err)
	}
	s, err := privacy.NewSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sealKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// TestRawRoute: GET /v1/incidents/{n}/raw opens the sealed payloads newest
// first and records each look (timeline and audit stream) before showing
// anything; a rotated key still opens old payloads, a dropped one is
// reported unreadable; ?by= is required; nothing sealed, no key, or the
// TTL passed is a 404 with a sentence.
func TestRawRoute(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := incident.NewStore(rs.Client(), "t:", incident.WithSealTTL(time.Hour))
	store.Unbatched = true
	store.Now = clock
	old := testSealer(t, sealKey("k1", 1))
	rotated := testSealer(t, sealKey("k2", 2), sealKey("k1", 1))
	open := func(s *privacy.Sealer, key, body string, at time.Time) {
		t.Helper()
		env, err := s.Seal(privacy.Raw{ReceivedAt: at, Source: "generic", Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: key, Summary: "disk full",
			Severity: incident.SevCritical, Status: incident.AlertFiring, ReceivedAt: at, Sealed: env}); err != nil {
			t.Fatal(err)
		}
	}
	open(old, "a", `{"first":true}`, now.Add(-2*time.Minute))    // INC-1, sealed with k1
	open(rotated, "a", `{"second":true}`, now.Add(-time.Minute)) // INC-1 again, sealed with k2
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "b", Summary: "x",
		Severity: incident.SevCritical, Status: incident.AlertFiring, ReceivedAt: now}); err != nil { // INC-2, nothing sealed
		t.Fatal(err)
	}
	open(testSealer(t, sealKey("k0", 3)), "c", `{"lost":true}`, now) // INC-3, sealed with a key nobody has

	serve := func(s *privacy.Sealer) *httptest.Server {
		api := httpapi.New(httpapi.Options{Token: token, Incidents: store, KnownPerson: func(id string) bool { return id == "alice" || id == "bob" }})
		api.RegisterRaw(httpapi.RawOptions{Store: store, Sealer: s, TTL: time.Hour})
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		return srv
	}
	srv := serve(rotated)

	tests := []struct {
		name   string
		srv    *httptest.Server
		path   string
		status int
		say    string
	}{
		{"no by", srv, "/v1/incidents/1/raw", 400, "query parameter ?by= must name who is looking"},
		{"blank by", srv, "/v1/incidents/1/raw?by=%20", 400, "?by= must name who is looking"},
		{"control character in by", srv, "/v1/incidents/1/raw?by=a%0Ab", 400, "one line"},
		{"by not a person", srv, "/v1/incidents/1/raw?by=mallory", 400, `?by=: "mallory" is not in people`},
		{"not a number", srv, "/v1/incidents/x/raw?by=alice", 400, "is not an incident number"},
		{"unknown incident", srv, "/v1/incidents/99/raw?by=alice", 404, "INC-99"},
		{"nothing sealed", srv, "/v1/incidents/2/raw?by=alice", 404, "INC-2 has no sealed raw payload: none was kept, or they are older than privacy.seal_ttl (1h0m0s)"},
		{"no seal key configured", serve(nil), "/v1/incidents/1/raw?by=alice", 404, "no raw payload is kept: privacy.seal_keys is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, tt.srv, "GET", tt.path, "")
			if status != tt.status || !strings.Contains(fmt.Sprint(body["error"]), tt.say) {
				t.Fatalf("%d %v, want %d %q", status, body, tt.status, tt.say)
			}
		})
	}
	// None of the refusals was a look.
	if _, tl, _ := store.Get(ctx, 1); hasType(tl, incident.EventRawViewed) != 0 {
		t.Fatalf("a refused request was recorded as a look: %v", tl)
	}

	t.Run("opened newest first, rotated key, look recorded", func(t *testing.T) {
		status, body := call(t, srv, "GET", "/v1/incidents/INC-1/raw?by=alice", "")
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		alerts := body["alerts"].([]any)
		if len(alerts) != 2 {
			t.Fatalf("alerts %v", alerts)
		}
		first := alerts[0].(map[string]any)
		if first["body"] != `{"second":true}` || first["source"] != "generic" || first["received_at"] != now.Add(-time.Minute).Format(time.RFC3339) {
			t.Fatalf("newest first: %v", first)
		}
		if alerts[1].(map[string]any)["body"] != `{"first":true}` {
			t.Fatalf("the payload sealed with the older key k1: %v", alerts[1])
		}
		_, tl, _ := store.Get(ctx, 1)
		if hasType(tl, incident.EventRawViewed) != 1 {
			t.Fatalf("timeline %v", tl)
		}
		ev := tl[len(tl)-1]
		if ev.By != "alice" || ev.Note != "2 raw payloads opened" {
			t.Fatalf("event %+v", ev)
		}
		entries := rs.Client().XRange(ctx, "t:{inc}:events", "-", "+").Val()
		found := false
		for _, e := range entries {
			if e.Values["type"] == "raw_viewed" && e.Values["by"] == "alice" && e.Values["n"] == "1" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no audit entry: %v", entries)
		}
	})
	t.Run("a key no longer configured", func(t *testing.T) {
		status, body := call(t, srv, "GET", "/v1/incidents/3/raw?by=bob", "")
		if status != 200 || len(body["alerts"].([]any)) != 0 {
			t.Fatalf("%d %v", status, body)
		}
		un := body["unreadable"].([]any)
		if len(un) != 1 || !strings.Contains(fmt.Sprint(un[0]), `sealed with key "k0", which is no longer in privacy.seal_keys`) {
			t.Fatalf("unreadable %v", un)
		}
		if _, tl, _ := store.Get(ctx, 3); hasType(tl, incident.EventRawViewed) != 1 {
			t.Fatalf("an unreadable look is a look too: %v", tl)
		}
	})
	t.Run("expired TTL", func(t *testing.T) {
		now = now.Add(time.Hour - 90*time.Second) // the first payload (2 min old) is now older than the TTL, the second not
		status, body := call(t, srv, "GET", "/v1/incidents/1/raw?by=alice", "")
		if status != 200 || len(body["alerts"].([]any)) != 1 {
			t.Fatalf("one payload left: %d %v", status, body)
		}
		if _, tl, _ := store.Get(ctx, 1); tl[len(tl)-1].Note != "1 raw payload opened" {
			t.Fatalf("the note of one payload: %q", tl[len(tl)-1].Note)
		}
		now = now.Add(time.Minute)
		status, body = call(t, srv, "GET", "/v1/incidents/1/raw?by=alice", "")
		if status != 404 || !strings.Contains(fmt.Sprint(body["error"]), "older than privacy.seal_ttl") {
			t.Fatalf("%d %v", status, body)
		}
		if ttl := rs.Client().PTTL(ctx, "t:{inc}:i:1:raw").Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("the list's own TTL in Redis: %s", ttl)
		}
	})
}

func hasType(tl []incident.Event, typ incident.EventType) int {
	n := 0
	for _, e := range tl {
		if e.Type == typ {
			n++
		}
	}
	return n
}
