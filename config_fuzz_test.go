package main

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds arbitrary bytes as config.yaml through the real
// loader and validator (loadConfig, LoadConfig after reading the file: viper, the BATON_* overrides, the decode
// hooks, Validate). It never panics, and it either accepts a config that the
// wiring can translate into the packages' terms (domain) or refuses it with
// what check-config prints: a read error naming the file, or Problems, each
// one line with a key path and a message.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"config.yaml", "demo.yaml", "testdata/config/bad.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"api:\n  token: 0123456789abcdef\n",
		"api: [1, 2]\nredis: 3\n",
		"escalation_policies:\n  - name: p\n    repage_every: soon\n    levels:\n      - targets: [user:x]\n        escalate_after: -1m\n",
		"rotations:\n  - name: r\n    start: 2026-01-05\n    timezone: Mars/Olympus\n    shift: 0s\n",
		"intake:\n  routes:\n    - match: \"(\"\n      service: \"\\n\"\n",
		"people: {a: b}\nservices: [[]]\n",
		"a: &x [*x]\n",
		"http:\n  listen: \"\\x00:80\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// LoadConfig without its os.ReadFile: a temporary file per input
		// held the target to a few hundred inputs a second.
		const path = "fuzz/config.yaml"
		cfg, err := loadConfig(path, body, nil)
		if err == nil {
			if ps := cfg.Validate(); len(ps) > 0 {
				t.Fatalf("accepted, but Validate says:\n%v", ps)
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatalf("accepted, but the wiring refuses it: %v", err)
			}
			_ = cfg.intakeConfig(d.services)
			return
		}
		var ps Problems
		if !errors.As(err, &ps) {
			if !strings.HasPrefix(err.Error(), "read "+path+": ") {
				t.Fatalf("refusal %q is neither Problems nor a read error naming the file", err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("refused with no problem")
		}
		for _, p := range ps {
			if p.Path == "" || strings.TrimSpace(p.Msg) == "" {
				t.Fatalf("problem without a key path or message: %q", p.Error())
			}
			if strings.ContainsAny(p.Error(), "\n\r") {
				t.Fatalf("problem spans lines (check-config prints one per line): %q", p.Error())
			}
		}
	})
}
