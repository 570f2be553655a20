package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/rotations"
)

// The terminal client against a served App (real Redis, every exchange
// checked against docs/openapi.yaml by serveApp): what it prints and the
// exit codes scripts rely on.
func TestIncidentsCommand(t *testing.T) {
	a := startApp(t)
	for _, body := range []string{
		`{"service":"database","summary":"disk full on db-1","severity":"critical"}`,
		`{"service":"payments","summary":"card declines \u001b[31mred\u001b[0m","severity":"warning"}`,
	} {
		if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, body); code != 202 {
			t.Fatalf("alert: %d %v", code, out)
		}
	}
	env := []string{"BATON_URL=" + a.url, "BATON_API_TOKEN=" + apiToken}
	cases := []struct {
		name      string
		args      []string
		env       []string // instead of env
		code      int
		stdout    []string // each must appear
		notStdout []string
		stderr    string
	}{
		{"list open by default", []string{"incidents"}, nil, 0, []string{"INCIDENT", "INC-1", "INC-2", "triggered", "database", "disk full on db-1"}, nil, ""},
		{"no terminal escape from an alert reaches the terminal", []string{"incidents", "list"}, nil, 0, []string{"card declines"}, []string{"\x1b"}, ""},
		{"list resolved: none yet", []string{"incidents", "list", "--status", "resolved"}, nil, 0, []string{"no incidents"}, nil, ""},
		{"list as JSON", []string{"incidents", "list", "--json"}, nil, 0, []string{`"ref": "INC-1"`}, nil, ""},
		{"show", []string{"incidents", "show", "INC-1"}, nil, 0, []string{"INC-1  disk full on db-1", "status", "triggered", "timeline", "opened"}, nil, ""},
		{"show with flags after the number", []string{"incidents", "show", "1", "--json"}, nil, 0, []string{`"number": 1`, `"timeline"`}, nil, ""},
		{"show unknown: exit 3", []string{"incidents", "show", "99"}, nil, 3, nil, nil, "There is no INC-99."},
		{"show without a number", []string{"incidents", "show"}, nil, 2, nil, nil, "show takes one incident number"},
		{"ack needs --by", []string{"incidents", "ack", "1"}, nil, 2, nil, nil, "needs --by PERSON"},
		{"ack by a stranger: exit 1", []string{"incidents", "ack", "1", "--by", "mallory"}, nil, 1, nil, nil, `"mallory" is not in people`},
		{"ack", []string{"incidents", "ack", "1", "--by", "alice", "looking", "at", "it"}, nil, 0, []string{"INC-1 acknowledged by alice: acknowledged, owner alice"}, nil, ""},
		{"ack again: exit 4", []string{"incidents", "ack", "1", "--by", "alice"}, nil, 4, nil, nil, "already acknowledged"},
		{"escalate with BATON_BY", []string{"incidents", "escalate", "INC-1", "needs", "the", "DBA"}, append([]string{"BATON_BY=alice"}, env...), 0, []string{"INC-1 escalated by alice"}, nil, ""},
		{"resolve with a note", []string{"incidents", "resolve", "1", "rolled", "back", "--by", "alice", "--json"}, nil, 0, []string{`"status": "resolved"`}, nil, ""},
		{"resolve again: exit 4", []string{"incidents", "resolve", "1", "--by", "alice"}, nil, 4, nil, nil, "already resolved"},
		{"the note is on the timeline", []string{"incidents", "show", "1"}, nil, 0, []string{"resolved", "rolled back", "looking at it"}, nil, ""},
		{"resolve unknown: exit 3", []string{"incidents", "resolve", "42", "--by", "alice"}, nil, 3, nil, nil, "There is no INC-42."},
		{"no token: exit 1 saying what to set", []string{"incidents"}, []string{"BATON_URL=" + a.url}, 1, nil, nil, "set BATON_API_TOKEN"},
		{"--url wins over BATON_URL", []string{"incidents", "--url", a.url}, []string{"BATON_URL=http://127.0.0.1:1", "BATON_API_TOKEN=" + apiToken}, 0, []string{"INC-2"}, nil, ""},
		{"nobody there: exit 1", []string{"incidents", "--url", "http://127.0.0.1:1"}, nil, 1, nil, nil, "no answer from baton at http://127.0.0.1:1"},
		{"a bad --url", []string{"incidents", "--url", "127.0.0.1:8080"}, nil, 2, nil, nil, "--url must be an http or https URL"},
		{"unknown subcommand", []string{"incidents", "close", "1"}, nil, 2, nil, nil, `unknown subcommand "close"`},
		{"bad --limit", []string{"incidents", "--limit", "0"}, nil, 2, nil, nil, "--limit must be from 1 to 1000"},
		{"a token with a trailing newline is trimmed", []string{"incidents"}, []string{"BATON_URL=" + a.url, "BATON_API_TOKEN=" + apiToken + "\n"}, 0, []string{"INC-2"}, nil, ""},
		{"--help: exit 0", []string{"incidents", "--help"}, nil, 0, nil, nil, "Usage:"},
		{"-h: exit 0", []string{"incidents", "-h"}, nil, 0, nil, nil, "everything after -- is the note"},
		{"--all with --cursor", []string{"incidents", "--all", "--cursor", "x"}, nil, 2, nil, nil, "--all and --cursor do not go together"},
		{"version --help: exit 0", []string{"version", "--help"}, nil, 0, []string{"Usage: baton version"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := env
			if c.env != nil {
				e = c.env
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb, e, time.Now)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errb.String())
			}
			for _, s := range c.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range c.notStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, out.String())
				}
			}
			if !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.stderr)
			}
		})
	}
}

