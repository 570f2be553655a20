package analytics

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultDays is the length of a period when only its end is given.
const DefaultDays = 28

// ParseRange reads a period as people type it, for the CLI, the HTTP API
// and chat. to is RFC 3339, a date (2006-01-02: that day's midnight in
// loc) or "" / "now" for now. from is RFC 3339, a date, a length before to
// such as 7d, 4w or 36h, or "" for DefaultDays before to. Days and weeks
// count calendar days in loc, so "7d" from a Monday midnight is the
// previous Monday midnight even across a DST change.
func ParseRange(from, to string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	end := now
	if to != "" && to != "now" {
		t, err := parseInstant(to, loc)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("to: %w", err)
		}
		end = t
	}
	if from == "" {
		from = strconv.Itoa(DefaultDays) + "d"
	}
	if start, ok, err := parseLength(from, end, loc); ok {
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("from: %w", err)
		}
		return start, end, nil
	}
	start, err := parseInstant(from, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: %w (or a length such as 7d, 4w, 36h)", err)
	}
	return start, end, nil
}

func parseInstant(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time such as 2026-03-02T09:00:00Z nor a date such as 2026-03-02", s)
}

// parseLength reads "7d", "4w" or "36h" as that long before end; ok is
// false when s does not look like a length at all.
func parseLength(s string, end time.Time, loc *time.Location) (time.Time, bool, error) {
	if len(s) < 2 || !strings.ContainsAny(s[len(s)-1:], "dwh") || strings.ContainsAny(s, "-:T") {
		return time.Time{}, false, nil
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return time.Time{}, true, fmt.Errorf("%q is not a length such as 7d, 4w or 36h", s)
	}
	switch s[len(s)-1] {
	case 'h':
		return end.Add(-time.Duration(n) * time.Hour), true, nil
	case 'w':
		n *= 7
	}
	return end.In(loc).AddDate(0, 0, -n), true, nil
}
