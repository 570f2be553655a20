package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// firstPageSpec is one first-page run: n generic alerts, each a new
// incident, posted at rate alerts a second (one at a time when rate is 0),
// each timed from the moment its request was written to the moment the
// serving baton's pager handed over its first page, read from the log
// pager's "page" lines on pages (baton serve's log, piped in).
type firstPageSpec struct {
	url, token string
	n, c, rate int
	run        string
	wait       time.Duration // how long to wait for the last pages after the last 202
}

// firstPageResult is what a first-page run measured: POST → page and POST
// → 202 latencies, sorted, and how many incidents got no page in time.
type firstPageResult struct {
	page, accepted []time.Duration
	missing        int
	failures       int
	firstErr       string
}

// pageWatch reads a baton log and stamps, in this process's clock, the
// moment each incident's first "page" line arrives.
type pageWatch struct {
	now func() time.Time

	mu     sync.Mutex
	paged  map[int64]time.Time
	notify chan struct{} // closed and replaced on every new page
}

func newPageWatch(now func() time.Time) *pageWatch {
	return &pageWatch{now: now, paged: map[int64]time.Time{}, notify: make(chan struct{})}
}

// read consumes r line by line until it ends. It understands slog's text
// ("msg=page … incident=12") and JSON ("msg":"page", "incident":12) lines.
func (w *pageWatch) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			at := w.now()
			if n, ok := pageLineIncident(line); ok {
				w.mu.Lock()
				if _, seen := w.paged[n]; !seen {
					w.paged[n] = at
					close(w.notify)
					w.notify = make(chan struct{})
				}
				w.mu.Unlock()
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// pageLineIncident returns the incident number of a log pager's "page" line.
func pageLineIncident(line []byte) (int64, bool) {
	var field string
	switch {
	case bytes.Contains(line, []byte(" msg=page ")):
		field = " incident="
	case bytes.Contains(line, []byte(`"msg":"page"`)):
		field = `"incident":`
	default:
		return 0, false
	}
	i := bytes.Index(line, []byte(field))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(field):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// pagedAt returns when incident n's first page was read, waiting until
// deadline for it.
func (w *pageWatch) pagedAt(n int64, deadline time.Time) (time.Time, bool) {
	for {
		w.mu.Lock()
		at, ok := w.paged[n]
		ch := w.notify
		w.mu.Unlock()
		if ok {
			return at, true
		}
		d := deadline.Sub(w.now())
		if d <= 0 {
			return time.Time{}, false
		}
		t := time.NewTimer(d)
		select {
		case <-ch:
			t.Stop()
		case <-t.C:
		}
	}
}

// runFirstPage posts spec.n new alerts at spec.rate and times each one's
// first page as watch saw it.
func runFirstPage(ctx context.Context, spec firstPageSpec, watch *pageWatch, client *http.Client) firstPageResult {
	now := watch.now
	type sent struct {
		n       int64
		written time.Time
	}
	sents := make([]sent, spec.n)
	var res firstPageResult
	var mu sync.Mutex
	var next int
	var wg sync.WaitGroup
	began := now()
	for range spec.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= spec.n {
					return
				}
				if spec.rate > 0 {
					at := began.Add(time.Duration(i) * time.Second / time.Duration(spec.rate))
					if d := at.Sub(now()); d > 0 {
						t := time.NewTimer(d) // the schedule's pace, not a synchronisation
						select {
						case <-t.C:
						case <-ctx.Done():
							t.Stop()
							return
						}
					}
				}
				body := fmt.Sprintf(`{"dedup_key":%q,"summary":"first page load test","severity":"critical"}`,
					"firstpage-"+spec.run+"-"+strconv.Itoa(i))
				var written time.Time
				trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written = now() }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, spec.url, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+spec.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				var answer struct {
					Incident int64 `json:"incident"`
					Created  bool  `json:"created"`
				}
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&answer)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch {
					case resp.StatusCode != http.StatusAccepted:
						err = fmt.Errorf("HTTP %s", resp.Status)
					case err == nil && !answer.Created:
						err = fmt.Errorf("incident %d was not new: a first page is timed only for a new incident", answer.Incident)
					}
				}
				answered := now()
				mu.Lock()
				if err != nil {
					res.failures++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				} else {
					sents[i] = sent{answer.Incident, written}
					res.accepted = append(res.accepted, answered.Sub(written))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	deadline := now().Add(spec.wait)
	for _, s := range sents {
		if s.n == 0 {
			continue
		}
		at, ok := watch.pagedAt(s.n, deadline)
		if !ok {
			res.missing++
			continue
		}
		res.page = append(res.page, at.Sub(s.written))
	}
	slices.Sort(res.page)
	slices.Sort(res.accepted)
	return res
}

