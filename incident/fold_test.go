package incident_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// page is a paged fact as the escalation runner commits it.
func page(person string, level int, reason string, at time.Time) incident.Event {
	return incident.Event{Type: incident.EventPaged, At: at, Person: person, By: "baton", Level: level, Note: reason}
}

// Repeated re-pages of one person at one level fold into one timeline entry
// with a count and the latest time, so an incident paged all day does not
// grow its timeline by one line per re-page; every other page stays its own
// event and ends the run.
func TestRepagesFoldIntoOneEntry(t *testing.T) {
	type pageAt struct {
		person string
		level  int
		reason string
		times  int
	}
	type line struct {
		person string
		level  int
		note   string
		count  int64
	}
	cases := []struct {
		name  string
		pages []pageAt
		want  []line // the paged entries of the timeline, in order
	}{
		{"a thousand re-pages are one entry", []pageAt{{"alice", 1, "first", 1}, {"alice", 1, "repeat", 1000}},
			[]line{{"alice", 1, "first", 0}, {"alice", 1, "repeat", 1000}}},
		{"an escalation ends the run", []pageAt{{"alice", 1, "first", 1}, {"alice", 1, "repeat", 3}, {"bob", 2, "escalated", 1}, {"bob", 2, "repeat", 2}},
			[]line{{"alice", 1, "first", 0}, {"alice", 1, "repeat", 3}, {"bob", 2, "escalated", 0}, {"bob", 2, "repeat", 2}}},
		{"the same person at another level is another run", []pageAt{{"alice", 1, "repeat", 2}, {"alice", 2, "repeat", 2}},
			[]line{{"alice", 1, "repeat", 2}, {"alice", 2, "repeat", 2}}},
		{"a retrigger between runs of one person keeps them apart", []pageAt{{"alice", 1, "repeat", 2}, {"alice", 1, "retriggered", 1}, {"alice", 1, "repeat", 2}},
			[]line{{"alice", 1, "repeat", 2}, {"alice", 1, "retriggered", 0}, {"alice", 1, "repeat", 2}}},
		{"a fallback page is its own event", []pageAt{{"alice", 1, "repeat", 2}, {"", 1, "fallback #db-alerts", 1}, {"alice", 1, "repeat", 1}},
			[]line{{"alice", 1, "repeat", 2}, {"", 1, "fallback #db-alerts", 0}, {"alice", 1, "repeat", 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, ctx := newService(t)
			n := mustOpen(t, s, ctx, alert("k")).Number
			j := incident.Job{Member: incident.PageJob(n), Kind: incident.JobPage, Number: n, Token: "t"}
			at := t0
			var last time.Time
			for _, p := range c.pages {
				for range p.times {
					at = at.Add(2 * time.Second)
					if p.reason == "repeat" {
						last = at
					}
					ok, err := s.Commit(ctx, j, incident.Commit{Rev: 0, Facts: []incident.Event{page(p.person, p.level, p.reason, at)}})
					if err != nil || !ok {
						t.Fatalf("commit = %v, %v", ok, err)
					}
				}
			}
			_, tl, err := s.Get(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			var got []line
			var lastSeen time.Time
			for _, e := range tl {
				if e.Type == incident.EventPaged {
					got = append(got, line{e.Person, e.Level, e.Note, e.Count})
					if !e.Last.IsZero() {
						lastSeen = e.Last
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("paged entries = %v, want %v", got, c.want)
			}
			if len(tl) > len(c.want)+1 { // + opened
				t.Errorf("timeline has %d entries, want %d", len(tl), len(c.want)+1)
			}
			if !lastSeen.Equal(last) {
				t.Errorf("the last run's latest page = %v, want %v", lastSeen, last)
			}
		})
	}
}
