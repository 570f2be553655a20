package intake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// Issue 12 item 3: a recovery that overtakes its alert on the way. These
// tests go through the real handler to a real redis-server.

// recoveryEnv is an intake handler whose clock the test sets, with an
// observer that records every outcome.
type recoveryEnv struct {
	*intakeEnv
	mu       sync.Mutex
	now      time.Time
	outcomes []string
}

func (o *recoveryEnv) ObserveAlert(source, service, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, source+"/"+outcome)
}

func (o *recoveryEnv) setNow(t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.now = t
}

func newRecoveryEnv(t *testing.T) *recoveryEnv {
	t.Helper()
	rs := redistest.Start(t)
	e := &recoveryEnv{intakeEnv: &intakeEnv{rdb: rs.Client()}, now: testNow}
	e.store = incident.NewStore(e.rdb, "t:")
	t.Cleanup(e.store.Close)
	certs := &fakeCerts{pem: map[string][]byte{testCertURL: getPKI(t).certPEM}}
	h := NewHandler(Config{
		Tokens:   map[string]string{"sumologic": sumoToken, "cloudwatch": cwToken, "generic": genericToken},
		Services: map[string]bool{"checkout": true},
		Rules: []Rule{
			{Match: regexp.MustCompile(`(?i)checkout`), Service: "checkout"},
		},
		SNS:      testVerifier(certs),
		Observer: e,
	}, e.store, nil)
	h.Now = func() time.Time {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.now
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.srv = httptest.NewServer(openapitest.Wrap(t, mux))
	t.Cleanup(e.srv.Close)
	return e
}

// sumoAt is a Sumo Logic monitor notification with its TriggerTime.
func sumoAt(trigger, hhmm string) string {
	return fmt.Sprintf(`{"Id": "0000000000A1B2C3", "Name": "Checkout API 5xx rate", "TriggerType": %q, "TriggerTime": "11/24/2025 %s:00 AM UTC"}`, trigger, hhmm)
}

// stateChangeRE finds StateChangeTime inside an SNS Message.
var stateChangeRE = regexp.MustCompile(`"StateChangeTime":"[^"]*"`)

// cloudWatchAt is a signed SNS delivery of an alarm testdata message with
// another MessageId and StateChangeTime.
func cloudWatchAt(t *testing.T, name, id, hhmm string) string {
	t.Helper()
	return signedSNS(t, name, func(m *SNSMessage) {
		m.MessageId = id
		m.Message = stateChangeRE.ReplaceAllString(m.Message, `"StateChangeTime":"2025-11-24T`+hhmm+`:00.000+0000"`)
	})
}

// genericAt is a generic alert; hhmm "" leaves out the timestamp.
func genericAt(status, hhmm string) string {
	ts := ""
	if hhmm != "" {
		ts = `, "timestamp": "2025-11-24T` + hhmm + `:00Z"`
	}
	return `{"service": "checkout", "dedup_key": "checkout-success-rate", "summary": "Checkout success rate below 97%", "status": "` + status + `"` + ts + `}`
}

// pageJobs returns the due page jobs and the incident numbers allocated.
func (e *recoveryEnv) pageJobs(t *testing.T) (jobs []string, seq int64) {
	t.Helper()
	ctx := context.Background()
	all, err := e.rdb.ZRange(ctx, e.store.JobsKey(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range all {
		if strings.HasPrefix(j, "page:") {
			jobs = append(jobs, j)
		}
	}
	seq, _ = e.rdb.Get(ctx, "t:{inc}:seq").Int64()
	return jobs, seq
}

func TestRecoveryOvertakesAlertOverHTTP(t *testing.T) {
	type send struct {
		path, token, body string
		recv              string // receive time hh:mm; "" keeps the last
		status            int
		outcome           string
		incident          float64
		recoveredAt       string // for superseded_by_recovery
	}
	sumo := func(trigger, at string, outcome string, n float64) send {
		return send{path: "sumologic", token: sumoToken, body: sumoAt(trigger, at), status: 202, outcome: outcome, incident: n}
	}
	cases := []struct {
		name  string
		sends func(t *testing.T) []send
		open  int // open incidents at the end
		pages int // due page jobs at the end
	}{
		{
			name: "Sumo ResolvedCritical 07:21 before Critical 07:20, then Critical 07:22",
			sends: func(*testing.T) []send {
				stale := sumo("Critical", "07:20", "superseded_by_recovery", 0)
				stale.recoveredAt = "2025-11-24T07:21:00Z"
				return []send{
					sumo("ResolvedCritical", "07:21", "no_open_incident", 0),
					stale,
					sumo("Critical", "07:22", "created", 1),
				}
			},
			open: 1, pages: 1,
		},
		{
			name: "Sumo: the recovery that resolved is remembered; a late duplicate Critical does not reopen",
			sends: func(*testing.T) []send {
				stale := sumo("Critical", "07:20", "superseded_by_recovery", 1)
				stale.recoveredAt = "2025-11-24T07:21:00Z"
				return []send{
					sumo("Critical", "07:20", "created", 1),
					sumo("ResolvedCritical", "07:21", "resolved", 1),
					stale,
				}
			},
		},
		{
			name: "CloudWatch OK 07:21 before ALARM 07:20, then ALARM 07:22",
			sends: func(t *testing.T) []send {
				return []send{
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-ok", "m-ok", "07:21"), status: 202, outcome: "no_open_incident"},
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-alarm", "m-old", "07:20"), status: 202, outcome: "superseded_by_recovery", recoveredAt: "2025-11-24T07:21:00Z"},
					// SNS delivers the same message again: still nothing.
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-alarm", "m-old", "07:20"), status: 200, outcome: "duplicate_delivery"},
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-alarm", "m-new", "07:22"), status: 202, outcome: "created", incident: 1},
				}
			},
			open: 1, pages: 1,
		},
		{
			name: "generic with timestamps",
			sends: func(*testing.T) []send {
				return []send{
					{path: "generic", token: genericToken, body: genericAt("resolved", "07:21"), status: 202, outcome: "no_open_incident"},
					{path: "generic", token: genericToken, body: genericAt("firing", "07:20"), status: 202, outcome: "superseded_by_recovery", recoveredAt: "2025-11-24T07:21:00Z"},
					{path: "generic", token: genericToken, body: genericAt("firing", "07:22"), status: 202, outcome: "created", incident: 1},
				}
			},
			open: 1, pages: 1,
		},
		{
			name: "generic without timestamps: receive times",
			sends: func(*testing.T) []send {
				return []send{
					{path: "generic", token: genericToken, body: genericAt("resolved", ""), recv: "07:21", status: 202, outcome: "no_open_incident"},
					// Received in the same instant as the recovery: not after it.
					{path: "generic", token: genericToken, body: genericAt("firing", ""), status: 202, outcome: "superseded_by_recovery", recoveredAt: "2025-11-24T07:21:00Z"},
					{path: "generic", token: genericToken, body: genericAt("firing", ""), recv: "07:22", status: 202, outcome: "created", incident: 1},
				}
			},
			open: 1, pages: 1,
		},
		{
			name: "generic firing 10:30 then resolved 10:25: stale, still open; resolved 10:30 resolves",
			sends: func(*testing.T) []send {
				return []send{
					{path: "generic", token: genericToken, body: genericAt("firing", "10:30"), recv: "10:31", status: 202, outcome: "created", incident: 1},
					{path: "generic", token: genericToken, body: genericAt("resolved", "10:25"), status: 202, outcome: "stale_recovery", incident: 1},
					{path: "generic", token: genericToken, body: genericAt("resolved", "10:30"), status: 202, outcome: "resolved", incident: 1},
				}
			},
		},
		{
			name: "CloudWatch ALARM 07:25 then a delayed OK 07:21 from an earlier flap: stale, still paging",
			sends: func(t *testing.T) []send {
				return []send{
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-alarm", "m-alarm", "07:25"), status: 202, outcome: "created", incident: 1},
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-ok", "m-ok-old", "07:21"), status: 202, outcome: "stale_recovery", incident: 1},
					{path: "cloudwatch", token: cwToken, body: cloudWatchAt(t, "sns-cloudwatch-ok", "m-ok-old", "07:21"), status: 200, outcome: "duplicate_delivery", incident: 1},
				}
			},
			open: 1, pages: 1,
		},
		{
			name: "generic: an alert timestamped before the recovery but received without one is compared by receive time",
			sends: func(*testing.T) []send {
				return []send{
					{path: "generic", token: genericToken, body: genericAt("resolved", "07:21"), recv: "07:25", status: 202, outcome: "no_open_incident"},
					{path: "generic", token: genericToken, body: genericAt("firing", ""), recv: "07:26", status: 202, outcome: "created", incident: 1},
				}
			},
			open: 1, pages: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRecoveryEnv(t)
			e.setNow(time.Date(2025, 11, 24, 7, 30, 0, 0, time.UTC))
			sends := tc.sends(t)
			for i, s := range sends {
				if s.recv != "" {
					recv, err := time.Parse("2006-01-02 15:04", "2025-11-24 "+s.recv)
					if err != nil {
						t.Fatal(err)
					}
					e.setNow(recv)
				}
				code, out := e.do(t, request{path: s.path, token: s.token, body: s.body})
				if code != s.status || out["outcome"] != s.outcome || out["incident"] != s.incident {
					t.Fatalf("send %d: %d %v; want %d %s INC-%v", i+1, code, out, s.status, s.outcome, s.incident)
				}
				if s.outcome == "superseded_by_recovery" {
					if out["recovered_at"] != s.recoveredAt || out["created"] != false || out["service"] != "checkout" ||
						!strings.Contains(fmt.Sprint(out["message"]), "nothing was opened") {
						t.Errorf("send %d: superseded reply %v, want recovered_at %s", i+1, out, s.recoveredAt)
					}
				}
				if s.outcome == "stale_recovery" {
					if out["status"] != "triggered" || out["created"] != false || out["alert_count"] != float64(2) ||
						!strings.Contains(fmt.Sprint(out["message"]), "stays open") {
						t.Errorf("send %d: stale recovery reply %v", i+1, out)
					}
				}
			}
			open, err := e.store.List(context.Background(), incident.FilterOpen, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != tc.open {
				t.Errorf("%d open incidents, want %d: %+v", len(open), tc.open, open)
			}
			if jobs, _ := e.pageJobs(t); len(jobs) != tc.pages {
				t.Errorf("page jobs %v, want %d", jobs, tc.pages)
			}
		})
	}
}

// TestSupersededAlertIsCountedAndAudited checks what is left of an alert
// that opened nothing: the observer's outcome (the metric), the audit stream
// entry, and no incident number, incident key or page job.
func TestSupersededAlertIsCountedAndAudited(t *testing.T) {
	e := newRecoveryEnv(t)
	ctx := context.Background()
	e.setNow(time.Date(2025, 11, 24, 7, 30, 0, 0, time.UTC))
	if code, out := e.do(t, request{path: "sumologic", token: sumoToken, body: sumoAt("ResolvedCritical", "07:21")}); code != 202 {
		t.Fatalf("recovery: %d %v", code, out)
	}
	before := snapshot(t, e.rdb)
	if code, out := e.do(t, request{path: "sumologic", token: sumoToken, body: sumoAt("Critical", "07:20")}); code != 202 || out["outcome"] != "superseded_by_recovery" {
		t.Fatalf("stale critical: %d %v", code, out)
	}
	after := snapshot(t, e.rdb)
	// Only the recovery memory (its count) and the audit stream changed.
	for k := range after {
		if before[k] != after[k] && !strings.HasPrefix(k, "t:{inc}:r:") && k != "t:{inc}:events" {
			t.Errorf("key %s changed", k)
		}
	}
	delete(after, "t:{inc}:events") // new: the first audit entry
	if len(after) != len(before) {
		t.Errorf("%d keys before, %d after (besides the audit stream)", len(before), len(after))
	}
	if jobs, seq := e.pageJobs(t); len(jobs) != 0 || seq != 0 {
		t.Errorf("page jobs %v, incident numbers %d; want none", jobs, seq)
	}
	e.mu.Lock()
	got := strings.Join(e.outcomes, " ")
	e.mu.Unlock()
	if got != "sumologic/no_open_incident sumologic/superseded_by_recovery" {
		t.Errorf("observed %q", got)
	}
	msgs, err := e.rdb.XRange(ctx, "t:{inc}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Values["type"] != "superseded_by_recovery" || msgs[0].Values["service"] != "checkout" ||
		msgs[0].Values["by"] != "sumologic" || msgs[0].Values["recovered_at"] != fmt.Sprint(time.Date(2025, 11, 24, 7, 21, 0, 0, time.UTC).UnixMilli()) {
		t.Errorf("audit stream %v, want one superseded_by_recovery entry", msgs)
	}
}
