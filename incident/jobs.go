package incident

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/text"
)

// This file is the store side of escalation: the escalation state kept on
// each incident hash, the due-job queue (claim, renew, release, commit) and
// the dead-letter set. The decisions themselves live in package escalation,
// which knows policies and rotations; the store knows only keys and the
// atomic steps between them.
//
// Jobs. Every member of the jobs zset names one incident:
//
//	page:<n>        the incident's one escalation job: first page, re-pages,
//	                escalations, fallback. Due at the next decision time.
//	acktimeout:<n>  acknowledged <n> is due to fall back to triggered.
//	heartbeat:<name> heartbeat <name>'s deadline: its last beat + interval
//	                + grace (heartbeat.go). It names no incident.
//	maintenance:<id> maintenance window <id>'s end (maintenance.go); it
//	                names no incident.
//	pagein:<n>:<person> a person paged into incident <n>: their next
//	                (re-)page (pagein.go).
//	email:<n>:<tag> one email to a person about incident n (email.go).
//
// (The chat mirror's "chat:<n>" jobs live in a queue of their own: chat.go.)
//
// Priorities. Some jobs are urgent: a first page, an escalation, an
// acknowledgement timeout, and any job whose lease ran out (it is late
// already). Beside the jobs zset, the urgent zset indexes them by the time
// from which each is urgent; ClaimJobs takes due urgent jobs before any
// other due job, however long the others have waited. A re-page is routine:
// thousands of overdue re-pages never hold a new incident's first page back.
// A re-page due before an escalation carries the escalation's time as the
// moment it turns urgent, so a backlog of re-pages cannot delay the
// escalation either. Who is urgent is decided where the job is queued: the
// scripts of Open and the transitions (always urgent) and Commit (per
// Scheduled.UrgentAt).
//
// A runner claims due members with ClaimJobs: each moves to the in-flight zset,
// scored by its lease deadline, and the leases hash records the claim's token.
// The runner finishes with Commit (apply a step, reschedule) or ReleaseJob.
// A lease that runs out puts the job back in the due set, so a runner that
// dies loses nothing: its jobs run again one lease later.

// JobKind says what a job member asks for.
type JobKind string

// Job kinds.
const (
	JobPage       JobKind = "page"
	JobAckTimeout JobKind = "acktimeout"
)

// PageJob is the member of incident n's escalation job.
func PageJob(n int64) string { return string(JobPage) + ":" + strconv.FormatInt(n, 10) }

// AckTimeoutJob is the member of incident n's acknowledgement-timeout job.
func AckTimeoutJob(n int64) string { return string(JobAckTimeout) + ":" + strconv.FormatInt(n, 10) }

// Job is one claimed job.
type Job struct {
	Member string  // "page:42"
	Kind   JobKind // page
	Number int64   // 42; 0 for a job that names no incident
	// Name is what a job that names no incident names: the heartbeat of
	// a JobHeartbeat ("heartbeat:<name>"); for a JobEmail, its tag
	// ("email:<n>:<tag>").
	Name  string
	Due   time.Time // when it fell due (for a reclaimed lease: when it was reclaimed)
	Token string    // the claim's token; only its holder may renew or release it
	// Urgent: the job was claimed as urgent work. ReleaseJob keeps it
	// urgent when it gives it back due again.
	Urgent bool
}

