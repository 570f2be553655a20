package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/docs"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/outage"
)

// The webhooks and the API store through the incident store.
var (
	_ intake.Store      = (*incident.Store)(nil)
	_ httpapi.Incidents = (*incident.Store)(nil)
)

// newHTTP builds baton's one HTTP handler: the alert webhooks (intake), the
// API for people and scripts (incidents, on-call, overrides, analytics),
// health checks and /metrics. Store failures on all of them are logged once
// per outage through ol. /readyz proves a write and asks watch.
func newHTTP(cfg *Config, d *domain, st *stores, watch *redisWatch, runner *escalation.Runner, board *oncall.Board, chat *chatSide, m *metrics.Metrics, ol *outage.Log, log *slog.Logger, o AppOptions) http.Handler {
	ic := cfg.intakeConfig(d.services)
	ic.SNS.FetchCert = o.SNSFetchCert
	ic.SNS.Now = o.Now
	ic.Confirm = o.SNSConfirm
	ic.Observer = m
	ic.Outage = ol
	ic.Redactor, ic.Sealer = d.redactor, d.sealer
	// Intake opens through the watch: never on a Redis whose epoch it has
	// not verified since its connections changed (redis_watch.go).
	in := intake.NewHandler(ic, guardedIntake{store: st.incidents, watch: watch}, log)
	in.Now = o.Now

	api := httpapi.New(httpapi.Options{
		Token:       cfg.API.Token,
		Incidents:   st.incidents,
		Ping:        watch.ready,
		KnownPerson: func(id string) bool { return d.people[id] },
		Escalate:    runner.Escalate,
		Log:         log,
		Outage:      ol,
		OnAck:       m.Acknowledged,
	})
	api.RegisterRaw(httpapi.RawOptions{Store: st.incidents, Sealer: d.sealer, TTL: cfg.Privacy.SealTTL})
	in.Register(api)
	intake.RegisterHeartbeats(api, intake.HeartbeatOptions{
		Token: cfg.Intake.Tokens.Heartbeat, Heartbeats: d.heartbeatByName, MaxBodyBytes: cfg.Intake.MaxBodyBytes,
		Store: guardedIntake{store: st.incidents, watch: watch}, Now: o.Now, Log: log, Outage: ol,
	})
	api.RegisterHeartbeats(func(ctx context.Context, now time.Time) ([]incident.HeartbeatStatus, error) {
		return st.incidents.Heartbeats(ctx, d.heartbeats, now)
	}, o.Now)
	m.Register(api)
	api.Handle("GET /v1/openapi.yaml", http.HandlerFunc(serveOpenAPI))
	api.RegisterAnalytics(httpapi.AnalyticsOptions{
		Source: st.reports, Zone: d.zone, PersonZone: d.personZone,
		KnownService: func(s string) bool { return d.services[s] },
		Now:          o.Now,
	})
	api.RegisterOnCall(board, st.overrides, o.Now)
	api.RegisterMaintenance(httpapi.MaintenanceOptions{
		Store: st.incidents, KnownService: func(s string) bool { return d.services[s] },
		Wake: runner.Wake, Now: o.Now, Reach: reachFor(d, cfg, chat),
	})
	return api
}

// reachFor says how a person can be reached, for POST
// /v1/incidents/{n}/page: in chat when the chat side finds their account,
// by email when smtp is on and people gives their address. Without a chat
// side, nil (every person is taken as reachable; the page-in goes to the log).
func reachFor(d *domain, cfg *Config, chat *chatSide) func(context.Context, string) httpapi.Reach {
	if chat == nil {
		return nil
	}
	email := map[string]bool{}
	for _, p := range cfg.People {
		email[p.ID] = p.Email != "" && cfg.SMTP.On()
	}
	return func(ctx context.Context, person string) httpapi.Reach {
		_, err := chat.bot.People().ChatID(ctx, person)
		// Only a person certainly without an account is unreachable; a
		// chat that fails now is not a reason to refuse.
		return httpapi.Reach{Chat: chat.name, InChat: !errors.Is(err, bot.ErrUnreachable), Email: email[person]}
	}
}

// serveOpenAPI answers GET /v1/openapi.yaml with docs/openapi.yaml, the
// description of every route, as embedded at build time. It needs no
// token: it describes the routes, never their data.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(docs.OpenAPI)
}
