package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/chromedp/chromedp"
	"github.com/slack-go/slack"

	"github.com/batonhq/baton/internal/browsertest"
)

// bundleBlocks is a bundled page as issue 14 describes it: a lead section
// with fields, one section per incident (the first shown) with its own
// Acknowledge (the same action_id in every block, told apart by value), a
// compact list of the rest, an actions block with "Acknowledge all N" and a
// menu, and a rich-text footnote.
func bundleBlocks(first, shown, total int) []slack.Block {
	txt := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	bs := []slack.Block{
		slack.NewSectionBlock(txt(fmt.Sprintf("*%d incidents* are paging you.", total)),
			[]*slack.TextBlockObject{txt("*Service*\ndatabase"), txt("*Level*\n1")}, nil, slack.SectionBlockOptionBlockID("lead")),
	}
	for n := first; n < first+shown; n++ {
		bs = append(bs, slack.NewSectionBlock(txt(fmt.Sprintf("*INC-%d* Redis node cache-%d unreachable\ndatabase · critical · level 1", n, n+6)), nil,
			slack.NewAccessory(slack.NewButtonBlockElement("incident_ack", fmt.Sprint(n), plain("Acknowledge"))),
			slack.SectionBlockOptionBlockID(fmt.Sprintf("inc-%d", n))))
	}
	var rest []string
	for n := first + shown; n < first+total; n++ {
		rest = append(rest, fmt.Sprintf("INC-%d", n))
	}
	menu := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Snooze…"), "snooze",
		slack.NewOptionBlockObject("10m", plain("10 minutes"), nil))
	all := slack.NewButtonBlockElement("incident_ack_all", fmt.Sprintf("%d-%d", first, first+total-1), plain(fmt.Sprintf("Acknowledge all %d", total)))
	all.Style = slack.StylePrimary
	return append(bs,
		slack.NewContextBlock("rest", txt("Also: "+strings.Join(rest, ", ")+" · `/incident list` shows them all")),
		slack.NewDividerBlock(),
		slack.NewActionBlock("bundle-actions", all, menu),
		slack.NewRichTextBlock("footnote", slack.NewRichTextSection(slack.NewRichTextSectionTextElement("Pages bundled: one message for the storm.", &slack.RichTextSectionTextStyle{Italic: true}))),
	)
}

// TestSandboxRendersBundleInBrowser: the sandbox page renders any Block Kit
// message, not only the card's shape: a bundled page shows every incident
// with its own working Acknowledge, the fields, the compact list, the menu
// (inert), the rich text and "Acknowledge all"; pressing one incident's
// Acknowledge sends that incident's value and block, as Slack would.
func TestSandboxRendersBundleInBrowser(t *testing.T) {
	acted := make(chan Action, 8)
	sb := startTestSandbox(t, func(a Action) { acted <- a })
	const first, shown, total = 4, 10, 12
	dm, ts, err := api(sb).PostMessageContext(testCtx(t), "U0ALICE", slack.MsgOptionText(fmt.Sprintf("%d incidents are paging you", total), false),
		slack.MsgOptionBlocks(bundleBlocks(first, shown, total)...))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	browser := browsertest.Start(t, ctx, 1600, 1400)
	if err := chromedp.Do(browser, chromedp.Navigate(sb.URL())); err != nil {
		t.Fatalf("open %s: %v", sb.URL(), err)
	}
	msg := fmt.Sprintf(`.msg[data-channel=%q][data-ts=%q]`, dm, ts)
	type onPage struct {
		Acks    []string `json:"acks"`    // values of the incident Acknowledge buttons
		All     string   `json:"all"`     // the "Acknowledge all" button's label
		Text    string   `json:"text"`    // the message's text on the page
		Inert   string   `json:"inert"`   // the menu, shown inert
		Fields  int      `json:"fields"`  // field cells
		Italics string   `json:"italics"` // the rich text's italic run
	}
	got, err := chromedp.Run(browser, chromedp.Poll[onPage](fmt.Sprintf(`(() => {
	  const m = document.querySelector(%q);
	  if (!m) return null;
	  const all = [...m.querySelectorAll('button.btn[data-action-id="incident_ack_all"]')][0];
	  return {acks: [...m.querySelectorAll('button.btn[data-action-id="incident_ack"]')].map((b) => b.dataset.value),
	          all: all ? all.textContent.trim() : "", text: m.textContent,
	          inert: (m.querySelector('.inert') || {}).textContent || "", fields: m.querySelectorAll('.fields > div').length,
	          italics: (m.querySelector('.block i') || {}).textContent || ""};
	})()`, msg), chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("the bundle never showed on the page: %v", err)
	}
	var wantAcks []string
	for n := first; n < first+shown; n++ {
		wantAcks = append(wantAcks, fmt.Sprint(n))
	}
	if strings.Join(got.Acks, ",") != strings.Join(wantAcks, ",") || got.All != fmt.Sprintf("Acknowledge all %d", total) ||
		got.Fields != 2 || !strings.Contains(got.Inert, "Snooze") || got.Italics != "Pages bundled: one message for the storm." {
		t.Fatalf("the bundle on the page: %+v", got)
	}
	for n := first; n < first+total; n++ {
		if !strings.Contains(got.Text, fmt.Sprintf("INC-%d", n)) {
			t.Errorf("INC-%d is not on the page: %s", n, got.Text)
		}
	}
	if png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)); err == nil {
		dir := t.TempDir()
		if a := os.Getenv("ARTIFACTS"); a != "" {
			dir = a
		}
		_ = os.WriteFile(filepath.Join(dir, "demo-sandbox-bundle.png"), png, 0o644)
	}

	// A click on one incident's Acknowledge, then on "Acknowledge all":
	// each reaches the fake as a block action naming its own block and value.
	tests := []struct {
		name, button, wantBlock, wantValue string
	}{
		{"one incident", `button[data-action-id="incident_ack"][data-value="9"]`, "inc-9", "9"},
		{"acknowledge all", `button[data-action-id="incident_ack_all"]`, "bundle-actions", fmt.Sprintf("%d-%d", first, first+total-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := browsertest.Click(browser, msg+" "+tc.button); err != nil {
				t.Fatalf("click: %v", err)
			}
			var a Action
			select {
			case a = <-acted:
			case <-time.After(10 * time.Second):
				t.Fatal("the click never reached the sandbox within 10s")
			}
			env, _ := sb.Fake.Envelope(a.Envelope)
			var p struct {
				User    struct{ ID string } `json:"user"`
				Actions []struct {
					BlockID string `json:"block_id"`
					Value   string `json:"value"`
				} `json:"actions"`
			}
			if err := json.Unmarshal(env.Payload, &p); err != nil || len(p.Actions) != 1 {
				t.Fatalf("payload %s: %v", env.Payload, err)
			}
			if x := p.Actions[0]; x.BlockID != tc.wantBlock || x.Value != tc.wantValue || p.User.ID != "U0ALICE" {
				t.Fatalf("block action by %s: block %q value %q, want %q %q", p.User.ID, x.BlockID, x.Value, tc.wantBlock, tc.wantValue)
			}
		})
	}
}

