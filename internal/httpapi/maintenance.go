package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpjson"
)

// MaintenanceStore is the slice of the incident store the maintenance and
// page-in routes use; *incident.Store implements it.
type MaintenanceStore interface {
	StartMaintenance(ctx context.Context, service string, d time.Duration, long bool, by, reason string, now time.Time) (incident.Maintenance, error)
	EndMaintenance(ctx context.Context, id, by string, now time.Time) (incident.MaintenanceEnd, error)
	Maintenances(ctx context.Context, now time.Time) ([]incident.Maintenance, error)
	PageIn(ctx context.Context, n int64, person, by, reason string, now time.Time) (incident.Incident, error)
}

var _ MaintenanceStore = (*incident.Store)(nil)

// MaintenanceOptions configure the maintenance and page-in routes.
type MaintenanceOptions struct {
	Store MaintenanceStore
	// KnownService says whether a service is configured.
	KnownService func(string) bool
	// Wake, when set, is called after a change that made jobs due (the
	// engine's wakeup), so they run at once.
	Wake func()
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Reach, when set, says how a person can be reached, for a page-in:
	// Chat is the chat's name ("slack") and InChat whether the person has an
	// account there; Email whether baton can email them. Nil: everyone is
	// taken as reachable in chat.
	Reach func(ctx context.Context, person string) Reach
}

// Reach is how a person can be reached (MaintenanceOptions.Reach).
type Reach struct {
	Chat   string
	InChat bool
	Email  bool
}

// pageInView is POST /v1/incidents/{n}/page's answer: the incident, and a
// warning when the person paged in cannot be reached in chat.
type pageInView struct {
	IncidentView
	Warning string `json:"warning,omitempty"`
}

