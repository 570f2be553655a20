package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/privacy"
)

// Severities turns the value of an alert's severity label (Alertmanager,
// Grafana) into a baton severity.
type Severities struct {
	// Labels maps a label value, in lower case, to a severity.
	Labels map[string]incident.Severity
	// Default is the severity of an alert without a severity label or
	// with a value Labels does not know.
	Default incident.Severity
}

// DefaultSeverities is intake.severity_labels and intake.severity_default
// when the config sets neither: critical and page are critical, warning is
// warning, info and none are info (kube-prometheus gives its Watchdog and
// InfoInhibitor alerts severity="none": they must not page), and anything
// else, or no label, is critical (a page too many beats a page missed).
var DefaultSeverities = Severities{
	Labels: map[string]incident.Severity{
		"critical": incident.SevCritical,
		"page":     incident.SevCritical,
		"warning":  incident.SevWarning,
		"info":     incident.SevInfo,
		"none":     incident.SevInfo,
	},
	Default: incident.SevCritical,
}

// of returns the severity of a label value ("" when absent).
func (s Severities) of(v string) incident.Severity {
	if sev, ok := s.Labels[strings.ToLower(strings.TrimSpace(v))]; ok {
		return sev
	}
	if s.Default.Valid() {
		return s.Default
	}
	return incident.SevCritical
}

// amBody is an Alertmanager webhook body (version 4) and Grafana's, which
// adds title, message, orgId and state. Only what the incidents keep is
// decoded: alerts are read one at a time (amAlert), groupLabels,
// commonLabels, commonAnnotations and Grafana's message (a rendering of
// all of the above) not at all.
type amBody struct {
	Version         json.RawMessage `json:"version"`
	Receiver        string          `json:"receiver"`
	Status          string          `json:"status"`
	GroupKey        string          `json:"groupKey"`
	ExternalURL     string          `json:"externalURL"`
	TruncatedAlerts json.RawMessage `json:"truncatedAlerts"`
	Alerts          json.RawMessage `json:"alerts"`
	// CommonLabels are the labels every alert of the notification shares;
	// a title built from labels leaves them out.
	CommonLabels json.RawMessage `json:"commonLabels"`
	// Grafana.
	OrgID json.RawMessage `json:"orgId"`
	State string          `json:"state"`
}

// amAlert is one entry of alerts[]; labels, annotations and Grafana's
// values are kept raw and read within bounds.
type amAlert struct {
	Status       string          `json:"status"`
	Labels       json.RawMessage `json:"labels"`
	Annotations  json.RawMessage `json:"annotations"`
	StartsAt     string          `json:"startsAt"`
	EndsAt       string          `json:"endsAt"`
	GeneratorURL string          `json:"generatorURL"`
	Fingerprint  string          `json:"fingerprint"`
	// Grafana.
	DashboardURL string          `json:"dashboardURL"`
	PanelURL     string          `json:"panelURL"`
	SilenceURL   string          `json:"silenceURL"`
	ImageURL     string          `json:"imageURL"`
	Values       json.RawMessage `json:"values"`
	ValueString  string          `json:"valueString"`
}

// What one alert's labels, and separately its annotations, keep in the
// incident's details (which keeps 4 KiB in all): at most maxLabels pairs
// within maxLabelBytes in all (keys and values as sent), in the order sent
// (Alertmanager sends them sorted), after the pairs that must stay: the
// ones baton reads (alertname, severity, service, summary, runbook_url)
// and the ones a service's grouping reads (details.labels.<name>), each
// when at most maxPriorityPair bytes. The rest are counted, not kept.
const (
	maxLabels     = 32
	maxLabelBytes = 1536
	// maxPriorityPair is the longest pair kept ahead of the others.
	maxPriorityPair = 256
	// maxValuesBytes is the longest Grafana values object kept.
	maxValuesBytes = 512
	// maxFingerprint is the longest fingerprint accepted (Alertmanager's
	// are 16 hex digits, Grafana's too).
	maxFingerprint = 256
	// maxLabelTitle is the longest title built from labels, cut at a
	// label.
	maxLabelTitle = 256
)

