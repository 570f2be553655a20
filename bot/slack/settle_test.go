package slack_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// Once an incident is acknowledged, every page to each person loses its
// buttons and says who took it (earlier re-pages too), and the notice in
// the alerts channel says so too; once it is resolved, all say that. Each
// is redrawn once per status (and once for its channel's link when drawn
// before the channel existed).
func TestPagesAndNoticeSettle(t *testing.T) {
	cfg := defaults()
	cfg.repage = 150 * time.Millisecond
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)
	e.waitFor("alice paged twice", func() bool { return len(e.dms(e.alice)) >= 2 })

	e.must(e.fake.SendBlockAction(e.bob.ID, ch, card, "baton_ack", ""))
	e.waitFor("the ack", func() bool { return e.incident(n).Status == incident.StatusAcknowledged })
	pages := e.dms(e.alice)
	latest := pages[len(pages)-1]
	im := latest.Channel
	nch, nts, _ := strings.Cut(e.refs(n)["ntc"], "/")
	e.waitFor("the latest page settled", func() bool {
		m, _ := e.fake.Message(im, latest.TS)
		b := blocksText(m)
		return strings.Contains(b, "INC-1 was acknowledged; Bob owns it. The pages have stopped.") && !strings.Contains(b, "baton_ack")
	})
	e.waitFor("the notice says acknowledged", func() bool {
		m, _ := e.fake.Message(nch, nts)
		return strings.Contains(blocksText(m), "*Acknowledged* by <@"+e.bob.ID+">")
	})
	e.waitFor("the first page settled too", func() bool {
		first, _ := e.fake.Message(im, pages[0].TS)
		return !strings.Contains(blocksText(first), "baton_ack")
	})

	if r := e.slash(e.bob, ch, "/incident", "resolve fixed"); !strings.Contains(r, "You resolved INC-1") {
		t.Fatalf("reply %q", r)
	}
	e.waitFor("the latest page says resolved", func() bool {
		m, _ := e.fake.Message(im, latest.TS)
		return strings.Contains(blocksText(m), "INC-1 is resolved; nothing more to do.")
	})
	e.waitFor("the notice says resolved", func() bool {
		m, _ := e.fake.Message(nch, nts)
		b := blocksText(m)
		return strings.Contains(b, "*Resolved*") && strings.Contains(b, "✅")
	})
	e.idle()
	is := func(channel, ts string) func(fakeslack.Call) bool {
		return func(c fakeslack.Call) bool { return c.Param("channel") == channel && c.Param("ts") == ts }
	}

	// The notice is posted before the channel exists, so without its
	// link, and redrawn with it (announced waits for that) before the ack.
	if got := len(e.calls("chat.update", is(nch, nts))); got != 3 {
		t.Errorf("the notice was redrawn %d times, want 3 (its channel's link, acknowledged, resolved)", got)
	}
	for _, p := range pages {
		if got := len(e.calls("chat.update", is(im, p.TS))); got < 2 || got > 3 {
			t.Errorf("a page was redrawn %d times, want 2 (acknowledged, resolved) or 3 (and its channel's link)", got)
		}
	}
}

// A page that is gone when the incident is acknowledged (someone deleted
// it) is tried once and left; the rest still settles.
func TestSettleSkipsAGonePage(t *testing.T) {
	e := newEnv(t, defaults())
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)
	e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
	page := e.dms(e.alice)[0]
	// A page posted before the incident's channel existed may have been
	// redrawn with its link already: only the tries after the delete count.
	updates := func() []fakeslack.Call {
		var out []fakeslack.Call
		for _, c := range e.fake.Calls("chat.update") {
			if c.Param("channel") == page.Channel && c.Param("ts") == page.TS {
				out = append(out, c)
			}
		}
		return out
	}
	earlier := len(updates())
	api := slack.New(e.fake.BotToken(), slack.OptionAPIURL(e.fake.APIURL()))
	if _, _, err := api.DeleteMessage(page.Channel, page.TS); err != nil {
		t.Fatal(err)
	}
	ackByBob(e, n, ch, card)
	var tries int
	for _, c := range updates()[earlier:] {
		{
			tries++
			if c.Error != "message_not_found" {
				t.Errorf("update of the deleted page answered %q", c.Error)
			}
		}
	}
	if tries != 1 {
		t.Errorf("the deleted page was tried %d times, want once", tries)
	}
	if !strings.Contains(e.log.String(), "could not redraw the page; leaving it") {
		t.Error("the gone page was not logged")
	}
}

// A page deleted before its incident's channel existed fails its link
// redraw (message_not_found) and is forgotten there: the acknowledgement's
// redraw does not try it again. (Before, the link redraw left it recorded
// as live, and the ack tried it a second time: TestSettleSkipsAGonePage
// failed so when the channel came after the delete.)
func TestSettleForgetsAGonePage(t *testing.T) {
	e := newEnv(t, defaults())
	// The channel comes 2 s late; the page goes at once, without its link.
	e.fake.FailNext("conversations.create", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	n := e.open("payments", "k", "Disk full")
	e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
	page := e.dms(e.alice)[0]
	api := slack.New(e.fake.BotToken(), slack.OptionAPIURL(e.fake.APIURL()))
	if _, _, err := api.DeleteMessage(page.Channel, page.TS); err != nil {
		t.Fatal(err)
	}
	tries := func() (n int) {
		for _, c := range e.fake.Calls("chat.update") {
			if c.Param("channel") == page.Channel && c.Param("ts") == page.TS {
				n++
			}
		}
		return n
	}
	ch, card := e.announced(n)
	e.waitFor("the link redraw of the deleted page", func() bool { return tries() == 1 })
	ackByBob(e, n, ch, card)
	if got := tries(); got != 1 {
		t.Errorf("the deleted page was tried %d times, want once (its link redraw)", got)
	}
}

// ackByBob presses Acknowledge on INC-n's card (channel ch, message card)
// as bob, and waits until the notice says so and the bot is idle: every
// redraw the ack causes has been made.
func ackByBob(e *env, n int64, ch, card string) {
	e.t.Helper()
	e.must(e.fake.SendBlockAction(e.bob.ID, ch, card, "baton_ack", ""))
	nch, nts, _ := strings.Cut(e.refs(n)["ntc"], "/")
	e.waitFor("the notice says acknowledged", func() bool {
		m, _ := e.fake.Message(nch, nts)
		return strings.Contains(blocksText(m), "*Acknowledged*")
	})
	e.idle()
}
