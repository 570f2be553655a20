package httpapi

import (
	"net/http"
	"testing"

	"github.com/batonhq/baton/incident"
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
