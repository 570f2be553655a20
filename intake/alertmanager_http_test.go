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
			e := newIntakeEnvAt(t, goldenNow)
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
// once; each alert gets its own answer, in order, and a firing alert older
// than a recovery in the same batch opens nothing.
func TestBatchMixedOverHTTP(t *testing.T) {
	e := newIntakeEnv(t)
	at := func(min int) string { return testNow.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	for _, path := range []struct{ path, token string }{{"alertmanager", amToken}, {"grafana?service=database", grafanaToken}} {
		t.Run(path.path, func(t *testing.T) {
			e.rdb.FlushAll(redistest.Ctx(t))
			body := amBodyWith(amAlertJSON("a"), amAlertJSON("b"))
			if code, replies, msg := e.postBatch(t, path.path, path.token, body); code != http.StatusAccepted || strings.Join(outcomes(replies), ", ") != "created INC-1, created INC-2" {
				t.Fatalf("first batch: %d %v %s", code, outcomes(replies), msg)
			}
			body = amBodyWith(
				amAlertJSON("a", `"status":"resolved"`, `"endsAt":"`+at(-1)+`"`),
				amAlertJSON("b"),
				amAlertJSON("c"),
				amAlertJSON("c", `"status":"resolved"`, `"endsAt":"`+at(-1)+`"`),
				amAlertJSON("c", `"startsAt":"`+at(-2)+`"`),
			)
			code, replies, msg := e.postBatch(t, path.path, path.token, body)
			if code != http.StatusAccepted {
				t.Fatalf("mixed batch: %d %s", code, msg)
			}
			want := "resolved INC-1, repeated INC-2, created INC-3, resolved INC-3, superseded_by_recovery INC-3"
			if got := strings.Join(outcomes(replies), ", "); got != want {
				t.Fatalf("mixed batch:\n%s\nwant\n%s", got, want)
			}
			if replies[1].AlertCount != 2 || replies[4].RecoveredAt == "" {
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
