package slack_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// gatherWorld is a Slack workspace, a Redis, and replicas' pagers on it,
// each with its own Redis connection and Slack client. The tests call the
// pagers as the escalation runner would (PageBundled, then on an unknown
// outcome Delivered, then PageBundled again when not found).
type gatherWorld struct {
	t     *testing.T
	fake  *fakeslack.Server
	srv   *redistest.Server
	alice fakeslack.User
	store *incident.Store
	log   *logBuffer
}

func newGatherWorld(t *testing.T) *gatherWorld {
	w := &gatherWorld{t: t, fake: fakeslack.StartTest(t), srv: redistest.Start(t), log: &logBuffer{}}
	w.alice = w.fake.AddUser(fakeslack.User{Name: "alice", Email: "alice@example.com"})
	w.store = incident.NewStore(w.srv.Client(), "test:")
	t.Cleanup(w.store.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", w.log.tail(60))
		}
	})
	return w
}

// replica is one process's pager on its own Redis connection c, its chat
// wrapped by wrap when set.
func (w *gatherWorld) replica(c *redis.Client, wrap func(bot.Chat) bot.Chat) *bot.Pager {
	t := w.t
	svc := incident.NewStore(c, "test:")
	t.Cleanup(svc.Close)
	var chat bot.Chat
	chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: w.fake.BotToken(), APIURL: w.fake.APIURL(), Limits: map[string]slackbot.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		chat = wrap(chat)
	}
	b, err := bot.New(bot.Options{Chat: chat, Incidents: svc, Redis: c, Prefix: "test:", PageMaxWait: 100 * time.Millisecond,
		Log:      slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		People:   []bot.Person{{ID: "alice", Name: "Alice", ChatID: w.alice.ID}},
		Services: []bot.Service{{Name: "payments"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b.Pager()
}

// page opens an incident and returns its first page to alice.
func (w *gatherWorld) page(i int) escalation.Page {
	res, err := w.store.Open(redistest.Ctx(w.t), incident.Alert{Source: "generic", Service: "payments", DedupKey: fmt.Sprintf("k%d", i),
		Summary: fmt.Sprintf("disk full on host-%d", i), Severity: incident.SevCritical, Status: incident.AlertFiring})
	if err != nil {
		w.t.Fatal(err)
	}
	return escalation.Page{Incident: res.Number, Person: "alice", Owner: "alice", Level: 1, Reason: escalation.ReasonFirst,
		Key: fmt.Sprintf("page:%d:1", res.Number), At: time.Now()}
}

// named counts, per incident, the messages in alice's DM that name it.
func (w *gatherWorld) named() (msgs int, times map[string]int) {
	times = map[string]int{}
	dm := pagesTo(w.fake, w.alice.ID)
	for _, m := range dm {
		for n := range namedIn([]fakeslack.Message{m}) {
			times[n]++
		}
	}
	return len(dm), times
}

// outcome is one PageBundled call's answer.
type outcome struct {
	b   escalation.Bundle
	err error
}

// pageAll pages pgs[i] through pagers[i], all at once, and waits for all.
func pageAll(ctx context.Context, pagers []*bot.Pager, pgs []escalation.Page) []outcome {
	out := make([]outcome, len(pgs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range pgs {
		wg.Go(func() {
			<-start
			out[i].b, out[i].err = pagers[i].PageBundled(ctx, pgs[i])
		})
	}
	close(start)
	wg.Wait()
	return out
}

// settle does what the runner does with a page whose outcome is unknown:
// ask the delivery check, and page again when it is not found.
func settle(t *testing.T, ctx context.Context, p *bot.Pager, pgs []escalation.Page, out []outcome) {
	t.Helper()
	var again []escalation.Page
	for i, o := range out {
		if o.err == nil || escalation.IsUnsent(o.err) {
			continue
		}
		found, err := p.Delivered(ctx, pgs[i])
		if err != nil {
			t.Fatalf("delivery check of %s: %v", pgs[i].Key, err)
		}
		if !found {
			again = append(again, pgs[i])
		}
	}
	ps := make([]*bot.Pager, len(again))
	for i := range ps {
		ps[i] = p
	}
	for i, o := range pageAll(ctx, ps, again) {
		if o.err != nil {
			t.Fatalf("paging %s again: %v", again[i].Key, o.err)
		}
	}
}

// busy sends alice a lone page through p, as the first page of a storm:
// it goes at once, and the pages due within the bundle window after it
// gather for the next message.
func (w *gatherWorld) busy(ctx context.Context, p *bot.Pager) {
	w.t.Helper()
	if _, err := p.PageBundled(ctx, w.page(99)); err != nil {
		w.t.Fatal(err)
	}
}

// Pages for one person due at the same moment on three replicas, while a
// message to her is within its window, go out as one direct message
// naming every incident, whichever replica posts it, and every page's job
// gets that bundle's id and time as if it had posted it. (Before, each
// replica bundled only its own pages: three DMs.)
func TestGatheredAcrossReplicas(t *testing.T) {
	w := newGatherWorld(t)
	ctx := redistest.Ctx(t)
	pagers := []*bot.Pager{w.replica(w.srv.Client(), nil), w.replica(w.srv.Client(), nil), w.replica(w.srv.Client(), nil)}
	w.busy(ctx, pagers[0])
	var pgs []escalation.Page
	for i := range 3 {
		pgs = append(pgs, w.page(i))
	}
	out := pageAll(ctx, pagers, pgs)
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("page %d: %v", i, o.err)
		}
		if o.b.ID == "" || !sameBundle(o.b, out[0].b) {
			t.Fatalf("page %d went in bundle %+v, page 0 in %+v: want one bundle for all", i, o.b, out[0].b)
		}
	}
	msgs, times := w.named()
	if msgs != 2 || len(times) != 4 {
		t.Fatalf("%d DMs naming %v, want the lone first page and 1 naming INC-2..4", msgs, times)
	}
}

// gatherDying is a replica's chat whose process dies at its first post
// (its Redis connection closed: it records nothing more), before the post
// reached Slack or after.
type gatherDying struct {
	bot.Chat
	afterPost bool
	die       func()
	once      sync.Once
}

// FindKeys is the Slack chat's: the wrapper must bundle as Slack does.
func (c *gatherDying) FindKeys(ctx context.Context, channelID string, keys []string, recent int) (map[string]string, error) {
	return c.Chat.(bot.KeysFinder).FindKeys(ctx, channelID, keys, recent)
}

func (c *gatherDying) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	if !c.afterPost {
		c.once.Do(c.die)
		return "", "", errors.New("killed before the post")
	}
	ch, ts, err := c.Chat.Post(ctx, channel, m)
	c.once.Do(c.die)
	return ch, ts, err
}

// After a first lone page, the replica whose turn it is takes every page
// offered for alice (its own and another replica's) and dies before its post, or after the post and
// before it records the outcome. The other replica waits for the outcome
// until the taker's turn (a lease it can no longer renew) is gone, and a
// grace after: well before the taker's deadline (before, it waited for
// the whole deadline, and every page to alice with it: a chaos run saw a
// person's DM silent 11.5 s after a replica was killed mid-turn). Then its
// delivery check decides, as the runner's does: every incident named
// exactly once (in the bundle that landed, or in the pages sent again).
func TestGatherTakerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a dead taker's turn lease, about 3 s")
	}
	cases := []struct {
		name      string
		afterPost bool
		maxMsgs   int // in alice's DM, the first lone page included
	}{
		// Both pages sent again by B, to a quiet DM by then: together, or
		// the first at once and the other a window later.
		{"dies after taking, before posting", false, 3},
		// The bundle that landed is found: nothing sent again.
		{"dies after posting, before recording", true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newGatherWorld(t)
			ctx := redistest.Ctx(t)
			clientA := w.srv.Client()
			a := w.replica(clientA, func(c bot.Chat) bot.Chat {
				return &gatherDying{Chat: c, afterPost: tc.afterPost, die: func() { _ = clientA.Close() }}
			})
			b := w.replica(w.srv.Client(), nil)
			w.busy(ctx, b)
			pgA, pgB := w.page(1), w.page(2)
			// A pages first and holds alice's turn (it waits a fifth of the
			// bundle window for other replicas' pages); B's page comes then.
			actx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			aDone := make(chan outcome, 1)
			go func() {
				bd, err := a.PageBundled(actx, pgA)
				aDone <- outcome{bd, err}
			}()
			turn := "test:chat:slack:gather:{" + dmOf(t, w) + "}:turn"
			waitUntil(t, "A holds alice's turn", func() bool { return w.srv.Client().Exists(ctx, turn).Val() == 1 })
			outB := pageAll(ctx, []*bot.Pager{b}, []escalation.Page{pgB})
			answered := time.Now()
			if outB[0].err == nil || escalation.IsUnsent(outB[0].err) {
				t.Fatalf("B's page answered %v, want an unknown outcome (its taker died)", outB[0].err)
			}
			// A's own page is still marked taken, with the deadline A set.
			mark := w.srv.Client().HGet(ctx, "test:chat:slack:gather:{"+dmOf(t, w)+"}:out", pgA.Key).Val()
			_, dl, _ := strings.Cut(mark, "|")
			ms, err := strconv.ParseInt(dl, 10, 64)
			if err != nil {
				t.Fatalf("A's page marked taken as %q, want <turn>|<deadline>", mark)
			}
			if deadline := time.UnixMilli(ms); !answered.Before(deadline) {
				t.Fatalf("B's page answered at %s, past the dead taker's deadline %s: want it once A's turn lease ran out",
					answered.Format(time.StampMilli), deadline.Format(time.StampMilli))
			}
			outA := <-aDone
			if outA.err == nil {
				t.Fatalf("A's page answered delivered, but A died")
			}
			// The runner: B's job, and A's taken over by B after its lease.
			settle(t, ctx, b, []escalation.Page{pgA, pgB}, []outcome{outA, outB[0]})
			msgs, times := w.named()
			if len(times) != 3 || times["INC-2"] != 1 || times["INC-3"] != 1 || msgs > tc.maxMsgs {
				t.Fatalf("%d DMs naming %v, want at most %d, naming INC-2 and INC-3 once each", msgs, times, tc.maxMsgs)
			}
		})
	}
}

