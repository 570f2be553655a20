//go:build chaos

package chaos

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// The storm benchmark's knobs. It runs only when -storm is given, so CI's
// `go test -tags chaos ./test/chaos/` skips it at once.
var (
	stormOn        = flag.Bool("storm", false, "run TestStorm, the storm benchmark (BENCHMARKS.md, \"Storm\")")
	stormIncidents = flag.Int("storm.incidents", 300, "storm: distinct alerts (each a new incident)")
	stormSeconds   = flag.Float64("storm.seconds", 10, "storm: seconds the alerts are spread over")
	stormOwners    = flag.Int("storm.owners", 3, "storm: owners, one service each; the incidents are dealt to them in turn")
	stormReplicas  = flag.Int("storm.replicas", 3, "storm: `baton serve` replicas on the one Redis")
	stormWait      = flag.Duration("storm.wait", 60*time.Second, "storm: how long after the last 202 an incident may still be told")
	stormRepage    = flag.Duration("storm.repage", 2*time.Minute, "storm: repage_every of every policy (longer than the run: any second naming is a duplicate)")
	stormEscalate  = flag.Duration("storm.escalate", 5*time.Minute, "storm: escalate_after of every level (longer than the run: nothing escalates)")
	stormLatency   = flag.Duration("storm.latency", 100*time.Millisecond, "storm: every Slack answer this late (the proxy of each replica)")
	stormProbes    = flag.Int("storm.probes", 3, "storm: single alerts timed on the idle system before the storm (the ceiling)")
	stormSeed      = flag.Uint64("storm.seed", 0, "storm: seed of the run's randomness; 0 picks one (printed)")
	stormReport    = flag.String("storm.report", "", "storm: also write the table here")
	stormShared    = flag.Bool("storm.shared_budget", true, "storm: slack.shared_budget of the replicas (one Slack budget in Redis)")
)

// stormDupSlack is how much earlier than its first re-page is due a second
// naming of an incident may come and still count as that re-page (a re-page
// bundled with others may go out a little early); anything earlier is a
// duplicate.
const stormDupSlack = time.Second

