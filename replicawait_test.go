package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/demo"
	"github.com/batonhq/baton/internal/redistest"
)

// With redis.wait_replicas set, a webhook answers 202 only when the
// replicas confirmed the alert; on a Redis with no replica they never do,
// so every source answers 503 with the outage's fixed sentence (no detail
// of the wait) and the sender retries. Without the wait the same requests
// are answered 202: the wiring, not the Redis, makes the difference.
func TestWebhookAnswers202OnlyWhenReplicated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas string
		want     int
	}{
		{"no wait: 202", "0", http.StatusAccepted},
		{"waiting for a replica that is not there: 503", "1", http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
				"BATON_REDIS_WAIT_REPLICAS=" + tc.replicas, "BATON_REDIS_WAIT_TIMEOUT=50ms"})
			if err != nil {
				t.Fatal(err)
			}
			signer, err := demo.NewSNSSigner(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{SNSFetchCert: signer.FetchCert})
			if err != nil {
				t.Fatal(err)
			}
			a := &outageApp{testApp: &testApp{url: serveApp(t, app), redis: rs}, signer: signer}
			for _, r := range outageRoutes(t, a) {
				if !strings.HasPrefix(r.path, "/v1/alerts/") {
					continue
				}
				code, body := a.rawCall(t, r)
				if code != tc.want {
					t.Errorf("%s: %d %s, want %d", r.name, code, body, tc.want)
				}
				if code == http.StatusServiceUnavailable {
					if lb := strings.ToLower(body); !strings.Contains(lb, "the incident store is unavailable") || strings.Contains(lb, "replica") {
						t.Errorf("%s: body %s: want the fixed sentence and no detail", r.name, body)
					}
				}
			}
		})
	}
}
