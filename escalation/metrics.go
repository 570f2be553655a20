package escalation

import (
	"sync/atomic"
	"time"
)

// Metrics receives what the runner does, for a metrics exporter. The
// methods are called from many goroutines and must not block.
type Metrics interface {
	// JobStarted: a claimed job began, lag after it fell due.
	JobStarted(kind string, lag time.Duration)
	// PageSent: a page was delivered.
	PageSent(r Reason)
	// PageFailed: one attempt at a page failed.
	PageFailed(r Reason)
	// Escalated: an incident moved up a level (or looped).
	Escalated()
	// DeadLettered: a page was given up and dead-lettered.
	DeadLettered()
	// StoreError: a Redis call of the runner failed.
	StoreError()
}

// Counters is the runner's default Metrics: plain atomic counters that
// Snapshot reads. It is safe for concurrent use.
type Counters struct {
	jobs, pages, failures, escalations, dead, storeErrs atomic.Int64
	handedOff                                           atomic.Int64
	lagSum, lagMax                                      atomic.Int64 // ns
}

var _ Metrics = (*Counters)(nil)

// CountersSnapshot is a copy of Counters at one instant.
type CountersSnapshot struct {
	Jobs         int64         // jobs started
	PagesSent    int64         // pages delivered
	PageFailures int64         // failed page attempts
	Escalations  int64         // level changes
	DeadLetters  int64         // pages given up
	StoreErrors  int64         // failed Redis calls
	HandedOff    int64         // page jobs claimed straight from this process's Open (Wakeup.Opened)
	LagMean      time.Duration // mean due-to-start lag of the jobs
	LagMax       time.Duration
}

// JobStarted implements Metrics.
func (c *Counters) JobStarted(_ string, lag time.Duration) {
	c.jobs.Add(1)
	if lag < 0 {
		lag = 0
	}
	c.lagSum.Add(int64(lag))
	for {
		m := c.lagMax.Load()
		if int64(lag) <= m || c.lagMax.CompareAndSwap(m, int64(lag)) {
			break
		}
	}
}

// PageSent implements Metrics.
func (c *Counters) PageSent(Reason) { c.pages.Add(1) }

// PageFailed implements Metrics.
func (c *Counters) PageFailed(Reason) { c.failures.Add(1) }

// Escalated implements Metrics.
func (c *Counters) Escalated() { c.escalations.Add(1) }

// DeadLettered implements Metrics.
func (c *Counters) DeadLettered() { c.dead.Add(1) }

// StoreError implements Metrics.
func (c *Counters) StoreError() { c.storeErrs.Add(1) }

// Snapshot returns the counters now.
func (c *Counters) Snapshot() CountersSnapshot {
	s := CountersSnapshot{
		Jobs: c.jobs.Load(), PagesSent: c.pages.Load(), PageFailures: c.failures.Load(),
		Escalations: c.escalations.Load(), DeadLetters: c.dead.Load(), StoreErrors: c.storeErrs.Load(),
		LagMax: time.Duration(c.lagMax.Load()), HandedOff: c.handedOff.Load(),
	}
	if s.Jobs > 0 {
		s.LagMean = time.Duration(c.lagSum.Load() / s.Jobs)
	}
	return s
}

// fanout sends metrics to the runner's counters and the caller's Metrics.
type fanout [2]Metrics

func (f fanout) JobStarted(kind string, lag time.Duration) {
	f[0].JobStarted(kind, lag)
	f[1].JobStarted(kind, lag)
}
func (f fanout) PageSent(r Reason)   { f[0].PageSent(r); f[1].PageSent(r) }
func (f fanout) PageFailed(r Reason) { f[0].PageFailed(r); f[1].PageFailed(r) }
func (f fanout) Escalated()          { f[0].Escalated(); f[1].Escalated() }
func (f fanout) DeadLettered()       { f[0].DeadLettered(); f[1].DeadLettered() }
func (f fanout) StoreError()         { f[0].StoreError(); f[1].StoreError() }
