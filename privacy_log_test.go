package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogPrivacy: serve says at start whether redaction and sealing are
// on, in one info line without a key, and warns when redaction is off.
func TestLogPrivacy(t *testing.T) {
	key := "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	tests := []struct {
		name  string
		p     PrivacyConfig
		want  []string
		warns bool
	}{
		{"redacting, sealing", PrivacyConfig{Redact: true, SealKeys: []string{key}, SealTTL: 720 * time.Hour},
			[]string{"level=INFO msg=privacy redact=true", "sealing=true seal_ttl=720h0m0s"}, false},
		{"redacting, not sealing", PrivacyConfig{Redact: true, SealTTL: 720 * time.Hour},
			[]string{"redact=true", "sealing=false seal_ttl=off"}, false},
		{"redaction off", PrivacyConfig{Redact: false},
			[]string{"redact=false", "level=WARN msg=\"privacy.redact is false"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			logPrivacy(slog.New(slog.NewTextHandler(&b, nil)), tt.p)
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			if got := strings.Contains(out, "level=WARN"); got != tt.warns {
				t.Errorf("warns %v, want %v:\n%s", got, tt.warns, out)
			}
			if strings.Contains(out, "AQEB") {
				t.Errorf("the log shows a key:\n%s", out)
			}
			if n := strings.Count(out, "level=INFO"); n != 1 {
				t.Errorf("%d info lines, want 1:\n%s", n, out)
			}
		})
	}
}
