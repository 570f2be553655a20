package intake

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// TestGroupedAlertAnswer: through the real handler to a real redis-server,
// a service that groups by details.host answers a second host-1 alert with
// "grouped", created false and the incident it joined; another host opens
// its own; a recovery of one grouped alert says the incident stays open.
func TestGroupedAlertAnswer(t *testing.T) {
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:", incident.WithGrouping(func(service string) incident.Grouping {
		if service == "database" {
			return incident.Grouping{Window: 5 * time.Minute, By: []string{"details.host"}}
		}
		return incident.Grouping{}
	}))
	t.Cleanup(store.Close)
	h := NewHandler(Config{
		Tokens:   map[string]string{"generic": genericToken},
		Services: map[string]bool{"database": true, "checkout": true},
	}, store, nil)
	h.Now = func() time.Time { return testNow }
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(openapitest.Wrap(t, mux))
	t.Cleanup(srv.Close)
	e := &intakeEnv{srv: srv}

	steps := []struct {
		name    string
		body    string
		code    int
		outcome string
		created bool
		number  float64
		count   float64
	}{
		{"the first alert opens", `{"service":"database","dedup_key":"disk-db1","summary":"disk","details":{"host":"db-1"}}`,
			202, "created", true, 1, 1},
		{"another alert of the host joins", `{"service":"database","dedup_key":"cpu-db1","summary":"cpu","details":{"host":"db-1"}}`,
			202, "grouped", false, 1, 2},
		{"another host opens its own", `{"service":"database","dedup_key":"cpu-db2","summary":"cpu","details":{"host":"db-2"}}`,
			202, "created", true, 2, 1},
		{"the same alert again repeats", `{"service":"database","dedup_key":"cpu-db1","summary":"cpu","details":{"host":"db-1"}}`,
			202, "repeated", false, 1, 3},
		{"a service without grouping opens", `{"service":"checkout","dedup_key":"x","summary":"x","details":{"host":"db-1"}}`,
			202, "created", true, 3, 1},
		{"one grouped alert recovers", `{"service":"database","dedup_key":"disk-db1","summary":"disk","status":"resolved"}`,
			202, "alert_recovered", false, 1, 4},
		{"the last one resolves", `{"service":"database","dedup_key":"cpu-db1","summary":"cpu","status":"resolved"}`,
			202, "resolved", false, 1, 5},
	}
	for _, st := range steps {
		code, out := e.do(t, request{path: "generic", token: genericToken, body: st.body})
		if code != st.code || out["outcome"] != st.outcome || out["created"] != st.created ||
			out["incident"] != st.number || out["alert_count"] != st.count {
			t.Fatalf("%s: %d %v; want %d outcome %s created %v incident %v count %v", st.name, code, out, st.code, st.outcome, st.created, st.number, st.count)
		}
		if st.outcome == "grouped" && out["message"] != "the alert joined INC-1 (the service groups its alerts); its recovery resolves only its own part" {
			t.Fatalf("%s: message %q", st.name, out["message"])
		}
	}
}

// TestAlertmanagerBatchGroups: a service grouping by details.labels.job
// folds an Alertmanager notification's alerts of one job into one
// incident, in the same batch, and each alert's recovery resolves its part.
func TestAlertmanagerBatchGroups(t *testing.T) {
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:", incident.WithGrouping(func(string) incident.Grouping {
		return incident.Grouping{Window: 5 * time.Minute, By: []string{"details.labels.job"}}
	}))
	t.Cleanup(store.Close)
	h := NewHandler(Config{Tokens: map[string]string{"alertmanager": amToken}, Services: map[string]bool{"database": true}}, store, nil)
	clock := newTestClock(firingNow) // before the recovery's endsAt
	h.Now = clock.Now
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &intakeEnv{srv: srv}
	if code, replies, msg := e.postBatch(t, "alertmanager?service=database", amToken, string(readTestdata(t, "alertmanager-firing"))); code != http.StatusAccepted ||
		len(replies) != 2 || outcomes(replies)[0] != "created INC-1" || outcomes(replies)[1] != "grouped INC-1" {
		t.Fatalf("firing: %d %v %s", code, outcomes(replies), msg)
	}
	clock.Set(goldenNow)
	if code, replies, msg := e.postBatch(t, "alertmanager?service=database", amToken, string(readTestdata(t, "alertmanager-resolved"))); code != http.StatusAccepted ||
		len(replies) != 1 || outcomes(replies)[0] != "alert_recovered INC-1" {
		t.Fatalf("one recovered: %d %v %s", code, outcomes(replies), msg)
	}
}