// gatherHeld is a replica's chat whose first post waits until release is
// closed (a post waiting for its rate-limit slot, or a slow Slack).
type gatherHeld struct {
	bot.Chat
	posting, release chan struct{}
	once             sync.Once
}

// FindKeys is the Slack chat's: the wrapper must bundle as Slack does.
func (c *gatherHeld) FindKeys(ctx context.Context, channelID string, keys []string, recent int) (map[string]string, error) {
	return c.Chat.(bot.KeysFinder).FindKeys(ctx, channelID, keys, recent)
}

func (c *gatherHeld) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	c.once.Do(func() {
		close(c.posting)
		<-c.release
	})
	return c.Chat.Post(ctx, channel, m)
}

// A page taken into a message that has not reached Slack yet (its taker
// holds alice's turn, alive) is not known delivered or not: the delivery
// check another replica's runner asks meanwhile answers "ask again later"
// (a RetryAfter), not "not found", which would send the page a second time
// beside the one on its way (before, it read the DM, found nothing and
// answered not delivered). Once the message is posted, the check finds it.
func TestDeliveredWaitsForTheTurn(t *testing.T) {
	w := newGatherWorld(t)
	ctx := redistest.Ctx(t)
	held := &gatherHeld{posting: make(chan struct{}), release: make(chan struct{})}
	a := w.replica(w.srv.Client(), func(c bot.Chat) bot.Chat { held.Chat = c; return held })
	b := w.replica(w.srv.Client(), nil)
	pg := w.page(1)
	aDone := make(chan error, 1)
	go func() {
		_, err := a.PageBundled(ctx, pg)
		aDone <- err
	}()
	<-held.posting
	found, err := b.Delivered(ctx, pg)
	var ra escalation.RetryAfterError
	if !errors.As(err, &ra) {
		close(held.release)
		t.Fatalf("delivery check while the page's message is on its way answered found=%v, err=%v; want a RetryAfter", found, err)
	}
	close(held.release)
	if err := <-aDone; err != nil {
		t.Fatalf("A's page: %v", err)
	}
	found, err = b.Delivered(ctx, pg)
	if err != nil || !found {
		t.Fatalf("delivery check after the post answered found=%v, err=%v; want found", found, err)
	}
	if msgs, times := w.named(); msgs != 1 || times["INC-1"] != 1 {
		t.Fatalf("%d DMs naming %v, want one naming INC-1", msgs, times)
	}
}

