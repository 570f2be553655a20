package escalation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
)

// Options configure a Runner. Incidents, Pager and Policies are required.
type Options struct {
	// Incidents is the incident store; its jobs are the runner's work.
	Incidents *incident.Store
	// Pager delivers pages.
	Pager Pager
	// Policies answers each incident's service.
	Policies Policies
	// Rotations are the compiled rotations targets may name.
	Rotations map[string]*rotations.Rotation
	// Overrides loads a rotation's overrides (overrides.Store.Set); nil: none.
	Overrides LoadOverrides
	// OverridesTTL is how long loaded overrides are reused. Default 2s; negative: not cached.
	OverridesTTL time.Duration

	// PollInterval is how often the runner looks for due jobs that another
	// replica queued or whose lease ran out. Jobs this process queues or
	// knows to be due sooner run on time through Wake. Default 1s.
	PollInterval time.Duration
	// Lease is how long a claimed job is this runner's before another
	// replica may take it over; it is renewed while the job runs. Default 30s.
	Lease time.Duration
	// Workers bounds how many jobs run at once. Default 8.
	Workers int
	// MaxAttempts is how many times a page is tried before it is
	// dead-lettered and the fallback paged. Default 5.
	MaxAttempts int
	// RetryMin and RetryMax bound the backoff between attempts (exponential
	// with jitter). Defaults 1s and 1m. A RetryAfterError's hint wins.
	RetryMin, RetryMax time.Duration
	// PageTimeout bounds one Pager call. Default 20s.
	PageTimeout time.Duration
	// ReplicaID names this runner in lease tokens. Default host-pid-random.
	ReplicaID string

	// Chat, when set, runs the incidents' chat jobs ("chat:<n>", queued by
	// every state change): the chat adapter's reconciliation of channel,
	// card and notices. Chat jobs have a queue and workers of their own, so
	// cosmetic work never holds a page back. When nil, chat jobs are
	// claimed and dropped (no chat is configured).
	Chat ChatSync
	// ChatWorkers bounds how many chat jobs run at once, besides Workers.
	// Default 4.
	ChatWorkers int
	// ChatTimeout bounds one ChatSync call. Default 1m.
	ChatTimeout time.Duration

	// Log receives the runner's log lines. Default slog.Default().
	Log *slog.Logger
	// Metrics, when set, receives events besides the runner's own Counters.
	Metrics Metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// maxRetryAfter caps a retry-after hint: a longer one is a bug upstream.
const maxRetryAfter = 15 * time.Minute

// commitTimeout bounds the commit after pages went out. The commit runs
// even when the runner is stopping: a page sent but not recorded would be
// sent again by the next replica.
const commitTimeout = 5 * time.Second

// storeDownLogEvery rate-limits the "Redis still unavailable" line.
const storeDownLogEvery = 30 * time.Second

// Runner claims due escalation jobs from Redis and runs them: it loads the
// incident, asks Decide, sends the pages and commits. Any number of runners
// (replicas) may share one Redis: a job is claimed by one runner at a time,
// under a lease. A Runner's methods are safe for concurrent use; Run is
// called once.
type Runner struct {
	o        Options
	store    *incident.Store
	log      *slog.Logger
	counters *Counters
	metrics  Metrics
	cache    *overrideCache
	now      func() time.Time

	pages    *jobQueue
	chat     *jobQueue
	claimSeq atomic.Int64
	running  atomic.Bool
	wg       sync.WaitGroup

	chatMu       sync.Mutex
	chatAttempts map[string]int // consecutive failed runs of a chat job, for backoff (per replica)

	downMu     sync.Mutex
	down       bool
	downSince  time.Time
	downLogged time.Time
}

// NewRunner checks o, fills its defaults and returns a Runner; Run starts it.
//
// The incident store needs two hooks this package provides, which main sets:
// Incidents.AckTimeout = runner.AckTimeout (else acknowledgements never
// time out) and Incidents.OnJobDue = runner.Wake (else a new incident waits
// for the next poll).
func NewRunner(o Options) (*Runner, error) {
	if o.Incidents == nil || o.Pager == nil || o.Policies == nil {
		return nil, errors.New("escalation: runner needs Incidents, Pager and Policies")
	}
	if o.OverridesTTL == 0 {
		o.OverridesTTL = 2 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(time.Minute, o.RetryMin)
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 20 * time.Second
	}
	if o.ChatWorkers <= 0 {
		o.ChatWorkers = 4
	}
	if o.ChatTimeout <= 0 {
		o.ChatTimeout = time.Minute
	}
	if o.ReplicaID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.ReplicaID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Runner{
		o:        o,
		store:    o.Incidents,
		log:      o.Log.With("component", "escalation"),
		counters: &Counters{},
		cache:    &overrideCache{load: o.Overrides, ttl: o.OverridesTTL},
		now:      o.Now,
		pages:    newJobQueue("page", o.Workers, o.Incidents.ClaimJobs),
		chat:     newJobQueue("chat", o.ChatWorkers, o.Incidents.ClaimChatJobs),

		chatAttempts: map[string]int{},
	}
	r.metrics = r.counters
	if o.Metrics != nil {
		r.metrics = fanout{r.counters, o.Metrics}
	}
	return r, nil
}

// Counters returns the runner's counters.
func (r *Runner) Counters() *Counters { return r.counters }

// Wake makes the runner look for due jobs (pages and chat) now instead of at
// its next poll. It never blocks; wake-ups that arrive while one is pending
// coalesce.
func (r *Runner) Wake() {
	r.pages.kick()
	r.chat.kick()
}

// AckTimeout is the ack timeout of service's policy (0 when it has none or
// the service is unknown), for incident.Service.AckTimeout.
func (r *Runner) AckTimeout(service string) time.Duration {
	p, _, ok := r.o.Policies(service)
	if !ok {
		return 0
	}
	return p.AckTimeout
}

// Escalate moves incident n up one level now, on behalf of by: the next
// level's first on-call target becomes the owner and is paged.
func (r *Runner) Escalate(ctx context.Context, n int64, by string) (incident.Incident, error) {
	inc, err := r.store.Escalate(ctx, n, by)
	if err != nil {
		return incident.Incident{}, err
	}
	r.Wake()
	return inc, nil
}

// ListDead returns the pages given up on, newest first.
func (r *Runner) ListDead(ctx context.Context) ([]incident.DeadLetter, error) {
	return r.store.ListDead(ctx)
}

// Run claims and runs jobs until ctx ends. It polls every PollInterval with
// a gocron duration job in singleton mode and runs at once on Wake. When ctx
// ends it stops claiming and waits for running jobs, whose Pager calls see
// ctx cancelled; a job cut short keeps its lease and is run again by another
// runner (or this one, restarted) once the lease runs out. A page already
// delivered is still committed.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("escalation: Run called twice")
	}
	r.warnUnwired()
	s, err := gocron.NewScheduler(gocron.WithLogger(r.log), gocron.WithStopTimeout(time.Minute))
	if err != nil {
		return fmt.Errorf("escalation: scheduler: %w", err)
	}
	// Pages and chat jobs are polled and drained separately: a drain waits
	// for a free worker of its own queue, never for the other queue's.
	// Without a ChatSync there is no chat to keep up to date, only chat jobs
	// to drop: that queue is then drained after each successful page claim
	// instead of polled, so it adds no Redis traffic while Redis is down.
	polled := []*jobQueue{r.pages, r.chat}
	if r.o.Chat == nil {
		polled = polled[:1]
	}
	for _, q := range polled {
		_, err = s.NewJob(gocron.DurationJob(r.o.PollInterval),
			gocron.NewTask(func() { r.drain(ctx, q) }),
			gocron.WithName("escalation-poll-"+q.name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()),
		)
		if err != nil {
			return fmt.Errorf("escalation: poll job: %w", err)
		}
	}
	s.Start()
	for _, q := range []*jobQueue{r.pages, r.chat} {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-q.wake:
					r.drain(ctx, q)
				}
			}
		}()
	}
	r.log.Info("escalation runner started", "replica", r.o.ReplicaID, "poll", r.o.PollInterval, "lease", r.o.Lease,
		"workers", r.o.Workers, "chat_workers", r.o.ChatWorkers, "chat", r.o.Chat != nil)
	<-ctx.Done()
	if err := s.Shutdown(); err != nil {
		r.log.Warn("escalation: scheduler shutdown", "err", err)
	}
	r.pages.stopTimer()
	r.chat.stopTimer()
	r.wg.Wait()
	r.log.Info("escalation runner stopped", "replica", r.o.ReplicaID)
	return nil
}

