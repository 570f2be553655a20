package escalation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/incident"
)

// Store is the slice of the incident store the runner uses: its job queues
// (claim, renew, release, hold, commit, dead letters), the incident's
// escalation state and the record of pages being sent. *incident.Store implements it; every method's errors are
// Redis's, or incident.ErrNotFound for an incident that is gone.
type Store interface {
	ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, max int, token string) (jobs []incident.Job, next time.Time, err error)
	ClaimChatJobs(ctx context.Context, now time.Time, lease time.Duration, max int, token string) (jobs []incident.Job, next time.Time, err error)
	// DropChatJobs removes due chat jobs when no chat is configured.
	DropChatJobs(ctx context.Context, now time.Time, max int) (dropped int, more bool, err error)
	RenewJob(ctx context.Context, j incident.Job, now time.Time, lease time.Duration) (bool, error)
	ReleaseJob(ctx context.Context, j incident.Job, due time.Time) (bool, error)
	HoldJob(ctx context.Context, j incident.Job, until time.Time) (bool, error)
	ExpediteJobs(ctx context.Context, members []string, at time.Time) error
	ExpireLeasesOf(ctx context.Context, prefix string, now time.Time) (int, error)
	Commit(ctx context.Context, j incident.Job, c incident.Commit) (bool, error)
	ListDead(ctx context.Context) ([]incident.DeadLetter, error)
	LoadEscalation(ctx context.Context, n int64) (incident.Incident, incident.EscalationState, error)
	Revision(ctx context.Context, n int64) (incident.Status, int64, error)
	Escalate(ctx context.Context, n int64, by, note string) (incident.Incident, error)
	// CheckHeartbeat decides a heartbeat's deadline job (job_heartbeat.go).
	CheckHeartbeat(ctx context.Context, j incident.Job, h incident.Heartbeat, now time.Time) (incident.HeartbeatCheck, error)
	// The page record (delivery.go).
	BeginPage(ctx context.Context, n, rev int64, key string, at time.Time) (incident.PageMark, error)
	EndPage(ctx context.Context, n, rev int64, key string, m incident.PageMark) error
	// The email jobs (email.go).
	ScheduleEmail(ctx context.Context, n int64, member string, due time.Time) (bool, error)
	EmailRecord(ctx context.Context, j incident.Job) (sent bool, failures int, err error)
	EmailSent(ctx context.Context, j incident.Job) error
	EmailFailed(ctx context.Context, j incident.Job, due time.Time) (attempts int, ok bool, err error)
	// ScheduleChat queues incident n's chat job (a redraw of its card).
	ScheduleChat(ctx context.Context, n int64, due time.Time) error
}

var _ Store = (*incident.Store)(nil)

