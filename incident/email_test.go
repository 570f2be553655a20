package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// TestEmailJobRecord: an email job is queued once whatever asks again
// (queued, running, sent), is claimed with its incident and tag, counts its
// failed attempts across claims, and only its lease holder may count one.
func TestEmailJobRecord(t *testing.T) {
	s, c, ctx := newService(t)
	mustOpen(t, s, ctx, alert("a"))
	c.Del(ctx, s.JobsKey()) // the first page is not what this test claims
	member := incident.EmailJob(1, "after.1700000000000.1.alice")
	due := t0.Add(time.Minute)

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"queued", func(t *testing.T) {
			if ok, err := s.ScheduleEmail(ctx, 1, member, due); !ok || err != nil {
				t.Fatalf("schedule: %v %v", ok, err)
			}
		}},
		{"asked again while queued: not moved", func(t *testing.T) {
			if ok, _ := s.ScheduleEmail(ctx, 1, member, t0); ok {
				t.Fatal("queued twice")
			}
			if jobs, _, _ := s.ClaimJobs(ctx, t0, time.Minute, 5, "r:1"); len(jobs) != 0 {
				t.Fatalf("claimed before due: %+v", jobs)
			}
		}},
		{"claimed with its incident and tag, urgent", func(t *testing.T) {
			jobs, _, err := s.ClaimJobs(ctx, due, time.Minute, 5, "r:2")
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim: %+v %v", jobs, err)
			}
			j := jobs[0]
			if j.Kind != incident.JobEmail || j.Number != 1 || j.Name != "after.1700000000000.1.alice" || !j.Urgent {
				t.Fatalf("job %+v", j)
			}
			if ok, _ := s.ScheduleEmail(ctx, 1, member, due); ok {
				t.Fatal("queued again while running")
			}
			stranger := j
			stranger.Token = "r:9"
			if _, ok, _ := s.EmailFailed(ctx, stranger, due); ok {
				t.Fatal("a stranger counted a failure")
			}
			if n, ok, err := s.EmailFailed(ctx, j, due.Add(time.Second)); n != 1 || !ok || err != nil {
				t.Fatalf("failed: %d %v %v", n, ok, err)
			}
			jobs, _, _ = s.ClaimJobs(ctx, due.Add(time.Second), time.Minute, 5, "r:3")
			if len(jobs) != 1 {
				t.Fatalf("not given back: %+v", jobs)
			}
			if n, _, _ := s.EmailFailed(ctx, jobs[0], due.Add(2*time.Second)); n != 2 {
				t.Fatalf("attempts %d, want 2", n)
			}
			jobs, _, _ = s.ClaimJobs(ctx, due.Add(2*time.Second), time.Minute, 5, "r:4")
			sent, failures, err := s.EmailRecord(ctx, jobs[0])
			if sent || failures != 2 || err != nil {
				t.Fatalf("record: sent %v failures %d %v", sent, failures, err)
			}
			if err := s.EmailSent(ctx, jobs[0]); err != nil {
				t.Fatal(err)
			}
			if sent, _, _ := s.EmailRecord(ctx, jobs[0]); !sent {
				t.Fatal("not marked sent")
			}
			if _, err := s.Commit(ctx, jobs[0], incident.Commit{Facts: []incident.Event{{Type: incident.EventEmailed, Person: "alice", By: "baton"}}}); err != nil {
				t.Fatal(err)
			}
		}},
		{"asked again once sent: not queued", func(t *testing.T) {
			if ok, _ := s.ScheduleEmail(ctx, 1, member, due); ok {
				t.Fatal("a sent email queued again")
			}
			if n, _ := c.ZCard(ctx, s.JobsKey()).Result(); n != 0 {
				t.Fatalf("%d jobs queued", n)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.do)
	}
}