// warnUnwired says loudly when the store was not given the runner's hooks.
func (r *Runner) warnUnwired() {
	if r.store.AckTimeout == nil {
		r.log.Warn("escalation: incident store has no AckTimeout hook; acknowledged incidents will never re-trigger (set Incidents.AckTimeout = runner.AckTimeout)")
	}
	if r.store.OnJobDue == nil {
		r.log.Info("escalation: incident store has no OnJobDue hook; new incidents are paged at the next poll", "poll", r.o.PollInterval)
	}
}

// jobQueue is one queue of due jobs in Redis as this runner works it: how
// to claim from it, a worker budget, a wake-up channel and a timer for the
// next due job.
type jobQueue struct {
	name  string
	claim func(ctx context.Context, now time.Time, lease time.Duration, max int, token string) ([]incident.Job, time.Time, error)
	sem   chan struct{}
	wake  chan struct{}

	drainMu sync.Mutex // one claim loop at a time (the poll and the wake-ups share it)

	timerMu sync.Mutex
	timer   *time.Timer
	timerAt time.Time
}

func newJobQueue(name string, workers int, claim func(context.Context, time.Time, time.Duration, int, string) ([]incident.Job, time.Time, error)) *jobQueue {
	return &jobQueue{name: name, claim: claim, sem: make(chan struct{}, workers), wake: make(chan struct{}, 1)}
}

