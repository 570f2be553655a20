package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/privacy"
	"github.com/batonhq/baton/rotations"
)

var (
	slackIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	// snowflakeRE is a Discord id: a decimal snowflake, 17 to 20 digits.
	snowflakeRE = regexp.MustCompile(`^[0-9]{17,20}$`)
	// discordTokenRE is a bot token's shape: three base64url parts joined by dots.
	discordTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
	// customEmojiRE is a guild emoji as the reaction routes name it: name:id.
	customEmojiRE = regexp.MustCompile(`^[A-Za-z0-9_]{2,32}:[0-9]{17,20}$`)
)

// Validate checks the decoded configuration and returns every problem it
// finds, section by section, each as a Problem at its key path.
func (c *Config) Validate() Problems {
	k := &checker{}
	c.validateServer(k)
	c.validateRedis(k)
	c.validateReplicaWait(k)
	c.validateIntake(k)
	services := c.validateServiceNames(k)
	c.validateRoutes(k, services)
	people := c.validatePeople(k)
	rots := c.validateRotations(k, people)
	policies := c.validatePolicies(k, people, rots)
	c.validateServicePolicies(k, policies)
	c.validateGrouping(k)
	c.validateSlack(k)
	c.validateDiscord(k)
	c.validateAnalyticsAndLog(k)
	c.validateEscalation(k)
	c.validateIntakeLimits(k)
	c.validateAudit(k)
	c.validatePrivacy(k)
	c.validateHeartbeats(k, services)
	c.validateSMTP(k)
	return k.ps
}

// checker collects the problems of one Validate.
type checker struct{ ps Problems }

func (k *checker) add(path, format string, args ...any) {
	k.ps = append(k.ps, Problem{path, fmt.Sprintf(format, args...)})
}

// uniqueID checks a name that other sections refer to, and remembers it.
func (k *checker) uniqueID(path, id string, seen map[string]bool) {
	switch {
	case !rotations.ValidID(id):
		k.add(path, "must be lowercase letters, digits, - or _ (got %q)", id)
	case seen[id]:
		k.add(path, "%q is defined twice", id)
	}
	seen[id] = true
}

// validateServer checks http and api.
func (c *Config) validateServer(k *checker) {
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		k.add("http.listen", "must be host:port such as 127.0.0.1:8080 (got %q)", c.HTTP.Listen)
	}
	if c.API.Token == "" {
		k.add("api.token", "must be set; the HTTP API refuses every request without it (or set BATON_API_TOKEN)")
	} else if len(c.API.Token) < 16 {
		k.add("api.token", "is %d characters; use at least 16", len(c.API.Token))
	}
}

// validateRedis checks the redis section.
func (c *Config) validateRedis(k *checker) {
	if c.Redis.Addr == "" && len(c.Redis.Addrs) == 0 {
		k.add("redis.addr", "must be set (host:port), or list redis.addrs")
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
			k.add(p, "must be host:port (got %q)", a)
		}
	}
	if strings.ContainsAny(c.Redis.Prefix, "{}") {
		k.add("redis.prefix", "must not contain { or }: baton adds its own Redis Cluster hash tags after it (got %q)", c.Redis.Prefix)
	}
	if c.Redis.DB < 0 || c.Redis.DB > 15 {
		k.add("redis.db", "must be between 0 and 15 (got %d)", c.Redis.DB)
	}
	if c.Redis.TLSCAFile != "" {
		if !c.Redis.TLS {
			k.add("redis.tls_ca_file", "is set but redis.tls is false (and redis.addr is not rediss://): Redis would be spoken to in clear")
		} else if _, err := redisTLS(c.Redis); err != nil {
			k.add("redis.tls_ca_file", "%s", strings.TrimPrefix(err.Error(), "redis.tls_ca_file: "))
		}
	}
}

