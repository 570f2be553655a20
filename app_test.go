package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations"
)

// testApp runs the real App, from the example config.yaml, on a loopback
// port against a private redis-server.
type testApp struct {
	url   string
	redis *redistest.Server
}

func startApp(t *testing.T) *testApp {
	t.Helper()
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{url: serveApp(t, app), redis: rs}
}

// serveApp runs app.Serve on a loopback port until the test ends, then
// stops it and closes the app; it returns the base URL. Every exchange is
// checked against docs/openapi.yaml (internal/openapitest).
func serveApp(t *testing.T, app *App) string {
	t.Helper()
	if _, checked := app.Handler.(*openapitest.Checker); !checked {
		app.Handler = openapitest.Wrap(t, app.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		app.Close()
	})
	return "http://" + ln.Addr().String()
}

func (a *testApp) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

const (
	apiToken = "change-me-api-token-0001"
	genToken = "change-me-generic-token"
)

func TestServeEndToEnd(t *testing.T) {
	a := startApp(t)
	steps := []struct {
		name         string
		method, path string
		token, body  string
		status       int
		check        func(t *testing.T, out map[string]any)
	}{
		{"healthz", "GET", "/healthz", "", "", 200, nil},
		{"readyz", "GET", "/readyz", "", "", 200, nil},
		{"alert opens INC-1", "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1","severity":"critical"}`, 202,
			func(t *testing.T, out map[string]any) {
				if out["incident"] != 1.0 || out["created"] != true || out["alert_count"] != 1.0 {
					t.Fatalf("reply %v", out)
				}
			}},
		{"same alert counts", "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full on db-1","severity":"critical"}`, 202,
			func(t *testing.T, out map[string]any) {
				if out["incident"] != 1.0 || out["created"] != false || out["alert_count"] != 2.0 {
					t.Fatalf("reply %v", out)
				}
			}},
		{"list needs the API token", "GET", "/v1/incidents", "", "", 401, nil},
		{"list with the intake token is refused", "GET", "/v1/incidents", genToken, "", 401, nil},
		{"list open", "GET", "/v1/incidents?status=open", apiToken, "", 200,
			func(t *testing.T, out map[string]any) {
				list := out["incidents"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["ref"] != "INC-1" {
					t.Fatalf("open list %v", out)
				}
			}},
		{"bad status filter", "GET", "/v1/incidents?status=closed", apiToken, "", 400, nil},
		{"get with timeline", "GET", "/v1/incidents/1", apiToken, "", 200,
			func(t *testing.T, out map[string]any) {
				tl := out["timeline"].([]any)
				if out["status"] != "triggered" || out["alert_count"] != 2.0 || len(tl) == 0 || tl[0].(map[string]any)["type"] != "opened" {
					t.Fatalf("incident %v", out)
				}
			}},
		{"get INC- form", "GET", "/v1/incidents/INC-1", apiToken, "", 200, nil},
		{"get unknown", "GET", "/v1/incidents/99", apiToken, "", 404,
			func(t *testing.T, out map[string]any) {
				if out["error"] != "There is no INC-99." {
					t.Fatalf("error %q", out["error"])
				}
			}},
		{"get bad number", "GET", "/v1/incidents/abc", apiToken, "", 400, nil},
		{"ack without by", "POST", "/v1/incidents/1/ack", apiToken, `{}`, 400, nil},
		{"ack by a stranger", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"mallory"}`, 400, nil},
		{"ack with an unknown field", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice","who":"x"}`, 400, nil},
		{"ack", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"alice"}`, 200,
			func(t *testing.T, out map[string]any) {
				if out["status"] != "acknowledged" || out["owner"] != "alice" {
					t.Fatalf("after ack %v", out)
				}
			}},
		{"ack again", "POST", "/v1/incidents/1/ack", apiToken, `{"by":"bob"}`, 409,
			func(t *testing.T, out map[string]any) {
				if out["error"] != "INC-1 is already acknowledged by alice." {
					t.Fatalf("error %q", out["error"])
				}
			}},
		{"resolve", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice","note":"disk grown"}`, 200, nil},
		{"resolve again", "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"alice"}`, 409,
			func(t *testing.T, out map[string]any) {
				if out["error"] != "INC-1 is already resolved." {
					t.Fatalf("error %q", out["error"])
				}
			}},
		{"list resolved", "GET", "/v1/incidents?status=resolved", apiToken, "", 200,
			func(t *testing.T, out map[string]any) {
				if len(out["incidents"].([]any)) != 1 {
					t.Fatalf("resolved list %v", out)
				}
			}},
		{"no such route", "GET", "/v2/whatever", apiToken, "", 404, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out := a.call(t, s.method, s.path, s.token, s.body)
			if code != s.status {
				t.Fatalf("%s %s = %d %v, want %d", s.method, s.path, code, out, s.status)
			}
			if code >= 400 && out["error"] == "" {
				t.Fatalf("error reply without a sentence: %v", out)
			}
			if s.check != nil {
				s.check(t, out)
			}
		})
	}
}

