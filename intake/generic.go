package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/privacy"
)

// genericBody is baton's own alert format. Unknown keys are ignored so that
// senders can add fields without breaking.
type genericBody struct {
	Service  string `json:"service"`
	DedupKey string `json:"dedup_key"`
	Summary  string `json:"summary"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	// Details and Links are kept raw and decoded within bounds
	// (genericDetails, genericLinks).
	Details json.RawMessage `json:"details"`
	Links   json.RawMessage `json:"links"`
	// Timestamp is kept raw: a bad one must not lose the alert.
	Timestamp json.RawMessage `json:"timestamp"`
}

// genericLink is one entry of the links list.
type genericLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// ParseGeneric turns baton's generic alert format into an alert received at now:
//
//	{"service": "checkout", "dedup_key": "...", "summary": "...",
//	 "severity": "critical|warning|info", "status": "firing|resolved",
//	 "details": {...}, "links": [{"text": "...", "url": "https://..."}],
//	 "timestamp": "2026-11-24T07:20:00Z"}
//
// summary is required for a firing alert (one line, at most 1024
// characters); a recovery needs a summary or a dedup_key, the alert it
// ends, and no more; severity defaults
// to critical and status to firing; dedup_key defaults to "generic:" and a
// hash of the summary (redacted first when intake redacts), so repeats of
// one summary are one incident. service
// and dedup_key must hold no control characters (NUL, CR, LF, …). timestamp,
// when the state changed at the sender (RFC 3339, or Unix seconds or
// milliseconds as a number), becomes the alert's SourceTime; absent, unreadable
// or more than five minutes ahead of now, SourceTime is now. details must be
// an object (its numbers are kept exactly, as json.Number); one longer than
// 16 KiB as sent is not decoded and becomes {"truncated": "<sentence>"}
// (the incident keeps 4 KiB of details). Unknown keys are ignored. Every
// problem is an *InputError naming the field. Only the first 20 links are
// read; a note counts the rest.
//
// A bad link never costs the alert: a links entry that is not an object, has
// no url, or whose url fails incident.CheckLinkURL (absolute http or https,
// no whitespace, control characters, <, > or |) is left out, and a sentence
// naming it is added to details under "dropped_links".
func ParseGeneric(body []byte, now time.Time) (incident.Alert, error) {
	return parseGeneric(body, now, nil)
}

// parseGeneric is ParseGeneric; red, when not nil, redacts the summary
// before its default dedup key is hashed, so the key holds no hash of
// patient data (an SSN is 10^9 guesses away) and summaries differing only
// in patient data share an incident. Off or nil, the summary as sent is
// hashed, as before.
func parseGeneric(body []byte, now time.Time, red *privacy.Redactor) (incident.Alert, error) {
	if err := requireObject(body); err != nil {
		return incident.Alert{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var g genericBody
	if err := dec.Decode(&g); err != nil {
		return incident.Alert{}, jsonInputError(err, "", len(body))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		// Byte positions count from 1, as in encoding/json's syntax errors.
		for end < int64(len(body)) && firstByte(body[end:end+1]) == 0 {
			end++
		}
		return incident.Alert{}, bodyErr("body has more data after the JSON object, at byte %d; send exactly one object", end+1)
	}

	a := incident.Alert{
		Source:     "generic",
		Service:    strings.TrimSpace(g.Service),
		Summary:    oneLine(g.Summary),
		Severity:   incident.SevCritical,
		Status:     incident.AlertFiring,
		ReceivedAt: now,
		SourceTime: sourceTime(now, parseGenericTime(g.Timestamp)),
	}
	if n := utf8.RuneCountInString(a.Summary); n > maxSummary {
		return incident.Alert{}, fieldErr("summary", "must be at most %d characters (got %d); put the rest in details", maxSummary, n)
	}
	if v := strings.TrimSpace(g.Severity); v != "" {
		a.Severity = incident.Severity(strings.ToLower(v))
		if !a.Severity.Valid() {
			return incident.Alert{}, fieldErr("severity", "must be one of critical, warning, info (got %q)", g.Severity)
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(g.Status)); v {
	case "", "firing":
	case "resolved":
		a.Status = incident.AlertResolved
	default:
		return incident.Alert{}, fieldErr("status", "must be firing or resolved (got %q)", g.Status)
	}
	// A firing alert's summary titles its incident. A recovery titles
	// nothing: it needs only to name the alert it ends, by its dedup_key or
	// by the summary whose hash was the key.
	switch {
	case a.Summary != "":
	case a.Status == incident.AlertFiring:
		return incident.Alert{}, fieldErr("summary", "is required; give a one-line description of the problem")
	case strings.TrimSpace(g.DedupKey) == "":
		return incident.Alert{}, fieldErr("dedup_key", "is required for a recovery without a summary: name the alert it ends by its dedup_key (or send the summary it fired with)")
	}
	// Checked as sent, before trimming: a tab or line break at either end
	// is refused like one in the middle, not trimmed away.
	if err := checkOneLine("service", g.Service); err != nil {
		return incident.Alert{}, err
	}
	if err := checkOneLine("dedup_key", g.DedupKey); err != nil {
		return incident.Alert{}, err
	}
	if a.DedupKey = strings.TrimSpace(g.DedupKey); a.DedupKey == "" {
		sum := sha256.Sum256([]byte(red.String(a.Summary)))
		a.DedupKey = "generic:" + hex.EncodeToString(sum[:8])
	}
	d, err := genericDetails(g.Details)
	if err != nil {
		return incident.Alert{}, err
	}
	if len(d) > 0 {
		a.Details = d
	}
	var dropped []string
	a.Links, dropped = genericLinks(g.Links)
	a.Details = putDroppedLinks(a.Details, dropped)
	return a, nil
}

// maxGenericDetails is the longest details object, as sent, that is
// decoded. The incident keeps at most 4 KiB of details anyway (incident.Store
// replaces more by a note), so a larger object is not decoded at all: a
// 1 MiB object of 50,000 keys would cost 50,000 map entries to be thrown away.
const maxGenericDetails = 16 << 10

// maxGenericLinks is how many entries of the links list are read; the rest
// are counted and named in one note.
const maxGenericLinks = 20

// genericDetails decodes the details object within maxGenericDetails; a
// larger one becomes a note saying so. Absent or null is nil; any other
// JSON type is an *InputError.
func genericDetails(raw json.RawMessage) (map[string]any, error) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '{':
	default:
		return nil, fieldErr("details", "must be a JSON object, not %s", kindOf(raw))
	}
	if len(raw) > maxGenericDetails {
		return map[string]any{"truncated": fmt.Sprintf("details of %d bytes were not kept (limit %d)", len(raw), maxGenericDetails)}, nil
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, jsonInputError(err, "details", len(raw))
	}
	d, _ := v.(map[string]any)
	return d, nil
}

// genericLinks reads the links list: the good links, and a note for each
// entry left out ("links[1].url: must be …").
func genericLinks(raw json.RawMessage) (links []incident.Link, dropped []string) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '[':
	default:
		return nil, []string{"links: must be a JSON array, not " + kindOf(raw)}
	}
	// The body decoded, so raw is valid JSON: read the first entries and
	// count the rest without decoding them.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, []string{"links: " + jsonInputError(err, "links", len(raw)).Msg}
	}
	var entries []json.RawMessage
	for dec.More() && len(entries) < maxGenericLinks {
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			return nil, []string{"links: " + jsonInputError(err, "links", len(raw)).Msg}
		}
		entries = append(entries, e)
	}
	if len(entries) == maxGenericLinks {
		if more := countElements(raw[dec.InputOffset():]); more > 0 {
			defer func() {
				dropped = append(dropped, fmt.Sprintf("links: %d more entries were not read (at most %d are)", more, maxGenericLinks))
			}()
		}
	}
	for i, raw := range entries {
		field := "links[" + strconv.Itoa(i) + "]"
		if firstByte(raw) != '{' {
			dropped = append(dropped, field+`: must be an object such as {"text": "runbook", "url": "https://..."}, not `+kindOf(raw))
			continue
		}
		var l genericLink
		if err := json.Unmarshal(raw, &l); err != nil {
			ie := jsonInputError(err, field, len(raw))
			// Offsets inside one link would mislead: drop them.
			if i := strings.Index(ie.Msg, " (at byte"); i >= 0 {
				ie.Msg = ie.Msg[:i]
			}
			dropped = append(dropped, ie.Field+": "+ie.Msg)
			continue
		}
		u := strings.TrimSpace(l.URL)
		if u == "" {
			dropped = append(dropped, field+".url: is required")
			continue
		}
		if p := linkProblem(u); p != "" {
			dropped = append(dropped, field+".url: "+p)
			continue
		}
		links = append(links, incident.Link{Text: oneLine(l.Text), URL: u})
	}
	return links, dropped
}