// The labels and annotations baton reads.
var amWanted = map[string]bool{"alertname": true, "severity": true, "service": true, "summary": true, "runbook_url": true}

// labelSet is a labels or annotations object read within bounds.
type labelSet struct {
	// kept are the pairs kept for the details (map[string]any, as every
	// parser's details, so a grouping can be by details.labels.<name>).
	kept map[string]any
	// wanted are the values of the amWanted keys present.
	wanted map[string]string
	// more counts the pairs not kept.
	more int
}

// readLabels reads a labels or annotations object (field names it in
// errors: alerts[2].labels): every value must be a string. It keeps what
// fits the bounds, the pairs baton reads and those named in group first,
// and counts the rest by scanning, without decoding it: raw comes from a
// body that decoded, so it is valid JSON.
func readLabels(raw json.RawMessage, field string, group map[string]bool) (labelSet, error) {
	ls := labelSet{}
	switch firstByte(raw) {
	case 0, 'n':
		return ls, nil
	case '{':
	default:
		return ls, fieldErr(field, "must be an object of strings, not %s", kindOf(raw))
	}
	// name returns a raw key's name and whether it is read by baton
	// (wanted) or by a grouping (grouped), without allocating for the
	// usual key without escapes.
	name := func(rk []byte) (k string, wanted, grouped bool) {
		if plain := rk[1 : len(rk)-1]; bytes.IndexByte(plain, '\\') < 0 {
			return "", amWanted[string(plain)], group[string(plain)]
		}
		k, _ = rawString(rk)
		return k, amWanted[k], group[k]
	}
	// First the pairs that must stay: their room is set aside.
	reserved, reservedBytes := 0, 0
	err := objectMembers(raw, func(rk, rv []byte) error {
		k, wanted, grouped := name(rk)
		if firstByte(rv) != '"' {
			if k == "" {
				k, _ = rawString(rk)
			}
			return fieldErr(field+"."+k, "must be a string, not %s", kindOf(rv))
		}
		if (wanted || grouped) && len(rk)+len(rv) <= maxPriorityPair {
			reserved++
			reservedBytes += len(rk) + len(rv)
		}
		return nil
	})
	if err != nil {
		return ls, err
	}
	size := reservedBytes
	err = objectMembers(raw, func(rk, rv []byte) error {
		k, wanted, grouped := name(rk)
		priority := (wanted || grouped) && len(rk)+len(rv) <= maxPriorityPair
		keep := priority
		if !priority {
			size += len(rk) + len(rv)
			keep = len(ls.kept)+reserved < maxLabels && size <= maxLabelBytes
			if !keep {
				size -= len(rk) + len(rv)
			}
		} else {
			reserved--
		}
		if !keep && !wanted {
			ls.more++
			return nil
		}
		if k == "" {
			k, _ = rawString(rk)
		}
		v, _ := rawString(rv)
		if wanted {
			if ls.wanted == nil {
				ls.wanted = make(map[string]string, 4)
			}
			ls.wanted[k] = v
		}
		if keep {
			if ls.kept == nil {
				ls.kept = make(map[string]any, 8)
			}
			ls.kept[k] = v
		} else {
			ls.more++
		}
		return nil
	})
	return ls, err
}

// objectMembers calls fn with the raw key (quoted) and the raw value of
// each member of obj, a valid JSON object, in order, without decoding or
// copying them; fn's error stops the walk.
func objectMembers(obj []byte, fn func(key, val []byte) error) error {
	i := skipSpace(obj, 0) + 1 // past {
	for {
		i = skipSpace(obj, i)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		if i >= len(obj) || obj[i] == '}' {
			return nil
		}
		ks := i
		i = skipValue(obj, i)
		key := obj[ks:i]
		i = skipSpace(obj, i) + 1 // past :
		i = skipSpace(obj, i)
		vs := i
		i = skipValue(obj, i)
		if err := fn(key, obj[vs:i]); err != nil {
			return err
		}
	}
}