// parseJob splits a member; ok is false for a member this version does not
// know. A heartbeat's job names its heartbeat, not an incident: its number
// is 0 (jobName has the name).
func parseJob(member string) (JobKind, int64, bool) {
	kind, num, found := strings.Cut(member, ":")
	if !found {
		return "", 0, false
	}
	if JobKind(kind) == JobHeartbeat {
		return JobHeartbeat, 0, num != ""
	}
	if JobKind(kind) == JobMaintenance {
		return JobMaintenance, 0, num != ""
	}
	if JobKind(kind) == JobShift {
		return JobShift, 0, num != ""
	}
	if JobKind(kind) == JobPageIn {
		// "pagein:<n>:<person>"
		num, person, found := strings.Cut(num, ":")
		n, err := strconv.ParseInt(num, 10, 64)
		return JobPageIn, n, found && person != "" && err == nil
	}
	if JobKind(kind) == JobEmail {
		n, _, ok := parseEmailJob(num)
		return JobEmail, n, ok
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return JobKind(kind), n, true
}

// Pending says why the next page job runs, when a transition asked for it.
type Pending string

// Pending reasons, set by transitions and cleared by the page job's commit.
const (
	PendingNone      Pending = ""
	PendingAssign    Pending = "assign"    // Assign named a new owner: page them
	PendingEscalate  Pending = "escalate"  // Escalate asked to move up a level now
	PendingRetrigger Pending = "retrigger" // the ack timeout ran out: page the owner again
)

// EscalationState is the escalation part of an incident, as the page job
// reads it. It lives in the incident hash beside the status and owner:
//
//	level     1-based current level of the policy, 0 before the first page
//	round     how many times the policy has looped back to level 1
//	level_at  ms the current level began
//	paged_at  ms of the last page of the owner (or of the fallback)
//	ack_at    ms of the latest acknowledgement
//	lease_at, lease_warn, lease_wbeg, lease_back  the ack lease (acklease.go)
//	pend      a Pending reason; pend_by who asked (and, for an escalation,
//	          the key i:<n>:pn the note they gave)
//	pf        consecutive failed attempts at the current page
//	rev       incremented by every transition and every committed step
//	crev      "<job member>@<rev>" of the latest committed step (commit.lua:
//	          a stale run of that same step records nothing)
type EscalationState struct {
	Level     int
	Round     int
	LevelAt   time.Time
	PagedAt   time.Time
	AckAt     time.Time
	Pending   Pending
	PendingBy string
	// PendingNote is the note given with a pending manual escalation ("" when none).
	PendingNote string
	// LeaseAt is the owner's latest renewal of their ack lease (acklease.go);
	// LeaseWarned the lease base whose "still on it?" DM was sent;
	// LeaseWarnBegan the lease base whose DM began to be sent; HandedBack
	// when the owner handed the incident back. Zero when none.
	LeaseAt, LeaseWarned, LeaseWarnBegan, HandedBack time.Time
	Failures                                         int
	Rev                                              int64
	// StepBegan is when a run began to send a page of the step at Rev that
	// is still marked sending or sent in the page record (BeginPage's at):
	// an earlier run, which died or failed to commit, may have delivered
	// it then. Zero when no page of this step has begun.
	StepBegan time.Time
}

func decodeEscalation(h map[string]string) EscalationState {
	st := EscalationState{
		LevelAt:        msTime(h["level_at"]),
		PagedAt:        msTime(h["paged_at"]),
		AckAt:          msTime(h["ack_at"]),
		LeaseAt:        msTime(h["lease_at"]),
		LeaseWarned:    msTime(h["lease_warn"]),
		LeaseWarnBegan: msTime(h["lease_wbeg"]),
		HandedBack:     msTime(h["lease_back"]),
		Pending:        Pending(h["pend"]),
		PendingBy:      h["pend_by"],
	}
	st.Level, _ = strconv.Atoi(h["level"])
	st.Round, _ = strconv.Atoi(h["round"])
	st.Failures, _ = strconv.Atoi(h["pf"])
	st.Rev, _ = strconv.ParseInt(h["rev"], 10, 64)
	return st
}

var (
	//go:embed lua/claim.lua
	claimSrc string
	//go:embed lua/renew.lua
	renewSrc string
	//go:embed lua/release.lua
	releaseSrc string
	//go:embed lua/commit.lua
	commitSrc string

	claimScript   = redis.NewScript(claimSrc)
	renewScript   = redis.NewScript(renewSrc)
	releaseScript = redis.NewScript(releaseSrc)
	commitScript  = redis.NewScript(auditSrc + pageinEndSrc + commitSrc)
)

// Escalate asks for incident n to move up one escalation level now, on behalf
// of by. The incident is triggered again if it was acknowledged; the page job,
// due at once, chooses the next level's owner and pages them. note, when not
// empty, is stored in the same step (at most MaxNote characters) and the page
// job writes it on the escalated event (EscalationNote); should an ack,
// resolve, assign or another escalation come first, it becomes a note event
// by by instead, so it is never lost. Refusals: ErrNotFound, ErrAlreadyResolved.
func (s *Store) Escalate(ctx context.Context, n int64, by, note string) (Incident, error) {
	return s.transition(ctx, "escalate", n, by, "", note)
}

// EscalationNoteSep separates baton's reason from the note of the person who
// asked for the escalation in an escalated event's Note (EscalationNote).
// baton's reasons never contain it.
const EscalationNoteSep = " — "

// EscalationNote is the Note of an escalated event: baton's reason, then,
// when the person who asked gave one, EscalationNoteSep and their note.
func EscalationNote(reason, note string) string {
	if note == "" {
		return reason
	}
	return reason + EscalationNoteSep + note
}

// SplitEscalationNote undoes EscalationNote: baton's reason and the note of
// the person who asked ("" when none).
func SplitEscalationNote(s string) (reason, note string) {
	reason, note, _ = strings.Cut(s, EscalationNoteSep)
	return reason, note
}

// LoadEscalation returns incident n (without its timeline) and its
// escalation state, or an error wrapping ErrNotFound.
func (s *Store) LoadEscalation(ctx context.Context, n int64) (Incident, EscalationState, error) {
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.k.incident(n))
	st := pipe.Get(ctx, s.k.static(n))
	pn := pipe.Get(ctx, s.k.pendingNote(n))
	pg := pipe.HMGet(ctx, s.k.pages(n), "#rev", "#at")
	pi := pipe.HGetAll(ctx, s.k.pageIns(n)) // a page-in's email re-checks its ack
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Incident{}, EscalationState{}, fmt.Errorf("load INC-%d: %w", n, err)
	}
	if len(h.Val()) == 0 {
		return Incident{}, EscalationState{}, fmt.Errorf("load INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	es := decodeEscalation(h.Val())
	if es.Pending == PendingEscalate {
		es.PendingNote = pn.Val()
	}
	if v := pg.Val(); len(v) == 2 {
		rev, _ := v[0].(string)
		at, _ := v[1].(string)
		if rev == strconv.FormatInt(es.Rev, 10) && at != "" {
			es.StepBegan = msTime(at)
		}
	}
	inc := decodeIncident(n, h.Val(), st.Val())
	inc.PagedIn = decodePageIns(pi.Val())
	return inc, es, nil
}

// Revision returns incident n's status and rev: what a runner checks right
// before each page, to page nobody about an incident acknowledged or
// resolved since it decided. An incident that does not exist is an error
// wrapping ErrNotFound.
func (s *Store) Revision(ctx context.Context, n int64) (Status, int64, error) {
	v, err := s.rdb.HMGet(ctx, s.k.incident(n), "status", "rev").Result()
	if err != nil {
		return "", 0, fmt.Errorf("revision INC-%d: %w", n, err)
	}
	status, _ := v[0].(string)
	if status == "" {
		return "", 0, fmt.Errorf("revision INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	rs, _ := v[1].(string)
	rev, _ := strconv.ParseInt(rs, 10, 64)
	return Status(status), rev, nil
}

// ClaimJobs claims up to max jobs due at now for the caller, each under a
// lease running until now+lease, identified by token (unique per claim: the
// caller's replica id and a counter). First it returns to the due set up to
// 4×max jobs whose leases ran out. next is the earlier of the due time of
// the earliest job still waiting and the earliest lease deadline in flight
// (zero when there is neither), so the caller can sleep until then: a job
// whose runner died is then taken over when its lease runs out, not at the
// next poll after.
// Members it cannot parse are claimed and returned with an empty Kind; the
// caller releases them. Due urgent jobs come first (see Priorities above),
// then the others by due time; with ByDueOnly, all by due time.
func (s *Store) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, max int, token string) (jobs []Job, next time.Time, err error) {
	return s.claim(ctx, s.k.jobs, s.k.inflight, s.k.urgent, false, !s.ByDueOnly, "", now, lease, max, token)
}

// claim runs claim.lua on one queue (due zset, in-flight zset, urgent
// index). An exclusive queue never hands out a member that is still in
// flight; urgentFirst claims the index's due jobs first; liveBase, the
// incidents' key prefix, claims the chat jobs of incidents not resolved
// first ("" for none).
func (s *Store) claim(ctx context.Context, due, inflight, urgent string, exclusive, urgentFirst bool, liveBase string, now time.Time, lease time.Duration, max int, token string) (jobs []Job, next time.Time, err error) {
	if max <= 0 {
		max = 1
	}
	res, err := claimScript.Run(ctx, s.rdb, []string{due, inflight, s.k.leases, s.k.holds, urgent},
		now.UnixMilli(), now.Add(lease).UnixMilli(), max, token, 4*max, boolArg(exclusive), boolArg(urgentFirst), liveBase).Slice()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim jobs: %w", err)
	}
	if len(res) < 2 || (len(res)-2)%3 != 0 {
		return nil, time.Time{}, fmt.Errorf("claim jobs: unexpected reply %v", res)
	}
	if ms := scoreMs(res[0]); ms >= 0 {
		next = time.UnixMilli(ms)
	}
	for i := 2; i+2 < len(res); i += 3 {
		member, _ := res[i].(string)
		kind, n, ok := parseJob(member)
		if !ok {
			kind = ""
		}
		urgent, _ := res[i+2].(int64)
		j := Job{Member: member, Kind: kind, Number: n, Due: time.UnixMilli(scoreMs(res[i+1])), Token: token, Urgent: urgent == 1}
		switch kind {
		case JobHeartbeat, JobMaintenance, JobShift:
			_, j.Name, _ = strings.Cut(member, ":")
		case JobPageIn:
			_, rest, _ := strings.Cut(member, ":")
			_, j.Name, _ = strings.Cut(rest, ":")
		}
		if kind == JobEmail {
			_, rest, _ := strings.Cut(member, ":")
			_, j.Name, _ = parseEmailJob(rest)
		}
		jobs = append(jobs, j)
	}
	return jobs, next, nil
}

// scoreMs reads a zset score as Lua hands it back: a string (possibly
// "1.7e+12" for large values) or an integer.
func scoreMs(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		if ms, err := strconv.ParseInt(x, 10, 64); err == nil {
			return ms
		}
		f, _ := strconv.ParseFloat(x, 64)
		return int64(f)
	}
	return -1
}

