// Package intake turns alert webhooks into incident.Alert values and hands them
// to the incident store. One file per source parses (sumologic.go,
// cloudwatch.go with sns.go, generic.go, alertmanager.go for Alertmanager and
// Grafana); this file is the HTTP edge:
// authentication, size limits, routing to a service, and the reply, which is
// 2xx only once Redis holds the alert.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpauth"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/internal/outage"
	"github.com/batonhq/baton/privacy"
)

// Store is the slice of the incident store intake uses; *incident.Store
// implements it.
type Store interface {
	OpenDelivery(ctx context.Context, a incident.Alert, deliveryID string) (incident.OpenResult, error)
	// OpenBatch stores the alerts of one request (Alertmanager, Grafana)
	// in one atomic step, all or none, and answers one result per alert.
	OpenBatch(ctx context.Context, alerts []incident.Alert) ([]incident.OpenResult, error)
}

// Rule routes alerts whose name matches Match to Service. An empty Source matches any source.
type Rule struct {
	Source  string
	Match   *regexp.Regexp
	Service string
}

// Config is everything the intake handler is told at start-up.
type Config struct {
	// Tokens maps a source (sumologic, cloudwatch, generic, alertmanager,
	// grafana) to the token it
	// must present as "Authorization: Bearer <token>" (the scheme in any
	// case); CloudWatch may also send it as the basic-auth password or as
	// ?token=. A source with no token is closed.
	Tokens map[string]string
	// MaxBodyBytes caps a request body; bigger bodies get 413. An
	// Alertmanager or Grafana request may be larger: up to
	// DefaultBatchBodyBytes when MaxBodyBytes is smaller (BatchBodyBytes).
	MaxBodyBytes int64
	// Services is the set of known service names.
	Services map[string]bool
	// Rules route by monitor or alarm name when neither ?service= nor the alert names a service.
	Rules []Rule
	// InsufficientData says what a CloudWatch INSUFFICIENT_DATA state does: "ignore" or "open".
	InsufficientData string
	// Severities maps an Alertmanager or Grafana alert's severity label to
	// a severity; a zero value means DefaultSeverities.
	Severities Severities
	// GroupingLabels are the Alertmanager and Grafana label (and
	// annotation) names some service's grouping reads
	// (details.labels.<name>, details.annotations.<name>): they are kept in
	// an alert's details ahead of the others, so the bound on labels
	// never drops them.
	GroupingLabels map[string]bool
	// SNS verifies CloudWatch deliveries.
	SNS *SNSVerifier
	// Observer, when set, is told the outcome of every request (metrics).
	Observer Observer
	// Confirm visits an SNS SubscribeURL once the confirmation message checked out.
	// Nil means a real HTTPS GET.
	Confirm func(ctx context.Context, subscribeURL string) error
	// MaxParsing caps how many requests parse their body at once, so that
	// a burst of large payloads decodes at most MaxParsing of them at a
	// time (decoding costs a multiple of the body). 0 means 2×GOMAXPROCS.
	MaxParsing int
	// ParseWait is how long a request waits for a parsing slot before it
	// is answered 503 with Retry-After (the sender retries: SNS by its
	// delivery policy). 0 means DefaultParseWait; negative, no wait.
	ParseWait time.Duration
	// Outage, when set, is told of every store failure, so that an outage
	// is logged once (with its detail) rather than once per request; the
	// API and /readyz share it. Nil logs each failure at ERROR.
	Outage *outage.Log
	// Redactor rewrites every alert after parsing and routing and before
	// the store (invariant 8), so chat, the API, analytics, the timeline
	// and logs see only the redacted alert. Nil stores alerts as parsed.
	Redactor *privacy.Redactor
	// Sealer, when set, seals each request's body as received
	// (privacy.Raw) into its alerts (incident.Alert.Sealed), which the
	// store keeps in the same step as the alert. Nil keeps no raw payload.
	Sealer *privacy.Sealer
}

