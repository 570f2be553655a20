// Command baton is a chat-native incident bot: alerts in by webhook, one
// incident per problem in Redis, one owner paged until they acknowledge.
//
//	baton serve --config config.yaml       run the webhook, API and engine
//	baton check-config --config FILE       report every problem in a config, exit 2 if any
//	                   [--online]          and check that Redis persists writes, that the SMTP server answers
//	                                       (EHLO, STARTTLS), and that everyone on call in the next 24 h and
//	                                       every user: target can be paged, exit 1 if not
//
// main only parses arguments and wires packages together (app.go); the work
// lives in the packages.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && (os.Args[1] == "serve" || os.Args[1] == "demo") {
		tuneGC(os.Environ(), slog.Default()) // gctune.go: the serving process's collector
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ(), time.Now)
	stop()
	os.Exit(code)
}

const usage = `baton — chat-native incident bot

Usage:
  baton demo [--scenario] [--redis ADDR|memory] [--listen ADDR] [--sandbox ADDR]
                                                the whole product on this machine: Redis, a Slack sandbox page, baton; timings in seconds
  baton serve [--config FILE] [--listen ADDR]   run intake, API and escalation
  baton check-config [--config FILE] [--online] check a config; exit 2 and one line per problem;
                                                --online: also check Redis answers and persists writes (appendonly), and that
                                                the SMTP server answers EHLO (and STARTTLS when smtp.starttls), and that everyone
                                                on call in the next 24 h and every user: target can be paged (through the chat), exit 1 if not
  baton oncall [--service S | --rotation R] [--at RFC3339] [--json] [--url U]
                                                who is on call now, and the shifts of the next 14 days
                                                (--url or BATON_URL: ask a running baton's API)
  baton incidents [list|show N|ack N|resolve N [note]|escalate N] [--url U] [--json] [--by PERSON]
                                                incidents of a running baton over its API (BATON_URL, BATON_API_TOKEN);
                                                exit 3: no such incident, 4: transition not allowed
  baton jobs [--json]                           escalation queue: pending, in flight, dead letters
  baton heartbeats [--json]                     heartbeat monitors: waiting, up or missed; last beat and when the next is due
  baton report [--from 28d|DATE] [--to now|DATE] [--service S] [--by day|week] [--format table|json|csv]
                                                MTTA, MTTR, incidents, escalations and pages per day or week
  baton load [--url U] [--mode unique|duplicate] [-n N] [-c C] [--rate R] [--ceiling|--ceiling-in-process] [--runs K]
                                                fire generic alerts at a running baton (--url or BATON_URL); report alerts/s and latency
                                                (--ceiling: also a no-op handler in a process of its own, interleaved; ratios to it)
  baton serve 2>&1 | baton load --first-page [--url U] [-n N] [--rate R] [--runs K] [--pages FILE] [--page-wait D]
                                                time each new alert from its POST to its first page in the serving baton's log
  baton version [--json]                        version, commit and Go version of this binary
  baton help                                    this text

Every config key can be set from the environment: BATON_ then the key in
capitals with dots as underscores (redis.addr → BATON_REDIS_ADDR).
`

// run is main without the process: arguments, streams, environment and the
// clock come in, an exit code comes out, so tests can run every subcommand
// in-process. now is the process's one clock: every component that reads
// the time is handed it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr, environ, now)
	case "check-config":
		return cmdCheckConfig(ctx, rest, stdout, stderr, environ)
	case "load":
		return cmdLoad(ctx, rest, stdout, stderr, environ)
	case "load-ceiling":
		return cmdLoadCeiling(ctx, os.Stdin, stdout, stderr)
	case "jobs":
		return cmdJobs(ctx, rest, stdout, stderr, environ)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr, environ, now)
	case "report":
		return cmdReport(ctx, rest, stdout, stderr, environ, now)
	case "oncall":
		return cmdOncall(ctx, rest, stdout, stderr, environ, now)
	case "incidents":
		return cmdIncidents(ctx, rest, stdout, stderr, environ, now)
	case "version", "--version":
		return cmdVersion(rest, stdout, stderr)
	case "heartbeats":
		return cmdHeartbeats(ctx, rest, stdout, stderr, environ, now)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "baton: unknown command %q\n\n%s", cmd, usage)
	return 2
}
