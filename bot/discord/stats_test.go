package discord_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakediscord"
)

// TestStatsRidesOutAShortRateLimit: /incident stats waits out a short 429
// on its summary or its chart and posts them, and a chart Discord refuses
// is explained in Discord's words, not Slack's.
func TestStatsRidesOutAShortRateLimit(t *testing.T) {
	cases := []struct {
		name      string
		fault     func(s *fakediscord.Server, ch string)
		summary   bool
		chart     bool
		reply     []string // the ephemeral reply carries each; none: no reply text
		replyNots []string
	}{
		{name: "a 429 on the summary", summary: true, chart: true,
			fault: func(s *fakediscord.Server, _ string) {
				s.FailNext(fakediscord.RouteMessagePost, 1, fakediscord.TooManyRequests(300*time.Millisecond))
			}},
		{name: "a 429 on the chart", summary: true, chart: true,
			fault: func(s *fakediscord.Server, ch string) {
				n := 0
				s.InjectFaults(func(route, path string) (fakediscord.Fault, bool) {
					if route != fakediscord.RouteMessagePost || !strings.Contains(path, ch) {
						return fakediscord.Fault{}, false
					}
					n++
					return fakediscord.TooManyRequests(300 * time.Millisecond), n == 2
				})
			}},
		{name: "a chart refused", summary: true, chart: false,
			reply:     []string{"chart could not be uploaded", "Attach Files"},
			replyNots: []string{"Slack", "files:write"},
			fault: func(s *fakediscord.Server, ch string) {
				n := 0
				s.InjectFaults(func(route, path string) (fakediscord.Fault, bool) {
					if route != fakediscord.RouteMessagePost || !strings.Contains(path, ch) {
						return fakediscord.Fault{}, false
					}
					n++
					return fakediscord.Fault{Status: http.StatusForbidden}, n == 2
				})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStory(t, time.Hour)
			ch := s.alerts.ID
			before := len(s.fake.Messages(ch))
			tc.fault(s.fake, ch)
			in, err := s.fake.SlashCommand(s.dana.ID, ch, "incident", fakediscord.SubCommand("stats", fakediscord.StringOption("period", "7d")))
			if err != nil {
				t.Fatal(err)
			}
			reply := s.followup(in)
			msgs := s.fake.Messages(ch)[before:]
			var summary, chart bool
			for _, m := range msgs {
				for _, e := range m.EmbedList() {
					summary = summary || strings.Contains(e.Title, "Incident stats")
				}
				for _, f := range m.Files {
					chart = chart || strings.HasSuffix(f.Name, ".png")
				}
			}
			if summary != tc.summary || chart != tc.chart {
				t.Fatalf("summary %v (want %v), chart %v (want %v); reply %q", summary, tc.summary, chart, tc.chart, reply)
			}
			for _, w := range tc.reply {
				if !strings.Contains(reply, w) {
					t.Errorf("reply %q lacks %q", reply, w)
				}
			}
			for _, w := range tc.replyNots {
				if strings.Contains(reply, w) {
					t.Errorf("reply %q has %q", reply, w)
				}
			}
			if len(tc.reply) == 0 && strings.Contains(reply, "could not") {
				t.Errorf("reply %q", reply)
			}
		})
	}
}