// kick wakes the queue's drain loop; it never blocks.
func (q *jobQueue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *jobQueue) stopTimer() {
	q.timerMu.Lock()
	defer q.timerMu.Unlock()
	if q.timer != nil {
		q.timer.Stop()
	}
}

// drain claims due jobs of q and hands them to q's workers until none is
// due or ctx ends. It claims no more jobs than there are free workers, so
// nothing sits claimed in a local queue while its lease runs.
func (r *Runner) drain(ctx context.Context, q *jobQueue) {
	q.drainMu.Lock()
	defer q.drainMu.Unlock()
	if q == r.chat && r.storeDown() {
		// The page queue's claims find out when Redis is back; cosmetic
		// work adds no failed dials meanwhile (go-redis stops dialling for
		// a while after too many failures, which would delay the pages).
		return
	}
	for ctx.Err() == nil {
		n := r.reserve(ctx, q)
		if n == 0 {
			return
		}
		now := r.now()
		token := r.o.ReplicaID + ":" + strconv.FormatInt(r.claimSeq.Add(1), 10)
		jobs, next, err := q.claim(ctx, now, r.o.Lease, n, token)
		if err != nil {
			r.unreserve(q, n)
			if ctx.Err() == nil {
				r.storeFailed(err)
			}
			return
		}
		r.storeOK()
		if q == r.pages && r.o.Chat == nil {
			r.chat.kick()
		}
		r.unreserve(q, n-len(jobs))
		for _, j := range jobs {
			r.wg.Add(1)
			go r.work(ctx, q, j)
		}
		if len(jobs) < n {
			r.armTimer(q, next)
			return
		}
	}
}