// fromURL fills the connection settings from a redis:// or rediss:// addr
// and leaves host:port in Addr. A part given both in the URL and in its own
// key must agree; a URL that does not parse is a problem at redis.addr.
func (r *RedisConfig) fromURL() Problems {
	if !strings.HasPrefix(r.Addr, "redis://") && !strings.HasPrefix(r.Addr, "rediss://") {
		return nil
	}
	o, err := redis.ParseURL(r.Addr)
	if err != nil {
		// The error may quote the URL, password and all: say what is wrong without it.
		return Problems{{"redis.addr", "must be host:port or a URL redis://[user:password@]host:port[/db] (rediss:// for TLS); this URL does not parse"}}
	}
	var ps Problems
	set := func(path string, dst *string, v string) {
		switch {
		case v == "":
		case *dst == "":
			*dst = v
		case *dst != v:
			ps = append(ps, Problem{path, "is set, and redis.addr's URL gives another; keep one of them"})
		}
	}
	set("redis.username", &r.Username, o.Username)
	set("redis.password", &r.Password, o.Password)
	if o.DB != 0 {
		if r.DB != 0 && r.DB != o.DB {
			ps = append(ps, Problem{"redis.db", "is set, and redis.addr's URL gives another; keep one of them"})
		}
		r.DB = o.DB
	}
	if o.TLSConfig != nil {
		r.TLS = true
	}
	r.Addr = o.Addr
	return ps
}

// redisTLS is the TLS configuration of the Redis client: TLS 1.2 or later,
// verified against redis.tls_ca_file's certificates when set, else the
// system's.
func redisTLS(c RedisConfig) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCAFile == "" {
		return t, nil
	}
	pemBytes, err := os.ReadFile(c.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("redis.tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("redis.tls_ca_file: %s holds no PEM certificate", c.TLSCAFile)
	}
	t.RootCAs = pool
	return t, nil
}

// redisReadTimeout is the Redis client's read timeout (newRedis): a WAIT
// must end before it.
const redisReadTimeout = 2 * time.Second

// validateReplicaWait checks redis.wait_replicas and redis.wait_timeout.
func (c *Config) validateReplicaWait(k *checker) {
	w := c.Redis
	if w.WaitReplicas < 0 {
		k.add("redis.wait_replicas", "must be 0 (off) or more (got %d)", w.WaitReplicas)
	}
	if w.WaitReplicas > 0 && c.Redis.MasterName == "" && len(c.Redis.Addrs) > 1 {
		k.add("redis.wait_replicas", "is not supported on a Redis Cluster (several addrs without master_name): baton cannot send WAIT to the master that took the write; use the cluster's own min-replicas-to-write, or 0")
	}
	if w.WaitReplicas > 0 && (w.WaitTimeout <= 0 || w.WaitTimeout >= redisReadTimeout) {
		k.add("redis.wait_timeout", "must be more than 0 and below %s, the Redis client's read timeout (got %s); the default is 500ms", redisReadTimeout, w.WaitTimeout)
	}
}

// validateIntake checks the intake tokens, body limit and CloudWatch settings
// (its routes need the services: validateRoutes).
func (c *Config) validateIntake(k *checker) {
	for name, tok := range map[string]string{"sumologic": c.Intake.Tokens.SumoLogic, "cloudwatch": c.Intake.Tokens.CloudWatch, "generic": c.Intake.Tokens.Generic,
		"alertmanager": c.Intake.Tokens.Alertmanager, "grafana": c.Intake.Tokens.Grafana, "heartbeat": c.Intake.Tokens.Heartbeat} {
		if tok != "" && len(tok) < 16 {
			k.add("intake.tokens."+name, "is %d characters; use at least 16 (or leave it empty to close this source)", len(tok))
		}
	}
	if c.Intake.MaxBodyBytes < 1024 || c.Intake.MaxBodyBytes > 64<<20 {
		k.add("intake.max_body_bytes", "must be between 1024 and 67108864 (got %d)", c.Intake.MaxBodyBytes)
	}
	switch c.Intake.CloudWatch.InsufficientData {
	case "ignore", "open":
	default:
		k.add("intake.cloudwatch.insufficient_data", "must be ignore or open (got %q)", c.Intake.CloudWatch.InsufficientData)
	}
	for label, sev := range c.Intake.SeverityLabels {
		if !incident.Severity(sev).Valid() {
			k.add("intake.severity_labels."+label, "must be critical, warning or info (got %q)", sev)
		}
	}
	if !incident.Severity(c.Intake.SeverityDefault).Valid() {
		k.add("intake.severity_default", "must be critical, warning or info (got %q): the severity of an Alertmanager or Grafana alert whose severity label is missing or not in intake.severity_labels", c.Intake.SeverityDefault)
	}
	for i, arn := range c.Intake.CloudWatch.TopicARNs {
		if !strings.HasPrefix(arn, "arn:aws") || strings.Count(arn, ":") != 5 {
			k.add(fmt.Sprintf("intake.cloudwatch.topic_arns[%d]", i), "is not an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:alarms (got %q)", arn)
		}
	}
}