// DefaultBatchBodyBytes is the body limit of an Alertmanager or Grafana
// request when Config.MaxBodyBytes is smaller: 8 MiB holds incident.MaxBatch
// alerts of a realistic size (1000 kube-prometheus alerts with 14 labels
// and a one-line description are about 1.1 MB) several times over, so the
// recommended max_alerts: 1000 fits. A 4xx is not retried by Alertmanager:
// a group refused for its size would be lost.
const DefaultBatchBodyBytes = 8 << 20

// BatchBodyBytes is the body limit of an Alertmanager or Grafana request:
// DefaultBatchBodyBytes, or maxBodyBytes (intake.max_body_bytes) when
// larger.
func BatchBodyBytes(maxBodyBytes int64) int64 { return max(maxBodyBytes, DefaultBatchBodyBytes) }

// DefaultParseWait is how long a request waits for a parsing slot when
// Config.ParseWait is 0.
const DefaultParseWait = 2 * time.Second

// busyRetryAfter is the Retry-After, in seconds, of a 503 for a full
// parsing limit.
const busyRetryAfter = "1"

// Observer is told the outcome of every alert request: its source, the
// service it was routed to ("" if refused before), the outcome (an
// incident.Outcome, "ignored", "subscription_confirmed", "refused" for a
// 4xx, "error" for a 5xx) and how long it took. It must not block.
type Observer interface {
	ObserveAlert(source, service, outcome string, elapsed time.Duration)
}

// TruncationObserver is an Observer that also counts the alerts a sender
// dropped before sending: n, from an Alertmanager or Grafana payload's
// truncatedAlerts (its max_alerts cut the group). It must not block.
type TruncationObserver interface {
	ObserveTruncated(source string, n int64)
}

// Handler serves POST /v1/alerts/{source}.
type Handler struct {
	cfg    Config
	store  Store
	log    *slog.Logger
	guards map[string]httpauth.Guard // by source
	// parsing holds one token per request parsing its body
	// (Config.MaxParsing); waiting counts the requests waiting for one.
	parsing chan struct{}
	waiting atomic.Int64
	// large holds the one token a batch body longer than
	// Config.MaxBodyBytes needs to be read and parsed, so that however
	// many such requests arrive, at most one body of up to
	// BatchBodyBytes (and its decoding) is in memory beyond the usual
	// bound.
	large chan struct{}
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewHandler returns the intake handler. log may be nil.
func NewHandler(cfg Config, store Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Confirm == nil {
		cfg.Confirm = confirmSubscription
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxParsing <= 0 {
		cfg.MaxParsing = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.ParseWait == 0 {
		cfg.ParseWait = DefaultParseWait
	}
	if cfg.Severities.Labels == nil && cfg.Severities.Default == "" {
		cfg.Severities = DefaultSeverities
	}
	guards := make(map[string]httpauth.Guard, 5)
	for _, source := range []string{"sumologic", "cloudwatch", "generic", "alertmanager", "grafana"} {
		guards[source] = httpauth.Guard{
			Token:   cfg.Tokens[source],
			Setting: "intake.tokens." + source,
			Subject: "the " + source + " source",
			// SNS cannot set headers: it puts the token in the URL query or,
			// with https://user:TOKEN@host/… subscriptions, in basic auth,
			// which it sends only after a 401 with a Basic challenge.
			Basic: source == "cloudwatch",
			Query: source == "cloudwatch",
		}
	}
	return &Handler{cfg: cfg, store: store, log: log, guards: guards, parsing: make(chan struct{}, cfg.MaxParsing), large: make(chan struct{}, 1), Now: time.Now}
}

// Router is where Register mounts the intake routes: an *http.ServeMux,
// or the API server (which also lists its routes).
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the intake routes to mux.
func (h *Handler) Register(mux Router) {
	mux.HandleFunc("POST /v1/alerts/{source}", h.serve)
}

// Reply is the JSON body of a successful intake call.
type Reply struct {
	Incident   int64  `json:"incident"`
	Created    bool   `json:"created"`
	AlertCount int64  `json:"alert_count"`
	Status     string `json:"status,omitempty"`
	Outcome    string `json:"outcome"`
	Service    string `json:"service,omitempty"`
	Message    string `json:"message,omitempty"`
	// RecoveredAt is, for superseded_by_recovery, the source time of the
	// recovery that made the alert stale (RFC 3339).
	RecoveredAt string `json:"recovered_at,omitempty"`
}

// httpError is an answer to the sender: a status, a sentence and any
// header fields the answer needs (the challenges of a 401).
type httpError struct {
	status int
	msg    string
	header http.Header
	// format and args are what msg was made from, for logReason.
	format string
	args   []any
}

// logReason is e's sentence for a log: every value it quotes redacted
// before it is quoted (redactArgs), then the sentence redacted as a whole.
func (e *httpError) logReason(red *privacy.Redactor) string {
	if e.format == "" {
		return red.String(e.msg)
	}
	return red.String(fmt.Sprintf(e.format, redactArgs(red, e.args)...))
}

func (e *httpError) Error() string { return e.msg }

// storeUnavailable is the one answer to a sender when the store failed: a
// fixed sentence, whatever the failure (incident.UnavailableMessage's
// wording, for a sender).
const storeUnavailable = "the alert was NOT accepted: the incident store is unavailable; retry"

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...), format: format, args: args}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	start := time.Now()
	if batchSources[source] {
		h.serveBatch(w, r, source, start)
		return
	}
	status, reply, err := h.handle(r, source)
	if h.cfg.Observer != nil {
		outcome := reply.Outcome
		if err != nil {
			outcome = errorOutcome(err)
		}
		h.cfg.Observer.ObserveAlert(source, reply.Service, outcome, time.Since(start))
	}
	if err != nil {
		h.writeError(w, source, err)
		return
	}
	h.logStored(source, reply)
	writeReply(w, status, reply)
}

