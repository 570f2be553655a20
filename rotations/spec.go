// Package rotations is baton's schedule math: who is on call in a rotation at
// an instant, when the shift changes hands, and how overrides replace the
// person on shift for a while.
//
// It is pure. Time enters as parameters (never time.Now), overrides arrive as
// values (the Redis store is the sub-package overrides), and nothing here
// knows an SDK. Every function is safe for concurrent use: a *Rotation and an
// *OverrideSet are immutable once built.
//
// Daily and weekly handoffs happen at a local wall-clock time in the
// rotation's IANA zone whatever DST does; hourly and duration shifts are
// absolute elapsed time. A wall time the clocks repeat or skip is placed by
// LocalTime, the rule calendar clients follow: a repeated time is its first
// occurrence, a skipped one is read with the offset before the gap.
// docs/rotations.md says the same in plain words.
package rotations

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Spec is a rotation as written in config.yaml. config.go fills it and checks
// that every participant is a known person; Compile checks everything else.
type Spec struct {
	// Name identifies the rotation in targets ("rotation:db-primary"),
	// overrides and Redis keys: [a-z0-9_-]+.
	Name string
	// Timezone is an IANA zone name such as "America/New_York".
	Timezone string
	// Shift is "hourly", "daily", "weekly" or a Go duration such as "12h".
	Shift string
	// Handoff is the local time shifts change hands: "Mon 09:00" for weekly,
	// "09:00" for daily; ignored for hourly and duration shifts.
	Handoff string
	// Start is a local date, 2006-01-02. The first shift begins at the first
	// handoff at or after the start of that date (hourly and duration shifts:
	// at local midnight of that date).
	Start string
	// Participants take shifts in order: shift k belongs to
	// Participants[k mod len]. A person may appear more than once.
	Participants []string
}

