package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/demo"
	"github.com/batonhq/baton/internal/fakesmtp"
	"github.com/batonhq/baton/rotations"
)

// demoYAML is the configuration `baton demo` runs unless --config names another.
//
//go:embed demo.yaml
var demoYAML []byte

// defaultSandboxAddr is where the chat sandbox and its page listen.
const defaultSandboxAddr = "127.0.0.1:8090"

// demoPollInterval makes the escalation runner look for due jobs often, so
// that seconds-long timings are kept to within a fraction of a second.
const demoPollInterval = 250 * time.Millisecond

const demoUsage = `Usage: baton demo [--chat slack|discord] [--scenario] [--redis ADDR|memory] [--listen ADDR] [--sandbox ADDR] [--config FILE]

Runs the whole product on this machine: Redis (found or started), a Slack
sandbox (or with --chat discord a Discord one) with a live web page, and
baton itself with timings in seconds. It
fires a first alert at once; --scenario fires the full set of sample alerts.
Ctrl-C stops it.

`

// cmdDemo runs `baton demo` until ctx ends. Exit codes: 0 after a clean
// stop, 1 when something could not start (a port in use, no Redis at all),
// 2 for bad flags or a bad demo config.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, clock func() time.Time) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	scenario := fs.Bool("scenario", false, "fire the built-in sample alerts on a timer and act as people would: a Sumo Logic monitor, a CloudWatch alarm via SNS, a scheduled-search storm that deduplicates, a storm of 12 new incidents for one person, "+
		"a maintenance window holding an alert then summarising, a person paged in and re-paged until they acknowledge, an acknowledgement whose lease asks \"Still working on it?\", "+
		"email pages to the demo's SMTP sink, a heartbeat that misses, a handoff asking the incoming person to take the pager, then the recoveries")
	idle := fs.Bool("idle", false, "fire no alert at start: only the ones you send")
	redisFlag := fs.String("redis", "", `Redis to use: host:port (it must answer), or "memory" for an in-process one that keeps nothing (default: redis.addr of the demo config if a Redis answers there, else a redis-server the demo starts, else in-process)`)
	listen := fs.String("listen", "", "address of baton's webhook and API (default: http.listen of the demo config, 127.0.0.1:8080; 127.0.0.1:0 picks a free port)")
	sandboxAddr := fs.String("sandbox", defaultSandboxAddr, "address of the chat sandbox and its web page (127.0.0.1:0 picks a free port)")
	configPath := fs.String("config", "", "run the demo with this config instead of the built-in demo.yaml")
	chat := fs.String("chat", "slack", "the chat the demo runs against: slack (a fake Slack workspace) or discord (a fake Discord server); the sandbox page shows it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if !knownDemoChat(*chat, stderr) {
		return 2
	}

	cfg, code := loadDemoConfig(*configPath, environ, stderr)
	if cfg == nil {
		return code
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	now := clock()
	anchorRotations(cfg, now)

	// Ports first: a port in use is the likeliest failure, and nothing has
	// been started yet that would need stopping.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		fmt.Fprintln(stderr, portProblem("baton's webhook and API", cfg.HTTP.Listen, "--listen", err))
		return 1
	}
	defer ln.Close()

	d := &demoRun{cfg: cfg, stdout: stdout, log: newLogger(stderr, cfg.Log.Level)}
	d.story = &demo.Story{Out: &lockedWriter{w: stdout}}

	// Email: the demo's own SMTP sink on loopback takes every email page;
	// the sandbox page lists them. Nothing leaves the machine.
	if cfg.SMTP.On() {
		sink, err := fakesmtp.Listen("127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "baton demo: the SMTP sink cannot start: %v\n", err)
			return 1
		}
		defer sink.Close()
		cfg.SMTP = SMTPConfig{Addr: sink.Addr, From: cfg.SMTP.From, IncidentURL: cfg.SMTP.IncidentURL}
		d.smtpAddr = sink.Addr
		d.emails = func() []demo.Email {
			var out []demo.Email
			for _, m := range sink.Messages() {
				out = append(out, demo.Email{To: m.To, Subject: m.Subject, Body: m.Body})
			}
			return out
		}
		d.story.Emails = d.emails
	}

	// Redis.
	rmode, raddr := demo.RedisAuto, cfg.Redis.Addr
	switch {
	case *redisFlag == "memory":
		rmode = demo.RedisMemory
	case *redisFlag != "":
		rmode, raddr = demo.RedisExact, *redisFlag
		cfg.Redis.Addrs, cfg.Redis.MasterName = nil, "" // one node, the one named
	}
	ropts := demo.RedisOptions{Mode: rmode, Addr: raddr, Username: cfg.Redis.Username, Password: cfg.Redis.Password, DB: cfg.Redis.DB}
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	rdb, err := demo.StartRedis(rctx, ropts)
	rcancel()
	if err != nil {
		if rmode == demo.RedisExact {
			fmt.Fprintf(stderr, "baton demo: %v; start it, or leave out --redis to let the demo find or start one\n", err)
		} else {
			fmt.Fprintf(stderr, "baton demo: %v\n", err)
		}
		return 1
	}
	defer rdb.Close()
	if rdb.Kind == demo.RedisConfigured {
		n, err := demo.ClearPrefix(ctx, ropts, cfg.Redis.Prefix)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "baton demo: %v; incidents of an earlier demo may page again\n", err)
		case n > 0:
			rdb.Note += fmt.Sprintf("; cleared %d keys an earlier demo left under %q", n, cfg.Redis.Prefix)
		}
	} else {
		cfg.Redis = RedisConfig{Addr: rdb.Addr, Prefix: cfg.Redis.Prefix}
	}
	cfg.Redis.Addr = rdb.Addr
	// The demo's data may be lost: a Redis it started persists nothing, and
	// one it found is not asked to.
	cfg.Redis.AllowVolatile = true

	// The sandbox: the chat's fake seeded with the people and the
	// services' channels; cfg's chat section points at it.
	sb, code := d.startSandbox(cfg, *chat, *sandboxAddr, stderr)
	if sb == nil {
		return code
	}
	defer sb.close()

	// The demo signs its own SNS messages (Amazon's certificates cannot be
	// fetched offline), so baton's verifier is given the demo's certificate.
	signer, err := demo.NewSNSSigner(now)
	if err != nil {
		fmt.Fprintf(stderr, "baton demo: %v\n", err)
		return 1
	}
	// baton itself, with its chat bot (pointed at the sandbox).
	app, err := NewAppWith(cfg, d.log, AppOptions{
		Now:              clock,
		PollInterval:     demoPollInterval,
		SlackRepeatEvery: demoRepeatEvery,
		SNSFetchCert:     signer.FetchCert,
		SNSConfirm: func(context.Context, string) error {
			return errors.New("the demo confirms no SNS subscription")
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "baton demo: %v\n", err)
		return 1
	}
	defer app.Close()
	d.app.Store(app)
	d.story.Incidents = app.Incidents
	app.Handler = d.story.Intake(app.Handler)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	base := "http://" + ln.Addr().String()
	d.banner(rdb, sb, base, *scenario, *idle)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- app.Serve(runCtx, ln) })
	wg.Go(func() { _ = d.story.Run(runCtx) })
	if !*idle {
		topics := cfg.Intake.CloudWatch.TopicARNs
		sc := &demo.Scenario{
			BaseURL: base, Full: *scenario, SNS: signer, Story: d.story, APIToken: cfg.API.Token, Press: sb.press,
			Tokens: map[string]string{"sumologic": cfg.Intake.Tokens.SumoLogic, "cloudwatch": cfg.Intake.Tokens.CloudWatch,
				"generic": cfg.Intake.Tokens.Generic, "heartbeat": cfg.Intake.Tokens.Heartbeat},
		}
		if len(topics) > 0 {
			sc.TopicARN = topics[0]
		}
		wg.Go(func() {
			// Let the runner and the bot come up before the first alert.
			select {
			case <-runCtx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			_ = sc.Run(runCtx)
		})
	}

	code = 0
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			fmt.Fprintf(stderr, "baton demo: %v\n", err)
			code = 1
		}
	}
	stop()
	wg.Wait()
	fmt.Fprintln(stdout, "demo stopped")
	return code
}

