package main

import (
	"strings"
	"testing"
)

// TestBreakAMSeverityLabelsCaseCollision: label values are read in any
// case, so severity_labels keys that differ only in case ("critical" and
// "Critical") are two values for one label value. check-config says the file
// is valid and one of them silently wins: here a severity=critical alert
// becomes a warning. It should be a problem naming both keys.
func TestBreakAMSeverityLabelsCaseCollision(t *testing.T) {
	yaml := "api:\n  token: 0123456789abcdef\nintake:\n  severity_labels:\n    critical: critical\n    Critical: warning\n"
	cfg, err := LoadConfig(writeConfig(t, yaml), nil)
	if err == nil {
		t.Fatalf("config with severity_labels critical: critical and Critical: warning is valid; severity=critical maps to %q",
			cfg.severities().Labels["critical"])
	}
	if !strings.Contains(err.Error(), "severity_labels") {
		t.Fatalf("error does not name intake.severity_labels: %v", err)
	}
}

// TestBreakAMSeverityLabelsFromEnvironment: README says every config key can
// come from the environment; BATON_INTAKE_SEVERITY_LABELS is silently
// ignored (the file's or the default map stays). Either read it or say so.
func TestBreakAMSeverityLabelsFromEnvironment(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "api:\n  token: 0123456789abcdef\n"), []string{`BATON_INTAKE_SEVERITY_LABELS={"sev1":"critical"}`})
	if err != nil {
		return // refused with a problem: fine
	}
	if _, ok := cfg.severities().Labels["sev1"]; !ok {
		t.Fatalf("BATON_INTAKE_SEVERITY_LABELS was ignored without a word; labels %v", cfg.severities().Labels)
	}
}