// reserve takes one worker slot of q (waiting for it) and as many more as
// are free, up to q's number of workers; 0 when ctx ended.
func (r *Runner) reserve(ctx context.Context, q *jobQueue) int {
	select {
	case q.sem <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(q.sem) {
		select {
		case q.sem <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (r *Runner) unreserve(q *jobQueue, n int) {
	for range n {
		<-q.sem
	}
}

// armTimer wakes q at `at` when that comes before the next poll.
// It is only a hint: the due time itself is data in Redis.
func (r *Runner) armTimer(q *jobQueue, at time.Time) {
	if at.IsZero() {
		return
	}
	now := r.now()
	d := at.Sub(now)
	if d >= r.o.PollInterval {
		return
	}
	d = max(d, 0)
	q.timerMu.Lock()
	defer q.timerMu.Unlock()
	if q.timer != nil && q.timerAt.After(now) && !at.Before(q.timerAt) {
		return // an earlier wake-up is already set
	}
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.kick)
	} else {
		q.timer.Reset(d)
	}
	q.timerAt = at
}

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

// work runs one claimed job. Any error leaves the job to run again: released
// with a short delay when Redis answers, else when its lease runs out.
func (r *Runner) work(ctx context.Context, q *jobQueue, j incident.Job) {
	defer r.wg.Done()
	defer r.unreserve(q, 1)
	r.metrics.JobStarted(string(j.Kind), r.now().Sub(j.Due))
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := r.keepLease(jctx, j)
	defer stop()

	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		switch j.Kind {
		case incident.JobPage:
			return r.runPage(jctx, j)
		case incident.JobAckTimeout:
			return r.runAckTimeout(jctx, j)
		case incident.JobChat:
			return r.runChat(jctx, j)
		}
		r.log.Warn("escalation: dropping a job of unknown kind", "job", j.Member)
		_, err = r.store.ReleaseJob(jctx, j, time.Time{})
		return err
	}()
	if err == nil {
		return
	}
	if ctx.Err() != nil {
		// Stopping (a deploy, a restart): give the job back due now, so that
		// another replica, or this one restarted, runs it at once instead of
		// after its lease. A page cut off mid-send runs again, as after a
		// crash; the Pager's delivery key spares a duplicate of a page it
		// finished. If Redis cannot be reached, the lease brings it back.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer rcancel()
		if _, rerr := r.store.ReleaseJob(rctx, j, r.now()); rerr != nil {
			r.log.Warn("escalation: stopping; a job in flight is left to its lease", "job", j.Member, "err", rerr)
		}
		return
	}
	r.metrics.StoreError()
	r.log.Error("escalation: job failed; it will run again", "job", j.Member, "err", err)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer rcancel()
	if _, rerr := r.store.ReleaseJob(rctx, j, r.now().Add(r.o.RetryMin)); rerr != nil {
		r.log.Debug("escalation: could not release the job; its lease will", "job", j.Member, "err", rerr)
	}
}

// keepLease renews j's lease while it runs (a slow Pager must not let
// another replica take the job over).
func (r *Runner) keepLease(ctx context.Context, j incident.Job) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := r.store.RenewJob(ctx, j, r.now(), r.o.Lease)
				switch {
				case err != nil:
					r.log.Warn("escalation: lease renewal failed", "job", j.Member, "err", err)
				case !ok:
					// Normal when a transition re-queued the job meanwhile (its
					// commit will be refused); otherwise the lease ran out.
					r.log.Info("escalation: lease taken over; another run of this job may repeat its pages", "job", j.Member)
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// runPage runs an incident's escalation job.
func (r *Runner) runPage(ctx context.Context, j incident.Job) error {
	inc, st, err := r.store.LoadEscalation(ctx, j.Number)
	if errors.Is(err, incident.ErrNotFound) {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	if err != nil {
		return err
	}
	pol, svc, known := r.o.Policies(inc.Service)
	if !known && inc.Status == incident.StatusTriggered {
		r.log.Error("escalation: no escalation policy for the incident's service; paging the fallback", "incident", inc.Number, "service", inc.Service)
		pol = Policy{Name: "(none for service " + inc.Service + ")"}
	}
	oncall, fresh, err := r.onCall(ctx, pol)
	if err != nil {
		return err
	}
	now := r.now()
	plan := Decide(inc, st, pol, oncall, now)
	if plan.Stop {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	if plan.Fallback != "" {
		r.log.Error("escalation: nobody to page; paging the fallback", "incident", inc.Number, "service", inc.Service, "channel", svc.AlertsChannel, "why", plan.Fallback)
	}
	c := incident.Commit{Rev: st.Rev, Events: plan.Events,
		Schedule: []incident.Scheduled{{Member: j.Member, Due: plan.Next}}}
	if plan.Changed() {
		c.Step = &incident.Step{Owner: plan.Owner, Level: plan.Level, Round: plan.Round,
			LevelAt: plan.LevelAt, PagedAt: plan.PagedAt}
	}
	for _, pg := range plan.Pages {
		if pg.Reason == ReasonFallback {
			pg.Channel = svc.AlertsChannel
		}
		if ctx.Err() != nil && !pg.Reason.MustDeliver() {
			continue // stopping: best-effort pages are skipped, what was delivered is committed
		}
		if !fresh {
			// Re-check right before each page: an ack, resolve or assign
			// since the decision voids it, and that transition has already
			// queued whatever comes next. The commit below will be refused;
			// it still records the pages already sent.
			current, err := r.current(ctx, j.Number, st.Rev)
			if err != nil {
				return err
			}
			if !current {
				break
			}
		}
		fresh = false
		err := r.send(ctx, pg)
		if err == nil {
			c.Facts = append(c.Facts, pagedEvent(pg, now))
			continue
		}
		if !pg.Reason.MustDeliver() {
			r.log.Warn("escalation: notification not delivered (not retried)", "incident", inc.Number, "person", pg.Person, "reason", pg.Reason, "err", err)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the lease brings the job back
		}
		if d, ok := IsDeferred(err); ok {
			// Not attempted: the Pager's own pacing holds a slot for it later
			// (an alert storm's pages to one person). Not a failure.
			delay := min(max(d, 0), maxRetryAfter)
			r.log.Debug("escalation: page deferred by rate-limit pacing", "incident", inc.Number, "person", pg.Person,
				"reason", pg.Reason, "retry_in", delay)
			_, cerr := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Failures: st.Failures,
				Schedule: []incident.Scheduled{{Member: j.Member, Due: now.Add(delay)}}})
			r.armTimer(r.pages, now.Add(delay))
			return cerr
		}
		attempts := st.Failures + 1
		if attempts < r.o.MaxAttempts && !IsPermanent(err) {
			delay := r.retryDelay(attempts, err)
			r.log.Warn("escalation: page failed; retrying", "incident", inc.Number, "person", pg.Person, "channel", pg.Channel,
				"reason", pg.Reason, "attempt", attempts, "retry_in", delay, "err", err)
			_, cerr := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Failures: attempts,
				Schedule: []incident.Scheduled{{Member: j.Member, Due: now.Add(delay)}}})
			r.armTimer(r.pages, now.Add(delay))
			return cerr
		}
		// Give this page up: record it, dead-letter it, page the fallback,
		// and go on with the schedule as if it had been delivered, so that
		// escalation to the next level still happens on time.
		r.metrics.DeadLettered()
		r.log.Error("escalation: page given up", "incident", inc.Number, "person", pg.Person, "channel", pg.Channel,
			"reason", pg.Reason, "attempts", attempts, "err", err)
		c.Facts = append(c.Facts, incident.Event{Type: incident.EventPageFailed, At: now, Person: pg.Person, By: By,
			Level: pg.Level, Note: truncate(fmt.Sprintf("%s page not delivered after %d attempt(s): %v", pg.Reason, attempts, err), 300)})
		c.Dead = &incident.DeadLetter{Job: j.Member, Incident: inc.Number, Person: pg.Person, Channel: pg.Channel, Level: pg.Level,
			Reason: string(pg.Reason), Error: truncate(err.Error(), 300), Attempts: attempts, At: now}
		if pg.Reason == ReasonFallback {
			continue
		}
		fb := pg
		fb.Person, fb.Channel, fb.Reason = "", svc.AlertsChannel, ReasonFallback
		fb.Why = truncate(fmt.Sprintf("page to %s could not be delivered: %v", pg.Person, err), 300)
		fb.Key = pg.Key + "/fallback"
		if ferr := r.send(ctx, fb); ferr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.log.Error("escalation: fallback page failed too", "incident", inc.Number, "channel", fb.Channel, "err", ferr)
		} else {
			c.Facts = append(c.Facts, pagedEvent(fb, now))
		}
	}
	applied, err := r.commit(ctx, j, c)
	if err != nil {
		return err
	}
	if !applied {
		r.log.Debug("escalation: incident changed while paging; its transition decides what comes next", "incident", inc.Number)
		return nil
	}
	if plan.Escalated {
		r.metrics.Escalated()
	}
	if c.Step != nil {
		r.chat.kick() // the commit queued a redraw of the card (new owner, level)
	}
	r.armTimer(r.pages, plan.Next)
	return nil
}