// --all follows next_cursor until the last page.
func TestIncidentsListAllPages(t *testing.T) {
	a := startApp(t)
	for i := range 5 {
		body := `{"service":"database","dedup_key":"k` + string(rune('a'+i)) + `","summary":"alert ` + string(rune('a'+i)) + `"}`
		if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, body); code != 202 {
			t.Fatalf("alert: %d %v", code, out)
		}
	}
	env := []string{"BATON_URL=" + a.url, "BATON_API_TOKEN=" + apiToken}
	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"one page", []string{"incidents", "list", "--limit", "2", "--json"}, 2},
		{"every page", []string{"incidents", "list", "--limit", "2", "--all", "--json"}, 5},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb, env, time.Now); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errb.String())
		}
		var got struct {
			Incidents []map[string]any `json:"incidents"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out.String())
		}
		if len(got.Incidents) != c.want {
			t.Errorf("%s: %d incidents, want %d", c.name, len(got.Incidents), c.want)
		}
	}
}

// Something that is not baton at --url is said so, not decoded as nonsense.
func TestIncidentsNotABaton(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "show", "1", "--url", srv.URL}, &out, &errb, nil, time.Now)
	if code != 1 || !strings.Contains(errb.String(), "not baton's JSON: is --url a baton?") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestVersion(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	cases := []struct {
		name            string
		ldVersion, ldCo string
		read            func() (*debug.BuildInfo, bool)
		want            buildInfo
	}{
		{"from the build info", "", "", stamped, buildInfo{Version: "v1.4.0", Commit: "0123abcd", Modified: true, Go: "go1.26.8"}},
		{"-ldflags win", "1.5.0", "feedface", stamped, buildInfo{Version: "1.5.0", Commit: "feedface", Go: "go1.26.8"}},
		{"nothing known", "", "", none, buildInfo{Version: "unknown", Commit: "unknown", Go: buildVersion(none).Go}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			version, commit = c.ldVersion, c.ldCo
			t.Cleanup(func() { version, commit = "", "" })
			if got := buildVersion(c.read); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errb, nil, time.Now); code != 0 ||
		!strings.HasPrefix(out.String(), "baton ") || !strings.Contains(out.String(), "\ncommit ") || !strings.Contains(out.String(), "\ngo1.") {
		t.Fatalf("baton version: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// baton oncall --url gives the answer the config and Redis give, from a
// running baton's API; an unknown service is exit 3 there.
func TestOncallOverAPI(t *testing.T) {
	a := startApp(t)
	local := []string{"BATON_REDIS_ADDR=" + a.redis.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"}
	remote := []string{"BATON_URL=" + a.url, "BATON_API_TOKEN=" + apiToken}
	at := "2026-11-24T09:00:00Z"
	view := func(env []string) rotations.OnCallView {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"oncall", "--service", "database", "--at", at, "--json"}, &out, &errb, env, time.Now); code != 0 {
			t.Fatalf("oncall: exit %d: %s", code, errb.String())
		}
		var v rotations.OnCallView
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		return v
	}
	want, got := view(local), view(remote)
	if got.Rotation != want.Rotation || got.Person != want.Person || !got.Until.Equal(want.Until) || len(got.Next) != len(want.Next) {
		t.Fatalf("over the API %+v\nfrom the config %+v", got, want)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"table", []string{"oncall", "--service", "database", "--at", at}, 0, "db-primary: " + want.Person + " is on call until", ""},
		{"every rotation", []string{"oncall", "--at", at}, 0, "payments: ", ""},
		{"unknown service", []string{"oncall", "--service", "nope"}, 3, "", "nope"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb, remote, time.Now)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%s: exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", c.name, code, c.code, out.String(), c.stdout, errb.String(), c.stderr)
		}
	}
}

// A 404 from something that is not baton (a wrong --url: another service,
// a proxy, a path prefix) is an error (1), not "no such incident" (3): a
// script that cleans up after a 3 would act on an incident that exists.
func TestIncidentsWrongURL404IsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>404 page not found</html>", http.StatusNotFound)
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"incidents", "show", "1", "--url", srv.URL},
		{"incidents", "list", "--url", srv.URL},
		{"incidents", "ack", "1", "--by", "alice", "--url", srv.URL},
		{"oncall", "--service", "database", "--url", srv.URL},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
		if code != exitError {
			t.Errorf("%v: exit %d, want %d (error: not a baton); stderr %q", args, code, exitError, errb.String())
		}
	}
}

// `baton incidents list` cannot mean "no such incident": baton's own 404
// for a route it does not have (BATON_URL=http://host:8080/v1, a natural
// mistake) is an error (1) with a hint, for list and show alike.
func TestIncidentsListNeverExitsNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"no route for GET `+r.URL.Path+`"}`)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "list", "--url", srv.URL + "/v1"}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code != exitError || !strings.Contains(errb.String(), "without /v1?") {
		t.Errorf("list exited %d for a wrong --url, want %d with a hint; stderr %q", code, exitError, errb.String())
	}
	errb.Reset()
	code = run(context.Background(), []string{"incidents", "show", "1", "--url", srv.URL + "/v1"}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code != exitError {
		t.Errorf("show exited %d on baton's no-route 404, want %d; stderr %q", code, exitError, errb.String())
	}
}