// validateServiceNames checks the services' names and returns them.
func (c *Config) validateServiceNames(k *checker) map[string]bool {
	services := map[string]bool{}
	for i, s := range c.Services {
		k.uniqueID(fmt.Sprintf("services[%d].name", i), s.Name, services)
	}
	return services
}

// validateRoutes checks intake.routes against the services.
func (c *Config) validateRoutes(k *checker, services map[string]bool) {
	for i, r := range c.Intake.Routes {
		p := fmt.Sprintf("intake.routes[%d]", i)
		if !slices.Contains([]string{"", "sumologic", "cloudwatch", "generic", "alertmanager", "grafana"}, r.Source) {
			k.add(p+".source", "must be sumologic, cloudwatch, generic, alertmanager, grafana or empty for any (got %q)", r.Source)
		}
		if r.Match == "" {
			k.add(p+".match", "must be a regular expression on the monitor or alarm name")
		} else if _, err := regexp.Compile(r.Match); err != nil {
			k.add(p+".match", "is not a valid regular expression: %v", err)
		}
		if !services[r.Service] {
			k.add(p+".service", "names no service in services (got %q)", r.Service)
		}
	}
}

// validatePeople checks people and returns their ids.
func (c *Config) validatePeople(k *checker) map[string]bool {
	people := map[string]bool{}
	for i, pc := range c.People {
		p := fmt.Sprintf("people[%d]", i)
		k.uniqueID(p+".id", pc.ID, people)
		if pc.Email != "" {
			if a, err := mail.ParseAddress(pc.Email); err != nil || a.Address != pc.Email {
				k.add(p+".email", "is not an email address (got %q)", pc.Email)
			}
		}
		if pc.Slack != "" && !slackIDRE.MatchString(pc.Slack) {
			k.add(p+".slack", "must be a Slack user id such as U012ABCDEF (got %q)", pc.Slack)
		}
		if pc.Discord != "" && !snowflakeRE.MatchString(pc.Discord) {
			k.add(p+".discord", "must be a Discord user id, 17 to 20 digits (got %q)", pc.Discord)
		}
		if pc.Timezone != "" {
			if _, err := time.LoadLocation(pc.Timezone); err != nil {
				k.add(p+".timezone", "is not an IANA time zone such as Europe/Paris (got %q)", pc.Timezone)
			}
		}
	}
	return people
}

// validateRotations checks each rotation with rotations.Compile (the
// schedule rules live there) and its participants against people; it
// returns the rotations' names.
func (c *Config) validateRotations(k *checker, people map[string]bool) map[string]bool {
	rots := map[string]bool{}
	for i, rc := range c.Rotations {
		p := fmt.Sprintf("rotations[%d]", i)
		if rots[rc.Name] {
			k.add(p+".name", "%q is defined twice", rc.Name)
		}
		rots[rc.Name] = true
		if rc.PreshiftCheck < 0 || rc.PreshiftCheck > MaxPreshiftCheck {
			k.add(p+".preshift_check", "must be between 0 (off) and %s (got %s)", MaxPreshiftCheck, rc.PreshiftCheck)
		}
		if rc.HandoffAccept < 0 || rc.HandoffAccept > MaxHandoffAccept {
			k.add(p+".handoff_accept", "must be between 0 (off) and %s (got %s)", MaxHandoffAccept, rc.HandoffAccept)
		}
		if r, err := rotations.Compile(rc.spec()); err == nil {
			if shortest := shortestShift(r); rc.HandoffAccept > 0 && shortest > 0 && rc.HandoffAccept >= shortest {
				k.add(p+".handoff_accept", "must be shorter than a shift (%s): the grace would end after the next handoff (got %s)", shortest, rc.HandoffAccept)
			}
		} else {
			for _, fe := range rotations.FieldErrors(err) {
				fp := p
				if fe.Field != "" {
					fp += "." + fe.Field
				}
				k.add(fp, "%s", fe.Msg)
			}
		}
		for j, who := range rc.Participants {
			if who != "" && !people[who] {
				k.add(fmt.Sprintf("%s.participants[%d]", p, j), "names no one in people (got %q)", who)
			}
		}
	}
	return rots
}