// runAckTimeout re-triggers an incident acknowledged too long ago.
func (r *Runner) runAckTimeout(ctx context.Context, j incident.Job) error {
	inc, st, err := r.store.LoadEscalation(ctx, j.Number)
	if errors.Is(err, incident.ErrNotFound) {
		_, err = r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	if err != nil {
		return err
	}
	pol, _, _ := r.o.Policies(inc.Service)
	now := r.now()
	retrigger, at := AckTimeoutDue(inc, st, pol, now)
	switch {
	case retrigger:
		acked := st.AckAt
		if acked.IsZero() {
			acked = inc.Acknowledged
		}
		c := incident.Commit{
			Rev: st.Rev,
			Step: &incident.Step{Status: incident.StatusTriggered, Owner: inc.Owner, Level: st.Level, Round: st.Round,
				LevelAt: st.LevelAt, PagedAt: st.PagedAt, Pending: incident.PendingRetrigger},
			Events: []incident.Event{{Type: incident.EventRetriggered, At: now, Person: inc.Owner, By: By, Level: st.Level,
				Note: fmt.Sprintf("acknowledged %s ago and not resolved (ack_timeout %s)", now.Sub(acked).Round(time.Second), pol.AckTimeout)}},
			Schedule: []incident.Scheduled{{Member: incident.PageJob(inc.Number), Due: now}},
		}
		applied, err := r.commit(ctx, j, c)
		if applied {
			r.Wake()
		}
		return err
	case !at.IsZero():
		_, err := r.commit(ctx, j, incident.Commit{Rev: st.Rev, Schedule: []incident.Scheduled{{Member: j.Member, Due: at}}})
		return err
	}
	_, err = r.store.ReleaseJob(ctx, j, time.Time{})
	return err
}

// runChat runs an incident's chat job: the ChatSync reconciles chat with
// the incident and says when to run again. Failures are retried with the
// pages' backoff (a 429's Retry-After wins) for as long as they last:
// chat is cosmetic, so nothing is dead-lettered, but nothing is dropped
// either until the adapter says the failure is permanent.
func (r *Runner) runChat(ctx context.Context, j incident.Job) error {
	if r.o.Chat == nil {
		_, err := r.store.ReleaseJob(ctx, j, time.Time{})
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, r.o.ChatTimeout)
	next, err := func() (next time.Time, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("chat sync panicked: %v", v)
			}
		}()
		return r.o.Chat.Sync(sctx, j.Number)
	}()
	cancel()
	now := r.now()
	var due time.Time
	switch d, deferred := IsDeferred(err); {
	case err == nil:
		r.chatAttempt(j.Member, false)
		due = next
	case ctx.Err() != nil:
		return ctx.Err() // stopping: the lease brings the job back
	case deferred:
		due = now.Add(min(max(d, 0), maxRetryAfter))
	case IsPermanent(err):
		r.chatAttempt(j.Member, false)
		r.log.Error("escalation: chat update given up until the incident changes again", "incident", j.Number, "err", err)
	default:
		attempts := r.chatAttempt(j.Member, true)
		delay := r.retryDelay(attempts, err)
		due = now.Add(delay)
		r.log.Warn("escalation: chat update failed; retrying", "incident", j.Number, "attempt", attempts, "retry_in", delay, "err", err)
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer rcancel()
	if _, err := r.store.ReleaseJob(rctx, j, due); err != nil {
		return err
	}
	r.armTimer(r.chat, due)
	return nil
}