// TestStorm is the storm benchmark of issue 14: a burst of distinct alerts
// for a few owners, posted to random replicas of `baton serve` on one Redis,
// with the fake Slack enforcing Slack's published rate limits
// (fakeslack.SlackRateLimits) at real speed. It measures, per incident, the
// time from its alert's 202 to its owner being told (see tellings), and
// prints a table to paste into BENCHMARKS.md. It fails only when the harness
// breaks (an alert refused, a replica down), never on a figure: it is a
// measuring instrument.
//
//	go test -tags chaos ./test/chaos/ -run TestStorm -storm -v -timeout 20m
//	go test -tags chaos ./test/chaos/ -run TestStorm -storm -storm.incidents 30 -storm.seconds 2 -storm.owners 1 -storm.replicas 2 -storm.wait 20s -v
func TestStorm(t *testing.T) {
	if !*stormOn {
		t.Skip("the storm benchmark runs with -storm (BENCHMARKS.md, \"Storm\")")
	}
	sp := stormPlan{incidents: *stormIncidents, load: time.Duration(*stormSeconds * float64(time.Second)), owners: *stormOwners,
		replicas: *stormReplicas, wait: *stormWait, repage: *stormRepage, escalate: *stormEscalate, latency: *stormLatency, probes: *stormProbes}
	if sp.incidents < 1 || sp.owners < 1 || sp.replicas < 1 || sp.load <= 0 {
		t.Fatalf("storm: -storm.incidents, -storm.owners, -storm.replicas and -storm.seconds must be positive")
	}
	seed := *stormSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("storm: %d incidents over %s for %d owners, %d replicas, seed %d", sp.incidents, sp.load, sp.owners, sp.replicas, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	work := t.TempDir()
	bin := buildBaton(t, work)
	topo := startTopology(t, "single")

	// Owners p0…p(n-1), each on call for svc<i>; the last person and
	// service are the probe's, idle during the storm.
	w := world{repage: sp.repage, escalate: sp.escalate}
	fake := fakeslack.StartTest(t)
	var members []string
	for i := range sp.owners + 1 {
		id := fmt.Sprintf("p%d", i)
		w.people = append(w.people, id)
		w.services = append(w.services, fmt.Sprintf("svc%d", i))
		fake.AddUser(fakeslack.User{ID: slackID(id), Name: id, RealName: "Person " + id, Email: id + "@chaos.example", TZ: "UTC"})
		members = append(members, slackID(id))
	}
	for _, s := range w.services {
		fake.AddChannel(fakeslack.Channel{Name: "alerts-" + s, Members: append([]string{fake.BotUserID()}, members...)})
	}
	fake.UseSlackRateLimits()

	cfgPath := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(w, topo.redisYAML(), fake.APIURL())), 0o644); err != nil {
		t.Fatal(err)
	}
	reps := make([]*replica, sp.replicas)
	for i := range reps {
		proxy := startSlackProxy(t, fake.APIURL(), sp.latency, i, make(chan int))
		reps[i] = &replica{id: i, bin: bin, config: cfgPath, addr: freeAddr(t), logDir: work,
			env: []string{"BATON_SLACK_API_URL=" + proxy.url, "BATON_LOG_LEVEL=warn", fmt.Sprintf("BATON_ESCALATION_REPLICA_ID=storm-%d", i),
				"BATON_SLACK_SHARED_BUDGET=" + strconv.FormatBool(*stormShared)}}
		if err := reps[i].start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, r := range reps {
			r.kill()
		}
	})
	if err := fake.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("no Socket Mode connection: %v", err)
	}

	// The ceiling: single alerts for the idle probe owner, one at a time.
	probeSvc := sp.owners
	ld := newLoad(t, plan{incidents: sp.probes + sp.incidents, load: sp.load}, rng, reps, fake, nil, w)
	ld.sends = ld.sends[:0]
	var probes []time.Duration
	for i := range sp.probes {
		ld.svc[i] = probeSvc
		d := ld.deliver(ctx, send{alert: i, first: i % len(reps)})
		if !d.accepted() {
			t.Fatalf("storm: probe alert refused: %d", d.Status)
		}
		var told time.Time
		owner := slackID(w.people[probeSvc])
		if err := fake.WaitFor(ctx, func() bool {
			told = tellings(fake, []string{owner})[stormKey{owner, d.Incident}].first
			return !told.IsZero()
		}); err != nil {
			t.Fatal(err)
		}
		probes = append(probes, max(0, told.Sub(d.Answered)))
	}

	// The storm: alerts spread evenly over the load span, dealt to the
	// owners in turn, each posted to a random replica (load.run).
	for i := range sp.incidents {
		a := sp.probes + i
		ld.svc[a] = i % sp.owners
		at := time.Duration(float64(sp.load) * (float64(i) + rng.Float64()) / float64(sp.incidents))
		ld.sends = append(ld.sends, send{at: at, alert: a, first: rng.IntN(len(reps))})
	}
	sort.SliceStable(ld.sends, func(i, j int) bool { return ld.sends[i].at < ld.sends[j].at })
	callsBefore := len(fake.Calls(""))
	t0 := time.Now()
	ld.run(ctx, t0)
	owners := make([]string, sp.owners)
	for i := range owners {
		owners[i] = slackID(w.people[i])
	}
	alertOf := map[string]int{}
	for _, s := range ld.sends {
		alertOf[ld.key(s.alert)] = s.alert
	}
	// One entry an incident: its first 202 (with alert grouping on, later
	// alerts may join an incident instead of opening one).
	var storm []delivery
	var last time.Time
	ownerOf := map[int64]string{}
	deliveries := ld.deliveries()
	sort.Slice(deliveries, func(i, j int) bool { return deliveries[i].Answered.Before(deliveries[j].Answered) })
	for _, d := range deliveries {
		if !d.accepted() || d.Incident == 0 {
			t.Fatalf("storm: alert %s answered %d %q", d.Key, d.Status, d.Outcome)
		}
		last = later(last, d.Answered)
		if _, seen := ownerOf[d.Incident]; seen {
			continue
		}
		storm = append(storm, d)
		ownerOf[d.Incident] = owners[ld.svc[alertOf[d.Key]]]
	}
	// A fixed span watched, the same in every run, so that the calls and
	// 429s counted are comparable: -storm.wait after the last 202. The
	// figures come from the fake's record, not from when this wakes.
	<-time.After(time.Until(last.Add(sp.wait)))
	end := time.Now()
	var calls []fakeslack.Call
	for _, c := range fake.Calls("")[callsBefore:] {
		if !c.At.After(last.Add(sp.wait)) {
			calls = append(calls, c)
		}
	}
	res := stormResult(storm, ownerOf, tellings(fake, owners), calls, sp.repage, last.Add(sp.wait))
	res.probes = probes
	res.dms, res.rounds, res.dmOwners = dmRounds(calls, ownerDMs(fake, owners))

	table := fmt.Sprintf("storm: %d incidents over %s for %d owners, %d replicas on one Redis, Slack latency %s, fakeslack.SlackRateLimits; seed %d, %s, commit %s, %s/%s, %d CPUs; measured for %s after the first alert\n\n",
		sp.incidents, sp.load, sp.owners, sp.replicas, sp.latency, seed, time.Now().UTC().Format("2006-01-02 15:04 MST"), gitRev(),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), end.Sub(t0).Round(time.Second)) + res.markdown(sp.wait)
	t.Log("\n" + table)
	if *stormReport != "" {
		if err := os.WriteFile(*stormReport, []byte(table), 0o644); err != nil {
			t.Errorf("write %s: %v", *stormReport, err)
		}
	}
}

