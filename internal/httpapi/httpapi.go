// Package httpapi is baton's HTTP edge for people and scripts: the incidents
// API, health checks, and the mount point for the intake webhooks and the
// on-call routes. Outcome errors from the domain (incident.Error) become
// status codes here, by one table, with their own sentences.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpauth"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/internal/outage"
)

// Incidents is the slice of the incident store the API uses;
// *incident.Store implements it. Refusals are *incident.Error, whose code
// picks the status.
type Incidents interface {
	Get(ctx context.Context, n int64) (incident.Incident, []incident.Event, error)
	ListPage(ctx context.Context, f incident.Filter, limit int, cursor string) ([]incident.Incident, string, error)
	Ack(ctx context.Context, n int64, by, note string) (incident.Incident, error)
	Resolve(ctx context.Context, n int64, by, note string) (incident.Incident, error)
}

// Escalator moves an incident up a level now (the escalation runner); note
// is the caller's, for the escalated event.
type Escalator func(ctx context.Context, n int64, by, note string) (incident.Incident, error)

// Pinger answers whether the store is reachable and takes writes, for
// /readyz. A NotReady error is a known condition with its own sentence;
// any other error is the store failing (the one fixed sentence, the detail
// to the outage log).
type Pinger func(ctx context.Context) error

// NotReady is a condition that makes /readyz answer 503 with its own fixed
// sentence ("not ready: …", no address, no internal error), such as a
// Redis that does not persist writes. Whoever returns it logs its detail;
// /readyz does not.
type NotReady string

// Error returns the sentence.
func (n NotReady) Error() string { return string(n) }

// Server is the HTTP API.
type Server struct {
	mux       *http.ServeMux
	routes    []string
	guard     httpauth.Guard
	incidents Incidents
	ping      Pinger
	people    func(id string) bool
	escalate  Escalator
	log       *slog.Logger
	outage    *outage.Log
	onAck     func(via string)
	// maint lists the active maintenance windows for GET /v1/oncall; set
	// by RegisterMaintenance (nil before, or without it).
	maint MaintenanceStore
}

// Options configure a Server.
type Options struct {
	// Token is api.token; every /v1 route but the alert webhooks requires it,
	// as "Authorization: Bearer <token>" (the scheme in any case). Empty
	// closes the API.
	Token string
	// Incidents is the incident store.
	Incidents Incidents
	// Ping checks Redis for /readyz.
	Ping Pinger
	// KnownPerson says whether a person id exists; nil accepts anyone.
	KnownPerson func(id string) bool
	// Escalate backs POST /v1/incidents/{n}/escalate; nil leaves the route out.
	Escalate Escalator
	// Log receives one line per refused or failed request; may be nil.
	Log *slog.Logger
	// Outage, when set, is told of every store failure (and /readyz's
	// successes), so that an outage is logged once with its detail rather
	// than once per request; intake shares it. Nil logs each failure at ERROR.
	Outage *outage.Log
	// OnAck, when set, is called after each acknowledgement made through the API (metrics).
	OnAck func(via string)
}

// New returns the API server. Mount other route sets with Handle before
// serving; there is no other way in, so Routes lists every route.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.KnownPerson == nil {
		o.KnownPerson = func(string) bool { return true }
	}
	guard := httpauth.Guard{Token: o.Token, Setting: "api.token", Subject: "the API"}
	s := &Server{mux: http.NewServeMux(), guard: guard, incidents: o.Incidents, ping: o.Ping, people: o.KnownPerson, escalate: o.Escalate, log: o.Log, outage: o.Outage, onAck: o.OnAck}
	s.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.HandleFunc("GET /readyz", s.readyz)
	s.Handle("GET /v1/incidents", s.auth(s.list))
	s.Handle("GET /v1/incidents/{n}", s.auth(s.get))
	s.Handle("POST /v1/incidents/{n}/ack", s.auth(s.transition("ack")))
	s.Handle("POST /v1/incidents/{n}/resolve", s.auth(s.transition("resolve")))
	if o.Escalate != nil {
		s.Handle("POST /v1/incidents/{n}/escalate", s.auth(s.transition("escalate")))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return s
}

// Handle registers h for pattern (an http.ServeMux pattern with its
// method, such as "GET /v1/incidents/{n}") and remembers the pattern for
// Routes. Adapters (intake, metrics) mount their routes through it. It is
// not safe for use concurrently with serving: register before.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, h)
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

