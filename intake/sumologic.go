package intake

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/privacy"
)

// sumoKey identifies one field baton reads from a Sumo Logic payload.
type sumoKey int

// The fields, named after Sumo Logic's template variables.
const (
	skName sumoKey = iota
	skDescription
	skMonitorType
	skDetectionMethod
	skQuery
	skQueryURL
	skResultsJSON
	skNumQueryResults
	skID
	skTriggerType
	skTriggerTime
	skTriggerTimeStart
	skTriggerTimeEnd
	skTriggerTimeRange
	skTriggerCondition
	skTriggerValue
	skAlertName
	skAlertResponseURL
	skSourceURL
	skPlaybook
	skSearchName
	skSearchDescription
	skSearchQuery
	skSearchQueryURL
	skTimeRange
	skFireTime
	skAggregateResultsJSON
	skRawResultsJSON
	skNumRawResults
	skSeverity
	skService
	skDedupKey
	numSumoKeys
)

// sumoVars is the canonical spelling of each field, for error messages about
// a field that is missing (a field that is present is named as the sender
// wrote it).
var sumoVars = [numSumoKeys]string{
	skName: "Name", skDescription: "Description", skMonitorType: "MonitorType",
	skDetectionMethod: "DetectionMethod", skQuery: "Query", skQueryURL: "QueryURL",
	skResultsJSON: "ResultsJson", skNumQueryResults: "NumQueryResults", skID: "Id",
	skTriggerType: "TriggerType", skTriggerTime: "TriggerTime",
	skTriggerTimeStart: "TriggerTimeStart", skTriggerTimeEnd: "TriggerTimeEnd",
	skTriggerTimeRange: "TriggerTimeRange", skTriggerCondition: "TriggerCondition",
	skTriggerValue: "TriggerValue", skAlertName: "AlertName",
	skAlertResponseURL: "AlertResponseUrl", skSourceURL: "SourceURL", skPlaybook: "Playbook",
	skSearchName: "SearchName", skSearchDescription: "SearchDescription",
	skSearchQuery: "SearchQuery", skSearchQueryURL: "SearchQueryUrl", skTimeRange: "TimeRange",
	skFireTime: "FireTime", skAggregateResultsJSON: "AggregateResultsJson",
	skRawResultsJSON: "RawResultsJson", skNumRawResults: "NumRawResults",
	skSeverity: "severity", skService: "service", skDedupKey: "dedup_key",
}

// sumoIndex maps a normalised key (lower case, no underscores) to its field.
var sumoIndex = func() map[string]sumoKey {
	m := make(map[string]sumoKey, numSumoKeys)
	for k, v := range sumoVars {
		m[strings.ToLower(strings.ReplaceAll(v, "_", ""))] = sumoKey(k)
	}
	return m
}()

// sumoNumeric lists the fields that may arrive as JSON numbers: a template
// may leave {{NumQueryResults}} or {{TriggerValue}} unquoted.
var sumoNumeric = [numSumoKeys]bool{
	skNumQueryResults: true, skNumRawResults: true, skTriggerValue: true,
	skTriggerTimeStart: true, skTriggerTimeEnd: true,
}

// lookupSumoKey finds the field a payload key stands for. Customers write
// their own templates, so Name, name, NAME and search_name / SearchName all
// match: the key is lower-cased and stripped of underscores. Only ASCII keys
// can match; the lookup does not allocate.
func lookupSumoKey(k string) (sumoKey, bool) {
	var buf [40]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c >= 0x80:
			return 0, false
		}
		if n == len(buf) {
			return 0, false
		}
		buf[n] = c
		n++
	}
	id, ok := sumoIndex[string(buf[:n])]
	return id, ok
}

// sumoPayload holds the raw value of each known field and the key the sender
// used for it.
type sumoPayload struct {
	key [numSumoKeys]string
	raw [numSumoKeys]json.RawMessage
	red *privacy.Redactor // redacts a results text before it is cut; may be nil
}

