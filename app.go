package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/analytics/redisstore"
	"github.com/batonhq/baton/bot"
	slackbot "github.com/batonhq/baton/bot/slack"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// App is one baton process: Redis client, incident service, HTTP edge.
// It is built from a validated Config; Serve runs it until ctx ends.
type App struct {
	cfg       *Config
	log       *slog.Logger
	rdb       redis.UniversalClient
	Incidents *incident.Store
	Runner    *escalation.Runner
	Overrides *overrides.Store
	Rotations map[string]*rotations.Rotation
	Handler   http.Handler
	Metrics   *metrics.Metrics
	// Slack is the Socket Mode bot, nil when slack.bot_token is not set.
	Slack  *slackbot.Bot
	digest *digest.Job
}

// AppOptions change how NewApp wires the engine; the zero value is production.
type AppOptions struct {
	// Pager delivers pages; nil means the logging pager (no chat configured).
	Pager escalation.Pager
	// PollInterval overrides the escalation runner's poll interval (tests, demo).
	PollInterval time.Duration
	// Now overrides the clock of the store and the runner.
	Now func() time.Time
	// DigestPoster replaces the poster of the weekly digest, which is the
	// Slack bot when Slack is configured. No poster, or no
	// analytics.digest_channel, means no digest.
	DigestPoster digest.Poster
	// SlackRepeatEvery overrides how often the bot may post a thread reply
	// about an alert's repeats (a minute by default; the demo uses seconds).
	SlackRepeatEvery time.Duration
	// SNSFetchCert and SNSConfirm replace the real HTTPS fetch of SNS
	// signing certificates and subscription URLs (the demo signs its own).
	SNSFetchCert func(ctx context.Context, url string) ([]byte, error)
	SNSConfirm   func(ctx context.Context, subscribeURL string) error
}

// NewApp wires baton's packages together. It does not touch the network;
// Serve does.
func NewApp(cfg *Config, log *slog.Logger) (*App, error) {
	return NewAppWith(cfg, log, AppOptions{})
}

