package slack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// The hostile strings every case below carries somewhere.
const (
	hostileMentions = "<!channel> <!here> <!everyone> <@U0HOSTILE> <!subteam^S0HOSTILE|@oncall> <#C0HOSTILE>"
	hostileURL      = "https://example.com/x> <!channel> <@U0HOSTILE> <https://example.com/y"
	hostileLink     = "<https://evil.example/login|Reset your password>"
)

// TestHostileAlertTextIsInert posts incidents whose alert text is built to
// break out of Slack's markup (mentions, links, a URL that ends its own link
// early) through the real render path: the card in the incident channel, its
// redraws with notes and the resolution, the notice in the alerts channel,
// the page DM, the thread reply for a repeat, a command's reply. It then reads every message
// fakeslack received and proves that no mention, link or markup of the
// alert's own got through: every < in mrkdwn is baton's own token (a
// configured person, a channel Slack made, a date, a link whose URL passes
// incident.CheckLinkURL), every mrkdwn object is verbatim, and the
// notification text has no < or > at all.
func TestHostileAlertTextIsInert(t *testing.T) {
	cfg := defaults()
	cfg.repeatEvery = time.Millisecond // a repeat replies in the thread at once
	e := newEnv(t, cfg)
	users := map[string]bool{e.alice.ID: true, e.bob.ID: true, e.carol.ID: true, e.mallory.ID: true}

	cases := []struct {
		name    string
		summary string
		details map[string]any
		links   []incident.Link
		note    string
		// shown is what the card must show, escaped (the text is not lost).
		shown string
		// link is the one link the card may carry ("" for none).
		link string
		// header is what the card's plain_text header shows, if checked.
		header string
	}{
		{name: "mentions in the summary", summary: "Disk full " + hostileMentions,
			shown: "Disk full &lt;!channel&gt; &lt;!here&gt;", header: "INC-1 Disk full ‹!channel› ‹!here›"},
		{name: "a link and markup in the summary", summary: "Click " + hostileLink + " & <https://evil.example> *now*",
			shown: "Click &lt;https://evil.example/login|Reset your password&gt; &amp;"},
		{name: "bare mention words and URLs", summary: "@channel @here see https://evil.example/#general",
			shown: "@channel @here see https://evil.example/#general"},
		{name: "a link URL that closes the link early", summary: "checkout 5xx",
			links: []incident.Link{{Text: "query", URL: hostileURL}}, shown: "query (link not shown: unsafe URL)"},
		{name: "a link URL with a pipe", summary: "checkout 5xx",
			links: []incident.Link{{Text: "query", URL: "https://example.com/a|<!here>"}}, shown: "query (link not shown: unsafe URL)"},
		{name: "a javascript link", summary: "checkout 5xx",
			links: []incident.Link{{Text: "runbook", URL: "javascript:alert(1)"}}, shown: "runbook (link not shown: unsafe URL)"},
		{name: "hostile text on a safe link", summary: "checkout 5xx",
			links: []incident.Link{{Text: "graph " + hostileMentions, URL: "https://example.com/q?x=1&y=2"}},
			shown: "|graph &lt;!channel&gt;", link: "https://example.com/q?x=1&y=2"},
		{name: "hostile details and keys", summary: "queue depth",
			details: map[string]any{hostileMentions: hostileLink, "url": hostileURL, "nested": map[string]any{"k": hostileMentions}},
			shown:   "queue depth"},
		{name: "hostile notes", summary: "db replication lag", note: "fixed by " + hostileLink + " " + hostileMentions,
			shown: "fixed by &lt;https://evil.example/login|Reset your password&gt;"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := lastSeq(e.fake)
			alert := incident.Alert{Source: "generic", Service: "payments", DedupKey: fmt.Sprintf("hostile-%d %s", i, hostileMentions),
				Summary: tc.summary, Severity: incident.SevCritical, Status: incident.AlertFiring, Details: tc.details, Links: tc.links}
			r, err := e.svc.Open(e.ctx, alert)
			if err != nil {
				t.Fatal(err)
			}
			n := r.Number
			e.announced(n)
			e.waitFor("the page to alice", func() bool { return e.dmsAbout(e.alice, n, "") > 0 })
			// A repeat: a thread reply on the card.
			if _, err := e.svc.Open(e.ctx, alert); err != nil {
				t.Fatal(err)
			}
			e.waitFor("the thread reply", func() bool { return threadReplies(e, n) > 0 })
			// A command's reply quotes the title: escaped too.
			ch := e.refs(n)["ch"]
			id, err := e.fake.SendSlashCommand(e.alice.ID, ch, "/incident", "status")
			if err != nil {
				t.Fatal(err)
			}
			e.waitFor("the reply to /incident status", func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
			if reply := e.fake.ResponsePosts(id)[0].Text; strings.ContainsAny(reply, "<>") || !strings.Contains(reply, fmt.Sprintf("INC-%d", n)) {
				t.Errorf("the reply to /incident status holds markup: %q", reply)
			}
			note := tc.note
			if note == "" {
				note = "looked at " + hostileMentions
			}
			if _, err := e.svc.Note(e.ctx, n, "alice", note); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Resolve(e.ctx, n, "alice", "resolved by "+hostileLink); err != nil {
				t.Fatal(err)
			}
			e.waitFor("the resolved card", func() bool { return strings.Contains(blocksText(e.card(n)), "Time to resolve") })
			e.idle()

			card := blocksText(e.card(n))
			nch, nts, _ := strings.Cut(e.refs(n)["ntc"], "/")
			notice, ok := e.fake.Message(nch, nts)
			if !ok {
				t.Fatalf("no notice for INC-%d", n)
			}
			if shown := card + blocksText(notice); !strings.Contains(shown, tc.shown) {
				t.Errorf("neither the card nor the notice shows %q:\n%s", tc.shown, shown)
			}
			if tc.header != "" && !strings.Contains(card, tc.header) {
				t.Errorf("the card's header does not read %q:\n%s", tc.header, card)
			}
			if !strings.Contains(card, "Alice: ") || !strings.Contains(card, "resolved by Alice: resolved by &lt;https://evil.example/login|Reset your password&gt;") {
				t.Errorf("the card's timeline does not show the notes, escaped:\n%s", card)
			}
			links := map[string]bool{}
			if tc.link != "" {
				links[tc.link] = true
				if !strings.Contains(card, "<"+strings.ReplaceAll(tc.link, "&", "&amp;")+"|") {
					t.Errorf("the card does not link %s:\n%s", tc.link, card)
				}
			}
			calls := 0
			for _, method := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral"} {
				for _, c := range e.fake.Calls(method) {
					if c.Seq <= from || !c.OK {
						continue
					}
					calls++
					checkInert(t, c, users, links)
				}
			}
			if calls < 5 { // card, notice, page, thread reply, redraws
				t.Errorf("only %d messages were checked", calls)
			}
		})
	}
}