// loadDemoConfig loads --config, or the built-in demo.yaml, with the BATON_*
// environment applied. On a problem it prints every one and returns nil
// and exit code 2.
func loadDemoConfig(path string, environ []string, stderr io.Writer) (*Config, int) {
	label := path
	if path == "" {
		label = "the built-in demo config (demo.yaml)"
		dir, err := os.MkdirTemp("", "baton-demo-config-")
		if err != nil {
			fmt.Fprintf(stderr, "baton demo: %v\n", err)
			return nil, 1
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "demo.yaml")
		if err := os.WriteFile(path, demoYAML, 0o600); err != nil {
			fmt.Fprintf(stderr, "baton demo: %v\n", err)
			return nil, 1
		}
	}
	cfg, err := LoadConfig(path, environ)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "baton demo: %s has %d problem(s):\n", label, len(ps))
			for _, p := range ps {
				fmt.Fprintln(stderr, "  "+p.Error())
			}
			fmt.Fprintln(stderr, "(a BATON_* variable in the environment overrides the config; unset it or fix the value)")
		} else {
			fmt.Fprintf(stderr, "baton demo: %s: %v\n", label, err)
		}
		return nil, 2
	}
	return cfg, 0
}

// portProblem turns a listen error into a sentence that says which port,
// what it is for, and how to choose another.
func portProblem(what, addr, flagName string, err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("baton demo: %s cannot listen on %s: the port is in use (another baton?); choose another with %s 127.0.0.1:PORT, or %s 127.0.0.1:0 for any free port",
			what, addr, flagName, flagName)
	}
	return fmt.Sprintf("baton demo: %s cannot listen on %s: %v; choose another address with %s", what, addr, err, flagName)
}