// batchSources are the sources whose one request carries many alerts.
var batchSources = map[string]bool{"alertmanager": true, "grafana": true}

// serveBatch serves an Alertmanager or Grafana request: every alert is
// parsed and routed before any is stored, then all are stored in one
// atomic step (Store.OpenBatch), and the answer is 202 with one Reply per
// alert, in order. Any problem with any alert refuses the request, naming
// the alert, and stores nothing.
func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request, source string, start time.Time) {
	replies, err := h.handleBatch(r, source)
	if err != nil {
		if h.cfg.Observer != nil {
			h.cfg.Observer.ObserveAlert(source, "", errorOutcome(err), time.Since(start))
		}
		h.writeError(w, source, err)
		return
	}
	elapsed := time.Since(start)
	for _, reply := range replies {
		if h.cfg.Observer != nil {
			// Each alert counts; the request's latency is observed once.
			h.cfg.Observer.ObserveAlert(source, reply.Service, reply.Outcome, elapsed)
			elapsed = 0
		}
		h.logStored(source, reply)
	}
	httpjson.Write(w, http.StatusAccepted, replies)
}

// errorOutcome is the Observer's outcome of a failed request: "refused"
// for a 4xx, "error" for the rest.
func errorOutcome(err error) string {
	if he := (*httpError)(nil); errors.As(err, &he) && he.status < 500 {
		return "refused"
	}
	return "error"
}

// writeError answers a failed request: the sentence of an *httpError, or
// for a store failure the fixed 503 sentence (the detail goes to the log,
// once per outage).
func (h *Handler) writeError(w http.ResponseWriter, source string, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		// The store failed: the sender reads a fixed sentence (no
		// address, no internal error) and retries; the detail goes
		// to the log, once per outage.
		he = &httpError{status: http.StatusServiceUnavailable, msg: storeUnavailable}
		if h.cfg.Outage != nil {
			h.cfg.Outage.Failed(err, "source", source)
			h.log.Debug("intake store failed", "source", source, "err", err)
		} else {
			h.log.Error("intake store failed", "source", source, "err", err)
		}
	} else {
		// The sentence quotes what was sent (an alert's name, a service, a
		// field's value): it is redacted before any log sees it, at every
		// level. The sender gets it as it is: it sent it.
		h.log.Debug("intake refused", "source", source, "status", he.status, "reason", he.logReason(h.cfg.Redactor))
	}
	maps.Copy(w.Header(), he.header)
	httpjson.Error(w, he.status, he.msg)
}

