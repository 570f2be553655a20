package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// A handoff step's job is queued once: scheduling it again (a restart) keeps
// the first due time, and while it runs nothing queues it beside itself.
// Claimed, it names no incident and carries its name.
func TestScheduleShiftJob(t *testing.T) {
	s, _, ctx := newService(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	name := "handoff:db:1772442000"
	if err := s.ScheduleShift(ctx, name, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleShift(ctx, name, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	jobs, _, err := s.ClaimJobs(ctx, t0.Add(-time.Second), time.Minute, 10, "a:1")
	if err != nil || len(jobs) != 0 {
		t.Fatalf("claimed early: %+v, %v", jobs, err)
	}
	jobs, _, err = s.ClaimJobs(ctx, t0, time.Minute, 10, "a:2")
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim at the first due time: %+v, %v", jobs, err)
	}
	j := jobs[0]
	if j.Kind != incident.JobShift || j.Number != 0 || j.Name != name || j.Member != incident.ShiftJob(name) {
		t.Fatalf("job %+v", j)
	}
	if err := s.ScheduleShift(ctx, name, t0); err != nil {
		t.Fatal(err)
	}
	if jobs, _, err := s.ClaimJobs(ctx, t0.Add(time.Second), time.Minute, 10, "a:3"); err != nil || len(jobs) != 0 {
		t.Fatalf("queued beside itself while in flight: %+v, %v", jobs, err)
	}
}
