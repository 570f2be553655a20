// Package metrics is baton's Prometheus instrumentation: one registry of
// its own (never the global default, so tests and several Apps in one
// process do not collide), the collectors, and the hooks the rest of baton
// calls. GET /metrics serves it (Handler).
//
// Counters are per process: with several replicas, Prometheus sums them
// across the scraped targets. Label values come from small, closed sets
// (sources, outcomes, configured services, page reasons, chat API
// methods), so series stay few.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
)

// Metrics holds baton's collectors. Its methods are safe for concurrent
// use and never block, so hot paths (intake, the escalation runner) may
// call them inline.
type Metrics struct {
	reg *prometheus.Registry

	alerts        *prometheus.CounterVec
	truncated     *prometheus.CounterVec
	opened        *prometheus.CounterVec
	intakeLatency *prometheus.HistogramVec
	pages         *prometheus.CounterVec
	pageFailures  *prometheus.CounterVec
	deadLetters   prometheus.Counter
	acks          *prometheus.CounterVec
	escalations   prometheus.Counter
	jobLag        *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
	chatErrors    *prometheus.CounterVec
	socket        *prometheus.GaugeVec
	toAck         *prometheus.HistogramVec
	toResolve     *prometheus.HistogramVec
	emails        *prometheus.CounterVec
}

var (
	_ escalation.Metrics        = (*Metrics)(nil)
	_ escalation.EmailMetrics   = (*Metrics)(nil)
	_ intake.TruncationObserver = (*Metrics)(nil)
)

// New returns the collectors registered on a fresh registry, with the Go
// runtime and process collectors beside them.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_alerts_received_total",
			Help: "Alert webhook deliveries, by source and outcome (created, repeated, grouped, resolved, alert_recovered, no_open_incident, superseded_by_recovery, stale_recovery, duplicate_delivery, ignored, refused, error).",
		}, []string{"source", "outcome"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_alerts_truncated_total",
			Help: "Alerts an Alertmanager or Grafana webhook dropped before sending (its max_alerts cut the group: truncatedAlerts), by source; baton never received them.",
		}, []string{"source"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_incidents_opened_total",
			Help: "Incidents created, by service.",
		}, []string{"service"}),
		intakeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_intake_duration_seconds",
			Help:    "Time from an alert request's arrival to its answer, by source.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_pages_sent_total",
			Help: "Pages delivered, by reason (first, repeat, escalated, retriggered, assigned, fallback, notify, handoff).",
		}, []string{"reason"}),
		pageFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_page_failures_total",
			Help: "Failed attempts at a page, by reason; a failed page is retried.",
		}, []string{"reason"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "baton_pages_dead_lettered_total",
			Help: "Pages given up after their retries; the fallback was paged instead.",
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_acknowledgements_total",
			Help: "Incidents acknowledged, by how (api, button, command, reaction).",
		}, []string{"via"}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "baton_escalations_total",
			Help: "Incidents moved to another escalation level (timeout, loop or manual).",
		}),
		jobLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_job_lag_seconds",
			Help:    "Time from a job falling due to a runner starting it, by kind (page, acktimeout).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_store_errors_total",
			Help: "Failed Redis calls, by component.",
		}, []string{"component"}),
		chatErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_chat_api_errors_total",
			Help: "Failed chat API calls, by chat and method (slack chat.postMessage, discord ChannelMessageSend, …).",
		}, []string{"chat", "method"}),
		socket: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "baton_socket_connected",
			Help: "1 while this replica holds its chat's event connection (Slack Socket Mode), 0 while it does not; absent without a chat.",
		}, []string{"chat"}),
		toAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_time_to_acknowledge_seconds",
			Help:    "Time from an incident's creation to its acknowledgement, by service (MTTA: rate of _sum over rate of _count).",
			Buckets: responseBuckets,
		}, []string{"service"}),
		toResolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_time_to_resolve_seconds",
			Help:    "Time from an incident's creation to its resolution (by a person or the source's recovery), by service (MTTR).",
			Buckets: responseBuckets,
		}, []string{"service"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_emails_total",
			Help: "Email attempts, by why (page, after, chatfailed) and outcome (sent; failed: retried; given_up: dead-lettered, and for chatfailed the fallback paged).",
		}, []string{"why", "outcome"}),
	}
	for _, why := range escalation.EmailWhys {
		for _, o := range []string{"sent", "failed", "given_up"} {
			m.emails.WithLabelValues(string(why), o)
		}
	}
	// Series the alerting rules read start at 0, so the first failures
	// show as an increase instead of a series appearing with the burst
	// already in it (increase() needs a sample before the first failure).
	for _, r := range escalation.Reasons {
		m.pageFailures.WithLabelValues(string(r))
	}
	for src := range knownSources {
		m.alerts.WithLabelValues(src, "error")
	}
	m.storeErrors.WithLabelValues("escalation")
	m.reg.MustRegister(
		m.alerts, m.truncated, m.opened, m.intakeLatency, m.pages, m.pageFailures, m.deadLetters,
		m.acks, m.escalations, m.jobLag, m.storeErrors, m.chatErrors, m.socket, m.toAck, m.toResolve, m.emails,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// responseBuckets are the buckets of time to acknowledge and resolve, in
// seconds: from half a minute to a day.
var responseBuckets = []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}

