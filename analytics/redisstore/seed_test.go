package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// seedIncident is one incident to write directly, in creation order.
type seedIncident struct {
	created                time.Time
	service, severity      string
	owner                  string
	alerts                 int
	pages                  []seedPage
	ackAfter, resolveAfter time.Duration // 0: never
}

type seedPage struct {
	at     time.Time
	person string
	level  int
}

// writeIncidents writes incidents the way the incident store's scripts
// leave them (hash fields, JSON timeline entries, the open and resolved
// indexes, the number counter), in pipelines: acting out hundreds of
// thousands of incidents through the scripts one call at a time would take
// minutes. TestFixtureFromRedis checks the store against what the scripts
// themselves write. Timeline entries put their keys in varying orders, as
// cjson does.
func writeIncidents(tb testing.TB, ctx context.Context, rdb *redis.Client, incs []seedIncident) {
	tb.Helper()
	pipe := rdb.Pipeline()
	flush := func() {
		if _, err := pipe.Exec(ctx); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
	for i, inc := range incs {
		n := int64(i + 1)
		key := layout.Incident(n)
		c := inc.created.UnixMilli()
		level := 0
		timeline := []any{fmt.Sprintf(`{"type":"opened","at":%d,"by":"generic"}`, c)}
		if inc.alerts > 1 {
			timeline = append(timeline, fmt.Sprintf(`{"by":"generic","note":"alert count %d","type":"repeated","at":%d}`, inc.alerts, c+60_000))
		}
		for k, p := range inc.pages {
			level = max(level, p.level)
			switch {
			case p.level > 1 && k > 0 && inc.pages[k-1].level < p.level:
				timeline = append(timeline, fmt.Sprintf(`{"at":%d,"level":%d,"type":"escalated","person":"%s","by":"baton","note":"not acknowledged within 15m0s at level 1"}`, p.at.UnixMilli(), p.level, p.person))
				timeline = append(timeline, fmt.Sprintf(`{"note":"escalated","person":"%s","type":"paged","level":%d,"at":%d,"by":"baton"}`, p.person, p.level, p.at.UnixMilli()))
			default:
				timeline = append(timeline, fmt.Sprintf(`{"type":"paged","at":%d,"by":"baton","person":"%s","level":%d,"note":"first"}`, p.at.UnixMilli(), p.person, p.level))
			}
		}
		fields := []any{"service", inc.service, "severity", inc.severity, "dk", fmt.Sprintf("%040x", n), "level", level, "round", 0,
			"alert_count", inc.alerts, "first_seen", c, "last_seen", c, "created", c, "repeat_noted", c,
			"owner", inc.owner, "rev", 3, "level_at", c, "paged_at", c, "status", "triggered"}
		if inc.ackAfter > 0 {
			a := c + inc.ackAfter.Milliseconds()
			fields = append(fields, "acknowledged", a, "ack_at", a, "status", "acknowledged")
			timeline = append(timeline, fmt.Sprintf(`{"type":"acknowledged","at":%d,"by":"%s","person":"%s"}`, a, inc.owner, inc.owner))
		}
		if inc.resolveAfter > 0 {
			r := c + inc.resolveAfter.Milliseconds()
			fields = append(fields, "resolved", r, "status", "resolved")
			timeline = append(timeline, fmt.Sprintf(`{"type":"resolved","at":%d,"by":"%s"}`, r, inc.owner))
			pipe.ZAdd(ctx, layout.Resolved(), redis.Z{Score: float64(r), Member: n})
		} else {
			pipe.ZAdd(ctx, layout.Open(), redis.Z{Score: float64(c), Member: n})
		}
		pipe.HSet(ctx, key, fields...)
		pipe.RPush(ctx, layout.Timeline(n), timeline...)
		if pipe.Len() >= 3000 {
			flush()
		}
	}
	pipe.Set(ctx, layout.Seq(), len(incs), 0)
	flush()
}
