package slack_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// Twenty new incidents for one service within a second: the service's
// alerts channel gets at most two messages naming every incident once each
// (the first notice at once, alone; the notices due while it was posted and
// within the bundle window after it as one, "19 new incidents: …"), not
// twenty, and not one per chat worker's worth. With the answer to a
// bundle's post lost (Slack posted it; the bot got a 502), each incident's
// chat job finds its notice in that message by its own key and posts none
// again. The runner restarted in the burst loses none. A lone incident's
// notice goes out alone, and gets the link to its channel once it exists.
//
// Under Slack's own limits (fakeslack enforcing them, the bot pacing to
// them) the notices do not wait for the incidents' channels, which Slack
// creates about 20 a minute (conversations.create is Tier 2): a burst of 30
// is announced in at most two messages within a few seconds, without a
// link to the channels not made yet, and the pages to the owner are not
// held back by them (every incident named in a DM within 5 s).
func TestNoticesBundled(t *testing.T) {
	cases := []struct {
		name        string
		incidents   int64
		lose        bool // the first bundle's answer is lost
		restart     bool // the runner is restarted after the alerts
		slackLimits bool // fakeslack enforces Slack's limits, the bot paces to them
		most        int  // notice messages at most
	}{
		{name: "burst", incidents: 20, most: 2},
		{name: "burst, a bundle's answer lost", incidents: 20, lose: true, most: 2},
		{name: "burst, the runner restarted", incidents: 20, restart: true, most: 2},
		{name: "burst of 30 under Slack's limits", incidents: 30, slackLimits: true, most: 2},
		{name: "one incident", incidents: 1, most: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			incidents := tc.incidents
			var lost atomic.Bool
			cfg := defaults()
			if tc.slackLimits {
				cfg.limits = slackbot.SlackLimits()
			}
			cfg.before = func(e *env) {
				if tc.slackLimits {
					e.fake.UseSlackRateLimits()
				}
				if !tc.lose {
					return
				}
				e.fake.InjectFaults(func(method string, p url.Values) (fakeslack.Fault, bool) {
					if method != "chat.postMessage" || !strings.Contains(p.Get("text"), " new incidents:") {
						return fakeslack.Fault{}, false
					}
					return fakeslack.Fault{Status: http.StatusBadGateway, Applied: true}, lost.CompareAndSwap(false, true)
				})
			}
			e := newEnv(t, cfg)
			start := time.Now()
			for i := range incidents {
				e.open("payments", fmt.Sprintf("burst-%d", i), fmt.Sprintf("Burst alert %d on host-%d", i, i))
			}
			if tc.restart {
				e.restart()
			}
			e.waitFor("every notice recorded", func() bool {
				for n := int64(1); n <= incidents; n++ {
					if e.refs(n)["ntc"] == "" {
						return false
					}
				}
				return true
			})
			recorded := time.Since(start)
			if tc.lose && !lost.Load() {
				t.Fatal("no bundle of notices was posted, so no answer was lost")
			}
			// Every job is done: nothing more will be posted.
			slot := strings.TrimSuffix(e.svc.JobsKey(), "jobs")
			e.waitFor("no chat job running", func() bool {
				running, err := e.rdb.ZCard(e.ctx, slot+"inflight").Result()
				return err == nil && running == 0
			})
			named := map[int64]int{}
			msgs := 0
			for _, m := range e.fake.Messages(e.alerts.ID) {
				if m.ThreadTS != "" && m.ThreadTS != m.TS {
					continue
				}
				msgs++
				seen := map[int64]bool{}
				for _, s := range incRE.FindAllStringSubmatch(m.Text, -1) {
					n, _ := strconv.ParseInt(s[1], 10, 64)
					if !seen[n] {
						seen[n] = true
						named[n]++
					}
				}
			}
			t.Logf("%d incidents announced in %d messages, every notice recorded after %v", incidents, msgs, recorded.Round(time.Millisecond))
			if tc.slackLimits {
				e.noticesWithinSeconds(start, incidents)
			}
			for n := int64(1); n <= incidents; n++ {
				if named[n] != 1 {
					t.Errorf("INC-%d named in %d notices, want 1", n, named[n])
				}
			}
			// A notice waiting for its bundle holds no chat worker (the
			// runner has 4), so the whole burst gathers behind the first.
			if msgs < 1 || msgs > tc.most {
				t.Errorf("%d notice messages for %d incidents, want 1 to %d", msgs, incidents, tc.most)
			}
			if incidents == 1 {
				// A lone notice posted before its incident's channel
				// existed gets the link to it once it does.
				e.waitFor("the notice linked to the incident's channel", func() bool {
					r := e.refs(1)
					ch, ts, _ := strings.Cut(r["ntc"], "/")
					m, ok := e.fake.Message(ch, ts)
					return ok && r["ch"] != "" && strings.Contains(blocksText(m), "<#"+r["ch"]+">")
				})
			}
			// Each incident's notice reference is a message that names it.
			for n := int64(1); n <= incidents; n++ {
				ch, ts, _ := strings.Cut(e.refs(n)["ntc"], "/")
				m, ok := e.fake.Message(ch, ts)
				if !ok || !strings.Contains(m.Text, fmt.Sprintf("INC-%d ", n)) {
					t.Errorf("INC-%d's notice %s/%s does not name it: %q", n, ch, ts, m.Text)
				}
			}
		})
	}
}

