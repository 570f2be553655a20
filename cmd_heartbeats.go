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
	"github.com/batonhq/baton/internal/text"
)

// cmdHeartbeats lists the heartbeat monitors of the config with their state
// read from Redis: waiting (never beat), up, or missed; the last beat and
// when the next is due. --json prints what GET /v1/heartbeats answers.
func cmdHeartbeats(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	fs := flag.NewFlagSet("heartbeats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	asJSON := fs.Bool("json", false, `print [{"name","service","state","last_beat","due"}]`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton heartbeats: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	list, _ := cfg.heartbeats()
	rdb := newRedis(cfg.Redis)
	defer rdb.Close()
	store := incident.NewStore(rdb, cfg.Redis.Prefix)
	defer store.Close()
	at := now()
	sts, err := store.Heartbeats(ctx, list, at)
	if err != nil {
		fmt.Fprintf(stderr, "baton heartbeats: cannot read the heartbeats from Redis at %s: %v\n", redisName(cfg.Redis), err)
		return 1
	}
	if *asJSON {
		if sts == nil {
			sts = []incident.HeartbeatStatus{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sts)
		return 0
	}
	if len(sts) == 0 {
		fmt.Fprintln(stdout, "no heartbeats are configured (heartbeats in the config)")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tservice\tstate\tlast beat\tdue")
	for _, s := range sts {
		last, due := "never", "-"
		if s.LastBeat != nil {
			last = fmt.Sprintf("%s (%s ago)", s.LastBeat.Local().Format(time.DateTime), text.Duration(at.Sub(*s.LastBeat)))
		}
		if s.Due != nil {
			due = s.Due.Local().Format(time.DateTime)
			if s.State == incident.HeartbeatMissed {
				due += " (passed)"
			}
		}
		state := string(s.State)
		if s.Incident > 0 && s.State == incident.HeartbeatMissed {
			state += fmt.Sprintf(" (INC-%d)", s.Incident)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Service, state, last, due)
	}
	tw.Flush()
	return 0
}