// dmOf is alice's DM channel id, opened if need be.
func dmOf(t *testing.T, w *gatherWorld) string {
	t.Helper()
	chat, err := slackbot.NewChat(slackbot.ChatOptions{BotToken: w.fake.BotToken(), APIURL: w.fake.APIURL(), Limits: map[string]slackbot.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := chat.OpenDM(redistest.Ctx(t), w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitUntil polls cond until it holds, failing after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling the condition, not synchronising on time
	}
}

// Slack refuses the one message that gathers three replicas' pages (a
// 429, after a first lone page): every page is handed back, refused for certain (each job retries
// without a delivery check, as after its own refused post), and nothing
// is in the DM; paged again together, they go out as one message.
// (Before, only the replica whose post was refused handed its page back.)
func TestGatheredRefusedHandsAllBack(t *testing.T) {
	w := newGatherWorld(t)
	ctx := redistest.Ctx(t)
	pagers := []*bot.Pager{w.replica(w.srv.Client(), nil), w.replica(w.srv.Client(), nil), w.replica(w.srv.Client(), nil)}
	var pgs []escalation.Page
	for i := range 3 {
		pgs = append(pgs, w.page(i))
	}
	w.busy(ctx, pagers[0])
	w.fake.FailNext("chat.postMessage", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	for i, o := range pageAll(ctx, pagers, pgs) {
		var ra escalation.RetryAfterError
		if !errors.As(o.err, &ra) {
			t.Fatalf("page %d answered %v, want the 429 with its Retry-After", i, o.err)
		}
	}
	if msgs, times := w.named(); msgs != 1 {
		t.Fatalf("%d DMs naming %v after the 429, want the first page alone", msgs, times)
	}
	out := pageAll(ctx, pagers, pgs)
	for i, o := range out {
		if o.err != nil || o.b.ID == "" || !sameBundle(o.b, out[0].b) {
			t.Fatalf("page %d paged again: %+v, %v; want one bundle for all", i, o.b, o.err)
		}
	}
	if msgs, times := w.named(); msgs != 2 || len(times) != 4 {
		t.Fatalf("%d DMs naming %v, want the first page and 1 naming all three", msgs, times)
	}
}

// sameBundle reports whether two pages went out in the same bundle, at the
// same time.
func sameBundle(x, y escalation.Bundle) bool { return x.ID == y.ID && x.At.Equal(y.At) }

// hmgets is how many HMGET commands the Redis has run since its stats were
// last reset (INFO commandstats).
func hmgets(t *testing.T, ctx context.Context, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_hmget:calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		return n
	}
	return 0
}

// Many pages to one person waiting on one replica for their message share
// one poll of Redis per gatherPoll (one loop per process and target), not
// one each: the reads of outcomes do not grow with the pages waiting.
// (Before, each of the 20 waiting pages read its outcome every 10 ms.)
func TestGatherWaitersSharePoll(t *testing.T) {
	cases := []struct {
		name  string
		pages int
	}{
		{"one page", 1},
		{"a storm of twenty", 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newGatherWorld(t)
			ctx := redistest.Ctx(t)
			rdb := w.srv.Client()
			p := w.replica(rdb, nil)
			w.busy(ctx, p)
			var pgs []escalation.Page
			pagers := make([]*bot.Pager, tc.pages)
			for i := range tc.pages {
				pgs = append(pgs, w.page(i))
				pagers[i] = p
			}
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i, o := range pageAll(ctx, pagers, pgs) {
				if o.err != nil {
					t.Fatalf("page %d: %v", i, o.err)
				}
			}
			took := time.Since(start)
			// Two HMGETs a poll (outcomes, taken marks), one poll per
			// gatherPoll at most, and a few more around each turn.
			polls := int(took/(10*time.Millisecond)) + 1
			if got, most := hmgets(t, ctx, rdb), 2*polls+10; got > most {
				t.Errorf("%d HMGETs while %d pages waited %v for their message, want at most %d (one poll per 10 ms for them all)", got, tc.pages, took.Round(time.Millisecond), most)
			}
		})
	}
}

// A page due again within its target's window (escalation.Page.Again: the
// re-page of the window's lone first page) whose job runs late, past the
// window and gatherLag, still joins the message gathering the pages due
// meanwhile: the turn's holder waits (up to backWait) for it. Without
// it, as in the storm of issue 14 on a loaded machine, INC-1 is re-paged
// alone a window later, in no bundle with the others, and "Acknowledge
// all" on that bundle misses it. (Before, the holder took at the end of
// the window plus gatherLag whatever was offered.)
func TestGatherAwaitsPageDueAgain(t *testing.T) {
	cases := []struct {
		name string
		late time.Duration // the re-page's job runs this long after the holder would take without waiting
	}{
		{"a job 100 ms late", 100 * time.Millisecond},
		{"a job 300 ms late", 300 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newGatherWorld(t)
			ctx := redistest.Ctx(t)
			rdb := w.srv.Client()
			p := w.replica(rdb, nil)
			first := w.page(1)
			first.Again = time.Second
			if _, err := p.PageBundled(ctx, first); err != nil {
				t.Fatal(err)
			}
			dm := dmOf(t, w)
			end, err := rdb.Get(ctx, "test:chat:slack:gather:{"+dm+"}:next").Int64()
			if err != nil {
				t.Fatalf("the lone page set no window: %v", err)
			}
			others := []escalation.Page{w.page(2), w.page(3)}
			var out []outcome
			done := make(chan struct{})
			go func() {
				defer close(done)
				out = pageAll(ctx, []*bot.Pager{p, p}, others)
			}()
			// The re-page's job, due at the window's end, runs late: after
			// the window, gatherLag (a fifth of it) and tc.late.
			again := first
			again.Reason, again.Key, again.At = escalation.ReasonRepeat, fmt.Sprintf("page:%d:2", first.Incident), time.Now()
			at := time.UnixMilli(end).Add(bot.BundleWindow/5 + tc.late)
			waitUntil(t, "the re-page's late due time", func() bool { return !time.Now().Before(at) })
			b, err := p.PageBundled(ctx, again)
			if err != nil {
				t.Fatal(err)
			}
			<-done
			for i, o := range out {
				if o.err != nil {
					t.Fatalf("page %d: %v", i, o.err)
				}
				if o.b.ID == "" || !sameBundle(o.b, b) {
					t.Errorf("INC-%d went in %+v, INC-%d's re-page in %+v: want one bundle", others[i].Incident, o.b, first.Incident, b)
				}
			}
			if msgs, times := w.named(); msgs != 2 {
				t.Errorf("%d DMs naming %v, want the lone first page and one bundle of all three", msgs, times)
			}
		})
	}
}

