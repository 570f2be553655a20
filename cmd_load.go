package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is one load run: n generic alerts posted to url with c
// concurrent connections, as fast as they are answered (rate 0, closed
// loop) or at rate alerts a second (open loop).
type loadSpec struct {
	url, token string
	mode       string // "unique" (a new dedup key each) or "duplicate" (one key)
	n, c, rate int
	now        func() time.Time // the clock latencies are read from
	client     *http.Client     // nil: one with c connections
	run        string           // dedup key prefix, unique per run
	status     int              // the answer counted a success (202)
}

// loadResult is what a run measured: throughput in alerts a second and
// each request's latency, sorted.
type loadResult struct {
	elapsed  time.Duration
	lat      []time.Duration // sorted ascending
	failures int64
	firstErr string
}

func (r loadResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// pct is the p-th quantile (0..1) of the latencies.
func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

// runLoad runs spec. A request's latency counts from the moment its worker
// begins it (closed loop: the time it waited for a free connection in the
// tool's own queue is not the server's) or, with a rate, from its scheduled
// start (open loop: a slow server cannot hide the queue it causes). Only
// answered requests count: a failure is counted apart (and stops the run:
// its figures would not be baton's), a request never sent (ctx ended) not
// at all.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	now := spec.now
	if now == nil {
		now = time.Now
	}
	client := spec.client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: spec.c, MaxConnsPerHost: spec.c}}
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	lats := make([][]time.Duration, spec.c)
	began := now()
	for w := range spec.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			for rctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= spec.n {
					return
				}
				var start time.Time
				if spec.rate > 0 {
					start = began.Add(time.Duration(i) * time.Second / time.Duration(spec.rate))
					if d := start.Sub(now()); d > 0 {
						t := time.NewTimer(d) // the schedule's pace, not a synchronisation
						select {
						case <-t.C:
						case <-rctx.Done():
							t.Stop()
							return
						}
					}
				}
				key := "load-" + spec.run
				if spec.mode == "unique" {
					key += "-" + strconv.Itoa(i)
				}
				body.Reset()
				fmt.Fprintf(&body, `{"dedup_key":%q,"summary":"load test alert","severity":"warning"}`, key)
				req, err := http.NewRequestWithContext(rctx, http.MethodPost, spec.url, &body)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					stop()
					return
				}
				req.Header.Set("Authorization", "Bearer "+spec.token)
				req.Header.Set("Content-Type", "application/json")
				if spec.rate == 0 {
					start = now()
				}
				resp, err := client.Do(req)
				if err == nil {
					if resp.StatusCode != spec.status {
						why, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
						err = fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(why)))
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					if rctx.Err() != nil {
						return // interrupted, or stopped by an earlier failure
					}
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					stop()
					return
				}
				lats[w] = append(lats[w], now().Sub(start))
			}
		}()
	}
	wg.Wait()
	res := loadResult{elapsed: now().Sub(began), failures: failures.Load()}
	if s, ok := firstErr.Load().(string); ok {
		res.firstErr = s
	}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	slices.Sort(res.lat)
	return res
}

// startCeiling serves the HTTP ceiling on loopback: a no-op handler that
// reads the body and answers 202, the fastest any webhook on this machine
// can be through the same client. It returns the alerts URL and a stop.
func startCeiling() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("ceiling: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/v1/alerts/generic", func() { _ = srv.Close() }, nil
}

// ceilingChildEnv is added to the environment of the ceiling's process
// (tests set it, so that their binary runs as baton when re-executed).
var ceilingChildEnv []string

// startCeilingProcess serves the HTTP ceiling from a process of its own:
// this binary run as `baton load-ceiling`. baton serves from a process of
// its own too, so the ceiling pays what baton pays for being one (its own
// scheduler, its own garbage collector, its own place on the two cores)
// and not what the load tool's process pays for its client. It returns the
// alerts URL and a stop that ends the process (its stdin closed; killed
// after 5 s).
func startCeilingProcess(ctx context.Context, stderr io.Writer) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("ceiling: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "load-ceiling")
	cmd.Env = append(os.Environ(), ceilingChildEnv...)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, fmt.Errorf("ceiling: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, fmt.Errorf("ceiling: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("ceiling: %w", err)
	}
	exited := make(chan struct{})
	stop := func() {
		_ = stdin.Close()
		select {
		case <-exited:
			return
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case u := <-line:
		if strings.HasPrefix(u, "http://") {
			return u, stop, nil
		}
		stop()
		return "", nil, fmt.Errorf("ceiling: its process said %q, not its URL", u)
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, errors.New("ceiling: its process did not start in 10 s")
	}
}

// cmdLoadCeiling is `baton load-ceiling`, the process startCeilingProcess
// starts: it serves the no-op handler, writes its alerts URL as one line
// on stdout, and stops when stdin ends or ctx does.
func cmdLoadCeiling(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	u, stop, err := startCeiling()
	if err != nil {
		fmt.Fprintf(stderr, "baton load-ceiling: %v\n", err)
		return 1
	}
	defer stop()
	fmt.Fprintln(stdout, u)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	return 0
}

// maxLoadAlerts bounds -n: the latencies of a run are kept in memory.
const maxLoadAlerts = 10_000_000

// loadURL checks --url: an http or https URL with a host.
func loadURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url must be baton's base URL, http:// or https:// and a host (got %q)", base)
	}
	return nil
}

