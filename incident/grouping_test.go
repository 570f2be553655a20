package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// groupings are the services of the grouping tests: database groups by
// host for 5 minutes, payments groups every alert for 5 minutes, web groups
// nothing.
func groupings(service string) incident.Grouping {
	switch service {
	case "database":
		return incident.Grouping{Window: 5 * time.Minute, By: []string{"details.host"}}
	case "payments":
		return incident.Grouping{Window: 5 * time.Minute}
	}
	return incident.Grouping{}
}

// gstep is one thing done to the store in a grouping case, and what it must answer.
type gstep struct {
	op      string // fire | recover | ack | resolve
	service string // "" is database
	key     string // dedup key
	host    string // details.host; "" leaves it out
	at      time.Duration
	n       int64 // ack, resolve: the incident

	outcome incident.Outcome
	number  int64
	count   int64           // alert count answered (0: not checked)
	status  incident.Status // the incident's status after the step ("": not checked)
}

// emptyHost as a step's host sends details.host as "".
const emptyHost = "<empty>"

func fire(key, host string, at time.Duration, out incident.Outcome, n int64) gstep {
	return gstep{op: "fire", key: key, host: host, at: at, outcome: out, number: n}
}

func recoverAlert(key string, at time.Duration, out incident.Outcome, n int64, st incident.Status) gstep {
	return gstep{op: "recover", key: key, at: at, outcome: out, number: n, status: st}
}

