package demo

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
)

const demoTopic = "arn:aws:sns:us-east-1:123456789012:baton-demo-alarms"

// TestSNSSignerPassesBatonsVerifier: the demo's notifications pass intake's
// real SNS verification with the demo certificate, and fail it when altered.
func TestSNSSignerPassesBatonsVerifier(t *testing.T) {
	now := time.Now()
	signer, err := NewSNSSigner(now)
	if err != nil {
		t.Fatal(err)
	}
	v := &intake.SNSVerifier{AllowedTopics: []string{demoTopic}, FetchCert: signer.FetchCert}
	body, err := signer.Notification(demoTopic, `ALARM: "x"`, string(sample("cloudwatch-alarm.json", now, 0)), now)
	if err != nil {
		t.Fatal(err)
	}
	m, err := intake.ParseSNS(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(t.Context(), m); err != nil {
		t.Fatalf("verify: %v", err)
	}
	a, state, err := intake.ParseCloudWatchAlarm(m, now)
	if err != nil || state != "ALARM" || a.Status != incident.AlertFiring || !strings.Contains(a.Name, "payments") {
		t.Fatalf("alarm %+v %s %v", a, state, err)
	}
	tampered := m
	tampered.Message = strings.Replace(m.Message, "ALARM", "OK", 1)
	if err := v.Verify(t.Context(), tampered); !errors.Is(err, intake.ErrBadSignature) {
		t.Fatalf("altered message: %v", err)
	}
	other, _ := NewSNSSigner(now)
	forged, _ := other.Notification(demoTopic, "", "{}", now)
	fm, _ := intake.ParseSNS(forged)
	if err := v.Verify(t.Context(), fm); !errors.Is(err, intake.ErrBadSignature) {
		t.Fatalf("signed with another key: %v", err)
	}
	if _, err := signer.FetchCert(t.Context(), "https://sns.us-east-1.amazonaws.com/Other.pem"); err == nil {
		t.Fatal("the demo fetched a certificate that is not its own")
	}
}

// TestSamplesParse: every built-in sample is a valid alert of its source,
// routed and deduplicated as the scenario says.
func TestSamplesParse(t *testing.T) {
	now := time.Now()
	tests := []struct {
		file   string
		status incident.AlertStatus
		name   string
		dedup  string
	}{
		{"sumologic-monitor.json", incident.AlertFiring, "Postgres primary replication lag", "sumologic:monitor:0000000000D1B2C3"},
		{"sumologic-monitor-resolved.json", incident.AlertResolved, "Postgres primary replication lag", "sumologic:monitor:0000000000D1B2C3"},
		{"sumologic-search.json", incident.AlertFiring, "Payment webhook retries above threshold", "sumologic:search:payment webhook retries above threshold"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a, err := intake.ParseSumoLogic(sample(tc.file, now, 3), now)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != tc.status || a.Name != tc.name || a.DedupKey != tc.dedup {
				t.Fatalf("alert %+v", a)
			}
		})
	}
	signer, _ := NewSNSSigner(now)
	for file, status := range map[string]incident.AlertStatus{"cloudwatch-alarm.json": incident.AlertFiring, "cloudwatch-ok.json": incident.AlertResolved} {
		body, _ := signer.Notification(demoTopic, "", string(sample(file, now, 0)), now)
		m, _ := intake.ParseSNS(body)
		a, _, err := intake.ParseCloudWatchAlarm(m, now)
		if err != nil || a.Status != status || a.DedupKey != "cloudwatch:arn:aws:cloudwatch:us-east-1:123456789012:alarm:payments-api-5xx-high" {
			t.Fatalf("%s: %+v %v", file, a, err)
		}
	}
}