// cmdLoad fires generic alerts at a running baton over HTTP and reports
// throughput and latency. It is the load command behind BENCHMARKS.md; it only
// ever targets the URL it is given (loopback in every documented run), and
// with --ceiling a no-op handler of its own on loopback.
func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defURL := "http://127.0.0.1:8080"
	if v := envValue(environ, "BATON_URL"); v != "" {
		defURL = v
	}
	base := fs.String("url", defURL, "baton's base URL (default: BATON_URL, else http://127.0.0.1:8080)")
	token := fs.String("token", "change-me-generic-token", "intake.tokens.generic of that baton")
	service := fs.String("service", "database", "service the alerts are routed to")
	mode := fs.String("mode", "unique", "unique (a new incident each) or duplicate (one dedup key)")
	total := fs.Int("n", 20000, "number of alerts to send")
	conc := fs.Int("c", 32, "concurrent connections")
	rate := fs.Int("rate", 0, "alerts per second to aim for; 0 = as fast as possible")
	ceiling := fs.Bool("ceiling", false, "also run the same load against a built-in no-op handler in a process of its own (the HTTP ceiling of this machine), interleaved, and print baton's figures as ratios to it")
	ceilingIn := fs.Bool("ceiling-in-process", false, "as --ceiling, with the no-op handler in the load tool's own process (which also runs the client: about 1.3× the ceiling of a process of its own)")
	runs := fs.Int("runs", 1, "how many runs; with --ceiling, interleaved ceiling/baton pairs and their ratios as min–median–max")
	firstPage := fs.Bool("first-page", false, "time each new alert from its POST being written to its first page, read from the log pager's \"page\" lines of the serving baton's log (--pages); alerts are new incidents, at --rate (default 20/s)")
	pages := fs.String("pages", "-", "with --first-page: the baton log to read the pages from, as it is written (- = stdin: baton serve 2>&1 | baton load --first-page; a file is followed as it grows)")
	pageWait := fs.Duration("page-wait", 10*time.Second, "with --first-page: how long to wait for the last pages after the last answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	refuse := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "baton load: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return refuse("unexpected argument %q: load takes flags only (the URL goes in --url)", fs.Arg(0))
	case loadURL(*base) != nil:
		return refuse("%v", loadURL(*base))
	case *total < 1 || *total > maxLoadAlerts:
		return refuse("-n must be between 1 and %d (got %d)", maxLoadAlerts, *total)
	case *conc < 1 || *conc > 10000:
		return refuse("-c must be between 1 and 10000 connections (got %d)", *conc)
	case *rate < 0:
		return refuse("--rate must not be negative (got %d; 0 = as fast as possible)", *rate)
	case *runs < 1:
		return refuse("--runs must be at least 1 (got %d)", *runs)
	case *pageWait < 0:
		return refuse("--page-wait must not be negative (got %s)", *pageWait)
	case *ceiling && *ceilingIn:
		return refuse("--ceiling and --ceiling-in-process are two places for the same ceiling: give one")
	case *firstPage && (*ceiling || *ceilingIn):
		return refuse("--first-page has no ceiling (a no-op handler pages nobody): drop --ceiling")
	case *firstPage && given["mode"]:
		return refuse("--first-page always posts new alerts (each a new incident): drop --mode")
	case !*firstPage && (given["pages"] || given["page-wait"]):
		return refuse("--pages and --page-wait go with --first-page")
	case *mode != "unique" && *mode != "duplicate":
		return refuse("--mode must be unique or duplicate (got %q)", *mode)
	}
	if *firstPage {
		return cmdFirstPage(ctx, firstPageSpec{url: strings.TrimSuffix(*base, "/") + "/v1/alerts/generic?service=" + *service, token: *token,
			n: *total, c: *conc, rate: *rate, wait: *pageWait}, *pages, *runs, stdout, stderr)
	}
	spec := loadSpec{url: strings.TrimSuffix(*base, "/") + "/v1/alerts/generic?service=" + *service, token: *token, mode: *mode,
		n: *total, c: *conc, rate: *rate, status: http.StatusAccepted}
	interrupted := func() int {
		fmt.Fprintln(stderr, "baton load: interrupted; the unfinished run's figures are not printed")
		return 1
	}
	ceilURL := ""
	if *ceiling || *ceilingIn {
		start := func() (string, func(), error) { return startCeilingProcess(ctx, stderr) }
		if *ceilingIn {
			start = startCeiling
		}
		u, stop, err := start()
		if ctx.Err() != nil {
			if err == nil {
				stop()
			}
			return interrupted()
		}
		if err != nil {
			fmt.Fprintf(stderr, "baton load: %v\n", err)
			return 1
		}
		defer stop()
		ceilURL = u
	}
	var batons, ceils []loadResult
	for r := range *runs {
		if ceilURL != "" {
			cs := spec
			cs.url, cs.run = ceilURL, fmt.Sprintf("%x-c%d", time.Now().UnixNano(), r)
			c := runLoad(ctx, cs)
			if ctx.Err() != nil {
				return interrupted()
			}
			printRun(stdout, "ceiling", spec, c)
			if c.failures > 0 {
				fmt.Fprintf(stdout, "the ceiling failed, so there is nothing to compare with: %v\n", c.firstErr)
				return 1
			}
			ceils = append(ceils, c)
		}
		spec.run = fmt.Sprintf("%x-%d", time.Now().UnixNano(), r)
		b := runLoad(ctx, spec)
		if ctx.Err() != nil {
			return interrupted()
		}
		printRun(stdout, "baton", spec, b)
		if b.failures > 0 {
			fmt.Fprintf(stdout, "first failure (the run stopped there): %v\n", b.firstErr)
			return 1
		}
		if spec.rate > 0 && b.rate() < 0.95*float64(spec.rate) {
			fmt.Fprintf(stdout, "note: %.0f alerts/s reached, below --rate %d: these are the figures of a slower load than asked (raise -c)\n", b.rate(), spec.rate)
		}
		batons = append(batons, b)
	}
	if len(ceils) > 0 {
		printRatios(stdout, batons, ceils)
	}
	return 0
}