// demoHandoffAfter is how soon after the start, at least, the handoff of a
// daily rotation with handoff_accept or preshift_check is moved to (the
// first whole minute from then): the "take the pager" question is asked
// while the visitor watches.
const demoHandoffAfter = 40 * time.Second

// anchorRotations moves each rotation's start (a date, at most two weeks
// back) so that its first participant is on call at now: the demo's story
// is then the same whatever the day (alice paged, escalated to bob). A
// daily rotation with handoff settings also has its handoff moved to the
// first whole minute at least demoHandoffAfter after now.
func anchorRotations(cfg *Config, now time.Time) {
	for i := range cfg.Rotations {
		rc := &cfg.Rotations[i]
		if len(rc.Participants) == 0 {
			continue
		}
		loc, err := time.LoadLocation(rc.Timezone)
		if err != nil {
			continue
		}
		if (rc.HandoffAccept > 0 || rc.PreshiftCheck > 0) && rc.Shift == "daily" {
			rc.Handoff = demoHandoff(now, loc).Format("15:04")
		}
		for back := 0; back <= 14; back++ {
			spec := rc.spec()
			spec.Start = now.In(loc).AddDate(0, 0, -back).Format("2006-01-02")
			r, err := rotations.Compile(spec)
			if err != nil {
				break
			}
			if sh, err := r.ShiftAt(now); err == nil && sh.Person == rc.Participants[0] {
				rc.Start = spec.Start
				break
			}
		}
	}
}

// demoHandoff is the first whole minute (in loc) at least
// demoHandoffAfter after now.
func demoHandoff(now time.Time, loc *time.Location) time.Time {
	t := now.Add(demoHandoffAfter).In(loc)
	m := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	if m.Before(t) {
		m = m.Add(time.Minute)
	}
	return m
}

// demoRun is what the pieces of one demo share.
type demoRun struct {
	cfg    *Config
	stdout io.Writer
	// smtpAddr is the demo's SMTP sink ("" without smtp in the config);
	// emails are what it took (nil without one).
	smtpAddr string
	emails   func() []demo.Email
	log      *slog.Logger
	story    *demo.Story
	// app is set once baton is built; the sandbox page may ask for
	// baton's view before that.
	app atomic.Pointer[App]
}

// batonIncident is one incident as the sandbox page shows it in baton's view.
type batonIncident struct {
	Ref        string `json:"ref"`
	Number     int64  `json:"number"`
	Service    string `json:"service"`
	Severity   string `json:"severity"`
	Status     string `json:"status"`
	Owner      string `json:"owner"`
	Level      int    `json:"level"`
	AlertCount int64  `json:"alert_count"`
	Title      string `json:"title"`
}

// batonView is the page's "baton (Redis)" column: open incidents, then the
// last ten resolved.
func (d *demoRun) batonView(ctx context.Context) (any, error) {
	app := d.app.Load()
	if app == nil {
		return map[string]any{"incidents": []batonIncident{}}, nil
	}
	open, err := app.Incidents.List(ctx, incident.FilterOpen, 50)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	resolved, err := app.Incidents.List(ctx, incident.FilterResolved, 10)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	out := []batonIncident{}
	for _, i := range append(open, resolved...) {
		out = append(out, batonIncident{Ref: i.Ref(), Number: i.Number, Service: i.Service, Severity: string(i.Severity),
			Status: string(i.Status), Owner: i.Owner, Level: i.Level, AlertCount: i.AlertCount, Title: i.Title})
	}
	return map[string]any{"incidents": out}, nil
}

