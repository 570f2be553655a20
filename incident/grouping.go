package incident

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Grouping is a service's alert grouping (config services[].grouping), as
// PagerDuty's time-based and content-based grouping: while an incident of the
// service opened less than Window ago is still triggered, a firing alert with
// another dedup key joins it instead of opening an incident, provided it has
// the same values of the fields By names as the alert that opened it (no By:
// every alert of the service joins). A zero Window is no grouping.
type Grouping struct {
	// Window is how long after an incident opened it takes new alerts
	// (0 < Window ≤ MaxGroupingWindow).
	Window time.Duration
	// By are field paths of an Alert (GroupingFieldError says which): the
	// alerts of one group agree on all of them. An alert that lacks one of
	// them is not grouped: it opens its own incident as without grouping.
	By []string
}

// MaxGroupingWindow is the longest grouping window config accepts.
const MaxGroupingWindow = 24 * time.Hour

// groupingTopFields are the top-level Alert fields a grouping may be by.
var groupingTopFields = []string{"source", "name", "severity", "summary"}

// GroupingFieldError says what is wrong with a grouping field path, or nil
// when path names a field an alert has: one of source, name (the monitor or
// alarm name), severity, summary (the title), or details.<key> (a key of the
// alert's details, nested objects by further dots: details.labels.host).
func GroupingFieldError(path string) error {
	for _, f := range groupingTopFields {
		if path == f {
			return nil
		}
	}
	if rest, ok := strings.CutPrefix(path, "details."); ok {
		for _, part := range strings.Split(rest, ".") {
			if part == "" {
				return fmt.Errorf("has an empty key in %q (write details.<key>, e.g. details.host)", path)
			}
		}
		return nil
	}
	return fmt.Errorf("is not a field of an alert (got %q): use source, name, severity, summary or details.<key>", path)
}

// groupDigest names the group an alert of service a.Service falls in under
// g: a digest of the service and the values of g.By, or ok false when g is
// off or a field of g.By is missing (or null) in the alert. Each part is
// written with its length first, so values that contain the separator
// cannot make two different sets of values one group ("x\ny","z" and
// "x","y\nz").
func (g Grouping) groupDigest(a Alert) (digest string, ok bool) {
	if g.Window <= 0 {
		return "", false
	}
	var b strings.Builder
	part := func(v string) { fmt.Fprintf(&b, "%d:%s\n", len(v), v) }
	part(a.Service)
	for _, path := range g.By {
		v, ok := a.groupValue(path)
		if !ok {
			return "", false
		}
		part(v)
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:]), true
}

// groupValue is the value of a grouping field path in a, as text: a string
// as it is, anything else (numbers, booleans, objects) as JSON. A string
// that is empty or only white space counts as missing, as webhook templates
// fill a field they could not resolve with "": it is not "the same host".
func (a Alert) groupValue(path string) (string, bool) {
	present := func(s string) (string, bool) { return s, strings.TrimSpace(s) != "" }
	switch path {
	case "source":
		return present(a.Source)
	case "name":
		return present(a.Name)
	case "severity":
		return present(string(a.Severity))
	case "summary":
		return present(a.Summary)
	}
	rest, ok := strings.CutPrefix(path, "details.")
	if !ok {
		return "", false
	}
	var cur any = a.Details
	for _, part := range strings.Split(rest, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return "", false
		}
	}
	if s, ok := cur.(string); ok {
		return present(s)
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return "", false
	}
	return string(raw), true
}

// WithGrouping gives the store each service's alert grouping; f answers
// the zero Grouping for a service without one. Without this option no
// alert is grouped. f must not block.
func WithGrouping(f func(service string) Grouping) StoreOption {
	return func(s *Store) { s.grouping = f }
}
