package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// checksScale speeds conversations.history (Tier 3: 50 a minute, bursts of
// 5) up for TestDeliveryChecksAfterAnOutage, and the pages' wait for a slot
// (bot.Options.PageMaxWait, 3 s) with it.
const checksScale = 10

// After a chat outage every page whose send had no recorded outcome is
// checked (Pager.Delivered: a conversations.history read of the DM) before
// it is sent again. Three replicas sharing one Slack budget in Redis check
// 36 such pages to 6 people, each check run as the job runner runs it (a
// deferral brings it back at its slot). A deferred read's slot is the DM's,
// taken by whichever check of that DM comes back first. Held for the one
// check that booked it, the slot went unused when another check came back
// first and booked its own, or was claimed late beside the reads booked
// since: a burst that Slack (here the fake, enforcing Tier 3) refused with
// a 429, and slots nobody used that queued every DM's checks behind them.
// And a read of a DM by one replica answers the other replicas' checks of
// it that began before it: each replica read each DM itself (36 reads,
// where at most two per DM are needed: one for the checks that come first,
// one for those that came during it).
func TestDeliveryChecksAfterAnOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds")
	}
	const people, each, replicas = 6, 6, 3
	const pages = people * each
	fake := fakeslack.StartTest(t)
	srv := redistest.Start(t)
	var persons []bot.Person
	for i := range people {
		u := fake.AddUser(fakeslack.User{Name: fmt.Sprintf("p%d", i), Email: fmt.Sprintf("p%d@example.com", i)})
		persons = append(persons, bot.Person{ID: fmt.Sprintf("p%d", i), Name: u.Name, ChatID: u.ID})
	}
	tier3 := fakeslack.SlackRateLimits()["conversations.history"]
	fake.RateLimit("conversations.history", fakeslack.Limit{PerMinute: tier3.PerMinute * checksScale, Burst: tier3.Burst})
	limits := map[string]slackbot.Limit{"conversations.history": {PerMinute: tier3.PerMinute * checksScale, Burst: tier3.Burst}}
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.tail(60))
		}
	})
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var pagers [replicas]*bot.Pager
	for i := range pagers {
		c := srv.Client()
		chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: fake.BotToken(), APIURL: fake.APIURL(), Limits: limits,
			Budget: &slackbot.Budget{Redis: c, Prefix: "test:", Log: log}})
		if err != nil {
			t.Fatal(err)
		}
		svc := incident.NewStore(c, "test:")
		t.Cleanup(svc.Close)
		b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: c, Prefix: "test:", Log: log,
			People:      persons,
			PageMaxWait: 3 * time.Second / checksScale})
		if err != nil {
			t.Fatal(err)
		}
		pagers[i] = b.Pager()
	}

	ctx, cancel := context.WithTimeout(redistest.Ctx(t), 60*time.Second)
	defer cancel()
	start := time.Now()
	took := make([]time.Duration, pages)
	var wg sync.WaitGroup
	for i := range pages {
		who := persons[i%people].ID
		pg := escalation.Page{Incident: int64(i + 1), Person: who, Reason: escalation.ReasonRepeat, Round: 1,
			Key: fmt.Sprintf("INC-%d/1/repeat/%s", i+1, who)}
		wg.Go(func() {
			for {
				found, err := pagers[(i/people)%replicas].Delivered(ctx, pg)
				if d, deferred := escalation.IsDeferred(err); deferred {
					select { // the runner brings the job back at its slot
					case <-time.After(d):
						continue
					case <-ctx.Done():
						t.Errorf("%s: still deferred when the test ended", pg.Key)
						return
					}
				}
				if err != nil || found {
					t.Errorf("%s: found %v, %v; want not found", pg.Key, found, err)
				}
				took[i] = time.Since(start)
				return
			}
		})
	}
	wg.Wait()
	reads := fake.Calls("conversations.history")
	refused := 0
	for _, c := range reads {
		if !c.OK {
			refused++
		}
	}
	last := time.Duration(0)
	for _, d := range took {
		last = max(last, d)
	}
	interval := time.Duration(float64(time.Minute) / (tier3.PerMinute * checksScale) * 1.1)
	t.Logf("%d checks answered in %v (%.1f read intervals) by %d reads, %d refused", pages, last.Round(time.Millisecond),
		float64(last)/float64(interval), len(reads), refused)
	if refused > 0 {
		t.Errorf("%d reads refused by Slack", refused)
	}
	if len(reads) > 2*people {
		t.Errorf("%d history reads for %d checks of %d DMs on %d replicas, want at most %d", len(reads), pages, people, replicas, 2*people)
	}
}
