package incident_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/batonhq/baton/incident"
)

// Each outcome has one wording, whoever shows it.
func TestOutcomeSentences(t *testing.T) {
	tests := []struct {
		name   string
		code   incident.Code
		n      int64
		person string
		want   string
	}{
		{"not found", incident.NotFound, 4, "", "There is no INC-4."},
		{"not found without a number", incident.NotFound, 0, "", "There is no such incident."},
		{"acknowledged by the owner", incident.AlreadyAcknowledged, 4, "alice", "INC-4 is already acknowledged by alice."},
		{"acknowledged by a display name", incident.AlreadyAcknowledged, 4, "Alice Smith", "INC-4 is already acknowledged by Alice Smith."},
		{"acknowledged, owner unknown", incident.AlreadyAcknowledged, 4, "", "INC-4 is already acknowledged."},
		{"resolved", incident.AlreadyResolved, 4, "", "INC-4 is already resolved."},
		{"resolved without a number", incident.AlreadyResolved, 0, "", "The incident is already resolved."},
		{"assigned to the assignee", incident.AlreadyAssigned, 4, "bob", "INC-4 is already assigned to bob."},
		{"assigned, assignee unknown", incident.AlreadyAssigned, 4, "", "INC-4 is already assigned to that person."},
		{"invalid without a reason", incident.Invalid, 0, "", "That request is not valid."},
		{"unavailable", incident.Unavailable, 4, "", "The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := incident.NewError(tc.code, tc.n, tc.person)
			if e.Message != tc.want || e.Error() != tc.want {
				t.Errorf("NewError(%s, %d, %q) says %q (Error %q), want %q", tc.code, tc.n, tc.person, e.Message, e.Error(), tc.want)
			}
			if e.Code != tc.code || e.Incident != tc.n || e.Person != tc.person {
				t.Errorf("NewError carries %+v", e)
			}
		})
	}
}

// ErrorCode and ErrorMessage look through labels; anything without an
// *Error is Unavailable with the one apology, its detail kept for the log.
func TestErrorCodeAndMessage(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode incident.Code
		wantSay  string
	}{
		{"nil", nil, "", ""},
		{"wrapped outcome", fmt.Errorf("ack INC-4: %w", incident.NewError(incident.AlreadyResolved, 4, "")), incident.AlreadyResolved, "INC-4 is already resolved."},
		{"twice wrapped", fmt.Errorf("store alert: %w", fmt.Errorf("open: %w", incident.Errorf(incident.Invalid, "An alert needs a service and a dedup key."))), incident.Invalid, "An alert needs a service and a dedup key."},
		{"sentinel", fmt.Errorf("chat link slack:C1: %w", incident.ErrNotFound), incident.NotFound, "There is no such incident."},
		{"Redis down", fmt.Errorf("get INC-4: %w", errors.New("dial tcp 127.0.0.1:6379: connection refused")), incident.Unavailable, "The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := incident.ErrorCode(tc.err); got != tc.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tc.wantCode)
			}
			if got := incident.ErrorMessage(tc.err); got != tc.wantSay {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.wantSay)
			}
		})
	}
}

// The sentinels match every outcome of their code, and only those.
func TestSentinelsMatchByCode(t *testing.T) {
	sentinels := map[incident.Code]error{
		incident.NotFound:            incident.ErrNotFound,
		incident.AlreadyAcknowledged: incident.ErrAlreadyAcknowledged,
		incident.AlreadyResolved:     incident.ErrAlreadyResolved,
		incident.AlreadyAssigned:     incident.ErrSameOwner,
	}
	for code := range sentinels {
		err := fmt.Errorf("op INC-7: %w", incident.NewError(code, 7, "carol"))
		for other, sentinel := range sentinels {
			if got, want := errors.Is(err, sentinel), other == code; got != want {
				t.Errorf("errors.Is(%s outcome, sentinel %s) = %v, want %v", code, other, got, want)
			}
		}
	}
	if errors.Is(errors.New("no such incident"), incident.ErrNotFound) {
		t.Error("a plain error matched ErrNotFound")
	}
}
