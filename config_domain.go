package main

// Config → domain: the one place where the typed configuration becomes the
// values the packages take (rotations, policies, the on-call board, intake
// rules, the chat side's people and services, zones). Everything here runs
// on a validated Config, so an error is a bug, reported plainly all the same.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/privacy"
	"github.com/batonhq/baton/rotations"
)

// domain is a validated Config in the packages' own terms: what every
// subsystem of the wiring (store.go, engine.go, chat.go, http.go,
// analytics.go) is built from.
type domain struct {
	rotations map[string]*rotations.Rotation
	policies  escalation.Policies
	// zone is analytics.timezone: the days and weeks of reports.
	zone *time.Location
	// personZone is a person's own zone (nil when they have none), for
	// "pages out of hours".
	personZone func(person string) *time.Location
	services   map[string]bool
	people     map[string]bool
	// runner is the escalation section: the runner's lease and workers.
	runner runnerSettings
	// groupings are the services' alert groupings (services[].grouping),
	// for the incident store; a service without one has the zero Grouping.
	groupings map[string]incident.Grouping
	// redactor is the privacy section's redaction stage (nil-safe);
	// sealer seals raw payloads, nil when privacy.seal_keys is empty.
	redactor *privacy.Redactor
	sealer   *privacy.Sealer
	// heartbeats are the heartbeat monitors in the config's order, and
	// by name.
	heartbeats      []incident.Heartbeat
	heartbeatByName map[string]incident.Heartbeat
	// emailer sends the policies' emails (smtp); nil without smtp.addr.
	emailer escalation.Emailer
	// handoffs are the handoff settings of the rotations that have any
	// (preshift_check, handoff_accept), by rotation.
	handoffs map[string]rotations.HandoffPolicy
}

// heartbeat answers a heartbeat monitor by name (escalation.Heartbeats).
func (d *domain) heartbeat(name string) (incident.Heartbeat, bool) {
	h, ok := d.heartbeatByName[name]
	return h, ok
}

// grouping is a service's alert grouping, the zero Grouping (off) for a
// service without one: incident.WithGrouping's function.
func (d *domain) grouping(service string) incident.Grouping { return d.groupings[service] }

// runnerSettings are escalation.Options' tunables from the escalation section.
type runnerSettings struct {
	lease     time.Duration
	workers   int
	replicaID string // "": a random one per process
}

// domain translates the configuration.
func (c *Config) domain() (*domain, error) {
	rots, err := c.compileRotations()
	if err != nil {
		return nil, err
	}
	policies, err := c.escalationPolicies()
	if err != nil {
		return nil, err
	}
	zone, err := time.LoadLocation(c.Analytics.Timezone)
	if err != nil {
		return nil, fmt.Errorf("analytics.timezone: %w", err)
	}
	d := &domain{rotations: rots, policies: policies, zone: zone, personZone: c.personZone(),
		services: map[string]bool{}, people: map[string]bool{},
		runner: runnerSettings{lease: c.Escalation.Lease, workers: c.Escalation.Workers, replicaID: c.Escalation.ReplicaID}}
	d.groupings = map[string]incident.Grouping{}
	for _, s := range c.Services {
		d.services[s.Name] = true
		if s.Grouping.Window > 0 {
			d.groupings[s.Name] = incident.Grouping{Window: s.Grouping.Window, By: s.Grouping.By}
		}
	}
	for _, p := range c.People {
		d.people[p.ID] = true
	}
	if d.redactor, d.sealer, err = c.privacy(); err != nil {
		return nil, err
	}
	d.heartbeats, d.heartbeatByName = c.heartbeats()
	d.handoffs = c.handoffPolicies()
	if d.emailer, err = c.emailer(); err != nil {
		return nil, err
	}
	return d, nil
}

