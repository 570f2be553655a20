package incident

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/text"
)

// Key schema. Every key of the incident store shares one hash tag, {inc}, so
// each Lua script's keys live in one Redis Cluster slot. That keeps the
// transitions atomic on a cluster too; it also means the incident store is one
// slot's worth of load, which at a few thousand incidents a day is far from a limit.
//
//	<prefix>{inc}:seq            INCR counter behind INC-n
//	<prefix>{inc}:epoch          string: the epoch marker (a random id and a time) the serving replicas
//	                             watch to tell a Redis that lost its data; written by package main,
//	                             checked by Open under WithEpoch
//	<prefix>{inc}:i:<n>          hash: the incident's fields (src: its firing alerts' latest source time ms)
//	<prefix>{inc}:i:<n>:s        string: write-once JSON (title, source, dedup key, links, details)
//	<prefix>{inc}:i:<n>:t        list: the timeline, one JSON event per entry
//	<prefix>{inc}:i:<n>:pn       string: the note of a pending manual escalation, until the page job
//	                             writes it on the escalated event (kept out of the hash: notes are long)
//	<prefix>{inc}:i:<n>:m        hash: while a grouped incident (grouping.go) is open, the alerts in it
//	                             still firing: dedup digest -> that alert's latest source time ms
//	<prefix>{inc}:i:<n>:raw      list: the sealed raw payloads of the alerts the incident received,
//	                             "<received ms> <envelope>", newest first, at most 50 (WithSealTTL);
//	                             expires the seal TTL after the latest; the hash's "sealed" says there were some
//	<prefix>{inc}:i:<n>:pg       hash: the pages of the incident's latest paging step being sent or sent
//	                             (pages.go), expires a day after its last write
//	<prefix>{inc}:open           zset: open incident numbers by creation ms
//	<prefix>{inc}:resolved       zset: resolved incident numbers by resolution ms
//	<prefix>{inc}:dedup          hash: sha1(service "\n" dedup key) -> open incident number (each alert
//	                             grouped into an incident has its own entry pointing at it)
//	<prefix>{inc}:g:<digest>     string: the incident that alerts of sha1(service, grouping values)
//	                             may join (grouping.go); expires the grouping window after it opened
//	<prefix>{inc}:jobs           zset: due jobs ("page:<n>", "acktimeout:<n>", "heartbeat:<name>",
//	                             "maintenance:<id>", "pagein:<n>:<person>") by due ms (jobs.go)
//	<prefix>{inc}:i:<n>:pi       hash: the people paged into incident n (pagein.go)
//	<prefix>{inc}:mw:…           maintenance windows: mw:seq, mw:all, mw:s:<service>, mw:w:<id>,
//	                             mw:h:<id> (maintenance.go)
//	<prefix>{inc}:urgent         zset: the urgent jobs of jobs (first pages, escalations, ack timeouts)
//	                             by the ms from which each is urgent: claimed before the others (jobs.go)
//	<prefix>{inc}:inflight       zset: claimed jobs by lease deadline ms
//	<prefix>{inc}:leases         hash: claimed job -> token of the claim holding it
//	<prefix>{inc}:holds          hash: job -> ms before which no claim takes it (HoldJob: a 429's Retry-After)
//	<prefix>{inc}:dead           hash: job -> JSON of its last undeliverable page
//	<prefix>{inc}:events         stream: every lifecycle event, for audit and analytics; trimmed by
//	                             age and count as it grows (AuditRetention)
//	<prefix>{inc}:d:<id>         string: a delivery id already stored (SNS MessageId), expires in a day
//	<prefix>{inc}:hb:<name>      hash: heartbeat monitor <name> (heartbeat.go): its last beat ms (last),
//	                             up|missed (state), the missed deadline ms (miss), the incident it opened (n)
//	                             and its service (svc)
//	<prefix>{inc}:r:<digest>     hash: the latest recovery of sha1(service "\n" dedup key): its source
//	                             time ms (at), the incident it resolved (n), stale alerts it superseded;
//	                             expires an hour after that recovery (recoveryTTL)
type keys struct {
	base, seq, open, resolved, dedup, jobs, urgent, events, deliveries string
	inflight, leases, holds, dead, recoveries, epoch, groups           string
}

