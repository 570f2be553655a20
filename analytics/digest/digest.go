// Package digest posts a weekly summary of incidents to a chat channel:
// every Monday at 09:00 in the configured zone, on one replica only, the
// figures of the week before (Monday to Monday) with a chart, compared
// with the week before that.
package digest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/chart"
)

// Poster puts the digest in a chat channel: its title and lines as a
// message, its chart as a PNG uploaded beside it. The chat bot implements it.
type Poster interface {
	PostDigest(ctx context.Context, channel string, d Digest) error
}

// Digest is one week's summary.
type Digest struct {
	Report analytics.Report
	// Title and Lines are the message (Title and Report.Summary); Text is
	// the same as one plain string.
	Title string
	Lines []string
	Text  string
	// Chart is a PNG of the week by day.
	Chart []byte
}

// LastWeek returns the week before the one now is in: from Monday 00:00 to
// the next Monday 00:00, in loc (168 hours, or 167 or 169 across a DST change).
func LastWeek(now time.Time, loc *time.Location) (from, to time.Time) {
	l := now.In(loc)
	y, m, d := l.Date()
	d -= (int(l.Weekday()) + 6) % 7 // back to Monday
	return time.Date(y, m, d-7, 0, 0, 0, 0, loc), time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Build makes the digest of the week before now, by day, with the week
// before it for comparison.
func Build(ctx context.Context, src analytics.Source, now time.Time, zone *time.Location, personZone func(string) *time.Location) (Digest, error) {
	if zone == nil {
		zone = time.UTC
	}
	from, to := LastWeek(now, zone)
	r, err := analytics.Build(ctx, src, analytics.Query{From: from, To: to, By: analytics.ByDay, Zone: zone, PersonZone: personZone})
	if err != nil {
		return Digest{}, fmt.Errorf("digest: %w", err)
	}
	png, err := chart.PNG(r, 0, 0)
	if err != nil {
		return Digest{}, fmt.Errorf("digest: %w", err)
	}
	return Digest{Report: r, Title: Title(r), Lines: r.Summary(), Text: Text(r), Chart: png}, nil
}

// Title is the digest's title line: the week and the zone.
func Title(r analytics.Report) string {
	loc, err := time.LoadLocation(r.Zone)
	if err != nil {
		loc = time.UTC
	}
	last := r.To.In(loc).Add(-time.Nanosecond)
	return fmt.Sprintf("Weekly incident digest: %s – %s (%s)", r.From.In(loc).Format("Mon 2 Jan"), last.Format("Mon 2 Jan 2006"), r.Zone)
}

// Text is the digest as one plain message: the title, then one bullet per
// line of the report's Summary. Chats show it where they cannot show
// the structured form (notifications, logs at debug level).
func Text(r analytics.Report) string {
	var b strings.Builder
	b.WriteString(Title(r) + "\n")
	for _, line := range r.Summary() {
		b.WriteString("• " + line + "\n")
	}
	return b.String()
}

// Cron is when the digest is posted: Mondays at 09:00 (in Job.Zone).
const Cron = "0 9 * * 1"

// Job posts the digest on schedule. Every replica schedules it; the
// Locker lets one of them run each Monday's.
type Job struct {
	Source     analytics.Source
	Poster     Poster
	Channel    string
	Zone       *time.Location
	PersonZone func(person string) *time.Location
	// Locker is shared by the replicas (NewLocker over their Redis).
	Locker gocron.Locker
	// Log may be nil.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run builds last week's digest and posts it now.
func (j *Job) Run(ctx context.Context) error {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	d, err := Build(ctx, j.Source, now(), j.Zone, j.PersonZone)
	if err != nil {
		return err
	}
	if err := j.Poster.PostDigest(ctx, j.Channel, d); err != nil {
		return fmt.Errorf("digest: post to %s: %w", j.Channel, err)
	}
	return nil
}

// Schedule adds the job to s: Cron in Zone, named "weekly-digest", under
// the Locker, with any further options. A run that fails is logged, not
// retried: the next is a week later.
func (j *Job) Schedule(s gocron.Scheduler, opts ...gocron.JobOption) (gocron.Job, error) {
	log := j.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	zone := j.Zone
	if zone == nil {
		zone = time.UTC
	}
	return s.NewJob(
		gocron.CronJob("CRON_TZ="+zone.String()+" "+Cron, false),
		gocron.NewTask(func(ctx context.Context) {
			if err := j.Run(ctx); err != nil {
				log.Error("weekly digest not posted", "channel", j.Channel, "err", err)
				return
			}
			log.Info("weekly digest posted", "channel", j.Channel)
		}),
		append([]gocron.JobOption{
			gocron.WithName("weekly-digest"),
			gocron.WithDistributedJobLocker(j.Locker),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		}, opts...)...,
	)
}

// Start runs a scheduler holding the job until ctx ends.
func (j *Job) Start(ctx context.Context) error {
	s, err := gocron.NewScheduler(gocron.WithStopTimeout(30 * time.Second))
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	if _, err := j.Schedule(s); err != nil {
		_ = s.Shutdown()
		return fmt.Errorf("digest: %w", err)
	}
	s.Start()
	<-ctx.Done()
	return s.Shutdown()
}

// ErrLocked is Lock's answer when another replica holds the lock.
var ErrLocked = errors.New("held by another replica")

// Locker is a gocron.Locker over Redis: SET key token NX PX hold. The
// first replica to lock a job's key runs it; the others skip that run.
//
// The lock is kept for Hold even after the job ends (Unlock does not
// delete it): released at once, it would let a replica whose clock is a
// few seconds behind take the same Monday's run. So Hold must exceed the
// clock skew between replicas and be shorter than the interval between
// runs. A replica that dies mid-run leaves that run undone.
type Locker struct {
	rdb    redis.UniversalClient
	prefix string
	// Hold is how long a lock is held (default an hour).
	Hold time.Duration
}

var _ gocron.Locker = (*Locker)(nil)

// NewLocker returns a Locker keeping its keys under prefix (config
// redis.prefix): <prefix>lock:<job name>.
func NewLocker(rdb redis.UniversalClient, prefix string) *Locker {
	return &Locker{rdb: rdb, prefix: prefix + "lock:", Hold: time.Hour}
}

// Lock takes the lock on key, or returns ErrLocked.
func (l *Locker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ok, err := l.rdb.SetNX(ctx, l.prefix+key, token, l.Hold).Result()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", key, ErrLocked)
	}
	return heldLock{}, nil
}

// heldLock is a lock that expires by itself (see Locker).
type heldLock struct{}

// Unlock implements gocron.Lock: it leaves the key to expire after Hold.
func (heldLock) Unlock(context.Context) error { return nil }