func (d *demoRun) banner(r *demo.Redis, sb *demoSandbox, base string, scenario, idle bool) {
	w := d.stdout
	fmt.Fprintf(w, "baton demo: the whole product on this machine, timings in seconds\n\n")
	fmt.Fprintf(w, "  sandbox  %s   <- open this page: %s, live; act as any demo person\n", sb.url, sb.what)
	fmt.Fprintf(w, "  webhook  %s/v1/alerts/{sumologic,cloudwatch,generic}\n", base)
	fmt.Fprintf(w, "  redis    %s\n", r.Note)
	fmt.Fprintf(w, "  chat     %s\n", sb.chat)
	fmt.Fprintf(w, "  sns      CloudWatch alarms are checked against a signing key the demo generated (Amazon's certificates cannot be fetched offline)\n")
	switch {
	case idle:
		fmt.Fprintf(w, "  alerts   none fired (--idle): send your own\n")
	case scenario:
		fmt.Fprintf(w, "  alerts   scenario: Sumo Logic monitor now, CloudWatch alarm via SNS at 5s, a storm of %d scheduled-search alerts at 8s (one incident), a storm of %d new database incidents for alice at %s, recoveries at 100s, 120s and %s\n",
			demo.StormSize, demo.IncidentStormSize, demo.IncidentStormAt, demo.IncidentStormRecoverAt)
		fmt.Fprintf(w, "  people   scenario: carol acknowledges the payments incident at %s (its 1-minute ack lease DMs her \"Still working on it?\" 50 s later) and pages bob into it at %s; bob is re-paged until he acknowledges his page at %s\n",
			demo.AckAt, demo.PageInAt, demo.PageAckAt)
		fmt.Fprintf(w, "  batch    scenario: dave puts batch in maintenance for 1m at %s; an alert at %s is held, then released and paged (chat + email) when the window ends; heartbeat nightly-export beats until %s, is missed 20 s later, beats again at %s\n",
			demo.MaintenanceAt, demo.BacklogAt, demo.HeartbeatBeats[len(demo.HeartbeatBeats)-1], demo.HeartbeatBackAt)
	default:
		fmt.Fprintf(w, "  alerts   one Sumo Logic monitor now (--scenario fires the full set)\n")
	}
	for _, rc := range d.cfg.Rotations {
		if rc.HandoffAccept > 0 {
			fmt.Fprintf(w, "  handoff  rotation %s hands over at %s %s: %s is asked to [Take it]; %s keeps the pager until then (%s later the secondary and the alerts channel are told)\n",
				rc.Name, rc.Handoff, rc.Timezone, nextParticipant(rc), firstParticipant(rc), rc.HandoffAccept)
		}
	}
	if d.smtpAddr != "" {
		fmt.Fprintf(w, "  email    the demo's SMTP sink on %s takes every email page (policy levels with notify: [chat, email]); the page lists them\n", d.smtpAddr)
	}
	if len(d.cfg.EscalationPolicies) > 0 && len(d.cfg.EscalationPolicies[0].Levels) > 0 {
		p := d.cfg.EscalationPolicies[0]
		fmt.Fprintf(w, "  timings  re-page every %s, escalate after %s (policy %s)\n", p.RepageEvery, p.Levels[0].EscalateAfter, p.Name)
	}
	svc := "database"
	if len(d.cfg.Services) > 0 {
		svc = d.cfg.Services[0].Name
	}
	fmt.Fprintf(w, "\nFire your own alert:\n  curl -sS %s/v1/alerts/generic -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"service\":\"%s\",\"summary\":\"Disk almost full on db-3\",\"severity\":\"critical\"}'\n",
		base, d.cfg.Intake.Tokens.Generic, svc)
	fmt.Fprintf(w, "Ctrl-C stops the demo.\n\n")
}

func firstParticipant(rc RotationConfig) string {
	if len(rc.Participants) == 0 {
		return "nobody"
	}
	return rc.Participants[0]
}

func nextParticipant(rc RotationConfig) string {
	if len(rc.Participants) < 2 {
		return firstParticipant(rc)
	}
	return rc.Participants[1]
}

// lockedWriter serialises writes to the terminal from the demo's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// demoRepeatEvery is how often the bot may add a thread reply about an
// alert's repeats (a minute in production): the storm shows within seconds.
const demoRepeatEvery = 10 * time.Second