func newKeys(prefix string) keys {
	b := prefix + "{inc}:"
	return keys{
		base:       b + "i:",
		seq:        b + "seq",
		open:       b + "open",
		resolved:   b + "resolved",
		dedup:      b + "dedup",
		jobs:       b + "jobs",
		urgent:     b + "urgent",
		events:     b + "events",
		deliveries: b + "d:",
		inflight:   b + "inflight",
		leases:     b + "leases",
		holds:      b + "holds",
		dead:       b + "dead",
		recoveries: b + "r:",
		epoch:      b + "epoch",
		groups:     b + "g:",
	}
}

func (k keys) incident(n int64) string { return k.base + strconv.FormatInt(n, 10) }
func (k keys) timeline(n int64) string { return k.incident(n) + ":t" }
func (k keys) static(n int64) string   { return k.incident(n) + ":s" }
func (k keys) raw(n int64) string      { return k.incident(n) + ":raw" }

// members is the hash of a grouped incident's alerts still firing.
func (k keys) members(n int64) string { return k.incident(n) + ":m" }

// pendingNote is the key of the note given with a manual escalation that
// the page job has not yet carried out.
func (k keys) pendingNote(n int64) string { return k.incident(n) + ":pn" }

// Layout names the incident store's keys under a prefix for code that reads
// them directly instead of through the Store: analytics/redisstore scans
// incident hashes and timelines in bulk pipelines. The key schema above
// stays defined here only.
type Layout struct{ k keys }

// NewLayout returns the layout under prefix (config redis.prefix).
func NewLayout(prefix string) Layout { return Layout{newKeys(prefix)} }

// Events is the audit stream: one entry per lifecycle event, trimmed by
// age and count (AuditRetention).
func (l Layout) Events() string { return l.k.events }

// Seq is the INCR counter behind INC-n: the highest incident number.
func (l Layout) Seq() string { return l.k.seq }

// Open is the zset of open incident numbers by creation ms.
func (l Layout) Open() string { return l.k.open }

// Resolved is the zset of resolved incident numbers by resolution ms.
func (l Layout) Resolved() string { return l.k.resolved }

// Incident is incident n's hash (service, severity, created, acknowledged,
// resolved, level, alert_count, … as the Lua scripts write them).
func (l Layout) Incident(n int64) string { return l.k.incident(n) }

// Timeline is incident n's timeline: a list of JSON events (Event).
func (l Layout) Timeline(n int64) string { return l.k.timeline(n) }

// delivery is the marker key of one delivery id. With no id it is a key the
// script never touches, still inside the {inc} slot so Cluster accepts the call.
func (k keys) delivery(id string) string { return k.deliveries + id }

// group is the index of the incident open for one grouping digest. With no
// digest (the service groups nothing, or the alert lacks a field) it is a
// key the script never touches, in the {inc} slot all the same.
func (k keys) group(digest string) string { return k.groups + digest }

// recovery is the memory of the latest recovery of one dedup digest.
func (k keys) recovery(digest string) string { return k.recoveries + digest }

// JobsKey is the sorted set of due jobs, for the escalation runner that claims them.
func (s *Store) JobsKey() string { return s.k.jobs }

var (
	//go:embed lua/open.lua
	openSrc string
	//go:embed lua/transition.lua
	transitionSrc string
	// auditSrc defines audit_with, the audit stream's trimmed XADD; it is
	// prepended to each script that writes the stream.
	//go:embed lua/audit.lua
	auditSrc string

	openScript       = redis.NewScript(auditSrc + openSrc)
	transitionScript = redis.NewScript(auditSrc + pageinEndSrc + transitionSrc)
)

// maxDetailsBytes caps what one incident keeps of its first alert's details;
// past it the details are replaced by a note, so one huge payload cannot
// blow the per-incident memory budget.
const maxDetailsBytes = 4096

// repeatNoteEvery is how often a storm of repeated alerts writes a timeline line.
const repeatNoteEvery = time.Minute

