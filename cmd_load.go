package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// cmdLoad fires generic alerts at a running baton over HTTP and reports
// throughput and latency. It is the load command behind BENCHMARKS.md; it only
// ever targets the URL it is given (loopback in every documented run).
func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "baton's base URL")
	token := fs.String("token", "change-me-generic-token", "intake.tokens.generic of that baton")
	service := fs.String("service", "database", "service the alerts are routed to")
	mode := fs.String("mode", "unique", "unique (a new incident each) or duplicate (one dedup key)")
	total := fs.Int("n", 20000, "number of alerts to send")
	conc := fs.Int("c", 32, "concurrent connections")
	rate := fs.Int("rate", 0, "alerts per second to aim for; 0 = as fast as possible")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *mode != "unique" && *mode != "duplicate" {
		fmt.Fprintf(stderr, "baton load: --mode must be unique or duplicate (got %q)\n", *mode)
		return 2
	}
	if *total < 1 || *conc < 1 || *rate < 0 {
		fmt.Fprintln(stderr, "baton load: -n and -c must be positive and --rate not negative")
		return 2
	}
	url := *base + "/v1/alerts/generic?service=" + *service
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	run := time.Now().UnixNano()

	// Open loop when a rate is set: each request has a scheduled start, and its
	// latency counts from then, so a slow server cannot hide queueing delay.
	type job struct {
		i     int
		start time.Time
	}
	jobs := make(chan job, *conc)
	lat := make([]time.Duration, *total)
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			for j := range jobs {
				key := "load-" + strconv.FormatInt(run, 36)
				if *mode == "unique" {
					key += "-" + strconv.Itoa(j.i)
				}
				body.Reset()
				fmt.Fprintf(&body, `{"dedup_key":%q,"summary":"load test alert","severity":"warning"}`, key)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("HTTP %s", resp.Status)
					}
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				lat[j.i] = time.Since(j.start)
			}
		}()
	}
	began := time.Now()
	for i := 0; i < *total && ctx.Err() == nil; i++ {
		start := time.Now()
		if *rate > 0 {
			start = began.Add(time.Duration(i) * time.Second / time.Duration(*rate))
			if d := time.Until(start); d > 0 {
				time.Sleep(d)
			}
		}
		jobs <- job{i, start}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(began)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	fmt.Fprintf(stdout, "mode=%s n=%d c=%d rate=%d: %.0f alerts/s over %s; latency p50 %s p99 %s max %s; failures %d\n",
		*mode, *total, *conc, *rate, float64(*total)/elapsed.Seconds(), elapsed.Round(time.Millisecond),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), failures.Load())
	if failures.Load() > 0 {
		fmt.Fprintf(stdout, "first failure: %v\n", firstErr.Load())
		return 1
	}
	return 0
}
