package main

import (
	"reflect"
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
