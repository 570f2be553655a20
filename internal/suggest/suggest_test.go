package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"same", "http", "http", 0},
		{"one missing", "htp", "http", 1},
		{"one extra", "httpp", "http", 1},
		{"one wrong", "htsp", "http", 1},
		{"swapped neighbours", "akc", "ack", 1},
		{"swapped in a key", "htpt", "http", 1},
		{"unrelated", "redis", "slack", 5},
		{"empty", "", "ack", 3},
		{"too long to be close", string(make([]byte, 41)), "ack", 99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); got != tc.want {
				t.Fatalf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
