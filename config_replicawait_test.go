package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// redis.wait_replicas and redis.wait_timeout: defaults, BATON_ variables,
// the problems a bad value reports, and the warning for a Sentinel group
// that does not wait for its replica.
func TestReplicaWaitConfig(t *testing.T) {
	const base = "api:\n  token: 0123456789abcdef\nredis:\n  addr: 127.0.0.1:6379\n"
	const sentinel = "api:\n  token: 0123456789abcdef\nredis:\n  addrs: [127.0.0.1:26379, 127.0.0.1:26380]\n  master_name: baton\n"
	const cluster = "api:\n  token: 0123456789abcdef\nredis:\n  addrs: [127.0.0.1:7000, 127.0.0.1:7001]\n"
	const warning = "redis.master_name is set but redis.wait_replicas is 0"
	cases := []struct {
		name     string
		file     string
		env      []string
		replicas int
		timeout  time.Duration
		warned   bool
		problems map[string]string // path → a fragment of its message
	}{
		{name: "defaults: off", file: base, timeout: 500 * time.Millisecond},
		{name: "from the environment", file: base, env: []string{"BATON_REDIS_WAIT_REPLICAS=1", "BATON_REDIS_WAIT_TIMEOUT=250ms"}, replicas: 1, timeout: 250 * time.Millisecond},
		{name: "from the file", file: base + "  wait_replicas: 2\n  wait_timeout: 1s\n", replicas: 2, timeout: time.Second},
		{name: "sentinel without a wait: warned", file: sentinel, timeout: 500 * time.Millisecond, warned: true},
		{name: "sentinel waiting for one replica: quiet", file: sentinel + "  wait_replicas: 1\n", replicas: 1, timeout: 500 * time.Millisecond},
		{name: "negative", file: base, env: []string{"BATON_REDIS_WAIT_REPLICAS=-1"},
			problems: map[string]string{"redis.wait_replicas": "0 (off) or more (got -1)"}},
		{name: "timeout at the read timeout", file: base, env: []string{"BATON_REDIS_WAIT_REPLICAS=1", "BATON_REDIS_WAIT_TIMEOUT=2s"},
			problems: map[string]string{"redis.wait_timeout": "below 2s, the Redis client's read timeout (got 2s)"}},
		{name: "zero timeout", file: base, env: []string{"BATON_REDIS_WAIT_REPLICAS=1", "BATON_REDIS_WAIT_TIMEOUT=0s"},
			problems: map[string]string{"redis.wait_timeout": "more than 0"}},
		{name: "cluster", file: cluster + "  wait_replicas: 1\n",
			problems: map[string]string{"redis.wait_replicas": "not supported on a Redis Cluster"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := LoadConfig(writeConfig(t, c.file), c.env)
			if c.problems != nil {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("got %v, want problems", err)
				}
				for path, frag := range c.problems {
					if !slices.ContainsFunc(ps, func(p Problem) bool { return p.Path == path && strings.Contains(p.Error(), frag) }) {
						t.Errorf("no problem at %s containing %q in:\n%v", path, frag, ps)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Redis.WaitReplicas != c.replicas || cfg.Redis.WaitTimeout != c.timeout {
				t.Errorf("got wait_replicas %d, wait_timeout %s; want %d, %s", cfg.Redis.WaitReplicas, cfg.Redis.WaitTimeout, c.replicas, c.timeout)
			}
			warned := slices.ContainsFunc(cfg.Warnings(), func(w string) bool { return strings.Contains(w, warning) })
			if warned != c.warned {
				t.Errorf("warned %v, want %v: %q", warned, c.warned, cfg.Warnings())
			}
		})
	}
}