// arrayElements returns the raw elements of arr, a valid JSON array, as
// slices of it (no copy); more than max elements is ok=false with their
// count, counted without decoding.
func arrayElements(arr []byte, max int) (elems [][]byte, n int, ok bool) {
	i := skipSpace(arr, 0) + 1 // past [
	for {
		i = skipSpace(arr, i)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
		if i >= len(arr) || arr[i] == ']' {
			return elems, n, n <= max
		}
		s := i
		i = skipValue(arr, i)
		if n < max {
			elems = append(elems, arr[s:i])
		}
		n++
	}
}

// skipSpace returns the index of the first byte from i that is not JSON
// whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		}
		break
	}
	return i
}

// skipValue returns the index just past the valid JSON value starting at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return i
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// amSource says how ParseAlerts reads one of the two sources.
type amSource struct {
	name string // "alertmanager" or "grafana"
	// version is the webhook version baton reads ("": any).
	version string
	// generator is the label of an alert's generatorURL link.
	generator string
	// skip are labels left out of a summary built from labels.
	skip map[string]bool
}

var (
	amAlertmanager = amSource{name: "alertmanager", version: "4", generator: "source",
		skip: map[string]bool{"alertname": true, "severity": true}}
	amGrafana = amSource{name: "grafana", generator: "rule",
		skip: map[string]bool{"alertname": true, "severity": true, "grafana_folder": true, "__alert_rule_uid__": true}}
)

// ParseAlertmanager turns the body of a Prometheus Alertmanager webhook
// (webhook_config, payload version 4) into one alert per entry of alerts,
// in order, received at now:
//
//   - the dedup key is the alert's fingerprint (required, one line);
//   - its status, firing or resolved, is the alert's own (not the group's);
//   - the severity is its severity label through sev (absent or unknown:
//     sev.Default);
//   - the summary is its summary annotation (one line, at most 1024
//     characters), else its alertname label followed by the labels that
//     tell it from the notification's other alerts (not in commonLabels;
//     without commonLabels, or when all are common, all but alertname
//     and severity), sorted ("HighLatency: instance=a:9100"), at most
//     256 bytes cut at a label;
//   - Name is alertname (intake.routes match it), Service the service label;
//   - SourceTime is now, the receive time, for a firing alert (a
//     notification is a snapshot of the alert's state and startsAt stays
//     the same across a resolve and a new firing, so a firing received
//     after a recovery is firing again), and for a resolved one too (its
//     endsAt, on the sender's clock, may be earlier than a firing
//     notification delivered late: a real recovery would look stale);
//     Alertmanager sends a group's notifications in order;
//   - links: generatorURL ("source"), the runbook_url annotation
//     ("runbook") and externalURL ("alertmanager"), each when it passes
//     incident.CheckLinkURL, else left out with a note in details
//     under "dropped_links";
//   - details: labels and annotations (the summary aside), of each at
//     most 32 pairs within 1.5 KiB in all, the ones baton reads first
//     (and, through the handler, the ones a grouping reads), with a count
//     of the rest (labels_not_kept, annotations_not_kept), starts_at,
//     ends_at, fingerprint, group_key,
//     receiver and truncated_alerts (when Alertmanager's max_alerts cut
//     the group).
//
// A body that is not an object, an alerts that is not a non-empty array
// of objects (at most incident.MaxBatch), a version other than "4", or
// any alert with an empty fingerprint or one over 256 bytes, a missing
// status or one other than firing or resolved, neither a summary annotation nor an alertname label, a label
// or annotation that is not a string, or a control character in its
// fingerprint or service label is an *InputError naming the field
// (alerts[2].fingerprint): nothing of the body is then accepted.
func ParseAlertmanager(body []byte, now time.Time, sev Severities) ([]incident.Alert, error) {
	return parseAlerts(amAlertmanager, body, now, sev, nil, nil)
}

// ParseGrafana turns the body of a Grafana Alerting webhook contact point
// into one alert per entry of alerts, as ParseAlertmanager, with Grafana's
// additions: each alert's dashboardURL, panelURL, silenceURL and imageURL
// become links too (generatorURL, the alert rule, is "rule"), its values
// (the query results, at most 512 bytes) and valueString go in the
// details, and so do orgId and the group's state. The version is not
// checked (Grafana sends "1"); title and message, renderings of the
// labels and annotations every alert carries, are not read, and
// grafana_folder is left out of a summary built from labels.
func ParseGrafana(body []byte, now time.Time, sev Severities) ([]incident.Alert, error) {
	return parseAlerts(amGrafana, body, now, sev, nil, nil)
}

