package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// configFlag adds --config to fs, defaulting to $BATON_CONFIG or config.yaml.
func configFlag(fs *flag.FlagSet, environ []string) *string {
	def := "config.yaml"
	for _, kv := range environ {
		if v, ok := cutPrefix(kv, "BATON_CONFIG="); ok {
			def = v
		}
	}
	return fs.String("config", def, "path to the config file (env BATON_CONFIG)")
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// loadOrReport loads the config and prints every problem, one per line.
func loadOrReport(path string, environ []string, stderr io.Writer) (*Config, bool) {
	cfg, err := LoadConfig(path, environ)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "%s: %d problem(s):\n", path, len(ps))
			for _, p := range ps {
				fmt.Fprintln(stderr, p.Error())
			}
		} else {
			fmt.Fprintf(stderr, "baton: %v\n", err)
		}
		return nil, false
	}
	return cfg, true
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	fmt.Fprintf(stdout, "%s is valid: %d services, %d people, %d rotations, %d escalation policies\n",
		*path, len(cfg.Services), len(cfg.People), len(cfg.Rotations), len(cfg.EscalationPolicies))
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	return 0
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	listen := fs.String("listen", "", "override http.listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	log := newLogger(stderr, cfg.Log.Level)
	app, err := NewAppWith(cfg, log, AppOptions{Now: now})
	if err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return 1
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "baton: cannot listen on %s (http.listen): %v; choose another with --listen or BATON_HTTP_LISTEN\n", cfg.HTTP.Listen, err)
		return 1
	}
	fmt.Fprintf(stdout, "baton listening on http://%s\n", ln.Addr())
	if err := app.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return 1
	}
	return 0
}
