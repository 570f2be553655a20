package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeFileKeepsRedisDurable parses docker-compose.yml (Docker is not
// needed to read it) and checks what the 202 promise depends on: Redis with
// its append-only file flushed every second, in a named volume that outlives
// the container, healthy before baton starts, and baton pointed at it.
func TestComposeFileKeepsRedisDurable(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     []string          `yaml:"command"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("docker-compose.yml is not valid YAML: %v", err)
	}
	redis, baton := f.Services["redis"], f.Services["baton"]
	cmd := strings.Join(redis.Command, " ")
	cases := []struct {
		name string
		ok   bool
	}{
		{"redis runs redis-server", len(redis.Command) > 0 && redis.Command[0] == "redis-server"},
		{"redis has appendonly yes", strings.Contains(cmd, "--appendonly yes")},
		{"redis has appendfsync everysec", strings.Contains(cmd, "--appendfsync everysec")},
		{"redis keeps /data in a named volume", slices.ContainsFunc(redis.Volumes, func(v string) bool {
			name, path, _ := strings.Cut(v, ":")
			_, declared := f.Volumes[name]
			return declared && strings.HasPrefix(path, "/data") && strings.Contains(cmd, "--dir /data")
		})},
		{"redis has a healthcheck", slices.Contains(redis.Healthcheck.Test, "ping")},
		{"baton waits for a healthy redis", baton.DependsOn["redis"].Condition == "service_healthy"},
		{"baton talks to that redis", baton.Environment["BATON_REDIS_ADDR"] == "redis:6379"},
		{"baton does not allow a volatile redis", baton.Environment["BATON_REDIS_ALLOW_VOLATILE"] == ""},
		{"baton is built from this repository", baton.Build != nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("docker-compose.yml: not true that %s", tc.name)
			}
		})
	}
}
