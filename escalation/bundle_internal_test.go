package escalation

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// Each page of a bundle gets its own paged event, at the bundle's time and
// naming it; a page sent alone keeps the decision's time and no bundle.
func TestBundledEvent(t *testing.T) {
	decided := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	sent := decided.Add(1200 * time.Millisecond)
	cases := []struct {
		name string
		page Page
		b    Bundle
		want incident.Event
	}{
		{name: "alone", page: Page{Incident: 1, Person: "dana", Level: 1, Reason: ReasonFirst}, b: Bundle{},
			want: incident.Event{Type: incident.EventPaged, At: decided, Person: "dana", By: By, Level: 1, Note: "first"}},
		{name: "in a bundle", page: Page{Incident: 2, Person: "dana", Level: 1, Reason: ReasonFirst}, b: Bundle{ID: "b1", At: sent},
			want: incident.Event{Type: incident.EventPaged, At: sent, Person: "dana", By: By, Level: 1, Note: "first", Bundle: "b1"}},
		{name: "a re-page in a bundle", page: Page{Incident: 3, Person: "dana", Level: 1, Reason: ReasonRepeat}, b: Bundle{ID: "b1", At: sent},
			want: incident.Event{Type: incident.EventPaged, At: sent, Person: "dana", By: By, Level: 1, Note: "repeat", Bundle: "b1"}},
		{name: "a bundle without a time keeps the decision's", page: Page{Incident: 4, Person: "eli", Level: 2, Reason: ReasonEscalated}, b: Bundle{ID: "b2"},
			want: incident.Event{Type: incident.EventPaged, At: decided, Person: "eli", By: By, Level: 2, Note: "escalated", Bundle: "b2"}},
		{name: "in two chats, alone in each", page: Page{Incident: 6, Person: "dana", Level: 1, Reason: ReasonFirst}, b: Bundle{Chats: []string{"slack", "discord"}},
			want: incident.Event{Type: incident.EventPaged, At: decided, Person: "dana", By: By, Level: 1, Note: "first", Chats: "slack,discord"}},
		{name: "a fallback bundle", page: Page{Incident: 5, Channel: "#alerts", Reason: ReasonFallback, Why: "nobody on call"}, b: Bundle{ID: "b3", At: sent},
			want: incident.Event{Type: incident.EventPaged, At: sent, By: By, Note: "fallback #alerts: nobody on call", Bundle: "b3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := bundledEvent(tc.page, decided, tc.b); got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
