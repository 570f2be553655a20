package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// maintenanceTime is how a window's times read in chat: UTC, to the minute
// (seconds under a minute's windows, as tests' timings are).
func maintenanceTime(t time.Time) string { return incident.WindowTime(t) }

// MaintenanceLine is the sentence a card and /oncall show for an active
// window of service m.Service.
func MaintenanceLine(m incident.Maintenance, name func(string) PersonRef) string {
	s := fmt.Sprintf("🔧 %s is in maintenance until %s (%s, by %s", m.Service, maintenanceTime(m.Until), m.ID, name(m.By).Name)
	if m.Reason != "" {
		s += ": " + m.Reason
	}
	return s + "); its new alerts are held and page nobody until it ends."
}

// MaintenanceSummaryText is the summary posted in a service's alerts
// channel when its window ends: how long, who, and what arrived.
func MaintenanceSummaryText(s incident.MaintenanceSummary, name func(string) PersonRef) string {
	var b strings.Builder
	how := "ran out"
	if s.EndedBy != "" {
		how = "was ended by " + name(s.EndedBy).Name
	}
	fmt.Fprintf(&b, "🔧 Maintenance of %s (%s, started by %s", s.Service, s.ID, name(s.By).Name)
	if s.Reason != "" {
		fmt.Fprintf(&b, ": %s", s.Reason)
	}
	if s.EndedBy == "" {
		// It ran out: its planned length, and how late its end came when
		// baton was not running then (the end is a due job, run on restart).
		fmt.Fprintf(&b, ") ran out after %s", text.Duration(s.Until.Sub(s.From).Round(time.Second)))
		if late := s.Ended.Sub(s.Until).Round(time.Second); late >= time.Second {
			fmt.Fprintf(&b, " (ended %s late: baton was not running at its end)", text.Duration(late))
		}
		b.WriteString(". ")
	} else {
		fmt.Fprintf(&b, ") %s after %s. ", how, text.Duration(s.Ended.Sub(s.From).Round(time.Second)))
	}
	if len(s.Incidents) == 0 {
		b.WriteString("No alerts arrived.")
		return b.String()
	}
	// By the status each held incident had when the window ended: only a
	// triggered one is paged now (an acknowledged one has its owner, and
	// its release pages nobody).
	firing, acked, resolved := []string{}, []string{}, []string{}
	for _, h := range s.Incidents {
		line := fmt.Sprintf("INC-%d (%d %s)", h.Number, h.Alerts, pluralWord(h.Alerts, "alert", "alerts"))
		switch h.Status {
		case incident.StatusResolved:
			resolved = append(resolved, line)
		case incident.StatusAcknowledged:
			acked = append(acked, line)
		default:
			firing = append(firing, line)
		}
	}
	fmt.Fprintf(&b, "%d %s arrived in %d %s.", s.Alerts, pluralWord(s.Alerts, "alert", "alerts"), len(s.Incidents), pluralWord(int64(len(s.Incidents)), "incident", "incidents"))
	if len(firing) > 0 {
		fmt.Fprintf(&b, " Still firing, paged now: %s.", strings.Join(firing, ", "))
	}
	if len(acked) > 0 {
		fmt.Fprintf(&b, " Acknowledged during the window, nobody paged: %s.", strings.Join(acked, ", "))
	}
	if len(resolved) > 0 {
		fmt.Fprintf(&b, " Resolved during the window: %s.", strings.Join(resolved, ", "))
	}
	return b.String()
}