// stormPlan is one storm's shape (the -storm.* flags).
type stormPlan struct {
	incidents, owners, replicas, probes int
	load, wait, repage, escalate        time.Duration
	latency                             time.Duration
}

// stormKey is one incident in one person's DM.
type stormKey struct {
	user string // Slack user id of the DM's person
	n    int64  // incident number
}

// telling is when the messages into a person's DM named an incident: the
// first time and every time after.
type telling struct {
	first time.Time
	times []time.Time
}

// tellings reads the fake's record: for every successful chat.postMessage
// into the DM of one of users (as the fake recorded it, with its time), the
// incidents it names. An incident is named by "INC-<n>" anywhere in the
// message's text, blocks or attachments, each at most once a message, so a
// bundled DM ("12 incidents: INC-4 …, INC-5 …") tells every incident it
// lists and a one-incident page tells its one.
func tellings(fake *fakeslack.Server, users []string) map[stormKey]telling {
	dm := map[string]string{} // DM channel id → user
	for _, u := range users {
		if c, ok := fake.IM(u); ok {
			dm[c.ID] = u
		}
	}
	return tellingsOf(fake.Calls("chat.postMessage"), dm)
}

// tellingsOf is tellings over recorded calls, dm mapping each DM channel id
// to its person.
func tellingsOf(calls []fakeslack.Call, dm map[string]string) map[stormKey]telling {
	out := map[stormKey]telling{}
	for _, p := range postsOf(calls) {
		u, ok := dm[p.Channel]
		if !ok {
			continue
		}
		for _, n := range namedIncidents(p.Text + "\n" + p.Blocks + "\n" + p.Attachments) {
			k := stormKey{u, n}
			tl := out[k]
			if tl.first.IsZero() {
				tl.first = p.At
			}
			tl.times = append(tl.times, p.At)
			out[k] = tl
		}
	}
	return out
}

