package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

var testPeople = []Person{
	{ID: "alice", Name: "Alice Martin", Email: "alice@example.com", SlackID: "U0ALICE"},
	{ID: "bob", Name: "Bob Chen", Email: "bob@example.com"}, // no Slack id: the fake gives one
}

func startTestSandbox(t *testing.T, onAction func(Action)) *Sandbox {
	t.Helper()
	sb, err := StartSandbox(SandboxOptions{
		Addr: "127.0.0.1:0", People: testPeople, Channels: []string{"#db-alerts"},
		Baton:    func(context.Context) (any, error) { return map[string]any{"incidents": []any{}}, nil },
		OnAction: onAction,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func api(sb *Sandbox) *slack.Client {
	return slack.New(sb.Fake.BotToken(), slack.OptionAPIURL(sb.Fake.APIURL()))
}

// postCard posts a message with an Acknowledge button, as a pager would.
func postCard(t *testing.T, sb *Sandbox, channel string) (string, string) {
	t.Helper()
	btn := slack.NewButtonBlockElement("incident_ack", "7", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", false, false))
	ch, ts, err := api(sb).PostMessageContext(testCtx(t), channel, slack.MsgOptionText("INC-7", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("b", btn)))
	if err != nil {
		t.Fatal(err)
	}
	return ch, ts
}

func TestSandboxSeedsPeopleAndChannels(t *testing.T) {
	sb := startTestSandbox(t, nil)
	people := sb.People()
	if people[0].SlackID != "U0ALICE" || people[1].SlackID == "" {
		t.Fatalf("people %+v", people)
	}
	if u, ok := sb.Fake.User(people[1].SlackID); !ok || u.Email != "bob@example.com" || u.Name != "bob" {
		t.Fatalf("bob in the fake: %+v %v", u, ok)
	}
	c, ok := sb.Fake.Channel("#db-alerts")
	if !ok || !c.HasMember("U0ALICE") || !c.HasMember(sb.Fake.BotUserID()) {
		t.Fatalf("#db-alerts: %+v %v", c, ok)
	}
	if !strings.HasPrefix(sb.URL(), "http://127.0.0.1:") || !strings.HasSuffix(sb.URL(), "/") {
		t.Fatalf("URL %q", sb.URL())
	}
}

func TestSandboxServesPageAndState(t *testing.T) {
	sb := startTestSandbox(t, nil)
	for path, want := range map[string]string{
		"":                          `<select id="as"`,
		"sandbox/static/app.js":     "EventSource",
		"sandbox/static/style.css":  ".card",
		"sandbox/state":             `"slack_id":"U0ALICE"`,
		"api/auth.test?token=wrong": `"ok":false`, // the fake still owns /api/
	} {
		resp, err := http.Get(sb.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("GET /%s: %d, no %q in %.300s", path, resp.StatusCode, want, b)
		}
	}
	var v View
	resp, err := http.Get(sb.URL() + "sandbox/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if len(v.People) != 2 || v.BotConnected != 0 || v.Baton == nil || len(v.Workspace.Channels) != 1 {
		t.Fatalf("view %+v", v)
	}
}

func postAct(t *testing.T, sb *Sandbox, a Action) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(a)
	return postPage(t, sb.URL()+"sandbox/act", "application/json", string(b))
}

// postPage POSTs body to a sandbox page's URL and returns the status and
// the JSON answer.
func postPage(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSandboxActions(t *testing.T) {
	var mu sync.Mutex
	var acted []Action
	sb := startTestSandbox(t, func(a Action) { mu.Lock(); acted = append(acted, a); mu.Unlock() })
	ch, ts := postCard(t, sb, "U0ALICE")

	tests := []struct {
		name     string
		act      Action
		status   int
		envType  string
		errorHas string
	}{
		{"button", Action{As: "U0ALICE", Kind: "button", Channel: ch, TS: ts, ActionID: "incident_ack", Label: "Acknowledge"}, 200, "interactive", ""},
		{"reaction", Action{As: "U0ALICE", Kind: "reaction", Channel: ch, TS: ts, Reaction: ":white_check_mark:"}, 200, "events_api", ""},
		{"command", Action{As: "U0ALICE", Kind: "command", Channel: "#db-alerts", Text: "  /incident   ack #7 "}, 200, "slash_commands", ""},
		{"same reaction twice", Action{As: "U0ALICE", Kind: "reaction", Channel: ch, TS: ts, Reaction: "white_check_mark"}, 400, "", "already reacted"},
		{"not a demo person", Action{As: "U0BATONBOT", Kind: "command", Channel: "#db-alerts", Text: "/oncall"}, 400, "", "not one of the demo people"},
		{"not a command", Action{As: "U0ALICE", Kind: "command", Channel: "#db-alerts", Text: "ack"}, 400, "", "slash command"},
		{"unknown button", Action{As: "U0ALICE", Kind: "button", Channel: ch, TS: ts, ActionID: "nope"}, 400, "", "no element"},
		{"unknown kind", Action{As: "U0ALICE", Kind: "wave", Channel: ch}, 400, "", "unknown action kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := postAct(t, sb, tc.act)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if tc.errorHas != "" {
				if msg, _ := out["error"].(string); !strings.Contains(msg, tc.errorHas) {
					t.Fatalf("error %q lacks %q", msg, tc.errorHas)
				}
				return
			}
			id, _ := out["envelope"].(string)
			env, ok := sb.Fake.Envelope(id)
			if !ok || env.Type != tc.envType || !strings.Contains(string(env.Payload), "U0ALICE") {
				t.Fatalf("envelope %q: %+v", id, env)
			}
			if out["bot_connected"] != false {
				t.Fatalf("bot_connected %v with no Socket Mode client", out["bot_connected"])
			}
		})
	}
	resp, err := http.Post(sb.URL()+"sandbox/act", "text/plain", strings.NewReader(`{"as":"U0ALICE","kind":"command","channel":"#db-alerts","text":"/oncall"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || len(sb.Fake.Envelopes()) != 3 {
		t.Fatalf("a text/plain action (a cross-site form could send it) answered %d", resp.StatusCode)
	}
	if env := sb.Fake.Envelopes()[2]; !strings.Contains(string(env.Payload), `"text":"ack #7"`) {
		t.Errorf("the command's text was not trimmed: %s", env.Payload)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acted) != 3 || acted[2].Text != "/incident ack #7" || acted[0].Envelope == "" {
		t.Fatalf("OnAction saw %+v", acted)
	}
}

// TestSandboxEventsStream: the page's Server-Sent Events send the view at
// once, then again when the workspace changes.
func TestSandboxEventsStream(t *testing.T) {
	sb := startTestSandbox(t, nil)
	next := readStream[View](t, sb.URL()+"sandbox/events")
	if v := next(); len(v.People) != 2 {
		t.Fatalf("first event %+v", v)
	}
	ch, _ := postCard(t, sb, "#db-alerts")
	for {
		v := next()
		if msgs := v.Workspace.Messages[ch]; len(msgs) == 1 && strings.Contains(string(msgs[0].Blocks), "Acknowledge") {
			break
		}
	}
}

// TestSandboxPressFindsTheNewestButton: Press finds a demo person's newest
// DM message with the button asked for (in an actions block or a
// section's accessory) and presses it as them; a button that is not there
// (not posted, or on someone else's DM) presses nothing.
func TestSandboxPressFindsTheNewestButton(t *testing.T) {
	acted := make(chan Action, 8)
	sb := startTestSandbox(t, func(a Action) { acted <- a })
	bobID := sb.People()[1].SlackID
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	post := func(blocks ...slack.Block) string {
		_, ts, err := api(sb).PostMessageContext(testCtx(t), bobID, slack.MsgOptionText("page", false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	post(slack.NewActionBlock("a", slack.NewButtonBlockElement("baton_ackpage", "2", plain("Acknowledge my page"))))
	newest := post(slack.NewSectionBlock(plain("INC-3"), nil, slack.NewAccessory(slack.NewButtonBlockElement("baton_ackpage", "3", plain("Acknowledge my page")))))
	post(slack.NewActionBlock("c", slack.NewButtonBlockElement("baton_ack", "3", plain("Acknowledge"))))

	tests := []struct {
		name, person, actionID, value string
		wantTS, wantValue             string
	}{
		{"newest of the action", "bob", "baton_ackpage", "", newest, "3"},
		{"by value", "bob", "baton_ackpage", "2", "", "2"},
		{"no such button", "bob", "baton_takepager", "", "", ""},
		{"another person's DM", "alice", "baton_ackpage", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := sb.Press(tc.person, tc.actionID, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantValue != "") {
				t.Fatalf("pressed %v", ok)
			}
			if !ok {
				return
			}
			a := <-acted
			if a.As != bobID || a.ActionID != tc.actionID || a.Value != tc.wantValue || (tc.wantTS != "" && a.TS != tc.wantTS) || a.Label != "Acknowledge my page" {
				t.Fatalf("acted %+v", a)
			}
		})
	}
}

// TestSandboxShowsEmails: the page's state carries the emails of the
// demo's SMTP sink (none: an empty list; no sink: null).
func TestSandboxShowsEmails(t *testing.T) {
	emails := []Email{{To: []string{"bob@example.com"}, Subject: "INC-4 [critical] Batch queue backlog (batch)", Body: "Level 1"}}
	tests := []struct {
		name   string
		emails func() []Email
		want   string
	}{
		{"sink with an email", func() []Email { return emails }, `"emails":[{"to":["bob@example.com"],"subject":"INC-4 [critical] Batch queue backlog (batch)","body":"Level 1"}]`},
		{"sink without emails", func() []Email { return nil }, `"emails":[]`},
		{"no sink", nil, `"emails":null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := StartSandbox(SandboxOptions{Addr: "127.0.0.1:0", People: testPeople, Emails: tc.emails})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			resp, err := http.Get(sb.URL() + "sandbox/state")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("state lacks %s:\n%s", tc.want, b)
			}
		})
	}
}

// readStream opens a sandbox page's event stream and returns a function
// that waits for its next view (10 s at most).
func readStream[V any](t *testing.T, url string) func() V {
	t.Helper()
	ctx := testCtx(t)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan V, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v V
				if json.Unmarshal([]byte(data), &v) != nil {
					continue
				}
				select {
				case events <- v:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return func() V {
		t.Helper()
		select {
		case v, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return v
		case <-ctx.Done():
			t.Fatal("no event within the timeout")
		}
		var zero V
		return zero
	}
}
