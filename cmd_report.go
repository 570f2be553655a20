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

// cmdReport prints MTTA, MTTR, counts and paging load for a period, read
// from Redis:
//
//	baton report [--from 28d|DATE|RFC3339] [--to now|DATE|RFC3339] [--service S] [--by day|week] [--format table|json|csv]
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
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
		zoneName = cfg.Analytics.Timezone
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
	start, end, err := analytics.ParseRange(*from, *to, now(), zone)
	if err != nil {
		fmt.Fprintf(stderr, "baton report: --%v\n", err)
		return 2
	}
	gran, err := analytics.ParseGranularity(*by)
	if err != nil {
		fmt.Fprintf(stderr, "baton report: --%v\n", err)
		return 2
	}
	if *service != "" && !cfg.hasService(*service) {
		fmt.Fprintf(stderr, "baton report: --service %q is not in services\n", *service)
		return 2
	}
	q := analytics.Query{From: start, To: end, Service: *service, By: gran, Zone: zone,
		PersonZone: cfg.personZone()}
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