// privacy builds the redaction stage and the sealer from the privacy section.
func (c *Config) privacy() (*privacy.Redactor, *privacy.Sealer, error) {
	p := c.Privacy
	rules := make([]privacy.RuleSpec, len(p.Rules))
	for i, r := range p.Rules {
		rules[i] = privacy.RuleSpec{Name: r.Name, Pattern: r.Pattern, Replace: r.Replace}
	}
	red, err := privacy.New(privacy.Config{Off: !p.Redact, Rules: rules, KeepFields: p.KeepFields, IPv4: p.IPv4, MRNPattern: p.MRNPattern})
	if err != nil {
		return nil, nil, err
	}
	keys, err := privacy.ParseKeys(p.SealKeys)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := privacy.NewSealer(keys)
	if err != nil {
		return nil, nil, err
	}
	return red, sealer, nil
}

// heartbeats are the heartbeat monitors in the incident store's terms, in
// order and by name.
func (c *Config) heartbeats() ([]incident.Heartbeat, map[string]incident.Heartbeat) {
	list := make([]incident.Heartbeat, 0, len(c.Heartbeats))
	byName := make(map[string]incident.Heartbeat, len(c.Heartbeats))
	for _, h := range c.Heartbeats {
		hb := incident.Heartbeat{Name: h.Name, Service: h.Service, Interval: h.Interval, Grace: h.Grace}
		list = append(list, hb)
		byName[h.Name] = hb
	}
	return list, byName
}

// known says which people and rotations exist, for the overrides store.
func (d *domain) known() rotations.Known {
	return rotations.Known{
		Person:   func(id string) bool { return d.people[id] },
		Rotation: func(name string) bool { return d.rotations[name] != nil },
	}
}

// personZone maps each person with a timezone to it, for "pages out of
// hours"; the answer is nil for anyone else.
func (c *Config) personZone() func(person string) *time.Location {
	zones := map[string]*time.Location{}
	for _, p := range c.People {
		if loc, err := time.LoadLocation(p.Timezone); err == nil && p.Timezone != "" {
			zones[p.ID] = loc
		}
	}
	return func(p string) *time.Location { return zones[p] }
}