// shortestShift is the shortest of a rotation's first shifts (a daily
// shift across a DST change is 23 h); 0 when it has none.
func shortestShift(r *rotations.Rotation) time.Duration {
	from := r.FirstHandoff()
	first, err := r.ShiftAt(from)
	if err != nil {
		return 0
	}
	span := min(15*24*time.Hour, 64*first.End.Sub(first.Start)) // a fortnight of daily or weekly shifts
	var out time.Duration
	for _, sh := range r.Shifts(from, from.Add(span)) {
		if d := sh.End.Sub(sh.Start); d > 0 && (out == 0 || d < out) {
			out = d
		}
	}
	return out
}

// Bounds of a policy's ack_lease: shorter than a minute would nag a person
// mid-sentence; longer than a day is no lease.
const (
	minAckLease = time.Minute
	maxAckLease = 24 * time.Hour
)

// validatePolicies checks the escalation policies and their targets; it
// returns the policies' names.
func (c *Config) validatePolicies(k *checker, people, rots map[string]bool) map[string]bool {
	policies := map[string]bool{}
	for i, ep := range c.EscalationPolicies {
		p := fmt.Sprintf("escalation_policies[%d]", i)
		k.uniqueID(p+".name", ep.Name, policies)
		if ep.RepageEvery < time.Second {
			k.add(p+".repage_every", "must be at least 1s (got %s); the owner is paged again at this interval", ep.RepageEvery)
		}
		if ep.Repeat < 0 || ep.Repeat > 20 {
			k.add(p+".repeat", "must be between 0 and 20 (got %d)", ep.Repeat)
		}
		if ep.AckTimeout < 0 {
			k.add(p+".ack_timeout", "must not be negative (0 turns it off)")
		}
		if ep.AckLease != 0 && (ep.AckLease < minAckLease || ep.AckLease > maxAckLease) {
			k.add(p+".ack_lease", "policy %q: must be 0 (off) or between %s and %s (got %s); the owner is asked \"still on it?\" min(5m, lease/6) before it runs out",
				ep.Name, minAckLease, maxAckLease, ep.AckLease)
		}
		if len(ep.Levels) == 0 {
			k.add(p+".levels", "must have at least one level")
		}
		for j, lv := range ep.Levels {
			lp := fmt.Sprintf("%s.levels[%d]", p, j)
			if lv.EscalateAfter < time.Second {
				k.add(lp+".escalate_after", "must be at least 1s (got %s)", lv.EscalateAfter)
			}
			if len(lv.Targets) == 0 {
				k.add(lp+".targets", "must name at least one target (user:ID or rotation:NAME)")
			}
			c.validateLevelEmail(k, lp, lv)
			for t, tg := range lv.Targets {
				tp := fmt.Sprintf("%s.targets[%d]", lp, t)
				target, err := rotations.ParseTarget(tg)
				switch {
				case err != nil:
					k.add(tp, "%v", err)
				case target.Kind == "user" && !people[target.Name]:
					k.add(tp, "names no one in people (got %q)", target.Name)
				case target.Kind == "rotation" && !rots[target.Name]:
					k.add(tp, "names no rotation in rotations (got %q)", target.Name)
				}
			}
		}
	}
	return policies
}

// validateServicePolicies checks that every service names a policy.
func (c *Config) validateServicePolicies(k *checker, policies map[string]bool) {
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		if s.EscalationPolicy == "" {
			k.add(p+".escalation_policy", "must be set: a service nobody is paged for is silent")
		} else if !policies[s.EscalationPolicy] {
			k.add(p+".escalation_policy", "names no policy in escalation_policies (got %q)", s.EscalationPolicy)
		}
	}
}

// validateGrouping checks services[].grouping: off (neither window nor by
// written), or a window in [1s, 24h] with field paths an alert has
// (incident.GroupingFieldError). A window written as 0 is refused whether
// or not by is there: "off" is leaving both out, one way only.
func (c *Config) validateGrouping(k *checker) {
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d].grouping", i)
		g := s.Grouping
		switch w := g.Window; {
		case w == 0 && !g.windowSet && len(g.By) == 0:
			continue // off
		case w == 0 && !g.windowSet:
			k.add(p+".window", "must be set with by: how long after an incident opens it takes the service's new alerts, such as 5m")
		case w <= 0:
			k.add(p+".window", "must be a positive duration such as 5m: how long after an incident opens it takes the service's new alerts; to leave grouping off, leave out window and by (got %s)", w)
		case w < time.Second:
			k.add(p+".window", "%s", atLeastASecond(w))
		case w > incident.MaxGroupingWindow:
			k.add(p+".window", "must be at most 24h: a longer window would hide new problems in an old incident (got %s)", w)
		}
		seen := map[string]bool{}
		for j, f := range g.By {
			fp := fmt.Sprintf("%s.by[%d]", p, j)
			if err := incident.GroupingFieldError(f); err != nil {
				k.add(fp, "%v", err)
			} else if seen[f] {
				k.add(fp, "names %q twice", f)
			}
			seen[f] = true
		}
	}
}

