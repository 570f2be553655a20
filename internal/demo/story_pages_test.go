package demo

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// TestStoryTellsOneLinePerMessage: pages that went out as one bundled
// message (a DM naming several incidents, or one fallback post) are told as
// one line naming every incident, however the polls see their events; a
// page sent alone keeps its own line.
func TestStoryTellsOneLinePerMessage(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	paged := func(person, note, bundle string, at time.Time) incident.Event {
		return incident.Event{Type: incident.EventPaged, Person: person, Level: 1, Note: note, Bundle: bundle, At: at}
	}
	// opened adds incidents ns, each with events.
	opened := func(f *fakeIncidents, events func(n int64) []incident.Event, ns ...int64) {
		for _, n := range ns {
			f.add(incident.Incident{Number: n, Service: "database", Severity: incident.SevCritical, Status: incident.StatusTriggered,
				Title: "SECRET"}, events(n)...)
		}
	}
	bundled := func(person, note string, at time.Time) func(int64) []incident.Event {
		return func(int64) []incident.Event { return []incident.Event{paged(person, note, "b1", at)} }
	}
	// regrew makes the re-page run (event 1) of incidents ns one longer,
	// its latest re-page at at.
	regrew := func(f *fakeIncidents, at time.Time, ns ...int64) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, n := range ns {
			f.tl[n][1].Count++
			f.tl[n][1].Last = at
		}
	}
	run := func(person string, bundle string, ns ...int64) func(int64) []incident.Event {
		return func(int64) []incident.Event {
			return []incident.Event{paged(person, "first", "", t0), {Type: incident.EventPaged, Person: person, Level: 1, Note: "repeat",
				Bundle: bundle, At: t0.Add(time.Second), Count: 1, Last: t0.Add(time.Second)}}
		}
	}
	tests := []struct {
		name  string
		polls []func(f *fakeIncidents) // what each poll finds new
		want  []string
	}{
		{
			name:  "a bundle of five seen in one poll",
			polls: []func(*fakeIncidents){func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 3, 4, 5, 6, 7) }},
			want:  []string{"DM to dana: 5 incidents (INC-3, INC-4, INC-5, INC-6, INC-7)"},
		},
		{
			name: "a bundle whose pages were committed across two polls",
			polls: []func(*fakeIncidents){
				func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 3, 4, 5) },
				func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 6, 7) },
			},
			want: []string{"DM to dana: 5 incidents (INC-3, INC-4, INC-5, INC-6, INC-7)"},
		},
		{
			name: "pages sent alone keep a line each",
			polls: []func(*fakeIncidents){func(f *fakeIncidents) {
				opened(f, func(n int64) []incident.Event {
					return []incident.Event{paged("dana", "first", "", t1.Add(time.Duration(n)*time.Second))}
				}, 3, 4)
			}},
			want: []string{"INC-3: dana paged (DM), level 1", "INC-4: dana paged (DM), level 1"},
		},
		{
			name: "re-pages folded into their runs, sent as one bundle",
			polls: []func(*fakeIncidents){
				func(f *fakeIncidents) { opened(f, run("dana", "b0"), 3, 4) },
				func(f *fakeIncidents) { regrew(f, t1, 3, 4) },
			},
			want: []string{
				"INC-3: dana paged (DM), level 1", "INC-4: dana paged (DM), level 1",
				"DM to dana: 2 incidents (INC-3, INC-4)", // the runs' first re-pages, one bundle
				"DM to dana: 2 incidents (INC-3, INC-4)", // their second, another
			},
		},
		{
			name: "first pages and re-pages in one bundle",
			polls: []func(*fakeIncidents){
				func(f *fakeIncidents) { opened(f, run("dana", ""), 3) },
				func(f *fakeIncidents) {
					regrew(f, t1, 3)
					opened(f, bundled("dana", "first", t1), 8, 9)
				},
			},
			want: []string{
				"INC-3: dana paged (DM), level 1", "INC-3: dana re-paged, not acknowledged yet",
				"DM to dana: 3 incidents (INC-3, INC-8, INC-9): 2 first pages, 1 re-page",
			},
		},
		{
			name:  "a fallback bundle",
			polls: []func(*fakeIncidents){func(f *fakeIncidents) { opened(f, bundled("", "fallback the incident has no owner", t1), 3, 4) }},
			want:  []string{"alerts channel (nobody could be paged): 2 incidents (INC-3, INC-4)"},
		},
		{
			name: "an acknowledgement seen with its page is told after it",
			polls: []func(*fakeIncidents){func(f *fakeIncidents) {
				opened(f, bundled("dana", "first", t1), 3, 4)
				f.add(incident.Incident{Number: 3, Service: "database", Status: incident.StatusAcknowledged},
					incident.Event{Type: incident.EventAcknowledged, By: "dana"})
			}},
			want: []string{"DM to dana: 2 incidents (INC-3, INC-4)", "INC-3 acknowledged by dana"},
		},
		{
			name: "a page committed after its bundle was told",
			polls: []func(*fakeIncidents){
				func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 3, 4) },
				func(*fakeIncidents) {},
				func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 5) },
			},
			want: []string{"DM to dana: 2 incidents (INC-3, INC-4)", "DM to dana: 1 more incident in the same message (INC-5)"},
		},
		{
			name:  "a bundle of twelve names eight",
			polls: []func(*fakeIncidents){func(f *fakeIncidents) { opened(f, bundled("dana", "first", t1), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) }},
			want:  []string{"DM to dana: 12 incidents (INC-1, INC-2, INC-3, INC-4, INC-5, INC-6, INC-7, INC-8, …)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &fakeIncidents{}
			s := newStory(&out, f)
			for _, step := range append(tc.polls, func(*fakeIncidents) {}, func(*fakeIncidents) {}) {
				step(f)
				if err := s.pollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			var want strings.Builder
			for _, l := range tc.want {
				fmt.Fprintf(&want, "14:03:00  %s\n", l)
			}
			if got := out.String(); got != want.String() {
				t.Fatalf("told\n%s\nwant\n%s", got, want.String())
			}
			if strings.Contains(out.String(), "SECRET") {
				t.Fatalf("alert text in the story: %q", out.String())
			}
		})
	}
}