// The API's page carries next_cursor: `baton incidents --json` keeps it and
// the table ends with a line saying there are more, so neither a script
// nor a person takes the first --limit incidents for all of them.
func TestIncidentsListSaysThereIsMore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"incidents":[{"number":1,"ref":"INC-1","service":"database","title":"t","severity":"critical","status":"triggered","level":1,"alert_count":1,"source":"generic","dedup_key":"k","first_seen":"2026-11-30T00:00:00Z","last_seen":"2026-11-30T00:00:00Z","created":"2026-11-30T00:00:00Z"}],"next_cursor":"more"}`)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "list", "--limit", "1", "--json", "--url", srv.URL}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["next_cursor"] != "more" {
		t.Errorf("--json dropped the API's next_cursor: %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"incidents", "list", "--limit", "1", "--url", srv.URL}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "… 1 shown; more: --all or --cursor more\n") {
		t.Errorf("the table does not say there are more:\n%s", out.String())
	}
}

// Everything after "--" is the note, a word starting with "-" included:
// `baton incidents ack 7 -- load fell -5% after the deploy`.
func TestIncidentsNoteAfterDoubleDash(t *testing.T) {
	var note string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ By, Note string }
		json.NewDecoder(r.Body).Decode(&b)
		note = b.Note
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"number":7,"ref":"INC-7","service":"database","title":"t","severity":"critical","status":"acknowledged","owner":"alice","level":1,"alert_count":1,"source":"generic","dedup_key":"k","first_seen":"2026-11-30T00:00:00Z","last_seen":"2026-11-30T00:00:00Z","created":"2026-11-30T00:00:00Z"}`)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "ack", "7", "--url", srv.URL, "--by", "alice", "--", "load", "fell", "-5%", "after", "the", "deploy"},
		&out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code != exitOK || note != "load fell -5% after the deploy" {
		t.Errorf("exit %d, note sent %q; want 0 and %q; stderr %q", code, note, "load fell -5% after the deploy", strings.SplitN(errb.String(), "\n", 2)[0])
	}
}

// A 503 on a transition says the change may or may not have been made and
// how to check, instead of "nothing may have changed".
func TestIncidentsUnavailableSaysHowToCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."}`)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "resolve", "INC-7", "--by", "alice", "--url", srv.URL}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code != exitError || !strings.Contains(errb.String(), "may or may not have been made") || !strings.Contains(errb.String(), "(check with: baton incidents show 7)") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// An active maintenance window shows where on-call is asked for over the
// API (GET /v1/oncall, baton oncall --url), as in chat's /oncall; and a
// held incident is marked held in baton incidents, not shown as plainly
// triggered.
func TestMaintenanceInTheTerminal(t *testing.T) {
	a := startApp(t)
	if code, out := a.call(t, "POST", "/v1/maintenance", apiToken, `{"service":"database","duration":"2h","by":"alice","reason":"failover drill"}`); code != 201 {
		t.Fatalf("start: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1","severity":"critical"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	remote := []string{"BATON_URL=" + a.url, "BATON_API_TOKEN=" + apiToken}
	for _, c := range []struct {
		name   string
		args   []string
		stdout string
	}{
		{"oncall of the service", []string{"oncall", "--service", "database"}, "🔧 database is in maintenance until"},
		{"every rotation", []string{"oncall"}, "(mw-1, by alice: failover drill)"},
		{"incidents list", []string{"incidents", "list"}, "triggered, held (mw-1)"},
		{"incidents show", []string{"incidents", "show", "1"}, "triggered, held (mw-1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), c.args, &out, &errb, remote, time.Now); code != 0 || !strings.Contains(out.String(), c.stdout) {
				t.Fatalf("exit %d\nstdout %q (want %q)\nstderr %q", code, out.String(), c.stdout, errb.String())
			}
		})
	}
	if code, out := a.call(t, "GET", "/v1/oncall?service=database", apiToken, ""); code != 200 || out["maintenance"] == nil {
		t.Fatalf("GET /v1/oncall?service=database: %d %v", code, out)
	}
}