// Store is the incident lifecycle on Redis. Every transition is one Lua
// script: state change, timeline event, indexes and due jobs move together or
// not at all. It is safe for concurrent use by many goroutines and replicas.
type Store struct {
	rdb redis.UniversalClient
	k   keys
	// Now is the clock; tests replace it.
	Now func() time.Time

	// ackTimeout and onJobDue are the escalation hooks (WithAckTimeout,
	// WithOnJobDue), fixed at construction.
	ackTimeout func(service string) time.Duration
	onJobDue   func()
	// onCreated is told of each incident Open created (WithOnCreated);
	// nil: onJobDue is.
	onCreated func(n int64)
	// onTransition is told of each acknowledgement and resolution
	// (WithOnTransition); nil: nobody.
	onTransition func(op string, inc Incident)
	// audit is the events stream's retention (WithAuditRetention).
	audit AuditRetention
	// epoch is the epoch marker Open requires (WithEpoch); nil: none.
	epoch func() string
	// floor is the number a new incident's number must exceed
	// (WithNumberFloor); nil: none.
	floor func() int64
	// wait is how many replicas a write waits for (WithReplicaWait).
	wait replicaWait
	// grouping is each service's alert grouping (WithGrouping); nil: none.
	grouping func(service string) Grouping
	// sealTTL is how long sealed raw payloads are kept (WithSealTTL); 0:
	// an alert's Sealed is not kept.
	sealTTL time.Duration

	// Unbatched sends each Open as its own script call instead of
	// coalescing concurrent ones into pipelines; it exists to measure the
	// difference (BenchmarkOpen). Set it before first use.
	Unbatched bool

	// Uncoalesced keeps batching but sends every Open of a batch as its
	// own script call, instead of merging the firing alerts of one dedup
	// key into one (incident/batch.go); it exists to measure the difference
	// (BenchmarkOpen) and to compare results. Set it before first use.
	Uncoalesced bool

	// ByDueOnly makes ClaimJobs claim by due time alone, ignoring which
	// jobs are urgent, as baton did before priorities; it exists to measure
	// the difference (escalation's BenchmarkSoak). Set it before first use.
	ByDueOnly bool

	batchOnce, closeOnce sync.Once
	batch                *batcher
}

// opener returns the batcher that carries Open's script calls, started on first use.
func (s *Store) opener() *batcher {
	s.batchOnce.Do(func() { s.batch = newBatcher(s.rdb, openScript, s.coalescer(), s.wait) })
	return s.batch
}

// coalescer is the script that merges duplicates in a batch, nil when
// Uncoalesced.
func (s *Store) coalescer() *redis.Script {
	if s.Uncoalesced {
		return nil
	}
	return coalesceScript
}

// Close stops the goroutines that batch Open calls. Open after Close fails.
func (s *Store) Close() {
	s.batchOnce.Do(func() { s.batch = newBatcher(s.rdb, openScript, s.coalescer(), s.wait) })
	s.closeOnce.Do(s.batch.close)
}

// errClosed is returned by Open after Close.
var errClosed = errors.New("incident store is closed")

// StoreOption configures a Store at construction (NewStore).
type StoreOption func(*Store)

// WithAckTimeout says how long an acknowledged incident of a service may
// stay unresolved before it is triggered again (0: forever); Ack schedules
// the "acktimeout:<n>" job with it. The store knows no policies: the wiring
// passes escalation.Policies.AckTimeout. Without it acknowledgements never
// time out.
func WithAckTimeout(f func(service string) time.Duration) StoreOption {
	return func(s *Store) { s.ackTimeout = f }
}

// WithOnJobDue gives the store a function to call after a transition made a
// job due now (a new incident, Assign, Escalate), so a runner in this
// process starts it at once instead of at its next poll: the wiring passes
// escalation.Wakeup.Notify. f must not block.
func WithOnJobDue(f func()) StoreOption {
	return func(s *Store) { s.onJobDue = f }
}

// WithOnTransition gives the store a function to call after each
// acknowledgement (op "ack") and resolution ("resolve": by a person, or by
// the source's recovery) it stored, with the incident as it is then, its
// Created, Acknowledged and Resolved times set: the wiring passes the
// metrics' time-to-acknowledge and time-to-resolve histograms. f must not
// block.
func WithOnTransition(f func(op string, inc Incident)) StoreOption {
	return func(s *Store) { s.onTransition = f }
}

// AuditRetention bounds the audit stream (the "events" stream every
// transition appends to): entries older than MaxAge, by the Redis server's
// clock, and beyond the newest MaxEntries are trimmed as new ones are added.
// Trimming is approximate (XADD MINID ~, XTRIM MAXLEN ~): Redis removes
// whole stream nodes only, so up to stream-node-max-entries (100 by default)
// more may stay. A zero field takes its default.
type AuditRetention struct {
	MaxAge     time.Duration
	MaxEntries int64
}

// The audit stream's default retention: 90 days or a million entries,
// whichever is smaller (about 70 MB at ~70 bytes an entry).
const (
	DefaultAuditMaxAge     = 90 * 24 * time.Hour
	DefaultAuditMaxEntries = 1_000_000
)

// withDefaults fills the zero fields.
func (r AuditRetention) withDefaults() AuditRetention {
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultAuditMaxAge
	}
	if r.MaxEntries <= 0 {
		r.MaxEntries = DefaultAuditMaxEntries
	}
	return r
}