func printRun(w io.Writer, what string, spec loadSpec, r loadResult) {
	fmt.Fprintf(w, "%s mode=%s n=%d c=%d rate=%d: %.0f alerts/s over %s; latency p50 %s p99 %s max %s; failures %d\n",
		what, spec.mode, spec.n, spec.c, spec.rate, r.rate(), r.elapsed.Round(time.Millisecond),
		r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond), r.pct(1).Round(10*time.Microsecond), r.failures)
}

// ratios are baton's figures over the ceiling's of the same pair of runs:
// throughput (higher is better, at most about 1) and p50/p99 latency (lower
// is better, at least about 1).
type ratios struct{ rate, p50, p99 float64 }

func pairRatios(b, c loadResult) (ratios, error) {
	if c.rate() <= 0 || c.pct(0.5) <= 0 || c.pct(0.99) <= 0 {
		return ratios{}, errors.New("the ceiling run measured nothing")
	}
	return ratios{b.rate() / c.rate(), float64(b.pct(0.5)) / float64(c.pct(0.5)), float64(b.pct(0.99)) / float64(c.pct(0.99))}, nil
}

// spread is "min–median–max" of xs with the given format.
func spread(xs []float64, format string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	f := func(x float64) string { return fmt.Sprintf(format, x) }
	return f(s[0]) + "–" + f(s[len(s)/2]) + "–" + f(s[len(s)-1])
}

func printRatios(w io.Writer, batons, ceils []loadResult) {
	var rate, p50, p99, cr, br []float64
	for i := range batons {
		r, err := pairRatios(batons[i], ceils[i])
		if err != nil {
			fmt.Fprintf(w, "run %d: %v\n", i+1, err)
			return
		}
		rate, p50, p99 = append(rate, r.rate), append(p50, r.p50), append(p99, r.p99)
		cr, br = append(cr, ceils[i].rate()), append(br, batons[i].rate())
	}
	fmt.Fprintf(w, "over %d interleaved runs (min–median–max): ceiling %s alerts/s, baton %s alerts/s; baton/ceiling throughput %s, p50 %s×, p99 %s×\n",
		len(batons), spread(cr, "%.0f"), spread(br, "%.0f"), spread(rate, "%.2f"), spread(p50, "%.1f"), spread(p99, "%.1f"))
}