// str returns a field as trimmed text; "" when it is absent, null or empty
// (Sumo Logic sends "" for a variable it cannot resolve).
func (p *sumoPayload) str(id sumoKey) (string, error) {
	raw := p.raw[id]
	if raw == nil {
		return "", nil
	}
	switch c := firstByte(raw); {
	case c == '"':
		s, err := rawString(raw)
		if err != nil {
			return "", fieldErr(p.key[id], "is not a valid JSON string")
		}
		return strings.TrimSpace(s), nil
	case c == 'n':
		return "", nil
	case sumoNumeric[id] && (c == '-' || ('0' <= c && c <= '9')):
		return strings.TrimSpace(string(raw)), nil
	}
	return "", fieldErr(p.key[id], "must be a string, not %s; put the variable in quotes, as in %q: \"{{%s}}\"",
		kindOf(raw), p.key[id], sumoVars[id])
}

// results decodes a results field. Sumo Logic sends {{ResultsJson}} as a
// string holding JSON, so it is decoded twice; a template that leaves it
// unquoted sends the JSON itself, which is taken as is. A string that is not
// JSON (a broken template) is kept as text (at most maxResultBytes of it)
// rather than refusing the alert. Either way only what the incident keeps is
// decoded (decodeBounded): a search with 50,000 rows costs its first rows
// and a count.
func (p *sumoPayload) results(id sumoKey) boundedJSON {
	raw := p.raw[id]
	switch firstByte(raw) {
	case 0, 'n':
		return boundedJSON{}
	case '"':
		s, err := rawString(raw)
		if err != nil {
			return boundedJSON{}
		}
		if s = strings.TrimSpace(s); s == "" {
			return boundedJSON{}
		}
		if v, err := decodeBounded([]byte(s)); err == nil {
			return v
		}
		return boundedJSON{Value: p.red.Cut(s, maxResultBytes), Cut: len(s) > maxResultBytes}
	}
	v, err := decodeBounded(raw)
	if err != nil {
		return boundedJSON{}
	}
	return v
}

// sumoTrigger is what a TriggerType value means.
type sumoTrigger struct {
	sev     incident.Severity
	status  incident.AlertStatus
	missing bool
}

// sumoTriggers maps TriggerType, lower-cased without spaces, underscores or
// dashes ("Missing Data" appears in Sumo's docs as well as MissingData).
// Normal is what a monitor reports when it is back to its normal state.
var sumoTriggers = map[string]sumoTrigger{
	"critical":            {incident.SevCritical, incident.AlertFiring, false},
	"warning":             {incident.SevWarning, incident.AlertFiring, false},
	"missingdata":         {incident.SevWarning, incident.AlertFiring, true},
	"resolvedcritical":    {incident.SevCritical, incident.AlertResolved, false},
	"resolvedwarning":     {incident.SevWarning, incident.AlertResolved, false},
	"resolvedmissingdata": {incident.SevWarning, incident.AlertResolved, true},
	"normal":              {incident.SevInfo, incident.AlertResolved, false},
}

// lookupTrigger finds a TriggerType value in sumoTriggers.
func lookupTrigger(v string) (sumoTrigger, bool) {
	var buf [32]byte
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '_' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(buf) {
			return sumoTrigger{}, false
		}
		buf[n] = c
		n++
	}
	t, ok := sumoTriggers[string(buf[:n])]
	return t, ok
}

// maxConditionInSummary is the longest trigger condition appended to a
// monitor's name in the summary; longer ones stay in the details only.
const maxConditionInSummary = 100

