package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// exampleHeartbeats is config.yaml's heartbeats block, which these tests
// replace.
const exampleHeartbeats = `heartbeats:
  - name: nightly-backup          # [a-z0-9_-]+ (at most 64), the <name> in the URL
    service: database
    interval: 24h                 # at least 1s, with a unit
    grace: 30m                    # at least 1s: how late a beat may be
`

// withHeartbeats is config.yaml with its heartbeats block replaced by yaml.
func withHeartbeats(t *testing.T, yaml string) string {
	t.Helper()
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte(exampleHeartbeats)) {
		t.Fatal("config.yaml changed: its heartbeats block is the anchor of this test")
	}
	return strings.Replace(string(example), exampleHeartbeats, yaml, 1)
}

// TestHeartbeatsConfig: heartbeats reach the domain, and check-config
// refuses a bad one with its "path: problem" lines.
func TestHeartbeatsConfig(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     []incident.Heartbeat
		problems []string // the check-config lines expected, in order
	}{
		{name: "the example", yaml: exampleHeartbeats,
			want: []incident.Heartbeat{{Name: "nightly-backup", Service: "database", Interval: 24 * time.Hour, Grace: 30 * time.Minute}}},
		{name: "none", yaml: ""},
		{name: "two", yaml: "heartbeats:\n  - {name: a, service: database, interval: 1s, grace: 1s}\n  - {name: log_shipper-2, service: payments, interval: 5m, grace: 1m}\n",
			want: []incident.Heartbeat{{Name: "a", Service: "database", Interval: time.Second, Grace: time.Second},
				{Name: "log_shipper-2", Service: "payments", Interval: 5 * time.Minute, Grace: time.Minute}}},
		{name: "unknown service", yaml: "heartbeats:\n  - {name: a, service: web, interval: 1h, grace: 5m}\n",
			problems: []string{`heartbeats[0].service: names no service in services (got "web")`}},
		{name: "interval without a unit", yaml: "heartbeats:\n  - {name: a, service: database, interval: 300, grace: 5m}\n",
			problems: []string{"heartbeats[0].interval: must be at least 1s (got 300ns: a number without a unit is nanoseconds; write it with one, such as 5m)"}},
		{name: "interval a quoted number", yaml: "heartbeats:\n  - {name: a, service: database, interval: \"300\", grace: 5m}\n",
			problems: []string{`heartbeats[0].interval: must be a duration such as 10s or 1m30s (got "300")`}},
		{name: "grace under a second", yaml: "heartbeats:\n  - {name: a, service: database, interval: 1h, grace: 500ms}\n",
			problems: []string{"heartbeats[0].grace: must be at least 1s (got 500ms)"}},
		{name: "interval and grace missing", yaml: "heartbeats:\n  - {name: a, service: database}\n",
			problems: []string{"heartbeats[0].grace: must be set to a duration of at least 1s", "heartbeats[0].interval: must be set to a duration of at least 1s"}},
		{name: "negative interval", yaml: "heartbeats:\n  - {name: a, service: database, interval: -1h, grace: 5m}\n",
			problems: []string{"heartbeats[0].interval: must be set to a duration of at least 1s"}},
		{name: "duplicate names", yaml: "heartbeats:\n  - {name: a, service: database, interval: 1h, grace: 5m}\n  - {name: a, service: payments, interval: 1h, grace: 5m}\n",
			problems: []string{`heartbeats[1].name: "a" is defined twice`}},
		{name: "a name not usable in a URL path", yaml: "heartbeats:\n  - {name: \"nightly backup/2\", service: database, interval: 1h, grace: 5m}\n",
			problems: []string{`heartbeats[0].name: must be lowercase letters, digits, - or _ (got "nightly backup/2")`}},
		{name: "capitals", yaml: "heartbeats:\n  - {name: Nightly, service: database, interval: 1h, grace: 5m}\n",
			problems: []string{`heartbeats[0].name: must be lowercase letters`}},
		{name: "no name", yaml: "heartbeats:\n  - {service: database, interval: 1h, grace: 5m}\n",
			problems: []string{`heartbeats[0].name: must be lowercase letters, digits, - or _ (got "")`}},
		{name: "a name too long", yaml: "heartbeats:\n  - {name: " + strings.Repeat("a", 65) + ", service: database, interval: 1h, grace: 5m}\n",
			problems: []string{"heartbeats[0].name: is 65 characters; use at most 64"}},
		{name: "a misspelt key", yaml: "heartbeats:\n  - {name: a, service: database, interval: 1h, grace: 5m, intervall: 2h}\n",
			problems: []string{`heartbeats[0].intervall: unknown key (did you mean "interval"?)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, withHeartbeats(t, tc.yaml))
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"check-config", "--config", path}, &out, &errb, nil, time.Now)
			if len(tc.problems) > 0 {
				lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
				if code != 2 || len(lines) != 1+len(tc.problems) {
					t.Fatalf("exit %d, stderr:\n%s\nwant %d problem lines", code, errb.String(), len(tc.problems))
				}
				for i, p := range tc.problems {
					if !strings.HasPrefix(lines[1+i], p) {
						t.Errorf("line %d: %q, want it to start %q", 1+i, lines[1+i], p)
					}
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			cfg, err := LoadConfig(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			if len(d.heartbeats) != len(tc.want) {
				t.Fatalf("heartbeats %+v, want %+v", d.heartbeats, tc.want)
			}
			for i, w := range tc.want {
				if d.heartbeats[i] != w {
					t.Errorf("heartbeats[%d] = %+v, want %+v", i, d.heartbeats[i], w)
				}
				if h, ok := d.heartbeat(w.Name); !ok || h != w {
					t.Errorf("heartbeat(%q) = %+v %v", w.Name, h, ok)
				}
			}
		})
	}
}

// The heartbeat token is checked like the other intake tokens, and
// heartbeats without one are warned about.
func TestHeartbeatTokenConfig(t *testing.T) {
	path := writeConfig(t, withHeartbeats(t, exampleHeartbeats))
	_, err := LoadConfig(path, []string{"BATON_INTAKE_TOKENS_HEARTBEAT=short"})
	if err == nil || !strings.Contains(err.Error(), "intake.tokens.heartbeat: is 5 characters; use at least 16") {
		t.Fatalf("short token: %v", err)
	}
	cfg, err := LoadConfig(path, []string{"BATON_INTAKE_TOKENS_HEARTBEAT="})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, "intake.tokens.heartbeat is empty") {
		t.Fatalf("no warning about heartbeats without a token: %q", w)
	}
	cfg, err = LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cfg.Warnings(), "\n"); strings.Contains(w, "heartbeat") {
		t.Fatalf("a warning with the token set: %q", w)
	}
}
