// Package analyticstest holds the hand-made fixture of analytics tests and
// the figures expected from it, written by hand (see the comments), so that
// every way of computing a report (in memory, from Redis, over HTTP) is
// checked against the same numbers.
package analyticstest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics"
)

// Fixture is analytics/testdata/fixture.json.
type Fixture struct {
	Zone      *time.Location
	People    map[string]*time.Location // nil: the person has no zone of their own
	Incidents []Incident
	Pages     []Page
}

// Incident is one incident of the fixture, as a story: opened, acknowledged
// by its owner after AckAfter (0: never), resolved after ResolveAfter (0:
// still open).
type Incident struct {
	N            int64         `json:"n"`
	Service      string        `json:"service"`
	Severity     string        `json:"severity"`
	Created      time.Time     `json:"created"`
	Owner        string        `json:"owner"`
	AckAfter     time.Duration `json:"-"`
	ResolveAfter time.Duration `json:"-"`
	MaxLevel     int           `json:"max_level"`
	Alerts       int64         `json:"alerts"`
}

// Page is one page of the fixture.
type Page struct {
	ID       string    `json:"id"`
	Incident int64     `json:"incident"`
	Service  string    `json:"service"`
	Person   string    `json:"person"`
	At       time.Time `json:"at"`
	Level    int       `json:"level"`
}

// Load reads the fixture.
func Load(tb testing.TB) *Fixture {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", "fixture.json"))
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	var doc struct {
		Zone      string            `json:"zone"`
		People    map[string]string `json:"people"`
		Incidents []struct {
			Incident
			AckAfter     string `json:"ack_after"`
			ResolveAfter string `json:"resolve_after"`
		} `json:"incidents"`
		Pages []Page `json:"pages"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	f := &Fixture{People: map[string]*time.Location{}, Pages: doc.Pages}
	if f.Zone, err = time.LoadLocation(doc.Zone); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	for p, z := range doc.People {
		f.People[p] = nil
		if z != "" {
			if f.People[p], err = time.LoadLocation(z); err != nil {
				tb.Fatalf("fixture: %v", err)
			}
		}
	}
	dur := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			tb.Fatalf("fixture: %v", err)
		}
		return d
	}
	for _, i := range doc.Incidents {
		inc := i.Incident
		inc.AckAfter, inc.ResolveAfter = dur(i.AckAfter), dur(i.ResolveAfter)
		f.Incidents = append(f.Incidents, inc)
	}
	return f
}

// Facts turns the fixture into analytics facts.
func (f *Fixture) Facts() analytics.Facts {
	var out analytics.Facts
	for _, i := range f.Incidents {
		inc := analytics.Incident{Number: i.N, Service: i.Service, Severity: i.Severity, Created: i.Created, MaxLevel: i.MaxLevel, Alerts: i.Alerts}
		if i.AckAfter > 0 {
			inc.Acknowledged = i.Created.Add(i.AckAfter)
		}
		if i.ResolveAfter > 0 {
			inc.Resolved = i.Created.Add(i.ResolveAfter)
		}
		out.Incidents = append(out.Incidents, inc)
	}
	for _, p := range f.Pages {
		out.Pages = append(out.Pages, analytics.Page{Incident: p.Incident, Service: p.Service, Person: p.Person, At: p.At})
	}
	return out
}

// PersonZone is the fixture's people's zones, for Query.PersonZone.
func (f *Fixture) PersonZone(person string) *time.Location { return f.People[person] }

// Query is the fixture's report: three weeks from Monday 16 March 2026,
// midnight in Berlin, by week.
func (f *Fixture) Query() analytics.Query {
	return analytics.Query{
		From:       time.Date(2026, 3, 16, 0, 0, 0, 0, f.Zone),
		To:         time.Date(2026, 4, 6, 0, 0, 0, 0, f.Zone),
		By:         analytics.ByWeek,
		Zone:       f.Zone,
		PersonZone: f.PersonZone,
	}
}
