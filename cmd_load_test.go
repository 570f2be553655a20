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

// --ceiling runs the same load against a no-op handler in a process of its
// own (--ceiling-in-process: in the tool's), interleaved with the runs
// against baton, and prints baton's figures as ratios to it. (Here the
// "baton" is a no-op handler too: the ratios are about 1, whatever this
// machine's speed.)
func TestLoadCeilingInterleaved(t *testing.T) {
	for _, flag := range []string{"--ceiling", "--ceiling-in-process"} {
		t.Run(flag, func(t *testing.T) {
			u, stop, err := startCeiling()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			base := strings.TrimSuffix(u, "/v1/alerts/generic")
			var out, errs bytes.Buffer
			if rc := cmdLoad(context.Background(), []string{"--url", base, "-n", "200", "-c", "4", flag, "--runs", "3"}, &out, &errs); rc != 0 {
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
		})
	}
}

// The ceiling's own process answers 202 at the URL it prints, and is gone
// once stopped.
func TestCeilingProcess(t *testing.T) {
	var stderr bytes.Buffer
	u, stop, err := startCeilingProcess(t.Context(), &stderr)
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, stderr.String())
	}
	resp, err := http.Post(u, "application/json", strings.NewReader(`{"dedup_key":"k"}`))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("the ceiling answered %s, want 202", resp.Status)
	}
	stop()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if resp, err := c.Post(u, "application/json", strings.NewReader(`{}`)); err == nil {
		resp.Body.Close()
		t.Fatalf("the ceiling still answers (%s) after stop", resp.Status)
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
		{"two ceilings", []string{"--ceiling", "--ceiling-in-process"}, "give one"},
		{"a ceiling for the first page", []string{"--first-page", "--ceiling"}, "--first-page has no ceiling"},
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

// The first-page mode finds the incident of the log pager's "page" lines,
// text or JSON, and nothing else.
func TestPageLineIncident(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		n          int64
		ok         bool
	}{
		{"text", `time=2026-12-01T02:50:00.000Z level=INFO msg=page incident=42 person=alice channel="" reason=first level=1` + "\n", 42, true},
		{"json", `{"time":"2026-12-01T02:50:00Z","level":"INFO","msg":"page","incident":7,"person":"bob"}` + "\n", 7, true},
		{"fallback at error", `time=x level=ERROR msg=page incident=9 person="" channel=#db reason=fallback` + "\n", 9, true},
		{"another line naming an incident", `time=x level=INFO msg="escalation: page already delivered" incident=3` + "\n", 0, false},
		{"page in the text of another message", `time=x level=INFO msg=paged incident=3` + "\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := pageLineIncident([]byte(tc.line))
			if n != tc.n || ok != tc.ok {
				t.Fatalf("got %d, %v; want %d, %v", n, ok, tc.n, tc.ok)
			}
		})
	}
}

// A page read before or after its alert's 202 is timed from the moment the
// alert's request was written.
func TestPageWatchWaitsForThePage(t *testing.T) {
	w := newPageWatch(time.Now)
	r, pw := io.Pipe()
	go w.read(r)
	go func() {
		_, _ = io.WriteString(pw, "time=x level=INFO msg=page incident=5 person=a\n")
		_ = pw.Close()
	}()
	if _, ok := w.pagedAt(5, time.Now().Add(10*time.Second)); !ok {
		t.Fatal("page of incident 5 not seen")
	}
	if _, ok := w.pagedAt(6, time.Now().Add(50*time.Millisecond)); ok {
		t.Fatal("a page of incident 6 was never logged")
	}
}