// With Redis gone, intake must refuse (so the sender retries) rather than
// pretend, and /readyz must say so; when Redis is back, intake works again.
func TestRedisDownRefusesAlerts(t *testing.T) {
	a := startApp(t)
	a.redis.Stop()
	code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"x"}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(out["error"].(string), "NOT accepted") {
		t.Fatalf("alert with Redis down = %d %v, want 503", code, out)
	}
	if code, _ := a.call(t, "GET", "/readyz", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down = %d", code)
	}
	if code, _ := a.call(t, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("healthz with Redis down = %d; the process is still up", code)
	}
	a.redis.Restart()
	// A sender retries a 503, as SNS and Sumo Logic do; within a few seconds
	// of Redis coming back (go-redis may hold off dialling briefly after
	// failures) the alert must be accepted.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"x"}`)
		if code == http.StatusAccepted {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("alert after Redis came back = %d %v", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With no chat configured, the whole escalation story can be followed through
// the API: the logging pager pages, the timeline records it.
func TestEscalationThroughAPI(t *testing.T) {
	a := startApp(t)
	if code, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"replica lag"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, out)
	}
	// bob holds db-primary this week (the example rotation, Mon 09:00 New York).
	who, _, _, err := onCallNow(t, "db-primary")
	if err != nil {
		t.Fatal(err)
	}
	waitTimeline(t, a, 1, func(e map[string]any) bool { return e["type"] == "paged" && e["person"] == who })
	if code, out := a.call(t, "POST", "/v1/incidents/1/escalate", apiToken, `{"by":"alice"}`); code != 200 {
		t.Fatalf("escalate: %d %v", code, out)
	}
	waitTimeline(t, a, 1, func(e map[string]any) bool { return e["type"] == "escalated" && e["level"] == 2.0 })
	if code, out := a.call(t, "POST", "/v1/incidents/1/ack", apiToken, `{"by":"carol"}`); code != 200 || out["owner"] != "carol" {
		t.Fatalf("ack: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/incidents/1/resolve", apiToken, `{"by":"carol"}`); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}
	if code, out := a.call(t, "POST", "/v1/incidents/1/escalate", apiToken, `{"by":"alice"}`); code != 409 || out["error"] != "INC-1 is already resolved." {
		t.Fatalf("escalating a resolved incident: %d %v, want 409", code, out)
	}
}

func onCallNow(t *testing.T, rotation string) (string, time.Time, time.Time, error) {
	t.Helper()
	cfg, err := LoadConfig("config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	rots, err := cfg.compileRotations()
	if err != nil {
		t.Fatal(err)
	}
	return rotations.OnCall(rots[rotation], nil, time.Now())
}

func waitTimeline(t *testing.T, a *testApp, n int, match func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out := a.call(t, "GET", "/v1/incidents/"+strconv.Itoa(n), apiToken, "")
		tl, _ := out["timeline"].([]any)
		for _, e := range tl {
			if match(e.(map[string]any)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline never matched: %v", tl)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
