// Package analytics computes what single ownership is meant to improve: how
// long incidents wait for an acknowledgement (MTTA) and for a resolution
// (MTTR), how many there are, how many escalate, and how many pages land on
// whom outside working hours. docs/analytics.md gives the definitions.
//
// The package is pure: facts (one Incident per incident, one Page per page
// sent) come in, a Report comes out. It reads no clock and no store; the
// query names the period, the zone of its days and weeks, and each person's
// zone. A Source (analytics/redisstore reads baton's Redis) feeds the facts;
// Build runs a query and its previous period over one scan.
package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/batonhq/baton/internal/text"
)

// Incident is what a report needs to know of one incident.
type Incident struct {
	Number   int64
	Service  string
	Severity string
	// Created is when the incident was opened (its first alert).
	Created time.Time
	// Acknowledged is the first acknowledgement; zero if there was none.
	// A later acknowledgement (after a re-trigger) does not move it.
	Acknowledged time.Time
	// Resolved is zero while the incident is open.
	Resolved time.Time
	// MaxLevel is the highest escalation level the incident reached
	// (1-based; 0 if nobody was ever paged).
	MaxLevel int
	// Alerts is how many alerts joined the incident, the first included.
	Alerts int64
}

// Page is one page delivered: a direct message to Person, or, with Person
// empty, a fallback post to a service's alerts channel.
type Page struct {
	Incident int64
	Service  string
	Person   string
	At       time.Time
}

// Sink receives facts. Facts outside the sink's period or service are
// ignored, so one scan can feed several sinks.
type Sink interface {
	AddIncident(Incident)
	AddPage(Page)
}

// Source feeds a sink every incident created in [from, to) and every page
// sent in [from, to). It may feed facts outside that range too.
type Source interface {
	Scan(ctx context.Context, from, to time.Time, sink Sink) error
}

// Granularity is the size of a report's buckets.
type Granularity string

// Bucket sizes. A week starts on Monday at 00:00 in the query's zone.
const (
	ByDay  Granularity = "day"
	ByWeek Granularity = "week"
)

// ParseGranularity checks a bucket size from outside; "" means week.
func ParseGranularity(s string) (Granularity, error) {
	switch g := Granularity(s); g {
	case ByDay, ByWeek:
		return g, nil
	case "":
		return ByWeek, nil
	}
	return "", fmt.Errorf("by must be day or week (got %q)", s)
}

// Working hours: a page outside 09:00–18:00 Monday to Friday, in the
// paged person's zone, is out of hours.
const (
	workStart = 9
	workEnd   = 18
)

// MaxPeriod bounds a query's period, which bounds the work of one report.
const MaxPeriod = 400 * 24 * time.Hour

// Query asks for one report.
type Query struct {
	// From and To bound the period, [From, To): incidents created in it,
	// pages sent in it.
	From, To time.Time
	// Service, when set, keeps that service's incidents and pages only.
	Service string
	// By sizes the buckets; "" means ByWeek.
	By Granularity
	// Zone places day and week boundaries; nil means UTC.
	Zone *time.Location
	// PersonZone returns a person's zone, which decides whether a page to
	// them was out of hours. Nil, or a nil answer, means Zone.
	PersonZone func(person string) *time.Location
}