// validateSlack checks the slack section. Slack is optional; when a token
// is given, the rest must be sound.
func (c *Config) validateSlack(k *checker) {
	if c.Slack.BotToken != "" || c.Slack.AppToken != "" {
		if !strings.HasPrefix(c.Slack.BotToken, "xoxb-") {
			k.add("slack.bot_token", "must be a bot token starting with xoxb-")
		}
		if !strings.HasPrefix(c.Slack.AppToken, "xapp-") {
			k.add("slack.app_token", "must be an app-level token starting with xapp- (Socket Mode needs it)")
		}
	}
	if u, err := url.Parse(c.Slack.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(c.Slack.APIURL, "/") {
		k.add("slack.api_url", "must be an http(s) URL ending in / (got %q)", c.Slack.APIURL)
	}
	if c.Slack.ArchiveAfter < 0 {
		k.add("slack.archive_after", "must not be negative (0 archives at once)")
	}
}

// validateDiscord checks the discord section and services[].discord_channel.
// Discord is optional; ids given are checked either way, and when the token
// is set the application, the guild and a channel for every service are
// required.
func (c *Config) validateDiscord(k *checker) {
	d := c.Discord
	if d.Token != "" {
		switch {
		case strings.HasPrefix(strings.ToLower(d.Token), "bot "):
			k.add("discord.token", `must be the bot token alone: baton adds "Bot " itself`)
		case !discordTokenRE.MatchString(d.Token):
			k.add("discord.token", "is not a bot token (three parts joined by dots, as the Developer Portal shows it)")
		}
	}
	snowflake := func(path, what, v string, required bool) {
		switch {
		case v == "" && required:
			k.add(path, "must be set when discord.token is: %s", what)
		case v != "" && !snowflakeRE.MatchString(v):
			k.add(path, "must be a Discord id, 17 to 20 digits (got %q): %s", v, what)
		}
	}
	snowflake("discord.application_id", "the application's id (Developer Portal, General Information)", d.ApplicationID, d.On())
	snowflake("discord.guild_id", "the server's id (right-click the server, Copy Server ID)", d.GuildID, d.On())
	snowflake("discord.category_id", "the category incident channels go under", d.CategoryID, false)
	snowflake("discord.alerts_channel", "the channel id of services with no discord_channel", d.AlertsChannel, false)
	if u, err := url.Parse(d.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(d.APIURL, "/") {
		k.add("discord.api_url", "must be an http(s) URL ending in / such as https://discord.com/api/v10/ (got %q)", d.APIURL)
	}
	if d.On() && len(d.AckReactions) == 0 {
		k.add("discord.ack_reactions", `must name at least one emoji, such as ["✅"]: nobody could acknowledge with a reaction`)
	}
	for i, e := range d.AckReactions {
		switch {
		case validEmoji(e):
		case slackEmojiNameRE.MatchString(e):
			use := "the emoji itself, such as \"✅\""
			if u, ok := slackEmoji[strings.Trim(e, ":")]; ok {
				use = fmt.Sprintf("the emoji itself: %q", u)
			}
			k.add(fmt.Sprintf("discord.ack_reactions[%d]", i), "%q is a Slack emoji name, which never matches a Discord reaction: Discord sends the emoji itself; use %s (or a server emoji as name:id)", e, use)
		default:
			k.add(fmt.Sprintf("discord.ack_reactions[%d]", i), "must be a unicode emoji such as ✅ or a server emoji as name:id (got %q)", e)
		}
	}
	if c.servedChat() == "discord" && c.Analytics.DigestChannel != "" && !snowflakeRE.MatchString(c.Analytics.DigestChannel) {
		k.add("analytics.digest_channel", "must be a Discord channel id, 17 to 20 digits, when Discord is the chat (got %q): the Discord bot posts the digest there", c.Analytics.DigestChannel)
	}
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d].discord_channel", i)
		switch {
		case s.DiscordChannel != "" && !snowflakeRE.MatchString(s.DiscordChannel):
			k.add(p, "must be a Discord channel id, 17 to 20 digits (got %q)", s.DiscordChannel)
		case s.DiscordChannel == "" && d.On() && d.AlertsChannel == "":
			k.add(p, "must be set (a channel id) when discord.token is, unless discord.alerts_channel is: service %q's notices and undeliverable pages need a channel", s.Name)
		}
	}
}

