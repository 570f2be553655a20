package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := LoadConfig("config.yaml", nil)
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Redis.Prefix != "baton:" || cfg.Intake.MaxBodyBytes != 1<<20 {
		t.Fatalf("example config decoded to %+v", cfg)
	}
	if got := cfg.EscalationPolicies[0].Levels[0].EscalateAfter; got != 15*time.Minute {
		t.Fatalf("escalate_after = %v, want 15m", got)
	}
	if cfg.Rotations[0].Start != "2026-01-05" {
		t.Fatalf("rotation start = %q, want the YAML date as 2026-01-05", cfg.Rotations[0].Start)
	}
}

func TestDefaultsApplyWithoutKeys(t *testing.T) {
	path := writeConfig(t, "api:\n  token: 0123456789abcdef\n")
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Redis.Addr != "127.0.0.1:6379" ||
		cfg.Slack.APIURL != "https://slack.com/api/" || len(cfg.Slack.AckReactions) != 2 ||
		cfg.Slack.ArchiveAfter != 24*time.Hour || cfg.Intake.CloudWatch.InsufficientData != "ignore" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

// Keys that appear only in the environment must still apply (viper's
// Unmarshal alone would ignore them).
func TestEnvironmentOverrides(t *testing.T) {
	path := writeConfig(t, "api:\n  token: 0123456789abcdef\nredis:\n  addr: 127.0.0.1:6379\n")
	env := []string{
		"BATON_REDIS_ADDR=10.1.2.3:6380",
		"BATON_API_TOKEN=from-the-environment-123",
		"BATON_SLACK_BOT_TOKEN=xoxb-1",
		"BATON_SLACK_APP_TOKEN=xapp-1",
		"BATON_INTAKE_TOKENS_SUMOLOGIC=sumo-from-env-0123456",
		"BATON_INTAKE_MAX_BODY_BYTES=2048",
		"BATON_REDIS_ADDRS=10.0.0.1:6379,10.0.0.2:6379",
		"BATON_SLACK_ARCHIVE_AFTER=90s",
		"BATON_SLACK_SHARED_BUDGET=true",
		"OTHER_VAR=ignored",
	}
	cfg, err := LoadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"redis.addr (in file and env)", cfg.Redis.Addr, "10.1.2.3:6380"},
		{"api.token", cfg.API.Token, "from-the-environment-123"},
		{"slack.bot_token (env only)", cfg.Slack.BotToken, "xoxb-1"},
		{"intake.tokens.sumologic (env only)", cfg.Intake.Tokens.SumoLogic, "sumo-from-env-0123456"},
		{"intake.max_body_bytes", cfg.Intake.MaxBodyBytes, int64(2048)},
		{"redis.addrs", strings.Join(cfg.Redis.Addrs, " "), "10.0.0.1:6379 10.0.0.2:6379"},
		{"slack.archive_after", cfg.Slack.ArchiveAfter, 90 * time.Second},
		{"slack.shared_budget (env only)", cfg.Slack.SharedBudget, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBadConfigReportsEveryProblem(t *testing.T) {
	_, err := LoadConfig("testdata/config/bad.yaml", nil)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] += p.Msg + " | "
	}
	want := map[string]string{
		"htpp":                                            "unknown key (did you mean \"http\"?)",
		"services[0].alerts_chanel":                       "unknown key (did you mean \"alerts_channel\"?)",
		"http.listen":                                     "host:port",
		"api.token":                                       "at least 16",
		"redis.addr":                                      "host:port",
		"redis.prefix":                                    "must not contain { or }",
		"redis.db":                                        "between 0 and 15",
		"intake.tokens.sumologic":                         "at least 16",
		"intake.tokens.grafana":                           "at least 16",
		"intake.severity_labels.sev2":                     `must be critical, warning or info (got "urgent")`,
		"intake.severity_default":                         `must be critical, warning or info (got "loud")`,
		"intake.routes[1].source":                         "alertmanager, grafana or empty",
		"intake.routes[1].service":                        "names no service",
		"intake.max_body_bytes":                           "between 1024",
		"intake.routes[0].match":                          "not a valid regular expression",
		"intake.routes[0].service":                        "names no service",
		"intake.cloudwatch.insufficient_data":             "ignore or open",
		"intake.cloudwatch.topic_arns[0]":                 "not an SNS topic ARN",
		"services[0].name":                                "lowercase",
		"services[0].escalation_policy":                   "names no policy",
		"people[0].email":                                 "not an email",
		"people[0].slack":                                 "Slack user id",
		"people[1].id":                                    "defined twice",
		"rotations[0].timezone":                           "",
		"rotations[0].shift":                              "",
		"rotations[1].handoff":                            "",
		"rotations[1].participants":                       "at least one",
		"rotations[2].name":                               "defined twice",
		"rotations[0].start":                              "",
		"rotations[0].participants[1]":                    "names no one in people",
		"escalation_policies[0].repage_every":             "at least 1s",
		"escalation_policies[0].repeat":                   "between 0 and 20",
		"escalation_policies[0].levels[0].targets[0]":     "names no one in people",
		"escalation_policies[0].levels[0].targets[1]":     "names no rotation",
		"escalation_policies[0].levels[0].targets[2]":     "",
		"escalation_policies[0].levels[1].targets":        "at least one target",
		"escalation_policies[0].levels[1].escalate_after": "at least 1s",
	}
	for path, frag := range want {
		msg, ok := got[path]
		if !ok {
			t.Errorf("no problem reported at %s", path)
			continue
		}
		if !strings.Contains(msg, frag) {
			t.Errorf("%s: %q does not say %q", path, msg, frag)
		}
	}
	for path, msg := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected problem %s: %s", path, msg)
		}
	}
}

