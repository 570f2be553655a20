package bot

import "testing"

func TestPageInKey(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		n         int64
		person    string
		ok        bool
	}{
		{"a page-in", "pagein:42:gus:3", 42, "gus", true},
		{"its fallback post", "pagein:42:gus:3/fallback", 0, "", false},
		{"a page", "page:42:1", 0, "", false},
		{"no person", "pagein:42::1", 0, "", false},
		{"no number", "pagein:x:gus:1", 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, p, ok := pageInKey(tc.key)
			if n != tc.n || p != tc.person || ok != tc.ok {
				t.Fatalf("pageInKey(%q) = %d %q %v", tc.key, n, p, ok)
			}
		})
	}
}
