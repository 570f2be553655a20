package escalation

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/rotations"
)

// Policy says who is paged for a service, how often, and when to move up a level.
type Policy struct {
	Name string
	// RepageEvery is how often the owner of an unacknowledged incident is paged again.
	RepageEvery time.Duration
	// Repeat is how many times the policy starts again from level 1 after
	// its last level timed out. After that the incident stays with its last
	// owner, who is paged every RepageEvery for as long as it is unacknowledged.
	Repeat int
	// AckTimeout, when positive, turns an acknowledged but unresolved
	// incident back to triggered after this long, and pages its owner again.
	AckTimeout time.Duration
	// AckLease, when positive, is how long an acknowledgement lasts without
	// a sign of work from the owner (a message in the incident's channel, a
	// button): LeaseWarnBefore it runs out the owner is asked "still on
	// it?"; when it runs out the incident is triggered again and the owner
	// paged (AckLeaseDue). It may be used with or instead of AckTimeout.
	AckLease time.Duration
	Levels   []Level
}

// Level is one step of a policy.
type Level struct {
	// Targets in order: the first one that names somebody now becomes the
	// owner; the others are notified.
	Targets []rotations.Target
	// EscalateAfter is how long the level has to acknowledge before the
	// incident moves to the next one.
	EscalateAfter time.Duration
	// NotifyEmail (config notify: [chat, email]) emails the owner at once
	// with each page of this level, besides the chat page (email.go).
	NotifyEmail bool
	// EmailAfter, when positive, emails the owner when a page of this
	// level is still unacknowledged this long after it (email.go).
	EmailAfter time.Duration
}

// Emails reports whether the level reaches its owner by email too
// (NotifyEmail or EmailAfter): then a chat page that fails for good is
// emailed before the fallback is paged.
func (l Level) Emails() bool { return l.NotifyEmail || l.EmailAfter > 0 }

// Service is what escalation needs to know of a service besides its policy.
type Service struct {
	Name string
	// Policy names the service's escalation policy.
	Policy string
	// AlertsChannel is the fallback: paged when nobody can be resolved or
	// a page cannot be delivered. The Pager decides what an empty one means
	// (its default channel).
	AlertsChannel string
}

// Policies returns the policy and service facts for a service name; ok is
// false for a service it does not know.
type Policies func(service string) (p Policy, s Service, ok bool)

// AckTimeout is the ack timeout of service's policy: 0 when the policy has
// none or the service is unknown. It depends on the policies alone, so the
// incident store can be given it at construction, before any runner exists
// (incident.WithAckTimeout(policies.AckTimeout)).
func (p Policies) AckTimeout(service string) time.Duration {
	if p == nil {
		return 0
	}
	pol, _, ok := p(service)
	if !ok {
		return 0
	}
	return pol.AckTimeout
}

// AckJobAfter is how long after an acknowledgement the incident's
// "acktimeout:<n>" job first runs for service's policy: the earlier of its
// ack timeout and its ack lease's warning (AckLease - LeaseWarnBefore); 0
// when the policy has neither or the service is unknown. The incident
// store is given it at construction (incident.WithAckTimeout(
// policies.AckJobAfter)); the job then finds its own later deadlines.
func (p Policies) AckJobAfter(service string) time.Duration {
	if p == nil {
		return 0
	}
	pol, _, ok := p(service)
	if !ok {
		return 0
	}
	after := pol.AckTimeout
	if pol.AckLease > 0 {
		warn := pol.AckLease - LeaseWarnBefore(pol.AckLease)
		if after <= 0 || warn < after {
			after = warn
		}
	}
	return max(after, 0)
}

// Validate reports every problem with p at once. config.go checks the same
// rules with key paths; this is the engine's own guard.
func (p Policy) Validate() error {
	var errs []error
	if p.RepageEvery <= 0 {
		errs = append(errs, fmt.Errorf("policy %s: repage_every must be positive", p.Name))
	}
	if p.Repeat < 0 {
		errs = append(errs, fmt.Errorf("policy %s: repeat must not be negative", p.Name))
	}
	if p.AckTimeout < 0 {
		errs = append(errs, fmt.Errorf("policy %s: ack_timeout must not be negative", p.Name))
	}
	if p.AckLease < 0 {
		errs = append(errs, fmt.Errorf("policy %s: ack_lease must not be negative", p.Name))
	}
	if len(p.Levels) == 0 {
		errs = append(errs, fmt.Errorf("policy %s: no levels", p.Name))
	}
	for i, l := range p.Levels {
		if l.EscalateAfter <= 0 {
			errs = append(errs, fmt.Errorf("policy %s: level %d: escalate_after must be positive", p.Name, i+1))
		}
		if len(l.Targets) == 0 {
			errs = append(errs, fmt.Errorf("policy %s: level %d: no targets", p.Name, i+1))
		}
		if l.EmailAfter < 0 {
			errs = append(errs, fmt.Errorf("policy %s: level %d: email_after must not be negative", p.Name, i+1))
		}
	}
	return errors.Join(errs...)
}

// NewLevel parses targets written as in config.yaml ("user:alice",
// "rotation:db-primary", "rotation:db-primary/next").
func NewLevel(targets []string, escalateAfter time.Duration) (Level, error) {
	l := Level{EscalateAfter: escalateAfter}
	for _, s := range targets {
		t, err := rotations.ParseTarget(s)
		if err != nil {
			return Level{}, err
		}
		l.Targets = append(l.Targets, t)
	}
	return l, nil
}

// Lookup builds a Policies func from the services and policies of a
// configuration. It checks every policy and that every service names one.
func Lookup(services []Service, policies []Policy) (Policies, error) {
	byName := make(map[string]Policy, len(policies))
	var errs []error
	for _, p := range policies {
		if _, dup := byName[p.Name]; dup {
			errs = append(errs, fmt.Errorf("policy %s defined twice", p.Name))
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
		byName[p.Name] = p
	}
	svcs := make(map[string]Service, len(services))
	for _, s := range services {
		if _, ok := byName[s.Policy]; !ok {
			errs = append(errs, fmt.Errorf("service %s: no policy named %q", s.Name, s.Policy))
		}
		svcs[s.Name] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return func(name string) (Policy, Service, bool) {
		s, ok := svcs[name]
		if !ok {
			return Policy{}, Service{}, false
		}
		return byName[s.Policy], s, true
	}, nil
}
