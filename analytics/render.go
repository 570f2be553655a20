package analytics

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/text"
)

// periodName names the length of the period from to to, for "from the 4
// weeks before": in calendar days when both are midnights in loc.
func periodName(from, to time.Time, loc *time.Location) string {
	days, ok := calendarDays(from, to, loc)
	if !ok {
		d := to.Sub(from)
		if d%(24*time.Hour) != 0 {
			return "the " + text.Duration(d) + " before"
		}
		days = int(d / (24 * time.Hour))
	}
	switch {
	case days == 1:
		return "the day before"
	case days == 7:
		return "the week before"
	case days%7 == 0:
		return fmt.Sprintf("the %d weeks before", days/7)
	}
	return fmt.Sprintf("the %d days before", days)
}

// trend words a percent change: "down 38%", "up 5%", "unchanged".
func trend(pct *float64) string {
	if pct == nil {
		return ""
	}
	p := math.Round(*pct)
	switch {
	case p < 0:
		return fmt.Sprintf("down %.0f%%", -p)
	case p > 0:
		return fmt.Sprintf("up %.0f%%", p)
	}
	return "unchanged"
}

// Headline is the report in a few sentences, each compared with the
// previous period when there is one:
//
//	MTTA 4m12s, down 38% from the 4 weeks before
func (r Report) Headline() []string {
	loc := r.loc()
	than := ""
	if r.Previous != nil {
		than = " from " + periodName(r.Previous.From, r.Previous.To, loc)
	}
	with := func(s string, pct func(*Comparison) *float64) string {
		if r.Previous == nil {
			return s
		}
		if t := trend(pct(r.Previous)); t != "" {
			return s + ", " + t + than
		}
		return s
	}
	var out []string
	out = append(out, with(plural(r.Opened, "incident")+" opened", func(c *Comparison) *float64 { return c.OpenedChange }))
	if r.MTTA.Count > 0 {
		out = append(out, with("MTTA "+text.Duration(r.MTTA.Mean), func(c *Comparison) *float64 { return c.MTTAChange })+
			fmt.Sprintf(" (p50 %s, p90 %s, %d acknowledged)", text.Duration(r.MTTA.P50), text.Duration(r.MTTA.P90), r.MTTA.Count))
	} else {
		out = append(out, "MTTA: no incident acknowledged")
	}
	if r.MTTR.Count > 0 {
		out = append(out, with("MTTR "+text.Duration(r.MTTR.Mean), func(c *Comparison) *float64 { return c.MTTRChange })+
			fmt.Sprintf(" (p50 %s, p90 %s, %d resolved)", text.Duration(r.MTTR.P50), text.Duration(r.MTTR.P90), r.MTTR.Count))
	} else {
		out = append(out, "MTTR: no incident resolved")
	}
	if r.Opened > 0 {
		out = append(out, with(fmt.Sprintf("escalation rate %s (%d of %d)", pct(r.EscalationRate), r.Escalated, r.Opened),
			func(c *Comparison) *float64 { return c.EscalationRateChange }))
		out = append(out, fmt.Sprintf("%s, %.1f per incident (noise reduction %s)", plural(int(r.Alerts), "alert"), r.AlertsPerIncident, pct(r.NoiseReduction)))
	}
	out = append(out, fmt.Sprintf("%s sent, %d out of hours", plural(r.Pages, "page"), r.PagesOutOfHours))
	if r.OpenAtEnd > 0 {
		out = append(out, fmt.Sprintf("%d still open at the end of the period", r.OpenAtEnd))
	}
	return out
}

// Summary is the report for a chat message: the headline, with the count
// of incidents split by service and a line naming who was paged out of
// hours, or one line saying the period was quiet. The weekly digest and
// /incident stats show it.
func (r Report) Summary() []string {
	if r.Opened == 0 && r.Pages == 0 {
		line := "no incident opened and nobody paged"
		if r.Previous != nil && r.Previous.Opened > 0 {
			line += fmt.Sprintf(" (%d %s)", r.Previous.Opened, periodName(r.Previous.From, r.Previous.To, r.loc()))
		}
		return []string{line}
	}
	lines := r.Headline()
	if len(r.Services) > 0 {
		parts := make([]string, len(r.Services))
		for k, c := range r.Services {
			parts[k] = fmt.Sprintf("%s %d", c.Name, c.Opened)
		}
		lines[0] += " (" + strings.Join(parts, ", ") + ")"
	}
	var load []string
	for _, p := range r.People {
		if p.OutOfHours > 0 {
			load = append(load, fmt.Sprintf("%s %d of %d", p.Person, p.OutOfHours, p.Pages))
		}
	}
	if len(load) > 0 {
		lines = append(lines, "paged out of hours: "+strings.Join(load, ", "))
	}
	return lines
}

