package intake

import (
	"strconv"
	"strings"
	"time"
)

// Source times. Each parser sets incident.Alert.SourceTime to when the source
// says the state changed, so that the store can tell a firing alert that a
// recovery overtook on the way. A time that is absent or cannot be read is
// the receive time: the alert is never refused for it.

// maxSourceAhead is how far past the receive time a source time may lie
// (clock skew between the source and baton). A time further ahead is taken
// as wrong and replaced by the receive time, so that one bad clock cannot
// make a recovery outrank every alert of the next hour.
const maxSourceAhead = 5 * time.Minute

// minSourceTime rejects zero, tiny and otherwise meaningless times.
var minSourceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// sourceTime returns the first of ts that is a plausible source time for an
// alert received at now, else now.
func sourceTime(now time.Time, ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() && !t.Before(minSourceTime) && !t.After(now.Add(maxSourceAhead)) {
			return t.UTC()
		}
	}
	return now
}

// sumoTimeLayouts are the TriggerTime (and FireTime) spellings baton reads:
// Sumo Logic's own, "11/24/2025 02:21:10 PM UTC", with a numeric offset in
// place of the zone, and RFC 3339 for templates that format it themselves.
var sumoTimeLayouts = []string{
	"01/02/2006 03:04:05 PM -0700",
	time.RFC3339Nano,
}

// parseSumoTime reads a Sumo Logic time: its own format in UTC or GMT (a
// zone abbreviation with no fixed offset, such as PST, is not trusted),
// with a numeric offset, RFC 3339, or epoch milliseconds (TriggerTimeEnd).
func parseSumoTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms)
	}
	for _, z := range []string{" UTC", " GMT"} {
		if rest, ok := strings.CutSuffix(s, z); ok {
			s = rest + " +0000"
			break
		}
	}
	for _, layout := range sumoTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseCloudWatchTime reads StateChangeTime, "2026-11-24T07:20:00.000+0000",
// or RFC 3339.
func parseCloudWatchTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05.999-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseGenericTime reads the generic format's timestamp: an RFC 3339 string,
// or a JSON number of Unix seconds (milliseconds when it is too large for
// seconds, above 10^11).
func parseGenericTime(raw []byte) time.Time {
	switch c := firstByte(raw); {
	case c == '"':
		s, err := rawString(raw)
		if err != nil {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}
		}
		return t
	case c == '-' || ('0' <= c && c <= '9'):
		f, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
		if err != nil || f <= 0 || f > 1e15 {
			return time.Time{}
		}
		if f > 1e11 {
			return time.UnixMilli(int64(f))
		}
		return time.UnixMilli(int64(f * 1000))
	}
	return time.Time{}
}
