package main

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/internal/suggest"
	"github.com/batonhq/baton/rotations"
)

// Config is baton's whole configuration: config.yaml, overridden by BATON_*
// environment variables (dots become underscores: BATON_REDIS_ADDR).
// Only this file knows viper; everything else receives typed values.
type Config struct {
	HTTP               HTTPConfig         `mapstructure:"http"`
	API                APIConfig          `mapstructure:"api"`
	Redis              RedisConfig        `mapstructure:"redis"`
	Intake             IntakeConfig       `mapstructure:"intake"`
	Log                LogConfig          `mapstructure:"log"`
	Slack              SlackConfig        `mapstructure:"slack"`
	Services           []ServiceConfig    `mapstructure:"services"`
	People             []PersonConfig     `mapstructure:"people"`
	Rotations          []RotationConfig   `mapstructure:"rotations"`
	EscalationPolicies []EscalationPolicy `mapstructure:"escalation_policies"`
	Analytics          AnalyticsConfig    `mapstructure:"analytics"`
}

// AnalyticsConfig places report days and weeks and sends the weekly digest.
type AnalyticsConfig struct {
	Timezone      string `mapstructure:"timezone"`       // IANA zone of days, weeks and the digest's Monday 09:00
	DigestChannel string `mapstructure:"digest_channel"` // where the weekly digest goes; empty: no digest
}

// HTTPConfig is where the webhook and API listen.
type HTTPConfig struct {
	Listen string `mapstructure:"listen"`
}

// APIConfig guards /v1/incidents, /v1/oncall and the other management routes.
type APIConfig struct {
	Token string `mapstructure:"token"`
}

// RedisConfig chooses the Redis deployment: one addr is a single node, several
// addrs a cluster, master_name a Sentinel-managed failover group.
type RedisConfig struct {
	Addr       string   `mapstructure:"addr"`
	Addrs      []string `mapstructure:"addrs"`
	MasterName string   `mapstructure:"master_name"`
	Username   string   `mapstructure:"username"`
	Password   string   `mapstructure:"password"`
	DB         int      `mapstructure:"db"`
	Prefix     string   `mapstructure:"prefix"`
	TLS        bool     `mapstructure:"tls"`
}

// IntakeConfig covers the alert webhooks.
type IntakeConfig struct {
	Tokens       IntakeTokens     `mapstructure:"tokens"`
	MaxBodyBytes int64            `mapstructure:"max_body_bytes"`
	Routes       []RouteConfig    `mapstructure:"routes"`
	CloudWatch   CloudWatchConfig `mapstructure:"cloudwatch"`
}

// IntakeTokens are the bearer tokens each source must present. An empty token
// closes that source's endpoint.
type IntakeTokens struct {
	SumoLogic  string `mapstructure:"sumologic"`
	CloudWatch string `mapstructure:"cloudwatch"`
	Generic    string `mapstructure:"generic"`
}

// RouteConfig sends alerts whose monitor or alarm name matches to a service.
// Rules are tried in order; ?service= on the URL and a service named in the
// alert itself come first.
type RouteConfig struct {
	Source  string `mapstructure:"source"` // sumologic | cloudwatch | generic | "" for any
	Match   string `mapstructure:"match"`  // a Go regular expression on the alert's name
	Service string `mapstructure:"service"`
}

// CloudWatchConfig holds the SNS-specific settings.
type CloudWatchConfig struct {
	TopicARNs        []string `mapstructure:"topic_arns"`        // SNS topics allowed to post; none = every topic refused
	InsufficientData string   `mapstructure:"insufficient_data"` // ignore | open
}

// LogConfig sets the log level.
type LogConfig struct {
	Level string `mapstructure:"level"` // debug | info | warn | error
}

// SlackConfig connects the Slack bot (Socket Mode).
type SlackConfig struct {
	BotToken     string        `mapstructure:"bot_token"`
	AppToken     string        `mapstructure:"app_token"`
	APIURL       string        `mapstructure:"api_url"`
	AckReactions []string      `mapstructure:"ack_reactions"`
	ArchiveAfter time.Duration `mapstructure:"archive_after"`
}