func TestConfigTypeErrorsNamePath(t *testing.T) {
	path := writeConfig(t, "api:\n  token: 0123456789abcdef\nredis:\n  db: lots\nescalation_policies:\n  - name: p\n    repage_every: soon\n    levels:\n      - targets: [user:x]\n        escalate_after: 1m\n")
	_, err := LoadConfig(path, nil)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	text := ps.Error()
	for _, frag := range []string{"redis.db: ", "escalation_policies[0].repage_every: "} {
		if !strings.Contains(text, frag) {
			t.Errorf("problems do not name %q:\n%s", frag, text)
		}
	}
}

func TestCheckConfigCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"valid example", []string{"check-config", "--config", "config.yaml"}, 0, "config.yaml is valid: 2 services, 3 people, 2 rotations, 2 escalation policies", ""},
		{"bad config", []string{"check-config", "--config", "testdata/config/bad.yaml"}, 2, "", "htpp: unknown key"},
		{"missing file", []string{"check-config", "--config", "testdata/config/nope.yaml"}, 2, "", "nope.yaml"},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command \"frobnicate\""},
		{"bad flag", []string{"check-config", "--colour"}, 2, "", "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb, nil, time.Now)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errb.String(), tc.wantErr) {
				t.Fatalf("stdout %q / stderr %q, want %q / %q", out.String(), errb.String(), tc.wantOut, tc.wantErr)
			}
		})
	}
	// One line per problem, each "path: what is wrong".
	var out, errb bytes.Buffer
	run(context.Background(), []string{"check-config", "--config", "testdata/config/bad.yaml"}, &out, &errb, nil, time.Now)
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")[1:]
	if len(lines) < 25 {
		t.Fatalf("only %d problem lines:\n%s", len(lines), errb.String())
	}
	for _, l := range lines {
		if path, msg, ok := strings.Cut(l, ": "); !ok || path == "" || msg == "" {
			t.Errorf("line %q is not 'path: problem'", l)
		}
	}
}

