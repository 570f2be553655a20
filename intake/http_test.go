package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

const (
	sumoToken    = "sumo-token-0123456789"
	cwToken      = "cloudwatch-token-0123456789"
	genericToken = "generic-token-0123456789"
	amToken      = "alertmanager-token-0123456789"
	grafanaToken = "grafana-token-0123456789"
)

// intakeEnv is a real intake handler over a real incident store on a private redis-server.
type intakeEnv struct {
	srv       *httptest.Server
	rdb       *redis.Client
	store     *incident.Store
	confirmed []string
	mu        sync.Mutex
}

func newIntakeEnv(t *testing.T) *intakeEnv {
	t.Helper()
	return newIntakeEnvAt(t, testNow)
}

// newIntakeEnvAt is newIntakeEnv with the handler's clock stopped at now.
func newIntakeEnvAt(t *testing.T, now time.Time) *intakeEnv {
	t.Helper()
	return newIntakeEnvClock(t, func() time.Time { return now })
}

// newIntakeEnvClock is newIntakeEnv with the handler's clock now.
func newIntakeEnvClock(t *testing.T, now func() time.Time) *intakeEnv {
	t.Helper()
	rs := redistest.Start(t)
	e := &intakeEnv{rdb: rs.Client()}
	e.store = incident.NewStore(e.rdb, "t:")
	certs := &fakeCerts{pem: map[string][]byte{testCertURL: getPKI(t).certPEM}}
	h := NewHandler(Config{
		Tokens:       map[string]string{"sumologic": sumoToken, "cloudwatch": cwToken, "generic": genericToken, "alertmanager": amToken, "grafana": grafanaToken},
		MaxBodyBytes: 4096,
		Services:     map[string]bool{"checkout": true, "database": true},
		Rules: []Rule{
			{Source: "sumologic", Match: regexp.MustCompile(`(?i)^checkout`), Service: "checkout"},
			{Source: "cloudwatch", Match: regexp.MustCompile(`checkout`), Service: "checkout"},
			{Source: "alertmanager", Match: regexp.MustCompile(`^DiskFull$`), Service: "database"},
		},
		InsufficientData: "ignore",
		SNS:              testVerifier(certs),
		Confirm: func(_ context.Context, u string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.confirmed = append(e.confirmed, u)
			return nil
		},
	}, e.store, nil)
	h.Now = now
	mux := http.NewServeMux()
	h.Register(mux)
	e.srv = httptest.NewServer(openapitest.Wrap(t, mux))
	t.Cleanup(e.srv.Close)
	return e
}

type request struct {
	path   string // after /v1/alerts/
	token  string // bearer token; "" sends none
	body   string
	header map[string]string
}

func (e *intakeEnv) do(t *testing.T, r request) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/"+r.path, strings.NewReader(r.body))
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	code, out, _ := send(t, req)
	return code, out
}

