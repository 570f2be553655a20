package escalation

import (
	"time"
)

// storeDownLogEvery rate-limits the "Redis still unavailable" line.
const storeDownLogEvery = 30 * time.Second

// storeFailed logs a Redis failure of the claim loop: once when it starts,
// then every storeDownLogEvery while it lasts.
func (r *Runner) storeFailed(err error) {
	r.metrics.StoreError()
	now := r.now()
	r.downMu.Lock()
	defer r.downMu.Unlock()
	switch {
	case !r.down:
		r.down, r.downSince, r.downLogged = true, now, now
		r.log.Error("escalation: redis unavailable; due pages wait until it answers", "err", err)
	case now.Sub(r.downLogged) >= storeDownLogEvery:
		r.downLogged = now
		r.log.Error("escalation: redis still unavailable", "for", now.Sub(r.downSince).Round(time.Second), "err", err)
	}
}

func (r *Runner) storeDown() bool {
	r.downMu.Lock()
	defer r.downMu.Unlock()
	return r.down
}

func (r *Runner) storeOK() {
	r.downMu.Lock()
	defer r.downMu.Unlock()
	if r.down {
		r.down = false
		r.log.Info("escalation: redis answers again; resuming", "after", r.now().Sub(r.downSince).Round(time.Millisecond))
	}
}
