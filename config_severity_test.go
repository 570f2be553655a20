package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
)

// TestSeverityLabels: intake.severity_labels and intake.severity_default
// reach the Alertmanager and Grafana parsers; with neither set, the
// defaults (critical, page → critical; warning; info; anything else
// critical) apply.
func TestSeverityLabels(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want intake.Severities
	}{
		{"defaults", "", nil, intake.DefaultSeverities},
		{"configured, keys in any case", "intake:\n  severity_labels:\n    P1: critical\n    sev3: info\n  severity_default: warning\n", nil,
			intake.Severities{Labels: map[string]incident.Severity{"p1": incident.SevCritical, "sev3": incident.SevInfo}, Default: incident.SevWarning}},
		{"default from the environment", "", []string{"BATON_INTAKE_SEVERITY_DEFAULT=info"},
			intake.Severities{Labels: intake.DefaultSeverities.Labels, Default: incident.SevInfo}},
		{"labels from the environment, a JSON object", "", []string{`BATON_INTAKE_SEVERITY_LABELS={"sev1":"critical","Sev2":"warning"}`},
			intake.Severities{Labels: map[string]incident.Severity{"sev1": incident.SevCritical, "sev2": incident.SevWarning}, Default: incident.SevCritical}},
		{"the environment wins over the file", "intake:\n  severity_labels:\n    P1: critical\n", []string{`BATON_INTAKE_SEVERITY_LABELS={"sev1":"info"}`},
			intake.Severities{Labels: map[string]incident.Severity{"sev1": incident.SevInfo}, Default: incident.SevCritical}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(writeConfig(t, "api:\n  token: 0123456789abcdef\n"+tc.yaml), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.severities(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("severities %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSeverityLabelsProblems: severity_labels keys that differ only in
// case (label values match in any case, so one would silently win), and
// a BATON_INTAKE_SEVERITY_LABELS that is not a JSON object of severities,
// are check-config problems naming the key and what to do.
func TestSeverityLabelsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		path string
		says []string
	}{
		{"keys differing in case in the file", "intake:\n  severity_labels:\n    critical: critical\n    Critical: warning\n", nil,
			"intake.severity_labels.critical", []string{`"Critical" and "critical"`, "differ only in case"}},
		{"three spellings in the file", "intake:\n  severity_labels:\n    PAGE: critical\n    Page: critical\n    page: info\n", nil,
			"intake.severity_labels.page", []string{`"PAGE" and "Page" and "page"`}},
		{"keys differing in case in the environment", "", []string{`BATON_INTAKE_SEVERITY_LABELS={"p1":"critical","P1":"info"}`},
			"intake.severity_labels.p1", []string{`"P1" and "p1" in BATON_INTAKE_SEVERITY_LABELS`}},
		{"environment not JSON", "", []string{`BATON_INTAKE_SEVERITY_LABELS=sev1=critical`},
			"intake.severity_labels", []string{"BATON_INTAKE_SEVERITY_LABELS must be a JSON object", `"sev1=critical"`}},
		{"environment with a bad severity", "", []string{`BATON_INTAKE_SEVERITY_LABELS={"sev1":"urgent"}`},
			"intake.severity_labels.sev1", []string{`must be critical, warning or info (got "urgent")`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, "api:\n  token: 0123456789abcdef\n"+tc.yaml), tc.env)
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("err = %v, want Problems", err)
			}
			for _, p := range probs {
				if p.Path != tc.path {
					continue
				}
				for _, s := range tc.says {
					if !strings.Contains(p.Msg, s) {
						t.Errorf("%s: %q does not say %q", p.Path, p.Msg, s)
					}
				}
				return
			}
			t.Fatalf("no problem at %s: %v", tc.path, err)
		})
	}
}
