package main

// Failing tests found by trying `baton incidents` as a script would
// (breakeco). Each uses an httptest server standing in for baton (or for
// what is not baton), so they need no Redis.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A 404 from something that is not baton (a wrong --url: another service,
// a proxy, a path prefix) is an error (1), not "no such incident" (3): a
// script that cleans up after a 3 would act on an incident that exists.
func TestBreakEcoNotABatonAnswering404IsNotNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>404 page not found</html>", http.StatusNotFound)
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"incidents", "show", "1", "--url", srv.URL},
		{"incidents", "list", "--url", srv.URL},
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
// mistake) must not exit 3.
func TestBreakEcoListNeverExitsNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"no route for GET `+r.URL.Path+`"}`)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"incidents", "list", "--url", srv.URL + "/v1"}, &out, &errb, []string{"BATON_API_TOKEN=t"}, time.Now)
	if code == exitNotFound {
		t.Errorf("list exited %d (no such incident) for a wrong --url; stderr %q", code, errb.String())
	}
}

// README: "--json prints the API's JSON". The API's page carries
// next_cursor; without it a script reading `baton incidents --json` cannot
// tell that there are more than --limit open incidents (there is no other
// sign in the table either).
func TestBreakEcoListJSONKeepsNextCursor(t *testing.T) {
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
}

// A note holding a word that starts with "-" cannot be sent, not even
// after the usual "--" end of flags: parsing resumes after the first word
// of the note, so `baton incidents ack 7 -- load fell -5% after the deploy`
// is a usage error (flag provided but not defined: -5%).
func TestBreakEcoNoteAfterDoubleDash(t *testing.T) {
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