// Validate reports the first thing wrong with q, as a sentence.
func (q Query) Validate() error {
	switch {
	case q.From.IsZero() || q.To.IsZero():
		return fmt.Errorf("the period needs both a start and an end")
	case !q.From.Before(q.To):
		return fmt.Errorf("the period must end after it starts (from %s, to %s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	case q.To.Sub(q.From) > MaxPeriod:
		return fmt.Errorf("the period is %s long; the longest is %d days", text.Duration(q.To.Sub(q.From)), int(MaxPeriod/(24*time.Hour)))
	}
	if _, err := ParseGranularity(string(q.By)); err != nil {
		return err
	}
	return nil
}

func (q Query) zone() *time.Location {
	if q.Zone == nil {
		return time.UTC
	}
	return q.Zone
}

// Previous is the period of equal length just before q's. When q starts and
// ends at midnight in its zone it is the same number of calendar days (so a
// period across a DST change compares with whole days too); otherwise it
// has the same absolute length.
func (q Query) Previous() Query {
	p := q
	p.To = q.From
	if days, ok := calendarDays(q.From, q.To, q.zone()); ok {
		y, m, d := q.From.In(q.zone()).Date()
		p.From = time.Date(y, m, d-days, 0, 0, 0, 0, q.zone())
	} else {
		p.From = q.From.Add(-q.To.Sub(q.From))
	}
	return p
}

// calendarDays returns the number of days from from to to when both are
// midnights in loc.
func calendarDays(from, to time.Time, loc *time.Location) (int, bool) {
	if !isMidnight(from, loc) || !isMidnight(to, loc) {
		return 0, false
	}
	return civilDays(to.In(loc)) - civilDays(from.In(loc)), true
}

func isMidnight(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
}

// civilDays numbers t's calendar date (in t's own zone) from the epoch.
func civilDays(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Durations summarises a set of durations.
type Durations struct {
	Count int
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
}

// Figures are the measures of one period or bucket.
type Figures struct {
	// Opened counts incidents created in the period.
	Opened int
	// OpenAtEnd counts those not resolved by the period's end.
	OpenAtEnd int
	// Alerts is the sum of the opened incidents' alert counts.
	Alerts int64
	// AlertsPerIncident is Alerts / Opened (the dedup ratio).
	AlertsPerIncident float64
	// NoiseReduction is 1 − Opened / Alerts: the share of alerts folded
	// into an incident that already existed.
	NoiseReduction float64
	// Escalated counts opened incidents that reached level 2 or more.
	Escalated int
	// EscalationRate is Escalated / Opened.
	EscalationRate float64
	// MTTA is over the opened incidents that were acknowledged.
	MTTA Durations
	// MTTR is over the opened incidents that were resolved.
	MTTR Durations
	// Pages counts pages sent in the period, fallback posts included.
	Pages int
	// PagesOutOfHours counts pages to people outside their working hours.
	PagesOutOfHours int
}

// Bucket is one day or week of a report, clipped to the period.
type Bucket struct {
	// Label is the bucket's first day, 2006-01-02, in the report's zone
	// (for a week, its Monday, even when the period starts later).
	Label string
	// Start and End bound the bucket, [Start, End).
	Start, End time.Time
	Figures
}

// Count is a number of incidents opened for one name.
type Count struct {
	Name   string
	Opened int
}

// PersonLoad is the paging load on one person.
type PersonLoad struct {
	Person     string
	Zone       string
	Pages      int
	OutOfHours int
}

// Comparison is the previous period of equal length and how the report's
// period changed from it.
type Comparison struct {
	From, To time.Time
	Figures
	// Percent changes from the previous period, nil where it has no value
	// to compare with.
	OpenedChange         *float64
	MTTAChange           *float64
	MTTRChange           *float64
	EscalationRateChange *float64
}

// Report is the answer to a Query.
type Report struct {
	From, To time.Time
	Zone     string
	Service  string
	By       Granularity
	Figures
	Buckets []Bucket
	// Services and Severities count the incidents opened, most first.
	Services   []Count
	Severities []Count
	// People is the paging load per person, most pages out of hours first.
	People []PersonLoad
	// Previous is set by Build.
	Previous *Comparison

	location *time.Location
}

// acc accumulates one bucket.
type acc struct {
	opened, openAtEnd, escalated int
	alerts                       int64
	ack, res                     []int64 // milliseconds
	pages, outOfHours            int
}

func (a *acc) merge(b *acc) {
	a.opened += b.opened
	a.openAtEnd += b.openAtEnd
	a.escalated += b.escalated
	a.alerts += b.alerts
	a.ack = append(a.ack, b.ack...)
	a.res = append(a.res, b.res...)
	a.pages += b.pages
	a.outOfHours += b.outOfHours
}

// Accumulator builds a Report from facts fed one at a time. Its memory is
// two durations per incident and a few counters per bucket, service,
// severity and person; the facts themselves are not kept. It is not safe for
// concurrent use.
type Accumulator struct {
	q          Query
	loc        *time.Location
	from, to   int64   // ms
	bounds     []int64 // bucket starts in ms, then to
	labels     []string
	buckets    []acc
	services   map[string]int
	severities map[string]int
	people     map[string]*PersonLoad
	zones      map[string]*time.Location
}

// NewAccumulator returns an empty accumulator for q.
func NewAccumulator(q Query) (*Accumulator, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q.By, _ = ParseGranularity(string(q.By))
	a := &Accumulator{
		q: q, loc: q.zone(),
		from: q.From.UnixMilli(), to: q.To.UnixMilli(),
		services: map[string]int{}, severities: map[string]int{},
		people: map[string]*PersonLoad{}, zones: map[string]*time.Location{},
	}
	for start, label := range bucketStarts(q.From, q.To, q.By, a.loc) {
		a.bounds = append(a.bounds, start.UnixMilli())
		a.labels = append(a.labels, label)
	}
	a.bounds = append(a.bounds, a.to)
	a.buckets = make([]acc, len(a.labels))
	return a, nil
}

// bucketStarts yields each bucket's start, clipped to from, with its label:
// local midnights (of Mondays, for weeks) strictly inside (from, to).
func bucketStarts(from, to time.Time, by Granularity, loc *time.Location) func(yield func(time.Time, string) bool) {
	return func(yield func(time.Time, string) bool) {
		y, m, d := from.In(loc).Date()
		if by == ByWeek {
			// Back to Monday: Go's Sunday is 0.
			d -= (int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 6) % 7
		}
		step := 1
		if by == ByWeek {
			step = 7
		}
		nominal := time.Date(y, m, d, 0, 0, 0, 0, loc)
		start := from
		for start.Before(to) {
			if !yield(start, nominal.Format("2006-01-02")) {
				return
			}
			// Adding days to the date, not hours to the instant, keeps
			// midnights at midnight across DST changes.
			y, m, d := nominal.Date()
			nominal = time.Date(y, m, d+step, 0, 0, 0, 0, loc)
			start = nominal
		}
	}
}

func (a *Accumulator) bucket(ms int64) int {
	return sort.Search(len(a.bounds)-1, func(i int) bool { return a.bounds[i+1] > ms })
}

// AddIncident counts inc if it was created in the period (and is of the
// query's service, when it names one).
func (a *Accumulator) AddIncident(inc Incident) {
	created := inc.Created.UnixMilli()
	if created < a.from || created >= a.to || (a.q.Service != "" && inc.Service != a.q.Service) {
		return
	}
	b := &a.buckets[a.bucket(created)]
	b.opened++
	b.alerts += inc.Alerts
	if inc.MaxLevel >= 2 {
		b.escalated++
	}
	if !inc.Acknowledged.IsZero() {
		b.ack = append(b.ack, max(0, inc.Acknowledged.UnixMilli()-created))
	}
	if inc.Resolved.IsZero() {
		b.openAtEnd++
	} else {
		resolved := inc.Resolved.UnixMilli()
		b.res = append(b.res, max(0, resolved-created))
		if resolved >= a.to {
			b.openAtEnd++
		}
	}
	a.services[inc.Service]++
	a.severities[inc.Severity]++
}

// AddPage counts p if it was sent in the period (for the query's service,
// when it names one).
func (a *Accumulator) AddPage(p Page) {
	at := p.At.UnixMilli()
	if at < a.from || at >= a.to || (a.q.Service != "" && p.Service != a.q.Service) {
		return
	}
	b := &a.buckets[a.bucket(at)]
	b.pages++
	if p.Person == "" {
		return
	}
	pl := a.people[p.Person]
	if pl == nil {
		loc := a.personZone(p.Person)
		pl = &PersonLoad{Person: p.Person, Zone: loc.String()}
		a.people[p.Person] = pl
		a.zones[p.Person] = loc
	}
	pl.Pages++
	if OutOfHours(p.At, a.zones[p.Person]) {
		pl.OutOfHours++
		b.outOfHours++
	}
}

func (a *Accumulator) personZone(person string) *time.Location {
	if a.q.PersonZone != nil {
		if loc := a.q.PersonZone(person); loc != nil {
			return loc
		}
	}
	return a.loc
}

// OutOfHours reports whether t is outside 09:00–18:00, Monday to Friday, in loc.
func OutOfHours(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	switch l.Weekday() {
	case time.Saturday, time.Sunday:
		return true
	}
	return l.Hour() < workStart || l.Hour() >= workEnd
}

// Report returns the report of everything added so far. The accumulator
// may be fed more afterwards.
func (a *Accumulator) Report() Report {
	r := Report{From: a.q.From, To: a.q.To, Zone: a.loc.String(), Service: a.q.Service, By: a.q.By, location: a.loc}
	var total acc
	for i := range a.buckets {
		b := &a.buckets[i]
		total.merge(b)
		r.Buckets = append(r.Buckets, Bucket{
			Label: a.labels[i], Start: time.UnixMilli(a.bounds[i]).In(a.loc), End: time.UnixMilli(a.bounds[i+1]).In(a.loc),
			Figures: b.figures(),
		})
	}
	r.Figures = total.figures()
	r.Services = counts(a.services)
	r.Severities = counts(a.severities)
	for _, pl := range a.people {
		r.People = append(r.People, *pl)
	}
	slices.SortFunc(r.People, func(x, y PersonLoad) int {
		return cmp.Or(cmp.Compare(y.OutOfHours, x.OutOfHours), cmp.Compare(y.Pages, x.Pages), cmp.Compare(x.Person, y.Person))
	})
	return r
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Opened: v})
	}
	slices.SortFunc(out, func(x, y Count) int {
		return cmp.Or(cmp.Compare(y.Opened, x.Opened), cmp.Compare(x.Name, y.Name))
	})
	return out
}

