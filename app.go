package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// App is one baton process, wired from a validated Config in the order the
// architecture reads, one file per subsystem:
//
//	config_domain.go  the config in the packages' terms (rotations, policies, zones)
//	store.go          Redis: the incident store, overrides, the analytics read side
//	durability.go     before serving: does every Redis node that takes writes persist them?
//	redis_watch.go    while serving: the same, the epoch marker (did Redis lose its data?), /readyz
//	replica_guard.go  while serving: is this replica's escalation.replica_id used by another live process?
//	chat.go           bot.Bot on the Slack Chat, and the Socket Mode loop (none without slack.bot_token)
//	engine.go         the escalation runner, with the chat side as its Pager and chat sync
//	http.go           webhooks, the API, health, /metrics
//	analytics.go      the weekly digest
//
// Serve runs it until ctx ends; Close releases Redis.
type App struct {
	cfg       *Config
	log       *slog.Logger
	stores    *stores
	Incidents *incident.Store
	Runner    *escalation.Runner
	Overrides *overrides.Store
	Rotations map[string]*rotations.Rotation
	Handler   http.Handler
	Metrics   *metrics.Metrics
	// Chat is the chat side (bot and Socket Mode loop), nil when
	// slack.bot_token is not set.
	Chat   *chatSide
	digest *digest.Job
	// redisChecked is set once CheckRedis had an answer from Redis.
	redisChecked atomic.Bool
	// watch re-checks Redis while serving (redis_watch.go).
	watch *redisWatch
	// guard tells of another live process with this replica's
	// escalation.replica_id (replica_guard.go); nil without one.
	guard *replicaGuard
	// now is AppOptions.Now.
	now func() time.Time
}

// AppOptions change how NewApp wires the engine; the zero value is production.
type AppOptions struct {
	// Now is the one clock of the process, handed to every component that
	// reads the time. Default time.Now.
	Now func() time.Time
	// Pager delivers pages; nil means the chat side's, else the logging pager.
	Pager escalation.Pager
	// PollInterval overrides the escalation runner's poll interval (tests, demo).
	PollInterval time.Duration
	// RetryMin and RetryMax override the escalation runner's backoff
	// between a page's attempts (tests); zero keeps its defaults.
	RetryMin, RetryMax time.Duration
	// DigestPoster replaces the poster of the weekly digest, which is the
	// chat bot when chat is configured. No poster, or no
	// analytics.digest_channel, means no digest.
	DigestPoster digest.Poster
	// SlackRepeatEvery overrides how often the bot may post a thread reply
	// about an alert's repeats (a minute by default; the demo uses seconds).
	SlackRepeatEvery time.Duration
	// SNSFetchCert and SNSConfirm replace the real HTTPS fetch of SNS
	// signing certificates and subscription URLs (the demo signs its own).
	SNSFetchCert func(ctx context.Context, url string) ([]byte, error)
	SNSConfirm   func(ctx context.Context, subscribeURL string) error
	// RedisCheckEvery and EpochCheckEvery override how often a serving
	// replica re-reads Redis's persistence (a minute) and compares its
	// epoch marker (5 s) (redis_watch.go); tests shorten them.
	RedisCheckEvery, EpochCheckEvery time.Duration
	// ReplicaBeatEvery overrides how often a replica with an
	// escalation.replica_id writes its heartbeat (a second)
	// (replica_guard.go); tests shorten it.
	ReplicaBeatEvery time.Duration
}

// NewApp wires baton's packages together. It does not touch the network;
// Serve does.
func NewApp(cfg *Config, log *slog.Logger) (*App, error) {
	return NewAppWith(cfg, log, AppOptions{})
}