// RenewJob extends j's lease to now+lease. It reports false when the lease is
// no longer j's (it ran out and the job was reclaimed).
func (s *Store) RenewJob(ctx context.Context, j Job, now time.Time, lease time.Duration) (bool, error) {
	_, inflight := s.k.queueKeys(j.Kind)
	ok, err := renewScript.Run(ctx, s.rdb, []string{inflight, s.k.leases}, j.Member, j.Token, now.Add(lease).UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", j.Member, err)
	}
	return ok == 1, nil
}

// ReleaseJob gives j back without touching the incident: dropped when due is
// zero, else due again at due. It reports false (and changes nothing) when
// the lease was no longer j's.
//
// A chat job (JobChat) goes back to the chat queue; if a state change
// re-queued it while it ran, it is due at once whatever due says: that
// change's redraw must not wait for the job's own next run.
func (s *Store) ReleaseJob(ctx context.Context, j Job, due time.Time) (bool, error) {
	mode := ""
	if j.Kind == JobChat {
		mode = "lt"
	}
	return s.release(ctx, j, due, mode)
}

// HoldJob gives j back due at until and holds it until then: no claim takes
// it earlier, even when a state change re-queues it due now meanwhile (the
// scripts' ZADD LT, before or after this call). It is for a chat job whose
// chat API answered 429 with a Retry-After: that answer says when the next
// call may come, whatever happened to the incident since, so the queue
// keeps it rather than each caller re-checking. A re-queue during the hold
// is not lost: the job runs at until and sees the incident as it is then.
// It reports false (and changes nothing) when the lease was no longer j's.
func (s *Store) HoldJob(ctx context.Context, j Job, until time.Time) (bool, error) {
	return s.release(ctx, j, until, "hold")
}