// NewAppWith is NewApp with options, for tests and the demo.
func NewAppWith(cfg *Config, log *slog.Logger, o AppOptions) (*App, error) {
	rdb := newRedis(cfg.Redis)
	rots, err := cfg.compileRotations()
	if err != nil {
		return nil, err
	}
	ovs := overrides.New(rdb, cfg.Redis.Prefix)
	ovs.Known = rotations.Known{
		Person:   func(id string) bool { return cfg.person(id) != nil },
		Rotation: func(name string) bool { return rots[name] != nil },
	}
	policies, err := cfg.escalationPolicies()
	if err != nil {
		return nil, err
	}
	// The store, the bot and the runner share one wake-up signal, and the
	// store arms the policies' ack timeouts: both exist before the runner.
	wake := escalation.NewWakeup()
	svc := incident.NewStore(rdb, cfg.Redis.Prefix,
		incident.WithAckTimeout(policies.AckTimeout), incident.WithOnJobDue(wake.Notify))
	if o.Now != nil {
		svc.Now = o.Now
	}
	// Slack, when configured, is both the Pager and the chat sync that keeps
	// channels and cards in step with incidents. chat must stay an untyped
	// nil interface when Slack is off.
	var (
		runner   *escalation.Runner
		slackBot *slackbot.Bot
		chat     escalation.ChatSync
	)
	m := metrics.New()
	zone, err := time.LoadLocation(cfg.Analytics.Timezone)
	if err != nil {
		return nil, fmt.Errorf("analytics.timezone: %w", err)
	}
	zones := personZones(cfg)
	personZone := func(p string) *time.Location { return zones[p] }
	reports := redisstore.New(rdb, cfg.Redis.Prefix)
	if cfg.Slack.BotToken != "" {
		var people []bot.Person
		for _, p := range cfg.People {
			people = append(people, bot.Person{ID: p.ID, Name: p.Name, Email: p.Email, ChatID: p.Slack})
		}
		var svcs []bot.Service
		for _, s := range cfg.Services {
			svcs = append(svcs, bot.Service{Name: s.Name, AlertsChannel: s.AlertsChannel})
		}
		slackBot, err = slackbot.New(slackbot.Options{
			BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken, APIURL: cfg.Slack.APIURL,
			AckReactions: cfg.Slack.AckReactions, ArchiveAfter: cfg.Slack.ArchiveAfter,
			People: people, Services: svcs,
			Incidents: svc, OnCall: cfg.directory(rots, ovs.Set), Overrides: ovs,
			Wake:  wake.Notify,
			Redis: rdb, Prefix: cfg.Redis.Prefix, Log: log, Now: o.Now,
			RepeatEvery: o.SlackRepeatEvery,
			Analytics:   &bot.Analytics{Source: reports, Zone: zone, PersonZone: personZone},
			Metrics:     m,
		})
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		chat = slackBot.ChatSync()
	}
	pager := o.Pager
	switch {
	case pager != nil:
	case slackBot != nil:
		pager = slackBot.Pager()
	default:
		pager = escalation.LogPager{Log: log}
	}
	runner, err = escalation.NewRunner(escalation.Options{
		Chat:         chat,
		Metrics:      m,
		Incidents:    svc,
		Wakeup:       wake,
		Pager:        pager,
		Policies:     policies,
		Rotations:    rots,
		Overrides:    ovs.Set,
		PollInterval: o.PollInterval,
		Log:          log,
		Now:          o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("escalation: %w", err)
	}

	services := map[string]bool{}
	for _, s := range cfg.Services {
		services[s.Name] = true
	}
	var rules []intake.Rule
	for _, r := range cfg.Intake.Routes {
		rules = append(rules, intake.Rule{Source: r.Source, Match: regexp.MustCompile(r.Match), Service: r.Service})
	}
	in := intake.NewHandler(intake.Config{
		Tokens: map[string]string{
			"sumologic":  cfg.Intake.Tokens.SumoLogic,
			"cloudwatch": cfg.Intake.Tokens.CloudWatch,
			"generic":    cfg.Intake.Tokens.Generic,
		},
		MaxBodyBytes:     cfg.Intake.MaxBodyBytes,
		Services:         services,
		Rules:            rules,
		InsufficientData: cfg.Intake.CloudWatch.InsufficientData,
		SNS:              &intake.SNSVerifier{AllowedTopics: cfg.Intake.CloudWatch.TopicARNs, FetchCert: o.SNSFetchCert},
		Confirm:          o.SNSConfirm,
		Observer:         m,
	}, svc, log)

	people := map[string]bool{}
	for _, p := range cfg.People {
		people[p.ID] = true
	}
	api := httpapi.New(httpapi.Options{
		Token:       cfg.API.Token,
		Incidents:   svc,
		Ping:        func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		KnownPerson: func(id string) bool { return people[id] },
		Escalate:    runner.Escalate,
		Log:         log,
		OnAck:       m.Acknowledged,
	})
	in.Register(api.Mux())
	m.Register(api.Mux())
	api.RegisterAnalytics(httpapi.AnalyticsOptions{
		Source: reports, Zone: zone, PersonZone: personZone,
		KnownService: func(s string) bool { return services[s] },
		Now:          o.Now,
	})
	app := &App{cfg: cfg, log: log, rdb: rdb, Incidents: svc, Runner: runner, Overrides: ovs, Rotations: rots, Handler: api, Metrics: m, Slack: slackBot}
	poster := o.DigestPoster
	if poster == nil && slackBot != nil {
		poster = slackBot
	}
	if poster != nil && cfg.Analytics.DigestChannel != "" {
		app.digest = &digest.Job{Source: reports, Poster: poster, Channel: cfg.Analytics.DigestChannel,
			Zone: zone, PersonZone: personZone, Locker: digest.NewLocker(rdb, cfg.Redis.Prefix), Log: log, Now: o.Now}
	}
	api.RegisterOnCall(cfg.directory(rots, ovs.Set), ovs, o.Now)
	return app, nil
}

// newRedis builds the client the config asks for: one addr is a single node,
// several a cluster, master_name a Sentinel failover group.
func newRedis(c RedisConfig) redis.UniversalClient {
	addrs := c.Addrs
	if len(addrs) == 0 {
		addrs = []string{c.Addr}
	}
	opts := &redis.UniversalOptions{
		Addrs:      addrs,
		MasterName: c.MasterName,
		Username:   c.Username,
		Password:   c.Password,
		DB:         c.DB,
		// Intake answers 503 rather than hanging when Redis is slow or gone.
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
	}
	if c.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return redis.NewUniversalClient(opts)
}

// Serve answers HTTP on ln and runs the escalation engine until ctx ends,
// then shuts both down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		a.log.Warn("redis does not answer yet; intake will answer 503 until it does", "addr", a.cfg.Redis.Addr, "err", err)
	}
	for _, w := range a.cfg.Warnings() {
		a.log.Warn("config: " + w)
	}
	runCtx, stopRunner := context.WithCancel(context.Background())
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- a.Runner.Run(runCtx) }()
	if a.Slack != nil {
		slackDone := make(chan error, 1)
		go func() { slackDone <- a.Slack.Run(runCtx) }()
		defer func() {
			stopRunner()
			if err := <-slackDone; err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("slack bot stopped", "err", err)
			}
		}()
	}
	if a.digest != nil {
		digestDone := make(chan error, 1)
		go func() { digestDone <- a.digest.Start(runCtx) }()
		defer func() {
			stopRunner()
			if err := <-digestDone; err != nil {
				a.log.Error("weekly digest scheduler stopped", "err", err)
			}
		}()
	}
	defer func() {
		stopRunner()
		if err := <-runnerDone; err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("escalation runner stopped", "err", err)
		}
	}()
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("baton serving", "listen", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("baton stopped")
	return nil
}

// Close stops the store's batching and releases the Redis client.
func (a *App) Close() error {
	a.Incidents.Close()
	return a.rdb.Close()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
