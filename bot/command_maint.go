package bot

import (
	"strings"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
)

// parseMaintenance reads /incident maintenance's words: nothing (list the
// active windows); "end mw-3"; or service=S, a duration (2h, 90m, 1d;
// bounded by incident.CheckMaintenance), --long, and the words of a reason,
// in any order.
func parseMaintenance(c Command, rest []token) (Command, error) {
	if len(rest) == 0 {
		return c, nil
	}
	if strings.EqualFold(rest[0].s, "end") {
		c.End = true
		switch {
		case len(rest) < 2:
			return Command{}, syntax(VerbMaintenance, "Say which window to end, such as mw-3 (/incident maintenance lists them).")
		case !incident.ValidMaintenanceID(strings.ToLower(rest[1].s)):
			return Command{}, syntax(VerbMaintenance, "%q is not a maintenance window such as mw-3.", echo(rest[1].s))
		case len(rest) > 2:
			return Command{}, syntax(VerbMaintenance, "end takes only the window (got %q after it).", echo(rest[2].s))
		}
		c.Window = strings.ToLower(rest[1].s)
		return c, nil
	}
	var reason []string
	haveDur := false
	given := "" // the duration as typed, for a refusal
	for _, t := range rest {
		low := strings.ToLower(t.s)
		if low == "--long" || low == "—long" {
			c.Long = true
			continue
		}
		if m := optionRE.FindStringSubmatch(t.s); m != nil && len(reason) == 0 {
			if !strings.EqualFold(m[1], "service") {
				return Command{}, syntax(VerbMaintenance, "maintenance takes service=, not %s=.", m[1])
			}
			svc := strings.ToLower(m[2])
			switch {
			case !rotations.ValidID(svc):
				return Command{}, syntax(VerbMaintenance, "service=%s is not a service name (lowercase letters, digits, - or _).", echo(m[2]))
			case c.Service != "":
				return Command{}, syntax(VerbMaintenance, "Give service= once.")
			}
			c.Service = svc
			continue
		}
		if !haveDur && len(reason) == 0 {
			if d, err := ParseDuration(t.s); err == nil {
				c.For, haveDur, given = d, true, t.s
				continue
			} else if durRE.MatchString(low) && looksLikeDuration(low) {
				return Command{}, syntax(VerbMaintenance, "%s", err.Error())
			}
		}
		reason = append(reason, t.s)
	}
	c.Text = strings.Join(reason, " ")
	switch {
	case c.Service == "":
		return Command{}, syntax(VerbMaintenance, "Say which service.")
	case !haveDur:
		return Command{}, syntax(VerbMaintenance, "Say for how long, such as 2h.")
	}
	if err := incident.CheckMaintenanceAs(given, c.For, c.Long, c.Text); err != nil {
		return Command{}, syntax(VerbMaintenance, "%s", incident.ErrorMessage(err))
	}
	return c, nil
}

// looksLikeDuration: a word that starts with a digit, so a failed
// duration is an error rather than the first word of a reason.
func looksLikeDuration(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// parseMaintenanceGiven is parseMaintenance for a chat that gives the
// service, the duration and the reason apart (Given): each is read whole,
// as what its option is, so a reason of "--long", "service=x", "2h" or
// "end mw-3" is that reason. The words in text may only be --long (the
// chat's flag); nothing given at all lists the active windows.
func parseMaintenanceGiven(c Command, rest []token, g Given) (Command, error) {
	for _, t := range rest {
		low := strings.ToLower(t.s)
		if low != "--long" && low != "—long" {
			return Command{}, syntax(VerbMaintenance, "Unexpected %q: give the service, the duration and the reason in their own options.", echo(t.s))
		}
		c.Long = true
	}
	if g.Service == "" && g.Duration == "" && g.Reason == "" && !c.Long {
		return c, nil
	}
	if g.Service != "" {
		svc, err := givenService(VerbMaintenance, g.Service)
		if err != nil {
			return Command{}, err
		}
		c.Service = svc
	}
	given := strings.TrimSpace(g.Duration)
	c.Text = words(g.Reason)
	switch {
	case c.Service == "":
		return Command{}, syntax(VerbMaintenance, "Say which service.")
	case given == "":
		return Command{}, syntax(VerbMaintenance, "Say for how long, such as 2h.")
	}
	d, err := ParseDuration(given)
	if err != nil {
		return Command{}, syntax(VerbMaintenance, "%s", err.Error())
	}
	c.For = d
	if err := incident.CheckMaintenanceAs(given, c.For, c.Long, c.Text); err != nil {
		return Command{}, syntax(VerbMaintenance, "%s", incident.ErrorMessage(err))
	}
	return c, nil
}
