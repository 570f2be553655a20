package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// TestPrivacyConfig: the privacy section reaches the redactor and the
// sealer (config.yaml's example included), BATON_PRIVACY_SEAL_KEYS is a
// comma-separated list, and check-config refuses a bad rule or key with
// one "path: problem" line that names it.
func TestPrivacyConfig(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte("\nprivacy:\n")) || !bytes.Contains(example, []byte("\nservices:\n")) {
		t.Fatal("config.yaml changed: this test replaces what lies between privacy: and services:")
	}
	k1 := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	tests := []struct {
		name    string
		yaml    string // replaces the example's privacy section
		env     []string
		sealed  bool
		problem string
	}{
		{name: "the example: redacts, seals nothing"},
		{name: "keys from the environment", env: []string{"BATON_PRIVACY_SEAL_KEYS=" + k2 + "," + k1}, sealed: true},
		{name: "keys in the file", yaml: "  rules: [{name: member-id, pattern: \"\\\\bM[0-9]{8}\\\\b\"}]\n  keep_fields: {sumologic: [trigger_value]}\n  seal_keys: [\"" + k1 + "\"]\n", sealed: true},
		{name: "a bad regexp", yaml: "  rules: [{name: mine, pattern: \"(?<=x)y\"}]\n",
			problem: `privacy.rules[0]: rule "mine": the pattern uses (?<=…), a lookaround, which Go regular expressions (RE2) do not have`},
		{name: "a rule without a name", yaml: "  rules: [{pattern: x}]\n", problem: "privacy.rules[0]: a rule has no name"},
		{name: "a rule named twice", yaml: "  rules: [{name: a, pattern: x}, {name: a, pattern: y}]\n", problem: `privacy.rules[1].name: rule "a" is named twice`},
		{name: "a bad mrn pattern", yaml: "  mrn_pattern: \"(\"\n", problem: `privacy.mrn_pattern: rule "mrn": the pattern is not a Go regular expression`},
		{name: "keep_fields of an unknown source", yaml: "  keep_fields: {datadog: [x]}\n", problem: "privacy.keep_fields.datadog: is not a source"},
		{name: "a short key", yaml: "  seal_keys: [\"k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\"]\n",
			problem: `privacy.seal_keys[0]: (key "k1"): the secret is 16 bytes; AES-256 needs 32`},
		{name: "a key id given twice", yaml: "  seal_keys: [\"" + k1 + "\", \"" + k1 + "\"]\n", problem: `privacy.seal_keys[1]: key id "k1" is given twice`},
		{name: "an empty keep_fields key", yaml: "  keep_fields: {sumologic: [TriggerValue, \"\"]}\n", problem: "privacy.keep_fields.sumologic[1]: is empty"},
		{name: "a short ttl", yaml: "  seal_keys: [\"" + k1 + "\"]\n  seal_ttl: 5m\n", problem: "privacy.seal_ttl: must be at least 1h"},
		{name: "a misspelt key", yaml: "  seal_tll: 1h\n", problem: `privacy.seal_tll: unknown key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := string(example)
			if tc.yaml != "" {
				// The test's own privacy section replaces the example's.
				i, j := strings.Index(body, "\nprivacy:\n"), strings.Index(body, "\nservices:\n")
				body = body[:i] + "\nprivacy:\n" + tc.yaml + body[j:]
			}
			cfg, err := loadConfig("config.yaml", []byte(body), tc.env)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("problems:\n%v\nwant a line containing %q", err, tc.problem)
				}
				if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(make([]byte, 16))) {
					t.Fatal("a problem shows the secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			if (d.sealer != nil) != tc.sealed {
				t.Fatalf("sealer %v, want sealed %v", d.sealer, tc.sealed)
			}
			if cfg.Privacy.SealTTL != 720*time.Hour || !cfg.Privacy.Redact {
				t.Fatalf("defaults: %+v", cfg.Privacy)
			}
			a := d.redactor.Redact(incident.Alert{Source: "sumologic", Summary: "member M12345678 dob=1980-02-03",
				Details: map[string]any{"trigger_value": "123-45-6789", "x": "123-45-6789"}})
			if a.Summary != "member [member-id] dob=[dob]" || a.Details["trigger_value"] != "123-45-6789" || a.Details["x"] != "[ssn]" {
				t.Fatalf("the example's rules and keep_fields: %+v", a)
			}
		})
	}
}
