package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redistest"
)

// TestRedisAuthAndTLS: baton serves on a redis-server that requires a
// password (redis.password, or in a redis:// URL) and on its TLS port
// (redis.tls with redis.tls_ca_file, or a rediss:// URL) with a certificate
// made for the test; a wrong password, plain text to the TLS port, or a
// certificate the client does not trust accept no alert (503) and /readyz
// says not ready.
func TestRedisAuthAndTLS(t *testing.T) {
	const pw = "s3cret-redis-password"
	rs := redistest.StartWith(t, redistest.Options{Password: pw, TLS: true})
	_, tlsPort, _ := strings.Cut(rs.TLSAddr, ":")
	tests := []struct {
		name string
		env  []string
		ok   bool
	}{
		{"password", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_PASSWORD=" + pw}, true},
		{"password in a redis:// URL", []string{"BATON_REDIS_ADDR=redis://:" + pw + "@" + rs.Addr + "/0"}, true},
		{"tls with a CA file", []string{"BATON_REDIS_ADDR=" + rs.TLSAddr, "BATON_REDIS_PASSWORD=" + pw,
			"BATON_REDIS_TLS=true", "BATON_REDIS_TLS_CA_FILE=" + rs.CAFile}, true},
		{"rediss:// URL", []string{"BATON_REDIS_ADDR=rediss://default:" + pw + "@127.0.0.1:" + tlsPort, "BATON_REDIS_TLS_CA_FILE=" + rs.CAFile}, true},
		{"no password", []string{"BATON_REDIS_ADDR=" + rs.Addr}, false},
		{"a wrong password", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_PASSWORD=wrong"}, false},
		{"plain text to the TLS port", []string{"BATON_REDIS_ADDR=" + rs.TLSAddr, "BATON_REDIS_PASSWORD=" + pw}, false},
		{"a certificate not trusted", []string{"BATON_REDIS_ADDR=" + rs.TLSAddr, "BATON_REDIS_PASSWORD=" + pw, "BATON_REDIS_TLS=true"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh prefix per case: each opens its own INC-1.
			prefix := fmt.Sprintf("BATON_REDIS_PREFIX=t%d:", len(tc.name))
			cfg, err := LoadConfig("config.yaml", append(tc.env, "BATON_REDIS_ALLOW_VOLATILE=true", prefix))
			if err != nil {
				t.Fatal(err)
			}
			app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			a := &testApp{url: serveApp(t, app), redis: rs}
			ready := func() bool { st, _ := a.call(t, "GET", "/readyz", "", ""); return st == 200 }
			if !tc.ok {
				// No alert is accepted, and it is not ready.
				st, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full","severity":"critical"}`)
				if st != 503 || !strings.Contains(fmt.Sprint(out["error"]), "NOT accepted") {
					t.Fatalf("alert: %d %v", st, out)
				}
				if strings.Contains(fmt.Sprint(out), pw) {
					t.Fatal("the answer shows the password")
				}
				if ready() {
					t.Fatal("ready on a Redis it cannot log in to")
				}
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for !ready() {
				if time.Now().After(deadline) {
					t.Fatal("never ready")
				}
				time.Sleep(20 * time.Millisecond) // waiting for the state asserted, with a deadline
			}
			st, out := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"disk full","severity":"critical"}`)
			if st != 202 || out["incident"] != 1.0 {
				t.Fatalf("alert: %d %v", st, out)
			}
		})
	}
	if err := rs.TLSClient().Ping(redistest.Ctx(t)).Err(); err != nil {
		t.Fatalf("the test's own TLS client: %v", err)
	}
}

// TestPrivacyThroughTheApp: the serving App redacts a webhook's alert before
// the store and seals its body with privacy.seal_keys from the environment;
// the API shows the redacted incident and, through /raw, the body.
func TestPrivacyThroughTheApp(t *testing.T) {
	rs := redistest.Start(t)
	key := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true", "BATON_PRIVACY_SEAL_KEYS=" + key})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}
	body := `{"service":"database","summary":"lookup failed for jane.roe@example-health.org dob=1980-02-03","severity":"critical","details":{"ssn":"123-45-6789","host":"db-1"}}`
	if st, out := a.call(t, "POST", "/v1/alerts/generic", genToken, body); st != 202 {
		t.Fatalf("alert: %d %v", st, out)
	}
	st, view := a.call(t, "GET", "/v1/incidents/1", apiToken, "")
	if st != 200 || view["title"] != "lookup failed for [email] dob=[dob]" || view["sealed"] != true {
		t.Fatalf("incident view: %d %v", st, view)
	}
	st, raw := a.call(t, "GET", "/v1/incidents/1/raw?by=alice", apiToken, "")
	if st != 200 || !strings.Contains(fmt.Sprint(raw), "123-45-6789") {
		t.Fatalf("raw: %d %v", st, raw)
	}
	if st, out := a.call(t, "GET", "/v1/incidents/1/raw", apiToken, ""); st != 400 {
		t.Fatalf("raw without by: %d %v", st, out)
	}
}

// TestRedisURLConfig: a redis:// or rediss:// addr fills username,
// password, db and tls; a conflict or a URL that does not parse is one
// line that does not quote the password; tls_ca_file is checked.
func TestRedisURLConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    RedisConfig // Addr, Username, Password, DB, TLS
		problem string
	}{
		{name: "host:port", env: []string{"BATON_REDIS_ADDR=10.0.0.5:6379"}, want: RedisConfig{Addr: "10.0.0.5:6379"}},
		{name: "redis URL", env: []string{"BATON_REDIS_ADDR=redis://bob:pw1@redis.internal:6380/2"},
			want: RedisConfig{Addr: "redis.internal:6380", Username: "bob", Password: "pw1", DB: 2}},
		{name: "rediss URL", env: []string{"BATON_REDIS_ADDR=rediss://:pw1@redis.internal"},
			want: RedisConfig{Addr: "redis.internal:6379", Password: "pw1", TLS: true}},
		{name: "the same password twice", env: []string{"BATON_REDIS_ADDR=redis://:pw1@h:1", "BATON_REDIS_PASSWORD=pw1"},
			want: RedisConfig{Addr: "h:1", Password: "pw1"}},
		{name: "two passwords", env: []string{"BATON_REDIS_ADDR=redis://:pw1@h:1", "BATON_REDIS_PASSWORD=pw2"},
			problem: "redis.password: is set, and redis.addr's URL gives another; keep one of them"},
		{name: "a URL that does not parse", env: []string{"BATON_REDIS_ADDR=redis://:pw1@h:1/notadb"},
			problem: "redis.addr: must be host:port or a URL"},
		{name: "a CA file without tls", env: []string{"BATON_REDIS_TLS_CA_FILE=config.yaml"},
			problem: "redis.tls_ca_file: is set but redis.tls is false"},
		{name: "a CA file that is not PEM", env: []string{"BATON_REDIS_TLS=true", "BATON_REDIS_TLS_CA_FILE=config.yaml"},
			problem: "redis.tls_ca_file: config.yaml holds no PEM certificate"},
		{name: "a CA file that is missing", env: []string{"BATON_REDIS_TLS=true", "BATON_REDIS_TLS_CA_FILE=/nonexistent/ca.pem"},
			problem: "redis.tls_ca_file: open /nonexistent/ca.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig("config.yaml", tc.env)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("problems:\n%v\nwant %q", err, tc.problem)
				}
				if strings.Contains(err.Error(), "pw1") {
					t.Fatalf("a problem quotes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Redis
			got := RedisConfig{Addr: r.Addr, Username: r.Username, Password: r.Password, DB: r.DB, TLS: r.TLS}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
