package analyticstest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics"
)

// The figures below are worked out by hand from testdata/fixture.json (the
// arithmetic is left in the expressions); nothing here is computed by the
// code under test. Minutes throughout.
//
// Week of 16 March (incidents 1–10): acks 2,4,10,6,8,3,20,5,1 (4 never
// acknowledged) → sorted 1,2,3,4,5,6,8,10,20, sum 59, p50 = 5th = 5, p90 =
// 9th = 20. Resolves 30,60,90,20,45,120,15,240,25,5 → sorted
// 5,15,20,25,30,45,60,90,120,240, sum 650, p50 = 5th = 30, p90 = 9th = 120.
// Escalated (level ≥ 2): 3 and 8. Alerts 3+1+5+2+4+1+1+10+2+1 = 30.
// Incident 10 opens at the period's first instant (00:00 CET) and counts;
// incident 9 at 23:30 CET on Sunday is still this week.
//
// Week of 23 March, across the change to summer time (incidents 11–19):
// acks 3,7,15,2,9,12,4,5 → 2,3,4,5,7,9,12,15, sum 57, p50 = 4th = 5, p90 =
// 8th = 15. Resolves 33,50,180,10,70,40,100,60,35 → 10,33,35,40,50,60,70,
// 100,180, sum 578, p50 = 5th = 50, p90 = 9th = 180. Escalated 13, 15.
// Alerts 21. The week is 167 hours long: it ends at 22:00Z on 29 March.
//
// Week of 30 March (incidents 20–30): incident 20 at 22:30Z on 29 March is
// 00:30 CEST on Monday, so it belongs here (at UTC+1 it would not). Acks
// 6,3,11,2,30,8,5,10,1 → 1,2,3,5,6,8,10,11,30, sum 76, p50 = 5th = 6, p90
// = 9th = 30. Resolves 48,20,130,12,15,300,90,840 → 12,15,20,48,90,130,
// 300,840, sum 1455, p50 = 4th = 48, p90 = 8th = 840 (incident 27 is
// resolved after the period, and counts, but is open at its end). Open at
// the end: 27, 28, 29, 30. Escalated: 20, 25, 28, 29. Alerts 35. Incident
// 31 opens at the period's end and is not in it.
//
// Whole period: 26 acks, sum 59+57+76 = 192, sorted
// 1,1,2,2,2,3,3,3,4,4,5,5,5,6,6,7,8,8,9,10,10,11,12,15,20,30: p50 = 13th
// = 5, p90 = 24th = 15. 27 resolves, sum 650+578+1455 = 2683, sorted
// 5,10,12,15,15,20,20,25,30,33,35,40,45,48,50,60,60,70,90,90,100,120,130,
// 180,240,300,840: p50 = 14th = 48, p90 = 25th = 240.
//
// Pages (P1–P23 in the period; P24 at its end and P25 before it are not):
// alice P1 in (09:00 CET Mon), P3 out, P6 out (Sat), P10 out (00:00),
// P13 out (18:30), P16 in (09:00 CEST: at UTC+1 it would be 08:00, out),
// P19 out (18:00 is out), P21 out → 8 pages, 6 out of hours.
// bob, New York: P2 out (22:00 Mon), P5 in, P7 out (Sat), P11 out (23:00),
// P14 in, P17 out (08:59), P18 in (09:00), P22 out (21:30) → 8, 5.
// carol, no zone of her own so Berlin: P4 out (21:00), P8 out (Sat), P12
// out (04:15), P15 out (01:30 Sun), P20 in (17:59), P23 out → 6, 5.
// P9 is a fallback post to a channel: a page, nobody's.
// By week: P1–P9 → 9 pages, 6 out (P2,P3,P4,P6,P7,P8); P10–P15 → 6, 5
// (all but P14); P16–P23 → 8, 5 (P17,P19,P21,P22,P23).
//
// Previous period, 23 February to 16 March (21 calendar days, 504 hours):
// incidents 101–105 and 107 (106 opens a minute before it). Acks
// 10,12,8,14,6,20 → 6,8,10,12,14,20, sum 70, p50 = 3rd = 10, p90 = 6th =
// 20. Resolves 100,200,60,80,160,180 → 60,80,100,160,180,200, sum 780,
// p50 = 3rd = 100, p90 = 6th = 200. Escalated 102, 105. Alerts 14. Open at
// its end: 107 (resolved at 01:00Z on 16 March). Pages P25 (bob, 18:59
// Sunday in New York: out) and P26 (alice, 11:00 Tuesday: in).
//
// Changes: opened (30−6)/6 = +400%; MTTA (192/26)/(70/6) − 1 = 1152/1820 −
// 1; MTTR (2683/27)/130 − 1 = 2683/3510 − 1; escalation rate (8/30)/(2/6) −
// 1 = −20%.

