package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpjson"
)

// HeartbeatLister lists the configured heartbeat monitors at now, in the
// config's order (the wiring closes over the config and the incident
// store's Heartbeats). Errors are the store's.
type HeartbeatLister func(ctx context.Context, now time.Time) ([]incident.HeartbeatStatus, error)

// RegisterHeartbeats mounts GET /v1/heartbeats behind api.token: a JSON
// array of {"name","service","state":"waiting|up|missed","last_beat","due"}
// (last_beat and due null while waiting; RFC 3339). A beat is POST
// /v1/heartbeats/{name} with its own token (intake.RegisterHeartbeats).
func (s *Server) RegisterHeartbeats(list HeartbeatLister, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.Handle("GET /v1/heartbeats", s.auth(func(w http.ResponseWriter, r *http.Request) {
		hs, err := list(r.Context(), now())
		if err != nil {
			s.fail(w, err)
			return
		}
		if hs == nil {
			hs = []incident.HeartbeatStatus{}
		}
		httpjson.Write(w, http.StatusOK, hs)
	}))
}
