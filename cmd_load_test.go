package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock is a clock that moves only when a request is answered.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// answerIn answers 202 after moving the clock by d: a server that takes d.
type answerIn struct {
	clock *stepClock
	d     time.Duration
}

func (a answerIn) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.clock.add(a.d)
	return &http.Response{StatusCode: http.StatusAccepted, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

// A closed-loop request's latency is the server's time, not also the time
// it waited in the tool's own queue for a free connection: against a
// server that takes exactly 10 ms, every request measures 10 ms.
func TestLoadLatencyCountsFromTheRequest(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	spec := loadSpec{url: "http://baton.invalid/v1/alerts/generic", mode: "unique", n: 50, c: 1, status: http.StatusAccepted,
		now: clock.now, client: &http.Client{Transport: answerIn{clock, 10 * time.Millisecond}}, run: "t"}
	r := runLoad(context.Background(), spec)
	if len(r.lat) != 50 || r.failures != 0 {
		t.Fatalf("%d latencies, %d failures (%s)", len(r.lat), r.failures, r.firstErr)
	}
	if r.lat[0] != 10*time.Millisecond || r.lat[49] != 10*time.Millisecond {
		t.Fatalf("latencies from %v to %v, want 10ms each", r.lat[0], r.lat[49])
	}
	if r.elapsed != 500*time.Millisecond {
		t.Fatalf("elapsed %v, want 500ms", r.elapsed)
	}
}

func TestLoadRatios(t *testing.T) {
	lat := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Millisecond)
		}
		return out
	}
	cases := []struct {
		name    string
		b, c    loadResult
		want    ratios
		wantErr bool
	}{
		{"half the ceiling's rate, twice its latency", loadResult{elapsed: 2 * time.Second, lat: lat(2, 2, 4)},
			loadResult{elapsed: time.Second, lat: lat(1, 1, 2)}, ratios{0.5, 2, 2}, false},
		{"an empty ceiling run", loadResult{elapsed: time.Second, lat: lat(1)}, loadResult{elapsed: time.Second}, ratios{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pairRatios(tc.b, tc.c)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("pairRatios = %+v, %v; want %+v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if s := spread([]float64{0.9, 0.5, 0.7}, "%.1f"); s != "0.5–0.7–0.9" {
		t.Fatalf("spread = %q", s)
	}
}

// --ceiling runs the same load against a no-op handler of the tool's own,
// interleaved with the runs against baton, and prints baton's figures as
// ratios to it. (Here the "baton" is a no-op handler too: the ratios are
// about 1, whatever this machine's speed.)
func TestLoadCeilingInterleaved(t *testing.T) {
	u, stop, err := startCeiling()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	base := strings.TrimSuffix(u, "/v1/alerts/generic")
	var out, errs bytes.Buffer
	if rc := cmdLoad(context.Background(), []string{"--url", base, "-n", "200", "-c", "4", "--ceiling", "--runs", "3"}, &out, &errs); rc != 0 {
		t.Fatalf("rc %d: %s %s", rc, out.String(), errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var order []string
	for _, l := range lines[:len(lines)-1] {
		order = append(order, strings.Fields(l)[0])
	}
	if got := strings.Join(order, " "); got != "ceiling baton ceiling baton ceiling baton" {
		t.Fatalf("runs in order %q, want interleaved pairs:\n%s", got, out.String())
	}
	re := regexp.MustCompile(`^over 3 interleaved runs \(min–median–max\): ceiling \d+–\d+–\d+ alerts/s, baton \d+–\d+–\d+ alerts/s; baton/ceiling throughput [\d.]+–[\d.]+–[\d.]+, p50 [\d.]+–[\d.]+–[\d.]+×, p99 [\d.]+–[\d.]+–[\d.]+×$`)
	if last := lines[len(lines)-1]; !re.MatchString(last) {
		t.Fatalf("summary line %q", last)
	}
}

func TestLoadRefusesBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"mode", []string{"--mode", "burst"}, "--mode must be unique or duplicate"},
		{"runs", []string{"--runs", "0"}, "must be positive"},
		{"concurrency", []string{"-c", "0"}, "must be positive"},
		{"rate", []string{"--rate", "-1"}, "--rate not negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if rc := cmdLoad(context.Background(), tc.args, &out, &errs); rc != 2 || !strings.Contains(errs.String(), tc.want) {
				t.Fatalf("rc %d, stderr %q; want 2 and %q", rc, errs.String(), tc.want)
			}
		})
	}
}
