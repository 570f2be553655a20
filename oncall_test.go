package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

func TestOnCallAPI(t *testing.T) {
	a := startApp(t)
	at := "2026-11-24T12:00:00Z" // db-primary: bob's week (Mon 23 Nov 09:00 New York)
	steps := []struct {
		name         string
		method, path string
		body         string
		status       int
		check        func(t *testing.T, out map[string]any)
	}{
		{"by rotation", "GET", "/v1/oncall?rotation=db-primary&at=" + at, "", 200, wantPerson("bob")},
		{"by service", "GET", "/v1/oncall?service=database&at=" + at, "", 200, func(t *testing.T, out map[string]any) {
			if out["rotation"] != "db-primary" || out["person"] != "bob" || len(out["next"].([]any)) != 2 {
				t.Fatalf("service view %v", out)
			}
		}},
		{"all rotations", "GET", "/v1/oncall?at=" + at, "", 200, func(t *testing.T, out map[string]any) {
			if len(out["oncall"].([]any)) != 2 {
				t.Fatalf("all %v", out)
			}
		}},
		{"unknown service", "GET", "/v1/oncall?service=billing", "", 404, nil},
		{"unknown rotation", "GET", "/v1/oncall?rotation=nope", "", 404, nil},
		{"both named", "GET", "/v1/oncall?rotation=db-primary&service=database", "", 400, nil},
		{"bad at", "GET", "/v1/oncall?rotation=db-primary&at=tomorrow", "", 400, nil},
		{"before the rotation starts", "GET", "/v1/oncall?rotation=db-primary&at=2025-06-01T00:00:00Z", "", 422, nil},
		{"override: until before from", "POST", "/v1/rotations/db-primary/overrides", `{"person":"alice","from":"2026-11-24T14:00:00Z","until":"2026-11-24T10:00:00Z"}`, 400, nil},
		{"override: unknown person", "POST", "/v1/rotations/db-primary/overrides", `{"person":"mallory","from":"2026-11-24T10:00:00Z","until":"2026-11-24T14:00:00Z"}`, 400, nil},
		{"override: over 90 days", "POST", "/v1/rotations/db-primary/overrides", `{"person":"alice","from":"2026-11-24T10:00:00Z","until":"2027-03-24T10:00:00Z"}`, 400, nil},
		{"override: unknown rotation", "POST", "/v1/rotations/nope/overrides", `{"person":"alice","from":"2026-11-24T10:00:00Z","until":"2026-11-24T14:00:00Z"}`, 404, nil},
		{"override: not JSON", "POST", "/v1/rotations/db-primary/overrides", `person=alice`, 400, nil},
		{"override: missing until", "POST", "/v1/rotations/db-primary/overrides", `{"person":"alice","from":"2026-11-24T10:00:00Z"}`, 400, nil},
		{"nothing stored by the refusals", "GET", "/v1/rotations/db-primary/overrides", "", 200, func(t *testing.T, out map[string]any) {
			if n := len(out["overrides"].([]any)); n != 0 {
				t.Fatalf("%d overrides stored by refused requests", n)
			}
		}},
		{"override: alice takes four hours", "POST", "/v1/rotations/db-primary/overrides", `{"person":"alice","from":"2026-11-24T10:00:00Z","until":"2026-11-24T14:00:00Z"}`, 201, func(t *testing.T, out map[string]any) {
			if out["id"] != "1" || out["person"] != "alice" {
				t.Fatalf("created %v", out)
			}
		}},
		{"override in effect", "GET", "/v1/oncall?rotation=db-primary&at=" + at, "", 200, func(t *testing.T, out map[string]any) {
			until, _ := time.Parse(time.RFC3339, out["until"].(string))
			if out["person"] != "alice" || !until.Equal(time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)) {
				t.Fatalf("with override %v", out)
			}
		}},
		{"override only in its range", "GET", "/v1/oncall?rotation=db-primary&at=2026-11-24T15:00:00Z", "", 200, wantPerson("bob")},
		{"list overrides", "GET", "/v1/rotations/db-primary/overrides", "", 200, func(t *testing.T, out map[string]any) {
			if n := len(out["overrides"].([]any)); n != 1 {
				t.Fatalf("%d overrides, want 1", n)
			}
		}},
		{"delete unknown override", "DELETE", "/v1/rotations/db-primary/overrides/42", "", 404, nil},
		{"delete override", "DELETE", "/v1/rotations/db-primary/overrides/1", "", 204, nil},
		{"back to the schedule", "GET", "/v1/oncall?rotation=db-primary&at=" + at, "", 200, wantPerson("bob")},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			req, _ := http.NewRequest(s.method, a.url+s.path, strings.NewReader(s.body))
			req.Header.Set("Authorization", "Bearer "+apiToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != s.status {
				var e map[string]any
				json.NewDecoder(resp.Body).Decode(&e)
				t.Fatalf("%s %s = %d %v, want %d", s.method, s.path, resp.StatusCode, e, s.status)
			}
			if resp.StatusCode == http.StatusNoContent {
				return
			}
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("reply is not JSON: %v", err)
			}
			if s.status >= 400 && out["error"] == "" {
				t.Fatalf("error without a sentence: %v", out)
			}
			if s.check != nil {
				s.check(t, out)
			}
		})
	}
}

