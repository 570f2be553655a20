package intake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
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

// kubeAlerts is an Alertmanager body of n ordinary kube-prometheus alerts
// (14 labels, a one-line description; about 1.07 KB each) with
// truncatedAlerts set to truncated.
func kubeAlerts(n, truncated int) string {
	alerts := make([]string, n)
	for i := range alerts {
		alerts[i] = fmt.Sprintf(`{"status":"firing","labels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu-west-1","container":"api","endpoint":"http","instance":"10.2.%d.%d:8080","job":"kube-state-metrics","namespace":"payments-prod","node":"ip-10-2-3-4.eu-west-1.compute.internal","pod":"payments-api-7d9f8b6c5-%05d","prometheus":"monitoring/k8s","reason":"CrashLoopBackOff","service":"payments","severity":"warning","uid":"3f1c2b9e-8a7d-4c6e-9f0a-%012d"},"annotations":{"description":"Pod payments-prod/payments-api-7d9f8b6c5-%05d (api) is in waiting state (reason: \"CrashLoopBackOff\"). It has restarted 5 times in the last 10 minutes.","runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping","summary":"Pod is crash looping."},"startsAt":"2025-11-24T13:40:00.123456789Z","endsAt":"2025-11-24T14:07:00.123456789Z","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%%28kube_pod_container_status_waiting_reason%%7Breason%%3D%%22CrashLoopBackOff%%22%%7D%%5B5m%%5D%%29+%%3E%%3D+1\u0026g0.tab=1","fingerprint":"%016x"}`,
			i/250, i%250, i, i, i, i)
	}
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"KubePodCrashLooping\"}","truncatedAlerts":%d,"status":"firing","receiver":"baton","groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager-main-0:9093","alerts":[`, truncated) +
		strings.Join(alerts, ",") + `]}`
}

// truncationSpy is an Observer and TruncationObserver that remembers what
// it is told.
type truncationSpy struct {
	mu        sync.Mutex
	truncated map[string]int64
}

func (s *truncationSpy) ObserveAlert(string, string, string, time.Duration) {}

func (s *truncationSpy) ObserveTruncated(source string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncated[source] += n
}

var _ TruncationObserver = (*truncationSpy)(nil)

// newBatchEnv is an intake handler for the payments service with
// intake.max_body_bytes maxBody, no wait for a parsing slot, its log in
// logs, behind the OpenAPI contract checker unless streaming (the checker
// reads a body whole before the handler sees it).
func newBatchEnv(t *testing.T, maxBody int64, obs Observer, logs io.Writer, streaming bool) (*intakeEnv, *Handler) {
	t.Helper()
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:")
	t.Cleanup(store.Close)
	if logs == nil {
		logs = io.Discard
	}
	h := NewHandler(Config{
		Tokens:       map[string]string{"alertmanager": amToken, "grafana": grafanaToken, "generic": genericToken},
		MaxBodyBytes: maxBody,
		Services:     map[string]bool{"payments": true},
		Rules:        []Rule{{Match: regexp.MustCompile(`.`), Service: "payments"}},
		Observer:     obs,
		ParseWait:    -1,
	}, store, slog.New(slog.NewTextHandler(logs, nil)))
	h.Now = func() time.Time { return testNow }
	mux := http.NewServeMux()
	h.Register(mux)
	e := &intakeEnv{rdb: rs.Client(), store: store}
	var handler http.Handler = mux
	if !streaming {
		handler = openapitest.Wrap(t, mux)
	}
	e.srv = httptest.NewServer(handler)
	t.Cleanup(e.srv.Close)
	return e, h
}

// TestBatchBodyLimit: the documented receiver (max_alerts: 1000) fits:
// an Alertmanager or Grafana body may be DefaultBatchBodyBytes (or
// intake.max_body_bytes when larger), and a body past it is a 413 that
// names the setting to raise and the receiver's max_alerts. Other sources
// keep intake.max_body_bytes.
func TestBatchBodyLimit(t *testing.T) {
	full := kubeAlerts(incident.MaxBatch, 0)
	if len(full) <= 1<<20 {
		t.Fatalf("the test body is %d bytes: no longer than the 1 MiB default", len(full))
	}
	tooLong := `{"alerts":[` + strings.Repeat(" ", DefaultBatchBodyBytes) + `]}`
	for _, tc := range []struct {
		name    string
		maxBody int64
		path    string
		token   string
		body    string
		code    int
		msg     []string // the 413 sentence holds each
	}{
		{"1000 kube-prometheus alerts, default max_body_bytes", 1 << 20, "alertmanager", amToken, full, http.StatusAccepted, nil},
		{"1000 alerts to grafana", 1 << 20, "grafana", grafanaToken, full, http.StatusAccepted, nil},
		{"past 8 MiB", 1 << 20, "alertmanager", amToken, tooLong, http.StatusRequestEntityTooLarge,
			[]string{"limit of 8388608 bytes for alertmanager", "raise intake.max_body_bytes", "max_alerts"}},
		{"max_body_bytes above 8 MiB raises the limit", DefaultBatchBodyBytes + 1<<20, "alertmanager", amToken, tooLong, http.StatusBadRequest, nil},
		{"other sources keep max_body_bytes", 1 << 20, "generic", genericToken, `{"summary":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge,
			[]string{"limit of 1048576 bytes", "raise intake.max_body_bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newBatchEnv(t, tc.maxBody, nil, nil, false)
			code, replies, msg := e.postBatch(t, tc.path, tc.token, tc.body)
			if code != tc.code {
				t.Fatalf("a body of %d bytes: %d %s, want %d", len(tc.body), code, msg, tc.code)
			}
			if code == http.StatusAccepted && len(replies) != incident.MaxBatch {
				t.Fatalf("%d replies", len(replies))
			}
			for _, m := range tc.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("413 %q does not say %q", msg, m)
				}
			}
		})
	}
}