// chatAttempt counts a failed run of a chat job (failed true) and returns
// the count, or forgets it (failed false). The count only shapes the
// backoff, so it lives in memory: another replica starts from one again.
func (r *Runner) chatAttempt(member string, failed bool) int {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if !failed {
		delete(r.chatAttempts, member)
		return 0
	}
	r.chatAttempts[member]++
	return r.chatAttempts[member]
}

// commit runs the store's commit even if ctx was cancelled meanwhile: what
// was paged must be recorded.
func (r *Runner) commit(ctx context.Context, j incident.Job, c incident.Commit) (bool, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	return r.store.Commit(cctx, j, c)
}

// current reports whether incident n is still triggered at revision rev.
func (r *Runner) current(ctx context.Context, n, rev int64) (bool, error) {
	status, cur, err := r.store.Revision(ctx, n)
	if errors.Is(err, incident.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return status == incident.StatusTriggered && cur == rev, nil
}

// send calls the Pager with a deadline, turning a panic into an error.
func (r *Runner) send(ctx context.Context, p Page) (err error) {
	pctx, cancel := context.WithTimeout(ctx, r.o.PageTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pager panicked: %v", v)
		}
		if _, deferred := IsDeferred(err); err != nil && !deferred {
			r.metrics.PageFailed(p.Reason)
		} else if err == nil {
			r.metrics.PageSent(p.Reason)
		}
	}()
	return r.o.Pager.Page(pctx, p)
}