// logStored logs one stored alert. A new or resolved incident is news; a
// repeat is not (a storm would flood the log), so repeats log at debug. No
// alert text, ever.
func (h *Handler) logStored(source string, reply Reply) {
	switch reply.Outcome {
	case "":
	case string(incident.OutcomeCreated), string(incident.OutcomeResolved):
		h.log.Info("alert stored", "source", source, "incident", reply.Incident, "outcome", reply.Outcome)
	case string(incident.OutcomeSuperseded):
		// An alert that pages nobody is news too.
		h.log.Info("alert superseded by an earlier recovery", "source", source, "service", reply.Service,
			"incident", reply.Incident, "recovered_at", reply.RecoveredAt)
	case string(incident.OutcomeStaleRecovery):
		// A recovery that resolved nothing is news as well.
		h.log.Info("recovery older than the open incident's latest alert; not resolved", "source", source,
			"service", reply.Service, "incident", reply.Incident)
	default:
		h.log.Debug("alert stored", "source", source, "incident", reply.Incident, "outcome", reply.Outcome, "alert_count", reply.AlertCount)
	}
}

func (h *Handler) handle(r *http.Request, source string) (int, Reply, error) {
	switch source {
	case "sumologic", "cloudwatch", "generic":
	default:
		return 0, Reply{}, fail(http.StatusNotFound, "unknown alert source %q: use /v1/alerts/sumologic, /v1/alerts/cloudwatch, /v1/alerts/generic, /v1/alerts/alertmanager or /v1/alerts/grafana", source)
	}
	if err := h.authorize(r, source); err != nil {
		return 0, Reply{}, err
	}
	alert, delivery, body, reply, done, err := h.parse(r, source)
	if done || err != nil {
		return http.StatusOK, reply, err
	}
	if err := h.route(&alert, r.URL.Query().Get("service")); err != nil {
		return 0, Reply{}, err
	}
	alerts := []incident.Alert{alert}
	if err := h.protect(alerts, source, body); err != nil {
		return 0, Reply{}, err
	}
	alert = alerts[0]
	res, err := h.store.OpenDelivery(r.Context(), alert, delivery)
	if err != nil {
		return 0, Reply{}, fmt.Errorf("store alert: %w", err)
	}
	h.cfg.Outage.OK()
	status, reply := replyFor(alert, res)
	return status, reply, nil
}

// replyFor is the answer about one stored alert: 202, or 200 for a
// duplicate delivery.
func replyFor(alert incident.Alert, res incident.OpenResult) (int, Reply) {
	reply := Reply{Incident: res.Number, Created: res.Created, AlertCount: res.AlertCount, Status: string(res.Status), Outcome: string(res.Outcome), Service: alert.Service}
	switch res.Outcome {
	case incident.OutcomeDuplicate:
		reply.Message = "this delivery was already stored; nothing changed"
		return http.StatusOK, reply
	case incident.OutcomeNoOpenIncident:
		reply.Message = "a recovery for an alert with no open incident; nothing to resolve (remembered for an hour: an older alert arriving late opens nothing)"
	case incident.OutcomeSuperseded:
		reply.RecoveredAt = res.RecoveredAt.UTC().Format(time.RFC3339Nano)
		reply.Message = "the alert is not newer than a recovery already received for it; the condition is over, so nothing was opened"
	case incident.OutcomeStaleRecovery:
		reply.Message = "the recovery is older than the latest firing alert of the open incident; the incident stays open"
	case incident.OutcomeGrouped:
		reply.Message = fmt.Sprintf("the alert joined INC-%d (the service groups its alerts); its recovery resolves only its own part", res.Number)
	case incident.OutcomeAlertRecovered:
		reply.Message = fmt.Sprintf("this alert of INC-%d recovered; the incident stays open while its other alerts fire", res.Number)
	}
	return http.StatusAccepted, reply
}

