package discord_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
)

// Notice bundling on Discord (issue 16's follow-up: it ran only on Slack,
// which finds a message by key; Discord replays a post under its key, the
// nonce, instead): a burst of incidents for one service gives one notice
// naming them (the first notice alone, at once, as on Slack; the rest
// together), every incident named once in the alerts channel and its
// notice recorded; when a bundle's post is applied and its answer lost,
// its incidents' chat jobs replay it under the same key and Discord
// answers with the message it posted: no notice lost or doubled.
func TestNoticeBundles(t *testing.T) {
	const incidents = 8
	cases := []struct {
		name string
		lose bool // the first bundle's post is applied and its answer lost
	}{
		{name: "a burst"},
		{name: "a bundle's answer lost", lose: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStory(t, time.Hour)
			var mu sync.Mutex
			lost := ""
			s.fake.InjectCallFaults(func(c fakediscord.FaultCall) (fakediscord.Fault, bool) {
				var embeds []struct {
					Title string `json:"title"`
				}
				if !tc.lose || c.Route != fakediscord.RouteMessagePost || !strings.Contains(c.Path, s.alerts.ID) ||
					!c.Field("embeds", &embeds) || len(embeds) != 1 || !strings.HasSuffix(embeds[0].Title, " new incidents:") {
					return fakediscord.Fault{}, false
				}
				mu.Lock()
				defer mu.Unlock()
				if lost != "" {
					return fakediscord.Fault{}, false
				}
				c.Field("nonce", &lost)
				return fakediscord.AppliedError(502), true
			})
			for i := range incidents {
				s.open("burst-"+strconv.Itoa(i), "burst "+strconv.Itoa(i))
			}
			s.waitFor("every notice recorded", func() bool {
				for i := int64(1); i <= incidents; i++ {
					refs, err := s.svc.ChatRefs(s.ctx, i)
					if err != nil || refs["ntc"] == "" {
						return false
					}
				}
				return true
			})
			msgs := s.fake.Messages(s.alerts.ID)
			bundles := 0
			for _, m := range msgs {
				named := 0
				for i := int64(1); i <= incidents; i++ {
					if mentionsIncident(m, i) {
						named++
					}
				}
				if named > 1 {
					bundles++
					if !strings.Contains(m.Content, strconv.Itoa(named)+" new incidents:") {
						t.Errorf("a bundle naming %d incidents reads %q", named, m.Content)
					}
				}
			}
			for i := int64(1); i <= incidents; i++ {
				n := 0
				for _, m := range msgs {
					if mentionsIncident(m, i) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("INC-%d named in %d messages of the alerts channel, want 1", i, n)
				}
			}
			t.Logf("%d incidents, %d messages in the alerts channel, %d of them bundles", incidents, len(msgs), bundles)
			if bundles == 0 || len(msgs) > 3 {
				t.Fatalf("%d messages, %d bundles: the burst's notices were not bundled", len(msgs), bundles)
			}
			if tc.lose {
				mu.Lock()
				l := lost
				mu.Unlock()
				if l == "" {
					t.Fatal("no bundle's answer was lost: the test does not cover it")
				}
				replays := 0
				for _, c := range s.fake.Calls(fakediscord.RouteMessagePost) {
					var nonce string
					if c.Field("nonce", &nonce) && nonce == l {
						replays++
					}
				}
				if replays < 2 {
					t.Fatalf("%d posts with the lost bundle's nonce, want it replayed", replays)
				}
				if !strings.Contains(s.log.String(), "a bundle of notices whose outcome went unrecorded replayed under its key") {
					t.Fatal("no bundle of notices replayed")
				}
			}
		})
	}
}
