package slack_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// faultPlan answers the first call of every (method, channel) with 429
// (Retry-After 1 s) and the second with 503; the rest pass. It covers every
// Web API method the bot calls and the response_url.
type faultPlan struct {
	mu   sync.Mutex
	seen map[string]int
}

func (f *faultPlan) fault(method string, params url.Values) (fakeslack.Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := method + "|" + params.Get("channel")
	f.seen[key]++
	switch f.seen[key] {
	case 1:
		return fakeslack.TooManyRequests(time.Second), true
	case 2:
		return fakeslack.HTTPError(http.StatusServiceUnavailable), true
	}
	return fakeslack.Fault{}, false
}

// 429 and 503 on every method the bot uses, at every step of an incident's
// life: everything still happens, and nothing happens twice.
func TestFaultsOnEveryMethod(t *testing.T) {
	plan := &faultPlan{seen: map[string]int{}}
	cfg := defaults()
	cfg.archiveAfter = 300 * time.Millisecond
	cfg.before = func(e *env) { e.fake.InjectFaults(plan.fault) }
	e := newEnv(t, cfg)
	n := e.open("payments", "k", "Disk full")
	ch, card := e.announced(n)
	e.waitFor("alice paged", func() bool { return len(e.dms(e.alice)) == 1 })
	e.waitFor("alice invited", func() bool { c, _ := e.fake.Channel(ch); return c.HasMember(e.alice.ID) })

	// A stranger's reaction on the notice: looked up (users.info), told privately (chat.postEphemeral).
	nch, nts, _ := strings.Cut(e.refs(n)["ntc"], "/")
	e.must(e.fake.AddReaction(e.mallory.ID, nch, nts, "white_check_mark"))
	e.waitFor("the stranger told", func() bool { return len(e.fake.Ephemerals(e.mallory.ID)) == 1 })

	// bob (known by email only) acknowledges with a reaction on the card.
	e.must(e.fake.AddReaction(e.bob.ID, ch, card, "eyes"))
	e.waitFor("bob's ack", func() bool {
		inc := e.incident(n)
		return inc.Owner == "bob" && inc.Status == incident.StatusAcknowledged
	})
	e.waitFor("bob invited", func() bool { c, _ := e.fake.Channel(ch); return c.HasMember(e.bob.ID) })
	e.waitFor("the card redrawn", func() bool { return strings.Contains(blocksText(e.card(n)), "Acknowledged") })

	// bob resolves with a slash command; the reply travels the response_url.
	id, err := e.fake.SendSlashCommand(e.bob.ID, ch, "/incident", "resolve all good")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the reply", func() bool { return len(e.fake.ResponsePosts(id)) == 1 })
	e.waitFor("the archive", func() bool { c, _ := e.fake.Channel(ch); return c.IsArchived })
	if !strings.Contains(blocksText(e.card(n)), "Time to resolve") {
		t.Fatalf("the archived channel's card is not the resolved one")
	}

	// Stats in the alerts channel: the summary, the upload URL, the share.
	if _, err := e.fake.SendSlashCommand(e.bob.ID, e.alerts.ID, "/incident", "stats"); err != nil {
		t.Fatal(err)
	}
	if _, chart := e.reportIn(e.alerts.ID, "Incident stats"); len(chart.Content) == 0 {
		t.Fatal("the stats chart is empty")
	}
	e.idle()

	imA, _ := e.fake.IM(e.alice.ID)
	once := []struct {
		what   string
		method string
		match  func(fakeslack.Call) bool
	}{
		{"channel created", "conversations.create", nil},
		{"alice invited", "conversations.invite", func(c fakeslack.Call) bool { return c.Param("users") == e.alice.ID }},
		{"bob invited", "conversations.invite", func(c fakeslack.Call) bool { return c.Param("users") == e.bob.ID }},
		{"card posted", "chat.postMessage", inChannel(ch)},
		{"card pinned", "pins.add", nil},
		{"notice posted", "chat.postMessage", inChannel("#payments-alerts")},
		{"alice's DM opened", "conversations.open", func(c fakeslack.Call) bool { return c.Param("users") == e.alice.ID }},
		{"alice paged", "chat.postMessage", inChannel(imA.ID)},
		{"stranger told", "chat.postEphemeral", nil},
		{"archived", "conversations.archive", nil},
		{"stats posted", "chat.postMessage", inChannel(e.alerts.ID)},
		{"chart upload URL", "files.getUploadURLExternal", nil},
		{"chart shared", "files.completeUploadExternal", nil},
	}
	for _, o := range once {
		if got := len(e.calls(o.method, o.match)); got != 1 {
			t.Errorf("%s: %d successful %s calls, want exactly 1", o.what, got, o.method)
		}
	}
	if got := len(e.fake.ResponsePosts(id)); got != 1 {
		t.Errorf("%d replies to the slash command", got)
	}
	_, tl, _ := e.svc.Get(e.ctx, n)
	counts := map[incident.EventType]int{}
	for _, ev := range tl {
		counts[ev.Type]++
	}
	if counts[incident.EventAcknowledged] != 1 || counts[incident.EventResolved] != 1 || counts[incident.EventPaged] != 1 {
		t.Errorf("timeline %v", counts)
	}

	// Every method met both faults, and none was called again before the
	// Retry-After of its 429 had passed: no call refused twice for one reason.
	calls := e.fake.Calls("")
	checkRetryAfterHonoured(t, calls)
	methods := map[string]bool{}
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests {
			methods[c.Method] = true
		}
	}
	for _, m := range []string{"auth.test", "apps.connections.open", "conversations.create", "conversations.invite",
		"chat.postMessage", "chat.update", "pins.add", "conversations.open", "users.lookupByEmail", "users.info",
		"chat.postEphemeral", "conversations.archive", "files.getUploadURLExternal", "files.completeUploadExternal"} {
		if !methods[m] {
			t.Errorf("no 429 was injected on %s: the test does not cover it", m)
		}
		// Both faults are counted for /metrics, except on auth.test, which
		// slack-go makes for Socket Mode itself; a failed
		// apps.connections.open (Socket Mode reconnecting) counts once per
		// failed connection.
		if m == "auth.test" {
			continue
		}
		if m == "apps.connections.open" {
			if got := e.metric("baton_chat_api_errors_total", map[string]string{"chat": "slack", "method": m}); got < 1 {
				t.Errorf("baton_chat_api_errors_total{method=%q} = %v: a failed Socket Mode connection is not counted", m, got)
			}
			continue
		}
		if got := e.metric("baton_chat_api_errors_total", map[string]string{"chat": "slack", "method": m}); got < 2 {
			t.Errorf("baton_chat_api_errors_total{method=%q} = %v, want at least 2", m, got)
		}
	}
	if got := e.metric("baton_chat_api_errors_total", map[string]string{"chat": "slack", "method": "response_url"}); got < 2 {
		t.Errorf("baton_chat_api_errors_total{method=\"response_url\"} = %v, want at least 2", got)
	}
	if plan.seen["response_url|"] < 3 {
		t.Errorf("the response_url was not faulted (%d calls)", plan.seen["response_url|"])
	}
}