// handleBatch parses, routes and stores the alerts of one Alertmanager or
// Grafana request (serveBatch).
func (h *Handler) handleBatch(r *http.Request, source string) ([]Reply, error) {
	if err := h.authorize(r, source); err != nil {
		return nil, err
	}
	body, large, err := h.readBatchBody(r, source)
	if large {
		defer func() { <-h.large }()
	}
	if err != nil {
		return nil, err
	}
	if err := h.acquire(r.Context()); err != nil {
		return nil, err
	}
	now := h.Now()
	var alerts []incident.Alert
	switch source {
	case "alertmanager":
		alerts, err = parseAlerts(amAlertmanager, body, now, h.cfg.Severities, h.cfg.GroupingLabels, h.cfg.Redactor)
	case "grafana":
		alerts, err = parseAlerts(amGrafana, body, now, h.cfg.Severities, h.cfg.GroupingLabels, h.cfg.Redactor)
	}
	<-h.parsing
	if err != nil {
		return nil, inputFailure(err)
	}
	if n, _ := alerts[0].Details["truncated_alerts"].(int64); n > 0 {
		// Alertmanager (max_alerts) or Grafana dropped alerts of the
		// group before sending: they never reach baton. No alert text.
		h.log.Warn("the sender dropped alerts of a group before sending (its max_alerts); they were not received",
			"source", source, "truncated_alerts", n)
		if to, ok := h.cfg.Observer.(TruncationObserver); ok {
			to.ObserveTruncated(source, n)
		}
	}
	query := r.URL.Query().Get("service")
	for i := range alerts {
		if err := h.route(&alerts[i], query); err != nil {
			var he *httpError
			if errors.As(err, &he) && he.status == http.StatusUnprocessableEntity && query == "" {
				// Name the alert; a bad ?service= is the URL's, not an alert's.
				he.msg = fmt.Sprintf("alerts[%d]: %s", i, he.msg)
			}
			return nil, err
		}
	}
	if err := h.protect(alerts, source, body); err != nil {
		return nil, err
	}
	res, err := h.store.OpenBatch(r.Context(), alerts)
	if err != nil {
		return nil, fmt.Errorf("store alerts: %w", err)
	}
	h.cfg.Outage.OK()
	replies := make([]Reply, len(res))
	for i := range res {
		_, replies[i] = replyFor(alerts[i], res[i])
	}
	return replies, nil
}

// protect redacts parsed, routed alerts in place and, with a Sealer, seals
// the request's body into each of them: the last step before the store,
// so nothing keeps an alert unredacted (invariant 8). Routing read the
// alerts' names as sent; names are not stored. A batch's alerts each get
// the body with only their own entry of "alerts" (perAlertBodies), so
// opening one incident's raw payloads never shows another incident's
// alerts. A body that cannot be sealed is not accepted.
func (h *Handler) protect(alerts []incident.Alert, source string, body []byte) error {
	for i := range alerts {
		alerts[i] = h.cfg.Redactor.Redact(alerts[i])
	}
	if h.cfg.Sealer == nil || len(alerts) == 0 {
		return nil
	}
	bodies := [][]byte{body}
	if len(alerts) > 1 {
		if per := perAlertBodies(body, len(alerts)); per != nil {
			bodies = per
		}
	}
	var env string
	for i := range alerts {
		if i < len(bodies) {
			var err error
			env, err = h.cfg.Sealer.Seal(privacy.Raw{ReceivedAt: alerts[0].ReceivedAt, Source: source, Body: bodies[i]})
			if err != nil {
				h.log.Error("intake could not seal a raw payload", "source", source, "err", err)
				return fail(http.StatusInternalServerError, "the alert was NOT accepted: its raw payload could not be sealed; retry")
			}
		}
		alerts[i].Sealed = env
	}
	return nil
}