// hasService reports whether name is a configured service.
func (c *Config) hasService(name string) bool {
	for _, s := range c.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// intakeConfig is the webhook edge's configuration (tokens, limits, routes);
// the SNS verifier's certificate fetch and the subscription confirmation are
// the caller's (real HTTPS in production, the demo's own signer).
func (c *Config) intakeConfig(services map[string]bool) intake.Config {
	var rules []intake.Rule
	for _, r := range c.Intake.Routes {
		rules = append(rules, intake.Rule{Source: r.Source, Match: regexp.MustCompile(r.Match), Service: r.Service})
	}
	return intake.Config{
		Tokens: map[string]string{
			"sumologic":    c.Intake.Tokens.SumoLogic,
			"cloudwatch":   c.Intake.Tokens.CloudWatch,
			"generic":      c.Intake.Tokens.Generic,
			"alertmanager": c.Intake.Tokens.Alertmanager,
			"grafana":      c.Intake.Tokens.Grafana,
		},
		Severities:       c.severities(),
		GroupingLabels:   c.groupingLabels(),
		MaxBodyBytes:     c.Intake.MaxBodyBytes,
		Services:         services,
		Rules:            rules,
		InsufficientData: c.Intake.CloudWatch.InsufficientData,
		SNS:              &intake.SNSVerifier{AllowedTopics: c.Intake.CloudWatch.TopicARNs},
		MaxParsing:       c.Intake.MaxParsing,
		ParseWait:        c.parseWait(),
	}
}

// groupingLabels are the label and annotation names the services'
// groupings read (details.labels.<name>, details.annotations.<name>), which
// the Alertmanager and Grafana parsers keep ahead of the others.
func (c *Config) groupingLabels() map[string]bool {
	names := map[string]bool{}
	for _, s := range c.Services {
		for _, by := range s.Grouping.By {
			for _, prefix := range []string{"details.labels.", "details.annotations."} {
				if name, ok := strings.CutPrefix(by, prefix); ok && name != "" && !strings.Contains(name, ".") {
					names[name] = true
				}
			}
		}
	}
	return names
}

// severities is intake.severity_labels and intake.severity_default in
// intake's terms; no labels configured means intake.DefaultSeverities'.
func (c *Config) severities() intake.Severities {
	s := intake.Severities{Labels: intake.DefaultSeverities.Labels, Default: incident.Severity(c.Intake.SeverityDefault)}
	if len(c.Intake.SeverityLabels) > 0 {
		s.Labels = make(map[string]incident.Severity, len(c.Intake.SeverityLabels))
		for label, sev := range c.Intake.SeverityLabels {
			s.Labels[strings.ToLower(label)] = incident.Severity(sev)
		}
	}
	return s
}

// parseWait is intake.parse_wait in intake's terms: 0 there means the
// default, so a configured 0 (no wait) is passed as negative.
func (c *Config) parseWait() time.Duration {
	if c.Intake.ParseWait == 0 {
		return -1
	}
	return c.Intake.ParseWait
}

// auditRetention is the audit section in the incident store's terms.
func (c *Config) auditRetention() incident.AuditRetention {
	return incident.AuditRetention{MaxAge: c.Audit.MaxAge, MaxEntries: c.Audit.MaxEntries}
}

// replicaWait is redis.wait_replicas and wait_timeout as an incident store
// option (WithReplicaWait; 0 replicas: no wait).
func (c *Config) replicaWait() incident.StoreOption {
	return incident.WithReplicaWait(c.Redis.WaitReplicas, c.Redis.WaitTimeout)
}

// chatPeople are the people as the chat side sees them; chatID picks the
// person's id in that chat (people[].slack for Slack).
func (c *Config) chatPeople(chatID func(PersonConfig) string) []bot.Person {
	var out []bot.Person
	for _, p := range c.People {
		out = append(out, bot.Person{ID: p.ID, Name: p.Name, Email: p.Email, ChatID: chatID(p)})
	}
	return out
}

// chatServices are the services as one chat adapter sees them: channel
// picks the service's channel in that chat (alerts_channel for Slack,
// discord_channel for Discord).
func (c *Config) chatServices(channel func(ServiceConfig) string) []bot.Service {
	var out []bot.Service
	for _, s := range c.Services {
		out = append(out, bot.Service{Name: s.Name, AlertsChannel: channel(s)})
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
		p := escalation.Policy{Name: ep.Name, RepageEvery: ep.RepageEvery, Repeat: ep.Repeat, AckTimeout: ep.AckTimeout, AckLease: ep.AckLease}
		for i, lv := range ep.Levels {
			l, err := escalation.NewLevel(lv.Targets, lv.EscalateAfter)
			if err != nil {
				return nil, fmt.Errorf("policy %s level %d: %w", ep.Name, i+1, err)
			}
			l.NotifyEmail, l.EmailAfter = slices.Contains(lv.Notify, "email"), lv.EmailAfter
			p.Levels = append(p.Levels, l)
		}
		pols = append(pols, p)
	}
	// A fallback page goes to the service's channel in the chat served:
	// on Discord its discord_channel ("" lets the bot use
	// discord.alerts_channel), else its alerts_channel.
	var svcs []escalation.Service
	for _, s := range c.Services {
		fallback := s.AlertsChannel
		if c.servedChat() == "discord" {
			fallback = s.DiscordChannel
		}
		svcs = append(svcs, escalation.Service{Name: s.Name, Policy: s.EscalationPolicy, AlertsChannel: fallback})
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

// board is the on-call board of this configuration: rotations, the service
// → rotation mapping, display names, and where overrides come from (nil: none).
func (c *Config) board(rots map[string]*rotations.Rotation, ovs oncall.OverrideSource) *oncall.Board {
	names := map[string]string{}
	for _, p := range c.People {
		names[p.ID] = p.Name
	}
	// The engine reuses loaded overrides for 2 s, so a storm of page jobs
	// does not read the same hash thousands of times; an override made with
	// /oncall takes effect for paging within that.
	return &oncall.Board{Rotations: rots, ServiceRotation: c.serviceRotations(), Names: names, Overrides: ovs,
		ResolverTTL: 2 * time.Second}
}
