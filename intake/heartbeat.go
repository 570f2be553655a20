package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpauth"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/internal/outage"
)

// HeartbeatStore is what the heartbeat route needs of the incident store;
// *incident.Store implements it.
type HeartbeatStore interface {
	Beat(ctx context.Context, h incident.Heartbeat, now time.Time) (incident.BeatResult, error)
}

// HeartbeatOptions configure the heartbeat route.
type HeartbeatOptions struct {
	// Token is intake.tokens.heartbeat, sent as "Authorization: Bearer
	// <token>" (the scheme in any case); empty closes the route.
	Token string
	// Heartbeats are the configured monitors by name.
	Heartbeats map[string]incident.Heartbeat
	// MaxBodyBytes caps the (ignored) body; bigger bodies get 413.
	MaxBodyBytes int64
	// Store records beats.
	Store HeartbeatStore
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log may be nil.
	Log *slog.Logger
	// Outage, when set, is told of every store failure (shared with the
	// webhooks and the API); nil logs each at ERROR.
	Outage *outage.Log
}

// HeartbeatReply is the answer to a beat: 202 {"name","state","last_beat"}.
type HeartbeatReply struct {
	Name     string                  `json:"name"`
	State    incident.HeartbeatState `json:"state"`
	LastBeat time.Time               `json:"last_beat"`
}

// heartbeatUnavailable is the one answer to a beat when the store failed.
const heartbeatUnavailable = "the beat was NOT recorded: the incident store is unavailable; retry"

// RegisterHeartbeats mounts POST /v1/heartbeats/{name} on mux: a beat of the
// heartbeat monitor name. The body is optional and not read beyond its size
// limit. Answers: 202 HeartbeatReply; 401 without the heartbeat token (checked
// before the name, so a caller without it learns no names); 404 naming an
// unknown heartbeat; 413 for a body over the limit; 503 when the store
// failed (nothing recorded; retry).
func RegisterHeartbeats(mux Router, o HeartbeatOptions) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	guard := httpauth.Guard{Token: o.Token, Setting: "intake.tokens.heartbeat", Subject: "heartbeats"}
	mux.HandleFunc("POST /v1/heartbeats/{name}", func(w http.ResponseWriter, r *http.Request) {
		if refusal := guard.Check(r); refusal != nil {
			guard.Challenge(w.Header())
			httpjson.Error(w, http.StatusUnauthorized, refusal.Message)
			return
		}
		name := r.PathValue("name")
		h, ok := o.Heartbeats[name]
		if !ok {
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no heartbeat named %q is configured (heartbeats in the config)", name))
			return
		}
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(nil, r.Body, o.MaxBodyBytes)); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than the limit of %d bytes (intake.max_body_bytes); a beat needs none", o.MaxBodyBytes))
				return
			}
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("the body could not be read: %v", err))
			return
		}
		res, err := o.Store.Beat(r.Context(), h, o.Now())
		if err != nil {
			if o.Outage != nil {
				o.Outage.Failed(err, "route", "heartbeat")
			} else {
				o.Log.Error("heartbeat store failed", "heartbeat", name, "err", err)
			}
			httpjson.Error(w, http.StatusServiceUnavailable, heartbeatUnavailable)
			return
		}
		o.Outage.OK()
		if rec := res.Recovered; rec != nil {
			o.Log.Info("heartbeat beat again", "heartbeat", name, "service", h.Service, "incident", rec.Number, "outcome", rec.Outcome)
		} else {
			o.Log.Debug("heartbeat recorded", "heartbeat", name)
		}
		httpjson.Write(w, http.StatusAccepted, HeartbeatReply{Name: name, State: res.Status.State, LastBeat: *res.Status.LastBeat})
	})
}
