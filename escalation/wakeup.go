package escalation

import "sync/atomic"

// Wakeup is the signal that a job has become due now: a new incident, an
// assignment, a manual escalation, a command in chat. Whoever makes such a
// change calls Notify; the Runner, reading C, claims at once instead of at
// its next poll. The wiring creates one Wakeup first and hands it to the
// incident store (incident.WithOnJobDue(w.Notify) and
// incident.WithOnCreated(w.Opened)), to the chat bot and to the runner
// (Options.Wakeup), so none of them needs the others to exist.
//
// A Wakeup is only a hint: due times are data in Redis, and the runner's
// poll finds every due job without it.
type Wakeup struct {
	c chan struct{}
	// opened is the running Runner's hand-off of a new incident's page job
	// (Runner.handOff); nil while no runner runs on this Wakeup.
	opened atomic.Pointer[func(n int64)]
}

// NewWakeup returns a Wakeup with no signal pending.
func NewWakeup() *Wakeup { return &Wakeup{c: make(chan struct{}, 1)} }

// Notify signals the reader of C. It never blocks: a signal sent while one
// is pending coalesces with it. Notify on a nil Wakeup does nothing.
func (w *Wakeup) Notify() {
	if w == nil {
		return
	}
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// Opened says that incident n was just opened by this process, its page job
// due now. The runner running on w claims that job directly
// (incident.Store.ClaimPage: the claim and the incident in one round trip)
// and runs it at once, without waiting for its claim loop; without a running
// runner, or when it has no free worker, it is Notify. It never blocks.
// Opened on a nil Wakeup does nothing.
func (w *Wakeup) Opened(n int64) {
	if w == nil {
		return
	}
	if f := w.opened.Load(); f != nil {
		(*f)(n)
		return
	}
	w.Notify()
}

// C receives one value per pending signal (at most one at a time).
func (w *Wakeup) C() <-chan struct{} { return w.c }
