package main

import (
	"slices"
	"time"
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
	Discord            DiscordConfig      `mapstructure:"discord"`
	Services           []ServiceConfig    `mapstructure:"services"`
	People             []PersonConfig     `mapstructure:"people"`
	Rotations          []RotationConfig   `mapstructure:"rotations"`
	EscalationPolicies []EscalationPolicy `mapstructure:"escalation_policies"`
	Analytics          AnalyticsConfig    `mapstructure:"analytics"`
	Escalation         EscalationConfig   `mapstructure:"escalation"`
	Audit              AuditConfig        `mapstructure:"audit"`
	Privacy            PrivacyConfig      `mapstructure:"privacy"`
	Heartbeats         []HeartbeatConfig  `mapstructure:"heartbeats"`
	SMTP               SMTPConfig         `mapstructure:"smtp"`
}

// SMTPConfig is the SMTP server baton sends its emails through (a policy
// level's notify: [chat, email] or email_after; internal/email). Off while
// Addr is empty. Each key has its BATON_SMTP_* variable (BATON_SMTP_PASSWORD).
type SMTPConfig struct {
	Addr     string `mapstructure:"addr"`     // host:port (587 for STARTTLS submission, 25 for a local relay)
	From     string `mapstructure:"from"`     // the sender, "Baton <baton@example.org>" or a bare address
	Username string `mapstructure:"username"` // "": no login
	Password string `mapstructure:"password"`
	StartTLS bool   `mapstructure:"starttls"` // require STARTTLS before anything is sent
	// IncidentURL, when set, is linked from each email: "{n}" stands for
	// the incident's number (an http or https URL).
	IncidentURL string `mapstructure:"incident_url"`
}

// On reports whether an SMTP server is configured.
func (s SMTPConfig) On() bool { return s.Addr != "" }

// PrivacyConfig is the redaction stage between intake and the store, and
// the sealing of raw payloads (package privacy; docs/privacy.md).
type PrivacyConfig struct {
	// Redact runs the rules on every alert before it is stored (default
	// true). Off, alerts reach chat, the API and the store as sent.
	Redact bool `mapstructure:"redact"`
	// Rules are added to the built-in ones.
	Rules []PrivacyRule `mapstructure:"rules"`
	// KeepFields names, per source, the detail keys shown as they are.
	KeepFields map[string][]string `mapstructure:"keep_fields"`
	// IPv4 adds the ipv4 rule (default off).
	IPv4 bool `mapstructure:"ipv4"`
	// MRNPattern replaces the built-in mrn rule's pattern ("" keeps it).
	MRNPattern string `mapstructure:"mrn_pattern"`
	// SealKeys are "id:base64 of 32 bytes", newest first
	// (BATON_PRIVACY_SEAL_KEYS, comma-separated): the first seals, all
	// open. Empty: raw payloads are not kept.
	SealKeys []string `mapstructure:"seal_keys"`
	// SealTTL is how long a sealed raw payload is kept (default 720h).
	SealTTL time.Duration `mapstructure:"seal_ttl"`
}

// PrivacyRule is one configured redaction rule (privacy.RuleSpec).
type PrivacyRule struct {
	Name    string `mapstructure:"name"`
	Pattern string `mapstructure:"pattern"` // a Go regular expression; a (?P<v>…) submatch replaces only that part
	Replace string `mapstructure:"replace"` // default "[<name>]"
}

// HeartbeatConfig is one heartbeat monitor: something (a cron job, a log
// shipper) that POSTs /v1/heartbeats/{name} at least every Interval; when
// Interval + Grace pass without a beat, an incident of Service opens and
// pages, and the next beat resolves it (docs/heartbeats.md).
type HeartbeatConfig struct {
	Name     string        `mapstructure:"name"` // [a-z0-9_-]+, at most 64: the URL's {name}
	Service  string        `mapstructure:"service"`
	Interval time.Duration `mapstructure:"interval"` // at least 1s
	Grace    time.Duration `mapstructure:"grace"`    // at least 1s
}

// EscalationConfig tunes each replica's escalation runner (who is paged and
// when is escalation_policies').
type EscalationConfig struct {
	// Lease is how long a claimed job is a replica's before another may
	// take it over: how long a dead replica's jobs stay silent. It is
	// renewed every 3/10 of it while the job runs.
	Lease time.Duration `mapstructure:"lease"`
	// Workers is how many page jobs a replica runs at once.
	Workers int `mapstructure:"workers"`
	// ReplicaID names this replica in job leases; "" = a random one per
	// process. Set it to a name stable across restarts of the replica and
	// unique among those running (a StatefulSet pod's name, a systemd
	// instance): a restarted replica then gives back at once the jobs its
	// previous run held, instead of after their lease.
	ReplicaID string `mapstructure:"replica_id"`
}