// TestDiscordSandboxAcknowledgeInBrowser: the Discord page shows a card (its
// embed and buttons) in its channel; pressing Acknowledge as Alice sends a
// real interaction over the fake's gateway, the bot's session answers it
// through the callback (UPDATE_MESSAGE, as baton does), and the card on the
// page changes to acknowledged, its Acknowledge button gone.
func TestDiscordSandboxAcknowledgeInBrowser(t *testing.T) {
	sb := startDiscordTestSandbox(t, nil)
	dg := discordBot(t, sb, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.Type != discordgo.InteractionMessageComponent || i.MessageComponentData().CustomID != "baton:ack:7" {
			return
		}
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{
				Embeds: []*discordgo.MessageEmbed{{Title: "INC-7 Disk almost full on db-3", Description: "**acknowledged** by <@" + i.Member.User.ID + ">", Color: 0xecb22e}},
				Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
					discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: "baton:resolve:7"}}}},
			}})
	})
	card := discordCard(t, dg, dbAlertsID, 7)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	browser := browsertest.Start(t, ctx, 1600, 1100)
	if err := chromedp.Do(browser, chromedp.Navigate(sb.URL())); err != nil {
		t.Fatalf("open %s: %v", sb.URL(), err)
	}
	msg := fmt.Sprintf(`.msg[data-channel=%q][data-message=%q]`, dbAlertsID, card.ID)
	shown, err := chromedp.Run(browser, chromedp.Poll[string](fmt.Sprintf(`(() => {
	  const m = document.querySelector(%q);
	  const s = document.getElementById('as');
	  if (!m || !s.options.length) return null;
	  s.value = %q; s.dispatchEvent(new Event('change'));
	  const b = m.querySelector('button.btn[data-custom-id="baton:ack:7"]');
	  return b && m.querySelector('.embed .etitle') ? m.textContent : null;
	})()`, msg, aliceDiscord), chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("the card never showed with its Acknowledge button: %v", err)
	}
	if !strings.Contains(shown, "INC-7 Disk almost full on db-3") || !strings.Contains(shown, "Alice Martin") {
		t.Fatalf("the card on the page: %s", shown)
	}
	if err := browsertest.Click(browser, msg+` button[data-custom-id="baton:ack:7"]`); err != nil {
		t.Fatalf("click: %v", err)
	}
	after, err := chromedp.Run(browser, chromedp.Poll[string](fmt.Sprintf(`(() => {
	  const m = document.querySelector(%q);
	  return m && !m.querySelector('button[data-custom-id="baton:ack:7"]') && /acknowledged by @Alice Martin/.test(m.textContent) ? m.textContent : null;
	})()`, msg), chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("the card did not change to acknowledged on the page: %v", err)
	}
	if !strings.Contains(after, "(edited)") {
		t.Errorf("the card is not marked edited: %s", after)
	}
	if png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)); err == nil {
		dir := t.TempDir()
		if a := os.Getenv("ARTIFACTS"); a != "" {
			dir = a
		}
		_ = os.WriteFile(filepath.Join(dir, "demo-sandbox-discord.png"), png, 0o644)
	}
}