func (r Report) loc() *time.Location {
	if r.location != nil {
		return r.location
	}
	if loc, err := time.LoadLocation(r.Zone); err == nil {
		return loc
	}
	return time.UTC
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// plural writes "1 incident", "3 incidents".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteText writes r as a table for a terminal.
func (r Report) WriteText(w io.Writer) error {
	loc := r.loc()
	svc := "all services"
	if r.Service != "" {
		svc = "service " + r.Service
	}
	fmt.Fprintf(w, "Incidents %s – %s (%s), %s, by %s\n\n", r.From.In(loc).Format("Mon 2 Jan 2006 15:04"), r.To.In(loc).Format("Mon 2 Jan 2006 15:04"), r.Zone, svc, r.By)
	for _, line := range r.Headline() {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, r.By.title()+"\topened\talerts\tescalated\tMTTA\tp50\tp90\tMTTR\tp50\tp90\tpages\tout of hours\topen at end\t")
	row := func(label string, f Figures) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t\n", label, f.Opened, f.Alerts, f.Escalated,
			dur(f.MTTA, f.MTTA.Mean), dur(f.MTTA, f.MTTA.P50), dur(f.MTTA, f.MTTA.P90),
			dur(f.MTTR, f.MTTR.Mean), dur(f.MTTR, f.MTTR.P50), dur(f.MTTR, f.MTTR.P90),
			f.Pages, f.PagesOutOfHours, f.OpenAtEnd)
	}
	for _, b := range r.Buckets {
		row(b.Label, b.Figures)
	}
	row("total", r.Figures)
	if r.Previous != nil {
		row("previous", r.Previous.Figures)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lists := []struct {
		title string
		items []Count
	}{{"By service", r.Services}, {"By severity", r.Severities}}
	for _, l := range lists {
		if len(l.items) == 0 {
			continue
		}
		parts := make([]string, len(l.items))
		for i, c := range l.items {
			parts[i] = fmt.Sprintf("%s %d", c.Name, c.Opened)
		}
		fmt.Fprintf(w, "\n%s: %s\n", l.title, strings.Join(parts, ", "))
	}
	if len(r.People) > 0 {
		fmt.Fprintln(w, "\nPages per person (out of hours: outside 09:00–18:00 Mon–Fri in their zone)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  person\tzone\tpages\tout of hours")
		for _, p := range r.People {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\n", p.Person, p.Zone, p.Pages, p.OutOfHours)
		}
		return tw.Flush()
	}
	return nil
}

func (g Granularity) title() string {
	if g == ByDay {
		return "day"
	}
	return "week of"
}

func dur(d Durations, v time.Duration) string {
	if d.Count == 0 {
		return "-"
	}
	return text.Duration(v)
}

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"bucket", "start", "end", "opened", "open_at_end", "alerts", "alerts_per_incident", "escalated", "escalation_rate",
	"acknowledged", "mtta_mean_s", "mtta_p50_s", "mtta_p90_s", "resolved", "mttr_mean_s", "mttr_p50_s", "mttr_p90_s", "pages", "pages_out_of_hours"}

// WriteCSV writes one row per bucket, then "total" and, when there is one,
// "previous". Durations are in seconds; empty where nothing was measured.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	row := func(label string, from, to time.Time, f Figures) {
		_ = cw.Write([]string{label, from.Format(time.RFC3339), to.Format(time.RFC3339),
			strconv.Itoa(f.Opened), strconv.Itoa(f.OpenAtEnd), strconv.FormatInt(f.Alerts, 10), ratio(f.AlertsPerIncident),
			strconv.Itoa(f.Escalated), ratio(f.EscalationRate),
			strconv.Itoa(f.MTTA.Count), secs(f.MTTA, f.MTTA.Mean), secs(f.MTTA, f.MTTA.P50), secs(f.MTTA, f.MTTA.P90),
			strconv.Itoa(f.MTTR.Count), secs(f.MTTR, f.MTTR.Mean), secs(f.MTTR, f.MTTR.P50), secs(f.MTTR, f.MTTR.P90),
			strconv.Itoa(f.Pages), strconv.Itoa(f.PagesOutOfHours)})
	}
	loc := r.loc()
	for _, b := range r.Buckets {
		row(b.Label, b.Start.In(loc), b.End.In(loc), b.Figures)
	}
	row("total", r.From.In(loc), r.To.In(loc), r.Figures)
	if r.Previous != nil {
		row("previous", r.Previous.From.In(loc), r.Previous.To.In(loc), r.Previous.Figures)
	}
	cw.Flush()
	return cw.Error()
}