// TestBatchLargeBodiesOneAtATime: a body longer than intake.max_body_bytes
// is read and parsed holding the one large-body token, so memory stays
// bounded however many arrive: a second one meanwhile is a 503 with
// Retry-After (Alertmanager retries it), an ordinary body is served, and
// the token is given back once the first is done.
func TestBatchLargeBodiesOneAtATime(t *testing.T) {
	const maxBody = 64 << 10
	e, h := newBatchEnv(t, maxBody, nil, nil, true)
	big := kubeAlerts(200, 0) // about 210 KB
	// The first large body: its first part is sent, then it waits.
	pr, pw := io.Pipe()
	// Runs before the server's Close, which would wait for this request.
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/alertmanager", pr)
		req.Header.Set("Authorization", "Bearer "+amToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte(big[:maxBody+100])); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.large) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first large body never took the large-body token")
		}
		time.Sleep(time.Millisecond) // polling for the token, not synchronising on time
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/alertmanager", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+amToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second large body meanwhile: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _, msg := e.postBatch(t, "alertmanager", amToken, amBodyWith(amAlertJSON("small"))); code != http.StatusAccepted {
		t.Errorf("an ordinary body meanwhile: %d %s", code, msg)
	}
	if _, err := pw.Write([]byte(big[maxBody+100:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-done; code != http.StatusAccepted {
		t.Fatalf("the first large body: %d", code)
	}
	if len(h.large) != 0 {
		t.Fatal("the large-body token was not given back")
	}
	if code, _, msg := e.postBatch(t, "alertmanager", amToken, big); code != http.StatusAccepted {
		t.Errorf("a large body afterwards: %d %s", code, msg)
	}
}

// TestBatchTruncatedAlertsWarned: a payload whose truncatedAlerts is more
// than 0 (the sender's max_alerts dropped alerts before sending) is
// stored, logged as a warning without alert text, and counted for the
// metric; 0 is neither.
func TestBatchTruncatedAlertsWarned(t *testing.T) {
	for _, tc := range []struct {
		name      string
		path      string
		token     string
		truncated int
	}{
		{"alertmanager, 7 dropped", "alertmanager", amToken, 7},
		{"grafana, 3 dropped", "grafana", grafanaToken, 3},
		{"none dropped", "alertmanager", amToken, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy := &truncationSpy{truncated: map[string]int64{}}
			var logs bytes.Buffer
			e, _ := newBatchEnv(t, 1<<20, spy, &logs, false)
			if code, _, msg := e.postBatch(t, tc.path, tc.token, kubeAlerts(2, tc.truncated)); code != http.StatusAccepted {
				t.Fatalf("%d %s", code, msg)
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), fmt.Sprintf("truncated_alerts=%d", tc.truncated))
			if warned != (tc.truncated > 0) {
				t.Errorf("warned %v for truncatedAlerts %d; log:\n%s", warned, tc.truncated, logs.String())
			}
			if got := spy.truncated[tc.path]; got != int64(tc.truncated) {
				t.Errorf("observed %d truncated, want %d", got, tc.truncated)
			}
			for _, text := range []string{"crash looping", "KubePodCrashLooping", "payments-api"} {
				if strings.Contains(logs.String(), text) {
					t.Errorf("the log holds alert text %q:\n%s", text, logs.String())
				}
			}
		})
	}
}

// TestBatchCompressedBodyRefused: a gzip body, announced or not, is a 415
// that says gzip is not supported, and stores nothing.
func TestBatchCompressedBodyRefused(t *testing.T) {
	e, _ := newBatchEnv(t, 1<<20, nil, nil, false)
	for _, tc := range []struct {
		name     string
		path     string
		token    string
		encoding string
		body     string
	}{
		{"Content-Encoding gzip", "alertmanager", amToken, "gzip", amBodyWith(amAlertJSON("a"))},
		{"gzip magic bytes, no header", "grafana", grafanaToken, "", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"},
		{"generic source, Content-Encoding br", "generic", genericToken, "br", `{"summary":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/v1/alerts/"+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tc.token)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultTransport.RoundTrip(req) // as sent: no transparent decompression
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(raw), "gzip is not supported") {
				t.Errorf("%d %s, want 415 saying gzip is not supported", resp.StatusCode, raw)
			}
			if n, _ := e.rdb.DBSize(redistest.Ctx(t)).Result(); n != 0 {
				t.Errorf("%d keys stored", n)
			}
		})
	}
}
