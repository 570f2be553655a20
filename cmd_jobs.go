package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/incident"
)

// cmdJobs shows the escalation engine's queue: how many jobs are pending and
// in flight, and the dead letters — pages that failed every retry, after
// which the service's alerts channel was paged instead.
func cmdJobs(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	asJSON := fs.Bool("json", false, `print {"due","in_flight","dead":[…]}`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	rdb := newRedis(cfg.Redis)
	defer rdb.Close()
	store := incident.NewStore(rdb, cfg.Redis.Prefix)
	defer store.Close()
	due, inFlight, err := store.JobCounts(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "baton jobs: cannot read the queue from Redis at %s: %v\n", cfg.Redis.Addr, err)
		return 1
	}
	dead, err := store.ListDead(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "baton jobs: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"due": due, "in_flight": inFlight, "dead": dead})
		return 0
	}
	fmt.Fprintf(stdout, "%d jobs pending, %d in flight, %d dead letters\n", due, inFlight, len(dead))
	if len(dead) == 0 {
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nwhen\tincident\tjob\tto\tattempts\terror")
	for _, d := range dead {
		to := d.Person
		if to == "" {
			to = d.Channel
		}
		fmt.Fprintf(tw, "%s\tINC-%d\t%s\t%s\t%d\t%s\n", d.At.Local().Format(time.DateTime), d.Incident, d.Job, to, d.Attempts, d.Error)
	}
	tw.Flush()
	return 0
}