func TestWarningsNameUnreachablePeople(t *testing.T) {
	cfg, err := LoadConfig("config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Fatalf("example config warns: %v", w)
	}
	cfg.People = append(cfg.People, PersonConfig{ID: "dave"})
	cfg.Rotations[0].Participants = append(cfg.Rotations[0].Participants, "dave")
	w := cfg.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "dave is on rotation db-primary") {
		t.Fatalf("warnings = %v, want one about dave", w)
	}
	cfg.Analytics.DigestChannel = "#incidents"
	if w := cfg.Warnings(); len(w) != 2 || !strings.Contains(w[1], `analytics.digest_channel is "#incidents" but no chat is configured`) {
		t.Fatalf("warnings = %v, want a second about the digest", w)
	}
	cfg.Slack.BotToken = "xoxb-1"
	if w := cfg.Warnings(); len(w) != 1 {
		t.Fatalf("with Slack configured, warnings = %v, want only dave's", w)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEscalationSection: escalation.lease and escalation.workers, from the
// file or the environment, reach the runner's settings or are refused with a
// sentence at their key path.
func TestEscalationSection(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		lease       time.Duration
		workers     int
		problemPath string
		problem     string
		replicaID   string
	}{
		{name: "the example's values", lease: 8 * time.Second, workers: 32},
		{name: "a replica id from the environment", env: []string{"BATON_ESCALATION_REPLICA_ID=baton-0"},
			lease: 8 * time.Second, workers: 32, replicaID: "baton-0"},
		{name: "a replica id with a colon", env: []string{"BATON_ESCALATION_REPLICA_ID=pod:1"},
			problemPath: "escalation.replica_id", problem: `must be 1 to 64 letters, digits, '.', '_' or '-' (got "pod:1")`},
		{name: "from the environment", env: []string{"BATON_ESCALATION_LEASE=15s", "BATON_ESCALATION_WORKERS=32"},
			lease: 15 * time.Second, workers: 32},
		{name: "no workers", env: []string{"BATON_ESCALATION_WORKERS=0"},
			problemPath: "escalation.workers", problem: "must be between 1 and 256 page jobs at once per replica (got 0)"},
		{name: "too many workers", env: []string{"BATON_ESCALATION_WORKERS=257"},
			problemPath: "escalation.workers", problem: "must be between 1 and 256"},
		{name: "a lease too short to renew", env: []string{"BATON_ESCALATION_LEASE=500ms"},
			problemPath: "escalation.lease", problem: "must be between 1s and 5m0s: it is how long a dead replica's pages wait (got 500ms)"},
		{name: "a lease that leaves a dead replica's pages silent too long", env: []string{"BATON_ESCALATION_LEASE=10m"},
			problemPath: "escalation.lease", problem: "must be between 1s and 5m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig("config.yaml", tc.env)
			if tc.problemPath == "" {
				if err != nil {
					t.Fatal(err)
				}
				d, err := cfg.domain()
				if err != nil {
					t.Fatal(err)
				}
				if d.runner.lease != tc.lease || d.runner.workers != tc.workers || d.runner.replicaID != tc.replicaID {
					t.Fatalf("runner settings = %+v, want lease %v, workers %d", d.runner, tc.lease, tc.workers)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != tc.problemPath || !strings.Contains(ps[0].Msg, tc.problem) {
				t.Fatalf("err = %v; want one problem at %s saying %q", err, tc.problemPath, tc.problem)
			}
		})
	}
}

// A config without an escalation section gets the defaults.
func TestEscalationDefaults(t *testing.T) {
	cfg, err := LoadConfig("", []string{"BATON_API_TOKEN=0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Escalation.Lease != 8*time.Second || cfg.Escalation.Workers != 32 {
		t.Fatalf("defaults = %+v", cfg.Escalation)
	}
}

// A value of the wrong type is one plain problem: a bool key says it must
// be true or false with the value given, a duration that does not parse
// is reported once (not again by the range check as "got 0s").
func TestConfigValueProblemsArePlain(t *testing.T) {
	tests := []struct {
		name string
		yaml string   // appended to config.yaml's keys, or "" for config.yaml alone
		env  []string // BATON_* overrides
		path string
		want string // the one problem's message
	}{
		{"a bool key from the environment", "", []string{"BATON_REDIS_ALLOW_VOLATILE=yes"},
			"redis.allow_volatile", `must be true or false (got "yes")`},
		{"a bool key from YAML: yes", "redis:\n  allow_volatile: yes\n", nil,
			"redis.allow_volatile", `must be true or false (got "yes")`},
		{"a bool key from YAML: on", "redis:\n  allow_volatile: on\n", nil,
			"redis.allow_volatile", `must be true or false (got "on")`},
		{"a duration that does not parse", "", []string{"BATON_ESCALATION_LEASE=abc"},
			"escalation.lease", `must be a duration such as 10s or 1m30s (got "abc")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "config.yaml"
			if tc.yaml != "" {
				path = writeConfig(t, tc.yaml)
			}
			_, err := LoadConfig(path, tc.env)
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("LoadConfig = %v, want Problems", err)
			}
			var mine []Problem
			for _, p := range probs {
				if p.Path == tc.path {
					mine = append(mine, p)
				}
			}
			if len(mine) != 1 || mine[0].Msg != tc.want {
				t.Fatalf("problems at %s = %q, want one: %q\nall: %v", tc.path, mine, tc.want, probs)
			}
		})
	}
}

// checkConfigOne runs `baton check-config` on yaml. With a problem, it
// wants exit 2 and exactly one problem line starting with it, and returns
// nil; without, it wants exit 0 and returns the loaded config.
func checkConfigOne(t *testing.T, yaml, problem string) *Config {
	t.Helper()
	path := writeConfig(t, yaml)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"check-config", "--config", path}, &out, &errb, nil, time.Now)
	if problem != "" {
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[1], problem) {
			t.Fatalf("exit %d, stderr:\n%s\nwant one line starting %q", code, errb.String(), problem)
		}
		return nil
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
