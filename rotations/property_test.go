package rotations

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

// propertyZones mix hemispheres, half-hour offsets, a 30-minute DST change
// (Lord Howe), DST at midnight (Santiago, Asuncion), Ramadan DST
// (Casablanca) and zones that dropped DST within the years drawn (Sao Paulo
// 2019, Tehran 2022). Pacific/Apia is left out: it skipped 2011-12-30
// entirely, giving an empty shift, which the tiling check below would
// rightly flag but which TestSkippedDay covers on its own.
var propertyZones = []string{
	"UTC", "America/New_York", "Europe/Paris", "Australia/Sydney", "Asia/Kolkata",
	"Australia/Lord_Howe", "America/St_Johns", "America/Santiago", "America/Asuncion",
	"Africa/Casablanca", "America/Sao_Paulo", "Asia/Tehran", "Pacific/Chatham", "Europe/London",
}

// randomSpec draws a rotation; handoff minutes favour :00 and :30 so that
// skipped and repeated wall times come up often.
func randomSpec(rng *rand.Rand, i int) Spec {
	s := Spec{
		Name:     "r" + strconv.Itoa(i),
		Timezone: propertyZones[rng.IntN(len(propertyZones))],
		Start:    time.Date(2019+rng.IntN(9), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
	}
	for n := 1 + rng.IntN(5); n > 0; n-- {
		s.Participants = append(s.Participants, "p"+strconv.Itoa(rng.IntN(6))) // duplicates happen
	}
	clock := fmt.Sprintf("%02d:%02d", rng.IntN(24), []int{0, 30, 0, 30, 15, 45, 59}[rng.IntN(7)])
	if rng.IntN(3) == 0 {
		clock = []string{"00:00", "00:30", "01:30", "02:00", "02:30", "03:00"}[rng.IntN(6)]
	}
	switch rng.IntN(4) {
	case 0:
		s.Shift = "hourly"
	case 1:
		s.Shift, s.Handoff = "daily", clock
	case 2:
		s.Shift, s.Handoff = "weekly", []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}[rng.IntN(7)]+" "+clock
	case 3:
		s.Shift = (time.Duration(15+rng.IntN(14*24*4-15)) * 15 * time.Minute / 15).String()
	}
	return s
}

// referenceHandoffs lists the first n handoffs of s by stepping one shift at
// a time from the start: the slow, obviously right way that ShiftAt must
// agree with without doing it.
func referenceHandoffs(tb testing.TB, s Spec, n int) []time.Time {
	tb.Helper()
	loc := mustLoc(tb, s.Timezone)
	day, err := time.Parse(time.DateOnly, s.Start)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]time.Time, 0, n)
	switch s.Shift {
	case "daily", "weekly":
		clock := s.Handoff
		step := 1
		if s.Shift == "weekly" {
			wd, c, _ := stringsCut(s.Handoff, " ")
			clock, step = c, 7
			for day.Weekday().String()[:3] != wd {
				day = day.AddDate(0, 0, 1)
			}
		}
		h, _ := strconv.Atoi(clock[:2])
		m, _ := strconv.Atoi(clock[3:])
		for len(out) < n {
			out = append(out, refLocalTime(day.Year(), day.Month(), day.Day(), h, m, loc))
			day = day.AddDate(0, 0, step) // day is UTC: calendar arithmetic only
		}
	default:
		period := time.Hour
		if s.Shift != "hourly" {
			period, _ = time.ParseDuration(s.Shift)
		}
		t := refLocalTime(day.Year(), day.Month(), day.Day(), 0, 0, loc)
		for len(out) < n {
			out = append(out, t)
			t = t.Add(period)
		}
	}
	return out
}