const m = time.Minute

// Want is the hand-computed report of the fixture's Query.
func Want(zone *time.Location) analytics.Report {
	d := func(y int, mo time.Month, day int) time.Time { return time.Date(y, mo, day, 0, 0, 0, 0, zone) }
	return analytics.Report{
		From: d(2026, 3, 16), To: d(2026, 4, 6), Zone: "Europe/Berlin", By: analytics.ByWeek,
		Figures: analytics.Figures{
			Opened: 30, OpenAtEnd: 4, Alerts: 86, AlertsPerIncident: 86.0 / 30, NoiseReduction: 1 - 30.0/86,
			Escalated: 8, EscalationRate: 8.0 / 30,
			MTTA:  analytics.Durations{Count: 26, Mean: 192 * m / 26, P50: 5 * m, P90: 15 * m},
			MTTR:  analytics.Durations{Count: 27, Mean: 2683 * m / 27, P50: 48 * m, P90: 240 * m},
			Pages: 23, PagesOutOfHours: 16,
		},
		Buckets: []analytics.Bucket{
			{Label: "2026-03-16", Start: d(2026, 3, 16), End: d(2026, 3, 23), Figures: analytics.Figures{
				Opened: 10, Alerts: 30, AlertsPerIncident: 3, NoiseReduction: 1 - 10.0/30, Escalated: 2, EscalationRate: 0.2,
				MTTA:  analytics.Durations{Count: 9, Mean: 59 * m / 9, P50: 5 * m, P90: 20 * m},
				MTTR:  analytics.Durations{Count: 10, Mean: 65 * m, P50: 30 * m, P90: 120 * m},
				Pages: 9, PagesOutOfHours: 6,
			}},
			{Label: "2026-03-23", Start: d(2026, 3, 23), End: d(2026, 3, 30), Figures: analytics.Figures{
				Opened: 9, Alerts: 21, AlertsPerIncident: 21.0 / 9, NoiseReduction: 1 - 9.0/21, Escalated: 2, EscalationRate: 2.0 / 9,
				MTTA:  analytics.Durations{Count: 8, Mean: 57 * m / 8, P50: 5 * m, P90: 15 * m},
				MTTR:  analytics.Durations{Count: 9, Mean: 578 * m / 9, P50: 50 * m, P90: 180 * m},
				Pages: 6, PagesOutOfHours: 5,
			}},
			{Label: "2026-03-30", Start: d(2026, 3, 30), End: d(2026, 4, 6), Figures: analytics.Figures{
				Opened: 11, OpenAtEnd: 4, Alerts: 35, AlertsPerIncident: 35.0 / 11, NoiseReduction: 1 - 11.0/35, Escalated: 4, EscalationRate: 4.0 / 11,
				MTTA:  analytics.Durations{Count: 9, Mean: 76 * m / 9, P50: 6 * m, P90: 30 * m},
				MTTR:  analytics.Durations{Count: 8, Mean: 1455 * m / 8, P50: 48 * m, P90: 840 * m},
				Pages: 8, PagesOutOfHours: 5,
			}},
		},
		Services:   []analytics.Count{{Name: "api", Opened: 17}, {Name: "web", Opened: 13}},
		Severities: []analytics.Count{{Name: "critical", Opened: 16}, {Name: "warning", Opened: 10}, {Name: "info", Opened: 4}},
		People: []analytics.PersonLoad{
			{Person: "alice", Zone: "Europe/Berlin", Pages: 8, OutOfHours: 6},
			{Person: "bob", Zone: "America/New_York", Pages: 8, OutOfHours: 5},
			{Person: "carol", Zone: "Europe/Berlin", Pages: 6, OutOfHours: 5},
		},
		Previous: &analytics.Comparison{
			From: d(2026, 2, 23), To: d(2026, 3, 16),
			Figures: analytics.Figures{
				Opened: 6, OpenAtEnd: 1, Alerts: 14, AlertsPerIncident: 14.0 / 6, NoiseReduction: 1 - 6.0/14,
				Escalated: 2, EscalationRate: 2.0 / 6,
				MTTA:  analytics.Durations{Count: 6, Mean: 70 * m / 6, P50: 10 * m, P90: 20 * m},
				MTTR:  analytics.Durations{Count: 6, Mean: 130 * m, P50: 100 * m, P90: 200 * m},
				Pages: 2, PagesOutOfHours: 1,
			},
			OpenedChange:         ptr(400),
			MTTAChange:           ptr((1152.0/1820 - 1) * 100),
			MTTRChange:           ptr((2683.0/3510 - 1) * 100),
			EscalationRateChange: ptr(-20),
		},
	}
}

