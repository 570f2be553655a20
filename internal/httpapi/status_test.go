package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
)

// Every outcome code has its status in the one table; a code the table
// does not know is a 503, which a caller may retry.
func TestStatusOfEveryCode(t *testing.T) {
	tests := []struct {
		name string
		code incident.Code
		want int
	}{
		{"not found", incident.NotFound, http.StatusNotFound},
		{"already acknowledged", incident.AlreadyAcknowledged, http.StatusConflict},
		{"already resolved", incident.AlreadyResolved, http.StatusConflict},
		{"already assigned", incident.AlreadyAssigned, http.StatusConflict},
		{"invalid", incident.Invalid, http.StatusBadRequest},
		{"unprocessable", incident.Unprocessable, http.StatusUnprocessableEntity},
		{"held by a maintenance window", incident.Held, http.StatusConflict},
		{"unavailable", incident.Unavailable, http.StatusServiceUnavailable},
		{"a code the table does not know", incident.Code("new_outcome"), http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := status(tc.code); got != tc.want {
				t.Errorf("status(%q) = %d, want %d", tc.code, got, tc.want)
			}
		})
	}
	if len(statusOf) != len(tests)-1 {
		t.Errorf("statusOf has %d codes and this test names %d: test the new one", len(statusOf), len(tests)-1)
	}
}

// The on-call board's and overrides store's refusals go through the same
// table, with their own sentence; anything else is the store failing.
func TestOnCallOutcomes(t *testing.T) {
	redisDown := errors.New("dial tcp 127.0.0.1:6379: connection refused")
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"unknown rotation", fmt.Errorf("rotation %q: %w", "ghost", oncall.ErrUnknownRotation), http.StatusNotFound},
		{"unknown service", fmt.Errorf("service %q: %w", "ghost", oncall.ErrUnknownService), http.StatusNotFound},
		{"unknown override", fmt.Errorf("override x: %w", rotations.ErrOverrideNotFound), http.StatusNotFound},
		{"service without rotation", fmt.Errorf("service %q: %w", "db", oncall.ErrNoRotation), http.StatusUnprocessableEntity},
		{"rotation not started", fmt.Errorf("rotation later: %w", rotations.ErrNotStarted), http.StatusUnprocessableEntity},
		{"service and rotation", oncall.ErrServiceAndRotation, http.StatusBadRequest},
		{"override too long", fmt.Errorf("%w: it covers 91 days", rotations.ErrOverrideTooLong), http.StatusBadRequest},
		{"empty range", rotations.ErrEmptyRange, http.StatusBadRequest},
		{"unknown person", fmt.Errorf("%w %q", rotations.ErrUnknownPerson, "zed"), http.StatusBadRequest},
		{"redis down", fmt.Errorf("load overrides of primary: %w", redisDown), http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := onCallOutcome(tc.err)
			if got := status(incident.ErrorCode(out)); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			want := tc.err.Error()
			if tc.status == http.StatusServiceUnavailable {
				want = incident.ErrorMessage(redisDown) // the one apology, no detail
			}
			if msg := incident.ErrorMessage(out); msg != want {
				t.Fatalf("sentence %q, want %q", msg, want)
			}
		})
	}
}
