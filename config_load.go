package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/batonhq/baton/internal/suggest"
)

// Problem is one thing wrong with a configuration, at a key path.
type Problem struct {
	Path string
	Msg  string
}

// Error is "path: problem", the line check-config prints.
// Error is "path: problem", the line check-config prints.
func (p Problem) Error() string { return p.Path + ": " + p.Msg }

// Problems is every problem found in a configuration at once.
type Problems []Problem

// Error is every problem's line, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadConfig reads path (may be "" for defaults and environment only),
// applies BATON_* overrides, decodes it and validates it. Every problem is
// returned at once as Problems.
func LoadConfig(path string, environ []string) (*Config, error) {
	if path == "" {
		return loadConfig("", nil, environ)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return loadConfig(path, body, environ)
}

// loadConfig is LoadConfig on body, the YAML read from path (named in a
// read error; path "": no YAML, defaults and environment only). The fuzz
// target calls it without a file.
func loadConfig(path string, body []byte, environ []string) (*Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	if path != "" {
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(body)); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	// Environment: an explicit list (not os.Environ inside) so tests stay hermetic.
	env := map[string]string{}
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "BATON_") {
			env[k] = val
		}
	}
	for _, key := range scalarKeys(reflect.TypeOf(Config{}), "") {
		name := "BATON_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if val, ok := env[name]; ok {
			v.Set(key, val)
		}
	}

	var probs Problems
	// intake.severity_labels, a map: from the file, whose keys viper
	// folds to lower case (so "critical" and "Critical" would silently be
	// one, the last winning), and from BATON_INTAKE_SEVERITY_LABELS as a
	// JSON object.
	if path != "" {
		probs = append(probs, severityLabelCases(fileSeverityLabelKeys(body), "")...)
	}
	envLabels, ok := map[string]string(nil), false
	if val, set := env[severityLabelsEnv]; set {
		var p []Problem
		envLabels, p = envSeverityLabels(val)
		probs = append(probs, p...)
		ok = envLabels != nil
	}
	probs = append(probs, unknownKeys(v.AllSettings(), reflect.TypeOf(Config{}), "")...)

	var cfg Config
	err := v.Unmarshal(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		dateToString,
		durationHook,
		mapstructure.StringToSliceHookFunc(","),
	)))
	undecoded := map[string]bool{} // keys whose value did not decode: their zero value is not checked again
	if err != nil {
		for _, p := range decodeProblems(err) {
			undecoded[p.Path] = true
			probs = append(probs, p)
		}
	}
	markGroupingWindows(v.AllSettings(), cfg.Services)
	for _, p := range cfg.Redis.fromURL() {
		undecoded[p.Path] = true
		probs = append(probs, p)
	}
	if ok {
		// The environment's map replaces the file's whole (viper would
		// merge the two).
		cfg.Intake.SeverityLabels = envLabels
	}
	for _, p := range cfg.Validate() {
		if !undecoded[p.Path] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		for i := range probs {
			// check-config prints one line per problem: a value quoted
			// in a message (a regular expression with a newline) or a key
			// name must not break that.
			probs[i].Path, probs[i].Msg = oneLine(probs[i].Path), oneLine(probs[i].Msg)
		}
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
		return &cfg, probs
	}
	return &cfg, nil
}

// severityLabelsEnv is the environment variable of intake.severity_labels,
// the one map key read from the environment.
const severityLabelsEnv = "BATON_INTAKE_SEVERITY_LABELS"

