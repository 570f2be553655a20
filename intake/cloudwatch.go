package intake

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
	"github.com/batonhq/baton/privacy"
)

// cwAlarm is the part of a CloudWatch alarm state change that baton uses.
// Fields not listed are ignored, whatever their type.
type cwAlarm struct {
	AlarmName        string     `json:"AlarmName"`
	AlarmDescription string     `json:"AlarmDescription"`
	AWSAccountID     string     `json:"AWSAccountId"`
	NewStateValue    string     `json:"NewStateValue"`
	NewStateReason   string     `json:"NewStateReason"`
	StateChangeTime  string     `json:"StateChangeTime"`
	Region           string     `json:"Region"` // a display name: "US East (N. Virginia)"
	AlarmArn         string     `json:"AlarmArn"`
	OldStateValue    string     `json:"OldStateValue"`
	Trigger          *cwTrigger `json:"Trigger"`
	AlarmRule        string     `json:"AlarmRule"` // composite alarms
	// TriggeringChildren lists the children that moved a composite alarm:
	// objects {Arn, State{Value, Timestamp}} in the messages CloudWatch
	// sends, plain ARNs in its documented schema. Kept raw, read leniently.
	TriggeringChildren json.RawMessage `json:"TriggeringChildren"`
}

// cwTrigger describes the metric a metric alarm watches.
type cwTrigger struct {
	MetricName         string        `json:"MetricName"`
	Namespace          string        `json:"Namespace"`
	Statistic          string        `json:"Statistic"`
	Dimensions         []cwDimension `json:"Dimensions"`
	ComparisonOperator string        `json:"ComparisonOperator"`
	// Numbers are kept raw: a surprise in them must not lose the alarm.
	Period            json.RawMessage `json:"Period"`
	EvaluationPeriods json.RawMessage `json:"EvaluationPeriods"`
	Threshold         json.RawMessage `json:"Threshold"`
	// Metrics is set instead of MetricName for metric-math and
	// anomaly-detection alarms (MetricDataQuery objects); ThresholdMetricId
	// names the anomaly band among them. Kept raw, read leniently.
	Metrics           json.RawMessage `json:"Metrics"`
	ThresholdMetricID string          `json:"ThresholdMetricId"`
}

// cwMetricQuery is one entry of Trigger.Metrics, a MetricDataQuery: a
// metric (MetricStat) or an expression over the others.
type cwMetricQuery struct {
	ID         string `json:"Id"`
	Expression string `json:"Expression"`
	Label      string `json:"Label"`
	ReturnData *bool  `json:"ReturnData"`
	MetricStat *struct {
		Metric struct {
			Namespace  string        `json:"Namespace"`
			MetricName string        `json:"MetricName"`
			Dimensions []cwDimension `json:"Dimensions"`
		} `json:"Metric"`
		Stat string `json:"Stat"`
	} `json:"MetricStat"`
}

// cwChild is one entry of TriggeringChildren.
type cwChild struct {
	Arn   string `json:"Arn"`
	State struct {
		Value     string `json:"Value"`
		Timestamp string `json:"Timestamp"`
	} `json:"State"`
}

// Bounds on what a CloudWatch alarm's lists add to the details: the first
// maxCWListed metrics and children, maxCWDims dimensions of each metric,
// each string cut to maxCWText characters (text.Truncate). A list that was
// cut says how long it was in "<key>_total".
const (
	maxCWListed = 5
	maxCWDims   = 10
	maxCWText   = 200
)

// cwDimension is one metric dimension; CloudWatch spells the keys in lower case.
type cwDimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CloudWatch alarm states, as NewStateValue reports them.
const (
	cwAlarmState       = "ALARM"
	cwOK               = "OK"
	cwInsufficientData = "INSUFFICIENT_DATA"
)

// maxReasonInSummary is how much of NewStateReason goes into the summary;
// the full reason stays in the details.
const maxReasonInSummary = 160

// regionCodeRE matches an AWS region code such as us-east-1 or us-gov-west-1.
// maxAlarmRule is how many characters of a composite alarm's AlarmRule
// are kept in the details.
const maxAlarmRule = 1000

var regionCodeRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ParseCloudWatchAlarm turns an SNS Notification carrying a CloudWatch alarm
// state change into an alert received at now, and returns the raw
// NewStateValue (ALARM, OK or INSUFFICIENT_DATA) so that the caller can apply
// its policy for INSUFFICIENT_DATA. Verify m first; this only parses.
//
// ALARM fires at critical severity; INSUFFICIENT_DATA fires at warning; OK
// resolves, at the severity of the state it leaves. All three share the dedup
// key cloudwatch:<AlarmArn> (cloudwatch:<account>:<region>:<AlarmName> when
// the ARN is missing), so an OK resolves the incident its ALARM opened; the
// parts of that key must hold no control characters (NUL, CR, LF, …). The
// alert's SourceTime is StateChangeTime, or now when it is missing or bad. A
// Message that is not an alarm is an *InputError.
//
// Metric-math and anomaly-detection alarms name their metrics inside
// Trigger.Metrics, and composite alarms their causes in TriggeringChildren:
// both are kept in the details ("metrics", "threshold_metric_id",
// "triggering_children"), the first few entries, each string truncated.
func ParseCloudWatchAlarm(m SNSMessage, now time.Time) (incident.Alert, string, error) {
	return parseCloudWatchAlarm(m, now, nil)
}