// quantile is the p-th quantile (0..1) of sorted ds.
func quantile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[int(float64(len(ds)-1)*p)]
}

func printFirstPage(w io.Writer, spec firstPageSpec, r firstPageResult) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "first-page n=%d rate=%d c=%d: POST→page p50 %s p99 %s max %s (%d timed, %d without a page within %s); POST→202 p50 %s p99 %s; failures %d\n",
		spec.n, spec.rate, spec.c, ms(quantile(r.page, 0.5)), ms(quantile(r.page, 0.99)), ms(quantile(r.page, 1)),
		len(r.page), r.missing, spec.wait, ms(quantile(r.accepted, 0.5)), ms(quantile(r.accepted, 0.99)), r.failures)
}

func printFirstPageSpread(w io.Writer, rs []firstPageResult) {
	var p50, p99 []float64
	for _, r := range rs {
		p50 = append(p50, float64(quantile(r.page, 0.5))/float64(time.Millisecond))
		p99 = append(p99, float64(quantile(r.page, 0.99))/float64(time.Millisecond))
	}
	fmt.Fprintf(w, "over %d runs (min–median–max): POST→page p50 %s ms, p99 %s ms\n", len(rs), spread(p50, "%.2f"), spread(p99, "%.2f"))
}

// cmdFirstPage runs `baton load --first-page`: runs first-page runs
// against the baton whose log is at pages ("-": stdin).
func cmdFirstPage(ctx context.Context, spec firstPageSpec, pages string, runs int, stdout, stderr io.Writer) int {
	if spec.rate == 0 {
		spec.rate = 20
	}
	var log io.Reader = os.Stdin
	if pages != "-" {
		f, err := openPages(ctx, pages)
		if err != nil {
			fmt.Fprintf(stderr, "baton load: %v\n", err)
			return 1
		}
		defer f.Close()
		log = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			log = &follow{ctx: ctx, f: f} // a log file baton is writing: read what it adds
		}
	}
	watch := newPageWatch(time.Now)
	go watch.read(log)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: spec.c, MaxConnsPerHost: spec.c}}
	// baton serve may still be starting when its log is piped in.
	if err := waitListening(ctx, spec.url, 30*time.Second); err != nil {
		fmt.Fprintf(stderr, "baton load: %v\n", err)
		return 1
	}
	var rs []firstPageResult
	for r := range runs {
		spec.run = fmt.Sprintf("%x-%d", time.Now().UnixNano(), r)
		res := runFirstPage(ctx, spec, watch, client)
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "baton load: interrupted; the unfinished run's figures are not printed")
			return 1
		}
		printFirstPage(stdout, spec, res)
		if res.failures > 0 {
			fmt.Fprintf(stdout, "first failure: %v\n", res.firstErr)
			return 1
		}
		if len(res.page) == 0 {
			fmt.Fprintln(stderr, "baton load: no page was read from the log: the serving baton's log level must be info or debug (its \"page\" lines), and its log piped in (baton serve 2>&1 | baton load --first-page) or named by --pages")
			return 1
		}
		if res.missing > 0 {
			fmt.Fprintf(stderr, "baton load: %d incidents had no page in the log within --page-wait %s; the figures leave them out\n", res.missing, spec.wait)
			return 1
		}
		rs = append(rs, res)
	}
	printFirstPageSpread(stdout, rs)
	return 0
}

// openPages opens the log file at path, giving up when ctx ends (a FIFO
// blocks its opener until something opens it to write).
func openPages(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.err
	case <-ctx.Done():
		go func() { // close it if the open ever returns
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("interrupted while opening %s (a FIFO no one writes to?)", path)
	}
}

// follow reads a file that is still being written, as tail -f does: at its
// end it waits for more until ctx ends.
type follow struct {
	ctx context.Context
	f   *os.File
}

func (r *follow) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || err != io.EOF {
			return n, err
		}
		t := time.NewTimer(20 * time.Millisecond) // polling a growing file, not a synchronisation
		select {
		case <-r.ctx.Done():
			t.Stop()
			return 0, io.EOF
		case <-t.C:
		}
	}
}

// waitListening waits until something accepts TCP connections at u's host.
func waitListening(ctx context.Context, u string, limit time.Duration) error {
	pu, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", pu.Host, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nothing listening at %s: %w", pu.Host, err)
		}
		t := time.NewTimer(100 * time.Millisecond) // polling a server that is starting
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
