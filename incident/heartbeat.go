package incident

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/text"
)

// Heartbeat monitors. A cron job or a log shipper that stops sending is an
// incident of its own: each configured heartbeat expects a beat at least
// every Interval, and when Interval + Grace pass without one, an incident
// opens through open.lua, exactly as an alert would (dedup key
// "heartbeat:<name>"), and pages like any other; the next beat resolves it
// as a recovery. A heartbeat is watched from its first beat: configuring one
// pages nobody about a job that has not run yet.
//
// The deadline is a due job, "heartbeat:<name>" in the jobs zset (claimed
// under a lease like the page jobs), due at the last beat + Interval + Grace;
// every beat moves it. A beat and a deadline decision are each one script
// (lua/heartbeat.lua, with open.lua's body inside), which compares the
// stored last beat, so whichever Redis runs first, no incident stays open
// after a beat and none opens while beats arrive.
//
// Keys: <prefix>{inc}:hb:<name>, a hash {last, state, miss, n, svc} (see the
// script), beside the incident keys so the script stays in one Cluster slot.

// JobHeartbeat is the job kind of a heartbeat's deadline: "heartbeat:<name>".
const JobHeartbeat JobKind = "heartbeat"

// HeartbeatJob is the member of heartbeat name's deadline job.
func HeartbeatJob(name string) string { return string(JobHeartbeat) + ":" + name }

// HeartbeatSource is the Source of a heartbeat's alerts.
const HeartbeatSource = "heartbeat"

// HeartbeatDedupKey is the dedup key of heartbeat name's incident.
func HeartbeatDedupKey(name string) string { return "heartbeat:" + name }

// Heartbeat is one heartbeat monitor (config heartbeats[]): a beat is
// expected at least every Interval; Grace more is allowed before it is
// missed. Name is [a-z0-9_-]+ (checked by the config).
type Heartbeat struct {
	Name     string
	Service  string
	Interval time.Duration
	Grace    time.Duration
}

// Window is how long after a beat the heartbeat is missed: Interval + Grace.
func (h Heartbeat) Window() time.Duration { return h.Interval + h.Grace }

// HeartbeatState is what a heartbeat's listing says of it.
type HeartbeatState string

// Heartbeat states.
const (
	// HeartbeatWaiting: no beat ever; nothing is watched yet.
	HeartbeatWaiting HeartbeatState = "waiting"
	// HeartbeatUp: the last beat is within Interval + Grace.
	HeartbeatUp HeartbeatState = "up"
	// HeartbeatMissed: Interval + Grace passed without a beat.
	HeartbeatMissed HeartbeatState = "missed"
)

// HeartbeatStatus is one heartbeat as listed (GET /v1/heartbeats, baton
// heartbeats) and as a beat answers it. LastBeat and Due are nil while it
// is waiting; Due is when it is missed without another beat (for a missed
// one, when it was).
type HeartbeatStatus struct {
	Name     string         `json:"name"`
	Service  string         `json:"service"`
	State    HeartbeatState `json:"state"`
	LastBeat *time.Time     `json:"last_beat"`
	Due      *time.Time     `json:"due"`
	// Incident is the incident the missed heartbeat opened (0: none, or
	// not known to this listing); not part of the JSON shape.
	Incident int64 `json:"-"`
}

// HeartbeatAlert is the alert of heartbeat h: firing when it was missed
// (last is its last beat; the source time is the deadline that passed), or
// the recovery a beat sends at at. The summary names the heartbeat and when
// it was last seen.
func HeartbeatAlert(h Heartbeat, last time.Time, status AlertStatus, at time.Time) Alert {
	a := Alert{
		Source:     HeartbeatSource,
		Service:    h.Service,
		DedupKey:   HeartbeatDedupKey(h.Name),
		Severity:   SevCritical,
		Status:     status,
		ReceivedAt: at,
		SourceTime: at,
	}
	if status == AlertFiring {
		a.SourceTime = last.Add(h.Window())
		a.Summary = fmt.Sprintf("Heartbeat %s missed: last seen %s (expected every %s, grace %s)",
			h.Name, last.UTC().Format("2006-01-02 15:04:05 MST"), heartbeatDuration(h.Interval), heartbeatDuration(h.Grace))
		a.Details = map[string]any{
			"heartbeat": h.Name, "last_beat": last.UTC().Format(time.RFC3339Nano),
			"interval": h.Interval.String(), "grace": h.Grace.String(),
		}
	} else {
		a.Summary = fmt.Sprintf("Heartbeat %s beat again", h.Name)
	}
	return a
}