// snapshot is every key in Redis with its serialized value.
func snapshot(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, err := c.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// signedSNS loads an SNS testdata message, lets edit change it, signs it and
// returns the JSON body SNS would POST.
func signedSNS(t *testing.T, name string, edit func(*SNSMessage)) string {
	t.Helper()
	m := loadSNS(t, name)
	if edit != nil {
		edit(&m)
	}
	signSNS(t, &m, getPKI(t).key, "1")
	b, _ := json.Marshal(m)
	return string(b)
}

func TestBadRequestsChangeNothing(t *testing.T) {
	e := newIntakeEnv(t)
	sumo := string(readTestdata(t, "sumologic-monitor-critical"))
	// One accepted SNS delivery first, so replaying it is a bad request too.
	alarm := signedSNS(t, "sns-cloudwatch-alarm", nil)
	if code, out := e.do(t, request{path: "cloudwatch", token: cwToken, body: alarm}); code != http.StatusAccepted {
		t.Fatalf("setup delivery: %d %v", code, out)
	}
	tamperedSig := func() string {
		m := loadSNS(t, "sns-cloudwatch-alarm")
		m.MessageId = "new-1"
		signSNS(t, &m, getPKI(t).key, "1")
		m.Message = strings.Replace(m.Message, "checkout-api-5xx-high", "checkout-api-5xx-LOW", 1)
		b, _ := json.Marshal(m)
		return string(b)
	}()

	tests := []struct {
		name   string
		req    request
		status int
		says   string
	}{
		{"no token", request{path: "sumologic", body: sumo}, 401, "missing credentials: send the header Authorization: Bearer <intake.tokens.sumologic>"},
		{"wrong token", request{path: "sumologic", token: "nope-nope-nope-nope", body: sumo}, 401, "wrong credentials: the token is not intake.tokens.sumologic"},
		{"another source's token", request{path: "sumologic", token: genericToken, body: sumo}, 401, "wrong credentials: the token is not intake.tokens.sumologic"},
		{"cloudwatch wrong query token", request{path: "cloudwatch?token=wrong", body: alarm}, 401, "wrong credentials: the token is not intake.tokens.cloudwatch"},
		{"unknown source", request{path: "nagios", token: sumoToken, body: sumo}, 404, "unknown alert source \"nagios\""},
		{"oversized body", request{path: "generic", token: genericToken, body: `{"summary":"` + strings.Repeat("x", 5000) + `"}`}, 413, "larger than the limit of 4096 bytes: raise intake.max_body_bytes"},
		{"truncated JSON", request{path: "generic", token: genericToken, body: `{"service":"checkout","summary":"disk`}, 400, "not valid JSON"},
		{"empty body", request{path: "sumologic", token: sumoToken, body: ``}, 400, ""},
		{"array, not an object", request{path: "generic", token: genericToken, body: `[1,2]`}, 400, "object"},
		{"wrong type for severity", request{path: "generic", token: genericToken, body: `{"service":"checkout","summary":"x","severity":5}`}, 400, "severity"},
		{"unknown severity", request{path: "generic", token: genericToken, body: `{"service":"checkout","summary":"x","severity":"urgent"}`}, 400, "severity"},
		{"missing summary", request{path: "generic", token: genericToken, body: `{"service":"checkout"}`}, 400, "summary"},
		{"details not an object", request{path: "generic", token: genericToken, body: `{"service":"checkout","summary":"x","details":[1]}`}, 400, "details"},
		{"bad Sumo TriggerType", request{path: "sumologic", token: sumoToken, body: strings.Replace(sumo, `"Critical"`, `"Catastrophic"`, 1)}, 400, "TriggerType"},
		{"unknown service in query", request{path: "generic?service=billing", token: genericToken, body: `{"summary":"x"}`}, 422, "names service \"billing\" in ?service=, which is not in services"},
		{"unknown service in body", request{path: "generic", token: genericToken, body: `{"service":"billing","summary":"x"}`}, 422, "names service \"billing\""},
		{"no route", request{path: "sumologic", token: sumoToken, body: strings.Replace(sumo, `"Checkout API 5xx rate"`, `"Inventory sync lag"`, 1)}, 422, "alert \"Inventory sync lag\" belongs to no service"},
		{"SNS not JSON", request{path: "cloudwatch", token: cwToken, body: `Type=Notification`}, 400, ""},
		{"SNS tampered message", request{path: "cloudwatch", token: cwToken, body: tamperedSig}, 403, "signature"},
		{"SNS signed by another key", request{path: "cloudwatch", token: cwToken, body: func() string {
			m := loadSNS(t, "sns-cloudwatch-alarm")
			m.MessageId = "other-key"
			signSNS(t, &m, getPKI(t).otherKey, "2")
			b, _ := json.Marshal(m)
			return string(b)
		}()}, 403, "signature"},
		{"SNS foreign certificate host", request{path: "cloudwatch", token: cwToken, body: signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) {
			m.MessageId = "foreign"
			m.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"
		})}, 403, "SigningCertURL"},
		{"SNS certificate over http", request{path: "cloudwatch", token: cwToken, body: signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) {
			m.MessageId = "plain-http"
			m.SigningCertURL = strings.Replace(testCertURL, "https:", "http:", 1)
		})}, 403, "SigningCertURL"},
		{"SNS unknown TopicArn", request{path: "cloudwatch", token: cwToken, body: signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) {
			m.MessageId = "other-topic"
			m.TopicArn = "arn:aws:sns:us-east-1:999999999999:someone-else"
		})}, 403, "arn:aws:sns:us-east-1:999999999999:someone-else"},
		{"SNS unsupported signature version", request{path: "cloudwatch", token: cwToken, body: strings.Replace(signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) { m.MessageId = "v3" }), `"SignatureVersion":"1"`, `"SignatureVersion":"3"`, 1)}, 403, "3"},
		{"SNS replayed MessageId", request{path: "cloudwatch", token: cwToken, body: alarm}, 200, ""},
		{"alertmanager no token", request{path: "alertmanager", body: amBodyWith(amAlertJSON("a"))}, 401, "missing credentials: send the header Authorization: Bearer <intake.tokens.alertmanager>"},
		{"grafana with the alertmanager token", request{path: "grafana", token: amToken, body: amBodyWith(amAlertJSON("a"))}, 401, "wrong credentials: the token is not intake.tokens.grafana"},
		{"alertmanager oversized", request{path: "alertmanager", token: amToken, body: amBodyWith(amAlertJSON("a", `"labels":{"alertname":"DiskFull","x":"`+strings.Repeat("f", DefaultBatchBodyBytes)+`"}`))}, 413,
			"larger than the limit of 8388608 bytes for alertmanager (8 MiB, or intake.max_body_bytes when larger): raise intake.max_body_bytes"},
		{"alertmanager not JSON", request{path: "alertmanager", token: amToken, body: `{"alerts":[`}, 400, "not valid JSON"},
		{"alertmanager alerts[2] without a fingerprint", request{path: "alertmanager", token: amToken, body: amBodyWith(amAlertJSON("a"), amAlertJSON("b"), amAlertJSON(""))}, 400,
			`field "alerts[2].fingerprint": is empty`},
		{"grafana alerts[1] with a bad status", request{path: "grafana", token: grafanaToken, body: amBodyWith(amAlertJSON("a"), amAlertJSON("b", `"status":"pending"`))}, 400,
			`field "alerts[1].status": must be firing or resolved (got "pending")`},
		{"alertmanager alerts[1] routed nowhere", request{path: "alertmanager", token: amToken, body: amBodyWith(amAlertJSON("a"), amAlertJSON("b", `"labels":{"alertname":"Inventory lag"}`))}, 422,
			`alerts[1]: alert "Inventory lag" belongs to no service`},
		{"alertmanager alerts[1] names an unknown service", request{path: "alertmanager", token: amToken, body: amBodyWith(amAlertJSON("a"), amAlertJSON("b", `"labels":{"alertname":"DiskFull","service":"billing"}`))}, 422,
			`alerts[1]: alert "DiskFull" names service "billing"`},
		{"grafana unknown service in query", request{path: "grafana?service=billing", token: grafanaToken, body: amBodyWith(amAlertJSON("a"))}, 422,
			`names service "billing" in ?service=`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.rdb)
			code, out := e.do(t, tc.req)
			if code != tc.status {
				t.Fatalf("status %d, want %d; reply %v", code, tc.status, out)
			}
			if code >= 400 {
				msg, _ := out["error"].(string)
				t.Logf("%d %s", code, msg)
				if msg == "" || !strings.Contains(msg, tc.says) {
					t.Fatalf("error %q does not say %q", msg, tc.says)
				}
			} else if out["outcome"] != string(incident.OutcomeDuplicate) {
				t.Fatalf("replay answered %v, want outcome duplicate_delivery", out)
			}
			after := snapshot(t, e.rdb)
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("Redis changed: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

func TestAcceptedAlerts(t *testing.T) {
	e := newIntakeEnv(t)
	ctx := context.Background()

	// Sumo monitor: routed by rule, then its recovery resolves it.
	code, out := e.do(t, request{path: "sumologic", token: sumoToken, body: string(readTestdata(t, "sumologic-monitor-critical"))})
	if code != 202 || out["created"] != true || out["incident"] != 1.0 || out["alert_count"] != 1.0 {
		t.Fatalf("sumo critical: %d %v", code, out)
	}
	code, out = e.do(t, request{path: "sumologic", token: sumoToken, body: string(readTestdata(t, "sumologic-monitor-resolved-critical"))})
	if code != 202 || out["outcome"] != "resolved" || out["incident"] != 1.0 {
		t.Fatalf("sumo recovery: %d %v", code, out)
	}
	inc, _, _ := e.store.Get(ctx, 1)
	if inc.Status != incident.StatusResolved || inc.Service != "checkout" {
		t.Fatalf("after recovery: %+v", inc)
	}

	// ?service= wins over the rules.
	code, out = e.do(t, request{path: "sumologic?service=database", token: sumoToken, body: string(readTestdata(t, "sumologic-monitor-critical"))})
	if code != 202 || out["created"] != true {
		t.Fatalf("sumo with ?service=: %d %v", code, out)
	}
	if inc, _, _ := e.store.Get(ctx, int64(out["incident"].(float64))); inc.Service != "database" {
		t.Fatalf("?service=database routed to %q", inc.Service)
	}

	// CloudWatch: token in the query (SNS cannot set headers), ALARM opens, OK resolves.
	code, out = e.do(t, request{path: "cloudwatch?token=" + cwToken, body: signedSNS(t, "sns-cloudwatch-alarm", nil)})
	if code != 202 || out["created"] != true {
		t.Fatalf("cloudwatch alarm: %d %v", code, out)
	}
	cw := out["incident"]
	code, out = e.do(t, request{path: "cloudwatch", token: cwToken, body: signedSNS(t, "sns-cloudwatch-ok", nil)})
	if code != 202 || out["outcome"] != "resolved" || out["incident"] != cw {
		t.Fatalf("cloudwatch OK: %d %v, want INC-%v resolved", code, out, cw)
	}
	// Basic auth with the token as password works too.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/cloudwatch", strings.NewReader(signedSNS(t, "sns-cloudwatch-insufficient-data", nil)))
	req.SetBasicAuth("baton", cwToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ign map[string]any
	json.NewDecoder(resp.Body).Decode(&ign)
	resp.Body.Close()
	if resp.StatusCode != 200 || ign["outcome"] != "ignored" {
		t.Fatalf("INSUFFICIENT_DATA with insufficient_data=ignore: %d %v", resp.StatusCode, ign)
	}

	// Subscription confirmation visits SubscribeURL only after the checks pass.
	code, out = e.do(t, request{path: "cloudwatch", token: cwToken, body: signedSNS(t, "sns-subscription-confirmation", nil)})
	if code != 200 || out["outcome"] != "subscription_confirmed" || len(e.confirmed) != 1 || !strings.HasPrefix(e.confirmed[0], "https://sns.us-east-1.amazonaws.com/") {
		t.Fatalf("confirmation: %d %v, visited %v", code, out, e.confirmed)
	}
	bad := signedSNS(t, "sns-subscription-confirmation", func(m *SNSMessage) { m.TopicArn = "arn:aws:sns:us-east-1:999999999999:x" })
	if code, _ := e.do(t, request{path: "cloudwatch", token: cwToken, body: bad}); code != 403 || len(e.confirmed) != 1 {
		t.Fatalf("confirmation from an unknown topic: %d, visited %v", code, e.confirmed)
	}

	// Generic with its own service.
	code, out = e.do(t, request{path: "generic", token: genericToken, body: string(readTestdata(t, "generic-alert"))})
	if code != 202 || out["created"] != true {
		t.Fatalf("generic: %d %v", code, out)
	}
}

func TestThousandSumoAlertsOverHTTPOneIncident(t *testing.T) {
	e := newIntakeEnv(t)
	body := string(readTestdata(t, "sumologic-search-legacy"))
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/sumologic?service=database", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+sumoToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					errs <- resp.Status
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a scheduled-search repeat was refused: %s", e)
	}
	open, err := e.store.List(context.Background(), incident.FilterOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].AlertCount != 1000 {
		t.Fatalf("open = %+v, want one incident with alert_count 1000", open)
	}
}

// testClock is a handler clock a test moves: Now answers the last Set.
type testClock struct{ t atomic.Pointer[time.Time] }

func newTestClock(t time.Time) *testClock { c := &testClock{}; c.Set(t); return c }

func (c *testClock) Set(t time.Time) { c.t.Store(&t) }

func (c *testClock) Now() time.Time { return *c.t.Load() }