// Transitioned implements incident.WithOnTransition's hook: an
// acknowledgement observes the time from creation to acknowledgement, a
// resolution the time from creation to resolution, by service (the
// service label is a configured service, so series stay few).
func (m *Metrics) Transitioned(op string, inc incident.Incident) {
	switch {
	case op == "ack" && !inc.Acknowledged.IsZero():
		m.toAck.WithLabelValues(inc.Service).Observe(max(inc.Acknowledged.Sub(inc.Created), 0).Seconds())
	case op == "resolve" && !inc.Resolved.IsZero():
		m.toResolve.WithLabelValues(inc.Service).Observe(max(inc.Resolved.Sub(inc.Created), 0).Seconds())
	}
}

// Registry is the registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it), for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Router is where Register mounts GET /metrics: an *http.ServeMux, or the
// API server (which also lists its routes).
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Register mounts GET /metrics on mux. It needs no token: it shows counts
// and latencies, never alert text or people.
func (m *Metrics) Register(mux Router) {
	mux.Handle("GET /metrics", m.Handler())
}

// knownSources are the alert sources with a label of their own; anything
// else is "other", so a client probing odd URLs cannot add series.
var knownSources = map[string]bool{"sumologic": true, "cloudwatch": true, "generic": true, "alertmanager": true, "grafana": true, "chat": true}

func sourceLabel(s string) string {
	if knownSources[s] {
		return s
	}
	return "other"
}

// ObserveAlert records one alert request: its source, its outcome (an
// incident.Outcome, or "ignored", "refused" for a 4xx, "error" for a
// store failure), how long it took (0: not measured), and, when it created
// an incident, the service.
func (m *Metrics) ObserveAlert(source, service, outcome string, elapsed time.Duration) {
	src := sourceLabel(source)
	m.alerts.WithLabelValues(src, outcome).Inc()
	if elapsed > 0 {
		m.intakeLatency.WithLabelValues(src).Observe(elapsed.Seconds())
	}
	if outcome == "created" && service != "" {
		m.opened.WithLabelValues(service).Inc()
	}
}

// ObserveTruncated implements intake.TruncationObserver: n alerts of one
// notification that the sender dropped before sending.
func (m *Metrics) ObserveTruncated(source string, n int64) {
	m.truncated.WithLabelValues(sourceLabel(source)).Add(float64(n))
}

// Acknowledged records an acknowledgement made through via (api, button,
// command, reaction).
func (m *Metrics) Acknowledged(via string) { m.acks.WithLabelValues(via).Inc() }

// ChatAPIError records a failed call to a chat API: chat is "slack" or
// "discord", method the API method.
func (m *Metrics) ChatAPIError(chat, method string) { m.chatErrors.WithLabelValues(chat, method).Inc() }

// ChatMethods starts chat's API error counters at 0 for methods (the calls
// a page and its card make, and opening the event connection), so the
// first errors count in increase() and rate().
func (m *Metrics) ChatMethods(chat string, methods ...string) {
	for _, meth := range methods {
		m.chatErrors.WithLabelValues(chat, meth)
	}
}