// ServiceConfig is one thing that can be broken: where its alerts go and who is paged.
type ServiceConfig struct {
	Name             string `mapstructure:"name"`
	EscalationPolicy string `mapstructure:"escalation_policy"`
	AlertsChannel    string `mapstructure:"alerts_channel"`
}

// PersonConfig is someone who can be paged.
type PersonConfig struct {
	ID       string `mapstructure:"id"`
	Name     string `mapstructure:"name"`
	Email    string `mapstructure:"email"`
	Slack    string `mapstructure:"slack"`
	Discord  string `mapstructure:"discord"`
	Timezone string `mapstructure:"timezone"`
}

// RotationConfig is a rotation as written in config.yaml; rotations.Compile checks it.
type RotationConfig struct {
	Name         string   `mapstructure:"name"`
	Timezone     string   `mapstructure:"timezone"`
	Shift        string   `mapstructure:"shift"`
	Handoff      string   `mapstructure:"handoff"`
	Start        string   `mapstructure:"start"`
	Participants []string `mapstructure:"participants"`
}

// EscalationPolicy says who is paged, how often and when to move up a level.
type EscalationPolicy struct {
	Name        string            `mapstructure:"name"`
	RepageEvery time.Duration     `mapstructure:"repage_every"`
	Repeat      int               `mapstructure:"repeat"`
	AckTimeout  time.Duration     `mapstructure:"ack_timeout"`
	Levels      []EscalationLevel `mapstructure:"levels"`
}

// EscalationLevel is one step of a policy.
type EscalationLevel struct {
	Targets       []string      `mapstructure:"targets"`
	EscalateAfter time.Duration `mapstructure:"escalate_after"`
}

// defaults are the values a key takes when neither the file nor the
// environment sets it. Every scalar key is also bound to its BATON_ variable
// (see bindEnv), because viper's Unmarshal ignores keys it has never heard of.
var defaults = map[string]any{
	"http.listen":                         "127.0.0.1:8080",
	"redis.addr":                          "127.0.0.1:6379",
	"redis.prefix":                        "baton:",
	"intake.max_body_bytes":               1 << 20,
	"intake.cloudwatch.insufficient_data": "ignore",
	"log.level":                           "info",
	"slack.api_url":                       "https://slack.com/api/",
	"slack.ack_reactions":                 []string{"white_check_mark", "eyes"},
	"slack.archive_after":                 "24h",
	"analytics.timezone":                  "UTC",
}

// Problem is one thing wrong with a configuration, at a key path.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) Error() string { return p.Path + ": " + p.Msg }

// Problems is every problem found in a configuration at once.
type Problems []Problem

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
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
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
	probs = append(probs, unknownKeys(v.AllSettings(), reflect.TypeOf(Config{}), "")...)

	var cfg Config
	err := v.Unmarshal(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		dateToString,
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		probs = append(probs, decodeProblems(err)...)
	}
	probs = append(probs, cfg.Validate()...)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
		return &cfg, probs
	}
	return &cfg, nil
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
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			// lists of records (services, people, …) come from the file only
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
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				out = append(out, Problem{p, "unknown key" + didYouMean(k, fields)})
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
			out = append(out, Problem{de.Name(), plain(de.Unwrap().Error())})
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

var (
	idRE      = regexp.MustCompile(`^[a-z0-9_-]+$`)
	slackIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	discordRE = regexp.MustCompile(`^[0-9]{15,21}$`)
)