func wantPerson(who string) func(t *testing.T, out map[string]any) {
	return func(t *testing.T, out map[string]any) {
		t.Helper()
		if out["person"] != who {
			t.Fatalf("on call: %v, want %s", out["person"], who)
		}
	}
}

// The calendar feed is subscribed to by URL, so it takes the token in the query.
func TestRotationFeed(t *testing.T) {
	a := startApp(t)
	resp, err := http.Get(a.url + "/v1/rotations/db-primary.ics?token=" + apiToken)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cal, err := ics.ParseCalendar(resp.Body)
	if err != nil {
		t.Fatalf("the feed does not parse as iCalendar: %v", err)
	}
	// 90 days of weekly shifts: 13 or 14 events, each a week long (±1h across DST).
	events := cal.Events()
	if len(events) < 13 || len(events) > 14 {
		t.Fatalf("%d events in 90 days of a weekly rotation", len(events))
	}
	for _, e := range events {
		start, err1 := e.GetStartAt()
		end, err2 := e.GetEndAt()
		if err1 != nil || err2 != nil {
			t.Fatalf("event without times: %v %v", err1, err2)
		}
		if d := end.Sub(start); d < 167*time.Hour || d > 169*time.Hour {
			t.Fatalf("a weekly shift lasts %v", d)
		}
	}
	for path, want := range map[string]int{
		"/v1/rotations/db-primary.ics":                   401,
		"/v1/rotations/db-primary.ics?token=wrong":       401,
		"/v1/rotations/nope.ics?token=" + apiToken:       404,
		"/v1/rotations/db-primary.txt?token=" + apiToken: 401,
	} {
		resp, err := http.Get(a.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestOncallCommand(t *testing.T) {
	a := startApp(t)
	env := []string{"BATON_REDIS_ADDR=" + a.redis.Addr}
	// An override through the API shows in the CLI, which reads the same Redis.
	req, _ := http.NewRequest("POST", a.url+"/v1/rotations/db-primary/overrides", strings.NewReader(`{"person":"carol","from":"2026-11-24T10:00:00Z","until":"2026-11-24T14:00:00Z","by":"alice"}`))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create override: %v %v", resp, err)
	}
	tests := []struct {
		name string
		args []string
		code int
		out  string
		err  string
	}{
		{"json by service", []string{"--service", "database", "--at", "2026-11-24T12:00:00Z", "--json"}, 0, `"person": "carol"`, ""},
		{"json names the override", []string{"--service", "database", "--at", "2026-11-24T12:00:00Z", "--json"}, 0,
			"\"override\": {\n    \"id\": \"1\",\n    \"by\": \"alice\"\n  },", ""},
		{"table for all", []string{"--at", "2026-11-24T12:00:00Z"}, 0,
			"db-primary: Carol Diaz (carol) is on call until Tue 24 Nov 09:00 EST, override by Alice Martin\n", ""},
		{"table of the shifts to come", []string{"--rotation", "db-primary", "--at", "2026-11-24T08:00:00Z"}, 0,
			"Carol Diaz (carol), override by Alice Martin\n", ""},
		{"schedule only", []string{"--rotation", "db-primary", "--at", "2026-11-24T12:00:00Z", "--no-overrides"}, 0, "Bob Chen (bob) is on call", ""},
		{"unknown rotation", []string{"--rotation", "nope"}, 2, "", `rotation "nope": no such rotation`},
		{"bad --at", []string{"--at", "noon"}, 2, "", "--at must be an RFC 3339 time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"oncall", "--config", "config.yaml"}, tc.args...), &out, &errb, env, time.Now)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant exit %d, %q / %q", code, out.String(), errb.String(), tc.code, tc.out, tc.err)
			}
		})
	}
}