// perAlertBodies returns, for a batch body (Alertmanager, Grafana) of n
// alerts, n bodies: the body as received with its "alerts" array holding
// only entry i, every other byte as sent. nil when the body's alerts array
// cannot be found or does not hold n entries (the whole body is then
// sealed with each alert).
func perAlertBodies(body []byte, n int) [][]byte {
	if firstByte(body) != '{' {
		return nil
	}
	var arr []byte
	_ = objectMembers(body, func(key, val []byte) error {
		var k string
		if json.Unmarshal(key, &k) == nil && strings.EqualFold(k, "alerts") {
			arr = val // the last, as encoding/json reads it
		}
		return nil
	})
	if firstByte(arr) != '[' {
		return nil
	}
	entries, count, ok := arrayElements(arr, incident.MaxBatch)
	if !ok || count != n {
		return nil
	}
	// arr is a slice of body: where it starts and ends in body.
	start := cap(body) - cap(arr)
	end := start + len(arr)
	out := make([][]byte, n)
	for i, e := range entries {
		b := make([]byte, 0, start+len(e)+2+len(body)-end)
		b = append(b, body[:start]...)
		b = append(b, '[')
		b = append(b, e...)
		b = append(b, ']')
		b = append(b, body[end:]...)
		out[i] = b
	}
	return out
}

// readBody reads a request body of at most Config.MaxBodyBytes (413 past
// it). A compressed body is refused (415): baton reads JSON as sent.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	if err := checkEncoding(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		return nil, h.readFailure(err, "")
	}
	return body, checkGzip(body)
}

// readBatchBody reads an Alertmanager or Grafana body of at most
// BatchBodyBytes. The first Config.MaxBodyBytes are read as for any
// source; a body longer than that needs the one large-body token (h.large)
// to be read further, waited for as a parsing slot (Config.ParseWait, then
// 503 with Retry-After, which Alertmanager and Grafana retry). large says
// the token was taken: the caller gives it back once the body is parsed.
func (h *Handler) readBatchBody(r *http.Request, source string) (body []byte, large bool, err error) {
	if err := checkEncoding(r); err != nil {
		return nil, false, err
	}
	limit := BatchBodyBytes(h.cfg.MaxBodyBytes)
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	body, err = io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, false, h.readFailure(err, source)
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		if err := h.take(r.Context(), h.large, fmt.Sprintf("baton reads one body longer than %d bytes (intake.max_body_bytes) at a time, and is reading another; this one was NOT accepted; retry", h.cfg.MaxBodyBytes)); err != nil {
			return nil, false, err
		}
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, true, h.readFailure(err, source)
		}
		body = append(body, rest...)
	}
	return body, int64(len(body)) > h.cfg.MaxBodyBytes, checkGzip(body)
}

// readFailure is the answer to a body that could not be read: 413 naming
// the setting to change when it was too long (source: a batch source, whose
// limit is BatchBodyBytes), else 400.
func (h *Handler) readFailure(err error, source string) error {
	var mb *http.MaxBytesError
	if !errors.As(err, &mb) {
		return fail(http.StatusBadRequest, "the body could not be read: %v", err)
	}
	if source == "" {
		return fail(http.StatusRequestEntityTooLarge, "the body is larger than the limit of %d bytes: raise intake.max_body_bytes in baton's config to accept it", h.cfg.MaxBodyBytes)
	}
	return fail(http.StatusRequestEntityTooLarge, "the body is larger than the limit of %d bytes for %s (%d MiB, or intake.max_body_bytes when larger): raise intake.max_body_bytes in baton's config, or lower max_alerts in the %s webhook",
		mb.Limit, source, DefaultBatchBodyBytes>>20, source)
}

// checkEncoding refuses a body sent with a Content-Encoding: baton reads
// the JSON as sent.
func checkEncoding(r *http.Request) error {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return fail(http.StatusUnsupportedMediaType, "Content-Encoding %q is not supported (gzip is not supported): send the body uncompressed; nothing was stored", truncateHeader(ce))
	}
	return nil
}

// checkGzip refuses a gzip body sent without a Content-Encoding (its
// magic bytes), which would otherwise be "not JSON".
func checkGzip(body []byte) error {
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		return fail(http.StatusUnsupportedMediaType, "the body is gzip-compressed, and gzip is not supported: send it uncompressed; nothing was stored")
	}
	return nil
}