func (a *acc) figures() Figures {
	f := Figures{
		Opened: a.opened, OpenAtEnd: a.openAtEnd, Alerts: a.alerts, Escalated: a.escalated,
		MTTA: summarise(a.ack), MTTR: summarise(a.res),
		Pages: a.pages, PagesOutOfHours: a.outOfHours,
	}
	if a.opened > 0 {
		f.AlertsPerIncident = float64(a.alerts) / float64(a.opened)
		f.EscalationRate = float64(a.escalated) / float64(a.opened)
	}
	if a.alerts > 0 {
		f.NoiseReduction = 1 - float64(a.opened)/float64(a.alerts)
	}
	return f
}

// summarise computes mean and nearest-rank percentiles of ms. It sorts a
// copy, so buckets merged later keep their own order.
func summarise(ms []int64) Durations {
	if len(ms) == 0 {
		return Durations{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	var sum int64
	for _, v := range s {
		sum += v
	}
	n := int64(len(s))
	return Durations{
		Count: len(s),
		Mean:  time.Duration(sum) * time.Millisecond / time.Duration(n),
		P50:   time.Duration(percentile(s, 50)) * time.Millisecond,
		P90:   time.Duration(percentile(s, 90)) * time.Millisecond,
	}
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// that at least p percent of the values do not exceed. It is always one of
// the values, so "p90 = 47m" means an incident really took 47m.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// Compute is the report of q over facts already in memory, with no
// previous period.
func Compute(q Query, incidents []Incident, pages []Page) (Report, error) {
	a, err := NewAccumulator(q)
	if err != nil {
		return Report{}, err
	}
	for _, inc := range incidents {
		a.AddIncident(inc)
	}
	for _, p := range pages {
		a.AddPage(p)
	}
	return a.Report(), nil
}

// Build runs q against src with a comparison to the previous period of
// equal length, over one scan of both periods.
func Build(ctx context.Context, src Source, q Query) (Report, error) {
	cur, err := NewAccumulator(q)
	if err != nil {
		return Report{}, err
	}
	pq := q.Previous()
	prev, err := NewAccumulator(pq)
	if err != nil {
		return Report{}, fmt.Errorf("previous period: %w", err)
	}
	if err := src.Scan(ctx, pq.From, q.To, both{cur, prev}); err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	r := cur.Report()
	r.Previous = Compare(r.Figures, prev.Report())
	return r, nil
}

// both feeds two accumulators; each keeps what falls in its own period.
type both [2]*Accumulator

// AddIncident implements Sink.
func (b both) AddIncident(inc Incident) { b[0].AddIncident(inc); b[1].AddIncident(inc) }

// AddPage implements Sink.
func (b both) AddPage(p Page) { b[0].AddPage(p); b[1].AddPage(p) }

// Compare describes how cur changed from the report prev.
func Compare(cur Figures, prev Report) *Comparison {
	c := &Comparison{From: prev.From, To: prev.To, Figures: prev.Figures}
	c.OpenedChange = change(float64(cur.Opened), float64(prev.Opened), prev.Opened > 0)
	c.MTTAChange = change(float64(cur.MTTA.Mean), float64(prev.MTTA.Mean), prev.MTTA.Count > 0 && cur.MTTA.Count > 0)
	c.MTTRChange = change(float64(cur.MTTR.Mean), float64(prev.MTTR.Mean), prev.MTTR.Count > 0 && cur.MTTR.Count > 0)
	c.EscalationRateChange = change(cur.EscalationRate, prev.EscalationRate, prev.Opened > 0 && prev.Escalated > 0 && cur.Opened > 0)
	return c
}

func change(cur, prev float64, ok bool) *float64 {
	if !ok || prev == 0 {
		return nil
	}
	v := (cur - prev) / prev * 100
	return &v
}

// Facts is a Source over facts already in memory (tests, small imports).
type Facts struct {
	Incidents []Incident
	Pages     []Page
}

// Scan feeds every fact to sink; the sink keeps those of its period.
func (f Facts) Scan(ctx context.Context, from, to time.Time, sink Sink) error {
	for _, inc := range f.Incidents {
		sink.AddIncident(inc)
	}
	for _, p := range f.Pages {
		sink.AddPage(p)
	}
	return ctx.Err()
}
