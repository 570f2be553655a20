package escalation

// Wakeup is the signal that a job has become due now: a new incident, an
// assignment, a manual escalation, a command in chat. Whoever makes such a
// change calls Notify; the Runner, reading C, claims at once instead of at
// its next poll. The wiring creates one Wakeup first and hands it to the
// incident store (incident.WithOnJobDue(w.Notify)), to the chat bot and to
// the runner (Options.Wakeup), so none of them needs the others to exist.
//
// A Wakeup is only a hint: due times are data in Redis, and the runner's
// poll finds every due job without it.
type Wakeup struct{ c chan struct{} }

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

// C receives one value per pending signal (at most one at a time).
func (w *Wakeup) C() <-chan struct{} { return w.c }
