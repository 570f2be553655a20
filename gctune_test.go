package main

import "testing"

func TestGCSettings(t *testing.T) {
	cases := []struct {
		name       string
		environ    []string
		set, limit bool
	}{
		{"nothing given: GOGC 400 and a limit from the cgroup", []string{"HOME=/root"}, true, true},
		{"GOGC given: left alone", []string{"GOGC=100"}, false, true},
		{"GOGC=off given: left alone", []string{"GOGC=off"}, false, true},
		{"GOMEMLIMIT given: no limit from the cgroup", []string{"GOMEMLIMIT=1GiB"}, true, false},
		{"AUTOMEMLIMIT=off: no limit from the cgroup", []string{"AUTOMEMLIMIT=off"}, true, false},
		{"a variable that only starts with GOGC is not GOGC", []string{"GOGCX=1", "GOMEMLIMITS=2"}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			percent, set, limit := gcSettings(tc.environ)
			if percent != serveGCPercent || set != tc.set || limit != tc.limit {
				t.Fatalf("gcSettings = %d, %v, %v; want %d, %v, %v", percent, set, limit, serveGCPercent, tc.set, tc.limit)
			}
		})
	}
}