func TestGrouping(t *testing.T) {
	const (
		created   = incident.OutcomeCreated
		grouped   = incident.OutcomeGrouped
		repeated  = incident.OutcomeRepeated
		resolved  = incident.OutcomeResolved
		recovered = incident.OutcomeAlertRecovered
		nothing   = incident.OutcomeNoOpenIncident
		trig      = incident.StatusTriggered
		acked     = incident.StatusAcknowledged
		res       = incident.StatusResolved
	)
	w := 5 * time.Minute
	ms := time.Millisecond
	cases := []struct {
		name  string
		steps []gstep
		open  int   // open incidents at the end
		pages int   // page jobs due at the end
		alert int64 // incident 1's alert count at the end (0: not checked)
	}{
		{
			name: "a second alert of the same host just inside the window joins",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", w-ms, grouped, 1),
			},
			open: 1, pages: 1, alert: 2,
		},
		{
			name: "just outside the window it opens its own incident",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", w, created, 2),
			},
			open: 2, pages: 2, alert: 1,
		},
		{
			name: "the window runs from when the incident opened, not from its last alert",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", 4*time.Minute, grouped, 1),
				fire("c", "db-1", w+time.Second, created, 2),
				fire("d", "db-1", w+2*time.Second, grouped, 2),
			},
			open: 2, pages: 2, alert: 2,
		},
		{
			name: "another host opens another group; each takes its own alerts",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-2", time.Second, created, 2),
				fire("c", "db-1", 2*time.Second, grouped, 1),
				fire("d", "db-2", 3*time.Second, grouped, 2),
			},
			open: 2, pages: 2, alert: 2,
		},
		{
			name: "an alert without the field is not grouped, and takes none",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "", time.Second, created, 2),
				fire("c", "", 2*time.Second, created, 3),
			},
			open: 3, pages: 3, alert: 1,
		},
		{
			name: "an empty or blank value is missing too: templates fill what they could not resolve with it",
			steps: []gstep{
				fire("a", emptyHost, 0, created, 1),
				fire("b", emptyHost, time.Second, created, 2),
				fire("c", " ", 2*time.Second, created, 3),
				fire("d", " ", 3*time.Second, created, 4),
			},
			open: 4, pages: 4, alert: 1,
		},
		{
			name: "without by every alert of the service joins",
			steps: []gstep{
				{op: "fire", service: "payments", key: "a", host: "x", outcome: created, number: 1},
				{op: "fire", service: "payments", key: "b", host: "y", at: time.Second, outcome: grouped, number: 1},
				{op: "fire", service: "payments", key: "c", at: 2 * time.Second, outcome: grouped, number: 1},
			},
			open: 1, pages: 1, alert: 3,
		},
		{
			name: "a service without grouping is as before",
			steps: []gstep{
				{op: "fire", service: "web", key: "a", host: "db-1", outcome: created, number: 1},
				{op: "fire", service: "web", key: "b", host: "db-1", at: time.Second, outcome: created, number: 2},
			},
			open: 2, pages: 2, alert: 1,
		},
		{
			name: "two services never mix, even with the same values",
			steps: []gstep{
				{op: "fire", service: "payments", key: "a", host: "db-1", outcome: created, number: 1},
				fire("a", "db-1", time.Second, created, 2),
				{op: "fire", service: "payments", key: "b", host: "db-1", at: 2 * time.Second, outcome: grouped, number: 1},
				fire("b", "db-1", 3*time.Second, grouped, 2),
			},
			open: 2, pages: 2, alert: 2,
		},
		{
			name: "the same alert again is a repeat, not a second member",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				{op: "fire", key: "b", host: "db-1", at: 2 * time.Second, outcome: repeated, number: 1, count: 3},
				{op: "fire", key: "a", host: "db-1", at: 3 * time.Second, outcome: repeated, number: 1, count: 4},
				// Two alerts in the group: two recoveries resolve it.
				recoverAlert("b", 4*time.Second, recovered, 1, trig),
				recoverAlert("a", 5*time.Second, resolved, 1, res),
			},
			open: 0, pages: 0, alert: 6,
		},
		{
			name: "one alert recovering leaves the incident triggered; the last recovery resolves it",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				fire("c", "db-1", 2*time.Second, grouped, 1),
				recoverAlert("a", 3*time.Second, recovered, 1, trig),
				recoverAlert("a", 4*time.Second, nothing, 0, trig), // its part is over already
				recoverAlert("c", 5*time.Second, recovered, 1, trig),
				recoverAlert("b", 6*time.Second, resolved, 1, res),
			},
			open: 0, pages: 0, alert: 6,
		},
		{
			name: "a recovered alert firing again within the window joins again",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				recoverAlert("b", 2*time.Second, recovered, 1, trig),
				fire("b", "db-1", 3*time.Second, grouped, 1),
				recoverAlert("a", 4*time.Second, recovered, 1, trig),
				recoverAlert("b", 5*time.Second, resolved, 1, res),
			},
			open: 0, pages: 0,
		},
		{
			name: "an acknowledged group takes no new alerts",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				{op: "ack", n: 1, at: 2 * time.Second, status: acked},
				fire("c", "db-1", 3*time.Second, created, 2),
				fire("d", "db-1", 4*time.Second, grouped, 2),
				// The acknowledged one still knows its alerts.
				recoverAlert("a", 5*time.Second, recovered, 1, acked),
				recoverAlert("b", 6*time.Second, resolved, 1, res),
			},
			open: 1, pages: 1,
		},
		{
			name: "resolved by a person: every alert of it opens anew, and so does the next",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				{op: "resolve", n: 1, at: 2 * time.Second, status: res},
				fire("b", "db-1", 3*time.Second, created, 2),
				fire("a", "db-1", 4*time.Second, grouped, 2),
				fire("c", "db-1", 5*time.Second, grouped, 2),
				recoverAlert("b", 6*time.Second, recovered, 2, trig),
			},
			open: 1, pages: 1, alert: 2,
		},
		{
			name: "resolved by its alerts, the group opens anew on the next alert",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				fire("b", "db-1", time.Second, grouped, 1),
				recoverAlert("a", 2*time.Second, recovered, 1, trig),
				recoverAlert("b", 3*time.Second, resolved, 1, res),
				fire("c", "db-1", 4*time.Second, created, 2),
			},
			open: 1, pages: 1,
		},
		{
			name: "a recovery of one alert is judged by that alert's own firing time",
			steps: []gstep{
				fire("a", "db-1", 0, created, 1),
				// b fires later than a's recovery is dated; a's recovery is not stale.
				fire("b", "db-1", 10*time.Second, grouped, 1),
				recoverAlert("a", 5*time.Second, recovered, 1, trig),
			},
			open: 1, pages: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := newService(t, incident.WithGrouping(groupings))
			for i, st := range tc.steps {
				s.Now = func() time.Time { return t0.Add(st.at) }
				switch st.op {
				case "fire", "recover":
					a := alert(st.key)
					if st.service != "" {
						a.Service = st.service
					}
					if st.host != "" {
						h := st.host
						if h == emptyHost {
							h = ""
						}
						a.Details = map[string]any{"host": h}
					}
					if st.op == "recover" {
						a.Status = incident.AlertResolved
					}
					a.ReceivedAt = t0.Add(st.at)
					a.SourceTime = a.ReceivedAt
					r := mustOpen(t, s, ctx, a)
					if r.Outcome != st.outcome || r.Number != st.number {
						t.Fatalf("step %d (%s %s at %v): got %s INC-%d, want %s INC-%d", i, st.op, st.key, st.at, r.Outcome, r.Number, st.outcome, st.number)
					}
					if r.Outcome == incident.OutcomeGrouped && (r.Created || r.Status != incident.StatusTriggered) {
						t.Fatalf("step %d: grouped answered created=%v status %s", i, r.Created, r.Status)
					}
					if st.count != 0 && r.AlertCount != st.count {
						t.Fatalf("step %d: alert count %d, want %d", i, r.AlertCount, st.count)
					}
				case "ack":
					if _, err := s.Ack(ctx, st.n, "alice", ""); err != nil {
						t.Fatalf("step %d: ack: %v", i, err)
					}
				case "resolve":
					if _, err := s.Resolve(ctx, st.n, "alice", ""); err != nil {
						t.Fatalf("step %d: resolve: %v", i, err)
					}
				}
				if st.status != "" {
					n := st.number
					if n == 0 {
						n = st.n
					}
					if n == 0 {
						n = 1
					}
					inc, _, err := s.Get(ctx, n)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if inc.Status != st.status {
						t.Fatalf("step %d: INC-%d is %s, want %s", i, n, inc.Status, st.status)
					}
				}
			}
			open, err := s.List(ctx, incident.FilterOpen, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != tc.open {
				t.Errorf("%d open incidents, want %d", len(open), tc.open)
			}
			pages, err := c.ZRange(ctx, s.JobsKey(), 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, j := range pages {
				if len(j) > 5 && j[:5] == "page:" {
					n++
				}
			}
			if n != tc.pages {
				t.Errorf("%d page jobs (%v), want %d", n, pages, tc.pages)
			}
			if tc.alert != 0 {
				inc, _, err := s.Get(ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				if inc.AlertCount != tc.alert {
					t.Errorf("INC-1 has alert count %d, want %d", inc.AlertCount, tc.alert)
				}
			}
		})
	}
}

