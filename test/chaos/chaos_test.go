//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redisproc"
)

var (
	longForm     = flag.Bool("chaos.long", os.Getenv("CHAOS_LONG") != "", "run the long form (2,000 incidents over 5 minutes); default: the short form for CI")
	seedFlag     = flag.Uint64("chaos.seed", 0, "seed of the run's randomness; 0 picks one (printed)")
	topoFlag     = flag.String("chaos.topology", "single", "Redis topology: single, sentinel or cluster")
	waitFlag     = flag.Int("chaos.wait_replicas", 1, "redis.wait_replicas for the sentinel topology (0 shows the loss of accepted alerts in a failover)")
	replicasFlag = flag.Int("chaos.sentinel_replicas", 2, "replicas of the sentinel topology's master (2: a failover leaves one for redis.wait_replicas: 1 to wait for; with 1, intake and paging wait until the killed master is back as a replica)")
	keepFlag     = flag.Bool("chaos.keep", false, "keep the work directory (replica logs, the fake's record) after a passing run too")
	reportFlag   = flag.String("chaos.report", "", "write the table here (default: <tmp>/baton-chaos-<topology>-<form>.md)")
)

// plan is one form of the run. Times are from the start of the load.
type plan struct {
	form        string
	incidents   int
	load        time.Duration
	people      int
	repage      time.Duration
	escalate    time.Duration
	dupFrac     float64 // share of sends that repeat an earlier alert
	snsFrac     float64 // share of new alerts sent as signed SNS (the rest Sumo Logic)
	ackFrac     float64 // share of incidents acknowledged during the run
	ackAfter    [2]time.Duration
	killEvery   time.Duration // kill -9 a random replica this often, restart it at once
	redisAt     []time.Duration
	redisDown   time.Duration
	slack429    [2]time.Duration
	slack503    [2]time.Duration
	socketDrops []time.Duration
	latency     time.Duration // every Slack answer this late
	settleMax   time.Duration // bound on waiting for every incident to be announced
	stall       time.Duration // … and on waiting while no announcement is made
	observe     time.Duration // quiet time watched after that, for the tail of paging
}

func shortPlan() plan {
	return plan{
		form: "short", incidents: 36, load: 45 * time.Second, people: 6,
		repage: 10 * time.Second, escalate: 30 * time.Second,
		dupFrac: 0.2, snsFrac: 0.4, ackFrac: 0.5, ackAfter: [2]time.Duration{3 * time.Second, 20 * time.Second},
		killEvery: 14 * time.Second,
		redisAt:   []time.Duration{20 * time.Second, 38 * time.Second}, redisDown: 2 * time.Second,
		slack429:    [2]time.Duration{8 * time.Second, 16 * time.Second},
		slack503:    [2]time.Duration{26 * time.Second, 34 * time.Second},
		socketDrops: []time.Duration{12 * time.Second, 40 * time.Second},
		latency:     200 * time.Millisecond,
		settleMax:   120 * time.Second, stall: 20 * time.Second, observe: 20 * time.Second,
	}
}

func longPlan() plan {
	return plan{
		form: "long", incidents: 2000, load: 5 * time.Minute, people: 12,
		repage: 10 * time.Second, escalate: 30 * time.Second,
		dupFrac: 0.15, snsFrac: 0.4, ackFrac: 0.95, ackAfter: [2]time.Duration{3 * time.Second, 25 * time.Second},
		killEvery: 20 * time.Second,
		redisAt:   []time.Duration{100 * time.Second, 220 * time.Second}, redisDown: 3 * time.Second,
		slack429:    [2]time.Duration{130 * time.Second, 160 * time.Second},
		slack503:    [2]time.Duration{250 * time.Second, 280 * time.Second},
		socketDrops: []time.Duration{60 * time.Second, 180 * time.Second},
		latency:     200 * time.Millisecond,
		settleMax:   90 * time.Minute, stall: time.Minute, observe: 40 * time.Second,
	}
}