// envSeverityLabels reads BATON_INTAKE_SEVERITY_LABELS, a JSON object of
// label value → severity ({"sev1":"critical","sev2":"warning"}); the
// severities themselves are checked with the file's. nil with a problem
// when it is not such an object.
func envSeverityLabels(val string) (map[string]string, []Problem) {
	var labels map[string]string
	if err := json.Unmarshal([]byte(val), &labels); err != nil || labels == nil {
		return nil, []Problem{{Path: "intake.severity_labels", Msg: fmt.Sprintf(
			"%s must be a JSON object of label value to severity, such as {\"sev1\":\"critical\",\"sev2\":\"warning\"} (got %q)",
			severityLabelsEnv, truncateForProblem(val))}}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	return labels, severityLabelCases(keys, " in "+severityLabelsEnv)
}

// truncateForProblem keeps a quoted value short in a problem line.
func truncateForProblem(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}

// fileSeverityLabelKeys returns the keys of intake.severity_labels as
// written in the YAML body, in their own case (nil when absent or not a
// map; the decoding reports those).
func fileSeverityLabelKeys(body []byte) []string {
	var doc map[string]any
	if yaml.Unmarshal(body, &doc) != nil {
		return nil
	}
	in := func(m map[string]any, key string) any {
		for k, v := range m {
			if strings.EqualFold(k, key) {
				return v
			}
		}
		return nil
	}
	intakeMap, _ := in(doc, "intake").(map[string]any)
	labels, _ := in(intakeMap, "severity_labels").(map[string]any)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	return keys
}

// severityLabelCases names every group of severity_labels keys that
// differ only in case: label values are matched in any case, so they are
// one label value given two severities, and one would silently win.
func severityLabelCases(keys []string, where string) []Problem {
	byLower := map[string][]string{}
	for _, k := range keys {
		byLower[strings.ToLower(k)] = append(byLower[strings.ToLower(k)], k)
	}
	var out []Problem
	for lower, group := range byLower {
		if len(group) < 2 {
			continue
		}
		sort.Strings(group)
		quoted := make([]string, len(group))
		for i, k := range group {
			quoted[i] = strconv.Quote(k)
		}
		out = append(out, Problem{Path: "intake.severity_labels." + lower, Msg: fmt.Sprintf(
			"the keys %s%s differ only in case; label values are matched in any case, so keep one of them",
			strings.Join(quoted, " and "), where)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// durationHook decodes a string into a time.Duration (time.ParseDuration),
// with a message that shows the value and the form expected.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	d, err := time.ParseDuration(data.(string))
	if err != nil {
		return nil, fmt.Errorf("must be a duration such as 10s or 1m30s (got %q)", data)
	}
	return d, nil
}

// dateToString lets `start: 2026-01-05` (a YAML timestamp) land in a string field.
func dateToString(from, to reflect.Type, data any) (any, error) {
	if to.Kind() == reflect.String {
		if t, ok := data.(time.Time); ok {
			return t.Format("2006-01-02"), nil
		}
	}
	return data, nil
}

// scalarKeys lists the dotted keys of every non-list field, the ones an
// environment variable can set.
func scalarKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := prefix + f.Tag.Get("mapstructure")
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, scalarKeys(f.Type, key+".")...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct,
			f.Type.Kind() == reflect.Map:
			// lists of records (services, people, …) and maps
			// (intake.severity_labels) come from the file only
		default:
			out = append(out, key)
		}
	}
	return out
}

// unknownKeys walks what was read against the Config struct and names every
// key that no field accepts, with its full path (services[1].escalaton_policy).
func unknownKeys(data any, t reflect.Type, path string) []Problem {
	var out []Problem
	switch t.Kind() {
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			return nil // a type problem; decodeProblems reports it
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			fields[t.Field(i).Tag.Get("mapstructure")] = t.Field(i).Type
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := k
			if k == "" {
				// `"": 1`, or a key written with a leading, trailing or
				// doubled dot (viper splits keys on dots): still a path
				// a person can find.
				name = `""`
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			ft, ok := fields[k]
			if !ok {
				msg := "unknown key" + didYouMean(k, fields)
				if k == "" {
					msg = "unknown key: an empty key name (a key that starts or ends with a dot, or \"\")"
				}
				out = append(out, Problem{p, msg})
				continue
			}
			out = append(out, unknownKeys(m[k], ft, p)...)
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Struct {
			return nil
		}
		list, ok := data.([]any)
		if !ok {
			return nil
		}
		for i, item := range list {
			out = append(out, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// didYouMean names the known key closest to a typo, when one is close.
func didYouMean(k string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := suggest.Distance(k, f); d < bestD {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// mapstructure reports type errors as "'redis.db' cannot parse value as 'int': …";
// turn each into a Problem with the key path in front.
var decodeErrRE = regexp.MustCompile(`^'([^']*)' (.*)$`)

func decodeProblems(err error) []Problem {
	var out []Problem
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(e, &de) {
			msg := plain(de.Unwrap().Error())
			var pe *mapstructure.ParseError
			if errors.As(de.Unwrap(), &pe) && pe.Expected.Kind() == reflect.Bool {
				msg = fmt.Sprintf("must be true or false (got %q)", fmt.Sprint(pe.Value))
			}
			out = append(out, Problem{de.Name(), msg})
			return
		}
		msg := e.Error()
		if m := decodeErrRE.FindStringSubmatch(msg); m != nil {
			out = append(out, Problem{m[1], plain(m[2])})
			return
		}
		out = append(out, Problem{"(config)", msg})
	}
	walk(err)
	return out
}

// plain trims Go-internal wording from decoder messages.
func plain(msg string) string {
	msg = strings.ReplaceAll(msg, "strconv.ParseInt: ", "")
	msg = strings.ReplaceAll(msg, "time: ", "")
	return msg
}

// oneLine escapes control characters (newlines, tabs, NUL, …) as Go does in
// a quoted string (\n, \t, \x00), so that a message stays on one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