// FieldError is one problem with one field of a Spec. Compile joins one
// FieldError per problem with errors.Join; FieldErrors takes them apart again.
type FieldError struct {
	// Field names the Spec field as config.yaml spells it: "timezone",
	// "shift", "handoff", "start", "participants", "participants[2]", "name".
	// config.go prefixes it with "rotations[i].".
	Field string
	// Msg says what is wrong, for a human.
	Msg string
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrors returns every *FieldError in err's tree (errors.Join trees
// included), in order. It returns nil when there is none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Kind is how a rotation's shifts are measured.
type Kind int

// The shift kinds. Daily and weekly handoffs follow the local wall clock;
// hourly and duration shifts are absolute elapsed time.
const (
	KindHourly Kind = iota + 1
	KindDaily
	KindWeekly
	KindDuration
)

// String returns the kind as config.yaml spells it ("duration" for a Go
// duration).
func (k Kind) String() string {
	switch k {
	case KindHourly:
		return "hourly"
	case KindDaily:
		return "daily"
	case KindWeekly:
		return "weekly"
	case KindDuration:
		return "duration"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ValidID reports whether s has the shape of a name that other names refer
// to: rotation names, person ids and service names, everywhere in baton
// (configuration, targets, chat commands). That is one or more lowercase
// ASCII letters, digits, '-' or '_' ([a-z0-9_-]+). Such names appear in
// targets ("rotation:db-primary/next") and inside Redis hash tags, so they
// hold no ':', '/', '{' or '}'.
func ValidID(s string) bool { return idPattern.MatchString(s) }

var idPattern = regexp.MustCompile(`^[a-z0-9_-]+$`)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// Compile checks s and builds the rotation it describes. When s has problems
// it returns a nil *Rotation and errors.Join of one *FieldError per problem,
// all of them at once.
func Compile(s Spec) (*Rotation, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}

	switch {
	case s.Name == "":
		bad("name", "required")
	case !ValidID(s.Name):
		bad("name", "%q must match [a-z0-9_-]+", s.Name)
	}

	var loc *time.Location
	switch s.Timezone {
	case "":
		bad("timezone", "required: an IANA zone name such as Europe/Paris")
	case "Local":
		// time.LoadLocation("Local") is whatever the host is set to: two
		// replicas on differently configured hosts would disagree.
		bad("timezone", "must be an IANA zone name such as Europe/Paris, not Local")
	default:
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			bad("timezone", "unknown time zone %q", s.Timezone)
		} else {
			loc = l
		}
	}

	r := &Rotation{spec: s}
	r.spec.Participants = append([]string(nil), s.Participants...)
	shiftOK := true
	switch s.Shift {
	case "":
		bad("shift", "required: hourly, daily, weekly or a duration such as 12h")
		shiftOK = false
	case "hourly":
		r.kind, r.period = KindHourly, time.Hour
	case "daily":
		r.kind = KindDaily
	case "weekly":
		r.kind = KindWeekly
	default:
		d, err := time.ParseDuration(s.Shift)
		switch {
		case err != nil:
			bad("shift", "%q is not hourly, daily, weekly or a duration such as 12h", s.Shift)
			shiftOK = false
		case d < time.Minute:
			bad("shift", "%q is shorter than one minute", s.Shift)
			shiftOK = false
		case d%time.Minute != 0:
			bad("shift", "%q is not a whole number of minutes", s.Shift)
			shiftOK = false
		default:
			r.kind, r.period = KindDuration, d
		}
	}

	if shiftOK {
		switch r.kind {
		case KindDaily:
			if s.Handoff == "" {
				bad("handoff", `required for a daily shift: a local time such as "09:00"`)
			} else if h, m, ok := parseClock(s.Handoff); ok {
				r.hour, r.min = h, m
			} else if _, _, wok := parseWeekly(s.Handoff); wok {
				bad("handoff", `%q has a weekday; a daily handoff is a local time such as "09:00"`, s.Handoff)
			} else {
				bad("handoff", `%q is not a local time such as "09:00"`, s.Handoff)
			}
		case KindWeekly:
			if s.Handoff == "" {
				bad("handoff", `required for a weekly shift: a weekday and local time such as "Mon 09:00"`)
			} else if wd, hm, ok := parseWeekly(s.Handoff); ok {
				r.weekday, r.hour, r.min = wd, hm[0], hm[1]
			} else if _, _, cok := parseClock(s.Handoff); cok {
				bad("handoff", `%q has no weekday; a weekly handoff is a weekday and local time such as "Mon 09:00"`, s.Handoff)
			} else {
				bad("handoff", `%q is not a weekday and local time such as "Mon 09:00"`, s.Handoff)
			}
		}
	}

	var startDate time.Time
	if s.Start == "" {
		bad("start", "required: a local date such as 2026-01-05")
	} else if d, err := time.Parse(time.DateOnly, s.Start); err != nil {
		bad("start", "%q is not a date in the form 2006-01-02", s.Start)
	} else {
		startDate = d
	}

	if len(s.Participants) == 0 {
		bad("participants", "at least one person is required")
	}
	for i, p := range s.Participants {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("participants[%d]", i), "empty person id")
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	r.loc = loc
	y, m, d := startDate.Date()
	switch r.kind {
	case KindDaily:
		r.y, r.m, r.d, r.stepDays = y, m, d, 1
	case KindWeekly:
		skip := (int(r.weekday) - int(startDate.Weekday()) + 7) % 7
		first := startDate.AddDate(0, 0, skip) // startDate is UTC: pure calendar arithmetic
		r.y, r.m, r.d = first.Date()
		r.stepDays = 7
	default:
		r.y, r.m, r.d = y, m, d
	}
	r.firstDay = civilDay(r.y, r.m, r.d)
	r.first = r.handoff(0)
	return r, nil
}

// parseClock parses "H:MM" or "HH:MM", 00:00 to 23:59.
func parseClock(s string) (hour, min int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || hs[0] == '+' || ms[0] == '+' {
		return 0, 0, false
	}
	return h, m, true
}

// parseWeekly parses "Mon 09:00": a weekday (three letters or the full name,
// any case), one or more spaces, a clock time.
func parseWeekly(s string) (time.Weekday, [2]int, bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, [2]int{}, false
	}
	wd, ok := weekdays[strings.ToLower(f[0])]
	if !ok {
		return 0, [2]int{}, false
	}
	h, m, ok := parseClock(f[1])
	if !ok {
		return 0, [2]int{}, false
	}
	return wd, [2]int{h, m}, true
}

// civilDay numbers calendar dates: days since 1970-01-01, proleptic Gregorian.
func civilDay(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