// TestChaos runs baton as three replicas on one Redis under faults and
// counts every alert, announcement and page (see judge for the
// definitions). It fails on any missed target and prints the table either way.
func TestChaos(t *testing.T) {
	p := shortPlan()
	if *longForm {
		p = longPlan()
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos: %s form, topology %s, seed %d (re-run with -chaos.seed=%d)", p.form, *topoFlag, seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The work directory (binary, config, the replicas' logs) outlives a
	// failed run, for its logs.
	work, err := os.MkdirTemp("", "baton-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() && !*keepFlag {
			_ = os.RemoveAll(work)
		}
	})
	bin := buildBaton(t, work)

	topo := startTopology(t, *topoFlag)

	// The workspace: one person per DM, one alerts channel per service.
	w := world{repage: p.repage, escalate: p.escalate}
	fake := fakeslack.StartTest(t)
	var members []string
	for i := range p.people {
		id := fmt.Sprintf("p%d", i)
		w.people = append(w.people, id)
		w.services = append(w.services, fmt.Sprintf("svc%d", i))
		fake.AddUser(fakeslack.User{ID: slackID(id), Name: id, RealName: "Person " + id, Email: id + "@chaos.example", TZ: "UTC"})
		members = append(members, slackID(id))
	}
	alertChannels := map[string]bool{}
	for _, s := range w.services {
		c := fake.AddChannel(fakeslack.Channel{Name: "alerts-" + s, Members: append([]string{fake.BotUserID()}, members...)})
		alertChannels[c.ID] = true
	}
	sns := startSNSCA(t)

	cfgPath := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(w, topo.redisYAML(), fake.APIURL())), 0o644); err != nil {
		t.Fatal(err)
	}
	reps := make([]*replica, 3)
	pagesInFlight := make(chan int, 64)
	for i := range reps {
		sp := startSlackProxy(t, fake.APIURL(), p.latency, i, pagesInFlight)
		reps[i] = &replica{id: i, bin: bin, config: cfgPath, addr: freeAddr(t), logDir: work,
			env: []string{"HTTPS_PROXY=" + sns.Proxy, "SSL_CERT_FILE=" + sns.CAFile, "NO_PROXY=127.0.0.1,localhost",
				"BATON_SLACK_API_URL=" + sp.url,
				// Each replica keeps its name across its restarts, as a
				// StatefulSet pod or a systemd unit does.
				fmt.Sprintf("BATON_ESCALATION_REPLICA_ID=chaos-%d", i)}}
		if err := reps[i].start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, r := range reps {
			r.kill()
		}
		if t.Failed() {
			for _, r := range reps {
				t.Logf("replica %d log: %s", r.id, filepath.Join(work, fmt.Sprintf("baton-%d.log", r.id)))
			}
		}
	})
	if err := fake.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("no Socket Mode connection: %v", err)
	}

	// Faults and load run side by side from t0.
	t0 := time.Now()
	ld := newLoad(t, p, rng, reps, fake, sns, w)
	var slackDown []window
	var redisDown []window // guarded by redisMu while the faults run
	var faultLog []string
	var faultMu sync.Mutex
	logFault := func(format string, args ...any) {
		faultMu.Lock()
		defer faultMu.Unlock()
		line := fmt.Sprintf("%6.1fs ", time.Since(t0).Seconds()) + fmt.Sprintf(format, args...)
		faultLog = append(faultLog, line)
		t.Log("chaos: " + line)
	}
	var faults sync.WaitGroup
	at := func(d time.Duration, f func()) {
		faults.Go(func() {
			select {
			case <-time.After(time.Until(t0.Add(d))):
				f()
			case <-ctx.Done():
			}
		})
	}
	// kill -9 a replica every killEvery, and start it again: the one with a
	// page in flight (delivered, its answer held back) if one comes within
	// 3 s, else a random one.
	var killRng = rand.New(rand.NewPCG(seed+1, seed+2))
	var repMu sync.Mutex // one replica fault at a time
	kills := 0
	for d := p.killEvery; d < p.load; d += p.killEvery {
		victim := killRng.IntN(len(reps))
		at(d, func() {
			repMu.Lock()
			defer repMu.Unlock()
			why := "at random"
			if rep, ok := pageInFlight(pagesInFlight, 3*time.Second); ok {
				victim, why = rep, "with a page in flight"
			}
			r := reps[victim]
			r.kill()
			kills++
			logFault("kill -9 replica %d (%s)", victim, why)
			if err := r.start(ctx); err != nil {
				logFault("replica %d did not come back: %v", victim, err)
				t.Errorf("chaos: replica %d did not come back: %v", victim, err)
				return
			}
			logFault("replica %d ready again", victim)
		})
	}
	redisRestarts := 0
	var redisMu sync.Mutex // one Redis fault at a time: a slow recovery delays the next crash
	for _, d := range p.redisAt {
		at(d, func() {
			redisMu.Lock()
			defer redisMu.Unlock()
			why := "no page in flight within 3s"
			if rep, ok := pageInFlight(pagesInFlight, 3*time.Second); ok {
				why = fmt.Sprintf("replica %d with a page in flight", rep)
			}
			if err := topo.crash(ctx); err != nil {
				logFault("redis crash: %v", err)
				t.Errorf("chaos: redis crash: %v", err)
				return
			}
			down := time.Now()
			logFault("kill -9 redis (%s; %s)", topo.name(), why)
			<-time.After(p.redisDown) // the outage itself: a fault's length, not a synchronisation
			if err := topo.recover(ctx); err != nil {
				logFault("redis did not come back: %v", err)
				t.Errorf("chaos: redis did not come back: %v", err)
				return
			}
			redisRestarts++
			redisDown = append(redisDown, window{down, time.Now()})
			logFault("redis back")
		})
	}
	slackFault := func(span [2]time.Duration, f fakeslack.Fault, what string) {
		at(span[0], func() {
			fake.InjectFaults(func(string, url.Values) (fakeslack.Fault, bool) { return f, true })
			logFault("fake Slack answers %s to everything", what)
		})
		at(span[1], func() {
			fake.InjectFaults(nil)
			logFault("fake Slack answers normally")
		})
		// A 429 answered at the window's last moment tells baton to wait its
		// Retry-After: that wait is Slack's too.
		slackDown = append(slackDown, window{t0.Add(span[0]), t0.Add(span[1] + f.RetryAfter)})
	}
	slackFault(p.slack429, fakeslack.TooManyRequests(5*time.Second), "429 (Retry-After 5s)")
	slackFault(p.slack503, fakeslack.HTTPError(http.StatusServiceUnavailable), "503")
	for _, d := range p.socketDrops {
		at(d, func() {
			fake.DropConnections()
			logFault("Socket Mode connections dropped")
		})
	}

	ld.run(ctx, t0)
	faults.Wait()
	t.Logf("chaos: load and faults done after %s: %d sends, %d acks asked", time.Since(t0).Round(time.Second), len(ld.deliveries()), len(ld.acks()))

	// Every replica up again for the end.
	for _, r := range reps {
		if !r.running() {
			logFault("replica %d found dead at the end; starting it", r.id)
			if err := r.start(ctx); err != nil {
				t.Errorf("replica %d: %v", r.id, err)
			}
		}
	}
	// Settle: wait until every incident is announced, while announcements
	// progress (Slack's tier-2 pace of conversations.create and pins.add
	// bounds them), at most settleMax; then watch paging go on.
	api := &apiClient{reps: reps}
	settleBy := time.Now().Add(p.settleMax)
	var incidents map[int64]incState
	lastCount, lastProgress := -1, time.Now()
	for {
		incidents, err = api.incidents(ctx, ld.maxIncident())
		if err == nil {
			v := judge(input{Incidents: incidents, Calls: fake.Calls(""), AlertChannels: alertChannels, End: time.Now(), Repage: p.repage})
			if v.NotAnnounced == 0 {
				break
			}
			if v.NotAnnounced != lastCount {
				lastCount, lastProgress = v.NotAnnounced, time.Now()
			}
			if time.Now().After(settleBy) || time.Since(lastProgress) > p.stall {
				t.Logf("chaos: %d incidents still not announced %s after the start", v.NotAnnounced, time.Since(t0).Round(time.Second))
				break
			}
		}
		select {
		case <-time.After(2 * time.Second): // poll the API again
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	ld.waitAcks()
	t.Logf("chaos: announcements settled %s after the start; watching paging for %s", time.Since(t0).Round(time.Second), p.observe)
	<-time.After(p.observe) // a fixed span watched: what is measured is the paging during it

	end := time.Now()
	calls := fake.Calls("")
	incidents, err = api.incidents(ctx, ld.maxIncident())
	if err != nil {
		t.Fatalf("read incidents: %v", err)
	}
	v := judge(input{Deliveries: ld.deliveries(), Acks: ld.acks(), Incidents: incidents, Calls: calls,
		AlertChannels: alertChannels, Start: t0, End: end, Repage: p.repage, SlackDown: slackDown, RedisDown: redisDown})
	rows, failures := v.rows(p.repage)
	rev := gitRev()
	header := fmt.Sprintf("chaos %s form, topology %s, seed %d, %s, commit %s, %s/%s, %d CPUs\n\n"+
		"Slack answers %s late; faults: %d replica kills (kill -9, restarted at once), %d Redis kill -9 and restart, Slack 429 for %s, 503 for %s, %d Socket Mode drops; %d SNS certificate fetches through the loopback proxy\n\n",
		p.form, topo.name(), seed, time.Now().UTC().Format("2006-01-02 15:04 MST"), rev, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		p.latency, kills, redisRestarts, p.slack429[1]-p.slack429[0], p.slack503[1]-p.slack503[0], len(p.socketDrops), sns.Fetches.Load())
	detail := ""
	if len(v.DoubledDetail) > 0 {
		detail = "\ndoubled pages:\n\n```\n" + strings.Join(v.DoubledDetail, "\n") + "\n```\n"
	}
	table := header + markdown(rows) + detail + "\nfault log:\n\n```\n" + strings.Join(faultLog, "\n") + "\n```\n"
	t.Log("\n" + table)
	out := *reportFlag
	if out == "" {
		out = filepath.Join(os.TempDir(), fmt.Sprintf("baton-chaos-%s-%s.md", topo.name(), p.form))
	}
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Errorf("write %s: %v", out, err)
	} else {
		t.Logf("chaos: table written to %s", out)
	}
	for _, f := range failures {
		t.Error(f)
	}
	for i, n := range v.NotAnnouncedOf {
		if i == 3 {
			t.Logf("chaos: %d more incidents not announced; their trails are left out", len(v.NotAnnouncedOf)-i)
			break
		}
		t.Log("chaos: what the chat saw of an incident not announced, and what the replicas logged of it:\n" + trail(calls, t0, n, work, len(reps)))
	}
	if t.Failed() || *keepFlag {
		// The fake's record, for a post-mortem beside the replicas' logs.
		if b, err := json.Marshal(calls); err == nil {
			_ = os.WriteFile(filepath.Join(work, "fakeslack-calls.json"), b, 0o644)
		}
		t.Logf("chaos: replica logs and the fake's record kept in %s", work)
	}
}

