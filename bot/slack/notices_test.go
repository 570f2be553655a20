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
// alerts channel gets a few messages naming every incident once each (the
// notices due together go as one, "20 new incidents: …"), not twenty. With
// the answer to a bundle's post lost (Slack posted it; the bot got a 502),
// each incident's chat job finds its notice in that message by its own key
// and posts none again.
func TestNoticesBundled(t *testing.T) {
	cases := []struct {
		name string
		lose bool // the first bundle's answer is lost
	}{
		{"burst", false},
		{"burst, a bundle's answer lost", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const incidents = 20
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
			// A notice waiting for its bundle holds its chat job's worker
			// (the runner's 4 by default), so a bundle gathers at most 4
			// while channels are created that fast: 20/4 messages, and
			// one for a straggler.
			if most := incidents/4 + 1; msgs > most {
				t.Errorf("%d notice messages for %d incidents, want at most %d", msgs, incidents, most)
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