var (
	//go:embed lua/expire.lua
	expireSrc    string
	expireScript = redis.NewScript(expireSrc)
)

// ExpireLeasesOf ends at now every lease held by a claim whose token begins
// with prefix: a replica that starts again under the same replica id ("<id>:")
// gives back at once the jobs its previous run held when it died, instead
// of leaving them silent for the rest of their lease. The next claim takes
// them back, urgent. It returns how many it ended; errors are Redis's.
func (s *Store) ExpireLeasesOf(ctx context.Context, prefix string, now time.Time) (int, error) {
	n, err := expireScript.Run(ctx, s.rdb, []string{s.k.leases, s.k.inflight, s.k.chatInflight()},
		prefix, now.UnixMilli()).Int()
	if err != nil {
		return 0, fmt.Errorf("expire the leases of %s: %w", strings.TrimSuffix(prefix, ":"), err)
	}
	return n, nil
}

// ExpediteJobs makes the jobs named by members (page jobs and chat jobs,
// "chat:<n>", each in its own queue) due at at, if they are queued to run
// later: a retry waiting out its backoff after the chat failed, once the
// chat answers again. A job that is not queued (in flight, done, or gone)
// is left alone, and none is made later; a chat job held by a 429 stays
// held (the claim moves it back to its hold's end). Errors are Redis's.
func (s *Store) ExpediteJobs(ctx context.Context, members []string, at time.Time) error {
	if len(members) == 0 {
		return nil
	}
	byQueue := map[string][]redis.Z{}
	for _, m := range members {
		kind := JobPage
		if strings.HasPrefix(m, string(JobChat)+":") {
			kind = JobChat
		}
		due, _ := s.k.queueKeys(kind)
		byQueue[due] = append(byQueue[due], redis.Z{Score: float64(at.UnixMilli()), Member: m})
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for due, zs := range byQueue {
			p.ZAddArgs(ctx, due, redis.ZAddArgs{XX: true, LT: true, Members: zs})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("expedite %d job(s): %w", len(members), err)
	}
	return nil
}

func (s *Store) release(ctx context.Context, j Job, due time.Time, mode string) (bool, error) {
	d := ""
	if !due.IsZero() {
		d = strconv.FormatInt(due.UnixMilli(), 10)
	}
	dueKey, inflight := s.k.queueKeys(j.Kind)
	ok, err := releaseScript.Run(ctx, s.rdb, []string{dueKey, inflight, s.k.leases, s.k.holds, s.k.urgentOf(j.Kind)},
		j.Member, j.Token, d, mode, s.Now().UnixMilli(), boolArg(j.Urgent)).Int()
	if err != nil {
		return false, fmt.Errorf("release %s: %w", j.Member, err)
	}
	return ok == 1, nil
}

// Step is the escalation state a committed job leaves on the incident.
// Every field is written (zero times and empty strings delete the field).
type Step struct {
	Status    Status // "" leaves the status as it is
	Owner     string
	Level     int
	Round     int
	LevelAt   time.Time
	PagedAt   time.Time
	Pending   Pending // usually PendingNone: the step consumed it
	PendingBy string
}

// Scheduled is a job to (re)schedule on commit.
type Scheduled struct {
	Member string
	Due    time.Time
	// UrgentAt is when the job becomes urgent work (claimed before routine
	// jobs): zero for routine work (a re-page); Due or earlier for a job
	// urgent as soon as it is due (a first page, an escalation, an ack
	// timeout); a later time for a routine job that turns urgent then (a
	// re-page due before the escalation it becomes if it runs late).
	UrgentAt time.Time
}

// DeadLetter records a page that could not be delivered. The dead-letter
// hash keeps the latest one per job member, for `baton jobs`.
type DeadLetter struct {
	Job      string    `json:"job"`
	Incident int64     `json:"incident"`
	Person   string    `json:"person,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Level    int       `json:"level,omitempty"`
	Reason   string    `json:"reason"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

// Commit is how a runner finishes a claimed job.
type Commit struct {
	// Rev is the incident's rev the decision was made on. The commit applies
	// nothing (and schedules nothing) when it has changed.
	Rev int64
	// Step, when set, is written and counts as a transition (rev+1); it
	// clears the failure count.
	Step *Step
	// Failures, when Step is nil and Failures > 0, records consecutive failed
	// attempts at the current page.
	Failures int
	// Events are the decision's own timeline events (escalated, notes),
	// appended when the commit applies, or, when it does not, with the
	// facts if there are any (a step that paged someone is recorded whole).
	// An event without At is timed at the commit.
	Events []Event
	// Facts are timeline events for what happened whatever the commit's
	// fate (pages sent, pages given up): recorded even when the incident
	// changed meanwhile, then with the step's Events, merged by time with
	// the timeline's entries since the decision; not recorded when another
	// run already committed this same step.
	Facts []Event
	// Schedule (re)queues jobs, usually the claimed one at its next due time.
	Schedule []Scheduled
	// Dead, when set, is written to the dead-letter hash.
	Dead *DeadLetter
}

// Commit releases j and, if incident n's rev is still c.Rev, applies c in the
// same atomic step. It reports whether c was applied. False means the
// incident changed meanwhile (or is gone): then the lease is released, the
// facts (with the step's events, in time order, when there are facts) and
// dead letter are recorded, and the escalation position (level,
// round, level_at, paged_at) moves to the step's only if that is ahead of
// the stored one; nothing else changes and nothing is rescheduled.
// Whenever it writes a step or moves the position, incident n's chat job is
// made due now (the card shows owner and level).
func (s *Store) Commit(ctx context.Context, j Job, c Commit) (bool, error) {
	now := s.Now()
	args := []any{j.Number, j.Member, j.Token, c.Rev, now.UnixMilli(), boolArg(c.Step != nil)}
	var set []any
	if st := c.Step; st != nil {
		if st.Status != "" {
			set = append(set, "status", string(st.Status))
		}
		set = append(set,
			"owner", st.Owner,
			"level", strconv.Itoa(st.Level),
			"round", strconv.Itoa(st.Round),
			"level_at", msArg(st.LevelAt),
			"paged_at", msArg(st.PagedAt),
			"pend", string(st.Pending),
			"pend_by", text.FitBytes(st.PendingBy, 63),
			"pf", "",
		)
	} else if c.Failures > 0 {
		set = append(set, "pf", strconv.Itoa(c.Failures))
	}
	args = append(args, len(set)/2)
	args = append(args, set...)
	for _, evs := range [][]Event{c.Events, c.Facts} {
		args = append(args, len(evs))
		for _, e := range evs {
			at := e.At
			if at.IsZero() {
				at = now
			}
			args = append(args, string(e.Type), at.UnixMilli(), e.Person, e.By, e.Level, e.Note, e.Bundle, e.Chats)
		}
	}
	args = append(args, len(c.Schedule))
	for _, sc := range c.Schedule {
		args = append(args, sc.Member, sc.Due.UnixMilli(), msArg(sc.UrgentAt))
	}
	if c.Dead != nil {
		blob, err := json.Marshal(c.Dead)
		if err != nil {
			return false, fmt.Errorf("commit %s: %w", j.Member, err)
		}
		args = append(args, c.Dead.Job, string(blob))
	} else {
		args = append(args, "", "")
	}
	if st := c.Step; st != nil {
		args = append(args, st.Level, st.Round, msArg(st.LevelAt), msArg(st.PagedAt))
	} else {
		args = append(args, "", "", "", "")
	}
	args = append(args, s.audit.args()...)
	k := s.k
	n := j.Number
	ok, err := s.eval(ctx, commitScript,
		[]string{k.incident(n), k.timeline(n), k.jobs, k.inflight, k.leases, k.events, k.dead, k.chatQueue(), k.pendingNote(n), k.urgent}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("commit %s: %w", j.Member, err)
	}
	return ok == 1, nil
}

// CountDead returns how many dead-letter entries are kept (one per job
// member, the latest), for the baton_dead_letters gauge.
func (s *Store) CountDead(ctx context.Context) (int64, error) {
	n, err := s.rdb.HLen(ctx, s.k.dead).Result()
	if err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}

// Ping answers whether Redis takes commands.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// ListDead returns the dead-letter entries, newest first.
func (s *Store) ListDead(ctx context.Context) ([]DeadLetter, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.dead).Result()
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(m))
	for field, raw := range m {
		var d DeadLetter
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return nil, fmt.Errorf("list dead letters: %s: %w", field, err)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DeadLetter) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.Job, b.Job)
	})
	return out, nil
}

// CountOverdue returns how many jobs in the due set fell due at or before
// before and are not claimed yet. While runners work they are few and
// brief; jobs overdue scrape after scrape mean no runner starts them.
func (s *Store) CountOverdue(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.rdb.ZCount(ctx, s.k.jobs, "-inf", strconv.FormatInt(before.UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("count overdue jobs: %w", err)
	}
	return n, nil
}

// JobCounts returns how many jobs wait in the due set and how many are in flight.
func (s *Store) JobCounts(ctx context.Context) (due, inFlight int64, err error) {
	pipe := s.rdb.Pipeline()
	d := pipe.ZCard(ctx, s.k.jobs)
	f := pipe.ZCard(ctx, s.k.inflight)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("count jobs: %w", err)
	}
	return d.Val(), f.Val(), nil
}

func msArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}