// truncateHeader keeps a header value quotable in a sentence.
func truncateHeader(v string) string {
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}

// parse reads the body, then parses it holding one of the Config.MaxParsing
// parsing slots. The body is read before the slot is taken, so a sender
// that sends slowly cannot hold a slot (reading costs at most MaxBodyBytes
// per request); decoding, which can cost many times the body, happens only
// in a slot, and its garbage is left before the slot is released. For
// CloudWatch the slot covers the SNS envelope; the signature check and the
// alarm inside (signed by SNS, at most 256 KiB) come after. The store call
// that follows holds only the alert. done is true when the request is
// answered without an alert to store (reply, or err).
func (h *Handler) parse(r *http.Request, source string) (alert incident.Alert, delivery string, body []byte, reply Reply, done bool, err error) {
	body, err = h.readBody(r)
	if err != nil {
		return alert, "", nil, reply, true, err
	}
	if err := h.acquire(r.Context()); err != nil {
		return alert, "", nil, reply, true, err
	}
	now := h.Now()
	var msg SNSMessage
	switch source {
	case "sumologic":
		alert, err = parseSumoLogic(body, now, h.cfg.Redactor)
	case "generic":
		alert, err = parseGeneric(body, now, h.cfg.Redactor)
	case "cloudwatch":
		msg, err = ParseSNS(body)
	}
	<-h.parsing
	if err != nil {
		return alert, "", nil, reply, true, inputFailure(err)
	}
	if source == "cloudwatch" {
		// The envelope is parsed; checking its signature may fetch a
		// certificate and a subscription is confirmed over HTTPS: neither
		// holds a parsing slot. What follows is signed by SNS.
		alert, delivery, done, reply, err = h.cloudwatch(r.Context(), msg, now)
		if done || err != nil {
			return alert, delivery, nil, reply, true, err
		}
	}
	return alert, delivery, body, reply, false, nil
}

// acquire takes a parsing slot, waiting at most Config.ParseWait. A full
// limit is a 503 with Retry-After: the alert is not accepted, and the
// sender's retry (SNS's delivery policy; a script's loop) brings it back.
func (h *Handler) acquire(ctx context.Context) error {
	return h.take(ctx, h.parsing, "baton is parsing as many alerts as it allows at once (intake.max_parsing); this one was NOT accepted; retry")
}

// take takes a token of slots (the parsing slots, or the large-body one),
// waiting at most Config.ParseWait; a full set is a 503 with Retry-After.
func (h *Handler) take(ctx context.Context, slots chan struct{}, busyMsg string) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	busy := fail(http.StatusServiceUnavailable, "%s", busyMsg)
	busy.header = http.Header{"Retry-After": {busyRetryAfter}}
	if h.cfg.ParseWait < 0 {
		return busy
	}
	t := time.NewTimer(h.cfg.ParseWait)
	defer t.Stop()
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case slots <- struct{}{}:
		return nil
	case <-t.C:
		return busy
	case <-ctx.Done():
		return busy
	}
}

// cloudwatch handles one SNS delivery, its envelope parsed. done is true when the request is
// answered without an alert to store (a confirmed subscription, an ignored state).
func (h *Handler) cloudwatch(ctx context.Context, msg SNSMessage, now time.Time) (a incident.Alert, delivery string, done bool, reply Reply, err error) {
	if h.cfg.SNS == nil {
		return a, "", true, reply, fail(http.StatusForbidden, "CloudWatch intake has no SNS verifier configured")
	}
	if err := h.cfg.SNS.Verify(ctx, msg); err != nil {
		return a, "", true, reply, h.snsFailure(err)
	}
	switch msg.Type {
	case "SubscriptionConfirmation":
		if err := h.cfg.Confirm(ctx, msg.SubscribeURL); err != nil {
			// The detail (a dial error, a proxy's address) is baton's, not the sender's.
			h.log.Warn("sns subscription not confirmed", "topic", msg.TopicArn, "err", err)
			return a, "", true, reply, fail(http.StatusBadGateway, "the SNS subscription could not be confirmed; SNS will retry")
		}
		h.log.Info("sns subscription confirmed", "topic", msg.TopicArn)
		return a, "", true, Reply{Outcome: "subscription_confirmed", Message: "subscribed to " + msg.TopicArn}, nil
	case "UnsubscribeConfirmation":
		h.log.Warn("sns subscription removed", "topic", msg.TopicArn)
		return a, "", true, Reply{Outcome: "unsubscribed", Message: "unsubscribed from " + msg.TopicArn}, nil
	}
	a, state, err := parseCloudWatchAlarm(msg, now, h.cfg.Redactor)
	if err != nil {
		return a, "", true, reply, inputFailure(err)
	}
	if state == "INSUFFICIENT_DATA" && h.cfg.InsufficientData != "open" {
		return a, "", true, Reply{Outcome: "ignored", Message: "INSUFFICIENT_DATA is ignored (intake.cloudwatch.insufficient_data)"}, nil
	}
	return a, "sns:" + msg.MessageId, false, reply, nil
}