func pluralWord(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// MaintenanceEnded implements escalation.MaintenanceNotifier: the summary
// goes to the service's alerts channel (the default channel when it has
// none), with the key "maintenance:<id>"; a summary found there already
// (an earlier run posted it and died before recording it) is not posted
// again. No alerts channel at all is escalation.Permanent.
func (p *Pager) MaintenanceEnded(ctx context.Context, s incident.MaintenanceSummary) error {
	c := p.c
	target := c.services[s.Service].AlertsChannel
	if target == "" {
		target = c.defaultChannel
	}
	if target == "" {
		return escalation.Permanent(fmt.Errorf("maintenance summary %s: service %s has no alerts channel and there is no default channel", s.ID, s.Service))
	}
	key := string(incident.JobMaintenance) + ":" + s.ID
	ctx = WithPacing(ctx, Pacing{MaxWait: c.pageMaxWait, Ticket: key})
	id := target
	if known, err := c.st.hget(ctx, c.st.channels(), target); err == nil && known != "" {
		id = known
	}
	if id != target || !strings.HasPrefix(target, "#") {
		if ts, err := p.findPage(ctx, id, key); err == nil && ts != "" {
			return nil
		}
	}
	chID, _, err := c.chat.Post(ctx, target, Message{Text: MaintenanceSummaryText(s, c.people.Ref), Key: key})
	if err != nil {
		return fmt.Errorf("maintenance summary %s: %w", s.ID, err)
	}
	c.learnChannel(ctx, target, chID)
	return nil
}

// maintenanceOf is the active window of service, for its cards; "" when
// none or when it cannot be read now (the card is redrawn at the next change).
func (c *Bot) maintenanceOf(ctx context.Context, service string) string {
	st, ok := c.pageIns()
	if !ok {
		return ""
	}
	list, err := st.Maintenances(ctx, c.now())
	if err != nil {
		c.log.Debug("bot: maintenance windows not read for a card", "err", err)
		return ""
	}
	for _, m := range list {
		if m.Service == service {
			return MaintenanceLine(m, c.people.Ref)
		}
	}
	return ""
}

// maintenanceLines appends the active windows (of service, or all when
// "") to an /oncall reply.
func (x *Executor) maintenanceLines(ctx context.Context, r Reply, service string) Reply {
	st, ok := x.c.pageIns()
	if !ok {
		return r
	}
	list, err := st.Maintenances(ctx, x.c.now())
	if err != nil {
		return r
	}
	for _, m := range list {
		if service == "" || m.Service == service {
			r.Text += "\n" + MaintenanceLine(m, x.c.people.Ref)
		}
	}
	return r
}

// maintenance runs /incident maintenance: list, start or end a window.
func (x *Executor) maintenance(ctx context.Context, cmd Command, by Person) Reply {
	st, ok := x.c.pageIns()
	if !ok {
		return Reply{Text: "Maintenance windows are not available here."}
	}
	now := x.c.now()
	switch {
	case cmd.End:
		end, err := st.EndMaintenance(ctx, cmd.Window, by.ID, now)
		if err != nil {
			return x.fail(err)
		}
		if end.Already {
			return Reply{Text: fmt.Sprintf("%s ended already, at %s.", cmd.Window, maintenanceTime(end.Summary.Ended))}
		}
		x.c.wake()
		x.log().Info("maintenance ended from chat", "window", cmd.Window, "by", by.ID)
		return Reply{Text: fmt.Sprintf("You ended %s (%s); what it held pages now, and its summary goes to the alerts channel.", cmd.Window, end.Summary.Service)}
	case cmd.Service == "":
		r := x.maintenanceLines(ctx, Reply{Text: "Maintenance windows:"}, "")
		if r.Text == "Maintenance windows:" {
			r.Text = "No service is in maintenance."
		}
		return r
	}
	if _, ok := x.c.services[cmd.Service]; !ok {
		return Reply{Text: fmt.Sprintf("There is no service %q. Services: %s.", cmd.Service, strings.Join(x.c.serviceNames, ", "))}
	}
	m, err := st.StartMaintenance(ctx, cmd.Service, cmd.For, cmd.Long, by.ID, cmd.Text, now)
	if err != nil {
		return x.fail(err)
	}
	x.c.wake()
	x.log().Info("maintenance started from chat", "window", m.ID, "service", m.Service, "until", m.Until, "by", by.ID)
	return Reply{Text: fmt.Sprintf("%s is in maintenance until %s (%s): its alerts are stored but page nobody; a summary follows in its alerts channel when it ends. End it early with /incident maintenance end %s.",
		m.Service, maintenanceTime(m.Until), m.ID, m.ID)}
}