// ParseSumoLogic turns the body of a Sumo Logic webhook connection into an
// alert received at now.
//
// Customers write the payload template themselves, so keys are matched by
// Sumo's variable names in any case and with or without underscores (Name,
// NAME, TriggerType, trigger_type, query_url, ...); unknown keys are ignored.
// Two kinds of payload are understood:
//
//   - Monitors (TriggerType is set): Critical, Warning and MissingData fire,
//     ResolvedCritical, ResolvedWarning, ResolvedMissingData and Normal
//     resolve. The dedup key is sumologic:monitor:<Id>, or the lower-cased
//     Name when the template has no Id, so that the Warning, the Critical and
//     the recovery of one monitor all land on one incident.
//   - Scheduled searches (no TriggerType, a SearchName or Name): they never
//     recover and fire on every run, so they always fire and dedup on
//     sumologic:search:<lower-cased name>. Severity is warning unless the
//     payload says otherwise.
//
// Optional keys in either kind: severity (critical, warning, info; overrides
// the TriggerType's), service (the baton service to route to) and dedup_key
// (replaces the computed key). The alert's SourceTime is TriggerTime
// ("11/24/2025 02:21:10 PM UTC"), else TriggerTimeEnd (epoch ms), else
// FireTime, else now. Of ResultsJson, AggregateResultsJson and
// RawResultsJson only the first rows are decoded (at most 10 rows and 2 KiB
// each), and when rows are left out their number is in the details as
// results_rows (aggregate_results_rows, raw_results_rows); one that is not
// valid JSON is kept as text (its first 2 KiB); a body that is not a JSON object, a value of the wrong type, an
// unknown TriggerType, a missing Name, or a service, dedup_key or Id holding
// a control character (NUL, CR, LF, …) is an *InputError.
//
// QueryURL (or SearchQueryUrl), AlertResponseUrl, SourceURL and a Playbook
// that is a URL become links when they pass incident.CheckLinkURL; one that
// does not is left out, never the alert, with a sentence naming it in the
// details under "dropped_links".
func ParseSumoLogic(body []byte, now time.Time) (incident.Alert, error) {
	return parseSumoLogic(body, now, nil)
}

