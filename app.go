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

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/httpapi"
)

// App is one baton process: Redis client, incident service, HTTP edge.
// It is built from a validated Config; Serve runs it until ctx ends.
type App struct {
	cfg       *Config
	log       *slog.Logger
	rdb       redis.UniversalClient
	Incidents *incident.Service
	Handler   http.Handler
}

// NewApp wires baton's packages together. It does not touch the network;
// Serve does.
func NewApp(cfg *Config, log *slog.Logger) (*App, error) {
	rdb := newRedis(cfg.Redis)
	svc := incident.NewService(rdb, cfg.Redis.Prefix)

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
		SNS:              &intake.SNSVerifier{AllowedTopics: cfg.Intake.CloudWatch.TopicARNs},
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
		Log:         log,
	})
	in.Register(api.Mux())
	return &App{cfg: cfg, log: log, rdb: rdb, Incidents: svc, Handler: api}, nil
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

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		a.log.Warn("redis does not answer yet; intake will answer 503 until it does", "addr", a.cfg.Redis.Addr, "err", err)
	}
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

// Close releases the Redis client.
func (a *App) Close() error { return a.rdb.Close() }

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
