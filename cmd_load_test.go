package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// refuseAfter answers ok requests 202, then 401 with baton's reason.
type refuseAfter struct {
	mu    sync.Mutex
	ok    int
	calls int
}

func (a *refuseAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	a.calls++
	refuse := a.calls > a.ok
	a.mu.Unlock()
	if refuse {
		return &http.Response{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized",
			Body: io.NopCloser(strings.NewReader(`{"error":"wrong credentials: the token is not intake.tokens.generic"}`)), Request: r}, nil
	}
	return &http.Response{StatusCode: http.StatusAccepted, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

// A refused request stops the run: its figures count the answered requests
// only, and the failure says what baton said.
func TestLoadStopsAtTheFirstFailure(t *testing.T) {
	cases := []struct {
		name string
		ok   int
	}{
		{"refused from the first request", 0},
		{"refused after 5 answered", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := &refuseAfter{ok: tc.ok}
			spec := loadSpec{url: "http://baton.invalid/v1/alerts/generic", mode: "unique", n: 100, c: 1, status: http.StatusAccepted,
				client: &http.Client{Transport: rt}, run: "t"}
			r := runLoad(context.Background(), spec)
			if len(r.lat) != tc.ok || r.failures != 1 || rt.calls != tc.ok+1 {
				t.Fatalf("%d latencies, %d failures, %d requests; want %d, 1, %d", len(r.lat), r.failures, rt.calls, tc.ok, tc.ok+1)
			}
			if !strings.Contains(r.firstErr, "401 Unauthorized") || !strings.Contains(r.firstErr, "wrong credentials") {
				t.Fatalf("first failure %q does not say what baton said", r.firstErr)
			}
		})
	}
}

// An interrupted run counts no request it did not send.
func TestLoadInterruptedCountsOnlyWhatWasSent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock := &stepClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	calls := 0
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls++ // c is 1: one request at a time
		if calls == 10 {
			cancel()
		}
		clock.add(time.Millisecond)
		return &http.Response{StatusCode: http.StatusAccepted, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	spec := loadSpec{url: "http://baton.invalid/v1/alerts/generic", mode: "unique", n: 100, c: 1, status: http.StatusAccepted,
		now: clock.now, client: &http.Client{Transport: rt}, run: "t"}
	r := runLoad(ctx, spec)
	if len(r.lat) != calls || r.failures != 0 {
		t.Fatalf("%d latencies and %d failures after %d requests answered", len(r.lat), r.failures, calls)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

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
			if rc := cmdLoad(context.Background(), []string{"--url", base, "-n", "200", "-c", "4", flag, "--runs", "3"}, &out, &errs, nil); rc != 0 {
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
		{"runs", []string{"--runs", "0"}, "--runs must be at least 1"},
		{"concurrency", []string{"-c", "0"}, "-c must be between 1 and 10000"},
		{"rate", []string{"--rate", "-1"}, "--rate must not be negative"},
		{"two ceilings", []string{"--ceiling", "--ceiling-in-process"}, "give one"},
		{"a word that is not a flag", []string{"http://127.0.0.1:18080", "-n", "10"}, `unexpected argument "http://127.0.0.1:18080"`},
		{"a URL without its scheme", []string{"--url", "127.0.0.1:18080"}, "--url must be baton's base URL"},
		{"no alerts", []string{"-n", "0"}, "-n must be between 1 and"},
		{"too many alerts to keep", []string{"-n", "1000000000000"}, "-n must be between 1 and"},
		{"first page, no runs", []string{"--first-page", "--runs", "0"}, "--runs must be at least 1"},
		{"first page, negative alerts", []string{"--first-page", "-n", "-1"}, "-n must be between 1 and"},
		{"first page, negative rate", []string{"--first-page", "--rate", "-5"}, "--rate must not be negative"},
		{"first page with a mode", []string{"--first-page", "--mode", "duplicate"}, "drop --mode"},
		{"first page, negative wait", []string{"--first-page", "--page-wait", "-1s"}, "--page-wait must not be negative"},
		{"pages without first page", []string{"--pages", "/nonexistent"}, "go with --first-page"},
		{"a ceiling for the first page", []string{"--first-page", "--ceiling"}, "--first-page has no ceiling"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if rc := cmdLoad(context.Background(), tc.args, &out, &errs, nil); rc != 2 || !strings.Contains(errs.String(), tc.want) {
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

// --first-page with a log that has no page lines (a baton logging at warn,
// or its log not piped in) exits 1 and says why, rather than printing
// 0.00 ms figures; a page line written to the --pages file after it was
// opened is read (the file is followed as it grows).
func TestFirstPageNeedsPageLines(t *testing.T) {
	cases := []struct {
		name     string
		logPages bool
		rc       int
		want     string
	}{
		{"no page lines", false, 1, "no page was read from the log"},
		{"page lines appended to the file", true, 0, "POST→page p50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, err := os.Create(filepath.Join(t.TempDir(), "baton.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			var mu sync.Mutex
			n := int64(0)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				mu.Lock()
				n++
				inc := n
				if tc.logPages {
					fmt.Fprintf(log, "time=x level=INFO msg=page incident=%d person=alice\n", inc)
				}
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"incident":%d,"created":true}`, inc)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errs bytes.Buffer
			rc := cmdLoad(ctx, []string{"--first-page", "--url", srv.URL, "-n", "3", "--rate", "100", "--pages", log.Name(), "--page-wait", "300ms"}, &out, &errs, nil)
			if rc != tc.rc || !strings.Contains(out.String()+errs.String(), tc.want) {
				t.Fatalf("rc %d, want %d and %q:\n%s%s", rc, tc.rc, tc.want, out.String(), errs.String())
			}
		})
	}
}
