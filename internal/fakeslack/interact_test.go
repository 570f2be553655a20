package fakeslack

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
)

func TestResponseURL(t *testing.T) {
	s, api := newFake(t, WithAckTimeout(0, 0))
	alice, _, alerts := seed(s)
	id, err := s.SendSlashCommand(alice.ID, alerts.ID, "/incident", "list")
	if err != nil {
		t.Fatal(err)
	}
	env, _ := s.Envelope(id)
	reply := func(text, responseType string) error {
		_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(env.ResponseURL, responseType), slack.MsgOptionText(text, false))
		return err
	}

	s.FailNext("response_url", 1, HTTPError(http.StatusServiceUnavailable))
	var sc slack.StatusCodeError
	if err := reply("x", slack.ResponseTypeEphemeral); !errors.As(err, &sc) || sc.Code != 503 {
		t.Fatalf("faulted response_url: %v", err)
	}
	if n := len(s.ResponsePosts(id)); n != 0 {
		t.Fatalf("faulted post recorded %d times", n)
	}

	if err := reply("INC-1 db down (open)", slack.ResponseTypeEphemeral); err != nil {
		t.Fatal(err)
	}
	if err := reply("INC-1 is being handled", slack.ResponseTypeInChannel); err != nil {
		t.Fatal(err)
	}
	if e := s.Ephemerals(alice.ID); len(e) != 1 || e[0].Text != "INC-1 db down (open)" {
		t.Fatalf("ephemerals %+v", e)
	}
	if m := s.Messages(alerts.ID); len(m) != 1 || m[0].Text != "INC-1 is being handled" || m[0].User != s.BotUserID() {
		t.Fatalf("in_channel reply %+v", m)
	}
	for range 3 {
		if err := reply("again", slack.ResponseTypeEphemeral); err != nil {
			t.Fatal(err)
		}
	}
	if err := reply("sixth", slack.ResponseTypeEphemeral); slackErr(t, err) != "used_url" {
		t.Fatalf("sixth use: %v", err)
	}
	if n := len(s.ResponsePosts(id)); n != 5 {
		t.Fatalf("%d response posts, want 5", n)
	}
}

func TestStateForTheDemoPage(t *testing.T) {
	s, api := newFake(t)
	alice, _, alerts := seed(s)
	s.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(s.State())
	}))
	_, ts, _ := api.PostMessage(alerts.ID, slack.MsgOptionText("INC-1", false), slack.MsgOptionBlocks(cardBlocks()...))
	_, _, _ = api.PostMessage(alice.ID, slack.MsgOptionText("you are paged", false))
	_, _ = s.AddReaction(alice.ID, alerts.ID, ts, "eyes")

	resp, err := http.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var w Workspace
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("state JSON %s: %v", body, err)
	}
	im, _ := s.IM(alice.ID)
	card := w.Messages[alerts.ID]
	if len(w.Users) != 3 || len(w.Channels) != 2 || len(card) != 1 || len(w.Messages[im.ID]) != 1 {
		t.Fatalf("state %s", body)
	}
	if card[0].Reactions[0].Name != "eyes" || len(card[0].Blocks) == 0 {
		t.Fatalf("card %+v", card[0])
	}
}

// TestBlockActionSameActionIDInSeveralBlocks: a bundled page carries one
// Acknowledge per incident, the same action_id in several blocks told apart
// by value (Slack wants action_id unique only within a block); a click names
// the block of the button whose value it carries.
func TestBlockActionSameActionIDInSeveralBlocks(t *testing.T) {
	s, api := newFake(t, WithAckTimeout(0, 0))
	alice, _, _ := seed(s)
	ack := func(n string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement("incident_ack", n, slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", false, false))
	}
	section := func(n string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*INC-"+n+"*", false, false), nil,
			slack.NewAccessory(ack(n)), slack.SectionBlockOptionBlockID("inc-"+n))
	}
	dm, ts, err := api.PostMessage(alice.ID, slack.MsgOptionText("3 incidents", false), slack.MsgOptionBlocks(
		section("4"), section("5"), section("6"),
		slack.NewActionBlock("bundle", slack.NewButtonBlockElement("incident_ack_all", "4,5,6", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge all 3", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, actionID, value string
		wantBlock, wantValue  string
	}{
		{"no value: the first", "incident_ack", "", "inc-4", "4"},
		{"the second incident's button", "incident_ack", "5", "inc-5", "5"},
		{"the last incident's button", "incident_ack", "6", "inc-6", "6"},
		{"a value no button has: the first, with that value", "incident_ack", "9", "inc-4", "9"},
		{"acknowledge all", "incident_ack_all", "", "bundle", "4,5,6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.SendBlockAction(alice.ID, dm, ts, tc.actionID, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			env, _ := s.Envelope(id)
			var p struct {
				Actions []struct {
					BlockID string `json:"block_id"`
					Value   string `json:"value"`
				} `json:"actions"`
			}
			if err := json.Unmarshal(env.Payload, &p); err != nil || len(p.Actions) != 1 {
				t.Fatalf("payload %s: %v", env.Payload, err)
			}
			if a := p.Actions[0]; a.BlockID != tc.wantBlock || a.Value != tc.wantValue {
				t.Fatalf("action block %q value %q, want %q %q", a.BlockID, a.Value, tc.wantBlock, tc.wantValue)
			}
		})
	}
}