// NewAppWith is NewApp with options, for tests and the demo.
func NewAppWith(cfg *Config, log *slog.Logger, o AppOptions) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	d, err := cfg.domain()
	if err != nil {
		return nil, err
	}
	// The store, the chat side and the runner share one wake-up signal: a
	// job made due by an alert or a chat command runs at once, not at the
	// next poll. It exists before all three, so each gets it when built.
	wake := escalation.NewWakeup()
	epoch := new(epochHolder)
	m := metrics.New()
	st := newStores(cfg, d, wake, epoch, m.Transitioned, o.Now)
	board := cfg.board(d.rotations, st.overrides.Set)
	chat, err := newChat(cfg, d, st, board, m, wake.Notify, log, o)
	if err != nil {
		return nil, err
	}
	if chat != nil {
		chat.shifts = newShifts(cfg, d, st, board, chat.bot)
	}
	watch := newRedisWatch(st, epoch, cfg.Redis, m.Registry(), log, o)
	m.RegisterStore(scrapeProbe{watch: watch, store: st.incidents})
	guard := newReplicaGuard(st.rdb, cfg.Redis.Prefix, cfg.Escalation.ReplicaID, m.Registry(), log, o)
	runner, err := newEngine(d, st, watch, board, chat, wake, m, log, o)
	if err != nil {
		return nil, err
	}

	poster := o.DigestPoster
	if poster == nil && chat != nil {
		poster = chat.bot
	}
	return &App{
		cfg: cfg, log: log, stores: st, watch: watch, guard: guard,
		Incidents: st.incidents, Runner: runner, Overrides: st.overrides, Rotations: d.rotations,
		Handler: newHTTP(cfg, d, st, watch, runner, board, chat, m, newOutageLog(st.rdb, log, o.Now), log, o),
		Metrics: m, Chat: chat,
		digest: newDigest(cfg, d, st, poster, log, o),
		now:    o.Now,
	}, nil
}

// Serve answers HTTP on ln and runs the escalation engine until ctx ends,
// then shuts both down gracefully. It refuses to serve (an error, before
// anything runs) on a Redis that does not persist writes, unless
// redis.allow_volatile; when Redis does not answer at start, it serves
// (intake answers 503) and checks once Redis answers, stopping with that
// error if the check refuses.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	refused := make(chan error, 1)
	if !a.redisChecked.Load() {
		answered, err := a.CheckRedis(ctx)
		if err != nil {
			return err
		}
		if !answered {
			a.log.Warn("redis does not answer yet; intake will answer 503 until it does, and its persistence is checked then", "redis", redisName(a.cfg.Redis))
			checkCtx, stopCheck := context.WithCancel(ctx)
			checkDone := make(chan struct{})
			go func() { defer close(checkDone); a.checkRedisOnceUp(checkCtx, refused) }()
			defer func() { stopCheck(); <-checkDone }()
		}
	}
	// Every goroutine that uses Redis has ended when Serve returns, so the
	// caller's Close does not pull the client from under a command in flight
	// (go-redis then warns of a connection closed under it).
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); a.watch.run(watchCtx) }()
	defer func() { stopWatch(); <-watchDone }()
	if a.guard != nil {
		guardDone := make(chan struct{})
		go func() { defer close(guardDone); a.guard.run(watchCtx) }()
		defer func() { stopWatch(); <-guardDone }()
	}
	for _, w := range a.cfg.Warnings() {
		a.log.Warn("config: " + w)
	}
	logPrivacy(a.log, a.cfg.Privacy)
	runCtx, stopRunner := context.WithCancel(context.Background())
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- a.Runner.Run(runCtx) }()
	if a.Chat != nil && a.Chat.shifts != nil {
		shiftsDone := make(chan struct{})
		go func() { defer close(shiftsDone); scheduleShifts(runCtx, a.Chat.shifts, a.now, a.log) }()
		defer func() { stopRunner(); <-shiftsDone }()
	}
	if a.Chat != nil {
		chatDone := make(chan error, 1)
		go func() { chatDone <- a.Chat.run(runCtx) }()
		defer func() {
			stopRunner()
			if err := <-chatDone; err != nil {
				a.log.Error("chat stopped", "err", err)
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
	case err := <-refused:
		if err != nil {
			if serr := a.shutdown(srv); serr != nil {
				a.log.Error("http shutdown", "err", serr)
			}
			return err
		}
		select {
		case err := <-errc:
			return fmt.Errorf("http: %w", err)
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	if err := a.shutdown(srv); err != nil {
		return err
	}
	a.log.Info("baton stopped")
	return nil
}

// shutdown stops srv gracefully, giving open requests ten seconds.
func (a *App) shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Close stops the store's batching and releases the Redis client.
func (a *App) Close() error {
	return a.stores.close()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// logPrivacy says at start, in one info line, whether alerts are redacted
// and raw payloads sealed (how many rules, how long kept; never a key),
// and warns when redaction is off: patient data then reaches chat.
func logPrivacy(log *slog.Logger, p PrivacyConfig) {
	sealTTL := "off"
	if len(p.SealKeys) > 0 {
		sealTTL = p.SealTTL.String()
	}
	log.Info("privacy", "redact", p.Redact, "configured_rules", len(p.Rules), "sealing", len(p.SealKeys) > 0, "seal_ttl", sealTTL)
	if !p.Redact {
		log.Warn("privacy.redact is false: alerts reach chat, the API, the log and Redis as sent, patient data included")
	}
}
