package incident

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/text"
)

// Maintenance windows. While a service's window is active, its alerts are
// stored and deduplicated as always (Open runs, the webhook answers 202),
// but a new incident is held: open.lua writes no page job and no chat job
// for it, so nobody is paged and no channel opens. The window's end is a
// due job, "maintenance:<id>" in the jobs zset (claimed under a lease like
// the page jobs), due at its until. Ending it (that job, or a person
// through EndMaintenance) is one script (lua/maintenance.lua) that queues
// the first page and the chat job of every held incident still open, and
// keeps a summary of what arrived; the job then posts the summary in the
// service's alerts channel and marks it posted.
//
// Redis orders the scripts: an alert stored before the end is held and
// released by it; one stored after finds no active window and pages at
// once. A window whose until has passed holds nothing even while its job
// is late.
//
// Keys (in the {inc} slot): mw:seq, mw:all (zset id → until of the active
// windows), mw:s:<service> (the active window's id), mw:w:<id> (hash:
// id, service, from, until, by, reason, long, state active|ended, alerts,
// ended, ended_by, summary, posted; alerts counts firing alerts,
// recoveries the recoveries), mw:h:<id> (set of held incidents), mw:rc:<id>
// (hash: incident → its recoveries while held, left out of its alerts).
// An ended window's hash is kept MaintenanceKeep.

// JobMaintenance is the job kind of a maintenance window's end: "maintenance:<id>".
const JobMaintenance JobKind = "maintenance"

// MaintenanceJob is the member of window id's end job.
func MaintenanceJob(id string) string { return string(JobMaintenance) + ":" + id }

// Bounds of a maintenance window's length. MaxMaintenance holds unless the
// caller allows a long one (--long, "long": true); MaxLongMaintenance
// always.
const (
	MinMaintenance     = time.Minute
	MaxMaintenance     = 24 * time.Hour
	MaxLongMaintenance = 14 * 24 * time.Hour
	// MaxMaintenanceReason bounds a window's reason, in characters.
	MaxMaintenanceReason = 200
	// MaintenanceKeep is how long an ended window is kept (its summary).
	MaintenanceKeep = 7 * 24 * time.Hour
)

