package incident

import (
	"errors"
	"fmt"
)

// Code names the kind of an outcome error. The edges decide by it alone:
// the HTTP API maps each code to one status, chat shows the sentence.
type Code string

// Outcome codes. An error that is not an *Error has code Unavailable.
const (
	// NotFound: there is no such incident (or no incident behind a chat reference).
	NotFound Code = "not_found"
	// AlreadyAcknowledged: an acknowledge of an incident someone already owns.
	AlreadyAcknowledged Code = "already_acknowledged"
	// AlreadyResolved: a change to an incident that is resolved.
	AlreadyResolved Code = "already_resolved"
	// AlreadyAssigned: an assignment to the incident's owner.
	AlreadyAssigned Code = "already_assigned"
	// Invalid: the request itself is wrong (a bad filter, an alert without a
	// service); changing it, not retrying, helps.
	Invalid Code = "invalid"
	// Unprocessable: the request is well-formed, but what it names cannot
	// answer it now (a rotation that has not started, a service whose first
	// level names no rotation).
	Unprocessable Code = "unprocessable"
	// Held: the incident is held by its service's maintenance window (no
	// channel, nobody paged): paging anyone about it waits for the window's
	// end. The sentence names the window and how to end it.
	Held Code = "held"
	// Unavailable: the store failed or did not answer; nothing may have
	// changed and trying again may work.
	Unavailable Code = "unavailable"
)

// Error is an outcome a person can act on: its Code for the code that
// decides, its Message for the person who reads. The store returns it
// wrapped with a short label ("ack INC-4: …"); ErrorCode and ErrorMessage
// look through the wrapping.
type Error struct {
	// Code is the kind of outcome.
	Code Code
	// Message is the plain sentence for a person, such as
	// "INC-4 is already resolved.".
	Message string
	// Incident is the incident the outcome is about; 0 when none is known.
	Incident int64
	// Person is whom the sentence names, as the store knows them (a person
	// id): the owner for AlreadyAcknowledged, the assignee for
	// AlreadyAssigned; "" otherwise. An edge that names people differently
	// rewords it with NewError(Code, Incident, name).
	Person string
}

// Error returns the sentence.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error of the same code, so that
// errors.Is(err, ErrNotFound) holds for every not-found outcome, whatever
// incident its sentence names.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Outcome sentinels, for errors.Is: each matches every *Error of its code.
// Their messages are the sentences when no incident number is known.
var (
	ErrNotFound            error = NewError(NotFound, 0, "")
	ErrAlreadyResolved     error = NewError(AlreadyResolved, 0, "")
	ErrAlreadyAcknowledged error = NewError(AlreadyAcknowledged, 0, "")
	ErrSameOwner           error = NewError(AlreadyAssigned, 0, "")
)

// NewError returns the outcome code about incident n (0: not known) in its
// one wording, naming person as given (the store gives ids; chat gives
// display names):
//
//	NotFound             There is no INC-4.                      (n = 0: There is no such incident.)
//	AlreadyAcknowledged  INC-4 is already acknowledged by alice.  (person "": … acknowledged.)
//	AlreadyResolved      INC-4 is already resolved.
//	AlreadyAssigned      INC-4 is already assigned to alice.      (person "": … to that person.)
//	Invalid              That request is not valid.              (say why instead, with Errorf)
//	Unavailable          The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment.
func NewError(code Code, n int64, person string) *Error {
	it := "The incident"
	if n != 0 {
		it = fmt.Sprintf("INC-%d", n)
	}
	var msg string
	switch code {
	case NotFound:
		msg = "There is no such incident."
		if n != 0 {
			msg = fmt.Sprintf("There is no INC-%d.", n)
		}
	case AlreadyAcknowledged:
		msg = it + " is already acknowledged."
		if person != "" {
			msg = it + " is already acknowledged by " + person + "."
		}
	case AlreadyResolved:
		msg = it + " is already resolved."
	case AlreadyAssigned:
		msg = it + " is already assigned to that person."
		if person != "" {
			msg = it + " is already assigned to " + person + "."
		}
	case Invalid:
		msg = "That request is not valid."
	default:
		msg = UnavailableMessage
	}
	return &Error{Code: code, Message: msg, Incident: n, Person: person}
}

// UnavailableMessage is the sentence for every error that is not an *Error
// (Redis failed or timed out). It is fixed: whatever the failure, a client
// or a chat user reads this, never an address or an internal error.
const UnavailableMessage = "The incident store is unavailable; a change you asked for may or may not have been made (check before repeating it). Retry in a moment."

// Errorf returns an *Error of code whose Message is the formatted sentence;
// write it as a full sentence ("The status filter … is not one of …").
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain: "" for nil,
// Unavailable for an error that carries none (Redis failed or timed out).
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return Unavailable
}

// ErrorMessage returns the sentence of the first *Error in err's chain,
// without the labels it was wrapped in: "" for nil, and for an error that
// carries none the Unavailable sentence (the detail belongs in the log, not
// in front of a person).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return UnavailableMessage
}
