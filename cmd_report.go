package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/redisstore"
)

// reportTimezone is the configured zone of report days and weeks
// (analytics.timezone); "" means UTC.
func reportTimezone(cfg *Config) string {
	return cfg.Analytics.Timezone
}

// personZones maps each person with a timezone to it, for "pages out of hours".
func personZones(cfg *Config) map[string]*time.Location {
	out := map[string]*time.Location{}
	for _, p := range cfg.People {
		if loc, err := time.LoadLocation(p.Timezone); err == nil && p.Timezone != "" {
			out[p.ID] = loc
		}
	}
	return out
}

// cmdReport prints MTTA, MTTR, counts and paging load for a period, read
// from Redis:
//
//	baton report [--from 28d|DATE|RFC3339] [--to now|DATE|RFC3339] [--service S] [--by day|week] [--format table|json|csv]
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	from := fs.String("from", "28d", "start: a date (2026-03-02), an RFC 3339 time, or a length before --to (7d, 4w, 36h)")
	to := fs.String("to", "now", "end, exclusive: now, a date (its midnight) or an RFC 3339 time")
	service := fs.String("service", "", "only this service's incidents and pages")
	by := fs.String("by", "week", "bucket size: day or week (weeks start on Monday)")
	format := fs.String("format", "table", "table, json or csv")
	tz := fs.String("timezone", "", "IANA zone of dates, days and weeks (default analytics.timezone, else UTC)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton report: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch *format {
	case "table", "json", "csv":
	default:
		fmt.Fprintf(stderr, "baton report: --format must be table, json or csv (got %q)\n", *format)
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	zoneName := *tz
	if zoneName == "" {
		zoneName = reportTimezone(cfg)
	}
	zone := time.UTC
	if zoneName != "" {
		loc, err := time.LoadLocation(zoneName)
		if err != nil {
			fmt.Fprintf(stderr, "baton report: %q is not an IANA time zone such as Europe/Paris\n", zoneName)
			return 2
		}
		zone = loc
	}
	start, end, err := analytics.ParseRange(*from, *to, time.Now(), zone)
	if err != nil {
		fmt.Fprintf(stderr, "baton report: --%v\n", err)
		return 2
	}
	gran, err := analytics.ParseGranularity(*by)
	if err != nil {
		fmt.Fprintf(stderr, "baton report: --%v\n", err)
		return 2
	}
	if *service != "" && !knownService(cfg, *service) {
		fmt.Fprintf(stderr, "baton report: --service %q is not in services\n", *service)
		return 2
	}
	zones := personZones(cfg)
	q := analytics.Query{From: start, To: end, Service: *service, By: gran, Zone: zone,
		PersonZone: func(p string) *time.Location { return zones[p] }}
	if err := q.Validate(); err != nil {
		fmt.Fprintf(stderr, "baton report: %v\n", err)
		return 2
	}

	rdb := newRedis(cfg.Redis)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		fmt.Fprintf(stderr, "baton report: cannot read Redis at %s (redis.addr): %v\n", cfg.Redis.Addr, err)
		return 1
	}
	rep, err := analytics.Build(ctx, redisstore.New(rdb, cfg.Redis.Prefix), q)
	if err != nil {
		fmt.Fprintf(stderr, "baton report: %v\n", err)
		return 1
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case "csv":
		err = rep.WriteCSV(stdout)
	default:
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "baton report: %v\n", err)
		return 1
	}
	return 0
}

func knownService(cfg *Config, name string) bool {
	for _, s := range cfg.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}