// maintenanceBody is POST /v1/maintenance's body.
type maintenanceBody struct {
	Service  string `json:"service"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
	By       string `json:"by"`
	Long     bool   `json:"long"`
}

// pageInBody is POST /v1/incidents/{n}/page's body.
type pageInBody struct {
	Person string `json:"person"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// ParseMaintenance checks a POST /v1/maintenance body as read (not the
// service's or the person's existence): the status and sentence of its
// refusal (400 for a body that is not the JSON asked for or lacks a field,
// 422 for a duration out of bounds), or the window's length.
func ParseMaintenance(raw []byte) (service string, d time.Duration, long bool, by, reason string, code int, msg string) {
	var b maintenanceBody
	if err := httpjson.Decode(bytes.NewReader(raw), &b); err != nil {
		return "", 0, false, "", "", http.StatusBadRequest,
			`the body must be JSON like {"service":"payments","duration":"2h","reason":"","by":"alice"}; ` + jsonProblem(err)
	}
	switch {
	case b.Service == "":
		return "", 0, false, "", "", http.StatusBadRequest, `field "service" must name a service, such as "payments"`
	case b.By == "":
		return "", 0, false, "", "", http.StatusBadRequest, `field "by" must name the person starting the window, such as "alice"`
	case b.Duration == "":
		return "", 0, false, "", "", http.StatusBadRequest, `field "duration" must say how long, such as "2h" or "90m"`
	}
	d, err := time.ParseDuration(b.Duration)
	if err != nil {
		return "", 0, false, "", "", http.StatusBadRequest, fmt.Sprintf(`field "duration": %q is not a duration such as "2h" or "90m"`, b.Duration)
	}
	if err := incident.CheckMaintenanceAs(b.Duration, d, b.Long, b.Reason); err != nil {
		return "", 0, false, "", "", status(incident.ErrorCode(err)), incident.ErrorMessage(err)
	}
	return b.Service, d, b.Long, b.By, b.Reason, 0, ""
}

// RegisterMaintenance mounts, behind api.token:
//
//	POST   /v1/maintenance         {"service","duration":"2h","reason","by","long"} → 201 the window
//	GET    /v1/maintenance         → 200 [the active windows]
//	DELETE /v1/maintenance/{id}?by= → 200 the summary of what it held
//	POST   /v1/incidents/{n}/page  {"person","by","reason"} → 200 the incident
//
// Refusals are {"error": sentence}: 400 a body or field wrong, 404 an
// unknown service, person, window or incident, 409 a service already in
// maintenance, a window ended already, a resolved incident or its own
// owner paged in, 422 a window's length out of bounds (and, for page, a
// body that is not the JSON asked for). Nothing changes on a refusal.
func (s *Server) RegisterMaintenance(o MaintenanceOptions) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KnownService == nil {
		o.KnownService = func(string) bool { return true }
	}
	s.maint = o.Store
	wake := func() {
		if o.Wake != nil {
			o.Wake()
		}
	}
	s.Handle("POST /v1/maintenance", s.auth(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := readBody(w, r)
		if !ok {
			return
		}
		svc, d, long, by, reason, st, msg := ParseMaintenance(raw)
		switch {
		case st != 0:
			httpjson.Error(w, st, msg)
			return
		case !o.KnownService(svc):
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("there is no service %q", svc))
			return
		case !s.people(by):
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf(`field "by": %q is not in people`, by))
			return
		}
		m, err := o.Store.StartMaintenance(r.Context(), svc, d, long, by, reason, o.Now())
		if err != nil {
			s.fail(w, err)
			return
		}
		wake()
		httpjson.Write(w, http.StatusCreated, m)
	}))
	s.Handle("GET /v1/maintenance", s.auth(func(w http.ResponseWriter, r *http.Request) {
		list, err := o.Store.Maintenances(r.Context(), o.Now())
		if err != nil {
			s.fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, list)
	}))
	s.Handle("DELETE /v1/maintenance/{id}", s.auth(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		by := r.URL.Query().Get("by")
		switch {
		case !incident.ValidMaintenanceID(id):
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%q is not a maintenance window id such as mw-3", id))
			return
		case by == "":
			httpjson.Error(w, http.StatusBadRequest, "?by= must name the person ending the window, such as ?by=alice")
			return
		case !s.people(by):
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("?by=: %q is not in people", by))
			return
		}
		end, err := o.Store.EndMaintenance(r.Context(), id, by, o.Now())
		if err != nil {
			s.fail(w, err)
			return
		}
		if end.Already {
			httpjson.Error(w, http.StatusConflict, fmt.Sprintf("%s ended already, at %s", id, incident.WindowTime(end.Summary.Ended)))
			return
		}
		wake()
		httpjson.Write(w, http.StatusOK, end.Summary)
	}))
	s.Handle("POST /v1/incidents/{n}/page", s.auth(func(w http.ResponseWriter, r *http.Request) {
		n, ok := number(w, r)
		if !ok {
			return
		}
		raw, ok := readBody(w, r)
		if !ok {
			return
		}
		var b pageInBody
		if err := httpjson.Decode(bytes.NewReader(raw), &b); err != nil {
			httpjson.Error(w, http.StatusUnprocessableEntity, `the body must be JSON like {"person":"gus","by":"dana","reason":""}; `+jsonProblem(err))
			return
		}
		switch {
		case b.Person == "":
			httpjson.Error(w, http.StatusUnprocessableEntity, `field "person" must name whom to page, such as "gus"`)
			return
		case b.By == "":
			httpjson.Error(w, http.StatusUnprocessableEntity, `field "by" must name the person asking, such as "dana"`)
			return
		case len([]rune(b.Reason)) > incident.MaxNote:
			httpjson.Error(w, http.StatusUnprocessableEntity, fmt.Sprintf(`field "reason" is %d characters; keep it under %d`, len([]rune(b.Reason)), incident.MaxNote))
			return
		case !s.people(b.Person):
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf(`field "person": %q is not in people`, b.Person))
			return
		case !s.people(b.By):
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf(`field "by": %q is not in people`, b.By))
			return
		}
		warning := ""
		if o.Reach != nil {
			reach := o.Reach(r.Context(), b.Person)
			switch {
			case !reach.InChat && !reach.Email:
				httpjson.Error(w, http.StatusUnprocessableEntity, fmt.Sprintf(
					"%s cannot be reached: no %s account found for them and no email address in people; nothing changed. Add their %s id or email to people, or page someone else in.",
					b.Person, reach.Chat, reach.Chat))
				return
			case !reach.InChat:
				warning = fmt.Sprintf("%s cannot be reached in %s (no account found); if their page-in is not delivered by email either, it is posted in the service's alerts channel.",
					b.Person, reach.Chat)
			}
		}
		inc, err := o.Store.PageIn(r.Context(), n, b.Person, b.By, b.Reason, o.Now())
		if err != nil {
			s.fail(w, err)
			return
		}
		wake()
		httpjson.Write(w, http.StatusOK, pageInView{IncidentView: IncidentView{Incident: inc, Ref: inc.Ref()}, Warning: warning})
	}))
}

// readBody reads a request body of at most 64 KiB; a larger one is a 400.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "the body could not be read; "+jsonProblem(err))
		return nil, false
	}
	return raw, true
}
