package slack_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/fakeslack"
)

const sumoToken = "sumo-token-0123456789abcdef"

// postSumo sends the Sumo Logic monitor payload from intake's testdata
// through the real intake handler, as Sumo Logic would, and returns the
// incident number from the 202.
func postSumo(t *testing.T, e *env) int64 {
	t.Helper()
	h := intake.NewHandler(intake.Config{
		Tokens: map[string]string{"sumologic": sumoToken}, MaxBodyBytes: 1 << 20,
		Services: map[string]bool{"payments": true},
	}, e.svc, slog.New(slog.NewTextHandler(e.log, nil)))
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	body, err := os.ReadFile("../../intake/testdata/sumologic-monitor-critical.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/sumologic?service=payments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+sumoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Incident int64 `json:"incident"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("intake answered %d, %v", resp.StatusCode, err)
	}
	return reply.Incident
}

// The whole story of one alert, from Sumo Logic's webhook to the resolved card.
func TestWholeStory(t *testing.T) {
	cfg := defaults()
	cfg.repage, cfg.escalate = 300*time.Millisecond, 1500*time.Millisecond
	e := newEnv(t, cfg)
	n := postSumo(t, e)

	// Announced: channel, owner invited, card pinned, notice.
	ch, cardTS := e.announced(n)
	// The owner is whoever the first page made it: invited once that page is committed.
	e.waitFor("alice in the channel", func() bool { c, _ := e.fake.Channel(ch); return c.HasMember(e.alice.ID) })
	c, _ := e.fake.Channel(ch)
	const name = "inc-1-checkout-api-5xx-rate-greater-than"
	if c.Name != name || !c.HasMember(e.alice.ID) || !slices.Contains(c.Pins, cardTS) {
		t.Fatalf("channel %+v, card %s", c, cardTS)
	}
	if inc := e.incident(n); inc.Channel != ch {
		t.Fatalf("the incident records channel %q, want %q", inc.Channel, ch)
	}
	card := e.card(n)
	for _, want := range []string{"INC-1 Checkout API 5xx rate", "baton_ack", "baton_resolve", "baton_escalate", "payments", "critical", "opened by sumologic"} {
		if !strings.Contains(blocksText(card), want) {
			t.Fatalf("the card does not show %q:\n%s", want, card.Blocks)
		}
	}
	notices := e.fake.Messages(e.alerts.ID)
	if len(notices) != 1 || !strings.Contains(blocksText(notices[0]), "INC-1") || !strings.Contains(blocksText(notices[0]), "<#"+ch+">") {
		t.Fatalf("notices in #payments-alerts: %+v", notices)
	}

	// Paged: a DM to alice with the buttons, then again.
	e.waitFor("alice's first page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	dm := e.dms(e.alice)[0]
	for _, want := range []string{"baton_ack", "baton_resolve", "baton_escalate", "<@" + e.alice.ID + ">"} {
		if !strings.Contains(blocksText(dm), want) {
			t.Fatalf("the page does not carry %q:\n%s", want, dm.Blocks)
		}
	}
	e.waitFor("a re-page", func() bool { return e.dmsAbout(e.alice, n, "Reminder") >= 1 })
	// By now the channel exists: the re-page links to it.
	for _, m := range e.dms(e.alice) {
		if strings.Contains(m.Text, "Reminder") && !strings.Contains(blocksText(m), "<#"+ch+">") {
			t.Fatalf("the re-page does not link the incident's channel:\n%s", m.Blocks)
		}
	}

	// Not acknowledged: escalated to bob (found by email), who is invited and
	// paged; alice is told.
	e.waitFor("bob's page", func() bool { return e.dmsAbout(e.bob, n, "escalated to you") == 1 })
	e.waitFor("bob in the channel", func() bool { c, _ := e.fake.Channel(ch); return c.HasMember(e.bob.ID) })
	e.waitFor("alice told", func() bool { return e.dmsAbout(e.alice, n, "no longer paged") == 1 })

	// bob reacts on his page: acknowledged by bob, the card redrawn in place, pages stop.
	bobDMs := e.dms(e.bob)
	if _, err := e.fake.AddReaction(e.bob.ID, bobDMs[0].Channel, bobDMs[0].TS, "white_check_mark"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the ack", func() bool {
		inc := e.incident(n)
		return inc.Status == incident.StatusAcknowledged && inc.Owner == "bob"
	})
	e.waitFor("the card to show the ack", func() bool {
		b := blocksText(e.card(n))
		return strings.Contains(b, "Acknowledged") && strings.Contains(b, "<@"+e.bob.ID+">") && !strings.Contains(b, "baton_ack")
	})
	pages := len(e.dms(e.alice)) + len(e.dms(e.bob))
	// Re-pages every 300 ms would be due again within the idle horizon.
	e.idle()
	if now := len(e.dms(e.alice)) + len(e.dms(e.bob)); now != pages {
		t.Fatalf("%d more pages after the ack", now-pages)
	}

	// Resolved from the channel: the card shows the durations.
	if reply := e.slash(e.bob, ch, "/incident", "resolve fixed the deploy"); !strings.Contains(reply, "You resolved INC-1") {
		t.Fatalf("reply %q", reply)
	}
	e.waitFor("the resolved card", func() bool { return strings.Contains(blocksText(e.card(n)), "Time to resolve") })
	final := blocksText(e.card(n))
	for _, want := range []string{"Time to acknowledge", "Resolved", "resolved by Bob: fixed the deploy", "acknowledged by Bob", "escalated to Bob"} {
		if !strings.Contains(final, want) {
			t.Fatalf("the resolved card does not show %q:\n%s", want, final)
		}
	}
	if strings.Contains(final, "baton_resolve") {
		t.Fatal("the resolved card still has buttons")
	}

	// The Slack calls, in order, and the card only ever updated in place.
	imA, _ := e.fake.IM(e.alice.ID)
	imB, _ := e.fake.IM(e.bob.ID)
	calls := e.fake.Calls("")
	first := func(what string, match func(fakeslack.Call) bool) int {
		for i, c := range calls {
			if c.OK && match(c) {
				return i
			}
		}
		t.Fatalf("no call: %s", what)
		return -1
	}
	is := func(method string, kv ...string) func(fakeslack.Call) bool {
		return func(c fakeslack.Call) bool {
			if c.Method != method {
				return false
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if c.Param(kv[i]) != kv[i+1] {
					return false
				}
			}
			return true
		}
	}
	order := []struct {
		what  string
		match func(fakeslack.Call) bool
	}{
		{"channel created", is("conversations.create", "name", name)},
		{"card posted", is("chat.postMessage", "channel", ch)},
		{"card pinned", is("pins.add", "channel", ch, "timestamp", cardTS)},
		// The notice is not in this chain: it does not wait for the
		// channel, and is posted while the channel is being made.
		{"bob paged", is("chat.postMessage", "channel", imB.ID)},
		{"bob invited", is("conversations.invite", "channel", ch, "users", e.bob.ID)},
		{"card redrawn for the ack", func(c fakeslack.Call) bool {
			return is("chat.update", "channel", ch, "ts", cardTS)(c) && strings.Contains(jsonUnescape(c.Param("blocks")), "Acknowledged")
		}},
		{"card redrawn resolved", func(c fakeslack.Call) bool {
			return is("chat.update", "channel", ch, "ts", cardTS)(c) && strings.Contains(c.Param("blocks"), "Time to resolve")
		}},
	}
	last := -1
	for _, o := range order {
		i := first(o.what, o.match)
		if i < last {
			t.Fatalf("%s came before the step listed ahead of it", o.what)
		}
		last = i
	}
	if a, b := first("alice paged", is("chat.postMessage", "channel", imA.ID)), first("alice's DM opened", is("conversations.open", "users", e.alice.ID)); b > a {
		t.Fatal("alice was paged before her DM was opened")
	}
	if a, b := first("channel created", is("conversations.create", "name", name)), first("alice invited", is("conversations.invite", "channel", ch, "users", e.alice.ID)); b < a {
		t.Fatal("alice was invited before the channel existed")
	}
	if got := len(e.calls("chat.postMessage", inChannel(ch))); got != 1 {
		t.Fatalf("%d messages posted in the incident channel, want only the card (updates in place)", got)
	}
	if got := len(e.calls("conversations.create", nil)); got != 1 {
		t.Fatalf("%d channels created", got)
	}
	if got := len(e.calls("conversations.open", nil)); got != 2 {
		t.Fatalf("%d DMs opened, want one per person (alice, bob)", got)
	}
	if got := len(e.calls("users.lookupByEmail", nil)); got != 1 {
		t.Fatalf("bob was looked up by email %d times, want once (at start-up, then cached)", got)
	}
	// Nothing logged at info level carries the alert's title.
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, "Checkout API") {
			t.Fatalf("an info line carries the alert title: %s", line)
		}
	}
	t.Logf("%d Slack calls for the whole story", len(calls))
}