// parseAlerts is ParseAlertmanager or ParseGrafana; group names the
// labels and annotations kept in the details ahead of the others, because
// a service's grouping reads them (Config.GroupingLabels); red, when not
// nil, redacts each text before it is cut (intake's handler passes its
// Redactor; the alert is redacted whole again before the store).
func parseAlerts(src amSource, body []byte, now time.Time, sev Severities, group map[string]bool, red *privacy.Redactor) ([]incident.Alert, error) {
	if err := requireObject(body); err != nil {
		return nil, err
	}
	var p amBody
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, jsonInputError(err, "", len(body))
	}
	if src.version != "" && firstByte(p.Version) != 0 {
		v, err := rawString(p.Version)
		if err != nil || v != src.version {
			return nil, fieldErr("version", "must be %q, the Alertmanager webhook version baton reads (got %s)", src.version, text.Truncate(string(p.Version), maxQuoted))
		}
	}
	truncated := int64(0)
	if firstByte(p.TruncatedAlerts) != 0 && firstByte(p.TruncatedAlerts) != 'n' {
		n, err := strconv.ParseInt(strings.TrimSpace(string(p.TruncatedAlerts)), 10, 64)
		if err != nil || n < 0 {
			return nil, fieldErr("truncatedAlerts", "must be a whole number (got %s)", text.Truncate(string(p.TruncatedAlerts), maxQuoted))
		}
		truncated = n
	}
	raws, err := alertEntries(p.Alerts)
	if err != nil {
		return nil, err
	}
	common, err := commonLabels(p.CommonLabels)
	if err != nil {
		return nil, err
	}
	out := make([]incident.Alert, 0, len(raws))
	for i, raw := range raws {
		a, err := parseAlert(src, p, raw, "alerts["+strconv.Itoa(i)+"]", now, sev, group, common, red)
		if err != nil {
			return nil, err
		}
		if truncated > 0 {
			a.Details["truncated_alerts"] = truncated
		}
		out = append(out, a)
	}
	return out, nil
}

// alertEntries splits the alerts array into its entries, refusing more
// than incident.MaxBatch before decoding any.
func alertEntries(raw json.RawMessage) ([][]byte, error) {
	switch firstByte(raw) {
	case '[':
	case 0:
		return nil, fieldErr("alerts", "is required: a list of alerts")
	default:
		return nil, fieldErr("alerts", "must be an array of alerts, not %s", kindOf(raw))
	}
	entries, n, ok := arrayElements(raw, incident.MaxBatch)
	if !ok {
		return nil, fieldErr("alerts", "holds %d alerts, more than the %d baton stores from one request; set max_alerts: %d in the receiver (Alertmanager's webhook_config)",
			n, incident.MaxBatch, incident.MaxBatch)
	}
	if n == 0 {
		return nil, fieldErr("alerts", "is empty; there is nothing to store")
	}
	return entries, nil
}

// commonLabels reads the notification's commonLabels: nil when absent (a
// title built from labels then uses them all), else the pairs as strings
// (a value that is not a string is left out: nothing else is read from it).
func commonLabels(raw json.RawMessage) (map[string]string, error) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '{':
	default:
		return nil, fieldErr("commonLabels", "must be an object of strings, not %s", kindOf(raw))
	}
	common := map[string]string{}
	err := objectMembers(raw, func(rk, rv []byte) error {
		if firstByte(rv) == '"' {
			k, _ := rawString(rk)
			v, _ := rawString(rv)
			common[k] = v
		}
		return nil
	})
	return common, err
}