// parseCloudWatchAlarm is ParseCloudWatchAlarm; red, when not nil, redacts
// the summary's parts before they are cut.
func parseCloudWatchAlarm(m SNSMessage, now time.Time, red *privacy.Redactor) (incident.Alert, string, error) {
	if m.Type != snsNotification {
		return incident.Alert{}, "", fieldErr("Type", "must be Notification for a CloudWatch alarm (got %q)", m.Type)
	}
	msg := []byte(m.Message)
	if firstByte(msg) != '{' {
		return incident.Alert{}, "", fieldErr("Message", "must hold a CloudWatch alarm state change as a JSON object, not %s; send only CloudWatch alarms to this topic", kindOf(msg))
	}
	var c cwAlarm
	if err := json.Unmarshal(msg, &c); err != nil {
		return incident.Alert{}, "", jsonInputError(err, "Message", len(msg))
	}
	name := oneLine(c.AlarmName)
	if name == "" {
		return incident.Alert{}, "", fieldErr("Message.AlarmName", "is required; the message is not a CloudWatch alarm state change")
	}
	a := incident.Alert{
		Source:     "cloudwatch",
		Name:       name,
		ReceivedAt: now,
		SourceTime: sourceTime(now, parseCloudWatchTime(c.StateChangeTime)),
	}
	switch c.NewStateValue {
	case cwAlarmState:
		a.Severity, a.Status = incident.SevCritical, incident.AlertFiring
	case cwInsufficientData:
		a.Severity, a.Status = incident.SevWarning, incident.AlertFiring
	case cwOK:
		a.Severity, a.Status = incident.SevCritical, incident.AlertResolved
		if c.OldStateValue == cwInsufficientData {
			a.Severity = incident.SevWarning
		}
	case "":
		return incident.Alert{}, "", fieldErr("Message.NewStateValue", "is required; the message is not a CloudWatch alarm state change")
	default:
		return incident.Alert{}, "", fieldErr("Message.NewStateValue", "must be ALARM, OK or INSUFFICIENT_DATA (got %q)", c.NewStateValue)
	}

	// Region is a display name ("US East (N. Virginia)"); the console and the
	// CLI want the code, which the alarm's ARN, or else the topic's, carries.
	// CloudWatch alarms can only notify topics in their own region.
	partition, region := arnRegion(c.AlarmArn)
	if region == "" {
		partition, region = arnRegion(m.TopicArn)
	}
	if region == "" && regionCodeRE.MatchString(c.Region) {
		region = c.Region
	}

	if arn := strings.TrimSpace(c.AlarmArn); arn != "" {
		// Checked as sent: a control character at either end is refused, not trimmed away.
		if err := checkOneLine("Message.AlarmArn", c.AlarmArn); err != nil {
			return incident.Alert{}, "", err
		}
		a.DedupKey = "cloudwatch:" + arn
	} else {
		r := region
		if r == "" {
			r = c.Region
		}
		for _, f := range []struct{ field, v string }{
			{"Message.AWSAccountId", c.AWSAccountID}, {"Message.Region", r}, {"Message.AlarmName", c.AlarmName},
		} {
			if err := checkOneLine(f.field, f.v); err != nil {
				return incident.Alert{}, "", err
			}
		}
		a.DedupKey = "cloudwatch:" + c.AWSAccountID + ":" + r + ":" + c.AlarmName
	}

	reason := oneLine(c.NewStateReason)
	if reason == "" {
		reason = c.NewStateValue
	}
	a.Summary = red.Cut(name+": "+red.Cut(reason, maxReasonInSummary), maxSummary)

	d := make(map[string]any, 14)
	put := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	put("account", c.AWSAccountID)
	put("region", region)
	if c.Region != region {
		put("region_name", c.Region)
	}
	put("description", c.AlarmDescription)
	put("old_state", c.OldStateValue)
	put("new_state", c.NewStateValue)
	put("state_change_time", c.StateChangeTime)
	put("reason", c.NewStateReason)
	// A composite's rule may run to AWS's 10,240 characters; cut, it leaves
	// room under the 4 KiB of details for the children that triggered it.
	put("alarm_rule", red.Cut(c.AlarmRule, maxAlarmRule))
	if t := c.Trigger; t != nil {
		put("metric", t.MetricName)
		put("namespace", t.Namespace)
		put("statistic", t.Statistic)
		put("comparison", t.ComparisonOperator)
		putNumber(d, "threshold", t.Threshold)
		putNumber(d, "period_seconds", t.Period)
		putNumber(d, "evaluation_periods", t.EvaluationPeriods)
		if len(t.Dimensions) > 0 {
			dims := make(map[string]any, len(t.Dimensions))
			for _, dim := range t.Dimensions {
				if dim.Name != "" {
					dims[dim.Name] = dim.Value
				}
			}
			if len(dims) > 0 {
				d["dimensions"] = dims
			}
		}
		put("threshold_metric_id", text.Truncate(t.ThresholdMetricID, maxCWText))
		metrics, total := cwMetrics(t.Metrics, red)
		putList(d, "metrics", metrics, total)
	}
	children, total := cwChildren(c.TriggeringChildren, red)
	putList(d, "triggering_children", children, total)
	a.Details = d

	if region != "" {
		// The name is path-escaped, so the link is always well formed; the
		// check is the same one every source's links pass.
		if u := consoleURL(partition, region, c.AlarmName); httpURL(u) {
			a.Links = []incident.Link{{Text: "alarm", URL: u}}
		}
	}
	return a, c.NewStateValue, nil
}

// countStarting counts the entries that start with one of the given bytes:
// the entries past the ones shown, counted for putList's total without
// decoding them (an entry of the right kind that would not decode is
// counted too).
func countStarting(entries []json.RawMessage, starts ...byte) int {
	n := 0
	for _, e := range entries {
		if bytes.IndexByte(starts, firstByte(e)) >= 0 {
			n++
		}
	}
	return n
}

// putList stores the first maxCWListed entries of list in d[k] and, when
// there were more (total), their number in d[k+"_total"].
func putList(d map[string]any, k string, list []any, total int) {
	if len(list) == 0 {
		return
	}
	if total > maxCWListed {
		d[k+"_total"] = total
		list = list[:min(len(list), maxCWListed)]
	}
	d[k] = list
}