// Maintenance is one maintenance window as listed and returned.
type Maintenance struct {
	ID      string    `json:"id"` // "mw-7"
	Service string    `json:"service"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	By      string    `json:"by"`
	Reason  string    `json:"reason,omitempty"`
	// Long: it was asked for as long (--long, "long": true).
	Long bool `json:"long"`
	// Alerts is how many firing alerts reached incidents the window holds
	// so far (a recovery is not counted).
	Alerts int64 `json:"alerts"`
}

// MaintenanceSummary is what a window that ended held: posted in the
// service's alerts channel when it ends.
type MaintenanceSummary struct {
	Maintenance
	// Ended is when it ended; EndedBy who ended it early ("" when it ran out).
	Ended   time.Time `json:"ended"`
	EndedBy string    `json:"ended_by"`
	// Incidents are those it held, by number.
	Incidents []HeldIncident `json:"incidents"`
}

// HeldIncident is one incident a window held: its alert count and its
// status when the window ended (resolved by a recovery meanwhile, or still
// open and paged from then).
type HeldIncident struct {
	Number int64  `json:"n"`
	Alerts int64  `json:"alerts"`
	Status Status `json:"status"`
}

var (
	//go:embed lua/maintenance.lua
	maintenanceSrc    string
	maintenanceScript = redis.NewScript(auditSrc + maintenanceSrc)
)

func (k keys) maintenance(id string) string { return k.slot() + "mw:w:" + id }
func (k keys) maintenanceAll() string       { return k.slot() + "mw:all" }

var maintenanceIDRE = regexp.MustCompile(`^mw-[0-9]{1,18}$`)

// ValidMaintenanceID reports whether id has the shape of a window id ("mw-7").
func ValidMaintenanceID(id string) bool { return maintenanceIDRE.MatchString(id) }

// CheckMaintenance checks a window's length and reason as given by a
// person; the error is an *Error of code Unprocessable (a duration out of
// bounds) or Invalid, with the sentence to show. The length is quoted
// exactly (ExactDuration), never rounded to a value that would pass.
func CheckMaintenance(d time.Duration, long bool, reason string) error {
	return CheckMaintenanceAs(ExactDuration(d), d, long, reason)
}

// CheckMaintenanceAs is CheckMaintenance quoting the length as the person
// typed it (given: "24h0m1s", "-2h", "1d12h"), so the refusal shows what
// they sent.
func CheckMaintenanceAs(given string, d time.Duration, long bool, reason string) error {
	switch {
	case d < MinMaintenance:
		return Errorf(Unprocessable, "A maintenance window lasts at least %s (got %s).", text.Duration(MinMaintenance), given)
	case d > MaxLongMaintenance:
		return Errorf(Unprocessable, "A maintenance window lasts at most %s, even a long one (got %s).", text.Duration(MaxLongMaintenance), given)
	case d > MaxMaintenance && !long:
		return Errorf(Unprocessable, "A maintenance window longer than %s must be asked for as long (got %s): add --long, or \"long\": true.", text.Duration(MaxMaintenance), given)
	case len([]rune(reason)) > MaxMaintenanceReason:
		return Errorf(Invalid, "The reason is %d characters; keep it under %d.", len([]rune(reason)), MaxMaintenanceReason)
	}
	return nil
}

// ExactDuration is d in Go's form without its zero units ("2h", "24h0m1s",
// "-2h", "1m30s"): exact, unlike text.Duration, which rounds.
func ExactDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// WindowTime is how a window's times read in sentences, in chat and the
// API alike: "Dec 1 01:49:40 UTC".
func WindowTime(t time.Time) string { return t.UTC().Format("Jan 2 15:04:05 MST") }

// heldError refuses op ("escalate", "assign", "page") on incident n, held
// by window id until untilMs: nobody is paged about a held incident and it
// has no channel until the window ends, so the sentence says how to end it.
func heldError(op string, n int64, id, untilMs string) error {
	what := map[string]string{"escalate": "escalate it", "assign": "assign it", "page": "page someone into it"}[op]
	return &Error{Code: Held, Incident: n, Message: fmt.Sprintf(
		"INC-%d is held by maintenance window %s until %s: nobody is paged about it and it has no channel until the window ends. "+
			"To %s now, end the window first (/incident maintenance end %s, or DELETE /v1/maintenance/%s).",
		n, id, WindowTime(msTime(untilMs)), what, id, id)}
}

// StartMaintenance starts a window for service from now for d, on behalf of
// by, and writes who started it to the audit stream. Refusals are *Error:
// Unprocessable for a length out of bounds (CheckMaintenance, except its
// least length, which the callers check: any positive d is taken), Invalid for
// a bad reason, AlreadyAssigned when the service already has an active
// window (the sentence names it and its end). The caller checks that the
// service and the person exist.
func (s *Store) StartMaintenance(ctx context.Context, service string, d time.Duration, long bool, by, reason string, now time.Time) (Maintenance, error) {
	// The least length is the callers' to check (tests scale windows down
	// to milliseconds); the most and the reason are checked here too.
	if err := CheckMaintenance(max(d, MinMaintenance), long, reason); err != nil {
		return Maintenance{}, fmt.Errorf("start maintenance: %w", err)
	}
	if d <= 0 {
		return Maintenance{}, fmt.Errorf("start maintenance: %w", Errorf(Unprocessable, "A maintenance window must last some time (got %s).", ExactDuration(d)))
	}
	until := now.Add(d)
	reply, err := s.eval(ctx, maintenanceScript, []string{s.k.jobs, s.k.events},
		"start", now.UnixMilli(), s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries,
		service, until.UnixMilli(), by, reason, boolArg(long), MaintenanceKeep.Milliseconds()).StringSlice()
	if err != nil {
		return Maintenance{}, fmt.Errorf("start maintenance: %w", err)
	}
	if reply[0] == "active" {
		return Maintenance{}, fmt.Errorf("start maintenance: %w", &Error{Code: AlreadyAssigned,
			Message: fmt.Sprintf("%s is already in maintenance (%s) until %s; end it first.", service, reply[1], WindowTime(msTime(reply[2])))})
	}
	s.jobDue()
	return Maintenance{ID: reply[1], Service: service, From: msTime(strconv.FormatInt(now.UnixMilli(), 10)),
		Until: msTime(strconv.FormatInt(until.UnixMilli(), 10)), By: by, Reason: reason, Long: long}, nil
}

// MaintenanceEnd is what ending a window did.
type MaintenanceEnd struct {
	// Summary is what the window held (also when it had ended before).
	Summary MaintenanceSummary
	// Already: the window had ended before this call; Posted: and its
	// summary was posted.
	Already, Posted bool
	// Early: the window's until is still ahead (EndMaintenance with no
	// person, as its job does); nothing changed. Summary.Until says when.
	Early bool
}

// EndMaintenance ends window id at now: by a person (by), or as its due
// job (by ""), which ends it only once its until has passed (else Early).
// Held incidents still open are paged and announced from now; the summary
// is kept for the window's job to post. Ending a window that ended already
// changes nothing and returns its summary. Refusals: ErrNotFound for an id
// unknown (or ended more than MaintenanceKeep ago).
func (s *Store) EndMaintenance(ctx context.Context, id, by string, now time.Time) (MaintenanceEnd, error) {
	reply, err := s.eval(ctx, maintenanceScript, []string{s.k.jobs, s.k.events},
		"end", now.UnixMilli(), s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries,
		id, by, MaintenanceKeep.Milliseconds()).StringSlice()
	if err != nil {
		return MaintenanceEnd{}, fmt.Errorf("end maintenance %s: %w", id, err)
	}
	var out MaintenanceEnd
	switch reply[0] {
	case "not_found":
		return MaintenanceEnd{}, fmt.Errorf("end maintenance %s: %w", id, &Error{Code: NotFound,
			Message: fmt.Sprintf("There is no maintenance window %s.", id)})
	case "early":
		out.Early = true
		out.Summary.ID, out.Summary.Until = id, msTime(reply[1])
		return out, nil
	case "ended":
		out.Already, out.Posted = true, len(reply) > 2 && reply[2] != ""
	case "ok":
		s.jobDue()
	default:
		return MaintenanceEnd{}, fmt.Errorf("end maintenance %s: unexpected script reply %v", id, reply)
	}
	if len(reply) > 1 && reply[1] != "" {
		if out.Summary, err = decodeSummary(reply[1]); err != nil {
			return MaintenanceEnd{}, fmt.Errorf("end maintenance %s: %w", id, err)
		}
	}
	return out, nil
}

// MaintenancePosted records that window id's summary was posted, so a
// retried job does not post it again. Refusals: ErrNotFound.
func (s *Store) MaintenancePosted(ctx context.Context, id string, now time.Time) error {
	reply, err := s.eval(ctx, maintenanceScript, []string{s.k.jobs, s.k.events},
		"posted", now.UnixMilli(), s.audit.MaxAge.Milliseconds(), s.audit.MaxEntries, id).StringSlice()
	if err != nil {
		return fmt.Errorf("maintenance %s posted: %w", id, err)
	}
	if reply[0] == "not_found" {
		return fmt.Errorf("maintenance %s posted: %w", id, NewError(NotFound, 0, ""))
	}
	return nil
}

// storedSummary is the summary as maintenance.lua writes it (times in ms;
// an empty incidents list is encoded by cjson as {}).
type storedSummary struct {
	ID        string          `json:"id"`
	Service   string          `json:"service"`
	From      int64           `json:"from"`
	Until     int64           `json:"until"`
	Ended     int64           `json:"ended"`
	By        string          `json:"by"`
	EndedBy   string          `json:"ended_by"`
	Reason    string          `json:"reason"`
	Long      bool            `json:"long"`
	Alerts    int64           `json:"alerts"`
	Incidents json.RawMessage `json:"incidents"`
}

func decodeSummary(raw string) (MaintenanceSummary, error) {
	var st storedSummary
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return MaintenanceSummary{}, fmt.Errorf("summary: %w", err)
	}
	out := MaintenanceSummary{
		Maintenance: Maintenance{ID: st.ID, Service: st.Service, From: time.UnixMilli(st.From).UTC(),
			Until: time.UnixMilli(st.Until).UTC(), By: st.By, Reason: st.Reason, Long: st.Long, Alerts: st.Alerts},
		Ended: time.UnixMilli(st.Ended).UTC(), EndedBy: st.EndedBy, Incidents: []HeldIncident{},
	}
	if len(st.Incidents) > 0 && st.Incidents[0] == '[' {
		if err := json.Unmarshal(st.Incidents, &out.Incidents); err != nil {
			return MaintenanceSummary{}, fmt.Errorf("summary: %w", err)
		}
	}
	return out, nil
}

// Maintenances returns the active windows, soonest end first. A window
// whose until passed but whose job has not run yet is not listed (it holds
// nothing any more).
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]Maintenance, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.maintenanceAll(), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.k.maintenance(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list maintenance: %w", err)
		}
	}
	out := []Maintenance{}
	for _, c := range cmds {
		h := c.Val()
		if h["state"] != "active" {
			continue
		}
		out = append(out, decodeMaintenance(h))
	}
	return out, nil
}

// ActiveMaintenance returns service's active window at now; ok is false
// when it has none.
func (s *Store) ActiveMaintenance(ctx context.Context, service string, now time.Time) (m Maintenance, ok bool, err error) {
	list, err := s.Maintenances(ctx, now)
	if err != nil {
		return Maintenance{}, false, err
	}
	for _, w := range list {
		if w.Service == service {
			return w, true, nil
		}
	}
	return Maintenance{}, false, nil
}

func decodeMaintenance(h map[string]string) Maintenance {
	m := Maintenance{ID: h["id"], Service: h["service"], From: msTime(h["from"]), Until: msTime(h["until"]),
		By: h["by"], Reason: h["reason"], Long: h["long"] == "1"}
	m.Alerts, _ = strconv.ParseInt(h["alerts"], 10, 64)
	return m
}