// authorize checks the source's token (httpauth: the same rules as the
// API). A refusal is a 401 with the source's WWW-Authenticate challenges.
func (h *Handler) authorize(r *http.Request, source string) error {
	g := h.guards[source]
	refusal := g.Check(r)
	if refusal == nil {
		return nil
	}
	he := fail(http.StatusUnauthorized, "%s", refusal.Message)
	he.header = http.Header{}
	g.Challenge(he.header)
	return he
}

// route sets a.Service: ?service= first, then a service the alert names,
// then the first rule matching the alert's name.
func (h *Handler) route(a *incident.Alert, query string) error {
	label := a.Name
	if label == "" {
		label = a.Summary
	}
	if label == "" {
		label = a.DedupKey // a generic recovery without a summary
	}
	switch {
	case query != "":
		if err := checkOneLine("service", query); err != nil {
			return fail(http.StatusBadRequest, "query parameter ?service= %s; nothing was stored", err.Msg)
		}
		if !h.cfg.Services[query] {
			return fail(http.StatusUnprocessableEntity, "alert %q names service %q in ?service=, which is not in services; nothing was stored", label, query)
		}
		a.Service = query
		return nil
	case a.Service != "":
		if !h.cfg.Services[a.Service] {
			return fail(http.StatusUnprocessableEntity, "alert %q names service %q, which is not in services; nothing was stored", label, a.Service)
		}
		return nil
	}
	for _, rule := range h.cfg.Rules {
		if (rule.Source == "" || rule.Source == a.Source) && rule.Match.MatchString(a.Name) {
			a.Service = rule.Service
			return nil
		}
	}
	return fail(http.StatusUnprocessableEntity, "alert %q belongs to no service: add ?service=NAME to the webhook URL or a rule under intake.routes; nothing was stored", label)
}

func inputFailure(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return fail(http.StatusBadRequest, "%s", ie)
	}
	return fail(http.StatusBadRequest, "%v", err)
}

func (h *Handler) snsFailure(err error) error {
	switch {
	case errors.Is(err, ErrUnknownTopic), errors.Is(err, ErrCertHost), errors.Is(err, ErrBadSignature), errors.Is(err, ErrUnsupportedSignatureVersion):
		return fail(http.StatusForbidden, "%v", err)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return fail(http.StatusBadRequest, "%s", ie)
	}
	// The certificate could not be fetched: SNS should retry later. The
	// fetch's error (a dial error, a proxy's address) stays in the log.
	h.log.Warn("sns signing certificate not fetched", "err", err)
	return fail(http.StatusBadGateway, "the SNS signature could not be checked (its signing certificate could not be fetched); SNS will retry")
}

// confirmSubscription GETs an SNS SubscribeURL, which must be an https URL on
// an sns.<region>.amazonaws.com host (the same rule as for certificates).
func confirmSubscription(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !snsHostRE.MatchString(u.Hostname()) {
		return fmt.Errorf("SubscribeURL %q is not an https URL on an SNS host", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("SNS answered %s", resp.Status)
	}
	return nil
}