// parseSumoLogic is ParseSumoLogic; red, when not nil, redacts the summary
// before it is cut.
func parseSumoLogic(body []byte, now time.Time, red *privacy.Redactor) (incident.Alert, error) {
	if err := requireObject(body); err != nil {
		return incident.Alert{}, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return incident.Alert{}, jsonInputError(err, "", len(body))
	}
	p := sumoPayload{red: red}
	var dup [numSumoKeys]string
	for k, v := range obj {
		id, ok := lookupSumoKey(k)
		if !ok {
			continue
		}
		if prev := p.key[id]; prev != "" {
			// Two spellings of one field. Keep the smaller key and remember
			// the next smallest, so that the error names the same pair
			// whatever the map order.
			if k > prev {
				prev, k = k, prev
			}
			if dup[id] == "" || prev < dup[id] {
				dup[id] = prev
			}
			p.key[id], p.raw[id] = k, obj[k]
			continue
		}
		p.key[id], p.raw[id] = k, v
	}
	for id, other := range dup {
		if other != "" {
			return incident.Alert{}, fieldErr(p.key[id], "is given twice, also as %q; keep one of them in the payload template", other)
		}
	}

	// Read every text field once; the first wrong type is the error.
	var s [numSumoKeys]string
	for id := range numSumoKeys {
		switch id {
		case skResultsJSON, skAggregateResultsJSON, skRawResultsJSON:
			continue
		}
		v, err := p.str(id)
		if err != nil {
			return incident.Alert{}, err
		}
		s[id] = v
	}
	first := func(ids ...sumoKey) string {
		for _, id := range ids {
			if s[id] != "" {
				return s[id]
			}
		}
		return ""
	}

	a := incident.Alert{
		Source:     "sumologic",
		Service:    s[skService],
		Status:     incident.AlertFiring,
		ReceivedAt: now,
		// TriggerTimeEnd is the same instant as TriggerTime, in epoch ms.
		SourceTime: sourceTime(now, parseSumoTime(s[skTriggerTime]), parseSumoTime(s[skTriggerTimeEnd]), parseSumoTime(s[skFireTime])),
	}
	var trig sumoTrigger
	monitor := s[skTriggerType] != ""
	if monitor {
		var ok bool
		if trig, ok = lookupTrigger(s[skTriggerType]); !ok {
			return incident.Alert{}, fieldErr(p.key[skTriggerType],
				"must be one of Critical, Warning, MissingData, ResolvedCritical, ResolvedWarning, ResolvedMissingData (got %q)", s[skTriggerType])
		}
		a.Name = oneLine(first(skName, skSearchName))
		a.Severity, a.Status = trig.sev, trig.status
	} else {
		a.Name = oneLine(first(skSearchName, skName))
		a.Severity = incident.SevWarning
	}
	if a.Name == "" {
		field := p.key[skName]
		if field == "" {
			field = sumoVars[skName]
		}
		return incident.Alert{}, fieldErr(field, `is required; add "Name": "{{Name}}" to the Sumo Logic payload template`)
	}
	if v := s[skSeverity]; v != "" {
		sev := incident.Severity(strings.ToLower(v))
		if !sev.Valid() {
			return incident.Alert{}, fieldErr(p.key[skSeverity], "must be one of critical, warning, info (got %q)", v)
		}
		a.Severity = sev
	}

	// Keys and names are refused with a control character in them; the
	// dedup key of a monitor is built from its Id.
	for _, id := range []sumoKey{skService, skDedupKey, skID} {
		if id == skID && (!monitor || s[skDedupKey] != "") {
			continue // the Id is only a detail then
		}
		// Checked as sent, before trimming: a control character at either
		// end is refused like one in the middle, not trimmed away.
		v := s[id]
		if raw := p.raw[id]; firstByte(raw) == '"' {
			if sent, err := rawString(raw); err == nil {
				v = sent
			}
		}
		if err := checkOneLine(p.key[id], v); err != nil {
			return incident.Alert{}, err
		}
	}

	// Redacted before lowercasing: a case-sensitive configured rule
	// (\bM[0-9]{8}\b) must still see the name as sent.
	key := strings.ToLower(red.String(a.Name))
	switch {
	case s[skDedupKey] != "":
		a.DedupKey = s[skDedupKey]
	case !monitor:
		a.DedupKey = "sumologic:search:" + key
	case s[skID] != "":
		a.DedupKey = "sumologic:monitor:" + s[skID]
	default:
		a.DedupKey = "sumologic:monitor:" + key
	}

	summary := a.Name
	cond := oneLine(s[skTriggerCondition])
	switch {
	case trig.missing:
		summary += ": missing data"
	case monitor && a.Status == incident.AlertFiring && cond != "" && len(cond) <= maxConditionInSummary:
		summary += ": " + cond
	}
	a.Summary = red.Cut(summary, maxSummary)

	d := make(map[string]any, 12)
	put := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	if monitor {
		put("trigger_type", s[skTriggerType])
	}
	put("id", s[skID])
	put("description", first(skDescription, skSearchDescription))
	put("monitor_type", s[skMonitorType])
	put("detection_method", s[skDetectionMethod])
	put("query", first(skQuery, skSearchQuery))
	put("trigger_condition", s[skTriggerCondition])
	put("trigger_value", s[skTriggerValue])
	put("trigger_time", first(skTriggerTime, skFireTime))
	put("time_range", first(skTriggerTimeRange, skTimeRange))
	put("trigger_time_start", s[skTriggerTimeStart])
	put("trigger_time_end", s[skTriggerTimeEnd])
	if n := first(skNumQueryResults, skNumRawResults); n != "" {
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			d["num_results"] = i
		} else {
			d["num_results"] = n
		}
	}
	if an := s[skAlertName]; an != "" && an != a.Name {
		d["alert_name"] = an
	}
	switch {
	case trig.missing && a.Status == incident.AlertFiring:
		d["note"] = "Sumo Logic reports missing data: the monitor's query returned no data for its detection window."
	case trig.missing:
		d["note"] = "Sumo Logic reports the monitor's data is arriving again."
	}
	for _, r := range []struct {
		id  sumoKey
		key string
	}{{skResultsJSON, "results"}, {skAggregateResultsJSON, "aggregate_results"}, {skRawResultsJSON, "raw_results"}} {
		v := p.results(r.id)
		if v.Value == nil {
			continue
		}
		d[r.key] = v.Value
		if v.Cut && v.Rows > 0 {
			// How many rows there were; the first ones are kept.
			d[r.key+"_rows"] = v.Rows
		}
	}
	var dropped []string
	link := func(text string, ids ...sumoKey) {
		for _, id := range ids {
			u := s[id]
			if u == "" {
				continue
			}
			if why := linkProblem(u); why != "" {
				dropped = append(dropped, p.key[id]+": "+why)
				return
			}
			a.Links = append(a.Links, incident.Link{Text: text, URL: u})
			return
		}
	}
	link("query", skQueryURL, skSearchQueryURL)
	link("alert", skAlertResponseURL)
	link("monitor", skSourceURL)
	if pb := s[skPlaybook]; httpURL(pb) {
		link("playbook", skPlaybook)
	} else {
		put("playbook", pb) // a playbook is often prose: kept as text
	}
	d = putDroppedLinks(d, dropped)
	if len(d) > 0 {
		a.Details = d
	}
	return a, nil
}