// cwMetrics reads Trigger.Metrics: one entry per query with its id, its
// expression or its metric (namespace, name, dimensions, stat), its label
// and whether it is the alarm's result. Entries that do not decode are
// skipped; the alarm is never refused for them.
func cwMetrics(raw json.RawMessage, red *privacy.Redactor) (list []any, total int) {
	var entries []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &entries) != nil {
		return nil, 0
	}
	out := make([]any, 0, min(len(entries), maxCWListed+1))
	for i, e := range entries {
		if len(out) == maxCWListed {
			// Enough to show: the rest are counted, not decoded.
			return out, len(out) + countStarting(entries[i:], '{')
		}
		var q cwMetricQuery
		if firstByte(e) != '{' || json.Unmarshal(e, &q) != nil {
			continue
		}
		m := make(map[string]any, 8)
		put := func(k, v string) { putText(m, k, v, red) }
		put("id", q.ID)
		put("label", q.Label)
		put("expression", q.Expression)
		if ms := q.MetricStat; ms != nil {
			put("namespace", ms.Metric.Namespace)
			put("metric", ms.Metric.MetricName)
			put("stat", ms.Stat)
			if dims := cwDims(ms.Metric.Dimensions, red); len(dims) > 0 {
				m["dimensions"] = dims
			}
		}
		if q.ReturnData != nil && *q.ReturnData {
			m["return_data"] = true
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out, len(out)
}

// cwDims is a metric's dimensions as name → value, the first maxCWDims.
func cwDims(list []cwDimension, red *privacy.Redactor) map[string]any {
	dims := make(map[string]any, min(len(list), maxCWDims))
	for _, dim := range list {
		if len(dims) == maxCWDims {
			break
		}
		if dim.Name != "" {
			dims[red.Cut(dim.Name, maxCWText)] = red.Cut(dim.Value, maxCWText)
		}
	}
	return dims
}

// cwChildren reads a composite alarm's TriggeringChildren: each child's ARN
// ("alarm") with its state and the time it entered it. A child given as a
// plain string (the documented schema) is its ARN alone.
func cwChildren(raw json.RawMessage, red *privacy.Redactor) (list []any, total int) {
	var entries []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &entries) != nil {
		return nil, 0
	}
	out := make([]any, 0, min(len(entries), maxCWListed+1))
	for i, e := range entries {
		if len(out) == maxCWListed {
			return out, len(out) + countStarting(entries[i:], '"', '{')
		}
		var ch cwChild
		switch firstByte(e) {
		case '"':
			if json.Unmarshal(e, &ch.Arn) != nil {
				continue
			}
		case '{':
			if json.Unmarshal(e, &ch) != nil {
				continue
			}
		default:
			continue
		}
		m := make(map[string]any, 3)
		put := func(k, v string) { putText(m, k, v, red) }
		put("alarm", ch.Arn)
		put("state", ch.State.Value)
		put("timestamp", ch.State.Timestamp)
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out, len(out)
}

// putNumber stores raw in d[k] as a json.Number when it is a JSON number.
func putNumber(d map[string]any, k string, raw json.RawMessage) {
	if c := firstByte(raw); c == '-' || ('0' <= c && c <= '9') {
		d[k] = json.Number(strings.TrimSpace(string(raw)))
	}
}

// arnRegion returns the partition and region of an ARN
// (arn:partition:service:region:account:resource), or "" when raw is not one.
func arnRegion(raw string) (partition, region string) {
	parts := strings.SplitN(raw, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || !regionCodeRE.MatchString(parts[3]) {
		return "", ""
	}
	return parts[1], parts[3]
}

// consoleURL links to the alarm in the CloudWatch console of its partition.
func consoleURL(partition, region, name string) string {
	host := "console.aws.amazon.com"
	switch partition {
	case "aws-cn":
		host = "console.amazonaws.cn"
	case "aws-us-gov":
		host = "console.amazonaws-us-gov.com"
	}
	return "https://" + host + "/cloudwatch/home?region=" + url.QueryEscape(region) +
		"#alarmsV2:alarm/" + url.PathEscape(name)
}

// putText sets m[k] to v trimmed, redacted by red (when not nil) and cut
// to maxCWText, unless it is empty:
// one field of a listed metric query or triggering child.
func putText(m map[string]any, k, v string, red *privacy.Redactor) {
	if v = strings.TrimSpace(v); v != "" {
		m[k] = red.Cut(v, maxCWText)
	}
}