// lastSeq is the sequence number of the latest call the fake recorded.
func lastSeq(f *fakeslack.Server) int {
	last := 0
	for _, m := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral"} {
		for _, c := range f.Calls(m) {
			last = max(last, c.Seq)
		}
	}
	return last
}

// threadReplies counts the replies under incident n's card.
func threadReplies(e *env, n int64) int {
	r := e.refs(n)
	c := 0
	for _, m := range e.fake.Messages(r["ch"]) {
		if m.ThreadTS == r["card"] && m.TS != r["card"] {
			c++
		}
	}
	return c
}

// Baton's own tokens, the only <…> a message may hold.
var (
	tokenRE   = regexp.MustCompile(`<[^<>]*>`)
	userRE    = regexp.MustCompile(`^<@(U[A-Z0-9]+)>$`)
	channelRE = regexp.MustCompile(`^<#C[A-Z0-9]+>$`)
	dateRE    = regexp.MustCompile(`^<!date\^[0-9]+\^\{[a-z_]+\}\|[^<>|]*>$`)
	linkRE    = regexp.MustCompile(`^<(https?://[^|<>\s]+)\|[^<>]*>$`)
)

// checkInert fails t when a message call carries markup that baton did not
// write itself. users are the people a mention may name, links the URLs a
// link may point to.
func checkInert(t *testing.T, c fakeslack.Call, users, links map[string]bool) {
	t.Helper()
	if text := c.Param("text"); strings.ContainsAny(text, "<>") {
		t.Errorf("%s #%d: the notification text holds markup: %q", c.Method, c.Seq, text)
	}
	for _, p := range []string{"parse", "link_names"} {
		if v := c.Param(p); v != map[string]string{"parse": "none", "link_names": "false"}[p] {
			t.Errorf("%s #%d: %s = %q", c.Method, c.Seq, p, v)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			if typ, _ := v["type"].(string); typ == "plain_text" {
				if text, _ := v["text"].(string); strings.ContainsAny(text, "<>") {
					t.Errorf("%s #%d: plain text holds < or >: %q", c.Method, c.Seq, text)
				}
			} else if typ == "mrkdwn" {
				text, _ := v["text"].(string)
				if v["verbatim"] != true {
					t.Errorf("%s #%d: mrkdwn that Slack may auto-link: %q", c.Method, c.Seq, text)
				}
				checkMrkdwn(t, c, text, users, links)
			}
			for _, x := range v {
				walk(x)
			}
		}
	}
	var blocks any
	if raw := c.Param("blocks"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
			t.Fatalf("%s #%d: blocks do not decode: %v", c.Method, c.Seq, err)
		}
	}
	walk(blocks)
}

// checkMrkdwn fails t when text holds a <…> that is not baton's own, or a
// stray < or >.
func checkMrkdwn(t *testing.T, c fakeslack.Call, text string, users, links map[string]bool) {
	t.Helper()
	rest := tokenRE.ReplaceAllStringFunc(text, func(tok string) string {
		switch {
		case userRE.MatchString(tok):
			if id := userRE.FindStringSubmatch(tok)[1]; !users[id] {
				t.Errorf("%s #%d: a mention of %s, no one baton knows: %q", c.Method, c.Seq, id, text)
			}
		case channelRE.MatchString(tok), dateRE.MatchString(tok):
		case linkRE.MatchString(tok):
			u := strings.ReplaceAll(linkRE.FindStringSubmatch(tok)[1], "&amp;", "&")
			if !links[u] || incident.CheckLinkURL(u) != nil {
				t.Errorf("%s #%d: a link to %s: %q", c.Method, c.Seq, u, text)
			}
		default:
			t.Errorf("%s #%d: markup %q in %q", c.Method, c.Seq, tok, text)
		}
		return ""
	})
	if strings.ContainsAny(rest, "<>") {
		t.Errorf("%s #%d: a stray < or > in %q", c.Method, c.Seq, text)
	}
	for _, bad := range []string{"<!channel", "<!here", "<!everyone", "<!subteam", "<@U0HOSTILE", "<#C0HOSTILE", "<https://evil", "<https://example.com/y"} {
		if strings.Contains(text, bad) {
			t.Errorf("%s #%d: %q got through: %q", c.Method, c.Seq, bad, text)
		}
	}
}
