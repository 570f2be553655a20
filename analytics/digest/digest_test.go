package digest_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/batonhq/baton/analytics/analyticstest"
	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/internal/redistest"
)

func TestLastWeek(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	d := func(mo time.Month, day, h int) time.Time { return time.Date(2026, mo, day, h, 0, 0, 0, berlin) }
	tests := []struct {
		name     string
		now      time.Time
		from, to time.Time
		hours    float64
	}{
		{"Monday 09:00 after the change to summer time", d(3, 30, 9), d(3, 23, 0), d(3, 30, 0), 167},
		{"Monday at midnight", d(3, 23, 0), d(3, 16, 0), d(3, 23, 0), 168},
		{"Sunday night is still this week", d(3, 29, 23), d(3, 16, 0), d(3, 23, 0), 168},
		{"the week the clocks go back", d(10, 26, 9), d(10, 19, 0), d(10, 26, 0), 169},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, to := digest.LastWeek(tc.now, berlin)
			if !from.Equal(tc.from) || !to.Equal(tc.to) || to.Sub(from).Hours() != tc.hours {
				t.Errorf("LastWeek = [%s, %s) (%vh), want [%s, %s) (%vh)", from, to, to.Sub(from).Hours(), tc.from, tc.to, tc.hours)
			}
		})
	}
}

// The digest of the fixture's first week, posted on Monday 23 March.
// Figures by hand (see analyticstest): week of 16 March, incidents 1–10;
// the week before holds 104, 105 and 107: acks 14, 6, 20 (mean 40/3 m),
// resolves 80, 160, 180 (mean 140 m), one escalated (105). So MTTA
// (59/9)/(40/3) − 1 = −51%, MTTR 65/140 − 1 = −54%, escalation rate
// 0.2/(1/3) − 1 = −40%, opened 10/3 − 1 = +233%. Pages P1–P9; out of hours
// alice P3, P6 of P1, P3, P6; bob P2, P7 of P2, P5, P7; carol P4, P8.
const wantText = `Weekly incident digest: Mon 16 Mar – Sun 22 Mar 2026 (Europe/Berlin)
• 10 incidents opened, up 233% from the week before (api 6, web 4)
• MTTA 6m 33s, down 51% from the week before (p50 5m, p90 20m, 9 acknowledged)
• MTTR 1h 5m, down 54% from the week before (p50 30m, p90 2h, 10 resolved)
• escalation rate 20% (2 of 10), down 40% from the week before
• 30 alerts, 3.0 per incident (noise reduction 67%)
• 9 pages sent, 6 out of hours
• paged out of hours: alice 2 of 3, bob 2 of 3, carol 2 of 2
`

func TestBuild(t *testing.T) {
	fx := analyticstest.Load(t)
	now := time.Date(2026, 3, 23, 9, 0, 0, 0, fx.Zone)
	d, err := digest.Build(context.Background(), fx.Facts(), now, fx.Zone, fx.PersonZone)
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", d.Text, wantText)
	}
	if got := d.Title + "\n• " + strings.Join(d.Lines, "\n• ") + "\n"; got != wantText {
		t.Errorf("title and lines:\n%s\nwant:\n%s", got, wantText)
	}
	if len(d.Report.Buckets) != 7 {
		t.Errorf("%d buckets, want the 7 days", len(d.Report.Buckets))
	}
	if _, err := png.Decode(bytes.NewReader(d.Chart)); err != nil {
		t.Errorf("chart: %v", err)
	}
}

func TestTextQuietWeek(t *testing.T) {
	fx := analyticstest.Load(t)
	d, err := digest.Build(context.Background(), fx.Facts(), time.Date(2026, 5, 4, 9, 0, 0, 0, fx.Zone), fx.Zone, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Weekly incident digest: Mon 27 Apr – Sun 3 May 2026 (Europe/Berlin)\n• no incident opened and nobody paged\n"
	if d.Text != want {
		t.Errorf("text %q, want %q", d.Text, want)
	}
}

func TestLocker(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := redistest.Ctx(t)
	a, b := digest.NewLocker(rdb, "t:"), digest.NewLocker(rdb, "t:")
	lock, err := a.Lock(ctx, "weekly-digest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(ctx, "weekly-digest"); !errors.Is(err, digest.ErrLocked) {
		t.Errorf("second Lock = %v, want ErrLocked", err)
	}
	if err := lock.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// Still held after Unlock, for a replica whose clock is late, until it expires.
	if _, err := b.Lock(ctx, "weekly-digest"); !errors.Is(err, digest.ErrLocked) {
		t.Errorf("Lock after Unlock = %v, want ErrLocked", err)
	}
	if ttl := rdb.PTTL(ctx, "t:lock:weekly-digest").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("lock TTL %s, want up to an hour", ttl)
	}
	if _, err := b.Lock(ctx, "another-job"); err != nil {
		t.Errorf("another key: %v", err)
	}
}

type recorder struct {
	mu    sync.Mutex
	posts []string
	got   chan struct{}
}

func (r *recorder) PostDigest(_ context.Context, channel string, _ digest.Digest) error {
	r.mu.Lock()
	r.posts = append(r.posts, channel)
	r.mu.Unlock()
	r.got <- struct{}{}
	return nil
}

// Two replicas schedule the digest; at Monday 09:00 in Berlin one posts,
// the other finds the lock taken. Their clocks are fakes: the scheduler
// fires when they are advanced, not after a real week.
func TestOneReplicaPosts(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	fx := analyticstest.Load(t)
	sunday := time.Date(2026, 3, 29, 20, 0, 0, 0, fx.Zone) // the day the clocks go forward
	rec := &recorder{got: make(chan struct{}, 4)}
	lockErrs := make(chan error, 4)
	var clocks []*clockwork.FakeClock
	var jobs []gocron.Job
	for range 2 {
		clock := clockwork.NewFakeClockAt(sunday)
		s, err := gocron.NewScheduler(gocron.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		j := &digest.Job{Source: fx.Facts(), Poster: rec, Channel: "#incidents", Zone: fx.Zone, PersonZone: fx.PersonZone,
			Locker: digest.NewLocker(rdb, "t:"), Now: clock.Now}
		job, err := j.Schedule(s, gocron.WithEventListeners(gocron.AfterLockError(func(_ uuid.UUID, _ string, err error) { lockErrs <- err })))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { _ = s.Shutdown() })
		clocks, jobs = append(clocks, clock), append(jobs, job)
	}
	want := time.Date(2026, 3, 30, 9, 0, 0, 0, fx.Zone) // 07:00Z, summer time
	for _, job := range jobs {
		next, err := job.NextRun()
		if err != nil {
			t.Fatal(err)
		}
		if !next.Equal(want) {
			t.Fatalf("next run %s, want %s", next, want)
		}
	}
	// The scheduler arms its timer for the job on its own goroutine after
	// Start: advancing a fake clock before that timer exists fires nothing.
	// Wait until each clock has its waiter.
	for _, c := range clocks {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.BlockUntilContext(ctx, 1)
		cancel()
		if err != nil {
			t.Fatalf("the scheduler never armed the job's timer: %v", err)
		}
	}
	for _, c := range clocks {
		c.Advance(want.Sub(sunday) + time.Second)
	}
	select {
	case <-rec.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no digest posted at Monday 09:00")
	}
	select {
	case err := <-lockErrs:
		if !errors.Is(err, digest.ErrLocked) {
			t.Errorf("the other replica: %v, want ErrLocked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other replica neither posted nor met the lock")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.posts) != 1 || rec.posts[0] != "#incidents" {
		t.Errorf("posts %v, want one to #incidents", rec.posts)
	}
}