// TestGroupingRecords: what a grouped incident keeps beside its count. The
// timeline folds joins (and partial recoveries) within a minute into one
// entry with a count; the audit stream has one entry per alert; the group's
// index expires with the window; a person's resolve frees every alert's
// dedup entry and drops the list of alerts still firing.
func TestGroupingRecords(t *testing.T) {
	s, c, ctx := newService(t, incident.WithGrouping(groupings))
	open := func(key string, at time.Duration, resolved bool) incident.OpenResult {
		t.Helper()
		a := alert(key)
		a.Details = map[string]any{"host": "db-1"}
		a.ReceivedAt = t0.Add(at)
		if resolved {
			a.Status = incident.AlertResolved
		}
		return mustOpen(t, s, ctx, a)
	}
	open("a", 0, false)
	open("b", time.Second, false)
	open("c", 30*time.Second, false)
	open("d", 61*time.Second, false) // a minute after the run began: a new entry
	open("b", 62*time.Second, true)
	open("c", 63*time.Second, true)
	inc, events, err := s.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Grouped != 3 || inc.AlertCount != 6 || inc.Status != incident.StatusTriggered {
		t.Fatalf("INC-1: grouped %d, alert count %d, %s; want 3, 6, triggered", inc.Grouped, inc.AlertCount, inc.Status)
	}
	type line struct {
		typ   incident.EventType
		note  string
		count int64
		at    time.Duration
		last  time.Duration
	}
	want := []line{
		{incident.EventOpened, "", 0, 0, -1},
		{incident.EventGrouped, "alert count 3", 2, time.Second, 30 * time.Second},
		{incident.EventGrouped, "alert count 4", 1, 61 * time.Second, 61 * time.Second},
		{incident.EventAlertRecovered, "2 still firing", 2, 62 * time.Second, 63 * time.Second},
	}
	if len(events) != len(want) {
		t.Fatalf("timeline %+v; want %d entries", events, len(want))
	}
	for i, w := range want {
		ev := events[i]
		last := time.Duration(-1)
		if !ev.Last.IsZero() {
			last = ev.Last.Sub(t0)
		}
		if ev.Type != w.typ || ev.Note != w.note || ev.Count != w.count || ev.At.Sub(t0) != w.at || last != w.last {
			t.Errorf("timeline[%d] = %+v; want %+v", i, ev, w)
		}
	}
	audit, err := c.XRange(ctx, "test:{inc}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range audit {
		kinds[m.Values["type"].(string)]++
	}
	if kinds["grouped"] != 3 || kinds["alert_recovered"] != 2 {
		t.Errorf("audit stream kinds %v; want 3 grouped, 2 alert_recovered", kinds)
	}
	groupKeys, err := c.Keys(ctx, "test:{inc}:g:*").Result()
	if err != nil || len(groupKeys) != 1 {
		t.Fatalf("group index keys %v (%v); want one", groupKeys, err)
	}
	if ttl := c.PTTL(ctx, groupKeys[0]).Val(); ttl <= 0 || ttl > 5*time.Minute {
		t.Errorf("the group index expires in %v; want within the 5m window", ttl)
	}
	if got := c.HLen(ctx, "test:{inc}:dedup").Val(); got != 2 {
		t.Errorf("%d dedup entries, want 2 (a and d still firing)", got)
	}
	if _, err := s.Resolve(ctx, 1, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if got := c.HLen(ctx, "test:{inc}:dedup").Val(); got != 0 {
		t.Errorf("%d dedup entries after resolve, want 0", got)
	}
	if got := c.Exists(ctx, "test:{inc}:i:1:m").Val(); got != 0 {
		t.Errorf("the list of alerts still firing outlived the resolve")
	}
}

// TestGroupingOnCluster: the grouping index, the alerts-still-firing hash
// and every script that touches them stay in the {inc} slot, so grouping
// works on a three-master Redis Cluster (a key in another slot would be
// refused with CROSSSLOT).
func TestGroupingOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	cl := redistest.StartCluster(t)
	s := incident.NewStore(cl.Client(), "test:", incident.WithGrouping(groupings))
	t.Cleanup(s.Close)
	ctx := redistest.Ctx(t)
	steps := []struct {
		key      string
		resolved bool
		outcome  incident.Outcome
	}{
		{"a", false, incident.OutcomeCreated},
		{"b", false, incident.OutcomeGrouped},
		{"c", false, incident.OutcomeGrouped},
		{"b", true, incident.OutcomeAlertRecovered},
	}
	for i, st := range steps {
		a := alert(st.key)
		a.Details = map[string]any{"host": "db-1"}
		a.ReceivedAt = t0.Add(time.Duration(i) * time.Second)
		if st.resolved {
			a.Status = incident.AlertResolved
		}
		if r := mustOpen(t, s, ctx, a); r.Outcome != st.outcome || r.Number != 1 {
			t.Fatalf("step %d: %s INC-%d, want %s INC-1", i, r.Outcome, r.Number, st.outcome)
		}
	}
	if _, err := s.Resolve(ctx, 1, "alice", ""); err != nil {
		t.Fatal(err)
	}
	a := alert("c")
	a.Details = map[string]any{"host": "db-1"}
	a.ReceivedAt = t0.Add(time.Minute)
	if r := mustOpen(t, s, ctx, a); r.Outcome != incident.OutcomeCreated || r.Number != 2 {
		t.Fatalf("after the resolve: %s INC-%d, want created INC-2", r.Outcome, r.Number)
	}
}

