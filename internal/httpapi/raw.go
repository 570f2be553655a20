package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/privacy"
)

// SealedStore is the slice of the incident store the raw route uses;
// *incident.Store implements it.
type SealedStore interface {
	SealedPayloads(ctx context.Context, n int64) ([]incident.SealedPayload, error)
	RawViewed(ctx context.Context, n int64, by, note string) error
}

// RawOptions configure GET /v1/incidents/{n}/raw.
type RawOptions struct {
	Store SealedStore
	// Sealer opens the envelopes; nil when privacy.seal_keys is empty
	// (the route then says no raw payload is kept).
	Sealer *privacy.Sealer
	// TTL is privacy.seal_ttl, for the 404's sentence.
	TTL time.Duration
}

// RawView is the answer of GET /v1/incidents/{n}/raw.
type RawView struct {
	Alerts []RawAlert `json:"alerts"`
	// Unreadable lists payloads that could not be opened (a key no longer
	// configured, an altered envelope), with why.
	Unreadable []RawUnreadable `json:"unreadable,omitempty"`
}

// RawAlert is one raw payload as received.
type RawAlert struct {
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Body       string    `json:"body"`
}

// RawUnreadable is a sealed payload the configured keys cannot open.
type RawUnreadable struct {
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
}

// maxBy is the longest ?by= the raw route takes.
const maxBy = 100

// RegisterRaw adds GET /v1/incidents/{n}/raw (api token): the incident's
// sealed raw payloads opened, newest first (at most
// incident.MaxSealedPayloads). ?by= names who looks, a person id in
// people (required, 400 without or for an unknown person); the look is recorded (a raw_viewed timeline event and an audit
// entry) before anything is shown, and a look that cannot be recorded
// shows nothing (503). 404 with a sentence when nothing is sealed.
func (s *Server) RegisterRaw(o RawOptions) {
	s.Handle("GET /v1/incidents/{n}/raw", s.auth(func(w http.ResponseWriter, r *http.Request) {
		n, ok := number(w, r)
		if !ok {
			return
		}
		by := r.URL.Query().Get("by")
		switch {
		case strings.TrimSpace(by) == "":
			httpjson.Error(w, http.StatusBadRequest, "query parameter ?by= must name who is looking, such as ?by=alice: every look at a raw payload is recorded")
			return
		case len(by) > maxBy || strings.IndexFunc(by, unicode.IsControl) >= 0:
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("query parameter ?by= must be one line of at most %d bytes", maxBy))
			return
		case !s.people(by):
			// As for overrides and transitions: the timeline names a
			// person who exists, not whatever the caller typed.
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("query parameter ?by=: %q is not in people; name the person looking by their id in people", by))
			return
		}
		if o.Sealer == nil {
			httpjson.Error(w, http.StatusNotFound, "no raw payload is kept: privacy.seal_keys is empty, so raw payloads are not sealed")
			return
		}
		payloads, err := o.Store.SealedPayloads(r.Context(), n)
		if err != nil {
			s.fail(w, err)
			return
		}
		if len(payloads) == 0 {
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("INC-%d has no sealed raw payload: none was kept, or they are older than privacy.seal_ttl (%s)", n, o.TTL))
			return
		}
		view := RawView{Alerts: []RawAlert{}}
		for _, p := range payloads {
			raw, err := o.Sealer.Open(p.Envelope)
			if err != nil {
				reason := "it does not open with the configured key of its id (altered, or the key's secret changed)"
				if errors.Is(err, privacy.ErrUnknownKey) {
					reason = fmt.Sprintf("it was sealed with key %q, which is no longer in privacy.seal_keys", privacy.KeyID(p.Envelope))
				}
				view.Unreadable = append(view.Unreadable, RawUnreadable{ReceivedAt: p.ReceivedAt, Reason: reason})
				continue
			}
			view.Alerts = append(view.Alerts, RawAlert{ReceivedAt: raw.ReceivedAt, Source: raw.Source, Body: string(raw.Body)})
		}
		note := fmt.Sprintf("%d raw %s opened", len(view.Alerts), plural(len(view.Alerts), "payload", "payloads"))
		if len(view.Unreadable) > 0 {
			note += fmt.Sprintf(", %d unreadable", len(view.Unreadable))
		}
		// Recorded before anything is shown: a look that is not in the
		// timeline shows nothing.
		if err := o.Store.RawViewed(r.Context(), n, by, note); err != nil {
			s.fail(w, err)
			return
		}
		s.log.Info("raw payloads viewed", "incident", n, "by", by, "opened", len(view.Alerts), "unreadable", len(view.Unreadable))
		httpjson.Write(w, http.StatusOK, view)
	}))
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
