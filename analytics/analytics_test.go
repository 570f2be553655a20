package analytics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/analyticstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestFixtureReport checks every figure of three weeks across the change
// to summer time, with the previous period, against hand-computed values.
func TestFixtureReport(t *testing.T) {
	fx := analyticstest.Load(t)
	r, err := analytics.Build(context.Background(), fx.Facts(), fx.Query())
	if err != nil {
		t.Fatal(err)
	}
	analyticstest.CheckReport(t, r, analyticstest.Want(fx.Zone))
	if got := r.Headline(); !slices.Equal(got, analyticstest.WantHeadline) {
		t.Errorf("headline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(analyticstest.WantHeadline, "\n"))
	}
}

// The facts may come in any order: a report depends on the set, not the sequence.
func TestOrderDoesNotMatter(t *testing.T) {
	fx := analyticstest.Load(t)
	facts := fx.Facts()
	slices.Reverse(facts.Incidents)
	slices.Reverse(facts.Pages)
	r, err := analytics.Build(context.Background(), facts, fx.Query())
	if err != nil {
		t.Fatal(err)
	}
	analyticstest.CheckReport(t, r, analyticstest.Want(fx.Zone))
}

func TestServiceFilter(t *testing.T) {
	fx := analyticstest.Load(t)
	q := fx.Query()
	q.Service = "web"
	r, err := analytics.Compute(q, fx.Facts().Incidents, fx.Facts().Pages)
	if err != nil {
		t.Fatal(err)
	}
	const m = time.Minute
	// By hand: web incidents 3,4,7,9,13,14,16,18,20,23,25,27,29. Acks
	// 10,3,5,15,2,4,6,2,30,5 → 2,2,3,4,5,5,6,10,15,30, sum 82, p50 = 5th
	// = 5, p90 = 9th = 15. Resolves 90,20,15,25,180,10,40,60,48,12,300,840
	// → 10,12,15,20,25,40,48,60,90,180,300,840, sum 1640, p50 = 6th = 40,
	// p90 = 11th = 300. Escalated 3,13,20,25,29. Alerts 42. Open at end
	// 27, 29. Pages P2,P3,P9,P11,P12,P15,P19,P20,P21,P22,P23: 11, of which
	// 9 out of hours (all but the fallback P9 and P20 at 17:59).
	want := analytics.Figures{
		Opened: 13, OpenAtEnd: 2, Alerts: 42, AlertsPerIncident: 42.0 / 13, NoiseReduction: 1 - 13.0/42,
		Escalated: 5, EscalationRate: 5.0 / 13,
		MTTA:  analytics.Durations{Count: 10, Mean: 82 * m / 10, P50: 5 * m, P90: 15 * m},
		MTTR:  analytics.Durations{Count: 12, Mean: 1640 * m / 12, P50: 40 * m, P90: 300 * m},
		Pages: 11, PagesOutOfHours: 9,
	}
	analyticstest.CheckFigures(t, "web", r.Figures, want)
	if !slices.Equal(r.Services, []analytics.Count{{Name: "web", Opened: 13}}) {
		t.Errorf("services = %v", r.Services)
	}
}

// Days in Berlin around the change to summer time: 29 March has 23 hours,
// and each incident lands on its local date.
func TestDaysAcrossDST(t *testing.T) {
	fx := analyticstest.Load(t)
	loc := fx.Zone
	q := analytics.Query{From: time.Date(2026, 3, 28, 0, 0, 0, 0, loc), To: time.Date(2026, 3, 31, 0, 0, 0, 0, loc), By: analytics.ByDay, Zone: loc}
	r, err := analytics.Compute(q, fx.Facts().Incidents, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		label  string
		hours  float64
		opened int
	}{
		{"2026-03-28", 24, 1}, // 17
		{"2026-03-29", 23, 2}, // 18 at 01:30 CET, 19 at 23:30 CEST
		{"2026-03-30", 24, 2}, // 20 at 00:30 CEST, 21
	}
	if len(r.Buckets) != len(want) {
		t.Fatalf("%d buckets, want %d", len(r.Buckets), len(want))
	}
	for i, w := range want {
		b := r.Buckets[i]
		if b.Label != w.label || b.End.Sub(b.Start).Hours() != w.hours || b.Opened != w.opened {
			t.Errorf("bucket %d = %s, %vh, %d opened; want %s, %vh, %d", i, b.Label, b.End.Sub(b.Start).Hours(), b.Opened, w.label, w.hours, w.opened)
		}
	}
}

// A period that starts and ends mid-week has clipped first and last weeks,
// labelled by their Mondays.
func TestPartialWeeks(t *testing.T) {
	loc := berlin(t)
	q := analytics.Query{From: time.Date(2026, 3, 18, 12, 0, 0, 0, loc), To: time.Date(2026, 3, 24, 0, 0, 0, 0, loc), Zone: loc}
	r, err := analytics.Compute(q, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	type span struct {
		label      string
		start, end time.Time
	}
	var got []span
	for _, b := range r.Buckets {
		got = append(got, span{b.Label, b.Start, b.End})
	}
	want := []span{
		{"2026-03-16", q.From, time.Date(2026, 3, 23, 0, 0, 0, 0, loc)},
		{"2026-03-23", time.Date(2026, 3, 23, 0, 0, 0, 0, loc), q.To},
	}
	if len(got) != len(want) {
		t.Fatalf("buckets %v, want %v", got, want)
	}
	for i := range want {
		if got[i].label != want[i].label || !got[i].start.Equal(want[i].start) || !got[i].end.Equal(want[i].end) {
			t.Errorf("bucket %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestPrevious(t *testing.T) {
	loc := berlin(t)
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, mo time.Month, d, h int, l *time.Location) time.Time {
		return time.Date(y, mo, d, h, 0, 0, 0, l)
	}
	tests := []struct {
		name             string
		from, to         time.Time
		zone             *time.Location
		wantFrom         time.Time
		wantPreviousSpan time.Duration
	}{
		{"midnights keep calendar days across DST", at(2026, 3, 23, 0, loc), at(2026, 4, 6, 0, loc), loc,
			at(2026, 3, 9, 0, loc), 336 * time.Hour},
		{"a week holding the DST change compares with a whole week", at(2026, 3, 30, 0, loc), at(2026, 4, 6, 0, loc), loc,
			at(2026, 3, 23, 0, loc), 167 * time.Hour},
		{"not midnights: the same absolute length", at(2026, 3, 30, 12, loc), at(2026, 4, 2, 12, loc), loc,
			at(2026, 3, 27, 11, loc), 72 * time.Hour},
		{"midnight in New York is not midnight in Berlin", at(2026, 3, 10, 0, ny), at(2026, 3, 17, 0, ny), loc,
			at(2026, 3, 2, 23, ny), 168 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := analytics.Query{From: tc.from, To: tc.to, Zone: tc.zone}.Previous()
			if !p.From.Equal(tc.wantFrom) || !p.To.Equal(tc.from) {
				t.Errorf("previous = [%s, %s), want [%s, %s)", p.From, p.To, tc.wantFrom, tc.from)
			}
			if got := p.To.Sub(p.From); got != tc.wantPreviousSpan {
				t.Errorf("previous lasts %s, want %s", got, tc.wantPreviousSpan)
			}
		})
	}
}

func TestOutOfHours(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"Monday 08:59", time.Date(2026, 3, 30, 8, 59, 0, 0, loc), true},
		{"Monday 09:00", time.Date(2026, 3, 30, 9, 0, 0, 0, loc), false},
		{"Friday 17:59", time.Date(2026, 4, 3, 17, 59, 59, 0, loc), false},
		{"Friday 18:00", time.Date(2026, 4, 3, 18, 0, 0, 0, loc), true},
		{"Saturday noon", time.Date(2026, 4, 4, 12, 0, 0, 0, loc), true},
		{"Sunday noon", time.Date(2026, 4, 5, 12, 0, 0, 0, loc), true},
		{"Tuesday 03:00", time.Date(2026, 3, 31, 3, 0, 0, 0, loc), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := analytics.OutOfHours(tc.at, loc); got != tc.want {
				t.Errorf("OutOfHours(%s) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	const s = time.Second
	mk := func(secs ...int) []analytics.Incident {
		var out []analytics.Incident
		base := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
		for _, v := range secs {
			out = append(out, analytics.Incident{Created: base, Acknowledged: base.Add(time.Duration(v) * s), Service: "x"})
		}
		return out
	}
	q := analytics.Query{From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name string
		secs []int
		want analytics.Durations
	}{
		{"one", []int{7}, analytics.Durations{Count: 1, Mean: 7 * s, P50: 7 * s, P90: 7 * s}},
		{"two: p50 is the lower", []int{10, 20}, analytics.Durations{Count: 2, Mean: 15 * s, P50: 10 * s, P90: 20 * s}},
		{"ten", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, analytics.Durations{Count: 10, Mean: 14500 * time.Millisecond, P50: 5 * s, P90: 9 * s}},
		{"eleven: p90 is the 10th", []int{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, analytics.Durations{Count: 11, Mean: 6 * s, P50: 6 * s, P90: 10 * s}},
		{"an ack before its creation (clock skew) counts as zero", []int{-5, 5}, analytics.Durations{Count: 2, Mean: 2500 * time.Millisecond, P50: 0, P90: 5 * s}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := analytics.Compute(q, mk(tc.secs...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.MTTA != tc.want {
				t.Errorf("MTTA = %+v, want %+v", r.MTTA, tc.want)
			}
		})
	}
}

func TestQueryValidate(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    analytics.Query
		want string
	}{
		{"no start", analytics.Query{To: t0}, "needs both"},
		{"backwards", analytics.Query{From: t0, To: t0.Add(-time.Hour)}, "must end after it starts"},
		{"empty", analytics.Query{From: t0, To: t0}, "must end after it starts"},
		{"too long", analytics.Query{From: t0, To: t0.AddDate(2, 0, 0)}, "the longest is 400 days"},
		{"bad bucket", analytics.Query{From: t0, To: t0.Add(time.Hour), By: "month"}, "by must be day or week"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 4, 6, 10, 30, 0, 0, loc)
	tests := []struct {
		name, from, to string
		wantFrom       time.Time
		wantTo         time.Time
		wantErr        string
	}{
		{"defaults: 28 days to now", "", "", now.AddDate(0, 0, -28), now, ""},
		{"7d before now keeps the wall clock across DST", "7d", "now", time.Date(2026, 3, 30, 10, 30, 0, 0, loc), now, ""},
		{"weeks before a date", "4w", "2026-04-06", time.Date(2026, 3, 9, 0, 0, 0, 0, loc), time.Date(2026, 4, 6, 0, 0, 0, 0, loc), ""},
		{"hours are hours", "36h", "2026-03-30", time.Date(2026, 3, 28, 11, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc), ""},
		{"dates and RFC 3339", "2026-03-16", "2026-03-20T12:00:00Z", time.Date(2026, 3, 16, 0, 0, 0, 0, loc), time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC), ""},
		{"bad from", "last week", "", time.Time{}, time.Time{}, "from: \"last week\" is neither"},
		{"bad to", "", "tomorrow", time.Time{}, time.Time{}, "to: \"tomorrow\" is neither"},
		{"zero length", "0d", "", time.Time{}, time.Time{}, "not a length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, to, err := analytics.ParseRange(tc.from, tc.to, now, loc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !from.Equal(tc.wantFrom) || !to.Equal(tc.wantTo) {
				t.Errorf("range = [%s, %s), want [%s, %s)", from, to, tc.wantFrom, tc.wantTo)
			}
		})
	}
}

// The text, CSV and JSON forms of the fixture report are golden files:
// run `go test ./analytics -update` after a deliberate change and review the diff.
func TestRenderGolden(t *testing.T) {
	fx := analyticstest.Load(t)
	r, err := analytics.Build(context.Background(), fx.Facts(), fx.Query())
	if err != nil {
		t.Fatal(err)
	}
	var text, csv bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"report.txt": text.Bytes(), "report.csv": csv.Bytes(), "report.json": append(js, '\n')} {
		golden(t, filepath.Join("testdata", name), got)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after a deliberate change); got:\n%s", path, got)
	}
}

// The JSON form reads back: durations in seconds, percent changes as numbers.
func TestJSONShape(t *testing.T) {
	fx := analyticstest.Load(t)
	r, err := analytics.Build(context.Background(), fx.Facts(), fx.Query())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Totals struct {
			MTTA analytics.Durations `json:"mtta"`
		} `json:"totals"`
		Buckets  []json.RawMessage `json:"buckets"`
		Previous struct {
			MTTAChange *float64 `json:"mtta_change_pct"`
		} `json:"previous"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Totals.MTTA.Count != 26 || doc.Totals.MTTA.P90 != 15*time.Minute || len(doc.Buckets) != 3 {
		t.Errorf("json = %s", b)
	}
	if doc.Previous.MTTAChange == nil || *doc.Previous.MTTAChange > -36 || *doc.Previous.MTTAChange < -37 {
		t.Errorf("mtta_change_pct = %v, want about -36.7", doc.Previous.MTTAChange)
	}
}

func TestHeadlineOfOne(t *testing.T) {
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	q := analytics.Query{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	r, err := analytics.Compute(q, []analytics.Incident{{Service: "x", Created: at, Alerts: 1}}, []analytics.Page{{Person: "a", At: at}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 incident opened",
		"MTTA: no incident acknowledged",
		"MTTR: no incident resolved",
		"escalation rate 0% (0 of 1)",
		"1 alert, 1.0 per incident (noise reduction 0%)",
		"1 page sent, 0 out of hours",
		"1 still open at the end of the period",
	}
	if got := r.Headline(); !slices.Equal(got, want) {
		t.Errorf("headline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