// A notice handed over for posting is its poster's until the deadline its
// mark carries (pntc "<ms>/<until ms>"): a sync before it (another replica,
// or this one's job brought forward) leaves the notice alone and asks to
// run again at the deadline; a sync after it (the poster's process died)
// takes over: it looks for the notice by its key, adopts it when the dead
// poster had posted it, else posts it. One notice in every case.
func TestNoticeHandOverTakenOver(t *testing.T) {
	cases := []struct {
		name     string
		ahead    bool // the deadline is still ahead
		posted   bool // the dead poster had posted the notice
		wantPost bool // the sync posts a notice
	}{
		{name: "deadline ahead: left alone", ahead: true},
		{name: "deadline passed, never posted: posted", wantPost: true},
		{name: "deadline passed, posted before the death: adopted", posted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeslack.StartTest(t)
			srv := redistest.Start(t)
			ctx := redistest.Ctx(t)
			alice := fake.AddUser(fakeslack.User{Name: "alice"})
			alerts := fake.AddChannel(fakeslack.Channel{Name: "payments-alerts"})
			svc := incident.NewStore(srv.Client(), "test:")
			t.Cleanup(svc.Close)
			chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: fake.BotToken(), APIURL: fake.APIURL(), Limits: map[string]slackbot.Limit{}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: srv.Client(), Prefix: "test:",
				People: []bot.Person{{ID: "alice", Name: "Alice", ChatID: alice.ID}}, Services: []bot.Service{{Name: "payments", AlertsChannel: alerts.ID}}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.Open(ctx, incident.Alert{Source: "generic", Service: "payments", DedupKey: "k",
				Summary: "card payments failing", Severity: incident.SevCritical, Status: incident.AlertFiring})
			if err != nil {
				t.Fatal(err)
			}
			inc, _, err := svc.Get(ctx, res.Number)
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("notice:%d:%d", inc.Number, inc.Created.UnixMilli())
			now := time.Now()
			at, until := now.Add(-30*time.Second), now.Add(-10*time.Second)
			if tc.ahead {
				at, until = now, now.Add(20*time.Second)
			}
			mark := fmt.Sprintf("%d/%d", at.UnixMilli(), until.UnixMilli())
			if err := svc.SetChatRefs(ctx, res.Number, map[string]string{"pntc": mark}); err != nil {
				t.Fatal(err)
			}
			if tc.posted {
				nt := bot.Notice{Number: inc.Number, Ref: inc.Ref(), Title: inc.Title, Service: inc.Service, Severity: inc.Severity}
				if _, _, err := chat.Post(ctx, alerts.ID, bot.Message{Text: nt.Text(), Notice: &nt, Key: key}); err != nil {
					t.Fatal(err)
				}
			}
			due, err := b.Syncer().Sync(ctx, res.Number)
			if err != nil {
				t.Fatal(err)
			}
			refs := func() map[string]string {
				r, err := svc.ChatRefs(ctx, res.Number)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			if tc.ahead {
				if !due.Equal(time.UnixMilli(until.UnixMilli())) {
					t.Errorf("the sync asks to run again at %v, want the mark's deadline %v", due, until)
				}
				if r := refs(); r["pntc"] != mark || r["ntc"] != "" {
					t.Errorf("the notice handed over to another was touched: %v", r)
				}
				if n := len(fake.Messages(alerts.ID)); n != 0 {
					t.Errorf("%d messages in the alerts channel, want none: the holder posts it", n)
				}
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for r := refs(); r["ntc"] == "" || r["pntc"] != ""; r = refs() {
				if time.Now().After(deadline) {
					t.Fatalf("the notice is not recorded after 10 s: %v", r)
				}
				time.Sleep(5 * time.Millisecond) // polling Redis for the outcome
			}
			msgs := fake.Messages(alerts.ID)
			if len(msgs) != 1 {
				t.Fatalf("%d notices in the alerts channel, want 1", len(msgs))
			}
			if r := refs(); r["ntc"] != alerts.ID+"/"+msgs[0].TS {
				t.Errorf("the notice recorded is %q, want %s/%s", r["ntc"], alerts.ID, msgs[0].TS)
			}
		})
	}
}

// noticesWithinSeconds checks a burst of incidents 1…incidents opened at
// start under Slack's limits: their notices were posted within a few
// seconds (Slack makes their channels at about 20 a minute: waiting for
// them would spread the notices over a minute and more), and the pages to
// alice, their owner, were not held back by them: every incident named in
// a DM to her within 5 s.
func (e *env) noticesWithinSeconds(start time.Time, incidents int64) {
	e.t.Helper()
	const within = 5 * time.Second
	var last time.Duration
	for _, c := range e.calls("chat.postMessage", nil) {
		if ch := c.Param("channel"); ch == e.alerts.ID || ch == "#"+e.alerts.Name || ch == e.alerts.Name {
			last = max(last, c.At.Sub(start))
		}
	}
	e.t.Logf("the last notice message %v after the first alert", last.Round(time.Millisecond))
	if last > within {
		e.t.Errorf("the last notice message went %v after the first alert, want within %v", last.Round(time.Millisecond), within)
	}
	named := map[int64]time.Duration{}
	for _, p := range e.dmPosts(e.alice) {
		for _, n := range p.named {
			if _, ok := named[n]; !ok {
				named[n] = p.at.Sub(start)
			}
		}
	}
	var latest time.Duration
	for n := int64(1); n <= incidents; n++ {
		at, ok := named[n]
		if !ok {
			e.t.Errorf("INC-%d never named in a DM to alice", n)
			continue
		}
		latest = max(latest, at)
	}
	e.t.Logf("every incident named to alice %v after the first alert", latest.Round(time.Millisecond))
	if latest > within {
		e.t.Errorf("the pages took %v to name every incident to alice, want within %v", latest.Round(time.Millisecond), within)
	}
	chans := 0
	for n := int64(1); n <= incidents; n++ {
		if e.refs(n)["ch"] != "" {
			chans++
		}
	}
	e.t.Logf("%d of %d channels made by then", chans, incidents)
}