// heartbeatDuration shows an interval as people read it ("1h", "4m 10s");
// under a second (tests' timings) as Go writes it.
func heartbeatDuration(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	return text.Duration(d)
}

var (
	//go:embed lua/heartbeat.lua
	heartbeatSrc    string
	heartbeatScript = redis.NewScript(auditSrc + "local function open_one(KEYS, ARGV)\n" + openSrc + "\nend\n" + heartbeatSrc)
)

// openArgSourceTime is the 1-based index of the alert's source time in
// open.lua's ARGV (openCall): heartbeat.lua sets a beat's there.
const openArgSourceTime = 16

func (k keys) heartbeat(name string) string { return k.slot() + "hb:" + name }

// BeatResult is what a beat did.
type BeatResult struct {
	Status HeartbeatStatus
	// Recovered is, when the heartbeat was missed, what its recovery did
	// (Outcome resolved, or no_open_incident when a person resolved it
	// first); nil when it was up or waiting.
	Recovered *OpenResult
}

// Beat records a beat of h at now: the heartbeat is up, its deadline job is
// due at the beat + h.Window(), and when it was missed, its incident is
// resolved (a recovery through open.lua) in the same step. A beat never
// moves the last beat back (another replica's clock ahead). Errors are
// Redis's, or wrap ErrEpochChanged (nothing stored).
func (s *Store) Beat(ctx context.Context, h Heartbeat, now time.Time) (BeatResult, error) {
	// The recovery must name the service the incident was opened for
	// (its dedup entry is per service), even if the config moved the
	// heartbeat to another since. Only a beat changes it once missed.
	rec := HeartbeatAlert(h, time.Time{}, AlertResolved, now)
	svc, err := s.rdb.HGet(ctx, s.k.heartbeat(h.Name), "svc").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return BeatResult{}, fmt.Errorf("beat %s: %w", h.Name, err)
	}
	if svc != "" {
		rec.Service = svc
	}
	reply, err := s.heartbeatCall(ctx, "beat", h, now, Job{}, "", rec)
	if err != nil {
		return BeatResult{}, fmt.Errorf("beat %s: %w", h.Name, err)
	}
	if len(reply) < 4 {
		return BeatResult{}, fmt.Errorf("beat %s: unexpected script reply %v", h.Name, reply)
	}
	last, due := msTime(fmt.Sprint(reply[1])), msTime(fmt.Sprint(reply[2]))
	r := BeatResult{Status: HeartbeatStatus{Name: h.Name, Service: h.Service, State: HeartbeatUp, LastBeat: &last, Due: &due}}
	if reply[3] != nil {
		or, err := openResult(reply[3])
		if err != nil {
			return BeatResult{}, fmt.Errorf("beat %s: %w", h.Name, err)
		}
		r.Recovered = &or
	}
	return r, nil
}

// CheckOutcome is what a heartbeat's deadline job found (CheckHeartbeat).
type CheckOutcome string

// Deadline outcomes.
const (
	// CheckLost: the lease was no longer the job's; nothing changed.
	CheckLost CheckOutcome = "lost"
	// CheckNeverBeat: the heartbeat never beat; the job is dropped.
	CheckNeverBeat CheckOutcome = "waiting"
	// CheckInTime: a beat came in time; the job is due again at Due.
	CheckInTime CheckOutcome = "up"
	// CheckAlreadyMissed: the miss opened its incident already; dropped.
	CheckAlreadyMissed CheckOutcome = "missed"
	// CheckOpened: missed now; the incident is open (Opened says how) and
	// the job dropped until the next beat.
	CheckOpened CheckOutcome = "opened"
)

// checkRetry is the script's answer when the last beat changed between the
// caller's read and the script: nothing changed; read again.
const checkRetry = "retry"

// HeartbeatCheck is what a deadline job decided.
type HeartbeatCheck struct {
	Outcome  CheckOutcome
	LastBeat time.Time
	Due      time.Time
	// Opened is open.lua's result for "opened" (Created, or grouped into
	// or repeated on an open incident); for "missed", Number alone.
	Opened OpenResult
}

