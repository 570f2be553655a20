package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// ClaimPage (issue 15 item 2) claims a new incident's page job and reads the
// incident in one call, exactly when ClaimJobs would hand that job out: due,
// not in flight, not held; otherwise it changes nothing. Created incidents
// are told to WithOnCreated, not WithOnJobDue.
func TestClaimPage(t *testing.T) {
	later := t0.Add(time.Hour)
	cases := []struct {
		name    string
		prepare func(t *testing.T, s *incident.Store, n int64)
		at      time.Time
		ok      bool
	}{
		{"due and free: claimed with the incident", nil, later, true},
		{"not due yet", nil, t0.Add(-time.Hour), false},
		{"claimed by another runner", func(t *testing.T, s *incident.Store, n int64) {
			jobs, _, err := s.ClaimJobs(t.Context(), later, time.Minute, 10, "other:1")
			if err != nil || len(jobs) != 1 {
				t.Fatalf("ClaimJobs: %v, %v", jobs, err)
			}
		}, later, false},
		{"held by a rate limit", func(t *testing.T, s *incident.Store, n int64) {
			jobs, _, err := s.ClaimJobs(t.Context(), later, time.Minute, 10, "other:1")
			if err != nil || len(jobs) != 1 {
				t.Fatalf("ClaimJobs: %v, %v", jobs, err)
			}
			if ok, err := s.HoldJob(t.Context(), jobs[0], later.Add(time.Minute)); !ok || err != nil {
				t.Fatalf("HoldJob: %v, %v", ok, err)
			}
		}, later, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var created []int64
			due := 0
			s, _, ctx := newService(t, incident.WithOnCreated(func(n int64) { created = append(created, n) }),
				incident.WithOnJobDue(func() { due++ }))
			n := mustOpen(t, s, ctx, alert("k")).Number
			if len(created) != 1 || created[0] != n || due != 0 {
				t.Fatalf("hooks: created %v, job due %d times; want created [%d] alone", created, due, n)
			}
			if tc.prepare != nil {
				tc.prepare(t, s, n)
			}
			dueBefore, inFlightBefore, _ := s.JobCounts(ctx)
			j, inc, st, ok, err := s.ClaimPage(ctx, n, tc.at, time.Minute, "me:1")
			if err != nil || ok != tc.ok {
				t.Fatalf("ClaimPage: ok %v, err %v; want ok %v", ok, err, tc.ok)
			}
			dueAfter, inFlightAfter, _ := s.JobCounts(ctx)
			if !ok {
				if dueAfter != dueBefore || inFlightAfter != inFlightBefore {
					t.Fatalf("jobs moved: due %d → %d, in flight %d → %d", dueBefore, dueAfter, inFlightBefore, inFlightAfter)
				}
				return
			}
			if j.Member != incident.PageJob(n) || j.Kind != incident.JobPage || j.Number != n || j.Token != "me:1" || !j.Urgent {
				t.Fatalf("job %+v", j)
			}
			want, wantSt, err := s.LoadEscalation(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Number != n || inc.Title != want.Title || inc.Service != want.Service || inc.Status != want.Status || st != wantSt {
				t.Fatalf("ClaimPage read %+v / %+v, LoadEscalation %+v / %+v", inc, st, want, wantSt)
			}
			if dueAfter != dueBefore-1 || inFlightAfter != inFlightBefore+1 {
				t.Fatalf("jobs: due %d → %d, in flight %d → %d; want the job moved in flight", dueBefore, dueAfter, inFlightBefore, inFlightAfter)
			}
			// Claimed once: neither another ClaimPage nor ClaimJobs hands it out again.
			if _, _, _, again, err := s.ClaimPage(ctx, n, tc.at, time.Minute, "me:2"); again || err != nil {
				t.Fatalf("claimed twice: %v, %v", again, err)
			}
			if jobs, _, err := s.ClaimJobs(ctx, tc.at, time.Minute, 10, "other:2"); len(jobs) != 0 || err != nil {
				t.Fatalf("ClaimJobs after ClaimPage: %v, %v", jobs, err)
			}
		})
	}
	t.Run("an incident that is gone", func(t *testing.T) {
		s, _, ctx := newService(t)
		_, _, _, ok, err := s.ClaimPage(ctx, 99, later, time.Minute, "me:1")
		if ok || err != nil {
			t.Fatalf("ok %v, err %v; want nothing claimed", ok, err)
		}
	})
}
