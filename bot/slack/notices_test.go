package slack_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonhq/baton/internal/fakeslack"
)

// Twenty new incidents for one service within a second: the service's
// alerts channel gets at most two messages naming every incident once each
// (the first notice at once, alone; the notices due while it was posted and
// within the bundle window after it as one, "19 new incidents: …"), not
// twenty, and not one per chat worker's worth. With the answer to a
// bundle's post lost (Slack posted it; the bot got a 502), each incident's
// chat job finds its notice in that message by its own key and posts none
// again. The runner restarted in the burst loses none. A lone incident's
// notice goes out alone.
func TestNoticesBundled(t *testing.T) {
	cases := []struct {
		name      string
		incidents int64
		lose      bool // the first bundle's answer is lost
		restart   bool // the runner is restarted after the alerts
		most      int  // notice messages at most
	}{
		{name: "burst", incidents: 20, most: 2},
		{name: "burst, a bundle's answer lost", incidents: 20, lose: true, most: 2},
		{name: "burst, the runner restarted", incidents: 20, restart: true, most: 2},
		{name: "one incident", incidents: 1, most: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			incidents := tc.incidents
			var lost atomic.Bool
			cfg := defaults()
			cfg.before = func(e *env) {
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
			t.Logf("%d incidents announced in %d messages", incidents, msgs)
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
