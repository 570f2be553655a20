package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/chart"
	"github.com/batonhq/baton/internal/httpjson"
)

// AnalyticsOptions configure the analytics routes.
type AnalyticsOptions struct {
	// Source feeds the reports (analytics/redisstore in production).
	Source analytics.Source
	// Zone places day and week boundaries and reads dates in from and to
	// (config analytics.timezone); nil means UTC.
	Zone *time.Location
	// PersonZone returns a person's zone, which decides which pages were
	// out of hours; nil, or a nil answer, means Zone.
	PersonZone func(person string) *time.Location
	// KnownService says whether service= names a configured service; nil
	// accepts any name.
	KnownService func(name string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RegisterAnalytics mounts the analytics routes, behind api.token:
//
//	GET /v1/analytics?from=&to=&service=&by=                      the report as JSON, with the previous period
//	GET /v1/analytics/chart.png?from=&to=&service=&by=&width=&height=   MTTA, MTTR and incidents per bucket
//
// from is RFC 3339, a date, or a length before to (7d, 4w, 36h; default
// 28d); to is RFC 3339, a date or now (default); dates are midnight in
// Zone. by is day or week (default). A bad parameter is a 400 with a
// sentence saying which and why.
func (s *Server) RegisterAnalytics(o AnalyticsOptions) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	h := &analyticsHandlers{o: o, fail: s.fail}
	s.Handle("GET /v1/analytics", s.auth(h.report))
	s.Handle("GET /v1/analytics/chart.png", s.auth(h.chart))
}

type analyticsHandlers struct {
	o    AnalyticsOptions
	fail func(http.ResponseWriter, error)
}

// query reads the report's parameters; allowed names any besides from,
// to, service and by. On a bad one it writes the 400 and returns false.
func (h *analyticsHandlers) query(w http.ResponseWriter, r *http.Request, extra ...string) (analytics.Query, bool) {
	q := r.URL.Query()
	known := append([]string{"from", "to", "service", "by"}, extra...)
	for name := range q {
		if !slices.Contains(known, name) {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("unknown parameter %q: use %s", name, strings.Join(known, ", ")))
			return analytics.Query{}, false
		}
	}
	from, to, err := analytics.ParseRange(q.Get("from"), q.Get("to"), h.o.Now(), h.o.Zone)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return analytics.Query{}, false
	}
	by, err := analytics.ParseGranularity(q.Get("by"))
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return analytics.Query{}, false
	}
	service := q.Get("service")
	if service != "" && h.o.KnownService != nil && !h.o.KnownService(service) {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("service %q is not in services", service))
		return analytics.Query{}, false
	}
	aq := analytics.Query{From: from, To: to, Service: service, By: by, Zone: h.o.Zone, PersonZone: h.o.PersonZone}
	if err := aq.Validate(); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return analytics.Query{}, false
	}
	return aq, true
}

func (h *analyticsHandlers) report(w http.ResponseWriter, r *http.Request) {
	q, ok := h.query(w, r)
	if !ok {
		return
	}
	rep, err := analytics.Build(r.Context(), h.o.Source, q)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, rep)
}

func (h *analyticsHandlers) chart(w http.ResponseWriter, r *http.Request) {
	q, ok := h.query(w, r, "width", "height")
	if !ok {
		return
	}
	size := func(name string, def int) (int, bool) {
		raw := r.URL.Query().Get(name)
		if raw == "" {
			return def, true
		}
		v, err := strconv.Atoi(raw)
		if err != nil || v < 200 || v > 2000 {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%s must be a number of pixels from 200 to 2000 (got %q)", name, raw))
			return 0, false
		}
		return v, true
	}
	width, ok := size("width", chart.Width)
	if !ok {
		return
	}
	height, ok := size("height", chart.Height)
	if !ok {
		return
	}
	a, err := analytics.NewAccumulator(q)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := h.o.Source.Scan(r.Context(), q.From, q.To, a); err != nil {
		h.fail(w, fmt.Errorf("analytics: %w", err))
		return
	}
	png, err := chart.PNG(a.Report(), width, height)
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}