// slackEmojiNameRE is a Slack emoji name, bare or between colons
// (white_check_mark, :eyes:, +1).
var slackEmojiNameRE = regexp.MustCompile(`^:?[a-z0-9_+-]{1,64}:?$`)

// slackEmoji are the unicode emoji of the Slack names an ack reaction is
// most often configured as, for check-config's advice.
var slackEmoji = map[string]string{
	"white_check_mark": "✅", "heavy_check_mark": "✔️", "eyes": "👀", "+1": "👍", "thumbsup": "👍",
	"ok_hand": "👌", "ballot_box_with_check": "☑️", "raised_hand": "✋", "ack": "✅",
}

// validEmoji accepts what Discord takes as a reaction: a unicode emoji
// (something beyond ASCII, no ASCII letters, no spaces: a Slack name such
// as white_check_mark is not one; keycaps such as 1️⃣ keep their digit) or
// a server emoji as name:id.
func validEmoji(e string) bool {
	if customEmojiRE.MatchString(e) {
		return true
	}
	if len(e) > 32 {
		return false
	}
	beyondASCII := false
	for _, r := range e {
		switch {
		case unicode.IsSpace(r):
			return false
		case r >= 0x80:
			beyondASCII = true
		case r == '#' || r == '*' || ('0' <= r && r <= '9'):
		default:
			return false
		}
	}
	return beyondASCII
}

// Bounds of the escalation section.
const (
	minLease, maxLease     = time.Second, 5 * time.Minute
	minWorkers, maxWorkers = 1, 256
)

// validateEscalation checks escalation.lease and escalation.workers.
func (c *Config) validateEscalation(k *checker) {
	if l := c.Escalation.Lease; l < minLease || l > maxLease {
		k.add("escalation.lease", "must be between %s and %s: it is how long a dead replica's pages wait (got %s)", minLease, maxLease, l)
	}
	if w := c.Escalation.Workers; w < minWorkers || w > maxWorkers {
		k.add("escalation.workers", "must be between %d and %d page jobs at once per replica (got %d)", minWorkers, maxWorkers, w)
	}
	if id := c.Escalation.ReplicaID; id != "" && !replicaIDPattern.MatchString(id) {
		k.add("escalation.replica_id", "must be 1 to 64 letters, digits, '.', '_' or '-' (got %q)", id)
	}
}