// parseAlert reads one entry of alerts; field is its path (alerts[2]).
func parseAlert(src amSource, p amBody, raw []byte, field string, now time.Time, sev Severities, group map[string]bool, common map[string]string, red *privacy.Redactor) (incident.Alert, error) {
	if firstByte(raw) != '{' {
		return incident.Alert{}, fieldErr(field, "must be an object, not %s", kindOf(raw))
	}
	var e amAlert
	if err := json.Unmarshal(raw, &e); err != nil {
		ie := jsonInputError(err, field, len(raw))
		if i := strings.Index(ie.Msg, " (at byte"); i >= 0 {
			ie.Msg = ie.Msg[:i] // an offset inside one alert would mislead
		}
		return incident.Alert{}, ie
	}
	labels, err := readLabels(e.Labels, field+".labels", group)
	if err != nil {
		return incident.Alert{}, err
	}
	annotations, err := readLabels(e.Annotations, field+".annotations", group)
	if err != nil {
		return incident.Alert{}, err
	}
	if n := len(e.Fingerprint); n > maxFingerprint {
		return incident.Alert{}, fieldErr(field+".fingerprint", "is %d bytes long; baton accepts at most %d (Alertmanager's and Grafana's are 16 hex digits)", n, maxFingerprint)
	}
	// Checked as sent, before trimming: a control character at either end
	// is refused like one in the middle.
	if err := checkOneLine(field+".fingerprint", e.Fingerprint); err != nil {
		return incident.Alert{}, err
	}
	if err := checkOneLine(field+".labels.service", labels.wanted["service"]); err != nil {
		return incident.Alert{}, err
	}
	a := incident.Alert{
		Source:     src.name,
		Service:    strings.TrimSpace(labels.wanted["service"]),
		Name:       oneLine(labels.wanted["alertname"]),
		DedupKey:   strings.TrimSpace(e.Fingerprint),
		Severity:   sev.of(labels.wanted["severity"]),
		ReceivedAt: now,
	}
	if a.DedupKey == "" {
		return incident.Alert{}, fieldErr(field+".fingerprint", "is empty; baton keys each alert by its fingerprint (Alertmanager 0.19 or later, Grafana 8 or later send one)")
	}
	switch strings.ToLower(strings.TrimSpace(e.Status)) {
	case "firing":
		// A notification is a snapshot of the alert's state, and a firing
		// alert keeps its startsAt for life, even across Alertmanager's own
		// resolve (Prometheus unreachable past endsAt) and the firing that
		// follows it: a firing notification received after a recovery means
		// firing again, so its source time is when baton received it
		// (startsAt stays in the details).
		a.Status = incident.AlertFiring
		a.SourceTime = now
	case "resolved":
		// The same for a recovery: compared with the firing's receive time,
		// its endsAt (the sender's clock, often earlier than a firing
		// notification delivered late, after retries) would make a real
		// recovery look stale and leave the incident open. Alertmanager
		// sends one group's notifications in order, so the order baton
		// receives them in is the order of the alert's states (endsAt stays
		// in the details).
		a.Status = incident.AlertResolved
		a.SourceTime = now
	case "":
		return incident.Alert{}, fieldErr(field+".status", "is required: firing or resolved")
	default:
		return incident.Alert{}, fieldErr(field+".status", "must be firing or resolved (got %q)", text.Truncate(e.Status, maxQuoted))
	}
	a.Summary = oneLine(annotations.wanted["summary"])
	if a.Summary == "" {
		if a.Name == "" {
			return incident.Alert{}, fieldErr(field+".labels.alertname", "is required when there is no summary annotation; baton needs one of them for the incident's title")
		}
		a.Summary = labelSummary(a.Name, e.Labels, src.skip, common)
	}
	a.Summary = red.Cut(a.Summary, maxSummary)

	d := make(map[string]any, 12)
	if len(labels.kept) > 0 {
		d["labels"] = labels.kept
	}
	if labels.more > 0 {
		d["labels_not_kept"] = labels.more
	}
	// The summary is the title; the other annotations are details.
	ann := make(map[string]any, len(annotations.kept))
	for k, v := range annotations.kept {
		if k != "summary" {
			ann[k] = v
		}
	}
	if len(ann) > 0 {
		d["annotations"] = ann
	}
	if annotations.more > 0 {
		d["annotations_not_kept"] = annotations.more
	}
	put := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			d[k] = red.Cut(v, maxQuoted)
		}
	}
	put("fingerprint", a.DedupKey)
	if !parseAMTime(e.StartsAt).IsZero() {
		put("starts_at", e.StartsAt)
	}
	if !parseAMTime(e.EndsAt).IsZero() {
		put("ends_at", e.EndsAt)
	}
	put("group_key", p.GroupKey)
	put("receiver", p.Receiver)
	if src.name == "grafana" {
		put("value_string", e.ValueString)
		if v := grafanaValues(e.Values); v != nil {
			d["values"] = v
		}
		if id := strings.TrimSpace(string(p.OrgID)); id != "" && id != "null" && len(id) <= 20 {
			d["org_id"] = id
		}
		put("state", p.State)
	}

	var dropped []string
	link := func(label, name, u string) {
		if u = strings.TrimSpace(u); u == "" {
			return
		}
		if why := linkProblem(u); why != "" {
			dropped = append(dropped, name+": "+why)
			return
		}
		a.Links = append(a.Links, incident.Link{Text: label, URL: u})
	}
	link(src.generator, field+".generatorURL", e.GeneratorURL)
	link("runbook", field+".annotations.runbook_url", annotations.wanted["runbook_url"])
	if src.name == "grafana" {
		link("dashboard", field+".dashboardURL", e.DashboardURL)
		link("panel", field+".panelURL", e.PanelURL)
		link("silence", field+".silenceURL", e.SilenceURL)
		link("image", field+".imageURL", e.ImageURL)
	}
	link(src.name, "externalURL", p.ExternalURL)
	a.Details = putDroppedLinks(d, dropped)
	return a, nil
}