// WantHeadline is the fixture report's headline, word for word.
var WantHeadline = []string{
	"30 incidents opened, up 400% from the 3 weeks before",
	"MTTA 7m 23s, down 37% from the 3 weeks before (p50 5m, p90 15m, 26 acknowledged)",
	"MTTR 1h 39m, down 24% from the 3 weeks before (p50 48m, p90 4h, 27 resolved)",
	"escalation rate 27% (8 of 30), down 20% from the 3 weeks before",
	"86 alerts, 2.9 per incident (noise reduction 65%)",
	"23 pages sent, 16 out of hours",
	"4 still open at the end of the period",
}

func ptr(f float64) *float64 { return &f }

// CheckReport compares got with want field by field and reports every
// difference. Instants compare as instants; ratios to 1e-9.
func CheckReport(t testing.TB, got, want analytics.Report) {
	t.Helper()
	if !got.From.Equal(want.From) || !got.To.Equal(want.To) {
		t.Errorf("period = [%s, %s), want [%s, %s)", got.From, got.To, want.From, want.To)
	}
	if got.Zone != want.Zone || got.Service != want.Service || got.By != want.By {
		t.Errorf("zone, service, by = %q %q %q, want %q %q %q", got.Zone, got.Service, got.By, want.Zone, want.Service, want.By)
	}
	CheckFigures(t, "total", got.Figures, want.Figures)
	if len(got.Buckets) != len(want.Buckets) {
		t.Errorf("%d buckets, want %d: %+v", len(got.Buckets), len(want.Buckets), got.Buckets)
	} else {
		for i, w := range want.Buckets {
			g := got.Buckets[i]
			if g.Label != w.Label || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) {
				t.Errorf("bucket %d = %s [%s, %s), want %s [%s, %s)", i, g.Label, g.Start, g.End, w.Label, w.Start, w.End)
			}
			CheckFigures(t, "bucket "+w.Label, g.Figures, w.Figures)
		}
	}
	if !slices.Equal(got.Services, want.Services) {
		t.Errorf("services = %v, want %v", got.Services, want.Services)
	}
	if !slices.Equal(got.Severities, want.Severities) {
		t.Errorf("severities = %v, want %v", got.Severities, want.Severities)
	}
	if !slices.Equal(got.People, want.People) {
		t.Errorf("people = %+v, want %+v", got.People, want.People)
	}
	switch g, w := got.Previous, want.Previous; {
	case (g == nil) != (w == nil):
		t.Errorf("previous = %+v, want %+v", g, w)
	case g != nil:
		if !g.From.Equal(w.From) || !g.To.Equal(w.To) {
			t.Errorf("previous period = [%s, %s), want [%s, %s)", g.From, g.To, w.From, w.To)
		}
		CheckFigures(t, "previous", g.Figures, w.Figures)
		for _, c := range []struct {
			name string
			g, w *float64
		}{{"opened", g.OpenedChange, w.OpenedChange}, {"MTTA", g.MTTAChange, w.MTTAChange},
			{"MTTR", g.MTTRChange, w.MTTRChange}, {"escalation rate", g.EscalationRateChange, w.EscalationRateChange}} {
			if (c.g == nil) != (c.w == nil) || (c.g != nil && !near(*c.g, *c.w)) {
				t.Errorf("%s change = %v, want %v", c.name, deref(c.g), deref(c.w))
			}
		}
	}
}

// CheckFigures compares one set of figures.
func CheckFigures(t testing.TB, where string, g, w analytics.Figures) {
	t.Helper()
	ints := []struct {
		name string
		g, w int64
	}{
		{"opened", int64(g.Opened), int64(w.Opened)}, {"open at end", int64(g.OpenAtEnd), int64(w.OpenAtEnd)},
		{"alerts", g.Alerts, w.Alerts}, {"escalated", int64(g.Escalated), int64(w.Escalated)},
		{"pages", int64(g.Pages), int64(w.Pages)}, {"pages out of hours", int64(g.PagesOutOfHours), int64(w.PagesOutOfHours)},
	}
	for _, c := range ints {
		if c.g != c.w {
			t.Errorf("%s: %s = %d, want %d", where, c.name, c.g, c.w)
		}
	}
	floats := []struct {
		name string
		g, w float64
	}{{"alerts per incident", g.AlertsPerIncident, w.AlertsPerIncident}, {"noise reduction", g.NoiseReduction, w.NoiseReduction},
		{"escalation rate", g.EscalationRate, w.EscalationRate}}
	for _, c := range floats {
		if !near(c.g, c.w) {
			t.Errorf("%s: %s = %v, want %v", where, c.name, c.g, c.w)
		}
	}
	if g.MTTA != w.MTTA {
		t.Errorf("%s: MTTA = %+v, want %+v", where, g.MTTA, w.MTTA)
	}
	if g.MTTR != w.MTTR {
		t.Errorf("%s: MTTR = %+v, want %+v", where, g.MTTR, w.MTTR)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