// News goes first: after a 429 refused a message of new pages to alice,
// a reminder (or a "moved on" notice) offered meanwhile does not take her
// next message alone while the refused pages' jobs are on their way back
// (late, as in a storm): it waits for them and goes in their bundle. In
// the storm of issue 14, her DM slot went to a "Reminder: INC-51" single
// and an "INC-28 moved on" notice while 12 incidents had never been told
// to her. (Before, the reminder went alone the moment it was offered and
// the new pages a window later.)
func TestNewsBeforeReminders(t *testing.T) {
	cases := []struct {
		name   string
		reason escalation.Reason
	}{
		{"a reminder", escalation.ReasonRepeat},
		{"a moved-on notice", escalation.ReasonHandoff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newGatherWorld(t)
			ctx := redistest.Ctx(t)
			pagers := []*bot.Pager{w.replica(w.srv.Client(), nil), w.replica(w.srv.Client(), nil)}
			fresh := []escalation.Page{w.page(1), w.page(2)}
			low := w.page(3)
			low.Reason, low.Key = tc.reason, fmt.Sprintf("page:%d:2", low.Incident)
			if tc.reason == escalation.ReasonHandoff {
				low.Why = "escalated to bob at level 2"
			}
			w.busy(ctx, pagers[0])
			w.fake.FailNext("chat.postMessage", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
			for i, o := range pageAll(ctx, pagers, fresh) {
				var ra escalation.RetryAfterError
				if !errors.As(o.err, &ra) {
					t.Fatalf("page %d answered %v, want the 429", i, o.err)
				}
			}
			refused := time.Now()
			var lowOut outcome
			done := make(chan struct{})
			go func() {
				defer close(done)
				lowOut.b, lowOut.err = pagers[1].PageBundled(ctx, low)
			}()
			// The refused pages' jobs come back late: after the
			// Retry-After, the rejoin (300 ms), gatherLag (200 ms) and 150 ms.
			at := refused.Add(time.Second + 650*time.Millisecond)
			waitUntil(t, "the refused pages' late run", func() bool { return !time.Now().Before(at) })
			out := pageAll(ctx, pagers, fresh)
			<-done
			if lowOut.err != nil {
				t.Fatalf("%s: %v", tc.reason, lowOut.err)
			}
			for i, o := range out {
				if o.err != nil {
					t.Fatalf("page %d paged again: %v", i, o.err)
				}
				if o.b.ID == "" || !sameBundle(o.b, lowOut.b) {
					t.Errorf("INC-%d went in %+v, the %s of INC-%d in %+v: want one bundle", fresh[i].Incident, o.b, tc.reason, low.Incident, lowOut.b)
				}
			}
			if msgs, times := w.named(); msgs != 2 || len(times) != 4 {
				t.Errorf("%d DMs naming %v, want the first page alone and one bundle of the other three", msgs, times)
			}
		})
	}
}

// A 429 on a bundle is logged once, as one message refused, not once per
// incident it names. (Before, the runner logged a WARN for each page.)
func TestRefusedBundleLoggedOnce(t *testing.T) {
	w := newGatherWorld(t)
	ctx := redistest.Ctx(t)
	p := w.replica(w.srv.Client(), nil)
	var pgs []escalation.Page
	for i := range 5 {
		pgs = append(pgs, w.page(i))
	}
	w.busy(ctx, p)
	w.fake.FailNext("chat.postMessage", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	for i, o := range pageAll(ctx, []*bot.Pager{p, p, p, p, p}, pgs) {
		var ra escalation.RetryAfterError
		if !errors.As(o.err, &ra) {
			t.Fatalf("page %d answered %v, want the 429", i, o.err)
		}
	}
	if got := strings.Count(w.log.String(), "level=WARN msg=\"bot: page message refused by the chat's rate limit"); got != 1 {
		t.Errorf("%d WARNs for one bundle of 5 refused by a 429, want 1", got)
	}
}
