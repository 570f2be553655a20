package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// cmdOncall prints who is on call now (or --at) and the next 14 days of shifts:
// from the config and the overrides in Redis, or, with --url (or
// BATON_URL), from a running baton's API (GET /v1/oncall).
func cmdOncall(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	service := fs.String("service", "", "the service whose first escalation level's rotation to show")
	rotation := fs.String("rotation", "", "the rotation to show")
	atFlag := fs.String("at", "", "the instant to ask about, RFC 3339 (default now)")
	asJSON := fs.Bool("json", false, `print {"rotation","person","from","until","next":[…]}`)
	noOverrides := fs.Bool("no-overrides", false, "answer from the schedule alone, without reading overrides from Redis")
	apiURL := fs.String("url", envValue(environ, "BATON_URL"), "ask the running baton at this URL over its API (env BATON_URL; token from BATON_API_TOKEN) instead of reading the config and Redis")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *apiURL != "" {
		return oncallOverAPI(ctx, *apiURL, *service, *rotation, *atFlag, *asJSON, stdout, stderr, environ)
	}
	at := now()
	if *atFlag != "" {
		t, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			fmt.Fprintf(stderr, "baton oncall: --at must be an RFC 3339 time such as 2026-11-24T09:00:00Z (got %q)\n", *atFlag)
			return 2
		}
		at = t
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	rots, err := cfg.compileRotations()
	if err != nil {
		fmt.Fprintf(stderr, "baton oncall: %v\n", err)
		return 1
	}
	var source oncall.OverrideSource
	if !*noOverrides {
		rdb := newRedis(cfg.Redis)
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			fmt.Fprintf(stderr, "baton oncall: cannot read overrides from Redis at %s: %v\n(use --no-overrides to answer from the schedule alone)\n", cfg.Redis.Addr, err)
			return 1
		}
		source = overrides.New(rdb, cfg.Redis.Prefix).Set
	}
	board := cfg.board(rots, source)

	var views []rotations.OnCallView
	if *service == "" && *rotation == "" {
		views, err = board.All(ctx, at)
	} else {
		var r *rotations.Rotation
		if r, err = board.RotationFor(*service, *rotation); err == nil {
			var v rotations.OnCallView
			v, err = board.View(ctx, r, at)
			views = []rotations.OnCallView{v}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "baton oncall: %v\n", err)
		if errors.Is(err, oncall.ErrUnknownRotation) || errors.Is(err, oncall.ErrUnknownService) {
			return 2
		}
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(views) == 1 && (*service != "" || *rotation != "") {
			_ = enc.Encode(views[0])
		} else {
			_ = enc.Encode(views)
		}
		return 0
	}
	names := map[string]string{}
	for _, p := range cfg.People {
		names[p.ID] = p.Name
	}
	printOnCall(stdout, views, names, func(rotation string) *time.Location { return rots[rotation].Location() })
	return 0
}

// printOnCall writes each rotation's view: who is on call until when, and
// the next shifts, in the rotation's zone (loc).
func printOnCall(stdout io.Writer, views []rotations.OnCallView, names map[string]string, loc func(rotation string) *time.Location) {
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		loc := loc(v.Rotation)
		in := func(t time.Time) time.Time {
			if loc == nil {
				return t // as the API gave it: the rotation's offset
			}
			return t.In(loc)
		}
		fmt.Fprintf(stdout, "%s: %s is on call until %s%s\n", v.Rotation, display(names, v.Person), in(v.Until).Format("Mon 2 Jan 15:04 MST"),
			overrideSuffix(names, v.Override))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  from\tuntil\twho")
		for _, s := range v.Next {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", in(s.From).Format("Mon 2 Jan 15:04 MST"), in(s.Until).Format("Mon 2 Jan 15:04 MST"), display(names, s.Person)+overrideSuffix(names, s.Override))
		}
		tw.Flush()
	}
	if len(views) == 0 {
		fmt.Fprintln(stdout, "no rotation has started yet")
	}
}

// oncallOverAPI is `baton oncall --url`: the same answer from a running
// baton's GET /v1/oncall. People are shown by id (the API does not give
// names) and times in the offset the API gives them, the rotation's.
// Exit status as baton incidents: 3 for an unknown service or rotation.
func oncallOverAPI(ctx context.Context, base, service, rotation, at string, asJSON bool, stdout, stderr io.Writer, environ []string) int {
	c, err := newAPIClient(base, environ)
	if err != nil {
		fmt.Fprintf(stderr, "baton oncall: %v\n", err)
		return exitUsage
	}
	q := url.Values{}
	for k, v := range map[string]string{"service": service, "rotation": rotation, "at": at} {
		if v != "" {
			q.Set(k, v)
		}
	}
	raw, err := c.do(ctx, "GET", "/v1/oncall?"+q.Encode(), nil, nil)
	if err != nil {
		fmt.Fprintf(stderr, "baton oncall: %v\n", err)
		return exitCode(err, isNoSuchOnCall)
	}
	if asJSON {
		return printJSON(stdout, json.RawMessage(raw))
	}
	var views []rotations.OnCallView
	var windows struct {
		Maintenance []incident.Maintenance `json:"maintenance"`
	}
	if service == "" && rotation == "" {
		var all struct {
			OnCall []rotations.OnCallView `json:"oncall"`
		}
		err = json.Unmarshal(raw, &all)
		views = all.OnCall
	} else {
		var v rotations.OnCallView
		err = json.Unmarshal(raw, &v)
		views = []rotations.OnCallView{v}
	}
	if err == nil {
		err = json.Unmarshal(raw, &windows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "baton oncall: the answer of %s is not baton's on-call JSON: %v\n", base, err)
		return exitError
	}
	printOnCall(stdout, views, nil, func(string) *time.Location { return nil })
	// The active maintenance windows, as chat's /oncall shows them.
	for _, m := range windows.Maintenance {
		fmt.Fprintln(stdout, bot.MaintenanceLine(m, func(id string) bot.PersonRef { return bot.PersonRef{ID: id, Name: id} }))
	}
	return 0
}

// isNoSuchOnCall recognises baton's 404 for GET /v1/oncall: the service or
// rotation asked for is not configured (internal/oncall's ErrUnknownService,
// ErrUnknownRotation, wrapped with the name).
func isNoSuchOnCall(msg string) bool {
	return strings.HasSuffix(msg, ": no such service") || strings.HasSuffix(msg, ": no such rotation")
}

// overrideSuffix says which override puts someone on call: ", override by
// Alice Martin", ", override via the API", ", override 3" when who made it
// is not known, and "" for the schedule's own shift.
func overrideSuffix(names map[string]string, o *rotations.OverrideRef) string {
	switch {
	case o == nil:
		return ""
	case o.By == "":
		return ", override " + o.ID
	case o.By == rotations.OverrideByAPI:
		return ", override via the API"
	}
	by := o.By
	if n := names[by]; n != "" {
		by = n
	}
	return ", override by " + by
}

func display(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n + " (" + id + ")"
	}
	return id
}
