package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/metrics"
)

// scrape GETs /metrics from a real HTTP server and parses the answer with
// Prometheus's own text parser.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mux := http.NewServeMux()
	m.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	return families
}

// value returns the value of the series of family name with labels, or
// the sample count for a histogram.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s in the scrape", name)
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestScrape(t *testing.T) {
	m := metrics.New()
	var em escalation.Metrics = m // what the runner is given

	m.ObserveAlert("sumologic", "api", "created", 3*time.Millisecond)
	m.ObserveAlert("sumologic", "api", "repeated", 2*time.Millisecond)
	m.ObserveAlert("sumologic", "api", "repeated", 2*time.Millisecond)
	m.ObserveAlert("cloudwatch", "", "refused", time.Millisecond)
	m.ObserveAlert("/etc/passwd", "", "refused", time.Millisecond)
	m.ObserveAlert("chat", "web", "created", 0)
	m.ObserveAlert("alertmanager", "", "created", time.Millisecond)
	m.ObserveAlert("grafana", "api", "resolved", 0)
	m.ObserveTruncated("alertmanager", 7)
	m.ObserveTruncated("alertmanager", 3)
	em.JobStarted("page", 40*time.Millisecond)
	em.JobStarted("page", -time.Second) // a clock step: counted as no lag
	em.PageSent(escalation.ReasonFirst)
	em.PageSent(escalation.ReasonEscalated)
	em.PageFailed(escalation.ReasonFirst)
	em.Escalated()
	em.DeadLettered()
	em.StoreError()
	m.Acknowledged("button")
	m.Acknowledged("api")
	m.ChatAPIError("slack", "chat.postMessage")
	m.ChatAPIError("slack", "chat.postMessage")

	fams := scrape(t, m)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"baton_alerts_received_total", map[string]string{"source": "sumologic", "outcome": "repeated"}, 2},
		{"baton_alerts_received_total", map[string]string{"source": "sumologic", "outcome": "created"}, 1},
		{"baton_alerts_received_total", map[string]string{"source": "other", "outcome": "refused"}, 1},
		{"baton_alerts_received_total", map[string]string{"source": "alertmanager", "outcome": "created"}, 1},
		{"baton_alerts_received_total", map[string]string{"source": "grafana", "outcome": "resolved"}, 1},
		{"baton_alerts_truncated_total", map[string]string{"source": "alertmanager"}, 10},
		{"baton_incidents_opened_total", map[string]string{"service": "api"}, 1},
		{"baton_incidents_opened_total", map[string]string{"service": "web"}, 1},
		{"baton_intake_duration_seconds", map[string]string{"source": "sumologic"}, 3},
		{"baton_pages_sent_total", map[string]string{"reason": "first"}, 1},
		{"baton_pages_sent_total", map[string]string{"reason": "escalated"}, 1},
		{"baton_page_failures_total", map[string]string{"reason": "first"}, 1},
		{"baton_pages_dead_lettered_total", nil, 1},
		{"baton_escalations_total", nil, 1},
		{"baton_acknowledgements_total", map[string]string{"via": "button"}, 1},
		{"baton_job_lag_seconds", map[string]string{"kind": "page"}, 2},
		{"baton_store_errors_total", map[string]string{"component": "escalation"}, 1},
		{"baton_chat_api_errors_total", map[string]string{"chat": "slack", "method": "chat.postMessage"}, 2},
	}
	for _, tc := range tests {
		if got := value(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// The lag histogram put 40ms in the 0.05 bucket and the negative lag in the first.
	var buckets []uint64
	for _, b := range fams["baton_job_lag_seconds"].GetMetric()[0].GetHistogram().GetBucket() {
		buckets = append(buckets, b.GetCumulativeCount())
	}
	if buckets[0] != 1 || buckets[3] != 2 {
		t.Errorf("job lag cumulative buckets = %v, want 1 in the first (≤5ms) and 2 by the fourth (≤50ms)", buckets)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// Two Metrics in one process (two Apps in a test) do not collide: each
// has its own registry.
func TestIndependentRegistries(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.Escalated()
	if got := value(t, scrape(t, b), "baton_escalations_total", nil); got != 0 {
		t.Errorf("b counted a's escalation: %v", got)
	}
}