func runCmd(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	return string(b), err
}

func gitRev() string {
	_, file, _, _ := runtime.Caller(0)
	b, err := runCmd(filepath.Dir(file), "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(b)
	if d, _ := runCmd(filepath.Dir(file), "git", "status", "--porcelain", "--untracked-files=no"); strings.TrimSpace(d) != "" {
		rev += "+dirty"
	}
	return rev
}

// apiClient reads baton's API on whichever replica answers.
type apiClient struct{ reps []*replica }

var apiHTTP = &http.Client{Timeout: 5 * time.Second}

// do sends one API request to the replicas in turn until one answers with
// something other than a transport error or a 5xx, for up to 30 s.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for i := 0; ; i++ {
		r := a.reps[i%len(a.reps)]
		req, _ := http.NewRequestWithContext(ctx, method, r.URL()+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := apiHTTP.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return resp.StatusCode, b, nil
			}
			lastErr = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, nil, lastErr
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// incidents reads INC-1…INC-max (and beyond, until a 404) one by one.
func (a *apiClient) incidents(ctx context.Context, maxN int64) (map[int64]incState, error) {
	out := map[int64]incState{}
	for n := int64(1); ; n++ {
		code, b, err := a.do(ctx, http.MethodGet, fmt.Sprintf("/v1/incidents/%d", n), nil)
		if err != nil {
			return nil, err
		}
		if code == http.StatusNotFound {
			if n > maxN {
				return out, nil
			}
			continue
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET incident %d: %d %s", n, code, b)
		}
		var v struct {
			Number       int64     `json:"number"`
			DedupKey     string    `json:"dedup_key"`
			AlertCount   int64     `json:"alert_count"`
			Created      time.Time `json:"created"`
			Acknowledged time.Time `json:"acknowledged"`
			Status       string    `json:"status"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("incident %d: %w", n, err)
		}
		out[n] = incState{N: v.Number, DedupKey: v.DedupKey, AlertCount: v.AlertCount, Created: v.Created, Acknowledged: v.Acknowledged, Status: v.Status}
	}
}

// freeAddr is a 127.0.0.1 host:port for a replica to listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := redisproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