// retryDelay is the wait before attempt+1: the error's retry-after hint
// when it has one, else exponential backoff from RetryMin, capped at
// RetryMax, with equal jitter (half fixed, half random) so that replicas
// retrying after one outage do not stampede together.
func (r *Runner) retryDelay(attempt int, err error) time.Duration {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return min(ra.RetryAfter(), maxRetryAfter)
	}
	d := r.o.RetryMin
	for i := 1; i < attempt && d < r.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.o.RetryMax)
	half := d / 2
	return half + time.Duration(mrand.Int64N(int64(half)+1))
}

// onCall prepares the OnCall answers for pol: the overrides of every
// rotation it names, loaded (or cached). fresh is false when it had to read
// Redis, after which the incident is re-checked before the first page.
func (r *Runner) onCall(ctx context.Context, pol Policy) (OnCall, bool, error) {
	now := r.now()
	fresh := true
	var sets map[string]*rotations.OverrideSet
	for _, l := range pol.Levels {
		for _, t := range l.Targets {
			if t.Kind != rotations.TargetRotation || r.o.Overrides == nil {
				continue
			}
			if _, done := sets[t.Name]; done {
				continue
			}
			set, cached, err := r.cache.get(ctx, t.Name, now)
			if err != nil {
				return nil, false, err
			}
			fresh = fresh && cached
			if sets == nil {
				sets = map[string]*rotations.OverrideSet{}
			}
			sets[t.Name] = set
		}
	}
	return RotationOnCall(r.o.Rotations, sets), fresh, nil
}

func pagedEvent(p Page, at time.Time) incident.Event {
	note := string(p.Reason)
	if p.Reason == ReasonFallback {
		note = "fallback " + p.Channel
		if p.Why != "" {
			note += ": " + p.Why
		}
	}
	return incident.Event{Type: incident.EventPaged, At: at, Person: p.Person, By: By, Level: p.Level, Note: truncate(note, 300)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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
