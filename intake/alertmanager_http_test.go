package intake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// postBatch posts body to /v1/alerts/<path> with token and returns the
// status and, for a 202, the replies (else the error sentence).
func (e *intakeEnv) postBatch(t *testing.T, path, token, body string) (int, []Reply, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		var out struct{ Error string }
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, nil, out.Error
	}
	var replies []Reply
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&replies); err != nil {
		t.Fatalf("reply %s is not a list of replies: %v", raw, err)
	}
	return resp.StatusCode, replies, ""
}

// outcomes lists the replies' outcomes and incident numbers.
func outcomes(replies []Reply) []string {
	var out []string
	for _, r := range replies {
		out = append(out, r.Outcome+" INC-"+itoa(r.Incident))
	}
	return out
}

// pageDue reports whether incident n's first page is due in the jobs queue.
func (e *intakeEnv) pageDue(t *testing.T, n int64) bool {
	t.Helper()
	_, err := e.rdb.ZScore(redistest.Ctx(t), "t:{inc}:jobs", "page:"+itoa(n)).Result()
	return err == nil
}

// TestBatchSourcesEndToEnd: each source's documented payload, over HTTP
// against a real redis-server: firing opens one incident per alert with
// its page due; the recovery resolves its incident (and cancels its
// page); the other stays open.
func TestBatchSourcesEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		source, path, token, firing, resolved, service string
	}{
		{"alertmanager", "alertmanager?service=database", amToken, "alertmanager-firing", "alertmanager-resolved", "database"},
		{"grafana", "grafana?service=checkout", grafanaToken, "grafana-firing", "grafana-resolved", "checkout"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			// The firing notification is received before the recovery's
			// endsAt (14:21 and 14:31), the recovery at goldenNow.
			clock := newTestClock(firingNow)
			e := newIntakeEnvClock(t, clock.Now)
			ctx := redistest.Ctx(t)
			code, replies, msg := e.postBatch(t, tc.path, tc.token, string(readTestdata(t, tc.firing)))
			if code != http.StatusAccepted {
				t.Fatalf("firing: %d %s", code, msg)
			}
			if got := strings.Join(outcomes(replies), ", "); got != "created INC-1, created INC-2" {
				t.Fatalf("firing: %s", got)
			}
			for _, r := range replies {
				if !r.Created || r.AlertCount != 1 || r.Status != "triggered" || r.Service != tc.service {
					t.Errorf("reply %+v", r)
				}
				inc, _, err := e.store.Get(ctx, r.Incident)
				if err != nil || inc.Status != incident.StatusTriggered || inc.Source != tc.source || inc.Service != tc.service {
					t.Errorf("INC-%d = %+v, %v", r.Incident, inc, err)
				}
				if !e.pageDue(t, r.Incident) {
					t.Errorf("INC-%d has no page due", r.Incident)
				}
			}
			clock.Set(goldenNow)
			code, replies, msg = e.postBatch(t, tc.path, tc.token, string(readTestdata(t, tc.resolved)))
			if code != http.StatusAccepted {
				t.Fatalf("resolved: %d %s", code, msg)
			}
			if got := strings.Join(outcomes(replies), ", "); got != "resolved INC-1" {
				t.Fatalf("resolved: %s", got)
			}
			for n, want := range map[int64]incident.Status{1: incident.StatusResolved, 2: incident.StatusTriggered} {
				inc, _, err := e.store.Get(ctx, n)
				if err != nil || inc.Status != want {
					t.Errorf("INC-%d = %s (%v), want %s", n, inc.Status, err, want)
				}
				if due := e.pageDue(t, n); due != (want == incident.StatusTriggered) {
					t.Errorf("INC-%d page due: %v", n, due)
				}
			}
		})
	}
}