// Two alerts whose `by` values differ, but read the same when joined with a
// separator their values contain, are two groups: grouping's digest keeps
// the fields apart.
func TestGroupingFieldsKeptApart(t *testing.T) {
	g := func(string) incident.Grouping {
		return incident.Grouping{Window: time.Minute, By: []string{"details.a", "details.b"}}
	}
	cases := []struct {
		name   string
		first  map[string]any
		second map[string]any
		want   incident.Outcome
	}{
		{name: "a newline moved from one field to the next", first: map[string]any{"a": "x\ny", "b": "z"}, second: map[string]any{"a": "x", "b": "y\nz"}, want: incident.OutcomeCreated},
		{name: "a length-like prefix moved", first: map[string]any{"a": "1:x", "b": "z"}, second: map[string]any{"a": "1", "b": ":xz"}, want: incident.OutcomeCreated},
		{name: "the same values join", first: map[string]any{"a": "x\ny", "b": "z"}, second: map[string]any{"a": "x\ny", "b": "z"}, want: incident.OutcomeGrouped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, ctx := newService(t, incident.WithGrouping(g))
			open := func(key string, d map[string]any) incident.OpenResult {
				r, err := s.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: key, Summary: key,
					Severity: incident.SevCritical, Status: incident.AlertFiring, Details: d})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			open("k1", tc.first)
			if got := open("k2", tc.second); got.Outcome != tc.want {
				t.Fatalf("second alert: %s into INC-%d, want %s", got.Outcome, got.Number, tc.want)
			}
		})
	}
}