// replicaIDPattern is what escalation.replica_id may be: it ends at the
// first ':' in a lease token.
var replicaIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validateAnalyticsAndLog checks analytics.timezone and log.level.
func (c *Config) validateAnalyticsAndLog(k *checker) {
	if _, err := time.LoadLocation(c.Analytics.Timezone); err != nil || c.Analytics.Timezone == "" {
		k.add("analytics.timezone", "is not an IANA time zone such as Europe/Paris (got %q)", c.Analytics.Timezone)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		k.add("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
}

// validateIntakeLimits checks intake.max_parsing and intake.parse_wait.
func (c *Config) validateIntakeLimits(k *checker) {
	if c.Intake.MaxParsing < 0 || c.Intake.MaxParsing > 1024 {
		k.add("intake.max_parsing", "must be between 0 (2 per CPU) and 1024 (got %d)", c.Intake.MaxParsing)
	}
	if c.Intake.ParseWait < 0 || c.Intake.ParseWait > time.Minute {
		k.add("intake.parse_wait", "must be between 0s and 1m (got %s)", c.Intake.ParseWait)
	}
}

// validateAudit checks the audit stream's retention.
func (c *Config) validateAudit(k *checker) {
	if c.Audit.MaxAge < time.Hour {
		k.add("audit.max_age", "must be at least 1h (got %s); the default is 2160h, 90 days", c.Audit.MaxAge)
	}
	if c.Audit.MaxEntries < 1000 {
		k.add("audit.max_entries", "must be at least 1000 (got %d); the default is 1000000", c.Audit.MaxEntries)
	}
}

// validatePrivacy checks the redaction rules (a bad regexp is a sentence
// naming the rule), keep_fields' sources, the seal keys and their TTL.
func (c *Config) validatePrivacy(k *checker) {
	p := c.Privacy
	seen := map[string]bool{}
	for i, r := range p.Rules {
		path := fmt.Sprintf("privacy.rules[%d]", i)
		if err := privacy.CheckRule(privacy.RuleSpec{Name: r.Name, Pattern: r.Pattern, Replace: r.Replace}); err != nil {
			k.add(path, "%v", err)
			continue
		}
		if seen[r.Name] {
			k.add(path+".name", "rule %q is named twice", r.Name)
		}
		seen[r.Name] = true
	}
	if p.MRNPattern != "" {
		if err := privacy.CheckRule(privacy.RuleSpec{Name: "mrn", Pattern: p.MRNPattern}); err != nil {
			k.add("privacy.mrn_pattern", "%v", err)
		}
	}
	for src, keys := range p.KeepFields {
		switch src {
		case "sumologic", "cloudwatch", "generic", "alertmanager", "grafana":
		default:
			k.add("privacy.keep_fields."+src, "is not a source (sumologic, cloudwatch, generic, alertmanager, grafana)")
		}
		for i, key := range keys {
			if strings.TrimSpace(key) == "" {
				k.add(fmt.Sprintf("privacy.keep_fields.%s[%d]", src, i), "is empty; name a top-level detail key, such as TriggerValue")
			}
		}
	}
	if _, err := privacy.ParseKeys(p.SealKeys); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			// "privacy.seal_keys[5]: key id …" or "privacy.seal_keys[5] (key …": the path, then the problem.
			path, msg, _ := strings.Cut(line, " ")
			k.add(strings.TrimSuffix(path, ":"), "%s", msg)
		}
	}
	if len(p.SealKeys) > 0 && p.SealTTL < time.Hour {
		k.add("privacy.seal_ttl", "must be at least 1h (got %s); the default is 720h, 30 days", p.SealTTL)
	}
}

// maxHeartbeatName bounds a heartbeat's name (a URL path segment and a Redis key).
const maxHeartbeatName = 64

// validateHeartbeats checks heartbeats: unique names usable as a URL path
// segment, a known service, and an interval and grace of at least a second.
func (c *Config) validateHeartbeats(k *checker, services map[string]bool) {
	names := map[string]bool{}
	for i, h := range c.Heartbeats {
		p := fmt.Sprintf("heartbeats[%d]", i)
		k.uniqueID(p+".name", h.Name, names)
		if len(h.Name) > maxHeartbeatName {
			k.add(p+".name", "is %d characters; use at most %d", len(h.Name), maxHeartbeatName)
		}
		if !services[h.Service] {
			k.add(p+".service", "names no service in services (got %q)", h.Service)
		}
		for _, d := range []struct {
			key  string
			v    time.Duration
			what string
		}{{"interval", h.Interval, "how often a beat is expected, such as 1h"}, {"grace", h.Grace, "how much later than the interval a beat may come, such as 5m"}} {
			switch {
			case d.v <= 0:
				k.add(p+"."+d.key, "must be set to a duration of at least 1s: %s (got %s)", d.what, d.v)
			case d.v < time.Second:
				k.add(p+"."+d.key, "%s", atLeastASecond(d.v))
			}
		}
	}
}

func (rc RotationConfig) spec() rotations.Spec {
	return rotations.Spec{Name: rc.Name, Timezone: rc.Timezone, Shift: rc.Shift, Handoff: rc.Handoff, Start: rc.Start, Participants: rc.Participants}
}

// servedChat is the chat `baton serve` runs its one-chat features in
// (chat.go): "slack" when slack.bot_token is set, else "discord" when
// discord.token is, else "". With both, Slack and Discord are both served
// (pages, channels, cards in each: Config.bothChats), and Slack's bot is
// the one that posts the weekly digest and runs handoffs.
func (c *Config) servedChat() string {
	switch {
	case c.Slack.BotToken != "":
		return "slack"
	case c.Discord.On():
		return "discord"
	}
	return ""
}

// bothChats reports whether Slack and Discord are both configured: baton
// serve runs both (chat.go).
func (c *Config) bothChats() bool { return c.Slack.BotToken != "" && c.Discord.On() }

