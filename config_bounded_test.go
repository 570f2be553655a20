package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// intake.max_parsing, intake.parse_wait and the audit section: their
// defaults, their BATON_ variables, and the problems a bad value reports.
func TestIntakeLimitsAndAuditConfig(t *testing.T) {
	path := writeConfig(t, "api:\n  token: 0123456789abcdef\nredis:\n  addr: 127.0.0.1:6379\n")
	cases := []struct {
		name     string
		env      []string
		want     func(t *testing.T, c *Config)
		problems map[string]string // path → a fragment of its message
	}{
		{"defaults", nil, func(t *testing.T, c *Config) {
			if c.Intake.MaxParsing != 0 || c.Intake.ParseWait != 2*time.Second || c.Audit.MaxAge != 2160*time.Hour || c.Audit.MaxEntries != 1_000_000 {
				t.Errorf("got %d, %s, %s, %d", c.Intake.MaxParsing, c.Intake.ParseWait, c.Audit.MaxAge, c.Audit.MaxEntries)
			}
			if got := c.intakeConfig(nil); got.MaxParsing != 0 || got.ParseWait != 2*time.Second {
				t.Errorf("intake.Config: %d, %s", got.MaxParsing, got.ParseWait)
			}
		}, nil},
		{"from the environment", []string{"BATON_INTAKE_MAX_PARSING=8", "BATON_INTAKE_PARSE_WAIT=0s", "BATON_AUDIT_MAX_AGE=720h", "BATON_AUDIT_MAX_ENTRIES=5000"},
			func(t *testing.T, c *Config) {
				if c.Intake.MaxParsing != 8 || c.Audit.MaxAge != 720*time.Hour || c.Audit.MaxEntries != 5000 {
					t.Errorf("got %d, %s, %d", c.Intake.MaxParsing, c.Audit.MaxAge, c.Audit.MaxEntries)
				}
				// 0s means no wait: intake's "negative".
				if got := c.intakeConfig(nil).ParseWait; got >= 0 {
					t.Errorf("parse_wait 0s became %s for intake, want negative (no wait)", got)
				}
				if r := c.auditRetention(); r.MaxAge != 720*time.Hour || r.MaxEntries != 5000 {
					t.Errorf("retention %+v", r)
				}
			}, nil},
		{"out of range", []string{"BATON_INTAKE_MAX_PARSING=-1", "BATON_INTAKE_PARSE_WAIT=2m", "BATON_AUDIT_MAX_AGE=10m", "BATON_AUDIT_MAX_ENTRIES=10"}, nil,
			map[string]string{
				"intake.max_parsing": "between 0 (2 per CPU) and 1024 (got -1)",
				"intake.parse_wait":  "between 0s and 1m (got 2m0s)",
				"audit.max_age":      "at least 1h (got 10m0s)",
				"audit.max_entries":  "at least 1000 (got 10)",
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := LoadConfig(path, c.env)
			if c.problems == nil {
				if err != nil {
					t.Fatal(err)
				}
				c.want(t, cfg)
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			got := map[string]string{}
			for _, p := range ps {
				got[p.Path] += p.Msg
			}
			for path, frag := range c.problems {
				if !strings.Contains(got[path], frag) {
					t.Errorf("%s: %q does not say %q", path, got[path], frag)
				}
			}
		})
	}
}