// CheckHeartbeat runs heartbeat h's claimed deadline job j at now: if the
// last beat is more than h.Window() ago and the heartbeat is not missed
// yet, it opens the incident (HeartbeatAlert, through open.lua) and drops
// the job; if a beat came since, it makes the job due at the new deadline.
// The decision and its writes are one script, compared against the stored
// last beat, so a beat racing it cannot leave an incident open. Errors are
// Redis's, or wrap ErrEpochChanged (nothing changed; the job is still
// j's).
func (s *Store) CheckHeartbeat(ctx context.Context, j Job, h Heartbeat, now time.Time) (HeartbeatCheck, error) {
	for range 3 {
		lastRaw, err := s.rdb.HGet(ctx, s.k.heartbeat(h.Name), "last").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return HeartbeatCheck{}, fmt.Errorf("check heartbeat %s: %w", h.Name, err)
		}
		last := msTime(lastRaw)
		reply, err := s.heartbeatCall(ctx, "check", h, now, j, lastRaw, HeartbeatAlert(h, last, AlertFiring, now))
		if err != nil {
			return HeartbeatCheck{}, fmt.Errorf("check heartbeat %s: %w", h.Name, err)
		}
		if fmt.Sprint(reply[0]) == checkRetry {
			continue // the last beat changed between the read and the script: read again
		}
		out := HeartbeatCheck{Outcome: CheckOutcome(fmt.Sprint(reply[0]))}
		if len(reply) >= 3 {
			out.LastBeat, out.Due = msTime(fmt.Sprint(reply[1])), msTime(fmt.Sprint(reply[2]))
		}
		switch out.Outcome {
		case CheckOpened:
			if out.Opened, err = openResult(reply[3]); err != nil {
				return HeartbeatCheck{}, fmt.Errorf("check heartbeat %s: %w", h.Name, err)
			}
			if out.Opened.Created {
				s.jobDue()
			}
		case CheckAlreadyMissed:
			n, _ := reply[3].(int64)
			out.Opened = OpenResult{Number: n}
		case CheckLost, CheckNeverBeat, CheckInTime:
		default:
			return HeartbeatCheck{}, fmt.Errorf("check heartbeat %s: unexpected script reply %v", h.Name, reply)
		}
		return out, nil
	}
	return HeartbeatCheck{}, fmt.Errorf("check heartbeat %s: the last beat kept changing under the check", h.Name)
}

// heartbeatCall runs heartbeat.lua.
func (s *Store) heartbeatCall(ctx context.Context, op string, h Heartbeat, now time.Time, j Job, lastRaw string, a Alert) ([]any, error) {
	ok, oa, err := s.openCall(a, "")
	if err != nil {
		return nil, err
	}
	k := s.k
	keys := append([]string{k.heartbeat(h.Name), k.jobs, k.urgent, k.inflight, k.leases}, ok...)
	args := append([]any{op, now.UnixMilli(), h.Window().Milliseconds(), HeartbeatJob(h.Name), j.Token, lastRaw, openArgSourceTime}, oa...)
	reply, err := s.eval(ctx, heartbeatScript, keys, args...).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "EPOCH ") {
			return nil, ErrEpochChanged
		}
		return nil, err
	}
	list, _ := reply.([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("unexpected script reply %v", reply)
	}
	return list, nil
}

// Heartbeats returns the status of each heartbeat of hs at now, in order.
// A heartbeat whose deadline passed is missed even before its job ran.
func (s *Store) Heartbeats(ctx context.Context, hs []Heartbeat, now time.Time) ([]HeartbeatStatus, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(hs))
	for i, h := range hs {
		cmds[i] = pipe.HMGet(ctx, s.k.heartbeat(h.Name), "last", "state", "n")
	}
	if len(hs) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list heartbeats: %w", err)
		}
	}
	out := make([]HeartbeatStatus, len(hs))
	for i, h := range hs {
		v := cmds[i].Val()
		str := func(i int) string { x, _ := v[i].(string); return x }
		st := HeartbeatStatus{Name: h.Name, Service: h.Service, State: HeartbeatWaiting}
		if last := msTime(str(0)); !last.IsZero() {
			due := last.Add(h.Window())
			st.LastBeat, st.Due = &last, &due
			st.State = HeartbeatUp
			if str(1) == string(HeartbeatMissed) || !now.Before(due) {
				st.State = HeartbeatMissed
			}
			st.Incident, _ = strconv.ParseInt(str(2), 10, 64)
		}
		out[i] = st
	}
	return out, nil
}
