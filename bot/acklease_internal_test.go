package bot

import (
	"testing"
	"time"
)

func TestMoreLabel(t *testing.T) {
	tests := []struct {
		name  string
		lease time.Duration
		want  string
	}{
		{"the issue's 30m", 30 * time.Minute, "Yes, 30 more minutes"},
		{"a minute", time.Minute, "Yes, 1 more minute"},
		{"90m", 90 * time.Minute, "Yes, 90 more minutes"},
		{"2h", 2 * time.Hour, "Yes, 2h more"},
		{"90s", 90 * time.Second, "Yes, 1m 30s more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := moreLabel(tc.lease); got != tc.want {
				t.Fatalf("moreLabel(%s) = %q, want %q", tc.lease, got, tc.want)
			}
		})
	}
}
