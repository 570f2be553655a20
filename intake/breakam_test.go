package intake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestBreakAMDocumentedMaxAlertsFitsDefaultBody: docs/alertmanager.md and
// docs/grafana.md tell the user to set max_alerts: 1000 ("baton stores at
// most 1000 alerts from one request"); with the default
// intake.max_body_bytes (1 MiB) a group of 1000 ordinary kube-prometheus
// alerts (14 labels, a one-line description) is refused with 413, which
// Alertmanager does not retry: every notification of that group is lost.
func TestBreakAMDocumentedMaxAlertsFitsDefaultBody(t *testing.T) {
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:")
	t.Cleanup(store.Close)
	h := NewHandler(Config{
		Tokens:       map[string]string{"alertmanager": amToken},
		MaxBodyBytes: 1 << 20, // intake.max_body_bytes default
		Services:     map[string]bool{"payments": true},
		Rules:        []Rule{{Match: regexp.MustCompile(`.`), Service: "payments"}},
	}, store, nil)
	h.Now = func() time.Time { return testNow }
	mux := http.NewServeMux()
	h.Register(mux)
	e := &intakeEnv{rdb: rs.Client(), store: store}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	alerts := make([]string, incident.MaxBatch)
	for i := range alerts {
		alerts[i] = fmt.Sprintf(`{"status":"firing","labels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu-west-1","container":"api","endpoint":"http","instance":"10.2.%d.%d:8080","job":"kube-state-metrics","namespace":"payments-prod","node":"ip-10-2-3-4.eu-west-1.compute.internal","pod":"payments-api-7d9f8b6c5-%05d","prometheus":"monitoring/k8s","reason":"CrashLoopBackOff","service":"payments","severity":"warning","uid":"3f1c2b9e-8a7d-4c6e-9f0a-%012d"},"annotations":{"description":"Pod payments-prod/payments-api-7d9f8b6c5-%05d (api) is in waiting state (reason: \"CrashLoopBackOff\"). It has restarted 5 times in the last 10 minutes.","runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping","summary":"Pod is crash looping."},"startsAt":"2025-11-24T13:40:00.123456789Z","endsAt":"2025-11-24T14:07:00.123456789Z","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%%28kube_pod_container_status_waiting_reason%%7Breason%%3D%%22CrashLoopBackOff%%22%%7D%%5B5m%%5D%%29+%%3E%%3D+1\u0026g0.tab=1","fingerprint":"%016x"}`,
			i/250, i%250, i, i, i, i)
	}
	body := `{"version":"4","groupKey":"{}:{alertname=\"KubePodCrashLooping\"}","truncatedAlerts":0,"status":"firing","receiver":"baton","groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager-main-0:9093","alerts":[` + strings.Join(alerts, ",") + `]}`
	t.Logf("body %d bytes", len(body))
	code, replies, msg := e.postBatch(t, "alertmanager", amToken, body)
	if code != http.StatusAccepted || len(replies) != incident.MaxBatch {
		t.Fatalf("a max_alerts: 1000 group of %d bytes: %d %s", len(body), code, msg)
	}
}
