package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAckLeaseConfig: a policy's ack_lease reaches the domain, and
// check-config refuses one out of bounds naming the policy.
func TestAckLeaseConfig(t *testing.T) {
	const anchor = "    ack_timeout: 4h               # acknowledged but unresolved this long -> triggered again (0 = off)\n"
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte(anchor)) {
		t.Fatal("config.yaml changed: db-policy's ack_timeout line is the anchor of this test")
	}
	tests := []struct {
		name    string
		lease   string // the ack_lease line's value; "" for none
		want    time.Duration
		problem string // the check-config line expected, "" for none
	}{
		{name: "none", want: 0},
		{name: "30m", lease: "30m", want: 30 * time.Minute},
		{name: "off", lease: "0s", want: 0},
		{name: "the least", lease: "1m", want: time.Minute},
		{name: "the most", lease: "24h", want: 24 * time.Hour},
		{name: "too short", lease: "30s", problem: `escalation_policies[0].ack_lease: policy "db-policy": must be 0 (off) or between 1m0s and 24h0m0s (got 30s)`},
		{name: "too long", lease: "25h", problem: `escalation_policies[0].ack_lease: policy "db-policy": must be 0 (off) or between 1m0s and 24h0m0s (got 25h0m0s)`},
		{name: "negative", lease: "-5m", problem: `escalation_policies[0].ack_lease: policy "db-policy": must be 0 (off) or between`},
		{name: "a number without a unit", lease: "1800", problem: `escalation_policies[0].ack_lease: policy "db-policy": must be 0 (off) or between 1m0s and 24h0m0s (got 1.8µs)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := string(example)
			if tc.lease != "" {
				yaml = strings.Replace(yaml, anchor, anchor+"    ack_lease: "+tc.lease+"\n", 1)
			}
			cfg := checkConfigOne(t, yaml, tc.problem)
			if cfg == nil {
				return
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			pol, _, ok := d.policies("database")
			if !ok || pol.Name != "db-policy" || pol.AckLease != tc.want {
				t.Fatalf("database's policy: %+v %v, want ack_lease %s", pol, ok, tc.want)
			}
		})
	}
}
