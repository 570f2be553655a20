package slack_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
)

// escapeRE is what may follow an & in mrkdwn: one of Slack's three escapes.
var escapeRE = regexp.MustCompile(`&(amp|lt|gt);`)

// TestCardKeepsLatestLines acknowledges, notes and resolves incidents with
// long notes (plain, full of &, multi-byte, many of them) and proves that the
// card still shows the resolution and the latest lines, that every mrkdwn
// text fits Slack's 3,000 characters, and that no cut split an escape or a
// <…> token.
func TestCardKeepsLatestLines(t *testing.T) {
	e := newEnv(t, defaults())
	users := map[string]bool{e.alice.ID: true, e.bob.ID: true, e.carol.ID: true, e.mallory.ID: true}
	long := func(tag, fill string) string {
		s := tag + " "
		for utf8.RuneCountInString(s) < 990 {
			s += fill
		}
		return string([]rune(s)[:990])
	}
	cases := []struct {
		name  string
		ack   string
		notes []string
		// want are texts the card must show (escaped) besides FINALRESOLVE.
		want []string
	}{
		{name: "long plain notes", ack: long("ACKNOTE", "a"), notes: []string{long("NOTE1", "b"), long("NOTE2", "c")},
			want: []string{"ACKNOTE", "NOTE1", "NOTE2"}},
		{name: "notes full of ampersands", ack: long("ACKNOTE", "&"), notes: []string{long("NOTE1", "&")},
			want: []string{"ACKNOTE", "NOTE1"}},
		{name: "notes full of markup", ack: long("ACKNOTE", "<!channel>&"), notes: []string{long("NOTE1", "<@U0HOSTILE> &")},
			want: []string{"ACKNOTE", "NOTE1", "&lt;@U0HOSTILE&gt; &amp;"}},
		{name: "multi-byte notes", ack: long("ACKNOTE", "é&😀"), notes: []string{long("NOTE1", "日本&")},
			want: []string{"ACKNOTE", "NOTE1", "日本&amp;"}},
		{name: "many long notes", ack: long("ACKNOTE", "&"),
			notes: []string{long("NOTE1", "&"), long("NOTE2", "&<"), long("NOTE3", ">&"), long("NOTE4", "&"), long("NOTE5", "x&"), long("NOTE6", "&")},
			want:  []string{"NOTE3", "NOTE4", "NOTE5", "NOTE6"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := lastSeq(e.fake)
			n := e.open("payments", fmt.Sprintf("cardtail-%d", i), "checkout latency")
			e.announced(n)
			if _, err := e.svc.Ack(e.ctx, n, "alice", tc.ack); err != nil {
				t.Fatal(err)
			}
			for _, note := range tc.notes {
				if _, err := e.svc.Note(e.ctx, n, "alice", note); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.svc.Resolve(e.ctx, n, "alice", "FINALRESOLVE"); err != nil {
				t.Fatal(err)
			}
			e.waitFor("the resolved card", func() bool { return strings.Contains(blocksText(e.card(n)), "Time to resolve") })
			e.idle()

			card := blocksText(e.card(n))
			for _, w := range append([]string{"resolved by Alice: FINALRESOLVE"}, tc.want...) {
				if !strings.Contains(card, w) {
					t.Errorf("the card does not show %q:\n%s", w, card)
				}
			}
			links := map[string]bool{"https://example.com/q?x=1&y=2": true}
			for _, c := range e.fake.Calls("") {
				if c.Seq <= from || !c.OK || (c.Method != "chat.postMessage" && c.Method != "chat.update") {
					continue
				}
				checkInert(t, c, users, links)
				for _, text := range mrkdwnTexts(c.Blocks) {
					if l := utf8.RuneCountInString(text); l > 3000 {
						t.Errorf("%s #%d: a mrkdwn text of %d characters", c.Method, c.Seq, l)
					}
					for j := strings.IndexByte(text, '&'); j >= 0; j = nextAmp(text, j) {
						if !escapeRE.MatchString(text[j:min(len(text), j+4)]) && !escapeRE.MatchString(text[j:min(len(text), j+5)]) {
							t.Errorf("%s #%d: a split escape at %d: %q", c.Method, c.Seq, j, text[j:min(len(text), j+8)])
							break
						}
					}
					if !utf8.ValidString(text) {
						t.Errorf("%s #%d: invalid UTF-8 in %q", c.Method, c.Seq, text)
					}
				}
			}
		})
	}
}

func nextAmp(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// mrkdwnTexts is the text of every mrkdwn object in blocks.
func mrkdwnTexts(blocks []map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case []map[string]any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			if v["type"] == "mrkdwn" {
				s, _ := v["text"].(string)
				out = append(out, s)
			}
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(blocks)
	return out
}

// bidiRE matches the Unicode bidi controls that can reverse text on screen.
var bidiRE = regexp.MustCompile("[\u202A-\u202E\u2066-\u2069\u200E\u200F]")

// TestBidiControlsNeverReachSlack opens, notes and resolves incidents whose
// alert text carries bidi controls and proves that none reached Slack, in any
// parameter of any call or in a command's reply.
func TestBidiControlsNeverReachSlack(t *testing.T) {
	e := newEnv(t, defaults())
	cases := []struct {
		name, summary, service, note string
		shown                        string
	}{
		{name: "right-to-left override in the title", summary: "disk \u202Elluf\u202C on db1", shown: "disk lluf on db1"},
		{name: "isolates in a note", summary: "checkout 5xx", note: "rolled back \u2067v2\u2069 \u2066ok\u2069", shown: "rolled back v2 ok"},
		{name: "every control", summary: "x\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200Fy", note: "a\u200Fb\u202Ec", shown: "xy"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := lastSeq(e.fake)
			r, err := e.svc.Open(e.ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: fmt.Sprintf("bidi-%d", i),
				Summary: tc.summary, Severity: incident.SevCritical, Status: incident.AlertFiring})
			if err != nil {
				t.Fatal(err)
			}
			n := r.Number
			ch, _ := e.announced(n)
			e.waitFor("the page to alice", func() bool { return e.dmsAbout(e.alice, n, "") > 0 })
			if reply := e.slash(e.alice, ch, "/incident", "status"); bidiRE.MatchString(reply) {
				t.Errorf("the reply to /incident status holds a bidi control: %q", reply)
			}
			note := tc.note
			if note == "" {
				note = "looking \u202Eereh\u202C"
			}
			if _, err := e.svc.Note(e.ctx, n, "alice", note); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Resolve(e.ctx, n, "alice", "fixed \u202E"+note); err != nil {
				t.Fatal(err)
			}
			e.waitFor("the resolved card", func() bool { return strings.Contains(blocksText(e.card(n)), "Time to resolve") })
			e.idle()
			if card := blocksText(e.card(n)); !strings.Contains(card, tc.shown) {
				t.Errorf("the card does not show %q:\n%s", tc.shown, card)
			}
			calls := 0
			for _, c := range e.fake.Calls("") {
				if c.Seq <= from {
					continue
				}
				calls++
				for k, vs := range c.Params {
					for _, v := range vs {
						if bidiRE.MatchString(v) || bidiRE.MatchString(jsonUnescapeBidi(v)) {
							t.Errorf("%s #%d: %s holds a bidi control: %q", c.Method, c.Seq, k, v)
						}
					}
				}
			}
			if calls < 5 {
				t.Errorf("only %d calls were checked", calls)
			}
		})
	}
}

// jsonUnescapeBidi turns JSON \u escapes of bidi controls back into the
// characters, in case a parameter holds JSON.
var jsonUnescapeBidi = strings.NewReplacer(
	`\u202a`, "\u202A", `\u202b`, "\u202B", `\u202c`, "\u202C", `\u202d`, "\u202D", `\u202e`, "\u202E",
	`\u2066`, "\u2066", `\u2067`, "\u2067", `\u2068`, "\u2068", `\u2069`, "\u2069", `\u200e`, "\u200E", `\u200f`, "\u200F",
	`\u202A`, "\u202A", `\u202B`, "\u202B", `\u202C`, "\u202C", `\u202D`, "\u202D", `\u202E`, "\u202E",
	`\u200E`, "\u200E", `\u200F`, "\u200F").Replace