// Warnings lists things that are allowed but will hurt at 3 a.m.: people on
// rotations or escalation levels with no way to reach them in any chat
// that is served, a Sentinel group without a replica wait.
func (c *Config) Warnings() []string {
	// How a person is reached in the served chats: Slack by id or email,
	// Discord by id only (bots cannot look an email up there); with both,
	// either will do (they are paged in each chat they can be reached in).
	lacks := "no slack id, email or discord id"
	fallback := "the service's alerts channel"
	reachable := func(p PersonConfig) bool { return p.Slack != "" || p.Email != "" || p.Discord != "" }
	switch c.servedChat() {
	case "slack":
		if c.bothChats() {
			fallback = "the service's alerts channel and discord_channel"
			break
		}
		lacks = "no slack id or email"
		reachable = func(p PersonConfig) bool { return p.Slack != "" || p.Email != "" }
	case "discord":
		lacks = "no discord id (a Discord bot cannot look a person up by email)"
		fallback = "the service's discord_channel (or discord.alerts_channel)"
		reachable = func(p PersonConfig) bool { return p.Discord != "" }
	}
	known := map[string]bool{}
	for _, p := range c.People {
		known[p.ID] = reachable(p)
	}
	var out []string
	seen := map[string]bool{}
	warn := func(who, format string, args ...any) {
		if ok, isPerson := known[who]; isPerson && !ok && !seen[who] {
			seen[who] = true
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	for _, r := range c.Rotations {
		for _, who := range r.Participants {
			warn(who, "%s is on rotation %s but has %s: pages to them cannot be delivered and will go to %s", who, r.Name, lacks, fallback)
		}
	}
	for _, ep := range c.EscalationPolicies {
		for _, lv := range ep.Levels {
			for _, tg := range lv.Targets {
				if who, ok := strings.CutPrefix(tg, "user:"); ok {
					warn(who, "%s is a target of policy %s but has %s: pages to them cannot be delivered", who, ep.Name, lacks)
				}
			}
		}
	}
	if c.Redis.MasterName != "" && c.Redis.WaitReplicas == 0 {
		out = append(out, "redis.master_name is set but redis.wait_replicas is 0: replication is asynchronous, so a failover can lose alerts already answered 202 and issue their incident numbers again; set redis.wait_replicas: 1")
	}
	if len(c.Heartbeats) > 0 && c.Intake.Tokens.Heartbeat == "" {
		out = append(out, fmt.Sprintf("%d heartbeats are configured but intake.tokens.heartbeat is empty: POST /v1/heartbeats/{name} refuses every beat, so they stay waiting and never page", len(c.Heartbeats)))
	}
	for _, rc := range c.Rotations {
		if rc.PreshiftCheck <= 0 {
			continue
		}
		if r, err := rotations.Compile(rc.spec()); err == nil {
			if shortest := shortestShift(r); shortest > 0 && rc.PreshiftCheck >= shortest {
				out = append(out, fmt.Sprintf("rotation %s: preshift_check %s is not shorter than a shift (%s): each check runs before the handoff before it, as soon as that shift begins", rc.Name, rc.PreshiftCheck, shortest))
			}
		}
	}
	out = append(out, c.emailWarnings()...)
	if c.Analytics.DigestChannel != "" && c.servedChat() == "" {
		out = append(out, fmt.Sprintf("analytics.digest_channel is %q but no chat is configured (slack.bot_token and discord.token are empty): the weekly digest will not be posted", c.Analytics.DigestChannel))
	}
	return out
}

// atLeastASecond is the problem of a duration under the 1s floor. A bare
// number in YAML decodes as nanoseconds (5 is 5ns), which a person never
// means; one written with a unit (500ms) is only too short. Nobody writes a
// duration under a second with a unit finer than ms, so a value that is not
// a whole number of milliseconds is taken as a number without a unit.
func atLeastASecond(d time.Duration) string {
	if d%time.Millisecond != 0 {
		return fmt.Sprintf("must be at least 1s (got %s: a number without a unit is nanoseconds; write it with one, such as 5m)", d)
	}
	return fmt.Sprintf("must be at least 1s (got %s)", d)
}

// markGroupingWindows notes, from the settings as read (viper's
// AllSettings), each service whose grouping names a window: decoded, an
// absent window and `window: 0s` are both 0, and only the first is "off".
func markGroupingWindows(settings map[string]any, services []ServiceConfig) {
	list, _ := settings["services"].([]any)
	for i, raw := range list {
		if i >= len(services) {
			return
		}
		svc, _ := raw.(map[string]any)
		g, _ := svc["grouping"].(map[string]any)
		for k, v := range g {
			if strings.EqualFold(k, "window") && v != nil {
				services[i].Grouping.windowSet = true
			}
		}
	}
}