// Validate checks the decoded configuration and returns every problem it finds.
func (c *Config) Validate() Problems {
	var ps Problems
	add := func(path, format string, args ...any) { ps = append(ps, Problem{path, fmt.Sprintf(format, args...)}) }
	// uniqueID checks a name that other sections refer to, and remembers it.
	uniqueID := func(path, id string, seen map[string]bool) {
		switch {
		case !idRE.MatchString(id):
			add(path, "must be lowercase letters, digits, - or _ (got %q)", id)
		case seen[id]:
			add(path, "%q is defined twice", id)
		}
		seen[id] = true
	}

	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		add("http.listen", "must be host:port such as 127.0.0.1:8080 (got %q)", c.HTTP.Listen)
	}
	if c.API.Token == "" {
		add("api.token", "must be set; the HTTP API refuses every request without it (or set BATON_API_TOKEN)")
	} else if len(c.API.Token) < 16 {
		add("api.token", "is %d characters; use at least 16", len(c.API.Token))
	}

	// Redis.
	if c.Redis.Addr == "" && len(c.Redis.Addrs) == 0 {
		add("redis.addr", "must be set (host:port), or list redis.addrs")
	}
	for i, a := range append([]string{c.Redis.Addr}, c.Redis.Addrs...) {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			p := "redis.addr"
			if i > 0 {
				p = fmt.Sprintf("redis.addrs[%d]", i-1)
			}
			add(p, "must be host:port (got %q)", a)
		}
	}
	if strings.ContainsAny(c.Redis.Prefix, "{}") {
		add("redis.prefix", "must not contain { or }: baton adds its own Redis Cluster hash tags after it (got %q)", c.Redis.Prefix)
	}
	if c.Redis.DB < 0 || c.Redis.DB > 15 {
		add("redis.db", "must be between 0 and 15 (got %d)", c.Redis.DB)
	}

	// Intake.
	for name, tok := range map[string]string{"sumologic": c.Intake.Tokens.SumoLogic, "cloudwatch": c.Intake.Tokens.CloudWatch, "generic": c.Intake.Tokens.Generic} {
		if tok != "" && len(tok) < 16 {
			add("intake.tokens."+name, "is %d characters; use at least 16 (or leave it empty to close this source)", len(tok))
		}
	}
	if c.Intake.MaxBodyBytes < 1024 || c.Intake.MaxBodyBytes > 64<<20 {
		add("intake.max_body_bytes", "must be between 1024 and 67108864 (got %d)", c.Intake.MaxBodyBytes)
	}
	switch c.Intake.CloudWatch.InsufficientData {
	case "ignore", "open":
	default:
		add("intake.cloudwatch.insufficient_data", "must be ignore or open (got %q)", c.Intake.CloudWatch.InsufficientData)
	}
	for i, arn := range c.Intake.CloudWatch.TopicARNs {
		if !strings.HasPrefix(arn, "arn:aws") || strings.Count(arn, ":") != 5 {
			add(fmt.Sprintf("intake.cloudwatch.topic_arns[%d]", i), "is not an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:alarms (got %q)", arn)
		}
	}

	services := map[string]bool{}
	for i, s := range c.Services {
		uniqueID(fmt.Sprintf("services[%d].name", i), s.Name, services)
	}
	for i, r := range c.Intake.Routes {
		p := fmt.Sprintf("intake.routes[%d]", i)
		if !slices.Contains([]string{"", "sumologic", "cloudwatch", "generic"}, r.Source) {
			add(p+".source", "must be sumologic, cloudwatch, generic or empty for any (got %q)", r.Source)
		}
		if r.Match == "" {
			add(p+".match", "must be a regular expression on the monitor or alarm name")
		} else if _, err := regexp.Compile(r.Match); err != nil {
			add(p+".match", "is not a valid regular expression: %v", err)
		}
		if !services[r.Service] {
			add(p+".service", "names no service in services (got %q)", r.Service)
		}
	}

	people := map[string]bool{}
	for i, pc := range c.People {
		p := fmt.Sprintf("people[%d]", i)
		uniqueID(p+".id", pc.ID, people)
		if pc.Email != "" {
			if a, err := mail.ParseAddress(pc.Email); err != nil || a.Address != pc.Email {
				add(p+".email", "is not an email address (got %q)", pc.Email)
			}
		}
		if pc.Slack != "" && !slackIDRE.MatchString(pc.Slack) {
			add(p+".slack", "must be a Slack user id such as U012ABCDEF (got %q)", pc.Slack)
		}
		if pc.Discord != "" && !discordRE.MatchString(pc.Discord) {
			add(p+".discord", "must be a Discord user id, 15 to 21 digits (got %q)", pc.Discord)
		}
		if pc.Timezone != "" {
			if _, err := time.LoadLocation(pc.Timezone); err != nil {
				add(p+".timezone", "is not an IANA time zone such as Europe/Paris (got %q)", pc.Timezone)
			}
		}
	}

	rots := map[string]bool{}
	for i, rc := range c.Rotations {
		p := fmt.Sprintf("rotations[%d]", i)
		if rots[rc.Name] {
			add(p+".name", "%q is defined twice", rc.Name)
		}
		rots[rc.Name] = true
		if _, err := rotations.Compile(rc.spec()); err != nil {
			for _, fe := range rotations.FieldErrors(err) {
				fp := p
				if fe.Field != "" {
					fp += "." + fe.Field
				}
				add(fp, "%s", fe.Msg)
			}
		}
		for j, who := range rc.Participants {
			if who != "" && !people[who] {
				add(fmt.Sprintf("%s.participants[%d]", p, j), "names no one in people (got %q)", who)
			}
		}
	}

	policies := map[string]bool{}
	for i, ep := range c.EscalationPolicies {
		p := fmt.Sprintf("escalation_policies[%d]", i)
		uniqueID(p+".name", ep.Name, policies)
		if ep.RepageEvery < time.Second {
			add(p+".repage_every", "must be at least 1s (got %s); the owner is paged again at this interval", ep.RepageEvery)
		}
		if ep.Repeat < 0 || ep.Repeat > 20 {
			add(p+".repeat", "must be between 0 and 20 (got %d)", ep.Repeat)
		}
		if ep.AckTimeout < 0 {
			add(p+".ack_timeout", "must not be negative (0 turns it off)")
		}
		if len(ep.Levels) == 0 {
			add(p+".levels", "must have at least one level")
		}
		for j, lv := range ep.Levels {
			lp := fmt.Sprintf("%s.levels[%d]", p, j)
			if lv.EscalateAfter < time.Second {
				add(lp+".escalate_after", "must be at least 1s (got %s)", lv.EscalateAfter)
			}
			if len(lv.Targets) == 0 {
				add(lp+".targets", "must name at least one target (user:ID or rotation:NAME)")
			}
			for k, tg := range lv.Targets {
				tp := fmt.Sprintf("%s.targets[%d]", lp, k)
				t, err := rotations.ParseTarget(tg)
				switch {
				case err != nil:
					add(tp, "%v", err)
				case t.Kind == "user" && !people[t.Name]:
					add(tp, "names no one in people (got %q)", t.Name)
				case t.Kind == "rotation" && !rots[t.Name]:
					add(tp, "names no rotation in rotations (got %q)", t.Name)
				}
			}
		}
	}
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		if s.EscalationPolicy == "" {
			add(p+".escalation_policy", "must be set: a service nobody is paged for is silent")
		} else if !policies[s.EscalationPolicy] {
			add(p+".escalation_policy", "names no policy in escalation_policies (got %q)", s.EscalationPolicy)
		}
	}

	// Slack is optional; when a token is given, the rest must be sound.
	if c.Slack.BotToken != "" || c.Slack.AppToken != "" {
		if !strings.HasPrefix(c.Slack.BotToken, "xoxb-") {
			add("slack.bot_token", "must be a bot token starting with xoxb-")
		}
		if !strings.HasPrefix(c.Slack.AppToken, "xapp-") {
			add("slack.app_token", "must be an app-level token starting with xapp- (Socket Mode needs it)")
		}
	}
	if u, err := url.Parse(c.Slack.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(c.Slack.APIURL, "/") {
		add("slack.api_url", "must be an http(s) URL ending in / (got %q)", c.Slack.APIURL)
	}
	if c.Slack.ArchiveAfter < 0 {
		add("slack.archive_after", "must not be negative (0 archives at once)")
	}
	if _, err := time.LoadLocation(c.Analytics.Timezone); err != nil || c.Analytics.Timezone == "" {
		add("analytics.timezone", "is not an IANA time zone such as Europe/Paris (got %q)", c.Analytics.Timezone)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	return ps
}

func (rc RotationConfig) spec() rotations.Spec {
	return rotations.Spec{Name: rc.Name, Timezone: rc.Timezone, Shift: rc.Shift, Handoff: rc.Handoff, Start: rc.Start, Participants: rc.Participants}
}

// Warnings lists things that are allowed but will hurt at 3 a.m.: people on
// rotations or escalation levels with no way to reach them in chat.
func (c *Config) Warnings() []string {
	reachable := map[string]bool{}
	for _, p := range c.People {
		reachable[p.ID] = p.Slack != "" || p.Email != "" || p.Discord != ""
	}
	var out []string
	seen := map[string]bool{}
	warn := func(who, format string, args ...any) {
		if ok, known := reachable[who]; known && !ok && !seen[who] {
			seen[who] = true
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	for _, r := range c.Rotations {
		for _, who := range r.Participants {
			warn(who, "%s is on rotation %s but has no slack id, email or discord id: pages to them cannot be delivered and will go to the service's alerts channel", who, r.Name)
		}
	}
	for _, ep := range c.EscalationPolicies {
		for _, lv := range ep.Levels {
			for _, tg := range lv.Targets {
				if who, ok := strings.CutPrefix(tg, "user:"); ok {
					warn(who, "%s is a target of policy %s but has no slack id, email or discord id: pages to them cannot be delivered", who, ep.Name)
				}
			}
		}
	}
	if c.Analytics.DigestChannel != "" && c.Slack.BotToken == "" {
		out = append(out, fmt.Sprintf("analytics.digest_channel is %q but no chat is configured (slack.bot_token is empty): the weekly digest will not be posted", c.Analytics.DigestChannel))
	}
	return out
}

// person returns the person with id, or nil.
func (c *Config) person(id string) *PersonConfig {
	for i := range c.People {
		if c.People[i].ID == id {
			return &c.People[i]
		}
	}
	return nil
}

// compileRotations builds every rotation; the config has been validated, so
// an error here is a bug, reported plainly all the same.
func (c *Config) compileRotations() (map[string]*rotations.Rotation, error) {
	out := map[string]*rotations.Rotation{}
	for _, rc := range c.Rotations {
		r, err := rotations.Compile(rc.spec())
		if err != nil {
			return nil, fmt.Errorf("rotation %s: %w", rc.Name, err)
		}
		out[rc.Name] = r
	}
	return out, nil
}

// escalationPolicies turns the policies and services into the engine's form.
func (c *Config) escalationPolicies() (escalation.Policies, error) {
	var pols []escalation.Policy
	for _, ep := range c.EscalationPolicies {
		p := escalation.Policy{Name: ep.Name, RepageEvery: ep.RepageEvery, Repeat: ep.Repeat, AckTimeout: ep.AckTimeout}
		for i, lv := range ep.Levels {
			l, err := escalation.NewLevel(lv.Targets, lv.EscalateAfter)
			if err != nil {
				return nil, fmt.Errorf("policy %s level %d: %w", ep.Name, i+1, err)
			}
			p.Levels = append(p.Levels, l)
		}
		pols = append(pols, p)
	}
	var svcs []escalation.Service
	for _, s := range c.Services {
		svcs = append(svcs, escalation.Service{Name: s.Name, Policy: s.EscalationPolicy, AlertsChannel: s.AlertsChannel})
	}
	return escalation.Lookup(svcs, pols)
}

// serviceRotations maps each service to the first rotation its first
// escalation level pages ("" when that level names only people).
func (c *Config) serviceRotations() map[string]string {
	first := map[string]string{}
	for _, ep := range c.EscalationPolicies {
		if len(ep.Levels) == 0 {
			continue
		}
		for _, tg := range ep.Levels[0].Targets {
			if t, err := rotations.ParseTarget(tg); err == nil && t.Kind == rotations.TargetRotation {
				first[ep.Name] = t.Name
				break
			}
		}
	}
	out := map[string]string{}
	for _, s := range c.Services {
		out[s.Name] = first[s.EscalationPolicy]
	}
	return out
}

// directory is the on-call view of this configuration.
func (c *Config) directory(rots map[string]*rotations.Rotation, ovs oncall.OverrideSource) *oncall.Board {
	names := map[string]string{}
	for _, p := range c.People {
		names[p.ID] = p.Name
	}
	return &oncall.Board{Rotations: rots, ServiceRotation: c.serviceRotations(), Names: names, Overrides: ovs}
}