// AuditConfig bounds the audit stream in Redis (every lifecycle event):
// entries older than MaxAge or beyond the newest MaxEntries are trimmed as
// new ones arrive.
type AuditConfig struct {
	MaxAge     time.Duration `mapstructure:"max_age"`     // default 2160h (90 days)
	MaxEntries int64         `mapstructure:"max_entries"` // default 1,000,000
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
// addrs a cluster, master_name a Sentinel-managed failover group. addr may
// also be a URL, redis://[user:password@]host:port[/db] or rediss://… (TLS),
// whose parts fill username, password, db and tls (redisURL).
//
// AllowVolatile lets baton serve on a Redis that does not persist writes to
// its append-only file (appendonly no): an alert answered 202 is then lost
// when Redis restarts. Without it, serve refuses such a Redis (durability.go).
// The demo and the tests set it.
type RedisConfig struct {
	Addr       string   `mapstructure:"addr"`
	Addrs      []string `mapstructure:"addrs"`
	MasterName string   `mapstructure:"master_name"`
	Username   string   `mapstructure:"username"`
	Password   string   `mapstructure:"password"`
	DB         int      `mapstructure:"db"`
	Prefix     string   `mapstructure:"prefix"`
	// TLS speaks TLS to Redis (also implied by a rediss:// addr), verified
	// against the system's CAs, or TLSCAFile's when set.
	TLS       bool   `mapstructure:"tls"`
	TLSCAFile string `mapstructure:"tls_ca_file"`

	AllowVolatile bool `mapstructure:"allow_volatile"`

	// WaitReplicas makes each write an answer rests on (an alert's 202,
	// an ack or resolve, the page record, the escalation runner's commit)
	// wait until that many replicas have it, for at most WaitTimeout
	// (Redis's WAIT). Replication is asynchronous: without it, a failover
	// (Sentinel) can lose writes already answered. 0 (the default) waits
	// for nothing; 1 is the choice with Sentinel. A write too few replicas
	// confirmed in time is answered as if Redis were unavailable (503; the
	// sender's retry is safe). WaitTimeout defaults to 500ms and must stay
	// below the client's 2 s read timeout.
	WaitReplicas int           `mapstructure:"wait_replicas"`
	WaitTimeout  time.Duration `mapstructure:"wait_timeout"`
}

// IntakeConfig covers the alert webhooks.
type IntakeConfig struct {
	Tokens       IntakeTokens     `mapstructure:"tokens"`
	MaxBodyBytes int64            `mapstructure:"max_body_bytes"`
	Routes       []RouteConfig    `mapstructure:"routes"`
	CloudWatch   CloudWatchConfig `mapstructure:"cloudwatch"`
	// MaxParsing caps the requests parsing a body at once (0:
	// 2×GOMAXPROCS); ParseWait is how long one waits for a slot before a
	// 503 with Retry-After.
	MaxParsing int           `mapstructure:"max_parsing"`
	ParseWait  time.Duration `mapstructure:"parse_wait"`
	// SeverityLabels maps the value of an Alertmanager or Grafana alert's
	// severity label (matched in lower case) to critical, warning or info;
	// empty means critical and page → critical, warning → warning, info
	// and none → info. SeverityDefault is the severity of an alert whose label is
	// missing or not in the map (default critical).
	SeverityLabels  map[string]string `mapstructure:"severity_labels"`
	SeverityDefault string            `mapstructure:"severity_default"`
}

// IntakeTokens are the bearer tokens each source must present. An empty token
// closes that source's endpoint.
type IntakeTokens struct {
	SumoLogic  string `mapstructure:"sumologic"`
	CloudWatch string `mapstructure:"cloudwatch"`
	Generic    string `mapstructure:"generic"`
	// Alertmanager and Grafana take the token as a bearer token
	// (Alertmanager's http_config.authorization, Grafana's webhook
	// "Authorization Header").
	Alertmanager string `mapstructure:"alertmanager"`
	Grafana      string `mapstructure:"grafana"`
	// Heartbeat guards POST /v1/heartbeats/{name} (heartbeats).
	Heartbeat string `mapstructure:"heartbeat"`
}

// RouteConfig sends alerts whose monitor or alarm name matches to a service.
// Rules are tried in order; ?service= on the URL and a service named in the
// alert itself come first.
type RouteConfig struct {
	Source  string `mapstructure:"source"` // sumologic | cloudwatch | generic | alertmanager | grafana | "" for any
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
	// SharedBudget keeps the Slack pacing in Redis so that the replicas
	// share one rate budget (bot/slack.Budget). Default on; false paces
	// each replica alone (docs/architecture.md, Chat).
	SharedBudget bool `mapstructure:"shared_budget"`
}

// DiscordConfig connects the Discord bot (the gateway and the REST API
// through discordgo). It is on when Token is set. Ids are snowflakes,
// decimal strings of 17 to 20 digits.
type DiscordConfig struct {
	// Token is the bot token alone (BATON_DISCORD_TOKEN), without "Bot ".
	Token string `mapstructure:"token"`
	// ApplicationID is the application's id, under which the guild's
	// commands are registered.
	ApplicationID string `mapstructure:"application_id"`
	// GuildID is the one server baton works in.
	GuildID string `mapstructure:"guild_id"`
	// CategoryID, when set, is the category incident channels are created under.
	CategoryID string `mapstructure:"category_id"`
	// AlertsChannel is the channel id of a service with no discord_channel.
	AlertsChannel string `mapstructure:"alerts_channel"`
	// APIURL is the REST base, ending in "/" (default
	// https://discord.com/api/v10/); the gateway URL is asked of it too
	// (GET gateway/bot). Tests and the demo point it at a fake on loopback.
	APIURL string `mapstructure:"api_url"`
	// AckReactions are the emoji that acknowledge: unicode ("✅") or a
	// custom emoji as name:id.
	AckReactions []string `mapstructure:"ack_reactions"`
}

// On reports whether the Discord bot is configured to run.
func (d DiscordConfig) On() bool { return d.Token != "" }

// ServiceConfig is one thing that can be broken: where its alerts go and who is paged.
type ServiceConfig struct {
	Name             string `mapstructure:"name"`
	EscalationPolicy string `mapstructure:"escalation_policy"`
	AlertsChannel    string `mapstructure:"alerts_channel"`
	// DiscordChannel is the Discord channel id of the service's notices and
	// fallback pages; "" uses discord.alerts_channel.
	DiscordChannel string `mapstructure:"discord_channel"`
	// Grouping joins a service's new alerts to its incident still triggered
	// (docs/grouping.md); the zero value, the default, groups nothing.
	Grouping GroupingConfig `mapstructure:"grouping"`
}

// GroupingConfig is services[].grouping: while an incident of the service
// opened less than Window ago is still triggered, a firing alert with
// another dedup key (and, with By, the same values of those fields) joins
// it instead of opening one. Window 0 and no By: off.
type GroupingConfig struct {
	Window time.Duration `mapstructure:"window"` // 0 < window ≤ 24h when grouping is on
	By     []string      `mapstructure:"by"`     // alert field paths: source, name, severity, summary, details.<key>

	windowSet bool // the file names window (markGroupingWindows): 0 is then a mistake, not "off"
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
	// PreshiftCheck, when set, checks each coming shift that long before
	// its handoff (docs/rotations.md, "Before and at the handoff").
	PreshiftCheck time.Duration `mapstructure:"preshift_check"`
	// HandoffAccept, when set, asks the incoming person to take the pager
	// at each handoff; the outgoing person keeps it until they do, and the
	// secondary and the alerts channel are told after this grace.
	HandoffAccept time.Duration `mapstructure:"handoff_accept"`
}

// EscalationPolicy says who is paged, how often and when to move up a level.
type EscalationPolicy struct {
	Name        string        `mapstructure:"name"`
	RepageEvery time.Duration `mapstructure:"repage_every"`
	Repeat      int           `mapstructure:"repeat"`
	AckTimeout  time.Duration `mapstructure:"ack_timeout"`
	// AckLease, when set, is how long an acknowledgement lasts without a
	// sign of work from the owner (a message in the incident's channel, a
	// button); min(5m, lease/6) before it runs out the owner is asked
	// "still on it?", and when it runs out the incident is triggered again.
	// 0 (the default) turns it off; else between 1m and 24h.
	AckLease time.Duration     `mapstructure:"ack_lease"`
	Levels   []EscalationLevel `mapstructure:"levels"`
}

// EscalationLevel is one step of a policy.
type EscalationLevel struct {
	Targets       []string      `mapstructure:"targets"`
	EscalateAfter time.Duration `mapstructure:"escalate_after"`
	// Notify is how the level's owner is paged: [chat] (the default) or
	// [chat, email] (an email with each page too; needs smtp).
	Notify []string `mapstructure:"notify"`
	// EmailAfter, when set, emails the owner when a page of this level is
	// still unacknowledged this long after it (needs smtp; 0: off).
	EmailAfter time.Duration `mapstructure:"email_after"`
}

// emails reports whether the level asks for email.
func (l EscalationLevel) emails() bool { return l.EmailAfter > 0 || slices.Contains(l.Notify, "email") }

// defaults are the values a key takes when neither the file nor the
// environment sets it. Every scalar key is also bound to its BATON_ variable
// (see bindEnv), because viper's Unmarshal ignores keys it has never heard of.
var defaults = map[string]any{
	"http.listen":                         "127.0.0.1:8080",
	"redis.addr":                          "127.0.0.1:6379",
	"redis.prefix":                        "baton:",
	"redis.wait_timeout":                  "500ms",
	"intake.max_body_bytes":               1 << 20,
	"intake.cloudwatch.insufficient_data": "ignore",
	"log.level":                           "info",
	"slack.api_url":                       "https://slack.com/api/",
	"slack.ack_reactions":                 []string{"white_check_mark", "eyes"},
	"slack.archive_after":                 "24h",
	"slack.shared_budget":                 true,
	"discord.api_url":                     "https://discord.com/api/v10/",
	"discord.ack_reactions":               []string{"✅", "👀"},
	"analytics.timezone":                  "UTC",
	"escalation.lease":                    "8s",
	"escalation.workers":                  32,
	"escalation.replica_id":               "",
	"intake.max_parsing":                  0,
	"intake.parse_wait":                   "2s",
	"intake.severity_default":             "critical",
	"audit.max_age":                       "2160h",
	"audit.max_entries":                   1_000_000,
	"privacy.redact":                      true,
	"privacy.seal_ttl":                    "720h",
}