func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func secs(d Durations, v time.Duration) string {
	if d.Count == 0 {
		return ""
	}
	return strconv.FormatFloat(v.Seconds(), 'f', 3, 64)
}

// JSON shapes. Durations are seconds, percent changes plain numbers (null
// where there is nothing to compare with); times are RFC 3339 in the zone.

type jsonDurations struct {
	Count       int     `json:"count"`
	MeanSeconds float64 `json:"mean_seconds"`
	P50Seconds  float64 `json:"p50_seconds"`
	P90Seconds  float64 `json:"p90_seconds"`
}

// MarshalJSON writes the durations in seconds.
func (d Durations) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonDurations{d.Count, d.Mean.Seconds(), d.P50.Seconds(), d.P90.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Durations) UnmarshalJSON(b []byte) error {
	var j jsonDurations
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	sec := func(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }
	*d = Durations{Count: j.Count, Mean: sec(j.MeanSeconds), P50: sec(j.P50Seconds), P90: sec(j.P90Seconds)}
	return nil
}

type jsonFigures struct {
	Opened            int       `json:"opened"`
	OpenAtEnd         int       `json:"open_at_end"`
	Alerts            int64     `json:"alerts"`
	AlertsPerIncident float64   `json:"alerts_per_incident"`
	NoiseReduction    float64   `json:"noise_reduction"`
	Escalated         int       `json:"escalated"`
	EscalationRate    float64   `json:"escalation_rate"`
	MTTA              Durations `json:"mtta"`
	MTTR              Durations `json:"mttr"`
	Pages             int       `json:"pages"`
	PagesOutOfHours   int       `json:"pages_out_of_hours"`
}

func (f Figures) json() jsonFigures { return jsonFigures(f) }

type jsonBucket struct {
	Label string    `json:"label"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	jsonFigures
}

type jsonCount struct {
	Name   string `json:"name"`
	Opened int    `json:"opened"`
}

type jsonPerson struct {
	Person     string `json:"person"`
	Zone       string `json:"zone"`
	Pages      int    `json:"pages"`
	OutOfHours int    `json:"out_of_hours"`
}

type jsonComparison struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	jsonFigures
	OpenedChange         *float64 `json:"opened_change_pct"`
	MTTAChange           *float64 `json:"mtta_change_pct"`
	MTTRChange           *float64 `json:"mttr_change_pct"`
	EscalationRateChange *float64 `json:"escalation_rate_change_pct"`
}

type jsonReport struct {
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Zone       string          `json:"zone"`
	Service    string          `json:"service,omitempty"`
	By         string          `json:"by"`
	Headline   []string        `json:"headline"`
	Totals     jsonFigures     `json:"totals"`
	Buckets    []jsonBucket    `json:"buckets"`
	Services   []jsonCount     `json:"services"`
	Severities []jsonCount     `json:"severities"`
	People     []jsonPerson    `json:"people"`
	Previous   *jsonComparison `json:"previous,omitempty"`
}

// MarshalJSON writes the report for the HTTP API and `baton report --format json`.
func (r Report) MarshalJSON() ([]byte, error) {
	loc := r.loc()
	j := jsonReport{
		From: r.From.In(loc), To: r.To.In(loc), Zone: r.Zone, Service: r.Service, By: string(r.By),
		Headline: r.Headline(), Totals: r.Figures.json(),
		Buckets: []jsonBucket{}, Services: []jsonCount{}, Severities: []jsonCount{}, People: []jsonPerson{},
	}
	for _, b := range r.Buckets {
		j.Buckets = append(j.Buckets, jsonBucket{Label: b.Label, Start: b.Start.In(loc), End: b.End.In(loc), jsonFigures: b.Figures.json()})
	}
	for _, c := range r.Services {
		j.Services = append(j.Services, jsonCount(c))
	}
	for _, c := range r.Severities {
		j.Severities = append(j.Severities, jsonCount(c))
	}
	for _, p := range r.People {
		j.People = append(j.People, jsonPerson(p))
	}
	if c := r.Previous; c != nil {
		j.Previous = &jsonComparison{From: c.From.In(loc), To: c.To.In(loc), jsonFigures: c.Figures.json(),
			OpenedChange: c.OpenedChange, MTTAChange: c.MTTAChange, MTTRChange: c.MTTRChange, EscalationRateChange: c.EscalationRateChange}
	}
	return json.Marshal(j)
}