// SocketConnected records whether this replica holds chat's event
// connection (for Slack, Socket Mode): up after the connection is
// established, down while it connects, after an error and when it stops.
func (m *Metrics) SocketConnected(chat string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.socket.WithLabelValues(chat).Set(v)
}

// StoreFailed records a failed Redis call by component (intake, api, bot…).
func (m *Metrics) StoreFailed(component string) { m.storeErrors.WithLabelValues(component).Inc() }

// JobStarted implements escalation.Metrics: the job's lag after it fell due.
func (m *Metrics) JobStarted(kind string, lag time.Duration) {
	m.jobLag.WithLabelValues(kind).Observe(max(lag, 0).Seconds())
}

// Emailed implements escalation.EmailMetrics.
func (m *Metrics) Emailed(why escalation.EmailWhy, outcome string) {
	m.emails.WithLabelValues(string(why), outcome).Inc()
}

// PageSent implements escalation.Metrics.
func (m *Metrics) PageSent(reason escalation.Reason) { m.pages.WithLabelValues(string(reason)).Inc() }

// PageFailed implements escalation.Metrics.
func (m *Metrics) PageFailed(reason escalation.Reason) {
	m.pageFailures.WithLabelValues(string(reason)).Inc()
}

// Escalated implements escalation.Metrics.
func (m *Metrics) Escalated() { m.escalations.Inc() }

// DeadLettered implements escalation.Metrics.
func (m *Metrics) DeadLettered() { m.deadLetters.Inc() }

// StoreError implements escalation.Metrics: a failed Redis call of the runner.
func (m *Metrics) StoreError() { m.StoreFailed("escalation") }

// Store is what RegisterStore reads from Redis at each scrape.
type Store interface {
	// Ping answers whether Redis takes commands: baton's probe is a
	// write, so a Redis that refuses writes is down.
	Ping(ctx context.Context) error
	// CountDead returns how many dead letters (pages given up) are kept.
	CountDead(ctx context.Context) (int64, error)
	// CountOverdue returns how many due jobs no runner has started though
	// they fell due more than a grace period ago.
	CountOverdue(ctx context.Context) (int64, error)
}

// scrapeTimeout bounds the Redis reads of one scrape, so a Redis that does
// not answer makes /metrics say so quickly instead of hanging the scraper.
const scrapeTimeout = time.Second

// RegisterStore adds the gauges read from Redis when /metrics is scraped:
// baton_redis_up (1 when st.Ping succeeded within a second, else 0; baton
// probes with a write, as /readyz does)
// and baton_dead_letters (the dead letters kept, shared by every replica;
// left out of a scrape that could not read it), and baton_jobs_overdue
// (due jobs no runner has started, past a grace period; shared by every
// replica; left out likewise).
func (m *Metrics) RegisterStore(st Store) {
	m.reg.MustRegister(&storeCollector{st: st})
}

var (
	redisUpDesc = prometheus.NewDesc("baton_redis_up",
		"1 when Redis took baton's probe write at this scrape (within 1s), else 0: 0 also while Redis answers PING but refuses writes (out of memory, read-only).", nil, nil)
	overdueDesc = prometheus.NewDesc("baton_jobs_overdue",
		"Jobs in Redis now that fell due more than 30s ago and no runner has started (pages, escalations, timeouts, heartbeat deadlines); shared by every replica. Above 0 for minutes: no runner is working.", nil, nil)
	deadDesc = prometheus.NewDesc("baton_dead_letters",
		"Dead letters kept in Redis now: pages given up after every retry (the fallback was paged instead); `baton jobs` lists them.", nil, nil)
)

// storeCollector reads Redis at scrape time (prometheus.Collector).
type storeCollector struct{ st Store }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisUpDesc
	ch <- deadDesc
	ch <- overdueDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	up := 1.0
	if err := c.st.Ping(ctx); err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(redisUpDesc, prometheus.GaugeValue, up)
	if up == 0 {
		return
	}
	if n, err := c.st.CountDead(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(n))
	}
	if n, err := c.st.CountOverdue(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(n))
	}
}