// Options configure a Runner. Incidents, Pager and Policies are required.
type Options struct {
	// Incidents is the incident store; its jobs are the runner's work.
	Incidents Store
	// Pager delivers pages.
	Pager Pager
	// Policies answers each incident's service.
	Policies Policies
	// PageIns delivers the pages of people paged into incidents
	// ("pagein:<n>:<person>", job_pagein.go); nil: the Pager, when it is a
	// PageInPager, else the log.
	PageIns PageInPager
	// Maintenance posts the summaries of maintenance windows that ended
	// ("maintenance:<id>", job_maintenance.go); nil: the Pager, when it is
	// a MaintenanceNotifier, else the log.
	Maintenance MaintenanceNotifier
	// Leases sends the "still on it?" DMs of ack leases (acklease.go); nil:
	// the Pager, when it is a LeaseNotifier, else the log.
	Leases LeaseNotifier
	// Shifts runs the handoff steps of rotations ("shift:<step>:…",
	// job_shift.go: pre-shift checks, accepted handoffs); nil: such jobs
	// are dropped.
	Shifts ShiftKeeper
	// Heartbeats answers the heartbeat monitors whose deadline jobs
	// ("heartbeat:<name>") the runner claims with the page jobs; nil: none
	// configured, and such jobs are dropped.
	Heartbeats Heartbeats
	// Emailer sends the emails of the policies' levels that have them
	// (email.go); nil: no SMTP server, so nobody is emailed and a chat page
	// that fails for good pages the fallback at once.
	Emailer Emailer
	// Board answers rotation targets (*oncall.Board); nil: no rotations,
	// so a rotation target pages the fallback.
	Board Board

	// PollInterval is how often the runner looks for due jobs that another
	// replica queued or whose lease ran out. Jobs this process queues or
	// knows to be due sooner run on time through Wakeup. Default 1s.
	PollInterval time.Duration
	// Wakeup is the signal that a job is due now, raised by whoever made it
	// so: the incident store (incident.WithOnJobDue(w.Notify)), the chat
	// bot, Runner.Wake. Default: a Wakeup of the runner's own, which only
	// Runner.Wake raises.
	Wakeup *Wakeup
	// Lease is how long a claimed job is this runner's before another
	// replica may take it over; it is renewed every 3/10 of it while the job
	// runs (every 3 s with the default). It bounds how long a job of a
	// runner that died (kill -9, a lost host) waits before another replica
	// runs it. Default 10s.
	Lease time.Duration
	// Workers bounds how many jobs run at once. Default 32: a page job
	// mostly waits for the chat, and the pages due for one person together
	// are bundled only if their jobs are running (bot.Pager's bundles: at
	// most Workers pages a message per replica).
	Workers int
	// MaxAttempts is how many times a page is tried before it is
	// dead-lettered and the fallback paged. Default 5.
	MaxAttempts int
	// RetryMin and RetryMax bound the backoff between attempts (exponential
	// with jitter). Defaults 1s and 1m. A RetryAfterError's hint wins.
	RetryMin, RetryMax time.Duration
	// PageTimeout bounds one Pager call. Default 20s.
	PageTimeout time.Duration
	// ReplicaID names this runner in lease tokens (no ':'). Default
	// host-pid-random. When it is stable across restarts of one replica
	// (escalation.replica_id), Run first gives back at once the jobs that
	// replica's previous run held: a replica killed and restarted leaves
	// its pages silent for its restart, not for a lease. It must then be
	// unique among the replicas running.
	ReplicaID string

	// Chat, when set, runs the incidents' chat jobs ("chat:<n>", queued by
	// every state change): the chat adapter's reconciliation of channel,
	// card and notices. Chat jobs have a queue and workers of their own, so
	// cosmetic work never holds a page back. When nil (no chat is
	// configured), due chat jobs are dropped in batches after each page
	// claim (Store.DropChatJobs), never claimed.
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

// DefaultLease is Options.Lease's default: short, because it is how long
// the jobs of a runner that died stay silent. 8 s keeps the worst gap
// between two pages after a crash (a re-page interval, the lease, and the
// taking-over replica's delivery check and post) within the interval + 10 s.
const DefaultLease = 8 * time.Second

// commitTimeout bounds the commit after pages went out. The commit runs
// even when the runner is stopping: a page sent but not recorded would be
// sent again by the next replica.
const commitTimeout = 5 * time.Second

// Runner claims due escalation jobs from Redis and runs them: it loads the
// incident, asks Decide, sends the pages and commits. Any number of runners
// (replicas) may share one Redis: a job is claimed by one runner at a time,
// under a lease. A Runner's methods are safe for concurrent use; Run is
// called once.
type Runner struct {
	o        Options
	store    Store
	log      *slog.Logger
	counters *Counters
	metrics  Metrics
	now      func() time.Time

	retry    RetryPolicy
	wakeup   *Wakeup
	pages    *jobQueue
	chat     *jobQueue
	claimSeq atomic.Int64
	stableID bool // Options.ReplicaID was given: a restart may find its previous run's leases
	running  atomic.Bool
	wg       sync.WaitGroup
	// handMu orders hand-offs (handoff.go) before the stop's wg.Wait: a
	// hand-off counts itself in wg under its read lock.
	handMu sync.RWMutex
	// backlog: the page queue's last claim filled every worker it had, or
	// a hand-off found none free; due jobs may be waiting in Redis, so new
	// incidents go through the claim loop (handoff.go).
	backlog atomic.Bool

	chatMu       sync.Mutex
	chatAttempts map[string]int // consecutive failed runs of a chat job, for backoff (per replica)

	jobFailMu   sync.Mutex
	jobFailures map[string]int // consecutive failed runs of a job, for backoff (per replica)

	// backoffMu guards backingOff: the page and chat jobs this runner
	// rescheduled after a chat failure, expedited when a page goes through
	// again (the chat jobs also when a chat update does: expedite).
	backoffMu  sync.Mutex
	backingOff map[string]struct{}

	downMu     sync.Mutex
	down       bool
	downSince  time.Time
	downLogged time.Time

	strandedMu sync.Mutex
	stranded   map[string]incident.Job // failed jobs whose release failed too, by member: released when Redis answers
}

// NewRunner checks o, fills its defaults and returns a Runner; Run starts it.
//
// The incident store is built before the runner with what it needs from
// this package: incident.WithAckTimeout(policies.AckTimeout) (else
// acknowledgements never time out), incident.WithOnJobDue(wakeup.Notify) and
// incident.WithOnCreated(wakeup.Opened)
// with the Wakeup also passed here as o.Wakeup (else a new incident waits
// for the next poll).
func NewRunner(o Options) (*Runner, error) {
	if o.Incidents == nil || o.Pager == nil || o.Policies == nil {
		return nil, errors.New("escalation: runner needs Incidents, Pager and Policies")
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Workers <= 0 {
		o.Workers = 32
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
	if strings.Contains(o.ReplicaID, ":") {
		return nil, fmt.Errorf("escalation: replica id %q has a ':', which ends it in lease tokens", o.ReplicaID)
	}
	stableID := o.ReplicaID != ""
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
	if o.Wakeup == nil {
		o.Wakeup = NewWakeup()
	}
	r := &Runner{
		o:        o,
		stableID: stableID,
		store:    o.Incidents,
		log:      o.Log.With("component", "escalation"),
		counters: &Counters{},
		now:      o.Now,
		retry:    RetryPolicy{MaxAttempts: o.MaxAttempts, Min: o.RetryMin, Max: o.RetryMax, Jitter: randomJitter},
		wakeup:   o.Wakeup,
		pages:    newJobQueue("page", o.Workers, o.Incidents.ClaimJobs),
		chat:     newJobQueue("chat", o.ChatWorkers, o.Incidents.ClaimChatJobs),

		chatAttempts: map[string]int{},
		jobFailures:  map[string]int{},
		stranded:     map[string]incident.Job{},
	}
	if o.Chat == nil {
		// No chat to keep up to date: the chat queue's due jobs are
		// dropped in batches instead of claimed and released one by one.
		r.chat.drop = o.Incidents.DropChatJobs
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
// its next poll: it notifies the runner's Wakeup. It never blocks; wake-ups
// that arrive while one is pending coalesce.
func (r *Runner) Wake() { r.wakeup.Notify() }

// Escalate moves incident n up one level now, on behalf of by: the next
// level's first on-call target becomes the owner and is paged. note, when
// not empty, ends up on the escalated event (incident.Store.Escalate).
func (r *Runner) Escalate(ctx context.Context, n int64, by, note string) (incident.Incident, error) {
	inc, err := r.store.Escalate(ctx, n, by, note)
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

// Run claims and runs jobs until ctx ends. Each queue (pages, chat) has one
// drain loop: it drains at once when Run starts, then on every tick of a
// time.Ticker of PollInterval and on every wake-up (the Wakeup, or a timer
// armed for a job due before the next tick). Run logs "escalation runner
// started" once the first drains have claimed what was due. When ctx ends
// it stops claiming and waits for running jobs, whose Pager calls see ctx
// cancelled; a job cut short is given back due now (or, if Redis cannot be
// reached, kept until its lease runs out). A page already delivered is
// still committed.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("escalation: Run called twice")
	}
	// The jobs this replica's previous run held (same ReplicaID, when it
	// was given: a random one has no previous run) are given back before
	// the first claim, which then takes them at once.
	if r.stableID {
		if n, err := r.store.ExpireLeasesOf(ctx, r.o.ReplicaID+":", r.now()); err != nil {
			r.log.Warn("escalation: could not give back the jobs a previous run of this replica held; their leases will", "replica", r.o.ReplicaID, "err", err)
		} else if n > 0 {
			r.log.Info("escalation: gave back the jobs a previous run of this replica held", "replica", r.o.ReplicaID, "jobs", n)
		}
	}
	// Pages and chat jobs are polled and drained separately: a drain waits
	// for a free worker of its own queue, never for the other queue's.
	// Without a ChatSync there is no chat to keep up to date, only chat jobs
	// to drop: that queue is then drained after each successful page claim
	// instead of polled, so it adds no Redis traffic while Redis is down.
	var started sync.WaitGroup
	for _, q := range []*jobQueue{r.pages, r.chat} {
		poll := q == r.pages || r.o.Chat != nil
		started.Add(1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.loop(ctx, q, poll, started.Done)
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.wakeup.C():
				r.pages.kick()
				r.chat.kick()
			}
		}
	}()
	started.Wait()
	stopHandOff := r.startHandOff(ctx)
	r.log.Info("escalation runner started", "replica", r.o.ReplicaID, "poll", r.o.PollInterval, "lease", r.o.Lease,
		"workers", r.o.Workers, "chat_workers", r.o.ChatWorkers, "chat", r.o.Chat != nil)
	<-ctx.Done()
	stopHandOff()
	r.pages.stopTimer()
	r.chat.stopTimer()
	r.wg.Wait()
	r.log.Info("escalation runner stopped", "replica", r.o.ReplicaID)
	return nil
}