// TestBatchMixedOverHTTP: a batch that fires, repeats and resolves at
// once; each alert gets its own answer, in order, and a firing alert after
// a recovery in the same batch fires again (a notification is a snapshot:
// its startsAt, older than the recovery, does not make it stale).
func TestBatchMixedOverHTTP(t *testing.T) {
	clock := newTestClock(testNow)
	e := newIntakeEnvClock(t, clock.Now)
	at := func(min int) string { return testNow.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	for _, path := range []struct{ path, token string }{{"alertmanager", amToken}, {"grafana?service=database", grafanaToken}} {
		t.Run(path.path, func(t *testing.T) {
			e.rdb.FlushAll(redistest.Ctx(t))
			clock.Set(testNow.Add(-5 * time.Minute)) // received before the recoveries' endsAt
			body := amBodyWith(amAlertJSON("a"), amAlertJSON("b"))
			if code, replies, msg := e.postBatch(t, path.path, path.token, body); code != http.StatusAccepted || strings.Join(outcomes(replies), ", ") != "created INC-1, created INC-2" {
				t.Fatalf("first batch: %d %v %s", code, outcomes(replies), msg)
			}
			clock.Set(testNow)
			body = amBodyWith(
				amAlertJSON("a", `"status":"resolved"`, `"endsAt":"`+at(-1)+`"`),
				amAlertJSON("b"),
				amAlertJSON("c"),
				amAlertJSON("d", `"status":"resolved"`, `"endsAt":"`+at(-1)+`"`),
				amAlertJSON("d", `"startsAt":"`+at(-2)+`"`),
			)
			code, replies, msg := e.postBatch(t, path.path, path.token, body)
			if code != http.StatusAccepted {
				t.Fatalf("mixed batch: %d %s", code, msg)
			}
			// One fingerprint twice in one notification (Alertmanager never
			// sends that): both are received at once, and the recovery wins.
			want := "resolved INC-1, repeated INC-2, created INC-3, no_open_incident INC-0, superseded_by_recovery INC-0"
			if got := strings.Join(outcomes(replies), ", "); got != want {
				t.Fatalf("mixed batch:\n%s\nwant\n%s", got, want)
			}
			if replies[1].AlertCount != 2 {
				t.Errorf("replies %+v", replies)
			}
		})
	}
}

// TestBatchWithOneBadAlertStoresNothing: whatever is wrong with one alert
// of a batch (its fingerprint, its status, its route), the answer names
// it and Redis is unchanged, even when the alerts before it are fine and
// some of them would repeat or resolve open incidents.
func TestBatchWithOneBadAlertStoresNothing(t *testing.T) {
	e := newIntakeEnv(t)
	if code, _, msg := e.postBatch(t, "alertmanager", amToken, amBodyWith(amAlertJSON("a"), amAlertJSON("b"))); code != http.StatusAccepted {
		t.Fatalf("setup: %d %s", code, msg)
	}
	resolveA := amAlertJSON("a", `"status":"resolved"`)
	for _, tc := range []struct {
		name, body, says string
		code             int
	}{
		{"fingerprint", amBodyWith(resolveA, amAlertJSON("b"), amAlertJSON("")), `field "alerts[2].fingerprint": is empty`, 400},
		{"label type", amBodyWith(resolveA, amAlertJSON("c"), amAlertJSON("d", `"labels":{"alertname":"DiskFull","severity":["x"]}`)), `field "alerts[2].labels.severity": must be a string, not an array`, 400},
		{"route", amBodyWith(resolveA, amAlertJSON("c"), amAlertJSON("d", `"labels":{"alertname":"Nowhere"}`)), `alerts[2]: alert "Nowhere" belongs to no service`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.rdb)
			code, _, msg := e.postBatch(t, "alertmanager", amToken, tc.body)
			if code != tc.code || !strings.Contains(msg, tc.says) {
				t.Fatalf("%d %q, want %d saying %q", code, msg, tc.code, tc.says)
			}
			if after := snapshot(t, e.rdb); len(after) != len(before) || !mapsEqual(before, after) {
				t.Fatalf("Redis changed: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestAlertmanagerFiringAfterRecovery: a notification is a snapshot of
// the alert's state. Prometheus keeps an alert's startsAt for its whole
// life, so when it cannot reach Alertmanager past the alert's endsAt
// (ValidUntil), Alertmanager resolves the alert itself and, once
// Prometheus is back, notifies "firing" again with the same old startsAt.
// That firing is received after the recovery, so it is firing again: it
// opens and pages. A recovery counts from when it is received too: its
// endsAt (the sender's clock) may be earlier than a firing notification
// that was delivered late, after retries, and must still resolve.
func TestAlertmanagerFiringAfterRecovery(t *testing.T) {
	at := func(hm string) time.Time {
		t, err := time.Parse(time.RFC3339, "2025-11-24T"+hm+":00Z")
		if err != nil {
			panic(err)
		}
		return t
	}
	firing := func(endsAt string) string {
		return amAlertJSON("refire", `"startsAt":"2025-11-24T13:40:00Z"`, `"endsAt":"2025-11-24T`+endsAt+`:00Z"`)
	}
	resolved := func(endsAt string) string {
		return amAlertJSON("refire", `"status":"resolved"`, `"startsAt":"2025-11-24T13:40:00Z"`, `"endsAt":"2025-11-24T`+endsAt+`:00Z"`)
	}
	steps := []struct {
		name     string
		received string // hh:mm
		alert    string
		want     string
	}{
		{"first firing", "13:41", firing("13:45"), "created INC-1"},
		{"Alertmanager's own resolve at ValidUntil", "13:50", resolved("13:50"), "resolved INC-1"},
		{"firing again, same startsAt", "14:03", firing("14:07"), "created INC-2"},
		{"repeat of the firing", "14:08", firing("14:12"), "repeated INC-2"},
		{"resolved with an endsAt before the latest firing's delivery", "14:09", resolved("14:05"), "resolved INC-2"},
		{"firing after that recovery", "14:15", firing("14:19"), "created INC-3"},
		{"resolved again", "14:20", resolved("14:19"), "resolved INC-3"},
	}
	clock := newTestClock(at(steps[0].received))
	e := newIntakeEnvClock(t, clock.Now)
	for _, s := range steps {
		clock.Set(at(s.received))
		code, replies, msg := e.postBatch(t, "alertmanager", amToken, amBodyWith(s.alert))
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", s.name, code, msg)
		}
		if got := outcomes(replies)[0]; got != s.want {
			t.Fatalf("%s: %s, want %s (%+v)", s.name, got, s.want, replies[0])
		}
	}
}
