package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
)

// Overrides is what the API needs of the overrides store.
type Overrides interface {
	Create(ctx context.Context, o rotations.Override, now time.Time) (rotations.Override, error)
	List(ctx context.Context, rotation string) ([]rotations.Override, error)
	Delete(ctx context.Context, rotation, id string) error
}

// RegisterOnCall mounts the on-call routes, all behind api.token (the
// calendar feed also takes ?token=, since calendar apps cannot send headers):
//
//	GET    /v1/oncall?service=&rotation=&at=
//	GET    /v1/rotations/{name}.ics
//	POST   /v1/rotations/{name}/overrides        {"person","from","until","by"}
//	GET    /v1/rotations/{name}/overrides
//	DELETE /v1/rotations/{name}/overrides/{id}
func (s *Server) RegisterOnCall(board *oncall.Board, ovs Overrides, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	h := &onCallHandlers{board: board, ovs: ovs, now: now, fail: s.fail, people: s.people,
		maint: func() MaintenanceStore { return s.maint }}
	s.Handle("GET /v1/oncall", s.auth(h.view))
	s.Handle("GET /v1/rotations/{file}", s.auth(h.feed))
	s.Handle("POST /v1/rotations/{name}/overrides", s.auth(h.createOverride))
	s.Handle("GET /v1/rotations/{name}/overrides", s.auth(h.listOverrides))
	s.Handle("DELETE /v1/rotations/{name}/overrides/{id}", s.auth(h.deleteOverride))
}

type onCallHandlers struct {
	board *oncall.Board
	ovs   Overrides
	now   func() time.Time
	fail  func(http.ResponseWriter, error)
	// people says whether a person id exists (Options.KnownPerson), for "by".
	people func(id string) bool
	// maint is the maintenance store once RegisterMaintenance ran (nil:
	// GET /v1/oncall lists no windows).
	maint func() MaintenanceStore
}

// windows are the maintenance windows active now, of service ("" for all),
// for GET /v1/oncall: chat's /oncall shows them under who is on call. A
// failure to read them is the request's failure, as the rotation's.
func (h *onCallHandlers) windows(ctx context.Context, service string) ([]incident.Maintenance, error) {
	st := h.maint()
	if st == nil {
		return nil, nil
	}
	list, err := st.Maintenances(ctx, h.now())
	if err != nil {
		return nil, err
	}
	var out []incident.Maintenance
	for _, m := range list {
		if service == "" || m.Service == service {
			out = append(out, m)
		}
	}
	return out, nil
}

func (h *onCallHandlers) view(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	at := h.now()
	if raw := q.Get("at"); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("at must be an RFC 3339 time such as 2026-11-24T09:00:00Z (got %q)", raw))
			return
		}
		at = t
	}
	if q.Get("service") == "" && q.Get("rotation") == "" {
		all, err := h.board.All(r.Context(), at)
		if err != nil {
			h.fail(w, err)
			return
		}
		ws, err := h.windows(r.Context(), "")
		if err != nil {
			h.fail(w, err)
			return
		}
		out := map[string]any{"oncall": all}
		if len(ws) > 0 {
			out["maintenance"] = ws
		}
		httpjson.Write(w, http.StatusOK, out)
		return
	}
	rot, err := h.board.RotationFor(q.Get("service"), q.Get("rotation"))
	if err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	v, err := h.board.View(r.Context(), rot, at)
	if err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	// A rotation asked for by name shows every window (which services it
	// serves is the config's); a service shows its own.
	ws, err := h.windows(r.Context(), q.Get("service"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, onCallAnswer{OnCallView: v, Maintenance: ws})
}

func (h *onCallHandlers) feed(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "the calendar feed is /v1/rotations/NAME.ics")
		return
	}
	rot, err := h.board.RotationFor("", name)
	if err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	body, err := h.board.Feed(r.Context(), rot, h.now())
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name+".ics"))
	_, _ = w.Write(body)
}

// onCallAnswer is GET /v1/oncall's answer for one rotation: its view and
// the active maintenance windows, when any.
type onCallAnswer struct {
	rotations.OnCallView
	Maintenance []incident.Maintenance `json:"maintenance,omitempty"`
}

// overrideBody is the JSON of an override, in and out. By is who makes it:
// a person id, or rotations.OverrideByAPI when the request names nobody.
type overrideBody struct {
	ID      string    `json:"id,omitempty"`
	Person  string    `json:"person"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	By      string    `json:"by,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

func overrideView(o rotations.Override) overrideBody {
	return overrideBody{ID: o.ID, Person: o.Person, From: o.From, Until: o.Until, By: o.By, Created: o.Created}
}

func (h *onCallHandlers) createOverride(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := h.board.RotationFor("", name); err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	var body overrideBody
	if err := httpjson.Decode(http.MaxBytesReader(w, r.Body, 16<<10), &body); err != nil {
		httpjson.Error(w, http.StatusBadRequest, `the body must be JSON like {"person":"alice","from":"2026-11-24T09:00:00Z","until":"2026-11-24T17:00:00Z"}; `+jsonProblem(err))
		return
	}
	if body.Person == "" || body.From.IsZero() || body.Until.IsZero() {
		httpjson.Error(w, http.StatusBadRequest, `fields "person", "from" and "until" are all required (times in RFC 3339)`)
		return
	}
	switch {
	case body.By == "":
		body.By = rotations.OverrideByAPI
	case !h.people(body.By):
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("field \"by\": %q is not in people", body.By))
		return
	}
	o, err := h.ovs.Create(r.Context(), rotations.Override{Rotation: name, Person: body.Person, From: body.From, Until: body.Until, By: body.By}, h.now())
	if err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	httpjson.Write(w, http.StatusCreated, overrideView(o))
}

func (h *onCallHandlers) listOverrides(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := h.board.RotationFor("", name); err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	list, err := h.ovs.List(r.Context(), name)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]overrideBody, len(list))
	for i, o := range list {
		out[i] = overrideView(o)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"overrides": out})
}

func (h *onCallHandlers) deleteOverride(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := h.board.RotationFor("", name); err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	if err := h.ovs.Delete(r.Context(), name, r.PathValue("id")); err != nil {
		h.fail(w, onCallOutcome(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// onCallOutcome gives the on-call board's and the overrides store's
// refusals their outcome code, keeping their own sentence, so that they go
// through the one status table (statusOf) like every other outcome;
// anything else (Redis failing) stays Unavailable.
func onCallOutcome(err error) error {
	var code incident.Code
	switch {
	case errors.Is(err, oncall.ErrUnknownRotation), errors.Is(err, oncall.ErrUnknownService), errors.Is(err, rotations.ErrOverrideNotFound):
		code = incident.NotFound
	case errors.Is(err, oncall.ErrNoRotation), errors.Is(err, rotations.ErrNotStarted):
		code = incident.Unprocessable
	case errors.Is(err, rotations.ErrEmptyRange), errors.Is(err, rotations.ErrOverrideTooLong),
		errors.Is(err, rotations.ErrUnknownPerson), errors.Is(err, rotations.ErrUnknownRotation),
		errors.Is(err, oncall.ErrServiceAndRotation):
		code = incident.Invalid
	default:
		return err
	}
	return &incident.Error{Code: code, Message: err.Error()}
}
