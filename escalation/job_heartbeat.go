package escalation

import (
	"context"
	"time"

	"github.com/batonhq/baton/incident"
)

// Heartbeats answers a heartbeat monitor by name (config heartbeats[]);
// ok is false for a name no longer configured.
type Heartbeats func(name string) (h incident.Heartbeat, ok bool)

// runHeartbeat runs a heartbeat's deadline job ("heartbeat:<name>"): the
// store decides, in one script against the last beat, whether the
// heartbeat is missed, and then opens its incident through open.lua (which
// queues the incident's first page, urgent, like any alert's), or makes the
// job due at the deadline a later beat set. A heartbeat no longer
// configured has its job dropped.
func (r *Runner) runHeartbeat(ctx context.Context, j incident.Job) error {
	var h incident.Heartbeat
	ok := false
	if r.o.Heartbeats != nil {
		h, ok = r.o.Heartbeats(j.Name)
	}
	if !ok {
		r.log.Warn("escalation: dropping the deadline of a heartbeat that is not configured", "heartbeat", j.Name)
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	c, err := r.store.CheckHeartbeat(ctx, j, h, r.now())
	if err != nil {
		return err
	}
	switch c.Outcome {
	case incident.CheckOpened:
		// No alert text at info: the name and service are configuration.
		r.log.Info("escalation: heartbeat missed; incident opened", "heartbeat", h.Name, "service", h.Service,
			"incident", c.Opened.Number, "outcome", c.Opened.Outcome, "last_beat", c.LastBeat)
		r.Wake()
	case incident.CheckLost:
		r.log.Debug("escalation: a heartbeat's deadline was taken over by another claim", "heartbeat", h.Name)
	}
	return nil
}