// TestScenarioSteps: the plain demo fires one alert; the full scenario fires
// the monitor, the SNS alarm, the scheduled-search storm, the incident storm
// and the recoveries, and shows issue 18's features (heartbeat beats, a
// maintenance window, an acknowledgement, a page-in, a held alert, a press
// in a DM), in time order, each as its source or a person sends it.
func TestScenarioSteps(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.URL.Query().Get("token")+" "+r.Header.Get("x-amz-sns-message-type"))
		mu.Unlock()
		if len(b) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"incident":2,"outcome":"created"}`))
	}))
	defer srv.Close()
	signer, _ := NewSNSSigner(time.Now())
	var pressed []string
	sc := &Scenario{BaseURL: srv.URL, SNS: signer, TopicARN: demoTopic, APIToken: "api-token",
		Tokens: map[string]string{"sumologic": "sumo-token", "cloudwatch": "cw-token", "generic": "gen-token", "heartbeat": "hb-token"},
		Press: func(person, actionID, value string) (bool, error) {
			pressed = append(pressed, person+" "+actionID+" "+value)
			return true, nil
		}}

	if steps := sc.Steps(); len(steps) != 1 {
		t.Fatalf("plain demo: %d steps", len(steps))
	}
	sc.Full = true
	steps := sc.Steps()
	features := len(HeartbeatBeats) + 1 + 5 + 1 // beats, beat again; window, ack, page-in, held alert, press; its recovery
	if len(steps) != 2+StormSize+IncidentStormSize+2+IncidentStormSize+features {
		t.Fatalf("%d steps", len(steps))
	}
	for i, st := range steps {
		if i > 0 && st.At < steps[i-1].At {
			t.Fatalf("step %d (%s) comes before step %d", i, st.Name, i-1)
		}
		if err := st.fire(t.Context(), sc); err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	tests := []struct {
		name, request string
		times         int
	}{
		{"sumo logic", "/v1/alerts/sumologic Bearer sumo-token  ", 1 + StormSize + 2*IncidentStormSize + 1},
		{"cloudwatch through sns", "/v1/alerts/cloudwatch  cw-token Notification", 2},
		{"heartbeat beats", "/v1/heartbeats/nightly-export Bearer hb-token  ", len(HeartbeatBeats) + 1},
		{"maintenance window", "/v1/maintenance Bearer api-token  ", 1},
		{"acknowledgement of the payments incident", "/v1/incidents/2/ack Bearer api-token  ", 1},
		{"page-in", "/v1/incidents/2/page Bearer api-token  ", 1},
		{"batch alert and its recovery", "/v1/alerts/generic Bearer gen-token  ", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if count[tc.request] != tc.times {
				t.Fatalf("%q sent %d times, want %d; all: %q", tc.request, count[tc.request], tc.times, got)
			}
		})
	}
	if got[0] != "/v1/alerts/sumologic Bearer sumo-token  " {
		t.Errorf("first request %q", got[0])
	}
	if len(pressed) != 1 || pressed[0] != "bob ackpage 2" {
		t.Errorf("pressed %q, want bob's Acknowledge my page on INC-2", pressed)
	}
}

// TestScenarioNeedsTheIncident: a step about the payments incident whose
// alert was not taken says so instead of sending a request for "{payments}".
func TestScenarioNeedsTheIncident(t *testing.T) {
	sc := &Scenario{BaseURL: "http://127.0.0.1:1"}
	err := fireAPI("/v1/incidents/{payments}/ack", `{"by":"carol"}`)(t.Context(), sc)
	if err == nil || !strings.Contains(err.Error(), "{payments} is not known") {
		t.Fatalf("err %v", err)
	}
}

// TestIncidentStorm: the scenario's storm of distinct incidents is
// IncidentStormSize Sumo Logic monitors with distinct dedup keys, all routed
// to the database service (so all paged to the same person), sent within a
// second; their recoveries resolve each of them, also within a second.
func TestIncidentStorm(t *testing.T) {
	// demo.yaml's route to the database service.
	database := regexp.MustCompile(`(?i)^(db|postgres|redis)`)
	tests := []struct {
		name   string
		at     time.Duration
		suffix string
		status incident.AlertStatus
	}{
		{"storm", IncidentStormAt, "unreachable (critical)", incident.AlertFiring},
		{"recoveries", IncidentStormRecoverAt, "recovered", incident.AlertResolved},
	}
	sc := &Scenario{Full: true, Tokens: map[string]string{"sumologic": "sumo-token"}}
	var stormKeys map[string]bool // the storm's, which the recoveries must name
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies [][]byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, b)
				mu.Unlock()
			}))
			defer srv.Close()
			sc.BaseURL = srv.URL
			var first, last time.Duration = -1, 0
			for _, st := range sc.Steps() {
				if !strings.HasSuffix(st.Name, tc.suffix) || !strings.Contains(st.Name, "Redis node cache-") {
					continue
				}
				if first < 0 {
					first = st.At
				}
				last = st.At
				if err := st.fire(t.Context(), sc); err != nil {
					t.Fatalf("%s: %v", st.Name, err)
				}
			}
			if first != tc.at || last-first >= time.Second {
				t.Fatalf("sent from %s to %s; want from %s, within a second", first, last, tc.at)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != IncidentStormSize {
				t.Fatalf("%d alerts sent, want %d", len(bodies), IncidentStormSize)
			}
			keys := map[string]bool{}
			for _, b := range bodies {
				a, err := intake.ParseSumoLogic(b, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if a.Status != tc.status || !database.MatchString(a.Name) {
					t.Fatalf("alert %q: status %v, routed to database %v", a.Name, a.Status, database.MatchString(a.Name))
				}
				keys[a.DedupKey] = true
			}
			if len(keys) != IncidentStormSize {
				t.Fatalf("%d distinct dedup keys, want %d: %v", len(keys), IncidentStormSize, keys)
			}
			if stormKeys == nil {
				stormKeys = keys
			} else if !maps.Equal(keys, stormKeys) {
				t.Fatalf("recoveries name %v, the storm %v", keys, stormKeys)
			}
		})
	}
}