func stringsCut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// TestShiftAtProperties: thousands of random rotations, each probed at many
// random instants from just before its start to years after, against the
// step-by-step reference: exactly one person at every instant, the shift
// contains the instant, consecutive shifts tile time (End of k is Start of
// k+1), and before the start ErrNotStarted.
func TestShiftAtProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260105, 3))
	rotations, probes, handoffs := 2000, 40, 800
	if testing.Short() {
		rotations = 300
	}
	for i := range rotations {
		spec := randomSpec(rng, i)
		r := mustCompile(t, spec)
		ref := referenceHandoffs(t, spec, handoffs)
		if !r.FirstHandoff().Equal(ref[0]) {
			t.Fatalf("%+v: first handoff %s, reference %s", spec, r.FirstHandoff(), ref[0])
		}
		span := ref[len(ref)-1].Sub(ref[0])
		for range probes {
			at := ref[0].Add(time.Duration(rng.Int64N(int64(span+48*time.Hour))) - 48*time.Hour)
			if rng.IntN(8) == 0 { // exactly on a handoff, or just before one
				at = ref[rng.IntN(len(ref)-1)].Add(-time.Duration(rng.IntN(2)))
			}
			s, err := r.ShiftAt(at)
			if at.Before(ref[0]) {
				if !errors.Is(err, ErrNotStarted) {
					t.Fatalf("%+v at %s (before start): %+v, %v", spec, at, s, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%+v at %s: %v", spec, at, err)
			}
			k := sort.Search(len(ref), func(i int) bool { return ref[i].After(at) }) - 1
			want := Shift{Person: spec.Participants[k%len(spec.Participants)], Start: ref[k], End: ref[k+1], Index: int64(k)}
			if s.Index != want.Index || s.Person != want.Person || !s.Start.Equal(want.Start) || !s.End.Equal(want.End) {
				t.Fatalf("%+v at %s:\n got %d %s [%s, %s)\nwant %d %s [%s, %s)", spec, at,
					s.Index, s.Person, s.Start, s.End, want.Index, want.Person, want.Start, want.End)
			}
			if at.Before(s.Start) || !at.Before(s.End) {
				t.Fatalf("%+v: shift [%s, %s) does not contain %s", spec, s.Start, s.End, at)
			}
			// Tiling: the instant the shift ends belongs to the next shift,
			// which starts exactly there; the instant before, to this one.
			next := mustShiftAt(t, r, s.End)
			last := mustShiftAt(t, r, s.End.Add(-time.Nanosecond))
			if next.Index != s.Index+1 || !next.Start.Equal(s.End) || last.Index != s.Index {
				t.Fatalf("%+v: shift %d ends %s; at its end shift %d from %s; 1ns before, shift %d", spec,
					s.Index, s.End, next.Index, next.Start, last.Index)
			}
		}
		// Shifts over a window agrees with ShiftAt and tiles it.
		from := ref[0].Add(time.Duration(rng.Int64N(int64(span / 2))))
		to := from.Add(time.Duration(rng.Int64N(int64(span/4))) + 1)
		list := r.Shifts(from, to)
		if len(list) == 0 || list[0].Start.After(from) || !list[len(list)-1].End.After(to.Add(-time.Nanosecond)) {
			t.Fatalf("%+v: Shifts(%s, %s) does not cover the range: %d shifts", spec, from, to, len(list))
		}
		for j := 1; j < len(list); j++ {
			if !list[j].Start.Equal(list[j-1].End) || list[j].Index != list[j-1].Index+1 {
				t.Fatalf("%+v: Shifts leaves a gap or overlap between %+v and %+v", spec, list[j-1], list[j])
			}
		}
	}
}

// brute answers "who is on call at t" the slow way: scan every override,
// keeping the newest (latest Created, then the larger numeric ID), written
// out here rather than reusing the package's comparison.
func brute(r *Rotation, ovs []Override, t time.Time) (string, string) {
	var best *Override
	for i := range ovs {
		o := &ovs[i]
		if o.Rotation != r.Name() || t.Before(o.From) || !t.Before(o.Until) {
			continue
		}
		if best == nil || o.Created.After(best.Created) || (o.Created.Equal(best.Created) && atoi(o.ID) > atoi(best.ID)) {
			best = o
		}
	}
	if best != nil {
		return best.Person, best.ID
	}
	s, _ := r.ShiftAt(t)
	return s.Person, ""
}

// randomOverrides draws n overrides for r (and a few for another rotation,
// which must change nothing), many overlapping, some sharing a Created
// instant, some sharing boundaries.
func randomOverrides(rng *rand.Rand, r *Rotation, n int, from time.Time, span time.Duration) []Override {
	var out []Override
	base := from.Add(-span / 10)
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var points []time.Time
	for i := range n {
		var f time.Time
		if len(points) > 0 && rng.IntN(4) == 0 {
			f = points[rng.IntN(len(points))] // reuse a boundary
		} else {
			f = base.Add(time.Duration(rng.Int64N(int64(span))))
		}
		u := f.Add(time.Duration(1 + rng.Int64N(int64(span/8))))
		points = append(points, f, u)
		if rng.IntN(5) != 0 {
			created = created.Add(time.Duration(rng.IntN(3)) * time.Minute) // 0: a tie
		}
		rot := r.Name()
		if rng.IntN(10) == 0 {
			rot = "elsewhere"
		}
		out = append(out, Override{ID: strconv.Itoa(i + 1), Rotation: rot, Person: "o" + strconv.Itoa(rng.IntN(4)),
			From: f, Until: u, Created: created})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestOverrideProperties: with random overlapping overrides, OnCall agrees
// with a brute-force scan at random instants (newest override wins inside
// overlaps; outside every override the base rotation answers); the interval
// OnCall returns contains the instant and the same answer holds at both of
// its ends; Shifts tiles time with pieces that agree with OnCall.
func TestOverrideProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2027))
	rotations, probes := 600, 60
	if testing.Short() {
		rotations = 100
	}
	for i := range rotations {
		spec := randomSpec(rng, i)
		r := mustCompile(t, spec)
		first := r.FirstHandoff()
		span := 60 * 24 * time.Hour
		ovs := randomOverrides(rng, r, rng.IntN(40), first.Add(span/4), span)
		set := NewOverrideSet(ovs)
		for range probes {
			at := first.Add(time.Duration(rng.Int64N(int64(span + span/2))))
			if len(ovs) > 0 && rng.IntN(4) == 0 { // on an override boundary
				o := ovs[rng.IntN(len(ovs))]
				at = []time.Time{o.From, o.Until, o.Until.Add(-1)}[rng.IntN(3)]
				if at.Before(first) {
					continue
				}
			}
			person, from, until, err := OnCall(r, set, at)
			if err != nil {
				t.Fatalf("%+v: OnCall(%s): %v", spec, at, err)
			}
			wantPerson, wantID := brute(r, ovs, at)
			base := mustShiftAt(t, r, at)
			if person != wantPerson {
				t.Fatalf("%+v at %s: %s on call, brute force says %s (override %q)", spec, at, person, wantPerson, wantID)
			}
			if wantID == "" && (person != base.Person || from.Before(base.Start) || until.After(base.End)) {
				t.Fatalf("%+v at %s: no override applies, yet %s [%s, %s) differs from the base shift %+v", spec, at, person, from, until, base)
			}
			if at.Before(from) || !at.Before(until) || from.Before(base.Start) || until.After(base.End) {
				t.Fatalf("%+v at %s: interval [%s, %s) (base shift [%s, %s))", spec, at, from, until, base.Start, base.End)
			}
			for _, edge := range []time.Time{from, until.Add(-time.Nanosecond)} {
				p2, f2, u2, _ := OnCall(r, set, edge)
				if p2 != person || !f2.Equal(from) || !u2.Equal(until) {
					t.Fatalf("%+v: at %s %s [%s, %s), but at %s %s [%s, %s)", spec, at, person, from, until, edge, p2, f2, u2)
				}
				if bp, _ := brute(r, ovs, edge); bp != person {
					t.Fatalf("%+v: interval [%s, %s) claims %s, brute force at %s says %s", spec, from, until, person, edge, bp)
				}
			}
		}
		// Shifts with overrides applied: no gap, no overlap, and each piece
		// is what OnCall says at its start.
		from := first.Add(span / 8)
		pieces := Shifts(r, set, from, from.Add(span))
		for j, p := range pieces {
			if j > 0 && !p.Start.Equal(pieces[j-1].End) {
				t.Fatalf("%+v: gap or overlap between %+v and %+v", spec, pieces[j-1], p)
			}
			person, f, u, _ := OnCall(r, set, p.Start)
			if person != p.Person || !f.Equal(p.Start) || !u.Equal(p.End) {
				t.Fatalf("%+v: piece %+v, OnCall at its start %s [%s, %s)", spec, p, person, f, u)
			}
			if o, ok := set.At(r.Name(), p.Start); ok != (p.OverrideID != "") || (ok && o.ID != p.OverrideID) {
				t.Fatalf("%+v: piece %+v, At gives %+v %v", spec, p, o, ok)
			}
		}
		if len(pieces) > 0 && (pieces[0].Start.After(from) || pieces[len(pieces)-1].End.Before(from.Add(span))) {
			t.Fatalf("%+v: pieces [%s, %s) do not cover the window", spec, pieces[0].Start, pieces[len(pieces)-1].End)
		}
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