// Routes returns the patterns registered with Handle and HandleFunc, in
// the order registered: the routes baton serves, which docs/openapi.yaml
// must describe (TestOpenAPIRoutes). The catch-all 404 is not among them.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Auth wraps h with the API token check, for routes mounted from outside.
func (s *Server) Auth(h http.HandlerFunc) http.Handler { return s.auth(h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// auth wraps h with the api.token check (httpauth: the same rules as the
// webhooks). A refusal is a 401 with the Bearer challenge.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := s.guard
		// Calendar apps subscribe to a URL and cannot send headers.
		g.Query = strings.HasSuffix(r.URL.Path, ".ics")
		if refusal := g.Check(r); refusal != nil {
			g.Challenge(w.Header())
			httpjson.Error(w, http.StatusUnauthorized, refusal.Message)
			return
		}
		h(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		var known NotReady
		if errors.As(err, &known) {
			httpjson.Error(w, http.StatusServiceUnavailable, string(known))
			return
		}
		// Anyone may ask /readyz: the answer is a fixed sentence, the
		// failure's detail (Redis's address) goes to the log.
		s.unavailable(err, "/readyz")
		httpjson.Error(w, http.StatusServiceUnavailable, notReady)
		return
	}
	s.outage.OK()
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ListReply is the answer of GET /v1/incidents: one page of incidents
// (without timelines) and, when more may follow, the opaque cursor that
// fetches the next page as ?cursor=. The cursor keeps its place while
// incidents are opened and resolved: a walk returns no incident twice.
type ListReply struct {
	Incidents  []IncidentView `json:"incidents"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// IncidentView is the JSON form of one incident with its timeline.
type IncidentView struct {
	incident.Incident
	Ref      string           `json:"ref"`
	Timeline []incident.Event `json:"timeline,omitempty"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f, err := incident.ParseFilter(r.URL.Query().Get("status"))
	if err != nil {
		s.fail(w, err)
		return
	}
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 1000 {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to 1000 (got %q)", l))
			return
		}
	}
	list, next, err := s.incidents.ListPage(r.Context(), f, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		s.fail(w, err)
		return
	}
	views := make([]IncidentView, len(list))
	for i := range list {
		views[i] = IncidentView{Incident: list[i], Ref: list[i].Ref()}
	}
	httpjson.Write(w, http.StatusOK, ListReply{Incidents: views, NextCursor: next})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	n, ok := number(w, r)
	if !ok {
		return
	}
	inc, tl, err := s.incidents.Get(r.Context(), n)
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, IncidentView{Incident: inc, Ref: inc.Ref(), Timeline: tl})
}

// transitionBody is the JSON body of ack, resolve and escalate. The note is
// kept on the transition's timeline event, cut to incident.MaxNote characters.
type transitionBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

func (s *Server) transition(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := number(w, r)
		if !ok {
			return
		}
		var body transitionBody
		if err := httpjson.Decode(http.MaxBytesReader(w, r.Body, 64<<10), &body); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "the body must be JSON like {\"by\":\"alice\",\"note\":\"\"}; "+jsonProblem(err))
			return
		}
		if body.By == "" {
			httpjson.Error(w, http.StatusBadRequest, "field \"by\" must name the person acting, such as \"alice\"")
			return
		}
		if !s.people(body.By) {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("field \"by\": %q is not in people", body.By))
			return
		}
		var (
			inc incident.Incident
			err error
		)
		switch op {
		case "ack":
			inc, err = s.incidents.Ack(r.Context(), n, body.By, body.Note)
			if err == nil && s.onAck != nil {
				s.onAck("api")
			}
		case "resolve":
			inc, err = s.incidents.Resolve(r.Context(), n, body.By, body.Note)
		case "escalate":
			inc, err = s.escalate(r.Context(), n, body.By, body.Note)
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, IncidentView{Incident: inc, Ref: inc.Ref()})
	}
}

func number(w http.ResponseWriter, r *http.Request) (int64, bool) {
	raw := strings.TrimPrefix(strings.ToUpper(r.PathValue("n")), "INC-")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%q is not an incident number such as 42 or INC-42", r.PathValue("n")))
		return 0, false
	}
	return n, true
}

// statusOf is the one table from outcome codes to HTTP statuses. A code
// missing from it is a 503: the caller may retry.
var statusOf = map[incident.Code]int{
	incident.NotFound:            http.StatusNotFound,
	incident.AlreadyAcknowledged: http.StatusConflict,
	incident.AlreadyResolved:     http.StatusConflict,
	incident.AlreadyAssigned:     http.StatusConflict,
	incident.Invalid:             http.StatusBadRequest,
	incident.Unprocessable:       http.StatusUnprocessableEntity,
	incident.Held:                http.StatusConflict,
	incident.Unavailable:         http.StatusServiceUnavailable,
}

// status returns the HTTP status of an outcome code, by statusOf.
func status(code incident.Code) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusServiceUnavailable
}

// fail writes err as its code's status and its sentence
// (incident.ErrorCode, incident.ErrorMessage). An error without an outcome
// is a 503 with the one apology, and its detail goes to the log.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code := incident.ErrorCode(err)
	if code == incident.Unavailable {
		s.unavailable(err, "api")
	}
	httpjson.Error(w, status(code), incident.ErrorMessage(err))
}

// notReady is /readyz's answer while the store does not answer or refuses
// writes.
const notReady = "not ready: the incident store is unavailable; retry later"

// unavailable logs a store failure: once per outage through Options.Outage,
// else one ERROR line.
func (s *Server) unavailable(err error, route string) {
	if s.outage == nil {
		s.log.Error("api request failed", "route", route, "err", err)
		return
	}
	s.outage.Failed(err, "route", route)
	s.log.Debug("api request failed", "route", route, "err", err)
}

// jsonProblem says what is wrong with a request body in a person's words,
// without encoding/json's Go type names: where the syntax breaks, which
// field has the wrong kind of value, or that the body is empty or too large.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	var trailing *httpjson.TrailingDataError
	switch {
	case errors.As(err, &trailing):
		return fmt.Sprintf("it has more data after the JSON object, at byte %d; send exactly one object", trailing.Offset)
	case errors.As(err, &syn):
		return fmt.Sprintf("it is not valid JSON (%s at byte %d)", syn.Error(), syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, httpjson.Want(typ.Type), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("it must be a JSON object, not %s", typ.Value)
	case errors.As(err, &big):
		return fmt.Sprintf("it is larger than %d bytes", big.Limit)
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends in the middle of a value"
	}
	// Decoder.DisallowUnknownFields reports `json: unknown field "x"`, with no type of its own.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "it has field " + f + ", which this request does not take"
	}
	return "it could not be read"
}
