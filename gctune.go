package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// serveGCPercent is the garbage collector's GOGC for `baton serve` and
// `baton demo` when the environment sets none: the heap may grow to five
// times what is live before a collection, instead of twice. A baton's live
// heap is small (tens of MB in a storm: the work is in Redis), so this
// trades a few tens of MB for less CPU spent collecting on the two cores
// the alerts, the runner and Redis share. Measured (BENCHMARKS.md, issue 15,
// 2026-12-02, 3 interleaved runs): duplicates 0.49–0.50–0.51 of the HTTP
// ceiling against 0.42–0.43–0.44 at GOGC 100, for a peak RSS of 42 MB
// instead of 31 MB.
const serveGCPercent = 400

// memLimitRatio is the share of the container's memory limit (the cgroup's,
// read by automemlimit) that GOMEMLIMIT is set to, when the environment
// sets no GOMEMLIMIT: close to the limit, the collector runs as often as it
// must instead of at serveGCPercent, so the larger heap never brings the
// process to the OOM killer.
const memLimitRatio = 0.9

// gcSettings decides the collector's settings from the environment: the
// GOGC to set (set false: GOGC is given and left alone) and whether to set
// GOMEMLIMIT from the cgroup's memory limit (false: GOMEMLIMIT is given, or
// AUTOMEMLIMIT=off).
func gcSettings(environ []string) (percent int, set, limit bool) {
	set, limit = true, true
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "GOGC":
			set = false
		case k == "GOMEMLIMIT":
			limit = false
		case k == "AUTOMEMLIMIT" && v == "off":
			limit = false
		}
	}
	return serveGCPercent, set, limit
}

// tuneGC applies gcSettings to this process. The memory limit comes from
// automemlimit, a well-kept library that reads cgroup v1 and v2 limits
// (including the nested and unlimited cases); with no limit (no container,
// or an unlimited one) GOMEMLIMIT stays unset.
func tuneGC(environ []string, log *slog.Logger) {
	percent, set, limit := gcSettings(environ)
	if set {
		debug.SetGCPercent(percent)
	}
	if limit {
		got, err := memlimit.Set(
			memlimit.WithRatio(memLimitRatio),
			memlimit.WithProvider(memlimit.FromCgroup),
			memlimit.WithLogger(slog.New(slog.DiscardHandler)), // its errors are told below, at debug
		)
		switch {
		case err != nil:
			log.Debug("gc: no memory limit set from the cgroup", "err", err)
		case got < math.MaxInt64:
			log.Info("gc: memory limit set from the cgroup", "gomemlimit_bytes", got, "ratio", memLimitRatio)
		}
	}
}
