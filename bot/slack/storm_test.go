package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/internal/fakeslack"
)

// stormScale speeds Slack's rate limits up for the storm test: Slack's tiers
// would make 300 channels take 15 minutes (conversations.create is Tier 2,
// about 20 a minute). The shape is Slack's; the clock runs 120 times faster.
const stormScale = 120

func scaledLimits(scale float64) (fake map[string]fakeslack.Limit, bot map[string]slackbot.Limit) {
	fake, bot = map[string]fakeslack.Limit{}, map[string]slackbot.Limit{}
	for m, l := range fakeslack.SlackRateLimits() {
		fake[m] = fakeslack.Limit{PerMinute: l.PerMinute * scale, Burst: l.Burst, PerChannel: l.PerChannel}
	}
	for m, l := range slackbot.SlackLimits() {
		bot[m] = slackbot.Limit{PerMinute: l.PerMinute * scale, Burst: l.Burst, PerChannel: l.PerChannel}
	}
	return fake, bot
}

// An alert storm: 300 new incidents at once over three services with three
// owners, against Slack's rate-limit model. Every incident is announced
// (channel, pinned card, notice), every owner is paged for every incident,
// nothing is dropped or done twice, and no call is refused twice for the
// same reason.
func TestStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm: about 15 s")
	}
	const incidents = 300
	fakeLimits, botLimits := scaledLimits(stormScale)
	cfg := defaults()
	cfg.services = 3
	cfg.limits = botLimits
	cfg.bundleWindow = time.Second / stormScale // the chat's pace in one channel, scaled as its limits are
	cfg.before = func(e *env) {
		for m, l := range fakeLimits {
			e.fake.RateLimit(m, l)
		}
	}
	e := newEnv(t, cfg)
	services := []string{"payments", "svc2", "svc3"}
	owners := map[string]fakeslack.User{"payments": e.alice, "svc2": e.carol, "svc3": e.bob}

	start := time.Now()
	for i := range incidents {
		e.open(services[i%3], "storm-"+strconv.Itoa(i), fmt.Sprintf("Storm alert %d on host-%d", i, i))
	}
	opened := time.Since(start)

	var pagedAll, announcedAll time.Duration
	ctx, cancel := context.WithTimeout(e.ctx, 90*time.Second)
	defer cancel()
	err := e.fake.WaitFor(ctx, func() bool {
		if pagedAll == 0 {
			pages := 0
			for _, u := range owners {
				for _, m := range e.dms(u) {
					if strings.Contains(m.Text, "You are on call") {
						// A bundle pages for every incident it names.
						named := map[string]bool{}
						for _, ref := range incRE.FindAllString(m.Text, -1) {
							named[ref] = true
						}
						pages += len(named)
					}
				}
			}
			if pages >= incidents {
				pagedAll = time.Since(start)
			}
		}
		if announcedAll == 0 && len(e.calls("pins.add", nil)) >= incidents && noticed(e) >= incidents {
			announcedAll = time.Since(start)
		}
		return pagedAll > 0 && announcedAll > 0
	})
	if err != nil {
		t.Fatalf("storm unfinished after 90 s: paged all %v, announced all %v", pagedAll, announcedAll)
	}
	e.waitFor("every notice", func() bool {
		total := 0
		for i := 1; i <= incidents; i++ {
			if e.refs(int64(i))["ntc"] != "" {
				total++
			}
		}
		return total == incidents
	})
	// The queue empties once the cosmetics are done too: the redraws that add
	// channel links to pages drawn before their channels existed wait 10 s to
	// be gathered (bot/settle.go), then go at chat.update's pace.
	settleStart := time.Now()
	qctx, qcancel := context.WithTimeout(e.ctx, 90*time.Second)
	defer qcancel()
	for {
		d, f, _ := e.svc.ChatJobCounts(e.ctx)
		if d == 0 && f == 0 {
			break
		}
		select {
		case <-qctx.Done():
			t.Fatalf("the chat queue still holds %d due and %d future jobs 90 s after the storm was paged and announced", d, f)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("chat queue empty %v after every incident was paged and announced", time.Since(settleStart).Round(time.Millisecond))

	// Every incident announced once, every owner paged once per incident.
	for i := 1; i <= incidents; i++ {
		r := e.refs(int64(i))
		if r["ch"] == "" || r["pin"] != "1" || r["ntc"] == "" {
			t.Fatalf("INC-%d not fully announced: %v", i, r)
		}
		inc := e.incident(int64(i))
		if got := e.dmsAbout(owners[inc.Service], int64(i), "You are on call"); got != 1 {
			t.Fatalf("INC-%d's owner got %d first pages", i, got)
		}
	}
	for what, want := range map[string]int{"conversations.create": incidents, "pins.add": incidents, "conversations.open": 3} {
		if got := len(e.calls(what, nil)); got != want {
			t.Errorf("%d successful %s calls, want %d", got, what, want)
		}
	}
	if dead, _ := e.svc.ListDead(e.ctx); len(dead) != 0 {
		t.Fatalf("%d pages dead-lettered", len(dead))
	}

	calls := e.fake.Calls("")
	refused := checkRetryAfterHonoured(t, calls)
	t.Logf("storm of %d: opened in %v; every owner paged after %v; every incident announced after %v; %d Slack calls (%.1f per incident), %d refused with 429",
		incidents, opened.Round(time.Millisecond), pagedAll.Round(time.Millisecond), announcedAll.Round(time.Millisecond),
		len(calls), float64(len(calls))/incidents, refused)
}

// noticed is how many incidents the notices posted name: a notice names
// one, a bundle of notices ("12 new incidents:") every one of its.
func noticed(e *env) int {
	named := map[string]bool{}
	for _, c := range e.calls("chat.postMessage", nil) {
		if !strings.Contains(c.Param("metadata"), "baton_notice") {
			continue
		}
		for _, ref := range incRE.FindAllString(c.Param("text"), -1) {
			named[ref] = true
		}
	}
	return len(named)
}

// inFlight is how long after a 429 a call to the same method and channel may
// still arrive because it was sent before the 429's answer came back.
const inFlight = 50 * time.Millisecond

// checkRetryAfterHonoured checks that no call was refused twice for the same
// reason: after a 429 with Retry-After on a method (and channel), nothing
// more is sent there until it has passed (calls already in flight aside),
// and the first call after it passes. It returns the number of 429s.
func checkRetryAfterHonoured(t *testing.T, calls []fakeslack.Call) int {
	t.Helper()
	refused := 0
	for i, c := range calls {
		if c.Status != http.StatusTooManyRequests {
			continue
		}
		refused++
		for _, next := range calls[i+1:] {
			if next.Method != c.Method || next.Param("channel") != c.Param("channel") || next.At.Sub(c.At) < inFlight {
				continue
			}
			if next.At.Sub(c.At) < time.Second-10*time.Millisecond {
				t.Errorf("%s %s called again %v after a 429 with Retry-After 1s", c.Method, c.Param("channel"), next.At.Sub(c.At))
			}
			if next.Status == http.StatusTooManyRequests {
				t.Errorf("%s %s refused twice for the same reason", c.Method, c.Param("channel"))
			}
			break
		}
	}
	return refused
}