// namedIncidents lists the distinct incident numbers "INC-<n>" in s, in order.
func namedIncidents(s string) []int64 {
	var out []int64
	for _, m := range incRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// stormFigures are the benchmark's results.
type stormFigures struct {
	incidents  int
	told       []time.Duration // 202→told of each incident told; +Inf-like never (see never)
	never      []int64         // incidents never told within the wait
	calls      int             // every Web API call the replicas made from the first storm alert to the deadline
	byMethod   map[string]int
	rateLimits int     // calls the fake answered 429
	duplicates []int64 // incidents named twice before their first re-page was due
	probes     []time.Duration
	// dms: the messages posted into the owners' DMs in the span; rounds:
	// the one-second slots (Slack's pace in a DM, the bundle window) from
	// each owner's first DM to their last, summed over owners; dmOwners:
	// the owners with a DM.
	dms, rounds, dmOwners int
}

// ownerDMs maps each owner's DM channel id to the owner.
func ownerDMs(fake *fakeslack.Server, users []string) map[string]string {
	dm := map[string]string{}
	for _, u := range users {
		if c, ok := fake.IM(u); ok {
			dm[c.ID] = u
		}
	}
	return dm
}

// dmRounds counts the successful posts into the DMs of dm (channel →
// owner) among calls, and the one-second rounds they span per owner
// (first to last DM, rounded up, at least one).
func dmRounds(calls []fakeslack.Call, dm map[string]string) (dms, rounds, owners int) {
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, p := range postsOf(calls) {
		u, ok := dm[p.Channel]
		if !ok {
			continue
		}
		dms++
		if f, seen := first[u]; !seen || p.At.Before(f) {
			first[u] = p.At
		}
		if p.At.After(last[u]) {
			last[u] = p.At
		}
	}
	for u, f := range first {
		rounds += max(1, int((last[u].Sub(f)+time.Second-1)/time.Second))
	}
	return dms, rounds, len(first)
}

// stormResult computes the figures. Definitions (BENCHMARKS.md repeats them):
//
//   - told: the first chat.postMessage into the owner's DM that names the
//     incident (INC-<n>), as the fake recorded it (with its time); 202→told
//     is that record's time minus the time the load client read the 202
//     (0 when the page was recorded first). An incident not told by
//     deadline (-storm.wait after the last 202) is "never told".
//   - duplicate: an incident whose owner's DM names it in a second message
//     earlier than its first re-page is due (told + repage − stormDupSlack).
//   - calls: every Web API call the fake recorded from the first storm alert
//     to deadline, 429'd ones included; per incident is that over the
//     incidents. 429s: the calls the fake answered 429 in that span.
func stormResult(storm []delivery, ownerOf map[int64]string, tl map[stormKey]telling, calls []fakeslack.Call, repage time.Duration, deadline time.Time) stormFigures {
	f := stormFigures{incidents: len(storm), calls: len(calls), byMethod: map[string]int{}}
	for _, c := range calls {
		f.byMethod[c.Method]++
		if c.Status == 429 {
			f.rateLimits++
		}
	}
	for _, d := range storm {
		k := stormKey{ownerOf[d.Incident], d.Incident}
		x := tl[k]
		var first time.Time
		for _, at := range x.times {
			if !at.Before(d.At) && first.IsZero() {
				first = at
			}
		}
		if first.IsZero() || first.After(deadline) {
			f.never = append(f.never, d.Incident)
			continue
		}
		// A page may be recorded before the client has read the 202.
		f.told = append(f.told, max(0, first.Sub(d.Answered)))
		n := 0
		for _, at := range x.times {
			if !at.Before(first) && at.Before(first.Add(repage-stormDupSlack)) {
				n++
			}
		}
		if n > 1 {
			f.duplicates = append(f.duplicates, d.Incident)
		}
	}
	slices.Sort(f.told)
	slices.Sort(f.never)
	slices.Sort(f.duplicates)
	return f
}

// quantile is the nearest-rank q-quantile of 202→told over every incident,
// the never-told ones counting as longer than any: ok is false when the
// quantile falls among them.
func (f stormFigures) quantile(q float64) (time.Duration, bool) {
	if f.incidents == 0 {
		return 0, false
	}
	rank := max(1, int(math.Ceil(q*float64(f.incidents))))
	if rank > len(f.told) {
		return 0, false
	}
	return f.told[rank-1], true
}

// markdown renders the figures as the table BENCHMARKS.md keeps.
func (f stormFigures) markdown(wait time.Duration) string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
	probe := time.Duration(0)
	if len(f.probes) > 0 {
		p := slices.Clone(f.probes)
		slices.Sort(p)
		probe = p[len(p)/2]
	}
	lat := func(q float64) string {
		d, ok := f.quantile(q)
		if !ok {
			return "> " + wait.String() + " (never told)"
		}
		if probe <= 0 {
			return ms(d)
		}
		return fmt.Sprintf("%s (%.1f× the ceiling)", ms(d), float64(d)/float64(probe))
	}
	var probes []string
	for _, p := range f.probes {
		probes = append(probes, ms(p))
	}
	var methods []string
	for m, n := range f.byMethod {
		methods = append(methods, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(methods)
	var b strings.Builder
	b.WriteString("| figure | value | target |\n| --- | --- | --- |\n")
	row := func(what, value, target string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", what, value, target) }
	row("ceiling: 202→told of a single alert, idle system (median of the probes)", fmt.Sprintf("%s (%s)", ms(probe), strings.Join(probes, ", ")), "")
	row("incidents", strconv.Itoa(f.incidents), "")
	row("202→told p50", lat(0.50), "")
	row("202→told p99", lat(0.99), "")
	row("202→told max", lat(1), "≤ 10 s")
	if len(f.told) > 0 {
		row("202→told of the incidents told: p50, max", fmt.Sprintf("%s, %s (%d told)", ms(f.told[(len(f.told)-1)/2]), ms(f.told[len(f.told)-1]), len(f.told)), "")
	}
	row("incidents never told within "+wait.String()+" of the last 202", fmt.Sprintf("%d %s", len(f.never), short(f.never)), "0")
	row("Slack Web API calls per incident", fmt.Sprintf("%.2f (%d calls: %s)", float64(f.calls)/float64(max(1, f.incidents)), f.calls, strings.Join(methods, ", ")), "")
	if f.rounds > 0 {
		row("page DMs per owner per round (one-second slots from each owner's first DM to their last)",
			fmt.Sprintf("%.2f (%d DMs to %d owners over %d rounds)", float64(f.dms)/float64(f.rounds), f.dms, f.dmOwners, f.rounds), "1")
	}
	row("429s answered by the fake", strconv.Itoa(f.rateLimits), "0 with the shared budget")
	row("duplicates (named twice before the first re-page is due)", fmt.Sprintf("%d %s", len(f.duplicates), short(f.duplicates)), "0")
	return b.String()
}