// args are the two script arguments that carry the retention: the age in
// ms and the entry count.
func (r AuditRetention) args() []any {
	return []any{r.MaxAge.Milliseconds(), r.MaxEntries}
}

// WithAuditRetention sets how long and how large the audit stream may grow
// (AuditRetention); without it, DefaultAuditMaxAge and DefaultAuditMaxEntries.
func WithAuditRetention(r AuditRetention) StoreOption {
	return func(s *Store) { s.audit = r.withDefaults() }
}

// ErrEpochChanged is Open's error when the store's epoch marker is not the
// one WithEpoch's function named (missing, or another): Redis may have lost
// its data, and nothing was stored. Its code is Unavailable (retry); the
// caller checks the epoch and tries again.
var ErrEpochChanged = errors.New("the epoch marker of the incident store changed")

// WithEpoch makes Open store nothing, and return ErrEpochChanged, unless
// the key <prefix>{inc}:epoch holds epoch() (read once per Open; "" skips
// the check), in the same script that issues incident numbers. So a Redis
// that lost its data since the caller last checked its epoch (restarted
// empty, flushed) cannot issue an incident number again. f must not block.
func WithEpoch(f func() string) StoreOption {
	return func(s *Store) { s.epoch = f }
}

// WithNumberFloor makes Open give a new incident a number above floor()
// (read once per Open; 0: no floor) even when the counter is lower: a
// Redis that lost its latest writes (an AOF fsynced a second late, a
// failover to a replica that lagged) rewinds the counter, and INCR would
// issue numbers again. The caller passes the highest number it has seen.
// f must not block.
func WithNumberFloor(f func() int64) StoreOption {
	return func(s *Store) { s.floor = f }
}

// WithSealTTL makes Open keep an alert's sealed raw payload (Alert.Sealed)
// for ttl, in the same script as the alert, on the incident it reached
// (the newest 50 per incident); RawPayloads reads them back. Without it
// (or ttl <= 0) Alert.Sealed is dropped.
func WithSealTTL(ttl time.Duration) StoreOption {
	return func(s *Store) { s.sealTTL = ttl }
}

// EpochKey is the key of the store's epoch marker (WithEpoch).
func (s *Store) EpochKey() string { return s.k.epoch }

// SeqKey is the key of the counter behind incident numbers.
func (s *Store) SeqKey() string { return s.k.seq }