// labelSummary is the title of an alert without a summary annotation:
// its name and the labels that tell it from the other alerts of its
// notification, those not in common (commonLabels), sorted, as
// "name: k=v, k=v", cut at a label to at most maxLabelTitle bytes. With
// no commonLabels, or when every label is common (a notification of one
// alert), all its labels are used; skip and labels starting with "__" are
// left out either way. raw is the alert's labels, valid JSON whose values
// are strings (readLabels checked them).
func labelSummary(name string, raw json.RawMessage, skip map[string]bool, common map[string]string) string {
	type pair struct{ k, v string }
	var all, distinct []pair
	_ = objectMembers(raw, func(rk, rv []byte) error {
		k, _ := rawString(rk)
		if skip[k] || strings.HasPrefix(k, "__") {
			return nil
		}
		v, _ := rawString(rv)
		all = append(all, pair{k, v})
		if cv, ok := common[k]; !ok || cv != v {
			distinct = append(distinct, pair{k, v})
		}
		return nil
	})
	pairs := distinct
	if common == nil || len(distinct) == 0 {
		pairs = all
	}
	if len(pairs) == 0 {
		return name
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var b strings.Builder
	b.WriteString(name)
	for i, p := range pairs {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		part := oneLine(p.k + "=" + p.v)
		if b.Len()+len(sep)+len(part) > maxLabelTitle {
			if i == 0 {
				return text.Truncate(oneLine(b.String()+sep+part), maxLabelTitle)
			}
			b.WriteString(", …")
			break
		}
		b.WriteString(sep)
		b.WriteString(part)
	}
	return oneLine(b.String())
}

// grafanaValues decodes an alert's values (query results by ref id) when
// it is an object of at most maxValuesBytes; a larger one is a note, any
// other kind nothing.
func grafanaValues(raw json.RawMessage) any {
	if firstByte(raw) != '{' {
		return nil
	}
	if len(raw) > maxValuesBytes {
		return fmt.Sprintf("values of %d bytes were not kept (limit %d)", len(raw), maxValuesBytes)
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil
	}
	return v
}

// parseAMTime reads startsAt or endsAt (RFC 3339); Alertmanager's zero
// time, 0001-01-01T00:00:00Z, and anything unreadable are the zero time.
func parseAMTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil || t.Before(minSourceTime) {
		return time.Time{}
	}
	return t
}