// NewStore returns a Store keeping its keys under prefix (for example "baton:").
func NewStore(rdb redis.UniversalClient, prefix string, opts ...StoreOption) *Store {
	s := &Store{rdb: rdb, k: newKeys(prefix), Now: time.Now, audit: AuditRetention{}.withDefaults()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Outcome says what Open did with an alert.
type Outcome string

// Open outcomes.
const (
	OutcomeCreated        Outcome = "created"            // a new incident
	OutcomeRepeated       Outcome = "repeated"           // added to the open incident with that dedup key
	OutcomeResolved       Outcome = "resolved"           // a recovery resolved the open incident
	OutcomeNoOpenIncident Outcome = "no_open_incident"   // a recovery for which nothing was open
	OutcomeDuplicate      Outcome = "duplicate_delivery" // this delivery id was already stored; nothing changed
	// OutcomeSuperseded: a firing alert no newer at its source than a
	// recovery of the same (service, dedup key) received in the last hour;
	// the condition is over, so nothing was opened or paged.
	OutcomeSuperseded Outcome = "superseded_by_recovery"
	// OutcomeStaleRecovery: a recovery older at its source than the latest
	// firing alert of the open incident with its (service, dedup key): it
	// is from an earlier flap, so the incident stays open. The alert is
	// counted and audited, and not remembered as a recovery.
	OutcomeStaleRecovery Outcome = "stale_recovery"
	// OutcomeGrouped: a firing alert with a new dedup key joined the
	// triggered incident of its service's group (WithGrouping) instead of
	// opening one; its own dedup key now points at that incident.
	OutcomeGrouped Outcome = "grouped"
	// OutcomeAlertRecovered: a recovery of one alert of a grouped incident
	// while others in it are still firing; the incident stays open and
	// resolves with the last one's recovery.
	OutcomeAlertRecovered Outcome = "alert_recovered"
)

// recoveryTTL is how long a recovery is remembered, so that a firing alert
// it overtook on the way opens nothing. Sources deliver within minutes (SNS
// retries for about an hour); one key per recovered (service, dedup key).
const recoveryTTL = time.Hour

// deliveryTTL is how long a delivery id (an SNS MessageId) is remembered.
// SNS retries for at most about an hour; a day is generous.
const deliveryTTL = 24 * time.Hour

// OpenResult reports what Open did.
type OpenResult struct {
	Number     int64
	Created    bool
	AlertCount int64
	Status     Status
	Outcome    Outcome
	// RecoveredAt is, for OutcomeSuperseded, the source time of the
	// recovery that made the alert stale. Number is then the incident that
	// recovery resolved, or 0 when it found none open.
	RecoveredAt time.Time
}

// Open stores one alert. A firing alert whose (service, dedup key) has an open
// incident increments that incident's count; otherwise it creates an incident
// and, in the same step, the "page" job due now. A resolved alert resolves the
// open incident with its key, or does nothing when none is open; either way
// it is remembered for an hour with its source time (Alert.SourceTime, else
// ReceivedAt), and a firing alert whose source time is not after it reports
// OutcomeSuperseded and changes nothing but a count and the audit stream.
// The incident keeps the latest source time of its firing alerts; a
// recovery strictly older than it (from an earlier flap, delivered late)
// resolves nothing and reports OutcomeStaleRecovery: it is counted on the
// incident and audited, and not remembered as a recovery.
// An alert without a service, a dedup key or a valid severity is an *Error
// of code Invalid.
func (s *Store) Open(ctx context.Context, a Alert) (OpenResult, error) {
	return s.OpenDelivery(ctx, a, "")
}

// OpenDelivery is Open for a source that names each delivery (SNS MessageId):
// a delivery id seen in the last day has no effect and reports
// OutcomeDuplicate with the number, alert count and status that the incident
// its first delivery reached has now (all zero when that delivery was a
// recovery with nothing open). The id is remembered in the same atomic step
// as the alert, so a failed attempt can be retried.
func (s *Store) OpenDelivery(ctx context.Context, a Alert, deliveryID string) (OpenResult, error) {
	res, err := s.openDelivery(ctx, a, deliveryID)
	if err == nil && res.Outcome == OutcomeResolved {
		s.resolvedBySource(ctx, res.Number)
	}
	return res, err
}

// resolvedBySource tells the transition hook (WithOnTransition) of an
// incident a recovery resolved. The alert is stored already: a failure to
// read the incident back only loses the observation.
func (s *Store) resolvedBySource(ctx context.Context, n int64) {
	if s.onTransition == nil {
		return
	}
	if inc, _, err := s.Get(ctx, n); err == nil {
		s.onTransition("resolve", inc)
	}
}

func (s *Store) openDelivery(ctx context.Context, a Alert, deliveryID string) (OpenResult, error) {
	keys, args, err := s.openCall(a, deliveryID)
	if err != nil {
		return OpenResult{}, err
	}
	run := s.opener().run
	if s.Unbatched {
		run = func(ctx context.Context, keys []string, args []any) (any, error) {
			return s.eval(ctx, openScript, keys, args...).Result()
		}
	}
	reply, err := run(ctx, keys, args)
	if err != nil {
		if strings.HasPrefix(err.Error(), "EPOCH ") {
			return OpenResult{}, fmt.Errorf("open: %w", ErrEpochChanged)
		}
		return OpenResult{}, fmt.Errorf("open: %w", err)
	}
	r, err := openResult(reply)
	if err != nil {
		return OpenResult{}, fmt.Errorf("open: %w", err)
	}
	if r.Created {
		s.created(r.Number)
	}
	return r, nil
}

// openCall checks a and builds the keys and arguments of its open.lua
// call (OpenDelivery; OpenBatch sends several in one script).
func (s *Store) openCall(a Alert, deliveryID string) ([]string, []any, error) {
	if a.Service == "" || a.DedupKey == "" {
		return nil, nil, fmt.Errorf("open: %w", Errorf(Invalid, "An alert needs a service and a dedup key."))
	}
	if !a.Severity.Valid() {
		return nil, nil, fmt.Errorf("open: %w", Errorf(Invalid, "Severity %q is not one of critical, warning, info.", a.Severity))
	}
	now := a.ReceivedAt
	if now.IsZero() {
		now = s.Now()
	}
	src := a.SourceTime
	if src.IsZero() {
		src = now
	}
	st := static{Title: a.Summary, Source: a.Source, DedupKey: a.DedupKey, Links: a.Links}
	if len(a.Details) > 0 {
		d, err := json.Marshal(a.Details)
		if err != nil {
			return nil, nil, fmt.Errorf("open: encode details: %w", err)
		}
		if len(d) > maxDetailsBytes {
			d, _ = json.Marshal(map[string]any{"truncated": fmt.Sprintf("details of %d bytes were not kept (limit %d)", len(d), maxDetailsBytes)})
		}
		st.Details = d
	}
	blob, err := json.Marshal(st)
	if err != nil {
		return nil, nil, fmt.Errorf("open: encode: %w", err)
	}
	status := "firing"
	if a.Status == AlertResolved {
		status = "resolved"
	}
	dk := dedupDigest(a.Service, a.DedupKey)
	k := s.k
	epoch, floor := "", int64(0)
	if s.epoch != nil {
		epoch = s.epoch()
	}
	if s.floor != nil {
		floor = s.floor()
	}
	var window time.Duration
	group := ""
	if s.grouping != nil && status == "firing" {
		g := s.grouping(a.Service)
		if d, ok := g.groupDigest(a); ok {
			window, group = g.Window, d
		}
	}
	args := []any{k.base, dk, now.UnixMilli(),
		a.Service, blob, string(a.Severity), a.Source, dk, status,
		s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries, repeatNoteEvery.Milliseconds(), string(JobPage) + ":", deliveryTTL.Milliseconds(), boolArg(deliveryID != ""),
		src.UnixMilli(), recoveryTTL.Milliseconds(), epoch, floor, window.Milliseconds()}
	if a.Sealed != "" && s.sealTTL > 0 {
		// One optional trailing argument: "<ttl ms> <received ms> <envelope>".
		args = append(args, strconv.FormatInt(s.sealTTL.Milliseconds(), 10)+" "+strconv.FormatInt(now.UnixMilli(), 10)+" "+a.Sealed)
	}
	return []string{k.seq, k.dedup, k.open, k.jobs, k.events, k.resolved, k.delivery(deliveryID), k.recovery(dk), k.epoch, k.group(group)},
		args, nil
}

// openResult reads one open.lua reply.
func openResult(reply any) (OpenResult, error) {
	res, _ := reply.([]any)
	if len(res) < 5 {
		return OpenResult{}, fmt.Errorf("unexpected script reply %v", reply)
	}
	r := OpenResult{}
	var ok [5]bool
	r.Number, ok[0] = res[0].(int64)
	var created int64
	created, ok[1] = res[1].(int64)
	r.Created = created == 1
	r.AlertCount, ok[2] = res[2].(int64)
	var st, oc string
	st, ok[3] = res[3].(string)
	oc, ok[4] = res[4].(string)
	if ok != [5]bool{true, true, true, true, true} {
		return OpenResult{}, fmt.Errorf("unexpected script reply %v", reply)
	}
	r.Status, r.Outcome = Status(st), Outcome(oc)
	if len(res) > 5 {
		if ms, ok := res[5].(int64); ok {
			r.RecoveredAt = time.UnixMilli(ms).UTC()
		}
	}
	return r, nil
}

// dedupDigest names a (service, dedup key) pair in the dedup index. A fixed
// 40-character digest keeps index entries and the incident hash small whatever
// the source's key looks like (CloudWatch ARNs run past 80 characters).
func dedupDigest(service, key string) string {
	sum := sha1.Sum([]byte(service + "\n" + key))
	return hex.EncodeToString(sum[:])
}

// static is the write-once part of an incident, stored as one JSON string
// beside the hash so that the hash holds only short values.
type static struct {
	Title    string          `json:"title"`
	Source   string          `json:"source"`
	DedupKey string          `json:"dedup_key"`
	Links    []Link          `json:"links,omitempty"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// MaxNote is the most characters a note given with a transition (ack,
// resolve, escalate, assign, note) keeps; a longer one is cut with
// text.Truncate. Chat refuses longer notes outright (bot.MaxNote).
const MaxNote = 1000

// Ack acknowledges incident n on behalf of by, who becomes its owner; note,
// when not empty, is kept on the acknowledged event (at most MaxNote characters).
// Pending pages and escalations are cancelled in the same step, and when
// WithAckTimeout gives the incident's service a timeout, the "acktimeout:<n>"
// job is scheduled for then. Refusals are *Error (ErrNotFound,
// ErrAlreadyResolved, ErrAlreadyAcknowledged naming the owner); any other
// error is Redis failing.
func (s *Store) Ack(ctx context.Context, n int64, by, note string) (Incident, error) {
	return s.transition(ctx, "ack", n, by, "", note)
}

// Resolve resolves incident n; note, when not empty, is kept on the resolved
// event (at most MaxNote characters). Its dedup key is freed, so the same alert
// later opens a new incident, and all its pending escalation jobs are cancelled.
// Refusals: ErrNotFound, ErrAlreadyResolved.
func (s *Store) Resolve(ctx context.Context, n int64, by, note string) (Incident, error) {
	return s.transition(ctx, "resolve", n, by, "", note)
}

// Assign makes to the owner of incident n. As in PagerDuty, a reassigned
// incident is triggered again and its new owner paged at once. Refusals:
// ErrNotFound, ErrAlreadyResolved, ErrSameOwner (naming to), Invalid when
// to is empty.
func (s *Store) Assign(ctx context.Context, n int64, to, by string) (Incident, error) {
	if to == "" {
		return Incident{}, fmt.Errorf("assign INC-%d: %w", n, Errorf(Invalid, "Say whom to assign INC-%d to.", n))
	}
	return s.transition(ctx, "assign", n, by, to, "")
}

// Note appends a free-text note to the timeline of incident n, open or
// resolved. Refusal: ErrNotFound.
func (s *Store) Note(ctx context.Context, n int64, by, text string) (Incident, error) {
	return s.transition(ctx, "note", n, by, "", text)
}

// transitionCodes maps transition.lua's refusals to outcome codes.
var transitionCodes = map[string]Code{
	"not_found":            NotFound,
	"already_resolved":     AlreadyResolved,
	"already_acknowledged": AlreadyAcknowledged,
	"same_owner":           AlreadyAssigned,
}

func (s *Store) transition(ctx context.Context, op string, n int64, by, person, note string) (Incident, error) {
	k := s.k
	var ackTimeout time.Duration
	if op == "ack" && s.ackTimeout != nil {
		// The service never changes after Open, so reading it first races with nothing.
		svc, err := s.rdb.HGet(ctx, k.incident(n), "service").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Incident{}, fmt.Errorf("%s INC-%d: %w", op, n, err)
		}
		if svc != "" {
			ackTimeout = s.ackTimeout(svc)
		}
	}
	res, err := s.eval(ctx, transitionScript,
		[]string{k.incident(n), k.timeline(n), k.open, k.jobs, k.events, k.dedup, k.resolved, k.pendingNote(n), k.members(n)},
		op, n, s.Now().UnixMilli(), by, person, text.Truncate(note, MaxNote), ackTimeout.Milliseconds(),
		s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries,
	).StringSlice()
	if err != nil {
		return Incident{}, fmt.Errorf("%s INC-%d: %w", op, n, err)
	}
	if res[0] == "held" && len(res) == 3 {
		return Incident{}, fmt.Errorf("%s INC-%d: %w", op, n, heldError(op, n, res[1], res[2]))
	}
	if code, ok := transitionCodes[res[0]]; ok {
		who := ""
		switch code {
		case AlreadyAcknowledged:
			who = res[2] // the owner
		case AlreadyAssigned:
			who = person
		}
		return Incident{}, fmt.Errorf("%s INC-%d: %w", op, n, NewError(code, n, who))
	}
	if op == "assign" || op == "escalate" {
		s.jobDue()
	}
	inc, _, err := s.Get(ctx, n)
	if err == nil && s.onTransition != nil && (op == "ack" || op == "resolve") {
		s.onTransition(op, inc)
	}
	return inc, err
}

func (s *Store) jobDue() {
	if s.onJobDue != nil {
		s.onJobDue()
	}
}

// Get returns incident n and its timeline, oldest event first, or an error
// wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, n int64) (Incident, []Event, error) {
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.k.incident(n))
	st := pipe.Get(ctx, s.k.static(n))
	t := pipe.LRange(ctx, s.k.timeline(n), 0, -1)
	pi := pipe.HGetAll(ctx, s.k.pageIns(n))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Incident{}, nil, fmt.Errorf("get INC-%d: %w", n, err)
	}
	if len(h.Val()) == 0 {
		return Incident{}, nil, fmt.Errorf("get INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	inc := decodeIncident(n, h.Val(), st.Val())
	inc.PagedIn = decodePageIns(pi.Val())
	events := make([]Event, 0, len(t.Val()))
	for _, raw := range t.Val() {
		ev, err := decodeEvent(raw)
		if err != nil {
			return Incident{}, nil, fmt.Errorf("get INC-%d: timeline: %w", n, err)
		}
		events = append(events, ev)
	}
	return inc, events, nil
}

// Details returns the details the first alert of incident n carried, or an
// error wrapping ErrNotFound.
func (s *Store) Details(ctx context.Context, n int64) (map[string]any, error) {
	raw, err := s.rdb.Get(ctx, s.k.static(n)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("details INC-%d: %w", n, NewError(NotFound, n, ""))
	}
	if err != nil {
		return nil, fmt.Errorf("details INC-%d: %w", n, err)
	}
	var st static
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("details INC-%d: %w", n, err)
	}
	d := map[string]any{}
	if len(st.Details) > 0 {
		if err := json.Unmarshal(st.Details, &d); err != nil {
			return nil, fmt.Errorf("details INC-%d: %w", n, err)
		}
	}
	return d, nil
}

// Filter selects incidents for List.
type Filter string

// Filters. FilterOpen is every incident not yet resolved.
const (
	FilterOpen         Filter = "open"
	FilterTriggered    Filter = "triggered"
	FilterAcknowledged Filter = "acknowledged"
	FilterResolved     Filter = "resolved"
)

// ParseFilter checks a status filter from outside (an API query, a command);
// "" is FilterOpen, anything unknown an *Error of code Invalid.
func ParseFilter(s string) (Filter, error) {
	switch f := Filter(s); f {
	case FilterOpen, FilterTriggered, FilterAcknowledged, FilterResolved:
		return f, nil
	case "":
		return FilterOpen, nil
	}
	return "", Errorf(Invalid, "The status filter %q is not one of open, triggered, acknowledged, resolved.", s)
}

// List returns the first incidents matching f: open ones oldest first,
// resolved ones most recently resolved first. limit caps the answer (0 means
// 100). It is ListPage without a cursor.
func (s *Store) List(ctx context.Context, f Filter, limit int) ([]Incident, error) {
	list, _, err := s.ListPage(ctx, f, limit, "")
	return list, err
}

// SetChannel records the chat channel made for incident n, so a retried job
// reuses it instead of creating another.
func (s *Store) SetChannel(ctx context.Context, n int64, ref string) error {
	if err := s.rdb.HSet(ctx, s.k.incident(n), "channel", ref).Err(); err != nil {
		return fmt.Errorf("set channel INC-%d: %w", n, err)
	}
	return nil
}

func decodeIncident(n int64, h map[string]string, staticJSON string) Incident {
	var st static
	_ = json.Unmarshal([]byte(staticJSON), &st)
	inc := Incident{
		Number:       n,
		Service:      h["service"],
		Title:        st.Title,
		Severity:     Severity(h["severity"]),
		Status:       Status(h["status"]),
		Owner:        h["owner"],
		Source:       st.Source,
		DedupKey:     st.DedupKey,
		Links:        st.Links,
		Channel:      h["channel"],
		FirstSeen:    msTime(h["first_seen"]),
		LastSeen:     msTime(h["last_seen"]),
		Created:      msTime(h["created"]),
		Acknowledged: msTime(h["acknowledged"]),
		Resolved:     msTime(h["resolved"]),
	}
	inc.Level, _ = strconv.Atoi(h["level"])
	inc.AlertCount, _ = strconv.ParseInt(h["alert_count"], 10, 64)
	inc.Grouped, _ = strconv.ParseInt(h["grouped"], 10, 64)
	inc.Sealed = h["sealed"] == "1"
	inc.Held = h["held"]
	return inc
}

func msTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// storedEvent is the timeline entry as the Lua scripts write it (times in ms).
type storedEvent struct {
	Type   EventType `json:"type"`
	At     int64     `json:"at"`
	Person string    `json:"person"`
	By     string    `json:"by"`
	Level  int       `json:"level"`
	Note   string    `json:"note"`
	Count  int64     `json:"count"` // a folded run of re-pages (commit.lua)
	Last   int64     `json:"last"`  // its latest page
	Bundle string    `json:"bundle"`
	Chats  string    `json:"chats"`
}

func decodeEvent(raw string) (Event, error) {
	var se storedEvent
	if err := json.Unmarshal([]byte(raw), &se); err != nil {
		return Event{}, err
	}
	ev := Event{Type: se.Type, At: time.UnixMilli(se.At).UTC(), Person: se.Person, By: se.By, Level: se.Level, Note: se.Note, Count: se.Count, Bundle: se.Bundle, Chats: se.Chats}
	if se.Last != 0 {
		ev.Last = time.UnixMilli(se.Last).UTC()
	}
	return ev, nil
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
